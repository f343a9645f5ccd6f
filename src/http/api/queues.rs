//! Task API: `GET /queues/{queueId}`.

use super::envelope::{ApiError, Reply};
use super::{views, Call};
use serde_json::json;

/// Longest queue id accepted.
const MAX_QUEUE_ID: usize = 64;

/// `GET /queues/{queueId}`.
pub async fn get(call: Call<'_>) -> Result<Reply, ApiError> {
    let id = call.rest.strip_prefix("queues/").unwrap_or_default();
    if id.is_empty() || id.len() > MAX_QUEUE_ID || id.contains('/') {
        return Err(ApiError::invalid("queueId"));
    }
    let task = call
        .ctx
        .catalog
        .task(&call.app.app_key, id)
        .await
        .map_err(|e| call.catalog_error(&e))?
        .ok_or_else(|| ApiError::invalid("no such queueId"))?;
    Ok(Reply::ok(
        json!({ "queue": views::queue(&call.ctx, &call.app, &task) }),
    ))
}
