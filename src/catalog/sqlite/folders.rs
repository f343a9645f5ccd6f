//! Folders: creation with their parents, lookups, listings, totals and removal of a subtree.

use super::blobs::trash;
use super::deletions;
use super::files::file_exists;
use super::rows::{file_from_row, folder_from_row, FILE_COLUMNS};
use super::{backend, SqliteCatalog};
use crate::catalog::tree::{ancestors, subtree_range};
use crate::catalog::{
    CatalogError, CatalogResult, CreatedBy, DeletionKind, Folder, FolderStats, ListQuery, Listing,
    SortKey,
};
use crate::paths;
use rusqlite::{params, OptionalExtension, Transaction};

pub(super) async fn create_folder(
    catalog: &SqliteCatalog,
    app_key: &str,
    path: &str,
    now: i64,
) -> CatalogResult<Folder> {
    let (key, path) = (app_key.to_owned(), path.to_owned());
    catalog
        .tx(move |tx| {
            let (folder, created) = ensure_folder(tx, &key, &path, now)?;
            if !created {
                return Err(CatalogError::FolderExists(path));
            }
            Ok(folder)
        })
        .await
}

pub(super) async fn folder_by_path(
    catalog: &SqliteCatalog,
    app_key: &str,
    path: &str,
) -> CatalogResult<Option<Folder>> {
    let (key, path) = (app_key.to_owned(), path.to_owned());
    catalog.read(move |tx| folder_at(tx, &key, &path)).await
}

pub(super) async fn folder_by_id(
    catalog: &SqliteCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<Option<Folder>> {
    let (key, id) = (app_key.to_owned(), id.to_owned());
    catalog
        .read(move |conn| {
            conn.query_row(
                "SELECT id, path, updated_at FROM folders WHERE app_key = ?1 AND id = ?2",
                params![key, id],
                folder_from_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
}

pub(super) async fn list(
    catalog: &SqliteCatalog,
    app_key: &str,
    folder: &str,
    query: &ListQuery,
) -> CatalogResult<Listing> {
    let (key, folder, q) = (app_key.to_owned(), folder.to_owned(), query.clone());
    catalog
        .read(move |conn| {
            let order = match (q.sort, q.descending) {
                (SortKey::Name, false) => "name ASC",
                (SortKey::Name, true) => "name DESC",
                (SortKey::Date, false) => "updated_at ASC, name ASC",
                (SortKey::Date, true) => "updated_at DESC, name ASC",
            };
            let needle = q.name.clone().unwrap_or_default();
            let offset = i64::from(q.page.saturating_sub(1)) * i64::from(q.rows);
            let limit = i64::from(q.rows);
            let created_by = q.created_by.map(CreatedBy::code).unwrap_or("");

            let total_folders: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM folders
                 WHERE app_key = ?1 AND parent = ?2 AND instr(name, ?3) > 0",
                    params![key, folder, needle],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT id, path, updated_at FROM folders
                 WHERE app_key = ?1 AND parent = ?2 AND instr(name, ?3) > 0
                 ORDER BY {order} LIMIT ?4 OFFSET ?5"
                ))
                .map_err(backend)?;
            let folders = stmt
                .query_map(params![key, folder, needle, limit, offset], folder_from_row)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;

            let total_files: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM files
                 WHERE app_key = ?1 AND parent = ?2 AND instr(name, ?3) > 0
                   AND (?4 = '' OR created_by = ?4)",
                    params![key, folder, needle, created_by],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {FILE_COLUMNS} FROM files
                 WHERE app_key = ?1 AND parent = ?2 AND instr(name, ?3) > 0
                   AND (?4 = '' OR created_by = ?4)
                 ORDER BY {order} LIMIT ?5 OFFSET ?6"
                ))
                .map_err(backend)?;
            let files = stmt
                .query_map(
                    params![key, folder, needle, created_by, limit, offset],
                    file_from_row,
                )
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(Listing {
                folders,
                files,
                total_folders: total_folders.max(0) as u64,
                total_files: total_files.max(0) as u64,
            })
        })
        .await
}

pub(super) async fn folder_stats(
    catalog: &SqliteCatalog,
    app_key: &str,
    folder: &str,
) -> CatalogResult<FolderStats> {
    let (key, (lo, hi)) = (app_key.to_owned(), subtree_range(folder));
    catalog
        .read(move |conn| {
            let (files, bytes): (i64, i64) = conn
                .query_row(
                    "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM files
                 WHERE app_key = ?1 AND path >= ?2 AND path < ?3",
                    params![key, lo, hi],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(backend)?;
            let folders: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM folders
                 WHERE app_key = ?1 AND path >= ?2 AND path < ?3 AND path <> '/'",
                    params![key, lo, hi],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            Ok(FolderStats {
                bytes: bytes.max(0) as u64,
                folders: folders.max(0) as u64,
                files: files.max(0) as u64,
            })
        })
        .await
}

pub(super) async fn delete_folder(
    catalog: &SqliteCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<Vec<String>> {
    let (key, id) = (app_key.to_owned(), id.to_owned());
    catalog
        .tx(move |tx| {
            let path: Option<String> = tx
                .query_row(
                    "SELECT path FROM folders WHERE app_key = ?1 AND id = ?2",
                    params![key, id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            let Some(path) = path else {
                return Err(CatalogError::NotFound(id));
            };
            let (lo, hi) = subtree_range(&path);
            let mut stmt = tx
                .prepare(
                    "DELETE FROM files WHERE app_key = ?1 AND path >= ?2 AND path < ?3
                 RETURNING blob_key, id, path",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![key, lo, hi], |r| {
                    Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?)))
                })
                .map_err(backend)?
                .collect::<Result<Vec<(String, (String, String))>, _>>()
                .map_err(backend)?;
            let (keys, gone): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
            deletions::record(
                tx,
                &key,
                &gone,
                DeletionKind::Delete,
                crate::clock::now_ms(),
            )?;
            tx.execute(
                "DELETE FROM folders WHERE app_key = ?1 AND path >= ?2 AND path < ?3
               AND path <> '/'",
                params![key, lo, hi],
            )
            .map_err(backend)?;
            if path != "/" {
                tx.execute("DELETE FROM folders WHERE id = ?1", params![id])
                    .map_err(backend)?;
                touch_folder(tx, &key, paths::parent(&path), crate::clock::now_ms())?;
            }
            trash(tx, &keys)?;
            Ok(keys)
        })
        .await
}

/// The folder at a path.
pub(super) fn folder_at(
    tx: &Transaction<'_>,
    app_key: &str,
    path: &str,
) -> CatalogResult<Option<Folder>> {
    tx.query_row(
        "SELECT id, path, updated_at FROM folders WHERE app_key = ?1 AND path = ?2",
        params![app_key, path],
        folder_from_row,
    )
    .optional()
    .map_err(backend)
}

/// Marks a folder as changed at `now` (never moving its time backwards): an entry was added
/// to it or removed from it.
pub(super) fn touch_folder(
    tx: &Transaction<'_>,
    app_key: &str,
    path: &str,
    now: i64,
) -> CatalogResult<()> {
    tx.prepare_cached(
        "UPDATE folders SET updated_at = max(updated_at, ?3) WHERE app_key = ?1 AND path = ?2",
    )
    .and_then(|mut s| s.execute(params![app_key, path, now]))
    .map_err(backend)?;
    Ok(())
}

/// Creates `path` and its missing parents, root first; each new folder marks its parent as
/// changed at `now`. Returns the folder and whether it was new; `NotAFolder` when a file holds
/// the path or one of its parents.
pub(super) fn ensure_folder(
    tx: &Transaction<'_>,
    app_key: &str,
    path: &str,
    now: i64,
) -> CatalogResult<(Folder, bool)> {
    if let Some(existing) = folder_at(tx, app_key, path)? {
        return Ok((existing, false));
    }
    for at in ancestors(path) {
        if folder_at(tx, app_key, at)?.is_none() {
            add_folder(tx, app_key, at, now)?;
        }
    }
    Ok((add_folder(tx, app_key, path, now)?, true))
}

/// Adds the missing folder `path` whose parent exists, marking the parent as changed;
/// `NotAFolder` when a file holds the path.
fn add_folder(tx: &Transaction<'_>, app_key: &str, path: &str, now: i64) -> CatalogResult<Folder> {
    if file_exists(tx, app_key, path)? {
        return Err(CatalogError::NotAFolder(path.to_owned()));
    }
    if path != "/" {
        touch_folder(tx, app_key, paths::parent(path), now)?;
    }
    insert_folder(tx, app_key, path, now)
}

/// Inserts a folder row whose parent exists.
fn insert_folder(
    tx: &Transaction<'_>,
    app_key: &str,
    path: &str,
    now: i64,
) -> CatalogResult<Folder> {
    let folder = Folder {
        id: uuid::Uuid::new_v4().to_string(),
        path: path.to_owned(),
        updated_at: now,
    };
    insert_folder_row(tx, app_key, &folder)?;
    Ok(folder)
}

/// Inserts the row of a folder whose parent exists, as given.
pub(super) fn insert_folder_row(
    tx: &Transaction<'_>,
    app_key: &str,
    folder: &Folder,
) -> CatalogResult<()> {
    let path = folder.path.as_str();
    tx.execute(
        "INSERT INTO folders (id, app_key, path, parent, name, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            folder.id,
            app_key,
            path,
            if path == "/" { "" } else { paths::parent(path) },
            paths::name(path),
            folder.updated_at
        ],
    )
    .map_err(backend)?;
    Ok(())
}
