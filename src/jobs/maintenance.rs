//! The periodic catalog sweep of a serving process. It purges the trash items whose retention
//! ran out, deletes resumable uploads that expired (their chunks join the dropped blobs),
//! deletes the blobs of replaced, deleted and purged files once
//! `storage.release_delay_secs` has passed (their pending deletion is kept in the catalog, so a
//! crash or a restart does not leak them) and no file references them any more (copies share
//! blobs: the catalog hands out only blobs no file names), prunes tasks that ended longer ago
//! than `tasks.retention_hours` and entries of the deletion history older than
//! `deletions.retention_days`. It runs at start, then every `storage.release_delay_secs` (at
//! least 1 s, at most a minute) until shutdown.

use crate::catalog::CatalogError;
use crate::clock::now_ms;
use crate::context::Context;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Longest time between two sweeps.
const SWEEP_AT_MOST_EVERY: Duration = Duration::from_secs(60);

/// Rows handled per catalog transaction, so a large backlog never holds the writer long.
const BATCH: usize = 1000;

/// Sweeps at start and then periodically until `shutdown` turns true.
pub async fn run(ctx: Arc<Context>, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_secs(ctx.config.storage.release_delay_secs)
        .clamp(Duration::from_secs(1), SWEEP_AT_MOST_EVERY);
    while !*shutdown.borrow() {
        sweep(&ctx).await;
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// One sweep; failures are logged and counted, the next sweep tries again.
pub async fn sweep(ctx: &Context) {
    let now = now_ms();
    in_batches("purged trash items past their retention", || {
        ctx.catalog.purge_expired_trash(now, BATCH)
    })
    .await;
    sweep_expired_uploads(ctx).await;
    sweep_dropped_blobs(ctx).await;
    prune_tasks(ctx).await;
    let history_ms = ctx
        .config
        .trash
        .days_ms(ctx.config.deletions.retention_days);
    let before = now.saturating_sub(history_ms);
    in_batches("pruned the deletion history", || {
        ctx.catalog.prune_deletions(before, BATCH)
    })
    .await;
}

/// Runs `step` (one catalog transaction handling up to [`BATCH`] rows, returning how many)
/// until it handles fewer; logs what it did as `done`, or the failure.
async fn in_batches<F, Fut>(done: &str, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, CatalogError>>,
{
    let mut total = 0;
    loop {
        match step().await {
            Ok(n) => {
                total += n;
                if n < BATCH as u64 {
                    break;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "maintenance sweep: {done} failed");
                return;
            }
        }
    }
    if total > 0 {
        tracing::info!(count = total, "{done}");
    }
}

/// Deletes blobs and forgets their pending deletion; a blob that could not be deleted stays
/// pending for the next sweep. Returns how many were deleted, or the catalog's error when
/// their deletion could not be forgotten.
pub async fn delete_blobs(ctx: &Context, keys: &[String]) -> Result<usize, CatalogError> {
    let mut deleted = Vec::with_capacity(keys.len());
    for key in keys {
        match ctx.blob.delete(key).await {
            Ok(()) => deleted.push(key.clone()),
            Err(e) => {
                tracing::warn!(error = %e, key, "could not delete an unreferenced blob");
            }
        }
    }
    ctx.catalog.forget_dropped_blobs(&deleted).await?;
    Ok(deleted.len())
}

async fn sweep_dropped_blobs(ctx: &Context) {
    let delay_ms = i64::try_from(ctx.config.storage.release_delay_secs.saturating_mul(1000))
        .unwrap_or(i64::MAX);
    let before = now_ms().saturating_sub(delay_ms);
    loop {
        let keys = match ctx.catalog.dropped_blobs(before, BATCH).await {
            Ok(keys) => keys,
            Err(e) => {
                tracing::error!(error = %e, "could not read pending blob deletions");
                return;
            }
        };
        if keys.is_empty() {
            return;
        }
        let deleted = match delete_blobs(ctx, &keys).await {
            Ok(deleted) => deleted,
            Err(e) => {
                tracing::error!(error = %e, "could not forget deleted blobs");
                return;
            }
        };
        tracing::info!(deleted, "deleted the blobs of replaced or deleted files");
        // Blobs that could not be deleted stay pending and are read again by the next sweep,
        // not by this one.
        if keys.len() < BATCH || deleted < keys.len() {
            return;
        }
    }
}

/// Deletes the resumable uploads that expired, a batch at a time; their chunks are dropped
/// blobs, deleted by [`sweep_dropped_blobs`] after the release delay.
async fn sweep_expired_uploads(ctx: &Context) {
    let mut deleted = 0usize;
    loop {
        let expired = match ctx.catalog.expired_uploads(now_ms(), BATCH).await {
            Ok(expired) => expired,
            Err(e) => {
                tracing::error!(error = %e, "could not read expired uploads");
                break;
            }
        };
        for upload in &expired {
            match ctx.catalog.delete_upload(&upload.app_key, &upload.id).await {
                Ok(_) | Err(CatalogError::NotFound(_)) => deleted += 1,
                Err(e) => {
                    tracing::error!(error = %e, upload = %upload.id, "could not delete an expired upload");
                    return;
                }
            }
        }
        if expired.len() < BATCH {
            break;
        }
    }
    if deleted > 0 {
        tracing::info!(deleted, "deleted expired resumable uploads");
    }
}

async fn prune_tasks(ctx: &Context) {
    let retention_ms = i64::try_from(ctx.config.tasks.retention_hours.saturating_mul(3_600_000))
        .unwrap_or(i64::MAX);
    let before = now_ms().saturating_sub(retention_ms);
    in_batches("pruned finished tasks", || {
        ctx.catalog.prune_tasks(before, BATCH)
    })
    .await;
}
