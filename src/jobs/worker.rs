//! The persistent task queue's workers. Tasks live in the catalog (status W, P, D, F and a
//! try count), so they survive restarts. A worker holds a claimed task under a lease it renews
//! while the task runs; a task left in P by a crash waits again once its lease expires, or
//! fails for good once it has used `tasks.max_tries` attempts. Apps take turns in the queue.

use super::{callback_body, delete, image, Attempt, Work};
use crate::catalog::{Catalog, CatalogError, ClaimedTask, TaskStatus};
use crate::clock::now_ms;
use crate::context::Context;
use crate::variant::Variants;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Starts `tasks.workers` workers and the catalog maintenance sweep; all run until
/// `shutdown` turns true.
pub fn spawn_workers(ctx: &Arc<Variants>, shutdown: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let mut handles: Vec<JoinHandle<()>> = (0..ctx.config.tasks.workers)
        .map(|_| tokio::spawn(worker(Arc::clone(ctx), shutdown.clone())))
        .collect();
    handles.push(tokio::spawn(super::maintenance::run(
        Arc::clone(&ctx.ctx),
        shutdown.clone(),
    )));
    handles
}

/// The lease of a claimed task, in milliseconds.
fn lease_ms(ctx: &Context) -> i64 {
    i64::try_from(ctx.config.tasks.lease_secs.saturating_mul(1000))
        .unwrap_or(60_000)
        .max(1)
}

async fn worker(ctx: Arc<Variants>, mut shutdown: watch::Receiver<bool>) {
    let poll = Duration::from_millis(ctx.config.tasks.poll_interval_ms.max(10));
    while !*shutdown.borrow() {
        let claimed = match expire_leases(&ctx).await {
            Ok(()) => ctx.catalog.claim_task(now_ms() + lease_ms(&ctx)).await,
            Err(e) => Err(e),
        };
        match claimed {
            Ok(Some(claimed)) => run(&ctx, claimed).await,
            Ok(None) => {
                tokio::select! {
                    () = ctx.tasks_queued.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "could not claim a task");
                tokio::time::sleep(poll).await;
            }
        }
    }
}

/// Hands the tasks of dead workers back to the queue, and fails those out of attempts.
async fn expire_leases(ctx: &Context) -> Result<(), CatalogError> {
    let failed = ctx
        .catalog
        .expire_task_leases(now_ms(), ctx.config.tasks.max_tries)
        .await?;
    for task in failed {
        tracing::warn!(task = %task.id, tries = task.try_count,
            "task failed: its attempts never finished (the worker stopped each time)");
        ctx.metrics
            .tasks
            .with_label_values(&[task.queue_type.as_str(), TaskStatus::Failed.code()])
            .inc();
        if let Ok(Work::Image(payload)) = Work::of(&task) {
            let why = Attempt::Fail("its attempts never finished".to_owned());
            callback_body::report_without_result(ctx, &task, &payload, &why).await;
        }
    }
    Ok(())
}

/// Runs `attempt` while renewing the claim's lease every third of its length, so a long
/// render is not taken over by another worker. A lost lease is logged; the attempt goes on
/// and its outcome will not be recorded.
pub async fn with_renewed_lease<F: Future<Output = Attempt>>(
    catalog: &dyn Catalog,
    claimed: &ClaimedTask,
    lease_ms: i64,
    attempt: F,
) -> Attempt {
    let period = Duration::from_millis(u64::try_from(lease_ms / 3).unwrap_or(1).max(1));
    let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut holding = true;
    tokio::pin!(attempt);
    loop {
        tokio::select! {
            outcome = &mut attempt => return outcome,
            _ = renew.tick(), if holding => {
                match catalog.renew_task(claimed, now_ms() + lease_ms).await {
                    Ok(true) => {}
                    Ok(false) => {
                        holding = false;
                        tracing::warn!(task = %claimed.task.id,
                            "task lease lost to another worker; this attempt's outcome is dropped");
                    }
                    Err(e) => tracing::error!(error = %e, task = %claimed.task.id,
                        "could not renew a task lease"),
                }
            }
        }
    }
}

async fn run(ctx: &Arc<Variants>, claimed: ClaimedTask) {
    let max_tries = ctx.config.tasks.max_tries;
    let task = &claimed.task;
    let attempt = async {
        match Work::of(task) {
            Ok(Work::Delete(payload)) => delete::run(ctx, task, &payload).await,
            Ok(Work::Image(payload)) => image::run(ctx, task, &payload, max_tries).await,
            Err(e) => Attempt::Fail(e.to_string()),
        }
    };
    let outcome = with_renewed_lease(ctx.catalog.as_ref(), &claimed, lease_ms(ctx), attempt).await;
    let last = outcome.is_final(task.try_count, max_tries);
    let (status, error) = match outcome {
        Attempt::Done => (TaskStatus::Done, None),
        Attempt::Retry(msg) | Attempt::Fail(msg) if last => (TaskStatus::Failed, Some(msg)),
        Attempt::Retry(msg) | Attempt::Fail(msg) => (TaskStatus::Waiting, Some(msg)),
    };
    if let Some(msg) = &error {
        tracing::warn!(task = %task.id, tries = task.try_count, error = %msg, "task attempt failed");
    }
    match ctx
        .catalog
        .finish_task(&claimed, status, error.as_deref(), now_ms())
        .await
    {
        Ok(true) => {
            if matches!(status, TaskStatus::Done | TaskStatus::Failed) {
                ctx.metrics
                    .tasks
                    .with_label_values(&[task.queue_type.as_str(), status.code()])
                    .inc();
            }
        }
        Ok(false) => tracing::warn!(task = %task.id, status = status.code(),
            "task outcome dropped: the lease was lost to another worker"),
        Err(e) => {
            tracing::error!(error = %e, task = %task.id, "could not record a task's outcome");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::sqlite::SqliteCatalog;
    use crate::catalog::Task;

    #[tokio::test]
    async fn a_long_attempt_keeps_its_lease() {
        let dir = tempfile::tempdir().expect("tempdir");
        let catalog = SqliteCatalog::open(&dir.path().join("c.sqlite3"), 2).expect("open");
        let task = Task {
            id: "long".to_owned(),
            app_key: "A".to_owned(),
            queue_type: "image".to_owned(),
            status: TaskStatus::Waiting,
            try_count: 0,
            queued_at: 1,
            operation_id: String::new(),
            path: String::new(),
            payload: "{}".to_owned(),
            error: None,
        };
        catalog.enqueue_task(&task).await.expect("enqueue");
        let lease = 300;
        let claimed = catalog
            .claim_task(now_ms() + lease)
            .await
            .expect("claim")
            .expect("task");
        let outcome = with_renewed_lease(&catalog, &claimed, lease, async {
            tokio::time::sleep(Duration::from_millis(1000)).await;
            Attempt::Done
        })
        .await;
        assert_eq!(outcome, Attempt::Done);
        let expired = catalog
            .expire_task_leases(now_ms(), 1)
            .await
            .expect("expire");
        assert!(expired.is_empty(), "the lease was renewed: {expired:?}");
        assert!(catalog.claim_task(now_ms()).await.expect("claim").is_none());
        let finished = catalog
            .finish_task(&claimed, TaskStatus::Done, None, now_ms())
            .await
            .expect("finish");
        assert!(finished, "the worker still holds the lease");
    }
}
