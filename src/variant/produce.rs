//! Producing operation results: render an operation over a source file on the bounded pool and
//! store the outputs as `P` files (`<stem>_<operationId>.<ext>`, slices `_0000`, ...). Real-time
//! requests (`resolve`), stale stored names (`refresh`) and `image` tasks all produce through
//! here.

use super::pool::{Admission, PoolError};
use super::Variants;
use crate::catalog::{AppRecord, CatalogError, CreatedBy, FileRecord, OnConflict, OperationRecord};
use crate::context::Context;
use crate::imaging::{self, ImagingError};
use crate::operation::{OperationError, OperationSpec};
use crate::paths;
use crate::result_code::ResultCode;
use crate::storage::{BlobError, BlobStore};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// Why an operation could not be produced. Errors keep their source; the catalog and store
/// errors are shared (`Arc`) because one render's outcome reaches every request waiting on it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProduceError {
    /// The render pool is full; try again later.
    #[error("render pool overloaded")]
    Overloaded,
    /// The render died outside the imaging guard (a panic or a cancelled worker).
    #[error("render aborted")]
    Aborted,
    /// The source or a watermark image is missing.
    #[error("missing image: {0}")]
    Missing(String),
    /// The stored operation no longer reads as a pipeline.
    #[error("operation: {0}")]
    Operation(#[source] OperationError),
    /// The imaging engine refused the image or the operation.
    #[error("imaging: {0}")]
    Imaging(#[source] ImagingError),
    /// The catalog failed.
    #[error("catalog: {0}")]
    Catalog(#[source] Arc<CatalogError>),
    /// The blob store failed.
    #[error("storage: {0}")]
    Storage(#[source] Arc<BlobError>),
    /// An uploaded file holds the result's name; it is never replaced by a result.
    #[error("an uploaded file holds the name {0}")]
    NameTaken(String),
}

impl From<CatalogError> for ProduceError {
    fn from(e: CatalogError) -> Self {
        Self::Catalog(Arc::new(e))
    }
}

impl From<BlobError> for ProduceError {
    fn from(e: BlobError) -> Self {
        Self::Storage(Arc::new(e))
    }
}

impl ProduceError {
    /// The result code reported in task errors and callbacks.
    pub fn result_code(&self) -> ResultCode {
        match self {
            Self::Catalog(_) | Self::Storage(_) => ResultCode::Fail,
            Self::NameTaken(_) => ResultCode::FileDuplicatedName,
            _ => ResultCode::OperationFail,
        }
    }

    /// Whether another attempt may succeed: the pool was full, or the catalog or the store
    /// failed. A refused image, a missing input or an aborted render would fail again.
    pub fn retryable(&self) -> bool {
        matches!(self, Self::Overloaded | Self::Catalog(_) | Self::Storage(_))
    }
}

/// One rendered output, before it is stored.
#[derive(Debug, Clone)]
pub struct Output {
    /// Catalog path it is stored at.
    pub path: String,
    /// Encoded bytes.
    pub bytes: Bytes,
    /// Media type.
    pub content_type: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// The watermark files an operation names, from the same container, by their raw path.
pub async fn watermark_files(
    ctx: &Context,
    app: &AppRecord,
    spec: &OperationSpec,
) -> Result<Vec<(String, FileRecord)>, ProduceError> {
    let mut files = Vec::new();
    for raw in spec.watermark_paths() {
        let path = paths::normalize(&raw, ctx.config.limits.max_path_bytes)
            .map_err(|_| ProduceError::Missing(raw.clone()))?;
        let file = ctx
            .catalog
            .file_by_path(&app.app_key, &path)
            .await
            .map_err(ProduceError::from)?
            .ok_or_else(|| ProduceError::Missing(raw.clone()))?;
        files.push((raw, file));
    }
    Ok(files)
}

/// Who waits for a render.
#[derive(Debug, Clone, Copy)]
pub enum Urgency<'a> {
    /// An HTTP request, holding the place in the pool it took before loading its inputs (a
    /// request finding the pool full is refused with 503 before it gets here).
    Request(&'a Admission),
    /// A background task: waits for a worker.
    Background,
}

/// Renders `op` over `source` on the pool; returns the outputs with their target paths.
pub async fn render(
    ctx: &Variants,
    source: &FileRecord,
    spec: &OperationSpec,
    mark_files: &[(String, FileRecord)],
    urgency: Urgency<'_>,
) -> Result<Vec<Output>, ProduceError> {
    let read = |key: String| async move {
        ctx.sources
            .read(&ctx.blob, &key)
            .await
            .map_err(ProduceError::Storage)
    };
    let source_bytes = read(source.blob_key.clone()).await?;
    let mut marks = HashMap::new();
    for (raw, file) in mark_files {
        marks.insert(raw.clone(), read(file.blob_key.clone()).await?);
    }
    let mut pipeline = spec.to_pipeline(&marks).map_err(ProduceError::Operation)?;
    pipeline.target = Some(spec.output_format(&source.content_type));
    let limits = imaging::Limits::from(&ctx.config.imaging);
    let template = spec.first_template();
    let started = Instant::now();
    let job = move || imaging::run(&source_bytes, &pipeline, &limits);
    let pool = &ctx.pool;
    let outputs = match urgency {
        Urgency::Request(admission) => pool.run_admitted(admission, job).await,
        Urgency::Background => pool.run_waiting(job).await,
    }
    .map_err(|e| match e {
        PoolError::Overloaded => ProduceError::Overloaded,
        PoolError::Aborted => ProduceError::Aborted,
    })?
    .map_err(ProduceError::Imaging)?;
    ctx.metrics
        .render_seconds
        .with_label_values(&[template])
        .observe(started.elapsed().as_secs_f64());
    let count = outputs.len();
    Ok(outputs
        .into_iter()
        .enumerate()
        .map(|(i, out)| Output {
            path: paths::output_path(
                &source.path,
                spec.operation_id(),
                out.extension(),
                spec.output_index(i, count),
            ),
            content_type: out.content_type(),
            width: out.width,
            height: out.height,
            bytes: out.bytes,
        })
        .collect())
}

/// Stores rendered outputs as `P` files of `source`, replacing earlier results.
pub async fn store_outputs(
    ctx: &Context,
    app: &AppRecord,
    source: &FileRecord,
    op: &OperationRecord,
    stamp: &str,
    outputs: &[Output],
) -> Result<Vec<(FileRecord, bool)>, ProduceError> {
    let mut stored = Vec::with_capacity(outputs.len());
    for out in outputs {
        let existing = ctx
            .catalog
            .file_by_path(&app.app_key, &out.path)
            .await
            .map_err(ProduceError::from)?;
        if existing.is_some_and(|f| f.created_by != CreatedBy::Operation) {
            return Err(ProduceError::NameTaken(out.path.clone()));
        }
        let key = BlobStore::new_key(&app.container);
        ctx.blob
            .put(&key, out.bytes.clone())
            .await
            .map_err(ProduceError::from)?;
        let file = FileRecord {
            created_by: CreatedBy::Operation,
            operation_id: op.operation_id.clone(),
            source_id: Some(source.id.clone()),
            variant: stamp.to_owned(),
            ..FileRecord::new(
                &out.path,
                &key,
                &out.bytes,
                out.content_type,
                (out.width, out.height),
            )
        };
        match ctx
            .catalog
            .put_file(&app.app_key, file, OnConflict::Overwrite)
            .await
        {
            Ok(outcome) => {
                stored.push((outcome.file, outcome.overwritten));
            }
            Err(e) => {
                if let Err(e) = ctx.blob.delete(&key).await {
                    tracing::warn!(error = %e, key = %key, "could not delete an unrecorded result");
                }
                return Err(ProduceError::from(e));
            }
        }
    }
    Ok(stored)
}
