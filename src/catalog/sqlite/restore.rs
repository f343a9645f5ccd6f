//! Restoring items of the trash: every row back into the live tree with its id, under its old
//! path or the first free rename of it, all the items of one call in one transaction.

use super::files::{file_exists, insert_file};
use super::folders::{ensure_folder, folder_at, insert_folder_row, touch_folder};
use super::rows::{file_from_row, folder_from_row, TRASHED_FILE_COLUMNS};
use super::trash::is_item;
use super::{backend, SqliteCatalog};
use crate::catalog::trash::rebase;
use crate::catalog::tree::rename_candidates;
use crate::catalog::{CatalogError, CatalogResult, FileRecord, Folder, Restored};
use crate::paths;
use rusqlite::{params, Transaction};

pub(super) async fn restore_trash(
    catalog: &SqliteCatalog,
    app_key: &str,
    file_ids: &[String],
    folder_ids: &[String],
    now: i64,
) -> CatalogResult<Vec<Restored>> {
    let (key, file_ids, folder_ids) = (app_key.to_owned(), file_ids.to_vec(), folder_ids.to_vec());
    catalog
        .tx(move |tx| {
            let mut restored = Vec::with_capacity(file_ids.len() + folder_ids.len());
            for id in &file_ids {
                restored.push(restore_file_item(tx, &key, id, now)?);
            }
            for id in &folder_ids {
                restored.push(restore_folder_item(tx, &key, id, now)?);
            }
            Ok(restored)
        })
        .await
}

/// Puts back a file item: the file first, then the files produced from it.
fn restore_file_item(
    tx: &Transaction<'_>,
    app_key: &str,
    id: &str,
    now: i64,
) -> CatalogResult<Restored> {
    if !is_item(tx, "trashed_files", app_key, id)? {
        return Err(CatalogError::NotFound(id.to_owned()));
    }
    let files = item_files(tx, app_key, id, "id <> ?2, path")?;
    let mut top = None;
    for file in files {
        let is_top = file.id == id;
        let (path, renamed) = place_file(tx, app_key, file, now)?;
        if is_top {
            top = Some((path, renamed));
        }
    }
    let (path, renamed) = top.ok_or_else(|| CatalogError::NotFound(id.to_owned()))?;
    forget_item(tx, app_key, id)?;
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
fn restore_folder_item(
    tx: &Transaction<'_>,
    app_key: &str,
    id: &str,
    now: i64,
) -> CatalogResult<Restored> {
    if !is_item(tx, "trashed_folders", app_key, id)? {
        return Err(CatalogError::NotFound(id.to_owned()));
    }
    let mut stmt = tx
        .prepare(
            "SELECT id, path, updated_at FROM trashed_folders
             WHERE app_key = ?1 AND item_id = ?2 ORDER BY path",
        )
        .map_err(backend)?;
    let folders = stmt
        .query_map(params![app_key, id], folder_from_row)
        .map_err(backend)?
        .collect::<Result<Vec<Folder>, _>>()
        .map_err(backend)?;
    let Some(old_top) = folders.iter().find(|f| f.id == id).map(|f| f.path.clone()) else {
        return Err(CatalogError::NotFound(id.to_owned()));
    };
    let parent = paths::parent(&old_top);
    ensure_folder(tx, app_key, parent, now)?;
    let top = free_path(tx, app_key, &old_top)?;
    for folder in folders {
        let path = rebase(&folder.path, &old_top, &top).unwrap_or(folder.path);
        insert_folder_row(tx, app_key, &Folder { path, ..folder })?;
    }
    touch_folder(tx, app_key, parent, now)?;
    for mut file in item_files(tx, app_key, id, "path")? {
        match rebase(&file.path, &old_top, &top) {
            // Below the folder: its folder came back with the item, and the path is free.
            Some(path) => {
                file.path = path;
                insert_file(tx, app_key, &file)?;
            }
            None => {
                place_file(tx, app_key, file, now)?;
            }
        }
    }
    forget_item(tx, app_key, id)?;
    Ok(Restored {
        id: id.to_owned(),
        is_folder: true,
        renamed: top != old_top,
        path: top,
    })
}

/// The files of an item, in the order `order` gives (`?2` is the item's id).
fn item_files(
    tx: &Transaction<'_>,
    app_key: &str,
    item: &str,
    order: &str,
) -> CatalogResult<Vec<FileRecord>> {
    let mut stmt = tx
        .prepare(&format!(
            "SELECT {TRASHED_FILE_COLUMNS} FROM trashed_files WHERE app_key = ?1 AND item_id = ?2
             ORDER BY {order}"
        ))
        .map_err(backend)?;
    let files = stmt
        .query_map(params![app_key, item], file_from_row)
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    Ok(files)
}

/// Stores a file back under its path, or the first free rename of it, making its missing
/// folders and marking its folder as changed at `now`; returns where it went and whether it
/// was renamed.
fn place_file(
    tx: &Transaction<'_>,
    app_key: &str,
    mut file: FileRecord,
    now: i64,
) -> CatalogResult<(String, bool)> {
    let parent = paths::parent(&file.path).to_owned();
    ensure_folder(tx, app_key, &parent, now)?;
    let path = free_path(tx, app_key, &file.path)?;
    let renamed = path != file.path;
    file.path = path;
    insert_file(tx, app_key, &file)?;
    touch_folder(tx, app_key, &parent, now)?;
    Ok((file.path, renamed))
}

/// `path` when neither a file nor a folder holds it, else the first such rename of it.
fn free_path(tx: &Transaction<'_>, app_key: &str, path: &str) -> CatalogResult<String> {
    let taken = |at: &str| -> CatalogResult<bool> {
        Ok(file_exists(tx, app_key, at)? || folder_at(tx, app_key, at)?.is_some())
    };
    if !taken(path)? {
        return Ok(path.to_owned());
    }
    for candidate in rename_candidates(path) {
        if !taken(&candidate)? {
            return Ok(candidate);
        }
    }
    Err(CatalogError::FileExists(path.to_owned()))
}

/// Deletes the trash rows of an item that was put back.
fn forget_item(tx: &Transaction<'_>, app_key: &str, item: &str) -> CatalogResult<()> {
    for table in ["trashed_files", "trashed_folders"] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE app_key = ?1 AND item_id = ?2"),
            params![app_key, item],
        )
        .map_err(backend)?;
    }
    Ok(())
}
