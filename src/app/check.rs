//! `pictor check [--repair]`: compares the catalog with the object store. It finds blobs that
//! files reference but the store lacks (missing bytes, which no repair can bring back) and
//! blobs the store holds that nothing references (orphans: left by a crash between writing
//! bytes and recording them, or by a deletion that never ran). Blobs younger than
//! `storage.orphan_grace_secs` are not orphans yet (an upload may be in flight), nor are
//! those dropped less than `storage.release_delay_secs` ago (a reader may stream them), nor
//! the chunks of unfinished resumable uploads.

use crate::catalog::{BlobReference, CatalogError};
use crate::context::Context;
use crate::storage::BlobError;
use serde::Serialize;
use std::collections::HashSet;

/// Why a check could not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The catalog could not be read or changed.
    #[error("catalog: {0}")]
    Catalog(#[from] CatalogError),
    /// The object store could not be listed.
    #[error("storage: {0}")]
    Blob(#[from] BlobError),
}

/// A file whose bytes are not in the object store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingBlob {
    /// App owning the file.
    pub app_key: String,
    /// Path of the file.
    pub path: String,
    /// Key the catalog points to.
    pub blob_key: String,
}

/// What a check found, and what `--repair` did. Printed as one JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// Files in the catalog.
    pub files: usize,
    /// Objects in the store.
    pub stored: usize,
    /// Files whose bytes are missing, by key.
    pub missing: Vec<MissingBlob>,
    /// Keys of stored blobs nothing references, older than the grace period, sorted.
    pub orphans: Vec<String>,
    /// Orphans deleted (only with `--repair`).
    pub deleted: usize,
}

impl CheckReport {
    /// Whether catalog and store agree (after repair, when asked).
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.orphans.len() == self.deleted
    }
}

/// Compares catalog and store at `now` (ms since the epoch); with `repair`, deletes the
/// orphans and forgets any pending deletion of them.
pub async fn run(ctx: &Context, repair: bool, now: i64) -> Result<CheckReport, CheckError> {
    let ms = |secs: u64| i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let references = ctx
        .catalog
        .blob_references(now.saturating_sub(ms(ctx.config.storage.release_delay_secs)))
        .await?;
    let chunks = ctx.catalog.upload_blob_keys().await?;
    let stored = ctx.blob.list().await?;
    let stored_keys: HashSet<&str> = stored.iter().map(|b| b.key.as_str()).collect();
    let mut kept: HashSet<&str> = references
        .files
        .iter()
        .map(|f| f.blob_key.as_str())
        .collect();
    kept.extend(references.recently_dropped.iter().map(String::as_str));
    kept.extend(chunks.iter().map(String::as_str));

    let missing: Vec<MissingBlob> = references
        .files
        .iter()
        .filter(|f| !stored_keys.contains(f.blob_key.as_str()))
        .map(|f: &BlobReference| MissingBlob {
            app_key: f.app_key.clone(),
            path: f.path.clone(),
            blob_key: f.blob_key.clone(),
        })
        .collect();
    let young = now.saturating_sub(ms(ctx.config.storage.orphan_grace_secs));
    let mut orphans: Vec<String> = stored
        .iter()
        .filter(|b| !kept.contains(b.key.as_str()) && b.modified_at < young)
        .map(|b| b.key.clone())
        .collect();
    orphans.sort();

    let deleted = if repair {
        crate::jobs::maintenance::delete_blobs(ctx, &orphans).await?
    } else {
        0
    };
    Ok(CheckReport {
        files: references.files.len(),
        stored: stored.len(),
        missing,
        orphans,
        deleted,
    })
}
