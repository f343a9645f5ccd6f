//! Trash API (photo-library extension): an app's trash listed page by page, items restored
//! (all or none) and purged, by id or all at once. Deletion moves files and folders here when
//! the app's `trashRetentionDays` is above 0 (see `jobs::delete`).

use super::deletion::check_id;
use super::envelope::{ApiError, Reply};
use super::params::flex_list;
use super::{paging, views, Call};
use crate::catalog::{CatalogError, Restored, TrashItem};
use crate::clock::now_ms;
use crate::paths;
use crate::result_code::ResultCode;
use serde::Deserialize;
use serde_json::{json, Value};

/// Items purged per catalog transaction when the whole trash is emptied.
const EMPTY_BATCH: usize = 1000;

/// Rows of a trash page when `rows` is not given.
const DEFAULT_ROWS: u32 = 100;

/// `GET /trash?page=&rows=`: the items, newest first.
pub async fn list(call: Call<'_>) -> Result<Reply, ApiError> {
    let q = &call.query;
    let (page, rows) = paging::page_and_rows(q, DEFAULT_ROWS, call.ctx.config.limits.max_items)?;
    let (items, total) = call
        .ctx
        .catalog
        .trash_items(&call.app.app_key, page, rows)
        .await
        .map_err(|e| call.catalog_error(&e))?;
    Ok(Reply::ok(json!({
        "paging": { "page": page, "rows": rows, "totalCount": total },
        "items": items.iter().map(item_view).collect::<Vec<_>>(),
    })))
}

/// An item of the trash as listed.
fn item_view(item: &TrashItem) -> Value {
    json!({
        "isFolder": item.is_folder,
        "id": item.id,
        "name": paths::name(&item.path),
        "path": item.path,
        "bytes": item.bytes,
        "totalFileCount": item.files,
        "deletedAt": views::time(item.deleted_at),
        "purgeAt": views::time(item.purge_at),
    })
}

#[derive(Deserialize)]
struct RestoreBody {
    #[serde(default, rename = "fileIds", deserialize_with = "flex_list")]
    file_ids: Vec<String>,
    #[serde(default, rename = "folderIds", deserialize_with = "flex_list")]
    folder_ids: Vec<String>,
}

/// `POST /trash/restore {"fileIds": [...], "folderIds": [...]}`: puts the items back, all or
/// none.
pub async fn restore(mut call: Call<'_>) -> Result<Reply, ApiError> {
    let body: RestoreBody = call.json().await?;
    let (file_ids, folder_ids) = (distinct(body.file_ids), distinct(body.folder_ids));
    check_ids(&call, &file_ids, &folder_ids, ResultCode::FileCountLimit)?;
    let restored = call
        .ctx
        .catalog
        .restore_trash(&call.app.app_key, &file_ids, &folder_ids, now_ms())
        .await;
    match restored {
        Ok(restored) => Ok(Reply::ok(json!({
            "restored": restored.iter().map(|r| restored_view(&call, r)).collect::<Vec<_>>(),
        }))),
        Err(CatalogError::NotFound(id)) => {
            tracing::debug!(id, "restore of an id that is not in the trash");
            Err(ApiError::new(ResultCode::NotInTrash))
        }
        Err(CatalogError::NotAFolder(_)) => Err(ApiError::new(ResultCode::InvalidBasePath)),
        Err(e) => Err(call.catalog_error(&e)),
    }
}

/// An item put back, with its delivery URL when it is a file.
fn restored_view(call: &Call<'_>, r: &Restored) -> Value {
    let mut view = json!({
        "isFolder": r.is_folder,
        "id": r.id,
        "name": paths::name(&r.path),
        "path": r.path,
        "renamed": r.renamed,
    });
    if !r.is_folder {
        view["url"] = json!(call.ctx.file_url(&call.app.container, &r.path));
    }
    view
}

/// `DELETE /trash?fileIds=&folderIds=`: purges the named items now; without either parameter,
/// every item. A parameter given without an id (`fileIds=`, `fileIds=,`) is refused (10001),
/// never read as "all".
pub async fn purge(call: Call<'_>) -> Result<Reply, ApiError> {
    let file_ids = distinct(call.query.list("fileIds"));
    let folder_ids = distinct(call.query.list("folderIds"));
    let catalog = &call.ctx.catalog;
    let key = &call.app.app_key;
    let named = call.query.get("fileIds").is_some() || call.query.get("folderIds").is_some();
    if !named {
        let mut purged = 0;
        loop {
            let n = catalog
                .empty_trash(key, EMPTY_BATCH, now_ms())
                .await
                .map_err(|e| call.catalog_error(&e))?;
            purged += n;
            if n < EMPTY_BATCH as u64 {
                return Ok(Reply::ok(json!({ "purgedCount": purged })));
            }
        }
    }
    check_ids(
        &call,
        &file_ids,
        &folder_ids,
        ResultCode::DeleteFileCountLimit,
    )?;
    let purged = catalog
        .purge_trash(key, &file_ids, &folder_ids, now_ms())
        .await
        .map_err(|e| call.catalog_error(&e))?;
    if purged == 0 {
        return Err(ApiError::new(ResultCode::NoFileToDelete));
    }
    Ok(Reply::ok(json!({ "purgedCount": purged })))
}

/// Refuses a request naming no id (10001), more than `limits.max_items` ids (`too_many`) or an
/// id longer than an id may be (10001).
fn check_ids(
    call: &Call<'_>,
    file_ids: &[String],
    folder_ids: &[String],
    too_many: ResultCode,
) -> Result<(), ApiError> {
    if file_ids.is_empty() && folder_ids.is_empty() {
        return Err(ApiError::invalid("fileIds or folderIds is required"));
    }
    if file_ids.len() + folder_ids.len() > call.ctx.config.limits.max_items {
        return Err(ApiError::new(too_many));
    }
    file_ids
        .iter()
        .chain(folder_ids)
        .try_for_each(|id| check_id(id))
}

/// The ids in their first order, each once.
fn distinct(ids: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn repeated_ids_count_once_in_their_first_order() {
        let ids = ["b", "a", "b", "c", "a"].map(str::to_owned).to_vec();
        assert_eq!(super::distinct(ids), ["b", "a", "c"]);
    }
}
