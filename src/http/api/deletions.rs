//! Deletion history API (photo-library extension): the files deleted, trashed or purged since
//! a time, oldest first, so a syncing client can mirror them. Entries are kept
//! `deletions.retention_days` days.

use super::envelope::{ApiError, Reply};
use super::search::parse_time;
use super::{paging, views, Call};
use serde_json::json;

/// Rows of a history page when `rows` is not given.
const DEFAULT_ROWS: u32 = 100;

/// `GET /deletions?since=<ISO-8601>&page=&rows=`: without `since`, every entry kept.
pub async fn list(call: Call<'_>) -> Result<Reply, ApiError> {
    let q = &call.query;
    let since = match q.get("since").map(str::trim).filter(|s| !s.is_empty()) {
        None => i64::MIN,
        Some(text) => parse_time(text).ok_or_else(|| ApiError::invalid("since"))?,
    };
    let (page, rows) = paging::page_and_rows(q, DEFAULT_ROWS, call.ctx.config.limits.max_items)?;
    let (entries, total) = call
        .ctx
        .catalog
        .deletions(&call.app.app_key, since, page, rows)
        .await
        .map_err(|e| call.catalog_error(&e))?;
    let deletions: Vec<_> = entries
        .iter()
        .map(|d| {
            json!({
                "fileId": d.file_id,
                "path": d.path,
                "kind": d.kind.code(),
                "deletedAt": views::time(d.deleted_at),
            })
        })
        .collect();
    Ok(Reply::ok(json!({
        "paging": { "page": page, "rows": rows, "totalCount": total },
        "deletions": deletions,
    })))
}
