//! Storing uploaded files: size and content checks, bytes to the blob store first, then the
//! catalog entry, so a failed or interrupted upload leaves nothing visible.

use crate::blob::BlobStore;
use crate::catalog::{AppRecord, CatalogError, CreatedBy, FileRecord, OnConflict, PutOutcome};
use crate::context::{now_ms, Context};
use crate::imageinfo;
use crate::result_code::ResultCode;
use bytes::Bytes;
use std::sync::Arc;

/// Stores `bytes` as the user file at the normalised `path` of `app`.
pub async fn store_upload(
    ctx: &Arc<Context>,
    app: &AppRecord,
    path: &str,
    bytes: Bytes,
    on_conflict: OnConflict,
) -> Result<PutOutcome, ResultCode> {
    if bytes.len() as u64 > ctx.config.limits.max_upload_bytes {
        return Err(ResultCode::UploadSizeLimit);
    }
    let info = imageinfo::inspect(&bytes).ok_or(ResultCode::InvalidFiles)?;
    if on_conflict == OnConflict::Fail {
        match ctx.catalog.file_by_path(&app.app_key, path).await {
            Ok(Some(_)) => return Err(ResultCode::FileDuplicatedName),
            Ok(None) => {}
            Err(e) => return Err(catalog_failure(ctx, &e)),
        }
    }
    let now = now_ms();
    let key = BlobStore::new_key(&app.container);
    let file = FileRecord {
        id: uuid::Uuid::new_v4().to_string(),
        path: path.to_owned(),
        bytes: bytes.len() as u64,
        created_by: CreatedBy::User,
        operation_id: String::new(),
        source_id: None,
        variant: String::new(),
        blob_key: key.clone(),
        etag: format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&bytes)),
        content_type: info.content_type.to_owned(),
        width: info.width,
        height: info.height,
        taken_at: info.taken_at.map(|t| t.and_utc().timestamp_millis()),
        lat: info.gps.map(|g| g.0),
        lng: info.gps.map(|g| g.1),
        created_at: now,
        updated_at: now,
    };
    if let Err(e) = ctx.blob.put(&key, bytes).await {
        ctx.metrics.blob_errors.inc();
        tracing::error!(error = %e, "blob write failed");
        return Err(ResultCode::StorageUploadFailed);
    }
    match ctx.catalog.put_file(&app.app_key, file, on_conflict).await {
        Ok(outcome) => {
            if outcome.overwritten {
                ctx.renderer.l1.invalidate_source(&app.app_key, path);
            }
            Ok(outcome)
        }
        Err(e) => {
            // The catalog never referenced these bytes: nobody can be reading them.
            if ctx.blob.delete(&key).await.is_err() {
                ctx.metrics.blob_errors.inc();
            }
            Err(match e {
                CatalogError::FileExists(_) => ResultCode::FileDuplicatedName,
                CatalogError::FolderExists(_) => ResultCode::FileDuplicatedName,
                CatalogError::NotAFolder(_) => ResultCode::InvalidBasePath,
                other => catalog_failure(ctx, &other),
            })
        }
    }
}

/// Counts and logs a catalog failure; the API answers it with -1.
pub fn catalog_failure(ctx: &Context, e: &CatalogError) -> ResultCode {
    ctx.metrics.catalog_errors.inc();
    tracing::error!(error = %e, "catalog failure");
    ResultCode::Fail
}
