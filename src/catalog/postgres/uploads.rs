//! Resumable uploads: the upload rows, their chunks, the compare and set that moves an
//! offset, and the transaction that turns a whole upload into a file.
//!
//! A call that changes an upload first locks its row (`FOR UPDATE`), so two nodes taking a
//! chunk at one offset take turns and the second finds the offset moved. Creating an upload
//! locks its app's row, so the count of its unfinished uploads is never read by two nodes at
//! once.

use super::blobs::trash;
use super::files::{announce_and_commit, record};
use super::quota::usage_in;
use super::rows::col;
use super::{
    commit, execute, limit_param, name_taken, query, query_one, query_opt, unsigned, write_tx,
    PgCatalog,
};
use crate::catalog::quota::Growth;
use crate::catalog::{
    Advance, CatalogError, CatalogResult, FileRecord, OnConflict, PutOutcome, Quota, Upload,
    UploadChunk,
};
use deadpool_postgres::Transaction;
use tokio_postgres::Row;

/// Columns of `uploads`, in [`upload_from_row`] order.
const UPLOAD_COLUMNS: &str =
    "id, app_key, length, upload_offset, chunk_count, metadata, created_at, expires_at";

fn upload_from_row(row: &Row) -> CatalogResult<Upload> {
    Ok(Upload {
        id: col(row, 0)?,
        app_key: col(row, 1)?,
        length: unsigned(col(row, 2)?),
        offset: unsigned(col(row, 3)?),
        chunks: unsigned(col(row, 4)?),
        metadata: col(row, 5)?,
        created_at: col(row, 6)?,
        expires_at: col(row, 7)?,
    })
}

/// A size as a `BIGINT` parameter.
fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(super) async fn create_upload(
    catalog: &PgCatalog,
    upload: &Upload,
    max_per_app: u64,
    now: i64,
) -> CatalogResult<bool> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    query(
        &tx,
        "SELECT 1 FROM apps WHERE app_key = $1 FOR UPDATE",
        &[&upload.app_key],
    )
    .await?;
    let held = query_one(
        &tx,
        "SELECT COUNT(*) FROM uploads WHERE app_key = $1 AND expires_at > $2",
        &[&upload.app_key, &now],
    )
    .await?;
    if unsigned(col(&held, 0)?) >= max_per_app {
        return Ok(false);
    }
    execute(
        &tx,
        "INSERT INTO uploads (id, app_key, length, upload_offset, chunk_count, metadata,
             created_at, expires_at)
         VALUES ($1, $2, $3, 0, 0, $4, $5, $6)",
        &[
            &upload.id,
            &upload.app_key,
            &signed(upload.length),
            &upload.metadata,
            &upload.created_at,
            &upload.expires_at,
        ],
    )
    .await?;
    commit(tx).await?;
    Ok(true)
}

pub(super) async fn upload(
    catalog: &PgCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<Option<Upload>> {
    let sql = format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE app_key = $1 AND id = $2");
    catalog.one(&sql, &[&app_key, &id], upload_from_row).await
}

pub(super) async fn upload_chunks(
    catalog: &PgCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<Vec<UploadChunk>> {
    catalog
        .many(
            "SELECT c.chunk_offset, c.bytes, c.blob_key
             FROM upload_chunks c JOIN uploads u ON u.id = c.upload_id
             WHERE u.app_key = $1 AND u.id = $2 ORDER BY c.chunk_offset",
            &[&app_key, &id],
            |row| {
                Ok(UploadChunk {
                    offset: unsigned(col(row, 0)?),
                    bytes: unsigned(col(row, 1)?),
                    blob_key: col(row, 2)?,
                })
            },
        )
        .await
}

/// Locks an upload's row in `tx` and returns its offset, length and chunk count;
/// `NotFound` when it is gone.
async fn lock(tx: &Transaction<'_>, app_key: &str, id: &str) -> CatalogResult<(u64, u64, u64)> {
    let row = query_opt(
        tx,
        "SELECT upload_offset, length, chunk_count FROM uploads
         WHERE app_key = $1 AND id = $2 FOR UPDATE",
        &[&app_key, &id],
    )
    .await?
    .ok_or_else(|| CatalogError::NotFound(id.to_owned()))?;
    Ok((
        unsigned(col(&row, 0)?),
        unsigned(col(&row, 1)?),
        unsigned(col(&row, 2)?),
    ))
}

/// Removes a locked upload and its chunk rows in `tx`; returns the chunks' blob keys.
async fn remove(tx: &Transaction<'_>, id: &str) -> CatalogResult<Vec<String>> {
    let rows = query(
        tx,
        "DELETE FROM upload_chunks WHERE upload_id = $1 RETURNING blob_key",
        &[&id],
    )
    .await?;
    execute(tx, "DELETE FROM uploads WHERE id = $1", &[&id]).await?;
    rows.iter().map(|row| col(row, 0)).collect()
}

pub(super) async fn append_upload_chunk(
    catalog: &PgCatalog,
    app_key: &str,
    id: &str,
    chunk: &UploadChunk,
    expires_at: i64,
    max_chunks: u64,
) -> CatalogResult<Advance> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let (offset, length, chunks) = lock(&tx, app_key, id).await?;
    let end = chunk.offset.saturating_add(chunk.bytes);
    if offset != chunk.offset || chunk.bytes == 0 || end > length {
        return Ok(Advance::Stale(offset));
    }
    if chunks >= max_chunks {
        return Ok(Advance::Full(offset));
    }
    execute(
        &tx,
        "INSERT INTO upload_chunks (upload_id, chunk_offset, bytes, blob_key)
         VALUES ($1, $2, $3, $4)",
        &[
            &id,
            &signed(chunk.offset),
            &signed(chunk.bytes),
            &chunk.blob_key,
        ],
    )
    .await?;
    execute(
        &tx,
        "UPDATE uploads SET upload_offset = $2, chunk_count = chunk_count + 1, expires_at = $3
         WHERE id = $1",
        &[&id, &signed(end), &expires_at],
    )
    .await?;
    commit(tx).await?;
    Ok(Advance::Moved(end))
}

pub(super) async fn complete_upload(
    catalog: &PgCatalog,
    app_key: &str,
    id: &str,
    last: &UploadChunk,
    file: FileRecord,
    on_conflict: OnConflict,
    quota: Quota,
) -> CatalogResult<Option<PutOutcome>> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let (offset, length, _) = lock(&tx, app_key, id).await?;
    if offset != last.offset || last.offset.saturating_add(last.bytes) != length {
        return Ok(None);
    }
    let (requested, bytes) = (file.path.clone(), file.bytes);
    let (outcome, replaced) = record(&tx, app_key, file, on_conflict)
        .await
        .map_err(|e| name_taken(e, &requested))?;
    let growth = Growth::of_put(bytes, replaced);
    // As in `quota`: the app's usage row, changed by this write, is locked until the commit,
    // so racing writers of the app are decided one after the other. A refusal drops the
    // transaction, which rolls it back whole.
    if quota.may_refuse(growth) && quota.refuses(usage_in(&tx, app_key).await?, growth) {
        return Err(CatalogError::QuotaExceeded);
    }
    let mut keys = remove(&tx, id).await?;
    keys.push(last.blob_key.clone());
    trash(&tx, &keys).await?;
    announce_and_commit(tx, app_key, outcome).await.map(Some)
}

pub(super) async fn delete_upload(
    catalog: &PgCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<Vec<String>> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    lock(&tx, app_key, id).await?;
    let keys = remove(&tx, id).await?;
    trash(&tx, &keys).await?;
    commit(tx).await?;
    Ok(keys)
}

pub(super) async fn expired_uploads(
    catalog: &PgCatalog,
    now: i64,
    limit: usize,
) -> CatalogResult<Vec<Upload>> {
    let sql = format!(
        "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE expires_at <= $1
         ORDER BY expires_at, id LIMIT $2"
    );
    catalog
        .many(&sql, &[&now, &limit_param(limit)], upload_from_row)
        .await
}

pub(super) async fn upload_blob_keys(catalog: &PgCatalog) -> CatalogResult<Vec<String>> {
    catalog
        .many(
            "SELECT blob_key FROM upload_chunks ORDER BY blob_key",
            &[],
            |row| col(row, 0),
        )
        .await
}
