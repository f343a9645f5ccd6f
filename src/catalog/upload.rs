//! Resumable uploads as the catalog keeps them: an upload not finished yet (its declared
//! length, how many of its bytes are stored, when it expires) and the chunks its bytes are
//! stored in, one blob each, in offset order. An unfinished upload is no file: listings and
//! delivery never see it.

/// A resumable upload that is not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Unique id (32 lowercase hex digits), the last segment of its URL.
    pub id: String,
    /// Owning app.
    pub app_key: String,
    /// Bytes the finished file will have (`Upload-Length`).
    pub length: u64,
    /// Bytes stored so far, in recorded chunks (`Upload-Offset`).
    pub offset: u64,
    /// Chunks recorded so far.
    pub chunks: u64,
    /// `Upload-Metadata` as the client sent it at creation.
    pub metadata: String,
    /// Creation time.
    pub created_at: i64,
    /// When it expires: from then on it takes no bytes, and the sweep deletes it.
    pub expires_at: i64,
}

/// Bytes of an upload stored in one blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadChunk {
    /// Offset of its first byte in the upload.
    pub offset: u64,
    /// Its length, at least 1.
    pub bytes: u64,
    /// The blob holding them.
    pub blob_key: String,
}

/// How an upload's offset moved, or why it did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    /// The chunk was recorded; the upload's new offset.
    Moved(u64),
    /// The upload's offset was not the chunk's (another request moved it first), or the chunk
    /// would end past the upload's length: nothing was recorded. The upload's offset now.
    Stale(u64),
    /// The upload holds as many chunks as it may: nothing was recorded, only a chunk that
    /// finishes it is still taken. The upload's offset now.
    Full(u64),
}
