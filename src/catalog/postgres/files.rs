//! Files: lookups, recording with the naming rules, removal.
//!
//! Replacing or removing a file announces it to every node's change feed (see `changes`).
//!
//! Recording or removing a file first locks its folder (see `folders`), so the check that a
//! name is free and the insert that takes it are never split by another node's change.

use super::blobs::trash;
use super::changes::announce;
use super::deletions;
use super::folders::{ensure_folder, folder_at, lock_folder, touch_folder};
use super::metadata::{insert_tags, replace_tags};
use super::rows::{col, file_from_row, stored_from_row, FILE_COLUMNS, STORED_FILE_QUERY};
use super::{
    commit, execute, limit_param, name_taken, query, query_one, query_opt, write_tx, PgCatalog,
};
use crate::catalog::search::tag_set;
use crate::catalog::tree::{rename_candidates, subtree_range};
use crate::catalog::{
    CatalogError, CatalogResult, Change, CreatedBy, DeletionKind, FileRecord, OnConflict,
    PutOutcome, StoredFile,
};
use crate::clock::now_ms;
use crate::paths;
use deadpool_postgres::{GenericClient, Transaction};
use std::collections::BTreeSet;
use tokio_postgres::types::ToSql;

pub(super) async fn file_by_path(
    catalog: &PgCatalog,
    app_key: &str,
    path: &str,
) -> CatalogResult<Option<FileRecord>> {
    let sql = format!("SELECT {FILE_COLUMNS} FROM files WHERE app_key = $1 AND path = $2");
    catalog.one(&sql, &[&app_key, &path], file_from_row).await
}

pub(super) async fn stored_file(
    catalog: &PgCatalog,
    app_key: &str,
    path: &str,
) -> CatalogResult<Option<StoredFile>> {
    catalog
        .one(STORED_FILE_QUERY, &[&app_key, &path], stored_from_row)
        .await
}

pub(super) async fn file_by_id(
    catalog: &PgCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<Option<FileRecord>> {
    let sql = format!("SELECT {FILE_COLUMNS} FROM files WHERE app_key = $1 AND id = $2");
    catalog.one(&sql, &[&app_key, &id], file_from_row).await
}

pub(super) async fn files_below(
    catalog: &PgCatalog,
    app_key: &str,
    folder: &str,
    created_by: CreatedBy,
    limit: usize,
) -> CatalogResult<Vec<FileRecord>> {
    let (lo, hi) = subtree_range(folder);
    let sql = format!(
        "SELECT {FILE_COLUMNS} FROM files
         WHERE app_key = $1 AND path >= $2 AND path < $3 AND created_by = $4
         ORDER BY path LIMIT $5"
    );
    let params: [&(dyn ToSql + Sync); 5] =
        [&app_key, &lo, &hi, &created_by.code(), &limit_param(limit)];
    catalog.many(&sql, &params, file_from_row).await
}

pub(super) async fn put_file(
    catalog: &PgCatalog,
    app_key: &str,
    file: FileRecord,
    on_conflict: OnConflict,
) -> CatalogResult<PutOutcome> {
    let requested = file.path.clone();
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let (outcome, _) = record(&tx, app_key, file, on_conflict)
        .await
        .map_err(|e| name_taken(e, &requested))?;
    announce_and_commit(tx, app_key, outcome).await
}

/// Ends the transaction of a recorded file: a replaced file is announced, then it commits.
pub(super) async fn announce_and_commit(
    tx: Transaction<'_>,
    app_key: &str,
    outcome: PutOutcome,
) -> CatalogResult<PutOutcome> {
    if outcome.overwritten {
        announce(&tx, &source_change(app_key, &outcome.file.path)).await?;
    }
    commit(tx).await?;
    Ok(outcome)
}

/// The rules of `put_file`, in its transaction. Also returns the size of the file it replaced,
/// if it replaced one.
pub(super) async fn record(
    tx: &Transaction<'_>,
    app_key: &str,
    mut file: FileRecord,
    on_conflict: OnConflict,
) -> CatalogResult<(PutOutcome, Option<u64>)> {
    file.tags = tag_set(&file.tags);
    let parent = paths::parent(&file.path).to_owned();
    ensure_folder(tx, app_key, &parent, file.updated_at).await?;
    if folder_at(tx, app_key, &file.path).await?.is_some() {
        return Err(CatalogError::FolderExists(file.path));
    }
    let existing = query_opt(
        tx,
        &format!("SELECT {FILE_COLUMNS} FROM files WHERE app_key = $1 AND path = $2 FOR UPDATE"),
        &[&app_key, &file.path],
    )
    .await?;
    let Some(old) = existing.as_ref().map(file_from_row).transpose()? else {
        insert_file(tx, app_key, &file).await?;
        touch_folder(tx, app_key, &parent, file.updated_at).await?;
        let outcome = PutOutcome {
            file,
            overwritten: false,
            orphaned_blobs: Vec::new(),
        };
        return Ok((outcome, None));
    };
    match on_conflict {
        OnConflict::Fail => Err(CatalogError::FileExists(file.path)),
        OnConflict::Overwrite => {
            // The files produced from it stay: their stamps name the old version, so
            // delivery renders them again from the new one when they are asked for.
            let orphaned = vec![old.blob_key];
            file.id = old.id;
            file.created_at = old.created_at;
            replace_file(tx, &file).await?;
            if file.tags.is_empty() {
                file.tags = old.tags;
            } else {
                replace_tags(tx, app_key, &file.id, &file.tags).await?;
            }
            trash(tx, &orphaned).await?;
            let outcome = PutOutcome {
                file,
                overwritten: true,
                orphaned_blobs: orphaned,
            };
            Ok((outcome, Some(old.bytes)))
        }
        OnConflict::Rename => {
            let requested = file.path.clone();
            for candidate in rename_candidates(&requested) {
                if !path_taken(tx, app_key, &candidate).await? {
                    file.path = candidate;
                    insert_file(tx, app_key, &file).await?;
                    touch_folder(tx, app_key, &parent, file.updated_at).await?;
                    let outcome = PutOutcome {
                        file,
                        overwritten: false,
                        orphaned_blobs: Vec::new(),
                    };
                    return Ok((outcome, None));
                }
            }
            Err(CatalogError::FileExists(file.path))
        }
    }
}

pub(super) async fn delete_file(
    catalog: &PgCatalog,
    app_key: &str,
    id: &str,
    with_produced: bool,
) -> CatalogResult<Vec<String>> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let found = query_opt(
        &tx,
        "SELECT parent FROM files WHERE app_key = $1 AND id = $2",
        &[&app_key, &id],
    )
    .await?;
    let Some(row) = found else {
        return Err(CatalogError::NotFound(id.to_owned()));
    };
    // The folders before the files, in path order, as every change of a folder's entries
    // locks them.
    let mut folders = BTreeSet::from([col::<String>(&row, 0)?]);
    if with_produced {
        folders.extend(
            parents_of(
                &tx,
                "SELECT DISTINCT parent FROM files WHERE app_key = $1 AND source_id = $2",
                &[&app_key, &id],
            )
            .await?,
        );
    }
    lock_folders(&tx, app_key, &folders).await?;
    let removed = query_opt(
        &tx,
        "DELETE FROM files WHERE app_key = $1 AND id = $2 RETURNING blob_key, parent, path",
        &[&app_key, &id],
    )
    .await?;
    let Some(removed) = removed else {
        return Err(CatalogError::NotFound(id.to_owned()));
    };
    let path: String = col(&removed, 2)?;
    let removed = (col::<String>(&removed, 0)?, col::<String>(&removed, 1)?);
    touch_parents(&tx, app_key, std::slice::from_ref(&removed)).await?;
    let mut keys = vec![removed.0];
    let mut gone = vec![(id.to_owned(), path)];
    if with_produced {
        let (produced_keys, produced) = delete_produced(&tx, app_key, id).await?;
        keys.extend(produced_keys);
        gone.extend(produced);
    }
    trash(&tx, &keys).await?;
    deletions::record(&tx, app_key, &gone, DeletionKind::Delete, now_ms()).await?;
    for (_, path) in &gone {
        announce(&tx, &source_change(app_key, path)).await?;
    }
    commit(tx).await?;
    Ok(keys)
}

pub(super) async fn produced_from(
    catalog: &PgCatalog,
    app_key: &str,
    source_id: &str,
) -> CatalogResult<Vec<FileRecord>> {
    let sql = format!(
        "SELECT {FILE_COLUMNS} FROM files WHERE app_key = $1 AND source_id = $2 ORDER BY path"
    );
    catalog
        .many(&sql, &[&app_key, &source_id], file_from_row)
        .await
}

/// Whether a file is at a path.
pub(super) async fn file_exists<C: GenericClient + Sync>(
    client: &C,
    app_key: &str,
    path: &str,
) -> CatalogResult<bool> {
    let row = query_one(
        client,
        "SELECT EXISTS (SELECT 1 FROM files WHERE app_key = $1 AND path = $2)",
        &[&app_key, &path],
    )
    .await?;
    col(&row, 0)
}

/// Whether a file or a folder is at a path.
pub(super) async fn path_taken(
    tx: &Transaction<'_>,
    app_key: &str,
    path: &str,
) -> CatalogResult<bool> {
    let row = query_one(
        tx,
        "SELECT EXISTS (SELECT 1 FROM files WHERE app_key = $1 AND path = $2)
             OR EXISTS (SELECT 1 FROM folders WHERE app_key = $1 AND path = $2)",
        &[&app_key, &path],
    )
    .await?;
    col(&row, 0)
}

/// Inserts a file row and its tags.
pub(super) async fn insert_file(
    tx: &Transaction<'_>,
    app_key: &str,
    f: &FileRecord,
) -> CatalogResult<()> {
    execute(
        tx,
        "INSERT INTO files (id, app_key, path, parent, name, bytes, created_by, operation_id,
             source_id, blob_key, etag, content_type, width, height, taken_at, lat, lng,
             created_at, updated_at, variant, dominant_color)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
             $18, $19, $20, $21)",
        &[
            &f.id,
            &app_key,
            &f.path,
            &paths::parent(&f.path),
            &paths::name(&f.path),
            &size(f.bytes),
            &f.created_by.code(),
            &f.operation_id,
            &f.source_id,
            &f.blob_key,
            &f.etag,
            &f.content_type,
            &i64::from(f.width),
            &i64::from(f.height),
            &f.taken_at,
            &f.lat,
            &f.lng,
            &f.created_at,
            &f.updated_at,
            &f.variant,
            &f.dominant_color,
        ],
    )
    .await?;
    insert_tags(tx, app_key, &f.id, &f.tags).await
}

/// Writes a new version over the file row with the same id (its path, app, creation time and
/// tags stay).
pub(super) async fn replace_file(tx: &Transaction<'_>, f: &FileRecord) -> CatalogResult<()> {
    execute(
        tx,
        "UPDATE files SET bytes = $2, created_by = $3, operation_id = $4, source_id = $5,
             variant = $6, blob_key = $7, etag = $8, content_type = $9, width = $10,
             height = $11, taken_at = $12, lat = $13, lng = $14, updated_at = $15,
             dominant_color = $16
         WHERE id = $1",
        &[
            &f.id,
            &size(f.bytes),
            &f.created_by.code(),
            &f.operation_id,
            &f.source_id,
            &f.variant,
            &f.blob_key,
            &f.etag,
            &f.content_type,
            &i64::from(f.width),
            &i64::from(f.height),
            &f.taken_at,
            &f.lat,
            &f.lng,
            &f.updated_at,
            &f.dominant_color,
        ],
    )
    .await?;
    Ok(())
}

/// A byte count as a `BIGINT`.
fn size(bytes: u64) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

/// Deletes the files produced from `source_id`; returns their blob keys and their
/// `(id, path)`.
async fn delete_produced(
    tx: &Transaction<'_>,
    app_key: &str,
    source_id: &str,
) -> CatalogResult<(Vec<String>, Vec<(String, String)>)> {
    let rows = query(
        tx,
        "DELETE FROM files WHERE app_key = $1 AND source_id = $2
         RETURNING blob_key, parent, id, path",
        &[&app_key, &source_id],
    )
    .await?;
    let removed = key_and_parent(&rows)?;
    touch_parents(tx, app_key, &removed).await?;
    Ok((
        removed.into_iter().map(|(key, _)| key).collect(),
        ids_and_paths(&rows, 2)?,
    ))
}

/// The `(id, path)` of rows returned by a deletion, from column `at` on.
pub(super) fn ids_and_paths(
    rows: &[tokio_postgres::Row],
    at: usize,
) -> CatalogResult<Vec<(String, String)>> {
    rows.iter()
        .map(|row| Ok((col(row, at)?, col(row, at + 1)?)))
        .collect()
}

/// The change that makes the variants of the file at `path` stale.
pub(super) fn source_change(app_key: &str, path: &str) -> Change {
    Change::Source {
        app_key: app_key.to_owned(),
        path: path.to_owned(),
    }
}

/// The folders a query of one `parent` column names.
pub(super) async fn parents_of(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> CatalogResult<BTreeSet<String>> {
    let rows = query(tx, sql, params).await?;
    rows.iter().map(|row| col(row, 0)).collect()
}

/// Locks folders in path order (see `folders`).
pub(super) async fn lock_folders(
    tx: &Transaction<'_>,
    app_key: &str,
    folders: &BTreeSet<String>,
) -> CatalogResult<()> {
    for folder in folders {
        lock_folder(tx, app_key, folder).await?;
    }
    Ok(())
}

/// The `(blob_key, parent)` of rows returned by a deletion.
pub(super) fn key_and_parent(rows: &[tokio_postgres::Row]) -> CatalogResult<Vec<(String, String)>> {
    rows.iter()
        .map(|row| Ok((col(row, 0)?, col(row, 1)?)))
        .collect()
}

/// Marks the folders of removed files as changed now, in path order.
pub(super) async fn touch_parents(
    tx: &Transaction<'_>,
    app_key: &str,
    removed: &[(String, String)],
) -> CatalogResult<()> {
    let now = crate::clock::now_ms();
    let parents: BTreeSet<&str> = removed.iter().map(|(_, parent)| parent.as_str()).collect();
    for parent in parents {
        touch_folder(tx, app_key, parent, now).await?;
    }
    Ok(())
}
