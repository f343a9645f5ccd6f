//! `delete` tasks and synchronous deletions: files and folders named by id, the variants made
//! from them dropped from L1.

use super::Attempt;
use crate::catalog::{CatalogError, Task};
use crate::variant::Variants;
use serde::{Deserialize, Serialize};

/// What a `delete` task removes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletePayload {
    /// Files to delete.
    pub file_ids: Vec<String>,
    /// Folders to delete with everything below them.
    pub folder_ids: Vec<String>,
    /// Also delete the files produced from the deleted files.
    pub include_thumbnail: bool,
}

/// Deletes the entries a payload names; returns how many existed. Their bytes are left to the
/// maintenance sweep, which deletes them once `storage.release_delay_secs` have passed, so
/// responses already streaming them finish.
pub async fn delete_entries(
    ctx: &Variants,
    app_key: &str,
    payload: &DeletePayload,
) -> Result<usize, CatalogError> {
    let mut found = 0;
    for id in &payload.file_ids {
        if let Ok(Some(file)) = ctx.catalog.file_by_id(app_key, id).await {
            ctx.l1.invalidate_source(app_key, &file.path);
        }
        match ctx
            .catalog
            .delete_file(app_key, id, payload.include_thumbnail)
            .await
        {
            Ok(_) => found += 1,
            Err(CatalogError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    for id in &payload.folder_ids {
        if let Ok(Some(folder)) = ctx.catalog.folder_by_id(app_key, id).await {
            ctx.l1.invalidate_below(app_key, &folder.path);
        }
        match ctx.catalog.delete_folder(app_key, id).await {
            Ok(_) => found += 1,
            Err(CatalogError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

/// Runs one attempt of a `delete` task; a catalog failure is tried again.
pub async fn run(ctx: &Variants, task: &Task, payload: &DeletePayload) -> Attempt {
    match delete_entries(ctx, &task.app_key, payload).await {
        Ok(_) => Attempt::Done,
        Err(e) => Attempt::Retry(e.to_string()),
    }
}
