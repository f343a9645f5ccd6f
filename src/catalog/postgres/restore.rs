//! Restoring items of the trash: every row back into the live tree with its id, under its old
//! path or the first free rename of it, all the items of one call in one transaction. Each
//! folder that gains an entry is locked first, root down (see `folders`), so the check that a
//! name is free and the insert that takes it are never split by another node's change.

use super::files::{insert_file, path_taken};
use super::folders::{ensure_folder, touch_folder};
use super::rows::{all, file_from_row, folder_from_row, FOLDER_COLUMNS, TRASHED_FILE_COLUMNS};
use super::trash::is_item;
use super::{commit, execute, query, write_tx, PgCatalog};
use crate::catalog::trash::rebase;
use crate::catalog::tree::rename_candidates;
use crate::catalog::{CatalogError, CatalogResult, FileRecord, Folder, Restored};
use crate::paths;
use deadpool_postgres::Transaction;

pub(super) async fn restore_trash(
    catalog: &PgCatalog,
    app_key: &str,
    file_ids: &[String],
    folder_ids: &[String],
    now: i64,
) -> CatalogResult<Vec<Restored>> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let mut restored = Vec::with_capacity(file_ids.len() + folder_ids.len());
    for id in file_ids {
        restored.push(restore_file_item(&tx, app_key, id, now).await?);
    }
    for id in folder_ids {
        restored.push(restore_folder_item(&tx, app_key, id, now).await?);
    }
    commit(tx).await?;
    Ok(restored)
}

/// Puts back a file item: the file first, then the files produced from it.
async fn restore_file_item(
    tx: &Transaction<'_>,
    app_key: &str,
    id: &str,
    now: i64,
) -> CatalogResult<Restored> {
    if !is_item(tx, "trashed_files", app_key, id).await? {
        return Err(CatalogError::NotFound(id.to_owned()));
    }
    let files = item_files(tx, app_key, id, "id <> $2, path").await?;
    let mut top = None;
    for file in files {
        let is_top = file.id == id;
        let placed = place_file(tx, app_key, file, now).await?;
        if is_top {
            top = Some(placed);
        }
    }
    let (path, renamed) = top.ok_or_else(|| CatalogError::NotFound(id.to_owned()))?;
    forget_item(tx, app_key, id).await?;
    Ok(Restored {
        id: id.to_owned(),
        is_folder: false,
        path,
        renamed,
    })
}

/// Puts back a folder item: the folder under its old path or the first free rename, the
/// folders and files below it following it, and the files produced from them that lay
/// elsewhere under their own paths.
async fn restore_folder_item(
    tx: &Transaction<'_>,
    app_key: &str,
    id: &str,
    now: i64,
) -> CatalogResult<Restored> {
    if !is_item(tx, "trashed_folders", app_key, id).await? {
        return Err(CatalogError::NotFound(id.to_owned()));
    }
    let rows = query(
        tx,
        &format!(
            "SELECT {FOLDER_COLUMNS} FROM trashed_folders WHERE app_key = $1 AND item_id = $2
             ORDER BY path"
        ),
        &[&app_key, &id],
    )
    .await?;
    let folders = all(&rows, folder_from_row)?;
    let Some(old_top) = folders.iter().find(|f| f.id == id).map(|f| f.path.clone()) else {
        return Err(CatalogError::NotFound(id.to_owned()));
    };
    let parent = paths::parent(&old_top);
    ensure_folder(tx, app_key, parent, now).await?;
    let top = free_path(tx, app_key, &old_top).await?;
    for folder in folders {
        let path = rebase(&folder.path, &old_top, &top).unwrap_or(folder.path);
        insert_folder_row(tx, app_key, &Folder { path, ..folder }).await?;
    }
    touch_folder(tx, app_key, parent, now).await?;
    for mut file in item_files(tx, app_key, id, "path").await? {
        match rebase(&file.path, &old_top, &top) {
            // Below the folder: its folder came back with the item, and the path is free.
            Some(path) => {
                file.path = path;
                insert_file(tx, app_key, &file).await?;
            }
            None => {
                place_file(tx, app_key, file, now).await?;
            }
        }
    }
    forget_item(tx, app_key, id).await?;
    Ok(Restored {
        id: id.to_owned(),
        is_folder: true,
        renamed: top != old_top,
        path: top,
    })
}

/// The files of an item, in the order `order` gives (`$2` is the item's id).
async fn item_files(
    tx: &Transaction<'_>,
    app_key: &str,
    item: &str,
    order: &str,
) -> CatalogResult<Vec<FileRecord>> {
    let rows = query(
        tx,
        &format!(
            "SELECT {TRASHED_FILE_COLUMNS} FROM trashed_files WHERE app_key = $1 AND item_id = $2
             ORDER BY {order}"
        ),
        &[&app_key, &item],
    )
    .await?;
    all(&rows, file_from_row)
}

/// Stores a file back under its path, or the first free rename of it, making its missing
/// folders (its folder locked) and marking its folder as changed at `now`; returns where it
/// went and whether it was renamed.
async fn place_file(
    tx: &Transaction<'_>,
    app_key: &str,
    mut file: FileRecord,
    now: i64,
) -> CatalogResult<(String, bool)> {
    let parent = paths::parent(&file.path).to_owned();
    ensure_folder(tx, app_key, &parent, now).await?;
    let path = free_path(tx, app_key, &file.path).await?;
    let renamed = path != file.path;
    file.path = path;
    insert_file(tx, app_key, &file).await?;
    touch_folder(tx, app_key, &parent, now).await?;
    Ok((file.path, renamed))
}

/// `path` when neither a file nor a folder holds it, else the first such rename of it.
async fn free_path(tx: &Transaction<'_>, app_key: &str, path: &str) -> CatalogResult<String> {
    if !path_taken(tx, app_key, path).await? {
        return Ok(path.to_owned());
    }
    for candidate in rename_candidates(path) {
        if !path_taken(tx, app_key, &candidate).await? {
            return Ok(candidate);
        }
    }
    Err(CatalogError::FileExists(path.to_owned()))
}

/// Inserts the row of a folder whose parent exists, as given.
async fn insert_folder_row(
    tx: &Transaction<'_>,
    app_key: &str,
    folder: &Folder,
) -> CatalogResult<()> {
    let path = folder.path.as_str();
    execute(
        tx,
        "INSERT INTO folders (id, app_key, path, parent, name, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &folder.id,
            &app_key,
            &path,
            &paths::parent(path),
            &paths::name(path),
            &folder.updated_at,
        ],
    )
    .await?;
    Ok(())
}

/// Deletes the trash rows of an item that was put back.
async fn forget_item(tx: &Transaction<'_>, app_key: &str, item: &str) -> CatalogResult<()> {
    for table in ["trashed_files", "trashed_folders"] {
        execute(
            tx,
            &format!("DELETE FROM {table} WHERE app_key = $1 AND item_id = $2"),
            &[&app_key, &item],
        )
        .await?;
    }
    Ok(())
}
