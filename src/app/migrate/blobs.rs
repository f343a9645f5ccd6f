//! Bytes between the two stores: a blob is streamed from the source into the target under the
//! same key, holding at most a few parts of it in memory, and read back as a length and an
//! xxh3 hash.

use super::{End, MigrateError};
use crate::storage::{BlobError, BlobStream};
use futures_util::stream::{StreamExt, TryStreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use xxhash_rust::xxh3::Xxh3;

/// Size of the parts a large blob is uploaded in; a smaller blob is one put. With two parts in
/// flight and one filling, a copy holds about three parts.
pub(super) const PART_BYTES: usize = 8 * 1024 * 1024;

/// What became of a file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BlobCopy {
    /// Copied, this many bytes.
    Copied(u64),
    /// The target had them.
    Present,
    /// The source store lacks them: nothing to copy.
    MissingInSource,
}

/// Copies the blob under `key` unless the target store has it.
pub(super) async fn copy_blob(s: &End, t: &End, key: &str) -> Result<BlobCopy, MigrateError> {
    if t.blob.exists(key).await.map_err(t.store())? {
        return Ok(BlobCopy::Present);
    }
    let stream = match s.blob.stream(key, None).await {
        Ok(stream) => stream,
        Err(BlobError::NotFound(_)) => return Ok(BlobCopy::MissingInSource),
        Err(e) => return Err(s.store()(e)),
    };
    let source_failed = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&source_failed);
    let stream = stream
        .inspect_err(move |_| seen.store(true, Ordering::Relaxed))
        .boxed();
    match t.blob.put_stream(key, stream, PART_BYTES).await {
        Ok(n) => Ok(BlobCopy::Copied(n)),
        Err(e) if source_failed.load(Ordering::Relaxed) => Err(s.store()(e)),
        Err(e) => Err(t.store()(e)),
    }
}

/// The length and xxh3-64 hash of a blob's bytes, as they stream by; `None` when the store
/// has no object under `key`.
pub(super) async fn digest(end: &End, key: &str) -> Result<Option<(u64, u64)>, MigrateError> {
    let mut stream: BlobStream = match end.blob.stream(key, None).await {
        Ok(stream) => stream,
        Err(BlobError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(end.store()(e)),
    };
    let mut hash = Xxh3::new();
    let mut len = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(end.store())?;
        len += chunk.len() as u64;
        hash.update(&chunk);
    }
    Ok(Some((len, hash.digest())))
}
