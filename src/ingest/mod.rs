//! Storing uploaded files: size and content checks, bytes to the blob store first, then the
//! catalog entry, so a failed or interrupted upload leaves nothing visible. `color` computes an
//! upload's dominant colour on the render pool while its bytes are stored; `zip` reads the
//! archives of a multipart upload under one budget per request.

pub mod color;
pub mod zip;

use crate::catalog::{AppRecord, CatalogError, FileRecord, OnConflict, PutOutcome};
use crate::imageinfo;
use crate::result_code::ResultCode;
use crate::storage::BlobStore;
use crate::variant::Variants;
use bytes::Bytes;

/// Stores `bytes` as the user file at the normalised `path` of `app`, with `tags` (checked by
/// the caller; none keeps the tags of a file it overwrites) and its dominant colour, computed
/// on the render pool while the bytes are written.
pub async fn store_upload(
    ctx: &Variants,
    app: &AppRecord,
    path: &str,
    bytes: Bytes,
    on_conflict: OnConflict,
    tags: Vec<String>,
) -> Result<PutOutcome, ResultCode> {
    if bytes.len() as u64 > ctx.config.limits.max_upload_bytes {
        return Err(ResultCode::UploadSizeLimit);
    }
    let info = imageinfo::inspect(&bytes).ok_or(ResultCode::InvalidFiles)?;
    if on_conflict == OnConflict::Fail {
        match ctx.catalog.file_by_path(&app.app_key, path).await {
            Ok(Some(_)) => return Err(ResultCode::FileDuplicatedName),
            Ok(None) => {}
            Err(e) => return Err(ctx.catalog_failure(&e)),
        }
    }
    let key = BlobStore::new_key(&app.container);
    let (dominant_color, stored) = tokio::join!(
        color::dominant_color(ctx, bytes.clone()),
        ctx.blob.put(&key, bytes.clone())
    );
    let file = FileRecord {
        taken_at: info.taken_at.map(|t| t.and_utc().timestamp_millis()),
        lat: info.gps.map(|g| g.0),
        lng: info.gps.map(|g| g.1),
        tags,
        dominant_color,
        ..FileRecord::new(
            path,
            &key,
            &bytes,
            info.content_type,
            (info.width, info.height),
        )
    };
    if let Err(e) = stored {
        tracing::error!(error = %e, "blob write failed");
        return Err(ResultCode::StorageUploadFailed);
    }
    match ctx.catalog.put_file(&app.app_key, file, on_conflict).await {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            // The catalog never referenced these bytes: nobody can be reading them.
            if let Err(e) = ctx.blob.delete(&key).await {
                tracing::warn!(error = %e, key = %key, "could not delete an unrecorded upload");
            }
            Err(match e {
                CatalogError::FileExists(_) => ResultCode::FileDuplicatedName,
                CatalogError::FolderExists(_) => ResultCode::FileDuplicatedName,
                CatalogError::NotAFolder(_) => ResultCode::InvalidBasePath,
                other => ctx.catalog_failure(&other),
            })
        }
    }
}

/// One file to store, after zip archives are expanded.
pub struct Item {
    /// Its catalog path, or why it has none.
    pub path: Result<String, ResultCode>,
    /// The path shown in the answer.
    pub display_path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its bytes, or why they were refused.
    pub data: Result<Bytes, ResultCode>,
}

impl Item {
    /// An item refused with `code`.
    pub fn failed(display_path: String, size: u64, code: ResultCode) -> Self {
        Self {
            path: Err(code),
            display_path,
            size,
            data: Err(code),
        }
    }
}
