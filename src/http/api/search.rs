//! One file by id and the search across folders: `GET /images/{fileId}`, and `GET /images`
//! with at least one of `tag`, `createdBy`, `from`, `to`, `basepath`, `page`, `rows` (without
//! any of them, `GET /images` stays the unknown route it always was).

use super::envelope::{ApiError, Reply};
use super::params::Query;
use super::{paging, tags, views, Call};
use crate::catalog::{CreatedBy, FileSearch};
use crate::paths;
use crate::result_code::ResultCode;
use chrono::DateTime;
use serde_json::{json, Value};

/// The query parameters that make `GET /images` a search.
const SEARCH_PARAMETERS: [&str; 7] = ["tag", "createdBy", "from", "to", "basepath", "page", "rows"];

/// Whether a `GET /images` query names a search parameter.
pub fn is_search(query: &Query) -> bool {
    SEARCH_PARAMETERS.iter().any(|p| query.get(p).is_some())
}

/// The file id of a `images/{fileId}` path; `images/sync` and `images/async` are the
/// deletion routes' paths, never ids.
pub fn file_path_id(sub: &str) -> Option<&str> {
    sub.strip_prefix("images/")
        .filter(|id| !id.is_empty() && !id.contains('/') && !["sync", "async"].contains(id))
}

/// `GET /images/{fileId}`: the file with that id, as uploads and listings show files; 20001
/// when the app has none.
pub async fn get(call: Call<'_>) -> Result<Reply, ApiError> {
    let id = file_path_id(&call.rest).ok_or(ApiError::new(ResultCode::NotFound))?;
    match call.ctx.catalog.file_by_id(&call.app.app_key, id).await {
        Ok(Some(file)) => Ok(Reply::ok(json!({
            "file": views::file(&call.ctx, &call.app, &file, Vec::new())
        }))),
        Ok(None) => Err(ApiError::new(ResultCode::FolderNotExists)),
        Err(e) => Err(call.catalog_error(&e)),
    }
}

/// `GET /images?tag=&createdBy=&from=&to=&basepath=&page=&rows=`: one page of the app's files
/// in every folder matching every filter given (an empty value filters nothing), newest
/// `updatedAt` first, ties by path; `paging.totalCount` counts every page.
pub async fn search(call: Call<'_>) -> Result<Reply, ApiError> {
    let q = &call.query;
    let limits = &call.ctx.config.limits;
    let tag = match q.get("tag") {
        Some(raw) => tags::tag(raw, limits.max_tag_chars)?,
        None => None,
    };
    let created_by = match q.get("createdBy").map(str::trim) {
        None | Some("") => None,
        Some(code) => {
            Some(CreatedBy::from_code(code).ok_or_else(|| ApiError::invalid("createdBy"))?)
        }
    };
    let updated_from = time_param(q, "from")?;
    let updated_to = time_param(q, "to")?;
    if let (Some(from), Some(to)) = (updated_from, updated_to) {
        if from > to {
            return Err(ApiError::invalid("from is after to"));
        }
    }
    let below = match q.get("basepath").map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => Some(paths::normalize(raw, limits.max_path_bytes)?),
        None => None,
    };
    let page = q.int("page", 1, 1..=u32::MAX)?;
    let rows = paging::rows(q, 100, limits.max_items)?;
    let catalog = &call.ctx.catalog;
    let key = &call.app.app_key;
    if let Some(folder) = &below {
        match catalog.folder_by_path(key, folder).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err(ApiError::new(ResultCode::FolderNotExists)),
            Err(e) => return Err(call.catalog_error(&e)),
        }
    }
    let query = FileSearch {
        tag,
        created_by,
        updated_from,
        updated_to,
        below,
        page,
        rows,
    };
    let found = catalog
        .search_files(key, &query)
        .await
        .map_err(|e| call.catalog_error(&e))?;
    let files: Vec<Value> = found
        .files
        .iter()
        .map(|f| views::file(&call.ctx, &call.app, f, Vec::new()))
        .collect();
    Ok(Reply::ok(json!({
        "paging": { "page": page, "rows": rows, "totalCount": found.total },
        "files": files,
    })))
}

/// A time parameter in milliseconds since the epoch, `None` when absent or empty; 10001 when
/// it is not a time [`parse_time`] reads.
fn time_param(q: &Query, name: &str) -> Result<Option<i64>, ApiError> {
    match q.get(name).map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(raw) => parse_time(raw)
            .map(Some)
            .ok_or_else(|| ApiError::invalid(name)),
    }
}

/// Reads an ISO-8601 time with its offset, in milliseconds since the epoch: RFC 3339
/// (`2016-02-26T15:57:06+09:00`, `...Z`, fractions of a second) or the guide's form
/// (`2016-02-26T15:57:06+0900`). A `+` sent unencoded in a query reads as a space, so a space
/// where the offset's sign belongs is read as `+`.
pub fn parse_time(raw: &str) -> Option<i64> {
    let text = raw.replace(' ', "+");
    DateTime::parse_from_rfc3339(&text)
        .or_else(|_| DateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_the_iso_and_guide_forms() {
        let at = 1_456_469_826_000; // 2016-02-26T06:57:06Z
        for text in [
            "2016-02-26T15:57:06+09:00",
            "2016-02-26T15:57:06+0900",
            "2016-02-26T15:57:06 0900",
            "2016-02-26T06:57:06Z",
            "2016-02-26T06:57:06.000Z",
            "2016-02-26T06:57:06+00:00",
            "2016-02-26T01:57:06-0500",
        ] {
            assert_eq!(parse_time(text), Some(at), "{text}");
        }
        assert_eq!(parse_time("2016-02-26T06:57:06.250Z"), Some(at + 250));
        assert_eq!(parse_time("2016-02-26T15:57:06.5+0900"), Some(at + 500));
        for bad in [
            "2016-02-26",
            "2016-02-26T15:57:06",
            "yesterday",
            "1456469826",
            "",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_search_is_a_get_images_naming_a_filter() {
        assert!(!is_search(&Query::parse(None)));
        assert!(!is_search(&Query::parse(Some("other=1"))));
        assert!(is_search(&Query::parse(Some("tag="))));
        assert!(is_search(&Query::parse(Some("page=2"))));
        assert!(is_search(&Query::parse(Some("createdBy=U&x=1"))));
    }

    #[test]
    fn file_paths_name_one_file_and_never_the_deletion_routes() {
        assert_eq!(file_path_id("images/9cf1"), Some("9cf1"));
        assert_eq!(file_path_id("images/"), None);
        assert_eq!(file_path_id("images/sync"), None);
        assert_eq!(file_path_id("images/async"), None);
        assert_eq!(file_path_id("images/a/tags"), None);
    }
}
