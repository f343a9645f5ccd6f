//! Deletion history API (photo-library extension): the files deleted, trashed or purged since
//! a time, oldest first, so a syncing client can mirror them. Entries are kept
//! `deletions.retention_days` days.

use super::envelope::{ApiError, Reply};
use super::{paging, views, Call};
use chrono::DateTime;
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

/// Epoch milliseconds of an ISO-8601 time with its offset: RFC 3339
/// (`2016-02-26T16:38:34+09:00`, `...Z`, fractions of a second) or the API's own form
/// (`2016-02-26T16:38:34+0900`). A `+` sent unescaped in a query string arrives as a space,
/// and is read as `+`.
fn parse_time(text: &str) -> Option<i64> {
    let text = text.replace(' ', "+");
    DateTime::parse_from_rfc3339(&text)
        .or_else(|_| DateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%z"))
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn times_with_an_offset_in_every_spelling() {
        let at = Some(1_456_472_314_000);
        assert_eq!(parse_time("2016-02-26T16:38:34+0900"), at);
        assert_eq!(parse_time("2016-02-26T16:38:34+09:00"), at);
        assert_eq!(parse_time("2016-02-26T16:38:34 0900"), at);
        assert_eq!(parse_time("2016-02-26T07:38:34Z"), at);
        assert_eq!(parse_time("2016-02-26T07:38:34.250Z"), at.map(|t| t + 250));
        for bad in [
            "yesterday",
            "2016-02-26",
            "2016-02-26T16:38:34",
            "1456472314",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }
}
