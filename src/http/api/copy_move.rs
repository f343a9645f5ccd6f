//! Copy and move (a Pictor extension): `POST /images/copy` and `POST /images/move` take files
//! and folders by id into one folder, in one catalog transaction (all or nothing). Copies
//! share the bytes of their originals; moves keep ids. The variants a move or a replacement
//! made stale are dropped from this node's L1 at once (other nodes hear of them through the
//! catalog's change feed).

use super::deletion::check_id;
use super::envelope::{ApiError, Reply};
use super::images::on_conflict;
use super::params::{flex_bool, flex_list};
use super::{views, Call};
use crate::catalog::{CatalogError, Refusal, Transfer, Transferred};
use crate::paths;
use crate::result_code::ResultCode;
use serde::Deserialize;
use serde_json::json;

/// The body of both calls.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransferBody {
    /// Files to copy or move.
    #[serde(default, deserialize_with = "flex_list")]
    file_ids: Vec<String>,
    /// Folders to copy or move with everything below them.
    #[serde(default, deserialize_with = "flex_list")]
    folder_ids: Vec<String>,
    /// The folder they go into.
    #[serde(default)]
    target_path: Option<String>,
    /// Replace a file at a path an entry goes to.
    #[serde(default, deserialize_with = "flex_bool")]
    overwrite: Option<bool>,
    /// Else take `name(1).ext`, `name(2).ext`, ...
    #[serde(default, deserialize_with = "flex_bool")]
    autorename: Option<bool>,
}

/// Which of the two calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Copy,
    Move,
}

/// `POST /images/copy`.
pub async fn copy(call: Call<'_>) -> Result<Reply, ApiError> {
    transfer(call, Verb::Copy).await
}

/// `POST /images/move`.
pub async fn move_entries(call: Call<'_>) -> Result<Reply, ApiError> {
    transfer(call, Verb::Move).await
}

/// Reads and checks the body, copies or moves, drops what went stale from L1, and answers
/// the files and folders as they now are.
async fn transfer(mut call: Call<'_>, verb: Verb) -> Result<Reply, ApiError> {
    let body: TransferBody = call.json().await?;
    let request = request(&call, body)?;
    let key = call.app.app_key.clone();
    let catalog = &call.ctx.catalog;
    let done = match verb {
        Verb::Copy => catalog.copy_entries(&key, &request).await,
        Verb::Move => catalog.move_entries(&key, &request).await,
    }
    .map_err(|e| refusal(&call, &e))?;
    let Transferred {
        files,
        folders,
        changes,
    } = done;
    for change in &changes {
        call.ctx.l1.apply(change);
    }
    let files: Vec<_> = files
        .iter()
        .map(|f| views::file(&call.ctx, &call.app, f, Vec::new()))
        .collect();
    let folders: Vec<_> = folders.iter().map(views::folder).collect();
    Ok(Reply::ok(json!({ "files": files, "folders": folders })))
}

/// The catalog request of a body: ids (at least one, at most `limits.max_items`, each at most
/// 50 characters), the normalised target path and the conflict rule.
fn request(call: &Call<'_>, body: TransferBody) -> Result<Transfer, ApiError> {
    let limits = &call.ctx.config.limits;
    let ids = body.file_ids.len() + body.folder_ids.len();
    if ids == 0 {
        return Err(ApiError::invalid("fileIds or folderIds is required"));
    }
    if ids > limits.max_items {
        return Err(ApiError::new(ResultCode::FileCountLimit));
    }
    for id in body.file_ids.iter().chain(&body.folder_ids) {
        check_id(id)?;
    }
    let target = paths::param(body.target_path.as_deref(), limits.max_path_bytes)?
        .ok_or_else(|| ApiError::invalid("targetPath is required"))?;
    Ok(Transfer {
        file_ids: body.file_ids,
        folder_ids: body.folder_ids,
        target,
        on_conflict: on_conflict(
            body.overwrite.unwrap_or(false),
            body.autorename.unwrap_or(false),
        ),
        max_entries: limits.max_items,
        max_path_bytes: limits.max_path_bytes,
        quota: call.app.settings.quota(),
        now: crate::clock::now_ms(),
    })
}

/// The answer to a refused copy or move.
fn refusal(call: &Call<'_>, e: &CatalogError) -> ApiError {
    match e {
        CatalogError::NotFound(_) => ApiError::new(ResultCode::CopyMoveNotFound),
        CatalogError::FileExists(_) | CatalogError::FolderExists(_) => {
            ApiError::new(ResultCode::FileDuplicatedName)
        }
        CatalogError::NotAFolder(_) => ApiError::new(ResultCode::InvalidBasePath),
        CatalogError::QuotaExceeded => ApiError::new(ResultCode::QuotaExceeded),
        CatalogError::Refused(Refusal::TooMany(_)) => ApiError::new(ResultCode::FileCountLimit),
        CatalogError::Refused(Refusal::PathTooLong(_)) => {
            ApiError::new(ResultCode::PathLengthLimit)
        }
        CatalogError::Refused(why) => ApiError::invalid(&why.to_string()),
        CatalogError::Backend { .. } => call.catalog_error(e),
    }
}
