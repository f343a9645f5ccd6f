//! `image` tasks: checking what an upload or an exec names (operations, sources, callback
//! URLs) and the operations an app runs on every upload, queueing one task per source and
//! operation, and running it: render, store the `P`
//! files, and report to the callback once the task has its final outcome.

use super::{callback_body, Attempt, Work};
use crate::callback::CallbackTarget;
use crate::catalog::{AppRecord, CreatedBy, FileRecord, OperationRecord, Task};
use crate::context::Context;
use crate::operation::OperationSpec;
use crate::paths::output_path;
use crate::result_code::ResultCode;
use crate::variant::produce::{render, store_outputs, watermark_files, Urgency};
use crate::variant::{key, Variants};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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
            .map_err(|e| ctx.catalog_failure(&e))?
            .ok_or(ResultCode::InvalidParameters)?;
        let spec = OperationSpec::parse(&op.operation_id, op.jobs.as_bytes())
            .map_err(|_| ResultCode::OperationParsingFail)?;
        out.push((op, spec));
    }
    Ok(out)
}

/// The app's default operations (`defaultOperationIds`, run on every upload) that `named` (what
/// the upload names) does not hold, in the order they were set. An upload never fails for one:
/// an operation deleted since it was set is skipped (logged at debug), as is one whose stored
/// jobs no longer parse (logged as a warning).
pub async fn default_operations(
    ctx: &Context,
    app: &AppRecord,
    named: &[(OperationRecord, OperationSpec)],
) -> Result<Vec<(OperationRecord, OperationSpec)>, ResultCode> {
    let mut out = Vec::new();
    for id in &app.settings.default_operation_ids {
        if named.iter().any(|(op, _)| op.operation_id == *id) {
            continue;
        }
        let stored = ctx
            .catalog
            .operation(&app.app_key, id)
            .await
            .map_err(|e| ctx.catalog_failure(&e))?;
        let Some(op) = stored else {
            tracing::debug!(operation = %id, "default operation no longer exists; skipped");
            continue;
        };
        match OperationSpec::parse(&op.operation_id, op.jobs.as_bytes()) {
            Ok(spec) => out.push((op, spec)),
            Err(e) => {
                tracing::warn!(operation = %id, error = %e, "default operation unreadable; skipped");
            }
        }
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
    let fail = |e| ctx.catalog_failure(&e);
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
pub async fn enqueue_image(
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
    let work = Work::Image(ImagePayload {
        source_id: source.id.clone(),
        operation_id: op.operation_id.clone(),
        callback_url: callback.map(|c| c.url.clone()),
        callback_id: callback.map(|c| c.id.clone()).unwrap_or_default(),
    });
    let path = output_path(&source.path, &op.operation_id, &ext, index);
    super::enqueue(ctx, &app.app_key, &op.operation_id, &path, &work)
        .await
        .map_err(|e| ctx.catalog_failure(&e))
}

/// Runs one attempt of an `image` task: render, store the `P` files, and send the callback
/// once the task has its final outcome.
pub async fn run(
    ctx: &Arc<Variants>,
    task: &Task,
    payload: &ImagePayload,
    max_tries: u32,
) -> Attempt {
    let loaded = load_task_inputs(ctx, task, payload).await;
    let (app, source, op, spec) = match loaded {
        Ok(inputs) => inputs,
        Err(attempt) => {
            if attempt.is_final(task.try_count, max_tries) {
                callback_body::report_without_result(ctx, task, payload, &attempt).await;
            }
            return attempt;
        }
    };
    let result = match watermark_files(ctx, &app, &spec).await {
        Ok(marks) => match render(ctx, &source, &spec, &marks, Urgency::Background).await {
            Ok(outputs) => {
                let stamp = key::stamp(&source, &op, &marks);
                store_outputs(ctx, &app, &source, &op, &stamp, &outputs).await
            }
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let attempt = match &result {
        Ok(_) => Attempt::Done,
        Err(e) => Attempt::failed(e.retryable(), e.to_string()),
    };
    if attempt.is_final(task.try_count, max_tries) {
        if let Some(target) = callback_body::target(payload) {
            let body = callback_body::result_body(
                ctx,
                &payload.callback_id,
                &task.id,
                &app,
                &source,
                &op,
                &result,
            );
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
