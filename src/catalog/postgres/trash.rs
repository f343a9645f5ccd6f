//! The trash: files and folders moved out of the live tree into `trashed_files` and
//! `trashed_folders` as items, the listing of those items, and their purge.
//!
//! Rows move whole in one statement each (a `DELETE ... RETURNING *` feeding an `INSERT`), so a
//! restore gives back ids, blob keys, ETags and times; a purge drops the blob keys through the
//! pending deletions of `blobs`. Moving entries out of folders locks those folders first, root
//! down, as every change of a folder's entries does (see `folders`), and announces the change
//! to every node's feed (see `changes`).

use super::blobs::trash as drop_blobs;
use super::changes::announce;
use super::deletions;
use super::files::{lock_folders, parents_of, source_change};
use super::folders::touch_folder;
use super::rows::{all, col};
use super::{commit, execute, limit_param, query, query_one, query_opt, read_tx, unsigned};
use super::{write_tx, PgCatalog};
use crate::catalog::tree::subtree_range;
use crate::catalog::{CatalogError, CatalogResult, Change, DeletionKind, TrashItem, TrashTimes};
use crate::paths;
use deadpool_postgres::Transaction;
use std::collections::BTreeSet;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// Every column of `files`, which `trashed_files` repeats before its own.
pub(super) const FILE_ROW: &str = "id, app_key, path, parent, name, bytes, created_by, \
    operation_id, source_id, variant, blob_key, etag, content_type, width, height, taken_at, \
    lat, lng, created_at, updated_at, dominant_color";

/// Every column of `folders`, which `trashed_folders` repeats before its own.
pub(super) const FOLDER_ROW: &str = "id, app_key, path, parent, name, updated_at";

/// The items of an app's trash (`$1`) with what they hold: columns of [`item_from_row`].
const ITEMS: &str = "SELECT i.id, i.is_folder, i.path, i.deleted_at, i.purge_at,
    (SELECT COALESCE(SUM(t.bytes), 0)::BIGINT FROM trashed_files t WHERE t.item_id = i.id),
    (SELECT COUNT(*) FROM trashed_files t WHERE t.item_id = i.id)
  FROM (SELECT id, FALSE AS is_folder, path, deleted_at, purge_at FROM trashed_files
          WHERE app_key = $1 AND id = item_id
        UNION ALL
        SELECT id, TRUE AS is_folder, path, deleted_at, purge_at FROM trashed_folders
          WHERE app_key = $1 AND id = item_id) i";

/// A file that moved: its id, path, folder and size.
struct Moved {
    id: String,
    path: String,
    parent: String,
    bytes: i64,
}

pub(super) async fn trash_file(
    catalog: &PgCatalog,
    app_key: &str,
    id: &str,
    times: TrashTimes,
) -> CatalogResult<TrashItem> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let item = trash_file_in(&tx, app_key, id, times).await?;
    commit(tx).await?;
    Ok(item)
}

pub(super) async fn trash_folder(
    catalog: &PgCatalog,
    app_key: &str,
    id: &str,
    times: TrashTimes,
) -> CatalogResult<Vec<TrashItem>> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let found = query_opt(
        &tx,
        "SELECT path FROM folders WHERE app_key = $1 AND id = $2",
        &[&app_key, &id],
    )
    .await?;
    let Some(row) = found else {
        return Err(CatalogError::NotFound(id.to_owned()));
    };
    let path: String = col(&row, 0)?;
    let items = if path == "/" {
        trash_root(&tx, app_key, times).await?
    } else {
        vec![trash_folder_in(&tx, app_key, id, &path, times).await?]
    };
    commit(tx).await?;
    Ok(items)
}

/// Moves a file and the files produced from it into the trash as one item.
async fn trash_file_in(
    tx: &Transaction<'_>,
    app_key: &str,
    id: &str,
    times: TrashTimes,
) -> CatalogResult<TrashItem> {
    let found = query_opt(
        tx,
        "SELECT parent FROM files WHERE app_key = $1 AND id = $2",
        &[&app_key, &id],
    )
    .await?;
    let Some(row) = found else {
        return Err(CatalogError::NotFound(id.to_owned()));
    };
    let mut folders = BTreeSet::from([col::<String>(&row, 0)?]);
    folders.extend(
        parents_of(
            tx,
            "SELECT DISTINCT parent FROM files WHERE app_key = $1 AND source_id = $2",
            &[&app_key, &id],
        )
        .await?,
    );
    lock_folders(tx, app_key, &folders).await?;
    let files = move_files(
        tx,
        "app_key = $1 AND (id = $2 OR source_id = $2)",
        &[&app_key, &id],
        id,
        times,
    )
    .await?;
    // Deleted by another transaction while this one waited for the folders.
    let Some(top) = files.iter().find(|f| f.id == id) else {
        return Err(CatalogError::NotFound(id.to_owned()));
    };
    let path = top.path.clone();
    after_move(tx, app_key, &files, times).await?;
    for file in &files {
        announce(tx, &source_change(app_key, &file.path)).await?;
    }
    Ok(item(id, false, path, &files, times))
}

/// Moves a folder other than the root, everything below it and the files produced from the
/// files below it into the trash as one item.
async fn trash_folder_in(
    tx: &Transaction<'_>,
    app_key: &str,
    id: &str,
    path: &str,
    times: TrashTimes,
) -> CatalogResult<TrashItem> {
    let (lo, hi) = subtree_range(path);
    let below = "app_key = $1 AND path >= $2 AND path < $3";
    let elsewhere = parents_of(
        tx,
        &format!(
            "SELECT DISTINCT parent FROM files WHERE app_key = $1 AND NOT (path >= $2 AND path < $3)
             AND source_id IN (SELECT id FROM files WHERE {below})"
        ),
        &[&app_key, &lo, &hi],
    )
    .await?;
    // The folder's parent, the subtree and the folders of the produced files elsewhere, in one
    // pass in path order.
    let around: Vec<String> = elsewhere
        .into_iter()
        .chain([paths::parent(path).to_owned()])
        .collect();
    let locked = query(
        tx,
        "SELECT id FROM folders
         WHERE app_key = $1 AND (path = ANY($4) OR path = $5 OR (path >= $2 AND path < $3))
         ORDER BY path FOR UPDATE",
        &[&app_key, &lo, &hi, &around, &path],
    )
    .await?;
    let still_there = locked
        .iter()
        .map(|row| col::<String>(row, 0))
        .collect::<CatalogResult<Vec<_>>>()?
        .iter()
        .any(|locked| locked == id);
    if !still_there {
        return Err(CatalogError::NotFound(id.to_owned()));
    }
    // The folders first: the files' folders inside the item are then gone, and only the
    // folders that stay are marked as changed.
    execute(
        tx,
        &format!(
            "WITH moved AS (DELETE FROM folders
                 WHERE app_key = $1 AND (id = $4 OR (path >= $2 AND path < $3)) RETURNING *)
             INSERT INTO trashed_folders ({FOLDER_ROW}, item_id, deleted_at, purge_at)
             SELECT {FOLDER_ROW}, $4, $5, $6 FROM moved"
        ),
        &[&app_key, &lo, &hi, &id, &times.deleted_at, &times.purge_at],
    )
    .await?;
    touch_folder(tx, app_key, paths::parent(path), times.deleted_at).await?;
    let files = move_files(
        tx,
        &format!(
            "({below}) OR (app_key = $1 AND source_id IN (SELECT id FROM files WHERE {below}))"
        ),
        &[&app_key, &lo, &hi],
        id,
        times,
    )
    .await?;
    after_move(tx, app_key, &files, times).await?;
    let subtree = Change::Below {
        app_key: app_key.to_owned(),
        folder: path.to_owned(),
    };
    announce(tx, &subtree).await?;
    for file in files.iter().filter(|f| f.path < lo || f.path >= hi) {
        announce(tx, &source_change(app_key, &file.path)).await?;
    }
    Ok(item(id, true, path.to_owned(), &files, times))
}

/// Empties the root into the trash, one item per entry: its files (uploaded ones first, so
/// that produced files follow their source when both are there), then its folders. Every
/// folder of the app is locked first, root down.
async fn trash_root(
    tx: &Transaction<'_>,
    app_key: &str,
    times: TrashTimes,
) -> CatalogResult<Vec<TrashItem>> {
    query(
        tx,
        "SELECT id FROM folders WHERE app_key = $1 ORDER BY path FOR UPDATE",
        &[&app_key],
    )
    .await?;
    let ids = query(
        tx,
        "SELECT id FROM files WHERE app_key = $1 AND parent = '/'
         ORDER BY created_by = 'P', path",
        &[&app_key],
    )
    .await?;
    let mut items = Vec::new();
    for row in &ids {
        let id: String = col(row, 0)?;
        match trash_file_in(tx, app_key, &id, times).await {
            Ok(item) => items.push(item),
            // Gone with a source trashed before it.
            Err(CatalogError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let folders = query(
        tx,
        "SELECT id, path FROM folders WHERE app_key = $1 AND parent = '/' ORDER BY path",
        &[&app_key],
    )
    .await?;
    for row in &folders {
        let (id, path): (String, String) = (col(row, 0)?, col(row, 1)?);
        items.push(trash_folder_in(tx, app_key, &id, &path, times).await?);
    }
    Ok(items)
}

/// Moves the files `condition` selects (its parameters `params`, `$1` the app) into the
/// trash as part of `item`; returns them.
async fn move_files(
    tx: &Transaction<'_>,
    condition: &str,
    params: &[&(dyn ToSql + Sync)],
    item: &str,
    times: TrashTimes,
) -> CatalogResult<Vec<Moved>> {
    let n = params.len();
    let sql = format!(
        "WITH moved AS (DELETE FROM files WHERE {condition} RETURNING *)
         INSERT INTO trashed_files ({FILE_ROW}, tags, item_id, deleted_at, purge_at)
         SELECT {FILE_ROW},
             ARRAY(SELECT tag FROM file_tags WHERE file_id = moved.id ORDER BY tag),
             ${}, ${}, ${}
         FROM moved
         RETURNING id, path, parent, bytes",
        n + 1,
        n + 2,
        n + 3
    );
    let mut all_params: Vec<&(dyn ToSql + Sync)> = params.to_vec();
    all_params.push(&item);
    all_params.push(&times.deleted_at);
    all_params.push(&times.purge_at);
    let rows = query(tx, &sql, &all_params).await?;
    rows.iter()
        .map(|row| {
            Ok(Moved {
                id: col(row, 0)?,
                path: col(row, 1)?,
                parent: col(row, 2)?,
                bytes: col(row, 3)?,
            })
        })
        .collect()
}

/// Records the history entries of moved files and marks their folders that stay as changed.
async fn after_move(
    tx: &Transaction<'_>,
    app_key: &str,
    files: &[Moved],
    times: TrashTimes,
) -> CatalogResult<()> {
    let gone: Vec<(String, String)> = files
        .iter()
        .map(|f| (f.id.clone(), f.path.clone()))
        .collect();
    deletions::record(tx, app_key, &gone, DeletionKind::Trash, times.deleted_at).await?;
    let folders: BTreeSet<&str> = files.iter().map(|f| f.parent.as_str()).collect();
    for folder in folders {
        touch_folder(tx, app_key, folder, times.deleted_at).await?;
    }
    Ok(())
}

/// The item made of `files`.
fn item(id: &str, is_folder: bool, path: String, files: &[Moved], times: TrashTimes) -> TrashItem {
    TrashItem {
        id: id.to_owned(),
        is_folder,
        path,
        bytes: files.iter().map(|f| unsigned(f.bytes)).sum(),
        files: files.len() as u64,
        deleted_at: times.deleted_at,
        purge_at: times.purge_at,
    }
}

fn item_from_row(row: &Row) -> CatalogResult<TrashItem> {
    Ok(TrashItem {
        id: col(row, 0)?,
        is_folder: col(row, 1)?,
        path: col(row, 2)?,
        deleted_at: col(row, 3)?,
        purge_at: col(row, 4)?,
        bytes: unsigned(col(row, 5)?),
        files: unsigned(col(row, 6)?),
    })
}

pub(super) async fn trash_items(
    catalog: &PgCatalog,
    app_key: &str,
    page: u32,
    rows: u32,
) -> CatalogResult<(Vec<TrashItem>, u64)> {
    let offset = i64::from(page.saturating_sub(1)) * i64::from(rows);
    let mut client = catalog.client().await?;
    let tx = read_tx(&mut client).await?;
    let total = query_one(
        &tx,
        "SELECT (SELECT COUNT(*) FROM trashed_files WHERE app_key = $1 AND id = item_id)
              + (SELECT COUNT(*) FROM trashed_folders WHERE app_key = $1 AND id = item_id)",
        &[&app_key],
    )
    .await?;
    let items = query(
        &tx,
        &format!("{ITEMS} ORDER BY i.deleted_at DESC, i.path, i.id LIMIT $2 OFFSET $3"),
        &[&app_key, &i64::from(rows), &offset],
    )
    .await?;
    commit(tx).await?;
    Ok((all(&items, item_from_row)?, unsigned(col(&total, 0)?)))
}

/// Deletes an item's rows, drops its blobs and records a `purge` entry per file at `now`;
/// whether the item was still there (another node may have purged it meanwhile).
async fn purge_item(
    tx: &Transaction<'_>,
    app_key: &str,
    item: &str,
    now: i64,
) -> CatalogResult<bool> {
    let rows = query(
        tx,
        "DELETE FROM trashed_files WHERE app_key = $1 AND item_id = $2
         RETURNING blob_key, id, path",
        &[&app_key, &item],
    )
    .await?;
    let keys = rows
        .iter()
        .map(|row| col::<String>(row, 0))
        .collect::<CatalogResult<Vec<_>>>()?;
    let gone = super::files::ids_and_paths(&rows, 1)?;
    drop_blobs(tx, &keys).await?;
    deletions::record(tx, app_key, &gone, DeletionKind::Purge, now).await?;
    let folders = execute(
        tx,
        "DELETE FROM trashed_folders WHERE app_key = $1 AND item_id = $2",
        &[&app_key, &item],
    )
    .await?;
    Ok(!rows.is_empty() || folders > 0)
}

/// Whether `id` is an item of the app in `table` (`trashed_files` or `trashed_folders`).
pub(super) async fn is_item(
    tx: &Transaction<'_>,
    table: &str,
    app_key: &str,
    id: &str,
) -> CatalogResult<bool> {
    let row = query_one(
        tx,
        &format!(
            "SELECT EXISTS (SELECT 1 FROM {table} WHERE app_key = $1 AND id = $2 AND item_id = $2)"
        ),
        &[&app_key, &id],
    )
    .await?;
    col(&row, 0)
}

pub(super) async fn purge_trash(
    catalog: &PgCatalog,
    app_key: &str,
    file_ids: &[String],
    folder_ids: &[String],
    now: i64,
) -> CatalogResult<u64> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let named = file_ids
        .iter()
        .map(|id| ("trashed_files", id))
        .chain(folder_ids.iter().map(|id| ("trashed_folders", id)));
    let mut purged = 0;
    for (table, id) in named {
        if is_item(&tx, table, app_key, id).await? && purge_item(&tx, app_key, id, now).await? {
            purged += 1;
        }
    }
    commit(tx).await?;
    Ok(purged)
}

pub(super) async fn empty_trash(
    catalog: &PgCatalog,
    app_key: &str,
    limit: usize,
    now: i64,
) -> CatalogResult<u64> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let items = query(
        &tx,
        "SELECT id FROM (
             SELECT id, deleted_at FROM trashed_files WHERE app_key = $1 AND id = item_id
             UNION ALL
             SELECT id, deleted_at FROM trashed_folders WHERE app_key = $1 AND id = item_id) i
         ORDER BY deleted_at, id LIMIT $2",
        &[&app_key, &limit_param(limit)],
    )
    .await?;
    // An item another node purged meanwhile counts as done: the trash is empty when fewer
    // than `limit` were found.
    for row in &items {
        purge_item(&tx, app_key, &col::<String>(row, 0)?, now).await?;
    }
    commit(tx).await?;
    Ok(items.len() as u64)
}

pub(super) async fn purge_expired_trash(
    catalog: &PgCatalog,
    now: i64,
    limit: usize,
) -> CatalogResult<u64> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let items = query(
        &tx,
        "SELECT app_key, item_id FROM trashed_files WHERE purge_at <= $1
         UNION
         SELECT app_key, item_id FROM trashed_folders WHERE purge_at <= $1
         LIMIT $2",
        &[&now, &limit_param(limit)],
    )
    .await?;
    for row in &items {
        let (app_key, item): (String, String) = (col(row, 0)?, col(row, 1)?);
        purge_item(&tx, &app_key, &item, now).await?;
    }
    commit(tx).await?;
    Ok(items.len() as u64)
}
