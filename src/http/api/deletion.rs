//! Deletion API: one folder or file now (`/images/sync`), many in a background task
//! (`/images/async`); to the app's trash instead when it keeps one (see `trash`).

use super::envelope::{ApiError, Reply};
use super::{views, Call};
use crate::catalog::CatalogError;
use crate::jobs::delete::{delete_entries, DeletePayload};
use crate::jobs::{self, Work};
use crate::result_code::ResultCode;
use serde_json::json;

/// Longest id accepted in a deletion request.
const MAX_ID_LEN: usize = 50;

/// Refuses an id longer than [`MAX_ID_LEN`] with 10001.
pub(super) fn check_id(id: &str) -> Result<(), ApiError> {
    if id.len() > MAX_ID_LEN {
        return Err(ApiError::invalid("id longer than 50 characters"));
    }
    Ok(())
}

/// `DELETE /images/sync?folderId=|fileId=&includeThumbnail=`.
pub async fn delete_sync(call: Call<'_>) -> Result<Reply, ApiError> {
    let q = &call.query;
    let file_id = q.get("fileId").map(str::trim).filter(|s| !s.is_empty());
    let folder_id = q.get("folderId").map(str::trim).filter(|s| !s.is_empty());
    let with_produced = q.bool("includeThumbnail", false)?;
    if file_id.is_none() && folder_id.is_none() {
        return Err(ApiError::invalid("folderId or fileId is required"));
    }
    for id in file_id.iter().chain(folder_id.iter()) {
        check_id(id)?;
    }
    let payload = DeletePayload {
        file_ids: file_id.map(str::to_owned).into_iter().collect(),
        folder_ids: folder_id.map(str::to_owned).into_iter().collect(),
        include_thumbnail: with_produced,
    };
    let deleted = run_delete(&call, &payload).await?;
    if deleted == 0 {
        return Err(ApiError::new(ResultCode::NoFileToDelete));
    }
    Ok(Reply::ok(json!({})))
}

/// Deletes what `payload` names; returns how many entries existed.
async fn run_delete(call: &Call<'_>, payload: &DeletePayload) -> Result<usize, ApiError> {
    match delete_entries(&call.ctx, &call.app.app_key, payload).await {
        Ok(found) => Ok(found),
        Err(CatalogError::NotFound(_)) => Err(ApiError::new(ResultCode::NoFileToDelete)),
        Err(e) => Err(call.catalog_error(&e)),
    }
}

/// `DELETE /images/async?folderIds=&fileIds=&includeThumbnail=`: queues a `delete` task.
pub async fn delete_async(call: Call<'_>) -> Result<Reply, ApiError> {
    let q = &call.query;
    let file_ids = q.list("fileIds");
    let folder_ids = q.list("folderIds");
    let include_thumbnail = q.bool("includeThumbnail", false)?;
    if file_ids.is_empty() && folder_ids.is_empty() {
        return Err(ApiError::invalid("folderIds or fileIds is required"));
    }
    if file_ids.len() + folder_ids.len() > call.ctx.config.limits.max_items {
        return Err(ApiError::new(ResultCode::DeleteFileCountLimit));
    }
    for id in file_ids.iter().chain(folder_ids.iter()) {
        check_id(id)?;
    }
    let key = &call.app.app_key;
    let catalog = &call.ctx.catalog;
    let mut any = false;
    for id in &file_ids {
        if catalog
            .file_by_id(key, id)
            .await
            .map_err(|e| call.catalog_error(&e))?
            .is_some()
        {
            any = true;
            break;
        }
    }
    if !any {
        for id in &folder_ids {
            if catalog
                .folder_by_id(key, id)
                .await
                .map_err(|e| call.catalog_error(&e))?
                .is_some()
            {
                any = true;
                break;
            }
        }
    }
    if !any {
        return Err(ApiError::new(ResultCode::NoFileToDelete));
    }
    let work = Work::Delete(DeletePayload {
        file_ids,
        folder_ids,
        include_thumbnail,
    });
    let task = jobs::enqueue(&call.ctx, key, "", "", &work)
        .await
        .map_err(|e| call.catalog_error(&e))?;
    Ok(Reply::ok(
        json!({ "queue": views::queue(&call.ctx, &call.app, &task) }),
    ))
}
