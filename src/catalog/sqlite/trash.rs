//! The trash: files and folders moved out of the live tree into `trashed_files` and
//! `trashed_folders` as items, the listing of those items, and their purge.
//!
//! Rows move whole (every column of `files` / `folders`, plus the item and its times), so a
//! restore gives back ids, blob keys, ETags and times; a purge drops the blob keys through the
//! pending deletions of `blobs`, as every other removal does.

use super::blobs::trash as drop_blobs;
use super::deletions;
use super::folders::touch_folder;
use super::{backend, SqliteCatalog};
use crate::catalog::tree::subtree_range;
use crate::catalog::{CatalogError, CatalogResult, DeletionKind, TrashItem, TrashTimes};
use crate::paths;
use rusqlite::{params, OptionalExtension, Transaction};
use std::collections::BTreeSet;

/// Every column of `files`, which `trashed_files` repeats before its own.
pub(super) const FILE_ROW: &str = "id, app_key, path, parent, name, bytes, created_by, \
    operation_id, source_id, variant, blob_key, etag, content_type, width, height, taken_at, \
    lat, lng, created_at, updated_at, dominant_color";

/// Every column of `folders`, which `trashed_folders` repeats before its own.
pub(super) const FOLDER_ROW: &str = "id, app_key, path, parent, name, updated_at";

/// The items of an app's trash (`?1`) with what they hold: columns of [`item_from_row`].
const ITEMS: &str = "SELECT i.id, i.is_folder, i.path, i.deleted_at, i.purge_at,
    (SELECT COALESCE(SUM(t.bytes), 0) FROM trashed_files t WHERE t.item_id = i.id),
    (SELECT COUNT(*) FROM trashed_files t WHERE t.item_id = i.id)
  FROM (SELECT id, 0 AS is_folder, path, deleted_at, purge_at FROM trashed_files
          WHERE app_key = ?1 AND id = item_id
        UNION ALL
        SELECT id, 1 AS is_folder, path, deleted_at, purge_at FROM trashed_folders
          WHERE app_key = ?1 AND id = item_id) i";

/// A file about to move: its id, path, folder and size.
struct Moving {
    id: String,
    path: String,
    parent: String,
    bytes: i64,
}

pub(super) async fn trash_file(
    catalog: &SqliteCatalog,
    app_key: &str,
    id: &str,
    times: TrashTimes,
) -> CatalogResult<TrashItem> {
    let (key, id) = (app_key.to_owned(), id.to_owned());
    catalog
        .tx(move |tx| trash_file_in(tx, &key, &id, times))
        .await
}

pub(super) async fn trash_folder(
    catalog: &SqliteCatalog,
    app_key: &str,
    id: &str,
    times: TrashTimes,
) -> CatalogResult<Vec<TrashItem>> {
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
            match path {
                None => Err(CatalogError::NotFound(id)),
                Some(root) if root == "/" => trash_root(tx, &key, times),
                Some(path) => Ok(vec![trash_folder_in(tx, &key, &id, &path, times)?]),
            }
        })
        .await
}

/// Moves a file and the files produced from it into the trash as one item.
fn trash_file_in(
    tx: &Transaction<'_>,
    app_key: &str,
    id: &str,
    times: TrashTimes,
) -> CatalogResult<TrashItem> {
    let found = moving(
        tx,
        "SELECT id, path, parent, bytes FROM files WHERE app_key = ?1 AND id = ?2",
        params![app_key, id],
    )?;
    let Some(top) = found.into_iter().next() else {
        return Err(CatalogError::NotFound(id.to_owned()));
    };
    let produced = moving(
        tx,
        "SELECT id, path, parent, bytes FROM files WHERE app_key = ?1 AND source_id = ?2",
        params![app_key, id],
    )?;
    let path = top.path.clone();
    let mut files = vec![top];
    files.extend(produced);
    move_files(tx, app_key, &files, id, times)?;
    Ok(item(id, false, path, &files, times))
}

/// Moves a folder other than the root, everything below it and the files produced from the
/// files below it into the trash as one item.
fn trash_folder_in(
    tx: &Transaction<'_>,
    app_key: &str,
    id: &str,
    path: &str,
    times: TrashTimes,
) -> CatalogResult<TrashItem> {
    let (lo, hi) = subtree_range(path);
    let files = moving(
        tx,
        "SELECT id, path, parent, bytes FROM files WHERE app_key = ?1
         AND ((path >= ?2 AND path < ?3) OR source_id IN
             (SELECT id FROM files WHERE app_key = ?1 AND path >= ?2 AND path < ?3))",
        params![app_key, lo, hi],
    )?;
    // The folders first: the files' folders inside the item are then gone, and only the
    // folders that stay are marked as changed.
    tx.execute(
        &format!(
            "INSERT INTO trashed_folders ({FOLDER_ROW}, item_id, deleted_at, purge_at)
             SELECT {FOLDER_ROW}, ?2, ?5, ?6 FROM folders
             WHERE app_key = ?1 AND (id = ?2 OR (path >= ?3 AND path < ?4))"
        ),
        params![app_key, id, lo, hi, times.deleted_at, times.purge_at],
    )
    .map_err(backend)?;
    tx.execute(
        "DELETE FROM folders WHERE app_key = ?1 AND (id = ?2 OR (path >= ?3 AND path < ?4))",
        params![app_key, id, lo, hi],
    )
    .map_err(backend)?;
    touch_folder(tx, app_key, paths::parent(path), times.deleted_at)?;
    move_files(tx, app_key, &files, id, times)?;
    Ok(item(id, true, path.to_owned(), &files, times))
}

/// Empties the root into the trash, one item per entry: its files (uploaded ones first, so
/// that produced files follow their source when both are there), then its folders.
fn trash_root(
    tx: &Transaction<'_>,
    app_key: &str,
    times: TrashTimes,
) -> CatalogResult<Vec<TrashItem>> {
    let ids = column(
        tx,
        "SELECT id FROM files WHERE app_key = ?1 AND parent = '/'
         ORDER BY created_by = 'P', path",
        app_key,
    )?;
    let mut items = Vec::new();
    for id in ids {
        match trash_file_in(tx, app_key, &id, times) {
            Ok(item) => items.push(item),
            // Gone with a source trashed before it.
            Err(CatalogError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let mut stmt = tx
        .prepare("SELECT id, path FROM folders WHERE app_key = ?1 AND parent = '/' ORDER BY path")
        .map_err(backend)?;
    let folders = stmt
        .query_map(params![app_key], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    for (id, path) in folders {
        items.push(trash_folder_in(tx, app_key, &id, &path, times)?);
    }
    Ok(items)
}

/// The files a query (`id, path, parent, bytes`) names.
fn moving(
    tx: &Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> CatalogResult<Vec<Moving>> {
    let mut stmt = tx.prepare(sql).map_err(backend)?;
    let rows = stmt
        .query_map(params, |r| {
            Ok(Moving {
                id: r.get(0)?,
                path: r.get(1)?,
                parent: r.get(2)?,
                bytes: r.get(3)?,
            })
        })
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    Ok(rows)
}

/// Moves files into the trash as part of `item`, records their history entries and marks
/// their folders that stay as changed.
fn move_files(
    tx: &Transaction<'_>,
    app_key: &str,
    files: &[Moving],
    item: &str,
    times: TrashTimes,
) -> CatalogResult<()> {
    let mut copy = tx
        .prepare_cached(&format!(
            "INSERT INTO trashed_files ({FILE_ROW}, tags, item_id, deleted_at, purge_at)
             SELECT {FILE_ROW},
                 (SELECT json_group_array(tag) FROM file_tags WHERE file_id = files.id),
                 ?2, ?3, ?4
             FROM files WHERE id = ?1"
        ))
        .map_err(backend)?;
    let mut remove = tx
        .prepare_cached("DELETE FROM files WHERE id = ?1")
        .map_err(backend)?;
    for file in files {
        copy.execute(params![file.id, item, times.deleted_at, times.purge_at])
            .map_err(backend)?;
        remove.execute(params![file.id]).map_err(backend)?;
    }
    let gone: Vec<(String, String)> = files
        .iter()
        .map(|f| (f.id.clone(), f.path.clone()))
        .collect();
    deletions::record(tx, app_key, &gone, DeletionKind::Trash, times.deleted_at)?;
    let folders: BTreeSet<&str> = files.iter().map(|f| f.parent.as_str()).collect();
    for folder in folders {
        touch_folder(tx, app_key, folder, times.deleted_at)?;
    }
    Ok(())
}

/// The item made of `files`.
fn item(id: &str, is_folder: bool, path: String, files: &[Moving], times: TrashTimes) -> TrashItem {
    TrashItem {
        id: id.to_owned(),
        is_folder,
        path,
        bytes: files.iter().map(|f| f.bytes.max(0) as u64).sum(),
        files: files.len() as u64,
        deleted_at: times.deleted_at,
        purge_at: times.purge_at,
    }
}

/// The first column of a query over one app's rows.
fn column(tx: &Transaction<'_>, sql: &str, app_key: &str) -> CatalogResult<Vec<String>> {
    let mut stmt = tx.prepare(sql).map_err(backend)?;
    let ids = stmt
        .query_map(params![app_key], |r| r.get::<_, String>(0))
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    Ok(ids)
}

fn item_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TrashItem> {
    Ok(TrashItem {
        id: row.get(0)?,
        is_folder: row.get(1)?,
        path: row.get(2)?,
        deleted_at: row.get(3)?,
        purge_at: row.get(4)?,
        bytes: row.get::<_, i64>(5)?.max(0) as u64,
        files: row.get::<_, i64>(6)?.max(0) as u64,
    })
}

pub(super) async fn trash_items(
    catalog: &SqliteCatalog,
    app_key: &str,
    page: u32,
    rows: u32,
) -> CatalogResult<(Vec<TrashItem>, u64)> {
    let key = app_key.to_owned();
    let offset = i64::from(page.saturating_sub(1)) * i64::from(rows);
    catalog
        .read(move |tx| {
            let total: i64 = tx
                .query_row(
                    "SELECT (SELECT COUNT(*) FROM trashed_files
                             WHERE app_key = ?1 AND id = item_id)
                          + (SELECT COUNT(*) FROM trashed_folders
                             WHERE app_key = ?1 AND id = item_id)",
                    params![key],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            let mut stmt = tx
                .prepare(&format!(
                    "{ITEMS} ORDER BY i.deleted_at DESC, i.path, i.id LIMIT ?2 OFFSET ?3"
                ))
                .map_err(backend)?;
            let items = stmt
                .query_map(params![key, i64::from(rows), offset], item_from_row)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok((items, total.max(0) as u64))
        })
        .await
}

/// Deletes an item's rows, drops its blobs and records a `purge` entry per file at `now`.
fn purge_item(tx: &Transaction<'_>, app_key: &str, item: &str, now: i64) -> CatalogResult<()> {
    let mut stmt = tx
        .prepare_cached(
            "DELETE FROM trashed_files WHERE app_key = ?1 AND item_id = ?2
             RETURNING blob_key, id, path",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map(params![app_key, item], |r| {
            Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?)))
        })
        .map_err(backend)?
        .collect::<Result<Vec<(String, (String, String))>, _>>()
        .map_err(backend)?;
    let (keys, gone): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
    drop_blobs(tx, &keys)?;
    deletions::record(tx, app_key, &gone, DeletionKind::Purge, now)?;
    tx.prepare_cached("DELETE FROM trashed_folders WHERE app_key = ?1 AND item_id = ?2")
        .and_then(|mut s| s.execute(params![app_key, item]))
        .map_err(backend)?;
    Ok(())
}

/// Whether `id` is an item of the app in `table` (`trashed_files` or `trashed_folders`).
pub(super) fn is_item(
    tx: &Transaction<'_>,
    table: &str,
    app_key: &str,
    id: &str,
) -> CatalogResult<bool> {
    tx.prepare_cached(&format!(
        "SELECT 1 FROM {table} WHERE app_key = ?1 AND id = ?2 AND item_id = ?2"
    ))
    .and_then(|mut s| s.query_row(params![app_key, id], |_| Ok(())).optional())
    .map(|found| found.is_some())
    .map_err(backend)
}

pub(super) async fn purge_trash(
    catalog: &SqliteCatalog,
    app_key: &str,
    file_ids: &[String],
    folder_ids: &[String],
    now: i64,
) -> CatalogResult<u64> {
    let key = app_key.to_owned();
    let named: Vec<(&'static str, String)> = file_ids
        .iter()
        .map(|id| ("trashed_files", id.clone()))
        .chain(folder_ids.iter().map(|id| ("trashed_folders", id.clone())))
        .collect();
    catalog
        .tx(move |tx| {
            let mut purged = 0;
            for (table, id) in &named {
                if is_item(tx, table, &key, id)? {
                    purge_item(tx, &key, id, now)?;
                    purged += 1;
                }
            }
            Ok(purged)
        })
        .await
}

pub(super) async fn empty_trash(
    catalog: &SqliteCatalog,
    app_key: &str,
    limit: usize,
    now: i64,
) -> CatalogResult<u64> {
    let key = app_key.to_owned();
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    catalog
        .tx(move |tx| {
            let mut stmt = tx
                .prepare(
                    "SELECT id FROM (
                         SELECT id, deleted_at FROM trashed_files
                           WHERE app_key = ?1 AND id = item_id
                         UNION ALL
                         SELECT id, deleted_at FROM trashed_folders
                           WHERE app_key = ?1 AND id = item_id)
                     ORDER BY deleted_at, id LIMIT ?2",
                )
                .map_err(backend)?;
            let items = stmt
                .query_map(params![key, limit], |r| r.get::<_, String>(0))
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            for item in &items {
                purge_item(tx, &key, item, now)?;
            }
            Ok(items.len() as u64)
        })
        .await
}

pub(super) async fn purge_expired_trash(
    catalog: &SqliteCatalog,
    now: i64,
    limit: usize,
) -> CatalogResult<u64> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    catalog
        .tx(move |tx| {
            let mut stmt = tx
                .prepare(
                    "SELECT app_key, item_id FROM trashed_files WHERE purge_at <= ?1
                     UNION
                     SELECT app_key, item_id FROM trashed_folders WHERE purge_at <= ?1
                     LIMIT ?2",
                )
                .map_err(backend)?;
            let items = stmt
                .query_map(params![now, limit], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            for (app_key, item) in &items {
                purge_item(tx, app_key, item, now)?;
            }
            Ok(items.len() as u64)
        })
        .await
}
