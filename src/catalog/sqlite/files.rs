//! Files: lookups, recording with the naming rules, removal.

use super::blobs::trash;
use super::deletions;
use super::folders::{ensure_folder, folder_at, touch_folder};
use super::metadata::insert_tags;
use super::rows::{file_from_row, stored_from_row, FILE_COLUMNS, STORED_FILE_QUERY};
use super::{backend, SqliteCatalog};
use crate::catalog::search::tag_set;
use crate::catalog::tree::{rename_candidates, subtree_range};
use crate::catalog::{
    CatalogError, CatalogResult, CreatedBy, DeletionKind, FileRecord, OnConflict, PutOutcome,
    StoredFile,
};
use crate::paths;
use rusqlite::{params, OptionalExtension, Transaction};

pub(super) async fn file_by_path(
    catalog: &SqliteCatalog,
    app_key: &str,
    path: &str,
) -> CatalogResult<Option<FileRecord>> {
    let (key, path) = (app_key.to_owned(), path.to_owned());
    catalog
        .read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {FILE_COLUMNS} FROM files WHERE app_key = ?1 AND path = ?2"
            ))
            .and_then(|mut s| s.query_row(params![key, path], file_from_row).optional())
            .map_err(backend)
        })
        .await
}

pub(super) async fn stored_file(
    catalog: &SqliteCatalog,
    app_key: &str,
    path: &str,
) -> CatalogResult<Option<StoredFile>> {
    let (key, path) = (app_key.to_owned(), path.to_owned());
    catalog
        .read(move |conn| {
            conn.prepare_cached(STORED_FILE_QUERY)
                .and_then(|mut s| s.query_row(params![key, path], stored_from_row).optional())
                .map_err(backend)
        })
        .await
}

pub(super) async fn file_by_id(
    catalog: &SqliteCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<Option<FileRecord>> {
    let (key, id) = (app_key.to_owned(), id.to_owned());
    catalog
        .read(move |conn| {
            conn.query_row(
                &format!("SELECT {FILE_COLUMNS} FROM files WHERE app_key = ?1 AND id = ?2"),
                params![key, id],
                file_from_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
}

pub(super) async fn files_below(
    catalog: &SqliteCatalog,
    app_key: &str,
    folder: &str,
    created_by: CreatedBy,
    limit: usize,
) -> CatalogResult<Vec<FileRecord>> {
    let (key, (lo, hi)) = (app_key.to_owned(), subtree_range(folder));
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    catalog
        .read(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {FILE_COLUMNS} FROM files
                 WHERE app_key = ?1 AND path >= ?2 AND path < ?3 AND created_by = ?4
                 ORDER BY path LIMIT ?5"
                ))
                .map_err(backend)?;
            let files = stmt
                .query_map(
                    params![key, lo, hi, created_by.code(), limit],
                    file_from_row,
                )
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(files)
        })
        .await
}

pub(super) async fn put_file(
    catalog: &SqliteCatalog,
    app_key: &str,
    file: FileRecord,
    on_conflict: OnConflict,
) -> CatalogResult<PutOutcome> {
    let key = app_key.to_owned();
    catalog
        .tx(move |tx| record(tx, &key, file, on_conflict).map(|(outcome, _)| outcome))
        .await
}

/// The rules of `put_file`, in its transaction. Also returns the size of the file it replaced,
/// if it replaced one.
pub(super) fn record(
    tx: &Transaction<'_>,
    key: &str,
    mut file: FileRecord,
    on_conflict: OnConflict,
) -> CatalogResult<(PutOutcome, Option<u64>)> {
    file.tags = tag_set(&file.tags);
    let parent = paths::parent(&file.path).to_owned();
    ensure_folder(tx, key, &parent, file.updated_at)?;
    if folder_at(tx, key, &file.path)?.is_some() {
        return Err(CatalogError::FolderExists(file.path));
    }
    let existing = tx
        .query_row(
            &format!("SELECT {FILE_COLUMNS} FROM files WHERE app_key = ?1 AND path = ?2"),
            params![key, file.path],
            file_from_row,
        )
        .optional()
        .map_err(backend)?;
    let Some(old) = existing else {
        insert_file(tx, key, &file)?;
        touch_folder(tx, key, &parent, file.updated_at)?;
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
            let orphaned = vec![old.blob_key.clone()];
            // Its tags go with the row (foreign key) and come back with the new one.
            tx.execute("DELETE FROM files WHERE id = ?1", params![old.id])
                .map_err(backend)?;
            file.id = old.id;
            file.created_at = old.created_at;
            if file.tags.is_empty() {
                file.tags = old.tags;
            }
            insert_file(tx, key, &file)?;
            trash(tx, &orphaned)?;
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
                if !file_exists(tx, key, &candidate)? && folder_at(tx, key, &candidate)?.is_none() {
                    file.path = candidate;
                    insert_file(tx, key, &file)?;
                    touch_folder(tx, key, &parent, file.updated_at)?;
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
    catalog: &SqliteCatalog,
    app_key: &str,
    id: &str,
    with_produced: bool,
) -> CatalogResult<Vec<String>> {
    let (key, id) = (app_key.to_owned(), id.to_owned());
    catalog
        .tx(move |tx| {
            let removed: Option<(String, String, String)> = tx
                .query_row(
                    "DELETE FROM files WHERE app_key = ?1 AND id = ?2
                     RETURNING blob_key, parent, path",
                    params![key, id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(backend)?;
            let Some((blob_key, parent, path)) = removed else {
                return Err(CatalogError::NotFound(id));
            };
            touch_parents(tx, &key, &[(blob_key.clone(), parent)])?;
            let mut keys = vec![blob_key];
            let mut gone = vec![(id.clone(), path)];
            if with_produced {
                let (produced_keys, produced) = delete_produced(tx, &key, &id)?;
                keys.extend(produced_keys);
                gone.extend(produced);
            }
            trash(tx, &keys)?;
            deletions::record(
                tx,
                &key,
                &gone,
                DeletionKind::Delete,
                crate::clock::now_ms(),
            )?;
            Ok(keys)
        })
        .await
}

pub(super) async fn produced_from(
    catalog: &SqliteCatalog,
    app_key: &str,
    source_id: &str,
) -> CatalogResult<Vec<FileRecord>> {
    let (key, id) = (app_key.to_owned(), source_id.to_owned());
    catalog
        .read(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {FILE_COLUMNS} FROM files WHERE app_key = ?1 AND source_id = ?2
                 ORDER BY path"
                ))
                .map_err(backend)?;
            let files = stmt
                .query_map(params![key, id], file_from_row)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(files)
        })
        .await
}

/// Whether a file is at a path.
pub(super) fn file_exists(tx: &Transaction<'_>, app_key: &str, path: &str) -> CatalogResult<bool> {
    tx.query_row(
        "SELECT 1 FROM files WHERE app_key = ?1 AND path = ?2",
        params![app_key, path],
        |_| Ok(()),
    )
    .optional()
    .map(|o| o.is_some())
    .map_err(backend)
}

/// Inserts a file row and its tags.
pub(super) fn insert_file(
    tx: &Transaction<'_>,
    app_key: &str,
    f: &FileRecord,
) -> CatalogResult<()> {
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO files (id, app_key, path, parent, name, bytes, created_by, operation_id,
             source_id, blob_key, etag, content_type, width, height, taken_at, lat, lng,
             created_at, updated_at, variant, dominant_color)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             ?18, ?19, ?20, ?21)",
        )
        .map_err(backend)?;
    insert
        .execute(params![
            f.id,
            app_key,
            f.path,
            paths::parent(&f.path),
            paths::name(&f.path),
            f.bytes as i64,
            f.created_by.code(),
            f.operation_id,
            f.source_id,
            f.blob_key,
            f.etag,
            f.content_type,
            f.width,
            f.height,
            f.taken_at,
            f.lat,
            f.lng,
            f.created_at,
            f.updated_at,
            f.variant,
            f.dominant_color
        ])
        .map_err(backend)?;
    insert_tags(tx, app_key, &f.id, &f.tags)
}

/// Deletes the files produced from `source_id`; returns their blob keys and their
/// `(id, path)`.
fn delete_produced(
    tx: &Transaction<'_>,
    app_key: &str,
    source_id: &str,
) -> CatalogResult<(Vec<String>, deletions::Gone)> {
    let mut stmt = tx
        .prepare("DELETE FROM files WHERE source_id = ?1 RETURNING blob_key, parent, id, path")
        .map_err(backend)?;
    let rows = stmt
        .query_map(params![source_id], |r| {
            Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?)))
        })
        .map_err(backend)?
        .collect::<Result<Vec<((String, String), (String, String))>, _>>()
        .map_err(backend)?;
    let (removed, gone): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
    touch_parents(tx, app_key, &removed)?;
    Ok((removed.into_iter().map(|(key, _)| key).collect(), gone))
}

/// Marks the folders of removed files as changed now.
pub(super) fn touch_parents(
    tx: &Transaction<'_>,
    app_key: &str,
    removed: &[(String, String)],
) -> CatalogResult<()> {
    let now = crate::clock::now_ms();
    let parents: std::collections::BTreeSet<&str> =
        removed.iter().map(|(_, parent)| parent.as_str()).collect();
    for parent in parents {
        touch_folder(tx, app_key, parent, now)?;
    }
    Ok(())
}
