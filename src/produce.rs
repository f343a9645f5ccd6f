//! Producing operation results: render an operation over a source file on the bounded pool,
//! store the outputs as `P` files (`<stem>_<operationId>.<ext>`, slices `_0000`, ...), queue
//! `image` tasks, and answer real-time requests through the two cache tiers.

use crate::callback::CallbackTarget;
use crate::catalog::{
    AppRecord, CreatedBy, FileRecord, OnConflict, OperationRecord, Task, TaskStatus,
};
use crate::context::{now_ms, Context};
use crate::imaging;
use crate::operation::OperationSpec;
use crate::paths;
use crate::render::pool::{Admission, PoolError};
use crate::result_code::ResultCode;
use crate::task_callback;
use crate::tasks::Attempt;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// Why an operation could not be produced.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProduceError {
    /// The render pool is full; try again later.
    #[error("render pool overloaded")]
    Overloaded,
    /// The source or a watermark image is missing.
    #[error("missing image: {0}")]
    Missing(String),
    /// The imaging engine refused the image or the operation.
    #[error("imaging: {0}")]
    Imaging(String),
    /// The catalog or the blob store failed.
    #[error("storage: {0}")]
    Storage(String),
    /// An uploaded file holds the result's name; it is never replaced by a result.
    #[error("an uploaded file holds the name {0}")]
    NameTaken(String),
}

impl ProduceError {
    /// The result code reported in task errors and callbacks.
    pub fn result_code(&self) -> ResultCode {
        match self {
            Self::Storage(_) => ResultCode::Fail,
            Self::NameTaken(_) => ResultCode::FileDuplicatedName,
            _ => ResultCode::OperationFail,
        }
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

/// What an `image` task does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImagePayload {
    /// Source file id.
    pub source_id: String,
    /// Operation to run.
    pub operation_id: String,
    /// Where to POST the result.
    pub callback_url: Option<String>,
    /// The `id` echoed in the callback.
    pub callback_id: String,
}

/// The `variant` stamp of a produced file: the versions of the source, the operation and the
/// watermark images that made it.
pub fn variant_stamp(
    source: &FileRecord,
    op: &OperationRecord,
    marks: &[(String, FileRecord)],
) -> String {
    let mut stamp = format!("{}:{}", source.etag, op.version);
    for (_, mark) in marks {
        stamp.push(':');
        stamp.push_str(&mark.etag);
    }
    stamp
}

/// Checks an optional callback URL given in a request: ports, and the addresses it names
/// (result code 11051 when refused).
pub async fn callback_target(
    ctx: &Context,
    raw: Option<&str>,
) -> Result<Option<CallbackTarget>, ResultCode> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(url) => ctx.callbacks.check(url).await.map(Some),
    }
}

/// Loads and parses the named operations of an app; an unknown name answers 10001.
pub async fn load_operations(
    ctx: &Context,
    app: &AppRecord,
    ids: &[String],
) -> Result<Vec<(OperationRecord, OperationSpec)>, ResultCode> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let op = ctx
            .catalog
            .operation(&app.app_key, id)
            .await
            .map_err(|e| crate::ingest::catalog_failure(ctx, &e))?
            .ok_or(ResultCode::InvalidParameters)?;
        let spec = OperationSpec::parse(&op.operation_id, op.jobs.as_bytes())
            .map_err(|_| ResultCode::OperationParsingFail)?;
        out.push((op, spec));
    }
    Ok(out)
}

/// The user files at a path: the file itself, or every file below a folder.
pub async fn sources_at(
    ctx: &Context,
    app: &AppRecord,
    path: &str,
) -> Result<Vec<FileRecord>, ResultCode> {
    let catalog = &ctx.catalog;
    let fail = |e| crate::ingest::catalog_failure(ctx, &e);
    if let Some(file) = catalog
        .file_by_path(&app.app_key, path)
        .await
        .map_err(fail)?
    {
        return Ok(vec![file]);
    }
    if catalog
        .folder_by_path(&app.app_key, path)
        .await
        .map_err(fail)?
        .is_none()
    {
        return Err(ResultCode::FolderNotExists);
    }
    let limit = ctx.config.limits.max_items + 1;
    catalog
        .files_below(&app.app_key, path, CreatedBy::User, limit)
        .await
        .map_err(fail)
}

/// The catalog path of output `index` of `count` for a source.
pub fn output_path(
    source_path: &str,
    operation_id: &str,
    ext: &str,
    index: Option<usize>,
) -> String {
    let folder = paths::parent(source_path);
    let (stem, _) = paths::split_ext(paths::name(source_path));
    let name = match index {
        Some(i) => format!("{stem}_{operation_id}_{i:04}.{ext}"),
        None => format!("{stem}_{operation_id}.{ext}"),
    };
    paths::join(folder, &name)
}

/// The operation's own callback URL, checked without a lookup (each delivery checks the
/// addresses again).
fn own_callback_target(
    ctx: &Context,
    raw: Option<&str>,
) -> Result<Option<CallbackTarget>, ResultCode> {
    raw.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|url| ctx.callbacks.parse(url))
        .transpose()
}

/// Queues an `image` task producing `op` from `source`. Without a request `callback`, the
/// task reports to the operation's own `callbackUrl` (slice and grid), when it has one that the
/// configured ports still allow.
pub async fn enqueue(
    ctx: &Context,
    app: &AppRecord,
    source: &FileRecord,
    op: &OperationRecord,
    spec: &OperationSpec,
    callback: Option<&CallbackTarget>,
) -> Result<Task, ResultCode> {
    let ext = spec.output_extension(&source.content_type);
    let index = spec.multiple_outputs().then_some(0);
    let own = match callback {
        Some(_) => None,
        None => own_callback_target(ctx, spec.callback_url()).unwrap_or_else(|_| {
            tracing::warn!(operation = %op.operation_id, "operation callbackUrl no longer allowed");
            None
        }),
    };
    let callback = callback.or(own.as_ref());
    let payload = ImagePayload {
        source_id: source.id.clone(),
        operation_id: op.operation_id.clone(),
        callback_url: callback.map(|c| c.url.clone()),
        callback_id: callback.map(|c| c.id.clone()).unwrap_or_default(),
    };
    let task = Task {
        id: uuid::Uuid::new_v4().to_string(),
        app_key: app.app_key.clone(),
        queue_type: crate::tasks::IMAGE_QUEUE.to_owned(),
        status: TaskStatus::Waiting,
        try_count: 0,
        queued_at: now_ms(),
        operation_id: op.operation_id.clone(),
        path: output_path(&source.path, &op.operation_id, &ext, index),
        payload: serde_json::to_string(&payload).map_err(|_| ResultCode::Fail)?,
        error: None,
    };
    ctx.catalog
        .enqueue_task(&task)
        .await
        .map_err(|e| crate::ingest::catalog_failure(ctx, &e))?;
    ctx.tasks_queued.notify_one();
    Ok(task)
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
            .map_err(|e| ProduceError::Storage(e.to_string()))?
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
    ctx: &Arc<Context>,
    source: &FileRecord,
    spec: &OperationSpec,
    mark_files: &[(String, FileRecord)],
    urgency: Urgency<'_>,
) -> Result<Vec<Output>, ProduceError> {
    let read = |key: String| async move {
        ctx.blob.read(&key).await.map_err(|e| {
            ctx.metrics.blob_errors.inc();
            ProduceError::Storage(e.to_string())
        })
    };
    let source_bytes = read(source.blob_key.clone()).await?;
    let mut marks = HashMap::new();
    for (raw, file) in mark_files {
        marks.insert(raw.clone(), read(file.blob_key.clone()).await?);
    }
    let mut pipeline = spec
        .to_pipeline(&marks)
        .map_err(|e| ProduceError::Imaging(e.to_string()))?;
    pipeline.target = Some(spec.output_format(&source.content_type));
    let limits = imaging_limits(ctx);
    let template = spec.first_template();
    let started = Instant::now();
    let job = move || imaging::run(&source_bytes, &pipeline, &limits);
    let pool = &ctx.renderer.pool;
    let outputs = match urgency {
        Urgency::Request(admission) => pool.run_admitted(admission, job).await,
        Urgency::Background => pool.run_waiting(job).await,
    }
    .map_err(|e| match e {
        PoolError::Overloaded => ProduceError::Overloaded,
        PoolError::Aborted => ProduceError::Imaging("render aborted".into()),
    })?
    .map_err(|e| ProduceError::Imaging(e.to_string()))?;
    ctx.metrics
        .render_seconds
        .with_label_values(&[template])
        .observe(started.elapsed().as_secs_f64());
    let many = outputs.len() > 1 || spec.multiple_outputs();
    Ok(outputs
        .into_iter()
        .enumerate()
        .map(|(i, out)| Output {
            path: output_path(
                &source.path,
                spec.operation_id(),
                out.extension(),
                many.then_some(i),
            ),
            content_type: out.content_type(),
            width: out.width,
            height: out.height,
            bytes: out.bytes,
        })
        .collect())
}

/// The imaging limits of the configuration.
pub fn imaging_limits(ctx: &Context) -> imaging::Limits {
    imaging::Limits::from(&ctx.config.imaging)
}

/// Stores rendered outputs as `P` files of `source`, replacing earlier results.
pub async fn store_outputs(
    ctx: &Arc<Context>,
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
            .map_err(|e| {
                ctx.metrics.catalog_errors.inc();
                ProduceError::Storage(e.to_string())
            })?;
        if existing.is_some_and(|f| f.created_by != CreatedBy::Operation) {
            return Err(ProduceError::NameTaken(out.path.clone()));
        }
        let key = crate::blob::BlobStore::new_key(&app.container);
        ctx.blob.put(&key, out.bytes.clone()).await.map_err(|e| {
            ctx.metrics.blob_errors.inc();
            ProduceError::Storage(e.to_string())
        })?;
        let now = now_ms();
        let file = FileRecord {
            id: uuid::Uuid::new_v4().to_string(),
            path: out.path.clone(),
            bytes: out.bytes.len() as u64,
            created_by: CreatedBy::Operation,
            operation_id: op.operation_id.clone(),
            source_id: Some(source.id.clone()),
            variant: stamp.to_owned(),
            blob_key: key.clone(),
            etag: format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&out.bytes)),
            content_type: out.content_type.to_owned(),
            width: out.width,
            height: out.height,
            taken_at: None,
            lat: None,
            lng: None,
            created_at: now,
            updated_at: now,
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
                if ctx.blob.delete(&key).await.is_err() {
                    ctx.metrics.blob_errors.inc();
                }
                ctx.metrics.catalog_errors.inc();
                return Err(ProduceError::Storage(e.to_string()));
            }
        }
    }
    Ok(stored)
}

/// Runs one attempt of an `image` task: render, store the `P` files, and send the callback
/// once the task has its final outcome.
pub async fn run_image_task(ctx: &Arc<Context>, task: &Task, max_tries: u32) -> Attempt {
    let payload: ImagePayload = match serde_json::from_str(&task.payload) {
        Ok(p) => p,
        Err(e) => return Attempt::Fail(format!("bad payload: {e}")),
    };
    let loaded = load_task_inputs(ctx, task, &payload).await;
    let (app, source, op, spec) = match loaded {
        Ok(inputs) => inputs,
        Err(attempt) => {
            if attempt.is_final(task.try_count, max_tries) {
                task_callback::report_without_result(ctx, task, &payload, &attempt).await;
            }
            return attempt;
        }
    };
    let result = match watermark_files(ctx, &app, &spec).await {
        Ok(marks) => match render(ctx, &source, &spec, &marks, Urgency::Background).await {
            Ok(outputs) => {
                let stamp = variant_stamp(&source, &op, &marks);
                store_outputs(ctx, &app, &source, &op, &stamp, &outputs).await
            }
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let attempt = match &result {
        Ok(_) => Attempt::Done,
        Err(e @ (ProduceError::Overloaded | ProduceError::Storage(_))) => {
            Attempt::Retry(e.to_string())
        }
        Err(e) => Attempt::Fail(e.to_string()),
    };
    if attempt.is_final(task.try_count, max_tries) {
        if let Some(target) = task_callback::target(&payload) {
            let body =
                task_callback::result_body(ctx, &payload.callback_id, &app, &source, &op, &result);
            ctx.callbacks.send(&target, body).await;
        }
    }
    attempt
}

async fn load_task_inputs(
    ctx: &Context,
    task: &Task,
    payload: &ImagePayload,
) -> Result<(AppRecord, FileRecord, OperationRecord, OperationSpec), Attempt> {
    let retry = |e: crate::catalog::CatalogError| Attempt::Retry(e.to_string());
    let app = ctx
        .catalog
        .app(&task.app_key)
        .await
        .map_err(retry)?
        .ok_or_else(|| Attempt::Fail("app no longer exists".into()))?;
    let source = ctx
        .catalog
        .file_by_id(&app.app_key, &payload.source_id)
        .await
        .map_err(retry)?
        .ok_or_else(|| Attempt::Fail("source file no longer exists".into()))?;
    let op = ctx
        .catalog
        .operation(&app.app_key, &payload.operation_id)
        .await
        .map_err(retry)?
        .ok_or_else(|| Attempt::Fail("operation no longer exists".into()))?;
    let spec = OperationSpec::parse(&op.operation_id, op.jobs.as_bytes())
        .map_err(|e| Attempt::Fail(e.to_string()))?;
    Ok((app, source, op, spec))
}
