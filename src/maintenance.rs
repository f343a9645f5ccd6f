//! The periodic catalog sweep of a serving process: prunes tasks that ended longer ago than
//! `tasks.retention_hours`. It runs once at start, then every minute until shutdown.

use crate::context::{now_ms, Context};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Time between two sweeps.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Rows removed per catalog transaction, so a large backlog never holds the writer long.
const BATCH: usize = 1000;

/// Sweeps at start and then every [`SWEEP_EVERY`] until `shutdown` turns true.
pub async fn run(ctx: Arc<Context>, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        sweep(&ctx).await;
        tokio::select! {
            () = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// One sweep; failures are logged and counted, the next sweep tries again.
pub async fn sweep(ctx: &Context) {
    let retention_ms = i64::try_from(ctx.config.tasks.retention_hours.saturating_mul(3_600_000))
        .unwrap_or(i64::MAX);
    let before = now_ms().saturating_sub(retention_ms);
    loop {
        match ctx.catalog.prune_tasks(before, BATCH).await {
            Ok(n) if n as usize >= BATCH => {}
            Ok(n) => {
                if n > 0 {
                    tracing::info!(pruned = n, "pruned finished tasks");
                }
                break;
            }
            Err(e) => {
                ctx.metrics.catalog_errors.inc();
                tracing::error!(error = %e, "could not prune finished tasks");
                break;
            }
        }
    }
}
