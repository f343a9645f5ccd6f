//! Resumable uploads: the upload rows, their chunks, the compare and set that moves an
//! offset, and the transaction that turns a whole upload into a file.

use super::blobs::trash;
use super::files::record;
use super::quota::usage_in;
use super::{backend, SqliteCatalog};
use crate::catalog::quota::Growth;
use crate::catalog::{
    Advance, CatalogError, CatalogResult, FileRecord, OnConflict, PutOutcome, Quota, Upload,
    UploadChunk,
};
use rusqlite::{params, OptionalExtension, Row, Transaction};

/// Columns of `uploads`, in [`upload_from_row`] order.
const UPLOAD_COLUMNS: &str =
    "id, app_key, length, upload_offset, chunk_count, metadata, created_at, expires_at";

fn upload_from_row(row: &Row<'_>) -> rusqlite::Result<Upload> {
    Ok(Upload {
        id: row.get(0)?,
        app_key: row.get(1)?,
        length: unsigned(row.get(2)?),
        offset: unsigned(row.get(3)?),
        chunks: unsigned(row.get(4)?),
        metadata: row.get(5)?,
        created_at: row.get(6)?,
        expires_at: row.get(7)?,
    })
}

/// A size kept in an `INTEGER` column.
fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A size as an `INTEGER` parameter.
fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(super) async fn create_upload(
    catalog: &SqliteCatalog,
    upload: &Upload,
    max_per_app: u64,
    now: i64,
) -> CatalogResult<bool> {
    let upload = upload.clone();
    catalog
        .tx(move |tx| {
            let held: i64 = tx
                .query_row(
                    "SELECT COUNT(*) FROM uploads WHERE app_key = ?1 AND expires_at > ?2",
                    params![upload.app_key, now],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            if unsigned(held) >= max_per_app {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO uploads (id, app_key, length, upload_offset, chunk_count, metadata,
                     created_at, expires_at)
                 VALUES (?1, ?2, ?3, 0, 0, ?4, ?5, ?6)",
                params![
                    upload.id,
                    upload.app_key,
                    signed(upload.length),
                    upload.metadata,
                    upload.created_at,
                    upload.expires_at
                ],
            )
            .map_err(backend)?;
            Ok(true)
        })
        .await
}

pub(super) async fn upload(
    catalog: &SqliteCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<Option<Upload>> {
    let (key, id) = (app_key.to_owned(), id.to_owned());
    catalog
        .read(move |tx| {
            tx.query_row(
                &format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE app_key = ?1 AND id = ?2"),
                params![key, id],
                upload_from_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
}

pub(super) async fn upload_chunks(
    catalog: &SqliteCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<Vec<UploadChunk>> {
    let (key, id) = (app_key.to_owned(), id.to_owned());
    catalog
        .read(move |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT c.chunk_offset, c.bytes, c.blob_key
                     FROM upload_chunks c JOIN uploads u ON u.id = c.upload_id
                     WHERE u.app_key = ?1 AND u.id = ?2 ORDER BY c.chunk_offset",
                )
                .map_err(backend)?;
            let chunks = stmt
                .query_map(params![key, id], |r| {
                    Ok(UploadChunk {
                        offset: unsigned(r.get(0)?),
                        bytes: unsigned(r.get(1)?),
                        blob_key: r.get(2)?,
                    })
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(chunks)
        })
        .await
}

/// The offset, length and chunk count of an upload, in `tx`; `NotFound` when it is gone.
fn position(tx: &Transaction<'_>, key: &str, id: &str) -> CatalogResult<(u64, u64, u64)> {
    tx.query_row(
        "SELECT upload_offset, length, chunk_count FROM uploads WHERE app_key = ?1 AND id = ?2",
        params![key, id],
        |r| {
            Ok((
                unsigned(r.get(0)?),
                unsigned(r.get(1)?),
                unsigned(r.get(2)?),
            ))
        },
    )
    .optional()
    .map_err(backend)?
    .ok_or_else(|| CatalogError::NotFound(id.to_owned()))
}

/// Removes an upload and its chunk rows in `tx`; returns the chunks' blob keys.
fn remove(tx: &Transaction<'_>, id: &str) -> CatalogResult<Vec<String>> {
    let keys = tx
        .prepare_cached("DELETE FROM upload_chunks WHERE upload_id = ?1 RETURNING blob_key")
        .map_err(backend)?
        .query_map(params![id], |r| r.get::<_, String>(0))
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    tx.execute("DELETE FROM uploads WHERE id = ?1", params![id])
        .map_err(backend)?;
    Ok(keys)
}

pub(super) async fn append_upload_chunk(
    catalog: &SqliteCatalog,
    app_key: &str,
    id: &str,
    chunk: &UploadChunk,
    expires_at: i64,
    max_chunks: u64,
) -> CatalogResult<Advance> {
    let (key, id, chunk) = (app_key.to_owned(), id.to_owned(), chunk.clone());
    catalog
        .tx(move |tx| {
            let (offset, length, chunks) = position(tx, &key, &id)?;
            let end = chunk.offset.saturating_add(chunk.bytes);
            if offset != chunk.offset || chunk.bytes == 0 || end > length {
                return Ok(Advance::Stale(offset));
            }
            if chunks >= max_chunks {
                return Ok(Advance::Full(offset));
            }
            tx.execute(
                "INSERT INTO upload_chunks (upload_id, chunk_offset, bytes, blob_key)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    id,
                    signed(chunk.offset),
                    signed(chunk.bytes),
                    chunk.blob_key
                ],
            )
            .map_err(backend)?;
            tx.execute(
                "UPDATE uploads SET upload_offset = ?2, chunk_count = chunk_count + 1,
                     expires_at = ?3
                 WHERE id = ?1",
                params![id, signed(end), expires_at],
            )
            .map_err(backend)?;
            Ok(Advance::Moved(end))
        })
        .await
}

pub(super) async fn complete_upload(
    catalog: &SqliteCatalog,
    app_key: &str,
    id: &str,
    last: &UploadChunk,
    file: FileRecord,
    on_conflict: OnConflict,
    quota: Quota,
) -> CatalogResult<Option<PutOutcome>> {
    let (key, id, last) = (app_key.to_owned(), id.to_owned(), last.clone());
    catalog
        .tx(move |tx| {
            let (offset, length, _) = position(tx, &key, &id)?;
            if offset != last.offset || last.offset.saturating_add(last.bytes) != length {
                return Ok(None);
            }
            let bytes = file.bytes;
            let (outcome, replaced) = record(tx, &key, file, on_conflict)?;
            let growth = Growth::of_put(bytes, replaced);
            if quota.may_refuse(growth) && quota.refuses(usage_in(tx, &key)?, growth) {
                // Returning an error rolls the whole transaction back.
                return Err(CatalogError::QuotaExceeded);
            }
            let mut keys = remove(tx, &id)?;
            keys.push(last.blob_key);
            trash(tx, &keys)?;
            Ok(Some(outcome))
        })
        .await
}

pub(super) async fn delete_upload(
    catalog: &SqliteCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<Vec<String>> {
    let (key, id) = (app_key.to_owned(), id.to_owned());
    catalog
        .tx(move |tx| {
            position(tx, &key, &id)?;
            let keys = remove(tx, &id)?;
            trash(tx, &keys)?;
            Ok(keys)
        })
        .await
}

pub(super) async fn expired_uploads(
    catalog: &SqliteCatalog,
    now: i64,
    limit: usize,
) -> CatalogResult<Vec<Upload>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    catalog
        .read(move |tx| {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE expires_at <= ?1
                     ORDER BY expires_at, id LIMIT ?2"
                ))
                .map_err(backend)?;
            let uploads = stmt
                .query_map(params![now, limit], upload_from_row)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(uploads)
        })
        .await
}

pub(super) async fn upload_blob_keys(catalog: &SqliteCatalog) -> CatalogResult<Vec<String>> {
    catalog
        .read(move |tx| {
            let mut stmt = tx
                .prepare_cached("SELECT blob_key FROM upload_chunks ORDER BY blob_key")
                .map_err(backend)?;
            let keys = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(keys)
        })
        .await
}
