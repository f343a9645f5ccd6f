//! `delete` tasks and synchronous deletions: files and folders named by id, the variants made
//! from them dropped from L1. An app whose `trash_retention_days` is above 0 has them moved to
//! the trash instead, to be purged by the maintenance sweep once that many days have passed.

use super::Attempt;
use crate::catalog::{CatalogError, Task, TrashTimes};
use crate::config::TrashConfig;
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

/// The times of an item trashed at `now` by an app keeping its trash `days` days.
pub fn trash_times(config: &TrashConfig, days: u32, now: i64) -> TrashTimes {
    TrashTimes {
        deleted_at: now,
        purge_at: now.saturating_add(config.days_ms(u64::from(days))),
    }
}

/// Deletes the entries a payload names, or moves them to the trash when the app keeps one (a
/// trashed file takes the files produced from it along, whatever `include_thumbnail` says);
/// returns how many existed. Deleted bytes are left to the maintenance sweep, which deletes
/// them once `storage.release_delay_secs` have passed, so responses already streaming them
/// finish; trashed bytes stay until the item is purged.
pub async fn delete_entries(
    ctx: &Variants,
    app_key: &str,
    payload: &DeletePayload,
) -> Result<usize, CatalogError> {
    let days = ctx
        .catalog
        .app(app_key)
        .await?
        .map_or(0, |app| app.settings.trash_retention_days);
    let trash = (days > 0).then(|| trash_times(&ctx.config.trash, days, crate::clock::now_ms()));
    let mut found = 0;
    for id in &payload.file_ids {
        if let Ok(Some(file)) = ctx.catalog.file_by_id(app_key, id).await {
            ctx.l1.invalidate_source(app_key, &file.path);
        }
        let done = match trash {
            Some(times) => ctx.catalog.trash_file(app_key, id, times).await.map(drop),
            None => ctx
                .catalog
                .delete_file(app_key, id, payload.include_thumbnail)
                .await
                .map(drop),
        };
        match done {
            Ok(()) => found += 1,
            Err(CatalogError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    for id in &payload.folder_ids {
        if let Ok(Some(folder)) = ctx.catalog.folder_by_id(app_key, id).await {
            ctx.l1.invalidate_below(app_key, &folder.path);
        }
        let done = match trash {
            Some(times) => ctx.catalog.trash_folder(app_key, id, times).await.map(drop),
            None => ctx.catalog.delete_folder(app_key, id).await.map(drop),
        };
        match done {
            Ok(()) => found += 1,
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
