//! Storing uploaded files: size, content and quota checks, bytes to the blob store first, then
//! the catalog entry (held to the app's quota), so a failed or interrupted upload leaves
//! nothing visible. `color` computes an upload's dominant colour on the render pool while its
//! bytes are stored; `zip` reads the archives of a multipart upload under one budget per
//! request; `rotation` stores an original rotated as a new version of its file the same way;
//! `resumable` takes a file over many requests (tus).

pub mod color;
pub mod resumable;
pub mod rotation;
pub mod zip;

use crate::catalog::{AppRecord, CatalogError, FileRecord, OnConflict, PutOutcome, Quota};
use crate::context::Context;
use crate::imageinfo::{self, ImageInfo};
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
    let quota = app.settings.quota();
    if !quota.is_unlimited() && on_conflict != OnConflict::Overwrite {
        fits(ctx, app, quota, bytes.len() as u64).await?;
    }
    let key = BlobStore::new_key(&app.container);
    let (dominant_color, stored) = tokio::join!(
        color::dominant_color(ctx, bytes.clone()),
        ctx.blob.put(&key, bytes.clone())
    );
    let file = FileRecord {
        tags,
        dominant_color,
        ..user_file(path, &key, &bytes, &info)
    };
    if let Err(e) = stored {
        tracing::error!(error = %e, "blob write failed");
        return Err(ResultCode::StorageUploadFailed);
    }
    match ctx
        .catalog
        .put_file_within(&app.app_key, file, on_conflict, quota)
        .await
    {
        Ok(outcome) => Ok(outcome),
        // The catalog recorded the bytes as dropped: the sweep deletes them.
        Err(CatalogError::QuotaExceeded) => Err(ResultCode::QuotaExceeded),
        Err(e) => {
            discard_unrecorded(ctx, &key).await;
            Err(match e {
                CatalogError::FileExists(_) => ResultCode::FileDuplicatedName,
                CatalogError::FolderExists(_) => ResultCode::FileDuplicatedName,
                CatalogError::NotAFolder(_) => ResultCode::InvalidBasePath,
                other => ctx.catalog_failure(&other),
            })
        }
    }
}

/// The record of a new version of the user file at `path`, whose `bytes` are stored at `key`,
/// with the facts its header gave (`info`).
fn user_file(path: &str, key: &str, bytes: &[u8], info: &ImageInfo) -> FileRecord {
    FileRecord {
        taken_at: info.taken_at.map(|t| t.and_utc().timestamp_millis()),
        lat: info.gps.map(|g| g.0),
        lng: info.gps.map(|g| g.1),
        ..FileRecord::new(
            path,
            key,
            bytes,
            info.content_type,
            (info.width, info.height),
        )
    }
}

/// Deletes bytes stored for a catalog entry that was not made. The catalog never referenced
/// them, so nobody can be reading them (bytes a file ever referenced are left to the sweep of
/// dropped blobs instead).
pub async fn discard_unrecorded(ctx: &Context, key: &str) {
    if let Err(e) = ctx.blob.delete(key).await {
        tracing::warn!(error = %e, key = %key, "could not delete an unrecorded upload");
    }
}

/// Refuses a new file of `bytes` that cannot fit beside what the app holds, before its bytes
/// are written, so an app at its quota does not have every refused upload stored and then
/// dropped. Only a quick check, for new files: the exact one is made by the catalog, in the
/// transaction of the write (an overwrite, which counts the difference, has only that one).
async fn fits(ctx: &Context, app: &AppRecord, quota: Quota, bytes: u64) -> Result<(), ResultCode> {
    let usage = ctx
        .catalog
        .usage(&app.app_key)
        .await
        .map_err(|e| ctx.catalog_failure(&e))?;
    if quota.admits_new_file(usage, bytes) {
        Ok(())
    } else {
        Err(ResultCode::QuotaExceeded)
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
