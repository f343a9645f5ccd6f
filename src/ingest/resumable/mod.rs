//! Resumable uploads, the service under tus: an upload is created with its length, takes its
//! bytes over any number of requests (on any node), and becomes a file when its last byte is
//! in.
//!
//! State lives where every node sees it: the upload and its offset in the catalog, its bytes in
//! the blob store, one blob per request ("chunk", under `<container>/uploads/<id>/`), recorded
//! in the catalog only once fully written. The offset moves by compare and set
//! ([`crate::catalog::Catalog::append_upload_chunk`]), so what the catalog reports is exactly
//! what is durably stored, and of two requests at one offset one wins. A request whose client
//! goes away midway keeps what arrived ([`intake`]). The last request streams the chunks into
//! one blob and records the file, removing the upload, in one transaction ([`finish`]); the
//! chunks go through the dropped-blob sweep.

pub mod checksum;
mod finish;
mod intake;

pub use finish::finish;
pub use intake::{receive, record, Received};

use super::discard_unrecorded as discard;
use crate::catalog::{AppRecord, CatalogError, OnConflict, Upload};
use crate::clock::now_ms;
use crate::context::Context;
use crate::result_code::ResultCode;
use crate::storage::{put_stream_memory, BlobError};

/// Why a resumable upload call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ResumableError {
    /// No upload of the app has the id (or it was finished, deleted or swept).
    #[error("no such upload")]
    NotFound,
    /// The upload expired; it takes no more bytes.
    #[error("the upload expired")]
    Expired,
    /// The request's offset is not the upload's (another request moved it, or the client is
    /// behind); the upload's offset when known.
    #[error("the request's offset is not the upload's {0:?}")]
    OffsetMismatch(Option<u64>),
    /// The body's digest is not the one its `Upload-Checksum` gave; nothing was kept.
    #[error("the body does not match its checksum")]
    ChecksumMismatch,
    /// The app holds `limits.max_unfinished_uploads` unfinished uploads.
    #[error("too many unfinished uploads")]
    TooMany,
    /// The upload holds `limits.max_upload_chunks` chunks and the request does not finish it;
    /// nothing was kept.
    #[error("too many chunks")]
    TooManyChunks,
    /// A declared length over `limits.max_resumable_bytes`, or a body that would end past the
    /// upload's length or carry more than `limits.max_request_bytes`; nothing was kept.
    #[error("too many bytes")]
    TooLarge,
    /// The body broke off before its end and its checksum could not be checked; nothing was
    /// kept.
    #[error("the body broke off before its checksum could be checked: {0}")]
    Interrupted(String),
    /// The request is refused with a result code (a parameter, a path, an empty upload).
    #[error("refused: {0:?}")]
    Invalid(ResultCode),
    /// The finished file is refused as `PUT /images` refuses it (not an image, a name taken);
    /// the upload was deleted.
    #[error("the finished file is refused: {0:?}")]
    Unaccepted(ResultCode),
    /// The blob store failed.
    #[error("blob store: {0}")]
    Storage(#[source] BlobError),
    /// The catalog failed.
    #[error("catalog: {0}")]
    Catalog(#[source] CatalogError),
    /// The recorded chunks do not add up to the upload (a bug or a damaged catalog).
    #[error("the chunks of upload {0} do not add up to its bytes")]
    Inconsistent(String),
    /// A failure already logged where it happened, answered with its result code.
    #[error("failed: {0:?}")]
    Failed(ResultCode),
}

impl ResumableError {
    /// A catalog failure: a missing upload as [`ResumableError::NotFound`].
    fn catalog(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound(_) => Self::NotFound,
            other => Self::Catalog(other),
        }
    }
}

/// Milliseconds from now until an upload untouched since now expires.
fn expiry_ms(ctx: &Context) -> i64 {
    i64::try_from(ctx.config.limits.resumable_expiry_secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Creates an upload of `length` bytes for `app`, keeping the client's `metadata` as given
/// (already checked by the caller), which asks to store its file under `rule`. A new file that
/// cannot fit in the app's quota is refused here, before any byte is sent.
pub async fn create(
    ctx: &Context,
    app: &AppRecord,
    length: u64,
    metadata: &str,
    rule: OnConflict,
) -> Result<Upload, ResumableError> {
    check_length(ctx, length)?;
    fits(ctx, app, rule, length).await?;
    let now = now_ms();
    let upload = Upload {
        id: uuid::Uuid::new_v4().simple().to_string(),
        app_key: app.app_key.clone(),
        length,
        offset: 0,
        chunks: 0,
        metadata: metadata.to_owned(),
        created_at: now,
        expires_at: now.saturating_add(expiry_ms(ctx)),
    };
    let max = ctx.config.limits.max_unfinished_uploads;
    match ctx.catalog.create_upload(&upload, max, now).await {
        Ok(true) => Ok(upload),
        Ok(false) => Err(ResumableError::TooMany),
        Err(e) => Err(ResumableError::Catalog(e)),
    }
}

/// Refuses an `Upload-Length` of 0 or over `limits.max_resumable_bytes`.
pub fn check_length(ctx: &Context, length: u64) -> Result<(), ResumableError> {
    if length == 0 {
        return Err(ResumableError::Invalid(ResultCode::InvalidFiles));
    }
    if length > ctx.config.limits.max_resumable_bytes {
        return Err(ResumableError::TooLarge);
    }
    Ok(())
}

/// The quick quota check of a single upload ([`super::fits`]) for a file of `bytes` stored
/// under `rule`: only new files are checked before the catalog's exact check.
async fn fits(
    ctx: &Context,
    app: &AppRecord,
    rule: OnConflict,
    bytes: u64,
) -> Result<(), ResumableError> {
    let quota = app.settings.quota();
    if quota.is_unlimited() || rule == OnConflict::Overwrite {
        return Ok(());
    }
    super::fits(ctx, app, quota, bytes)
        .await
        .map_err(|code| match code {
            ResultCode::QuotaExceeded => ResumableError::Unaccepted(code),
            other => ResumableError::Failed(other),
        })
}

/// The most memory a request bringing the next bytes of `upload` holds at once, when it
/// announced `announced` bytes: its body streamed into storage, and, when it may bring the
/// last byte, the finish: the file read back for its checks and colour (at most
/// `limits.max_upload_bytes`) while it streams into one blob.
pub fn request_memory(ctx: &Context, upload: &Upload, announced: Option<u64>) -> u64 {
    let limits = &ctx.config.limits;
    let streamed = put_stream_memory(ctx.config.storage.multipart_part_bytes);
    let remaining = upload.length.saturating_sub(upload.offset);
    let cap = remaining
        .min(limits.max_request_bytes)
        .min(announced.unwrap_or(u64::MAX));
    let intake = cap.min(streamed);
    if cap < remaining {
        return intake;
    }
    let finish = upload
        .length
        .min(limits.max_upload_bytes)
        .max(finish::HEAD_BYTES)
        .saturating_add(streamed);
    intake.max(finish)
}

/// Whether `id` can name an upload (32 lowercase hex digits), before any lookup.
pub fn is_upload_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The upload `id` of `app`, unless it is unknown or expired.
pub async fn find(ctx: &Context, app: &AppRecord, id: &str) -> Result<Upload, ResumableError> {
    if !is_upload_id(id) {
        return Err(ResumableError::NotFound);
    }
    let upload = ctx
        .catalog
        .upload(&app.app_key, id)
        .await
        .map_err(ResumableError::Catalog)?
        .ok_or(ResumableError::NotFound)?;
    if upload.expires_at <= now_ms() {
        return Err(ResumableError::Expired);
    }
    Ok(upload)
}

/// Deletes the upload `id` of `app`, expired or not; its stored bytes go through the
/// dropped-blob sweep.
pub async fn terminate(ctx: &Context, app: &AppRecord, id: &str) -> Result<(), ResumableError> {
    if !is_upload_id(id) {
        return Err(ResumableError::NotFound);
    }
    ctx.catalog
        .delete_upload(&app.app_key, id)
        .await
        .map(drop)
        .map_err(ResumableError::catalog)
}

/// Gives up an upload that can never become a file: deletes it (its recorded chunks go
/// through the dropped-blob sweep) and the blob of `unrecorded`, a chunk no catalog entry
/// names. Failures are logged: the upload then expires and is swept.
pub async fn abandon(ctx: &Context, upload: &Upload, unrecorded: Option<&str>) {
    if let Err(e) = ctx.catalog.delete_upload(&upload.app_key, &upload.id).await {
        if !matches!(e, CatalogError::NotFound(_)) {
            tracing::warn!(error = %e, upload = %upload.id, "could not delete a refused upload");
        }
    }
    if let Some(key) = unrecorded {
        discard(ctx, key).await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn upload_ids_are_32_lowercase_hex_digits() {
        let id = "0123456789abcdef0123456789abcdef";
        assert!(super::is_upload_id(id));
        assert!(super::is_upload_id(
            &uuid::Uuid::new_v4().simple().to_string()
        ));
        for bad in [
            "",
            "../etc/passwd",
            &id[..31],
            &id.to_uppercase(),
            &format!("{}g", &id[..31]),
        ] {
            assert!(!super::is_upload_id(bad), "{bad}");
        }
    }
}
