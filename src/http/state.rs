//! What every handler shares: the variant service (and, through it, the resources of the
//! context), the response headers computed once at start, and the budget of request body
//! memory.

use super::api::body_memory::BodyMemory;
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
    /// The memory the API's request bodies may hold at once (`limits.request_memory_bytes`).
    pub body_memory: BodyMemory,
}

impl State {
    /// The state over `variants`, with headers from its configuration.
    pub fn new(variants: Arc<Variants>) -> Self {
        let max_age = variants.config.delivery.cache_max_age_secs;
        let cache_control = HeaderValue::from_str(&format!("public, max-age={max_age}"))
            .unwrap_or(HeaderValue::from_static("public"));
        let body_memory = BodyMemory::new(variants.config.limits.request_memory_bytes);
        Self {
            variants,
            cache_control,
            body_memory,
        }
    }
}

impl Deref for State {
    type Target = Variants;

    fn deref(&self) -> &Variants {
        &self.variants
    }
}
