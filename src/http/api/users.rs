//! Real-time Service API: read and change an app's real-time service flag, and the settings of
//! the photo-library extensions (trash retention, quota, operations run on every upload); the
//! answer of `GET /users` also shows what the app holds and what its quota leaves.

use super::envelope::{ApiError, Reply};
use super::operations::load_requested;
use super::params::{flex_bool, flex_list};
use super::Call;
use crate::catalog::{AppRecord, AppSettings, Quota, Usage};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};

/// Longest trash retention an app may ask for, in days (ten years).
pub const MAX_TRASH_RETENTION_DAYS: u32 = 3650;

#[derive(Deserialize)]
struct UserBody {
    #[serde(default, rename = "realtimeService", deserialize_with = "flex_bool")]
    realtime_service: Option<bool>,
    #[serde(default, rename = "trashRetentionDays", deserialize_with = "given")]
    trash_retention_days: Option<Value>,
    #[serde(default, rename = "quotaBytes", deserialize_with = "given")]
    quota_bytes: Option<Value>,
    #[serde(default, rename = "quotaFiles", deserialize_with = "given")]
    quota_files: Option<Value>,
    #[serde(
        default,
        rename = "defaultOperationIds",
        deserialize_with = "given_list"
    )]
    default_operation_ids: Option<Vec<String>>,
}

impl UserBody {
    /// Whether the body names any extension setting.
    fn names_settings(&self) -> bool {
        self.trash_retention_days.is_some()
            || self.quota_bytes.is_some()
            || self.quota_files.is_some()
            || self.default_operation_ids.is_some()
    }
}

/// `Some` for a field the body holds, `null` included (absent fields stay `None` by default).
fn given<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A list field the body holds (a JSON array or a comma-separated string; `null` is empty).
fn given_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    flex_list(d).map(Some)
}

/// `GET /users`.
pub async fn get(call: Call<'_>) -> Result<Reply, ApiError> {
    let usage = call
        .ctx
        .catalog
        .usage(&call.app.app_key)
        .await
        .map_err(|e| call.catalog_error(&e))?;
    Ok(Reply::ok(json!({ "user": user_view(&call.app, usage) })))
}

/// The `user` object: the guide's fields, then the extension settings and the app's usage.
fn user_view(app: &AppRecord, usage: Usage) -> Value {
    let settings = &app.settings;
    let mut view = json!({
        "appKey": app.app_key,
        "containerName": app.container,
        "realtimeService": app.realtime_service,
        "trashRetentionDays": settings.trash_retention_days,
        "quotaBytes": settings.quota_bytes,
        "quotaFiles": settings.quota_files,
        "defaultOperationIds": settings.default_operation_ids,
    });
    if let Value::Object(fields) = &mut view {
        fields.extend(usage_fields(settings.quota(), usage));
    }
    view
}

/// What an app holds and what is left under its quota, as `GET /users` and `pictor app quota`
/// show them: `usedBytes`, `usedFiles`, `availableBytes` and `availableFiles` (quota minus
/// use, never negative; `null` without a limit).
pub fn usage_fields(quota: Quota, usage: Usage) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("usedBytes".to_owned(), json!(usage.bytes));
    fields.insert("usedFiles".to_owned(), json!(usage.files));
    fields.insert(
        "availableBytes".to_owned(),
        json!(usage.available_bytes(quota)),
    );
    fields.insert(
        "availableFiles".to_owned(),
        json!(usage.available_files(quota)),
    );
    fields
}

/// `PUT /users`: each field given is changed, the others kept; at least one is required.
pub async fn put(mut call: Call<'_>) -> Result<Reply, ApiError> {
    let body: UserBody = call.json().await?;
    if body.realtime_service.is_none() && !body.names_settings() {
        return Err(ApiError::invalid("realtimeService is required"));
    }
    let settings = if body.names_settings() {
        Some(merged_settings(&call, &body).await?)
    } else {
        None
    };
    if let Some(settings) = &settings {
        call.ctx
            .catalog
            .set_app_settings(&call.app.app_key, settings)
            .await
            .map_err(|e| call.catalog_error(&e))?;
    }
    if let Some(on) = body.realtime_service {
        call.ctx
            .catalog
            .set_realtime_service(&call.app.app_key, on)
            .await
            .map_err(|e| call.catalog_error(&e))?;
        call.ctx.l1.invalidate_app(&call.app.app_key);
    }
    Ok(Reply::ok(json!({})))
}

/// The app's settings with the fields of `body` applied, each checked.
async fn merged_settings(call: &Call<'_>, body: &UserBody) -> Result<AppSettings, ApiError> {
    let mut settings = call.app.settings.clone();
    if let Some(days) = &body.trash_retention_days {
        settings.trash_retention_days = match count("trashRetentionDays", days)? {
            None => 0,
            Some(n) => u32::try_from(n)
                .ok()
                .filter(|n| *n <= MAX_TRASH_RETENTION_DAYS)
                .ok_or_else(|| ApiError::invalid("trashRetentionDays"))?,
        };
    }
    if let Some(quota) = &body.quota_bytes {
        settings.quota_bytes = count("quotaBytes", quota)?.filter(|n| *n > 0);
    }
    if let Some(quota) = &body.quota_files {
        settings.quota_files = count("quotaFiles", quota)?.filter(|n| *n > 0);
    }
    if let Some(ids) = &body.default_operation_ids {
        let ops = load_requested(call, ids).await?;
        settings.default_operation_ids = ops.into_iter().map(|(op, _)| op.operation_id).collect();
    }
    Ok(settings)
}

/// A non-negative count given as a JSON number or a string of digits; `None` for `null`.
fn count(name: &str, value: &Value) -> Result<Option<u64>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_u64().map(Some).ok_or_else(|| ApiError::invalid(name)),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| ApiError::invalid(name)),
        _ => Err(ApiError::invalid(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_numbers_digit_strings_or_null() {
        assert_eq!(count("q", &json!(5)), Ok(Some(5)));
        assert_eq!(count("q", &json!("7")), Ok(Some(7)));
        assert_eq!(count("q", &json!(null)), Ok(None));
        assert_eq!(count("q", &json!("")), Ok(None));
        assert!(count("q", &json!(-1)).is_err());
        assert!(count("q", &json!(1.5)).is_err());
        assert!(count("q", &json!("x")).is_err());
        assert!(count("q", &json!([1])).is_err());
    }

    #[test]
    fn usage_shows_what_is_left_never_below_zero_and_null_without_a_limit() {
        let quota = Quota {
            bytes: Some(100),
            files: None,
        };
        let fields = usage_fields(
            quota,
            Usage {
                bytes: 130,
                files: 4,
            },
        );
        assert_eq!(
            Value::Object(fields),
            json!({"usedBytes": 130, "usedFiles": 4, "availableBytes": 0, "availableFiles": null})
        );
        let fields = usage_fields(
            quota,
            Usage {
                bytes: 30,
                files: 4,
            },
        );
        assert_eq!(fields["availableBytes"], 70);
    }

    #[test]
    fn absent_and_null_fields_differ() {
        let body: UserBody = serde_json::from_str(r#"{"quotaBytes": null}"#).expect("parse");
        assert_eq!(body.quota_bytes, Some(Value::Null));
        assert_eq!(body.quota_files, None);
        assert!(body.names_settings());
        let body: UserBody = serde_json::from_str(r#"{"realtimeService": "true"}"#).expect("parse");
        assert!(!body.names_settings());
        assert_eq!(body.realtime_service, Some(true));
    }
}
