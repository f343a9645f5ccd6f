//! The bytes of one request into a chunk blob, then into the catalog.
//!
//! The body is streamed into a fresh blob (at most about three multipart parts in memory,
//! `storage.multipart_part_bytes` each), hashed on the way when it carries a checksum, and cut
//! off when it would carry more than the upload lacks or more than `limits.max_request_bytes`.
//! A body that breaks off midway (the client went away, or sent too slowly for too long) ends
//! the blob with what arrived, which is then recorded like any chunk, unless a checksum could
//! not be checked. The chunk is recorded by compare and set on the upload's offset; a chunk
//! that loses (another request moved the offset first) is deleted.

use super::checksum::{Checksum, Hasher};
use super::{discard, expiry_ms, ResumableError};
use crate::catalog::{Advance, AppRecord, Upload, UploadChunk};
use crate::clock::now_ms;
use crate::context::Context;
use bytes::Bytes;
use futures_util::stream::{Stream, StreamExt};
use std::fmt::Display;

/// The bytes of one request, stored in a blob that no catalog entry names yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Where they are and where they go in the upload (`bytes` may be 0: nothing arrived,
    /// and no blob is kept).
    pub chunk: UploadChunk,
    /// Whether the body broke off before its end.
    pub interrupted: bool,
}

/// What the body brought so far, updated as it streams by.
struct Intake {
    /// Bytes seen.
    seen: u64,
    /// Bytes allowed.
    cap: u64,
    /// More than `cap` arrived: the stream was ended there.
    over: bool,
    /// Why the body broke off, if it did.
    broke: Option<String>,
    /// The running digest, when the request carries a checksum.
    hasher: Option<Hasher>,
}

impl Intake {
    /// Takes one item of the body: its bytes, or `None` to end the stream (too many bytes, or
    /// the body broke off).
    fn take<E: Display>(&mut self, item: Result<Bytes, E>) -> Option<Bytes> {
        match item {
            Ok(bytes) => {
                self.seen = self.seen.saturating_add(bytes.len() as u64);
                if self.seen > self.cap {
                    self.over = true;
                    return None;
                }
                if let Some(hasher) = &mut self.hasher {
                    hasher.update(&bytes);
                }
                Some(bytes)
            }
            Err(e) => {
                self.broke = Some(e.to_string());
                None
            }
        }
    }
}

/// The key of a new chunk blob of `upload`: under the upload's id, never used before.
fn chunk_key(app: &AppRecord, upload: &Upload) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{}/uploads/{}/{id}", app.container, upload.id)
}

/// Streams `body` (announced as `announced` bytes, when it was) into a new chunk blob of
/// `upload`, at its current offset. Refuses, keeping nothing, a body that would end past the
/// upload's length or carry more than `limits.max_request_bytes` ([`ResumableError::TooLarge`],
/// before reading when the announced length tells), one announced short of the upload's end
/// when the upload holds `limits.max_upload_chunks` chunks, one whose digest is not
/// `checksum`'s, and one that broke off before its checksum could be checked.
pub async fn receive<S, E>(
    ctx: &Context,
    app: &AppRecord,
    upload: &Upload,
    body: S,
    announced: Option<u64>,
    checksum: Option<&Checksum>,
) -> Result<Received, ResumableError>
where
    S: Stream<Item = Result<Bytes, E>> + Send,
    E: Display,
{
    let cap = upload
        .length
        .saturating_sub(upload.offset)
        .min(ctx.config.limits.max_request_bytes);
    if announced.is_some_and(|n| n > cap) {
        return Err(ResumableError::TooLarge);
    }
    let remaining = upload.length.saturating_sub(upload.offset);
    if upload.chunks >= ctx.config.limits.max_upload_chunks
        && announced.is_some_and(|n| n < remaining)
    {
        return Err(ResumableError::TooManyChunks);
    }
    let key = chunk_key(app, upload);
    let mut intake = Intake {
        seen: 0,
        cap,
        over: false,
        broke: None,
        hasher: checksum.map(Checksum::hasher),
    };
    let part_bytes = usize::try_from(ctx.config.storage.multipart_part_bytes).unwrap_or(usize::MAX);
    let stored = {
        let intake = &mut intake;
        let stream = body
            .scan((), move |(), item| {
                futures_util::future::ready(intake.take(item))
            })
            .map(Ok)
            .boxed();
        ctx.blob.put_stream(&key, stream, part_bytes).await
    };
    let bytes = stored.map_err(ResumableError::Storage)?;
    let refusal = if intake.over {
        Some(ResumableError::TooLarge)
    } else {
        match (checksum, intake.hasher, intake.broke.clone()) {
            (Some(_), _, Some(why)) => Some(ResumableError::Interrupted(why)),
            (Some(expected), Some(hasher), None) => {
                (!expected.matches(hasher)).then_some(ResumableError::ChecksumMismatch)
            }
            _ => None,
        }
    };
    if refusal.is_some() || bytes == 0 {
        discard(ctx, &key).await;
    }
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    if let Some(why) = &intake.broke {
        tracing::info!(upload = %upload.id, bytes, reason = %why, "a request body broke off; what arrived is kept");
    }
    Ok(Received {
        chunk: UploadChunk {
            offset: upload.offset,
            bytes,
            blob_key: key,
        },
        interrupted: intake.broke.is_some(),
    })
}

/// Records a received chunk as the upload's next bytes; returns the upload's new offset and
/// expiry. A chunk that loses the compare and set is deleted: [`ResumableError::OffsetMismatch`]
/// (or `NotFound` when the upload is gone meanwhile).
pub async fn record(
    ctx: &Context,
    upload: &Upload,
    received: &Received,
) -> Result<(u64, i64), ResumableError> {
    let chunk = &received.chunk;
    if chunk.bytes == 0 {
        return Ok((upload.offset, upload.expires_at));
    }
    let expires_at = now_ms().saturating_add(expiry_ms(ctx));
    let max_chunks = ctx.config.limits.max_upload_chunks;
    let advanced = ctx
        .catalog
        .append_upload_chunk(&upload.app_key, &upload.id, chunk, expires_at, max_chunks)
        .await;
    match advanced {
        Ok(Advance::Moved(offset)) => Ok((offset, expires_at)),
        Ok(Advance::Stale(offset)) => {
            discard(ctx, &chunk.blob_key).await;
            Err(ResumableError::OffsetMismatch(Some(offset)))
        }
        Ok(Advance::Full(_)) => {
            discard(ctx, &chunk.blob_key).await;
            Err(ResumableError::TooManyChunks)
        }
        Err(e) => {
            let e = ResumableError::catalog(e);
            if matches!(e, ResumableError::NotFound) {
                discard(ctx, &chunk.blob_key).await;
            }
            // Otherwise the chunk may have been recorded before the failure was seen: it is
            // left for `pictor check` rather than deleted from under the catalog.
            Err(e)
        }
    }
}
