//! The persistent task queue's workers. Tasks live in the catalog (status W, P, D, F and a
//! try count), so they survive restarts; a task left in P by a crash is taken over once its
//! lease expires.

use crate::catalog::{CatalogError, Task, TaskStatus};
use crate::context::{now_ms, Context};
use crate::ingest::release_blobs;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// `queueType` of the tasks that render an operation.
pub const IMAGE_QUEUE: &str = "image";
/// `queueType` of the tasks that delete files and folders.
pub const DELETE_QUEUE: &str = "delete";
/// Every `queueType` the workers run.
pub const QUEUE_TYPES: [&str; 2] = [IMAGE_QUEUE, DELETE_QUEUE];

/// What a `delete` task removes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletePayload {
    /// Files to delete.
    pub file_ids: Vec<String>,
    /// Folders to delete with everything below them.
    pub folder_ids: Vec<String>,
    /// Also delete the files produced from the deleted files.
    pub include_thumbnail: bool,
}

/// Deletes the entries a payload names. Returns how many existed and the blob keys to release.
pub async fn delete_entries(
    ctx: &Context,
    app_key: &str,
    payload: &DeletePayload,
) -> Result<(usize, Vec<String>), CatalogError> {
    let mut found = 0;
    let mut keys = Vec::new();
    for id in &payload.file_ids {
        if let Ok(Some(file)) = ctx.catalog.file_by_id(app_key, id).await {
            ctx.renderer.l1.invalidate_source(app_key, &file.path);
        }
        match ctx
            .catalog
            .delete_file(app_key, id, payload.include_thumbnail)
            .await
        {
            Ok(k) => {
                found += 1;
                keys.extend(k);
            }
            Err(CatalogError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    for id in &payload.folder_ids {
        if let Ok(Some(folder)) = ctx.catalog.folder_by_id(app_key, id).await {
            ctx.renderer.l1.invalidate_below(app_key, &folder.path);
        }
        match ctx.catalog.delete_folder(app_key, id).await {
            Ok(k) => {
                found += 1;
                keys.extend(k);
            }
            Err(CatalogError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok((found, keys))
}

/// Starts `tasks.workers` workers that run until `shutdown` turns true.
pub fn spawn_workers(ctx: &Arc<Context>, shutdown: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    (0..ctx.config.tasks.workers)
        .map(|_| tokio::spawn(worker(Arc::clone(ctx), shutdown.clone())))
        .collect()
}

async fn worker(ctx: Arc<Context>, mut shutdown: watch::Receiver<bool>) {
    let poll = Duration::from_millis(ctx.config.tasks.poll_interval_ms.max(10));
    let lease = i64::try_from(ctx.config.tasks.lease_secs.saturating_mul(1000)).unwrap_or(60_000);
    while !*shutdown.borrow() {
        let now = now_ms();
        match ctx.catalog.claim_task(now, now + lease).await {
            Ok(Some(task)) => run(&ctx, task).await,
            Ok(None) => {
                tokio::select! {
                    () = ctx.tasks_queued.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(e) => {
                ctx.metrics.catalog_errors.inc();
                tracing::error!(error = %e, "could not claim a task");
                tokio::time::sleep(poll).await;
            }
        }
    }
}

/// How one attempt at a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Done.
    Done,
    /// Failed in a way another attempt may fix.
    Retry(String),
    /// Failed for good.
    Fail(String),
}

impl Attempt {
    /// Whether the task ends with this attempt after `tries` tries out of `max_tries`.
    pub fn is_final(&self, tries: u32, max_tries: u32) -> bool {
        match self {
            Self::Done | Self::Fail(_) => true,
            Self::Retry(_) => tries >= max_tries,
        }
    }
}

async fn run(ctx: &Arc<Context>, task: Task) {
    let max_tries = ctx.config.tasks.max_tries;
    let outcome = match task.queue_type.as_str() {
        DELETE_QUEUE => match run_delete(ctx, &task).await {
            Ok(()) => Attempt::Done,
            Err(msg) => Attempt::Retry(msg),
        },
        IMAGE_QUEUE => crate::produce::run_image_task(ctx, &task, max_tries).await,
        other => Attempt::Fail(format!("unknown task type `{other}`")),
    };
    let last = outcome.is_final(task.try_count, max_tries);
    let (status, error) = match outcome {
        Attempt::Done => (TaskStatus::Done, None),
        Attempt::Retry(msg) | Attempt::Fail(msg) if last => (TaskStatus::Failed, Some(msg)),
        Attempt::Retry(msg) | Attempt::Fail(msg) => (TaskStatus::Waiting, Some(msg)),
    };
    if let Some(msg) = &error {
        tracing::warn!(task = %task.id, tries = task.try_count, error = %msg, "task attempt failed");
    }
    if matches!(status, TaskStatus::Done | TaskStatus::Failed) {
        ctx.metrics
            .tasks
            .with_label_values(&[task.queue_type.as_str(), status.code()])
            .inc();
    }
    if let Err(e) = ctx
        .catalog
        .finish_task(&task.id, status, error.as_deref())
        .await
    {
        ctx.metrics.catalog_errors.inc();
        tracing::error!(error = %e, task = %task.id, "could not record a task's outcome");
    }
}

async fn run_delete(ctx: &Arc<Context>, task: &Task) -> Result<(), String> {
    let payload: DeletePayload =
        serde_json::from_str(&task.payload).map_err(|e| format!("bad payload: {e}"))?;
    let (_, keys) = delete_entries(ctx, &task.app_key, &payload)
        .await
        .map_err(|e| e.to_string())?;
    release_blobs(ctx, keys, Duration::ZERO);
    Ok(())
}
