//! `pictor app quota <appKey> [--bytes N|none] [--files N|none]`: changes an app's quota (the
//! limits given, the others kept) and prints it with what the app holds, as `GET /users` shows
//! them. Without a limit it only prints.

use crate::catalog::{AppSettings, CatalogError};
use crate::context::Context;
use crate::http::api::users::usage_fields;
use serde_json::{json, Value};
use std::str::FromStr;

/// A limit given on the command line: a count, or `none` (or 0) for no limit, as `PUT /users`
/// reads `null` and 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<u64>);

impl FromStr for Limit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("none") {
            return Ok(Self(None));
        }
        s.parse::<u64>()
            .map(|n| Self(Some(n).filter(|n| *n > 0)))
            .map_err(|_| format!("`{s}` is neither a count nor `none`"))
    }
}

/// Why `pictor app quota` failed.
#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    /// No app has the key.
    #[error("no app has the key {0}")]
    UnknownApp(String),
    /// The catalog failed.
    #[error("catalog: {0}")]
    Catalog(#[from] CatalogError),
}

/// Applies the limits given to the app's settings and returns the JSON object printed: the
/// app's key, its quota and its usage.
pub async fn run(
    ctx: &Context,
    app_key: &str,
    bytes: Option<Limit>,
    files: Option<Limit>,
) -> Result<Value, QuotaError> {
    let app = ctx
        .catalog
        .app(app_key)
        .await?
        .ok_or_else(|| QuotaError::UnknownApp(app_key.to_owned()))?;
    let mut settings = app.settings.clone();
    apply(&mut settings, bytes, files);
    if settings != app.settings {
        ctx.catalog.set_app_settings(app_key, &settings).await?;
    }
    let usage = ctx.catalog.usage(app_key).await?;
    let mut shown = json!({
        "appKey": app.app_key,
        "quotaBytes": settings.quota_bytes,
        "quotaFiles": settings.quota_files,
    });
    if let Value::Object(fields) = &mut shown {
        fields.extend(usage_fields(settings.quota(), usage));
    }
    Ok(shown)
}

/// The limits given, over the settings.
fn apply(settings: &mut AppSettings, bytes: Option<Limit>, files: Option<Limit>) {
    if let Some(Limit(limit)) = bytes {
        settings.quota_bytes = limit;
    }
    if let Some(Limit(limit)) = files {
        settings.quota_files = limit;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_counts_or_none() {
        assert_eq!("42".parse(), Ok(Limit(Some(42))));
        assert_eq!("none".parse(), Ok(Limit(None)));
        assert_eq!("NONE".parse(), Ok(Limit(None)));
        assert_eq!(
            "0".parse(),
            Ok(Limit(None)),
            "0 is no limit, as in PUT /users"
        );
        assert!("-1".parse::<Limit>().is_err());
        assert!("1e6".parse::<Limit>().is_err());
    }

    #[test]
    fn only_the_limits_given_change() {
        let mut settings = AppSettings {
            quota_bytes: Some(5),
            quota_files: Some(6),
            ..AppSettings::default()
        };
        apply(&mut settings, None, Some(Limit(None)));
        assert_eq!(
            (settings.quota_bytes, settings.quota_files),
            (Some(5), None)
        );
        apply(&mut settings, Some(Limit(Some(9))), None);
        assert_eq!(
            (settings.quota_bytes, settings.quota_files),
            (Some(9), None)
        );
    }
}
