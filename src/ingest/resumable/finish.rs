//! The last request of an upload: the checks `PUT /images` makes, then the chunks streamed
//! into one new blob (hashed on the way for the ETag) while the dominant colour is computed,
//! then the file recorded and the upload removed in one catalog transaction. A file no larger
//! than `limits.max_upload_bytes` (what a single upload may hold) is read whole for its
//! checks and colour; a larger one only by its head, and gets no colour.

use super::{abandon, discard, fits, ResumableError};
use crate::catalog::{
    etag_of_hash, AppRecord, CatalogError, FileRecord, OnConflict, PutOutcome, Upload, UploadChunk,
};
use crate::context::Context;
use crate::imageinfo::{self, ImageInfo};
use crate::ingest::{color, user_file};
use crate::result_code::ResultCode;
use crate::storage::{BlobError, BlobStore};
use crate::variant::Variants;
use bytes::Bytes;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use xxhash_rust::xxh3::Xxh3;

/// Bytes read from the start of a file for its checks: the format's signature, its size in
/// the header, and a JPEG's EXIF block (in an APP1 segment near the start, at most 64 KiB).
pub(super) const HEAD_BYTES: u64 = 1024 * 1024;

/// Turns the upload, whose last chunk is `last` (received, not recorded), into the user file at
/// the normalised `path` of `app` under `rule`, carrying `tags` (checked by the caller).
///
/// Refusals of the file (not an image, a name taken, a parent that is a file) delete the upload
/// and answer [`ResumableError::Unaccepted`] with the code `PUT /images` gives; nothing is
/// stored. A storage or catalog failure leaves the upload as it was (the last chunk is not
/// recorded), so the client can send its last bytes again.
pub async fn finish(
    ctx: &Variants,
    app: &AppRecord,
    upload: &Upload,
    last: UploadChunk,
    path: &str,
    rule: OnConflict,
    tags: Vec<String>,
) -> Result<PutOutcome, ResumableError> {
    let chunks = match chunks_with(ctx, upload, &last).await {
        Ok(chunks) => chunks,
        Err(e) => {
            discard(ctx, &last.blob_key).await;
            return Err(e);
        }
    };
    let checked = check(ctx, app, upload, &chunks, path, rule).await;
    let (info, whole) = match checked {
        Ok(checked) => checked,
        Err(ResumableError::Unaccepted(code)) => {
            abandon(ctx, upload, Some(&last.blob_key)).await;
            return Err(ResumableError::Unaccepted(code));
        }
        Err(e) => {
            discard(ctx, &last.blob_key).await;
            return Err(e);
        }
    };
    let key = BlobStore::new_key(&app.container);
    let colour = async {
        match whole {
            Some(bytes) => color::dominant_color(ctx, bytes).await,
            None => None,
        }
    };
    let (dominant_color, assembled) =
        tokio::join!(colour, assemble(ctx, &key, &chunks, upload.length));
    let hash = match assembled {
        Ok(hash) => hash,
        Err(e) => {
            discard(ctx, &last.blob_key).await;
            return Err(e);
        }
    };
    // The bytes were hashed as they streamed by: none is at hand here.
    let file = FileRecord {
        bytes: upload.length,
        etag: etag_of_hash(hash),
        tags,
        dominant_color,
        ..user_file(path, &key, &[], &info)
    };
    let completed = ctx
        .catalog
        .complete_upload(
            &app.app_key,
            &upload.id,
            &last,
            file,
            rule,
            app.settings.quota(),
        )
        .await;
    let refusal = match completed {
        Ok(Some(outcome)) => return Ok(outcome),
        Ok(None) => ResumableError::OffsetMismatch(None),
        Err(CatalogError::NotFound(_)) => ResumableError::NotFound,
        Err(CatalogError::FileExists(_) | CatalogError::FolderExists(_)) => {
            ResumableError::Unaccepted(ResultCode::FileDuplicatedName)
        }
        Err(CatalogError::NotAFolder(_)) => ResumableError::Unaccepted(ResultCode::InvalidBasePath),
        Err(CatalogError::QuotaExceeded) => ResumableError::Unaccepted(ResultCode::QuotaExceeded),
        // The file may have been recorded before the failure was seen: its bytes are left
        // for `pictor check` rather than deleted from under the catalog.
        Err(e) => return Err(ResumableError::Catalog(e)),
    };
    // The catalog refused: nothing names the new blob nor the last chunk.
    discard(ctx, &key).await;
    if matches!(refusal, ResumableError::Unaccepted(_)) {
        abandon(ctx, upload, Some(&last.blob_key)).await;
    } else {
        discard(ctx, &last.blob_key).await;
    }
    Err(refusal)
}

/// The recorded chunks of the upload before `last`, then `last`: they must hold its bytes from
/// 0 to its length, in order. Chunks recorded at or past `last`'s offset mean another request
/// moved the offset meanwhile.
async fn chunks_with(
    ctx: &Context,
    upload: &Upload,
    last: &UploadChunk,
) -> Result<Vec<UploadChunk>, ResumableError> {
    let recorded = ctx
        .catalog
        .upload_chunks(&upload.app_key, &upload.id)
        .await
        .map_err(ResumableError::Catalog)?;
    if recorded
        .last()
        .is_some_and(|c| c.offset.saturating_add(c.bytes) > last.offset)
    {
        return Err(ResumableError::OffsetMismatch(None));
    }
    let mut chunks = recorded;
    chunks.push(last.clone());
    let mut end = 0u64;
    for chunk in &chunks {
        if chunk.offset != end {
            return Err(ResumableError::Inconsistent(upload.id.clone()));
        }
        end = end.saturating_add(chunk.bytes);
    }
    if end != upload.length {
        return Err(ResumableError::Inconsistent(upload.id.clone()));
    }
    Ok(chunks)
}

/// The checks of `PUT /images` on the file the chunks hold: an image, a free name unless the
/// rule replaces or renames, and the quick quota check of a new file (the exact one is the
/// catalog's, when the file is recorded). Returns what the file's header says and, for a file
/// of at most `limits.max_upload_bytes`, its bytes, read whole for the check. A larger file is
/// checked on its first [`HEAD_BYTES`], or, when it is of an image format whose size lies
/// further in (a TIFF with its directory at the end), on its first `limits.max_upload_bytes`,
/// what a single upload could hold.
async fn check(
    ctx: &Context,
    app: &AppRecord,
    upload: &Upload,
    chunks: &[UploadChunk],
    path: &str,
    rule: OnConflict,
) -> Result<(ImageInfo, Option<Bytes>), ResumableError> {
    let max = ctx.config.limits.max_upload_bytes;
    let (info, whole) = if upload.length <= max {
        let bytes = Bytes::from(prefix(ctx, chunks, upload.length).await?);
        (imageinfo::inspect(&bytes), Some(bytes))
    } else {
        let head = prefix(ctx, chunks, HEAD_BYTES).await?;
        let info = match imageinfo::inspect(&head) {
            None if imageinfo::sniff(&head).is_some() => {
                drop(head);
                imageinfo::inspect(&prefix(ctx, chunks, max).await?)
            }
            info => info,
        };
        (info, None)
    };
    let info = info.ok_or(ResumableError::Unaccepted(ResultCode::InvalidFiles))?;
    if rule == OnConflict::Fail {
        let taken = ctx
            .catalog
            .file_by_path(&app.app_key, path)
            .await
            .map_err(ResumableError::Catalog)?;
        if taken.is_some() {
            return Err(ResumableError::Unaccepted(ResultCode::FileDuplicatedName));
        }
    }
    fits(ctx, app, rule, upload.length).await?;
    Ok((info, whole))
}

/// The first `n` bytes held by `chunks` (fewer when they hold fewer), read by ranges. The
/// caller bounds `n` (at most `limits.max_upload_bytes`).
async fn prefix(ctx: &Context, chunks: &[UploadChunk], n: u64) -> Result<Vec<u8>, ResumableError> {
    let mut head = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    for chunk in chunks {
        let wanted = n.saturating_sub(head.len() as u64).min(chunk.bytes);
        if wanted == 0 {
            break;
        }
        let mut part = ctx
            .blob
            .stream(&chunk.blob_key, Some(0..wanted))
            .await
            .map_err(ResumableError::Storage)?;
        while let Some(bytes) = part.next().await {
            head.extend_from_slice(&bytes.map_err(ResumableError::Storage)?);
        }
    }
    head.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    Ok(head)
}

/// Streams the chunks, in order, into a new blob at `key`; returns the xxh3 hash of the bytes
/// (the file's ETag). Fails, storing nothing, when they are not `length` bytes.
async fn assemble(
    ctx: &Context,
    key: &str,
    chunks: &[UploadChunk],
    length: u64,
) -> Result<u64, ResumableError> {
    let mut hasher = Xxh3::new();
    let part_bytes = usize::try_from(ctx.config.storage.multipart_part_bytes).unwrap_or(usize::MAX);
    let written = {
        let hasher = &mut hasher;
        let blob = &ctx.blob;
        let source = stream::iter(chunks)
            .then(move |chunk| blob.stream(&chunk.blob_key, None))
            .try_flatten()
            .map_ok(move |bytes: Bytes| {
                hasher.update(&bytes);
                bytes
            })
            .boxed();
        ctx.blob.put_stream(key, source, part_bytes).await
    };
    let written = written.map_err(|e: BlobError| ResumableError::Storage(e))?;
    if written != length {
        discard(ctx, key).await;
        return Err(ResumableError::Inconsistent(key.to_owned()));
    }
    Ok(hasher.digest())
}
