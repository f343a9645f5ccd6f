//! What every handler shares: the variant service (and, through it, the resources of the
//! context) and the response headers computed once at start.

use crate::variant::Variants;
use http::HeaderValue;
use std::ops::Deref;
use std::sync::Arc;

/// The state of the HTTP layer. It dereferences to [`Variants`], and through it to the
/// context's resources.
pub struct State {
    /// The variant service.
    pub variants: Arc<Variants>,
    /// The `Cache-Control` value of delivered images.
    pub cache_control: HeaderValue,
}

impl State {
    /// The state over `variants`, with headers from its configuration.
    pub fn new(variants: Arc<Variants>) -> Self {
        let max_age = variants.config.delivery.cache_max_age_secs;
        let cache_control = HeaderValue::from_str(&format!("public, max-age={max_age}"))
            .unwrap_or(HeaderValue::from_static("public"));
        Self {
            variants,
            cache_control,
        }
    }
}

impl Deref for State {
    type Target = Variants;

    fn deref(&self) -> &Variants {
        &self.variants
    }
}
