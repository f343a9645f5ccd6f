//! Real-time Service API: read and change an app's real-time service flag.

use super::envelope::{ApiError, Reply};
use super::params::flex_bool;
use super::Call;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct UserBody {
    #[serde(default, rename = "realtimeService", deserialize_with = "flex_bool")]
    realtime_service: Option<bool>,
}

/// `GET /users`.
pub async fn get(call: Call<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::ok(json!({
        "user": {
            "appKey": call.app.app_key,
            "containerName": call.app.container,
            "realtimeService": call.app.realtime_service,
        }
    })))
}

/// `PUT /users`.
pub async fn put(mut call: Call<'_>) -> Result<Reply, ApiError> {
    let body: UserBody = call.json().await?;
    let on = body
        .realtime_service
        .ok_or_else(|| ApiError::invalid("realtimeService is required"))?;
    call.ctx
        .catalog
        .set_realtime_service(&call.app.app_key, on)
        .await
        .map_err(|e| call.catalog_error(&e))?;
    call.ctx.l1.invalidate_app(&call.app.app_key);
    Ok(Reply::ok(json!({})))
}
