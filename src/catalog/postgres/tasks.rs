//! Tasks: the persistent queue shared by every node, with fair turns between apps, leases,
//! expiry and pruning.
//!
//! A claim locks the task it takes with `FOR UPDATE SKIP LOCKED`: nodes claiming at once take
//! different tasks and never wait for each other. An app's turn is a number from the sequence
//! `task_turn_seq`, drawn when it is served; apps never served have turn 0.

use super::rows::{col, task_from_row, TASK_COLUMNS};
use super::{
    commit, execute, limit_param, query, query_one, query_opt, unsigned, write_tx, PgCatalog,
};
use crate::catalog::{CatalogResult, ClaimedTask, Task, TaskStatus};
use tokio_postgres::types::ToSql;

/// Apps with waiting tasks one claim considers, in turn order: when the waiting tasks of all
/// of them are being claimed by other nodes, the claim finds nothing and the worker polls again.
const APPS_PER_CLAIM: i64 = 64;

pub(super) async fn enqueue_task(catalog: &PgCatalog, t: &Task) -> CatalogResult<()> {
    insert_task(catalog, t, 0).await
}

/// Stores a task as given, with no lease (a task in progress is one whose lease expired) and
/// its end time, and gives its app a place in the turns; one statement.
pub(super) async fn insert_task(
    catalog: &PgCatalog,
    t: &Task,
    finished_at: i64,
) -> CatalogResult<()> {
    let sql = format!(
        "WITH queued AS (
             INSERT INTO tasks ({TASK_COLUMNS}, lease_until, lease_token, finished_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, '', $11))
         INSERT INTO task_turns (app_key, turn) VALUES ($2, 0)
         ON CONFLICT (app_key) DO NOTHING"
    );
    let params: [&(dyn ToSql + Sync); 11] = [
        &t.id,
        &t.app_key,
        &t.queue_type,
        &t.status.code(),
        &i64::from(t.try_count),
        &t.queued_at,
        &t.operation_id,
        &t.path,
        &t.payload,
        &t.error,
        &finished_at,
    ];
    catalog.change(&sql, &params).await?;
    Ok(())
}

pub(super) async fn task(
    catalog: &PgCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<Option<Task>> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE app_key = $1 AND id = $2");
    catalog.one(&sql, &[&app_key, &id], task_from_row).await
}

pub(super) async fn claim_task(
    catalog: &PgCatalog,
    lease_until: i64,
) -> CatalogResult<Option<ClaimedTask>> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    // Apps with waiting work, least recently served first (ties by their oldest waiting task);
    // each app's waiting tasks are found through the partial index `tasks_waiting`.
    let apps = query(
        &tx,
        "SELECT r.app_key FROM task_turns r
         WHERE EXISTS (SELECT 1 FROM tasks t WHERE t.app_key = r.app_key AND t.status = 'W')
         ORDER BY r.turn,
                  (SELECT MIN(t.queued_at) FROM tasks t
                   WHERE t.app_key = r.app_key AND t.status = 'W'),
                  r.app_key
         LIMIT $1",
        &[&APPS_PER_CLAIM],
    )
    .await?;
    let lease = uuid::Uuid::new_v4().to_string();
    for app in &apps {
        let app_key: String = col(app, 0)?;
        let claimed = query_opt(
            &tx,
            &format!(
                "UPDATE tasks SET status = 'P', try_count = try_count + 1,
                     lease_until = $2, lease_token = $3
                 WHERE id = (SELECT id FROM tasks WHERE app_key = $1 AND status = 'W'
                             ORDER BY queued_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED)
                 RETURNING {TASK_COLUMNS}"
            ),
            &[&app_key, &lease_until, &lease],
        )
        .await?;
        if let Some(row) = claimed {
            let task = task_from_row(&row)?;
            execute(
                &tx,
                "UPDATE task_turns SET turn = nextval('task_turn_seq') WHERE app_key = $1",
                &[&app_key],
            )
            .await?;
            commit(tx).await?;
            return Ok(Some(ClaimedTask { task, lease }));
        }
    }
    commit(tx).await?;
    Ok(None)
}

pub(super) async fn pending_tasks(catalog: &PgCatalog) -> CatalogResult<(u64, u64)> {
    let client = catalog.client().await?;
    let row = query_one(
        &client,
        "SELECT COUNT(*) FILTER (WHERE status = 'W'), COUNT(*) FILTER (WHERE status = 'P')
         FROM tasks WHERE status IN ('W', 'P')",
        &[],
    )
    .await?;
    Ok((unsigned(col(&row, 0)?), unsigned(col(&row, 1)?)))
}

pub(super) async fn finish_task(
    catalog: &PgCatalog,
    claimed: &ClaimedTask,
    status: TaskStatus,
    error: Option<&str>,
    now: i64,
) -> CatalogResult<bool> {
    let finished_at = if matches!(status, TaskStatus::Done | TaskStatus::Failed) {
        now
    } else {
        0
    };
    let changed = catalog
        .change(
            "UPDATE tasks SET status = $3, error = $4, lease_until = 0, lease_token = '',
                 finished_at = $5
             WHERE id = $1 AND lease_token = $2 AND status = 'P'",
            &[
                &claimed.task.id,
                &claimed.lease,
                &status.code(),
                &error,
                &finished_at,
            ],
        )
        .await?;
    Ok(changed == 1)
}

pub(super) async fn renew_task(
    catalog: &PgCatalog,
    claimed: &ClaimedTask,
    lease_until: i64,
) -> CatalogResult<bool> {
    let changed = catalog
        .change(
            "UPDATE tasks SET lease_until = $3
             WHERE id = $1 AND lease_token = $2 AND status = 'P'",
            &[&claimed.task.id, &claimed.lease, &lease_until],
        )
        .await?;
    Ok(changed == 1)
}

pub(super) async fn expire_task_leases(
    catalog: &PgCatalog,
    now: i64,
    max_tries: u32,
) -> CatalogResult<Vec<Task>> {
    // Nodes expiring at once: the second waits for the first's row locks, then finds the
    // rows no longer in progress, so each failed task is reported once.
    let sql = format!(
        "UPDATE tasks SET
             status = CASE WHEN try_count >= $2 THEN 'F' ELSE 'W' END,
             error = CASE WHEN try_count >= $2
                 THEN 'abandoned: its last attempt never finished' ELSE error END,
             finished_at = CASE WHEN try_count >= $2 THEN $1 ELSE 0 END,
             lease_until = 0, lease_token = ''
         WHERE status = 'P' AND lease_until < $1
         RETURNING {TASK_COLUMNS}"
    );
    let expired = catalog
        .many(&sql, &[&now, &i64::from(max_tries)], task_from_row)
        .await?;
    Ok(expired
        .into_iter()
        .filter(|t| t.status == TaskStatus::Failed)
        .collect())
}

pub(super) async fn prune_tasks(
    catalog: &PgCatalog,
    finished_before: i64,
    limit: usize,
) -> CatalogResult<u64> {
    catalog
        .change(
            "DELETE FROM tasks WHERE id IN (
                 SELECT id FROM tasks WHERE status IN ('D', 'F') AND finished_at < $1
                 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            &[&finished_before, &limit_param(limit)],
        )
        .await
}
