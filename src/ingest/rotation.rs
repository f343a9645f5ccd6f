//! Rotating a stored original: its bytes are read, rotated by the imaging engine on the
//! runner the caller gives (the render pool: CPU work never runs on the async reactor), and
//! stored as a new version of the same file, blob first and catalog second, as an overwrite
//! stores an upload. The catalog takes the new version only while the file still holds the
//! version that was read, so a rotation never undoes an upload made meanwhile nor brings a
//! deleted file back; the original is untouched whenever the rotation fails.

use super::discard_unrecorded;
use crate::catalog::{AppRecord, CatalogError, CreatedBy, FileRecord, PutOutcome};
use crate::context::Context;
use crate::imageinfo;
use crate::imaging::rotate::{self, Rotated, Rotation};
use crate::imaging::{ImagingError, Limits};
use crate::result_code::ResultCode;
use crate::storage::BlobStore;
use std::future::Future;

/// The CPU work of a rotation, for the caller's runner to run off the async reactor.
pub type Job = Box<dyn FnOnce() -> Result<Rotated, ImagingError> + Send>;

/// A rotation stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RotatedFile {
    /// The file as stored, with its new version.
    pub outcome: PutOutcome,
    /// Whether every pixel was kept exactly (see [`Rotated::lossless`]).
    pub lossless: bool,
}

/// Rotates the uploaded file `file_id` of `app` as displayed, by `rotation`, running the
/// image work through `run`. Refusals: 20001 no such file, 54001 a produced (`P`) file, 54002
/// a format that cannot be rotated, 10002 an image that cannot be decoded, 54004 an image over
/// the imaging limits, 11004 a result over the upload size limit, 24001 the object store
/// refused the bytes, 54003 the file changed meanwhile; -1 anything else.
pub async fn rotate_file<R, F>(
    ctx: &Context,
    app: &AppRecord,
    file_id: &str,
    rotation: Rotation,
    run: R,
) -> Result<RotatedFile, ResultCode>
where
    R: FnOnce(Job) -> F,
    F: Future<Output = Result<Result<Rotated, ImagingError>, ResultCode>>,
{
    let file = match ctx.catalog.file_by_id(&app.app_key, file_id).await {
        Ok(Some(file)) => file,
        Ok(None) => return Err(ResultCode::FolderNotExists),
        Err(e) => return Err(ctx.catalog_failure(&e)),
    };
    if file.created_by == CreatedBy::Operation {
        return Err(ResultCode::RotationOfProducedFile);
    }
    // A file over the single-upload limit (a resumable upload may store one) is not read into
    // memory: its rotation could not be stored anyway.
    if file.bytes > ctx.config.limits.max_upload_bytes {
        return Err(ResultCode::UploadSizeLimit);
    }
    let source = ctx.blob.read(&file.blob_key).await.map_err(|e| {
        tracing::error!(error = %e, key = %file.blob_key, "could not read an original to rotate");
        ResultCode::Fail
    })?;
    let limits = Limits::from(&ctx.config.imaging);
    let rotated = run(Box::new(move || rotate::rotate(&source, rotation, &limits)))
        .await?
        .map_err(refusal)?;
    if rotated.bytes.len() as u64 > ctx.config.limits.max_upload_bytes {
        return Err(ResultCode::UploadSizeLimit);
    }
    let info = imageinfo::inspect(&rotated.bytes).ok_or(ResultCode::Fail)?;
    let key = BlobStore::new_key(&app.container);
    // When and where the photo was taken do not turn with it.
    let version = FileRecord {
        id: file.id.clone(),
        taken_at: file.taken_at,
        lat: file.lat,
        lng: file.lng,
        ..FileRecord::new(
            &file.path,
            &key,
            &rotated.bytes,
            info.content_type,
            (info.width, info.height),
        )
    };
    if let Err(e) = ctx.blob.put(&key, rotated.bytes).await {
        tracing::error!(error = %e, "blob write failed");
        return Err(ResultCode::StorageUploadFailed);
    }
    let refused = match ctx
        .catalog
        .replace_file_version(&app.app_key, version, &file.blob_key)
        .await
    {
        Ok(Some(outcome)) => {
            return Ok(RotatedFile {
                outcome,
                lossless: rotated.lossless,
            })
        }
        Ok(None) => ResultCode::RotationConflict,
        Err(CatalogError::NotFound(_)) => ResultCode::FolderNotExists,
        Err(e) => ctx.catalog_failure(&e),
    };
    discard_unrecorded(ctx, &key).await;
    Err(refused)
}

/// The answer to an image the engine would not rotate.
fn refusal(e: ImagingError) -> ResultCode {
    match e {
        ImagingError::Unsupported => ResultCode::RotationUnsupportedFormat,
        ImagingError::Corrupt(_) | ImagingError::Panicked(_) => {
            tracing::info!(error = %e, "rotation refused: unreadable image");
            ResultCode::InvalidFiles
        }
        ImagingError::TooLarge { .. }
        | ImagingError::TooManyFrames { .. }
        | ImagingError::OutputTooLarge { .. } => ResultCode::RotationTooLarge,
        other => {
            tracing::error!(error = %other, "rotation failed");
            ResultCode::Fail
        }
    }
}
