//! Tasks: the persistent queue with fair turns between apps, leases, expiry and pruning.

use super::rows::{task_from_row, TASK_COLUMNS};
use super::{backend, SqliteCatalog};
use crate::catalog::{CatalogResult, ClaimedTask, Task, TaskStatus};
use rusqlite::{params, OptionalExtension, Transaction};

pub(super) async fn enqueue_task(catalog: &SqliteCatalog, task: &Task) -> CatalogResult<()> {
    let t = task.clone();
    catalog.tx(move |tx| insert_task(tx, &t, 0)).await
}

/// Inserts a task as given, ended at `finished_at` (0 while it has not ended), with no lease,
/// and lets its app take part in the turns of `claim_task`.
pub(super) fn insert_task(tx: &Transaction<'_>, t: &Task, finished_at: i64) -> CatalogResult<()> {
    tx.execute(
        &format!(
            "INSERT INTO tasks ({TASK_COLUMNS}, lease_until, lease_token, finished_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, '', ?11)"
        ),
        params![
            t.id,
            t.app_key,
            t.queue_type,
            t.status.code(),
            t.try_count,
            t.queued_at,
            t.operation_id,
            t.path,
            t.payload,
            t.error,
            finished_at
        ],
    )
    .map_err(backend)?;
    tx.execute(
        "INSERT OR IGNORE INTO task_turns (app_key, turn) VALUES (?1, 0)",
        params![t.app_key],
    )
    .map_err(backend)?;
    Ok(())
}

pub(super) async fn task(
    catalog: &SqliteCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<Option<Task>> {
    let (key, id) = (app_key.to_owned(), id.to_owned());
    catalog
        .read(move |conn| {
            conn.query_row(
                &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE app_key = ?1 AND id = ?2"),
                params![key, id],
                task_from_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
}

pub(super) async fn claim_task(
    catalog: &SqliteCatalog,
    lease_until: i64,
) -> CatalogResult<Option<ClaimedTask>> {
    catalog
        .tx(move |tx| {
            // The app served least recently among those with waiting work; each app's oldest
            // waiting task is found through `tasks_app_status`, one index probe per app.
            let app: Option<String> = tx
                .query_row(
                    "SELECT r.app_key FROM task_turns r
                 WHERE EXISTS (SELECT 1 FROM tasks t
                               WHERE t.app_key = r.app_key AND t.status = 'W')
                 ORDER BY r.turn,
                          (SELECT MIN(t.queued_at) FROM tasks t
                           WHERE t.app_key = r.app_key AND t.status = 'W')
                 LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            let Some(app) = app else {
                return Ok(None);
            };
            let lease = uuid::Uuid::new_v4().to_string();
            let task = tx
                .query_row(
                    &format!(
                        "UPDATE tasks SET status = 'P', try_count = try_count + 1,
                         lease_until = ?2, lease_token = ?3
                     WHERE id = (SELECT id FROM tasks WHERE app_key = ?1 AND status = 'W'
                                 ORDER BY queued_at, rowid LIMIT 1)
                     RETURNING {TASK_COLUMNS}"
                    ),
                    params![app, lease_until, lease],
                    task_from_row,
                )
                .optional()
                .map_err(backend)?;
            tx.execute(
                "UPDATE task_turns SET turn = (SELECT MAX(turn) + 1 FROM task_turns)
             WHERE app_key = ?1",
                params![app],
            )
            .map_err(backend)?;
            Ok(task.map(|task| ClaimedTask { task, lease }))
        })
        .await
}

pub(super) async fn pending_tasks(catalog: &SqliteCatalog) -> CatalogResult<(u64, u64)> {
    catalog
        .read(|conn| {
            conn.query_row(
                "SELECT COALESCE(SUM(status = 'W'), 0), COALESCE(SUM(status = 'P'), 0)
             FROM tasks WHERE status IN ('W', 'P')",
                [],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
            )
            .map(|(w, p)| (w.max(0) as u64, p.max(0) as u64))
            .map_err(backend)
        })
        .await
}

pub(super) async fn finish_task(
    catalog: &SqliteCatalog,
    claimed: &ClaimedTask,
    status: TaskStatus,
    error: Option<&str>,
    now: i64,
) -> CatalogResult<bool> {
    let (id, lease) = (claimed.task.id.clone(), claimed.lease.clone());
    let error = error.map(str::to_owned);
    catalog
        .run(move |conn| {
            let finished_at = if matches!(status, TaskStatus::Done | TaskStatus::Failed) {
                now
            } else {
                0
            };
            let n = conn
                .execute(
                    "UPDATE tasks SET status = ?3, error = ?4, lease_until = 0, lease_token = '',
                     finished_at = ?5
                 WHERE id = ?1 AND lease_token = ?2 AND status = 'P'",
                    params![id, lease, status.code(), error, finished_at],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
        .await
}

pub(super) async fn renew_task(
    catalog: &SqliteCatalog,
    claimed: &ClaimedTask,
    lease_until: i64,
) -> CatalogResult<bool> {
    let (id, lease) = (claimed.task.id.clone(), claimed.lease.clone());
    catalog
        .run(move |conn| {
            let n = conn
                .execute(
                    "UPDATE tasks SET lease_until = ?3
                 WHERE id = ?1 AND lease_token = ?2 AND status = 'P'",
                    params![id, lease, lease_until],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
        .await
}

pub(super) async fn expire_task_leases(
    catalog: &SqliteCatalog,
    now: i64,
    max_tries: u32,
) -> CatalogResult<Vec<Task>> {
    catalog
        .tx(move |tx| {
            let mut stmt = tx
                .prepare(&format!(
                    "UPDATE tasks SET
                     status = CASE WHEN try_count >= ?2 THEN 'F' ELSE 'W' END,
                     error = CASE WHEN try_count >= ?2
                         THEN 'abandoned: its last attempt never finished' ELSE error END,
                     finished_at = CASE WHEN try_count >= ?2 THEN ?1 ELSE 0 END,
                     lease_until = 0, lease_token = ''
                 WHERE status = 'P' AND lease_until < ?1
                 RETURNING {TASK_COLUMNS}"
                ))
                .map_err(backend)?;
            let expired = stmt
                .query_map(params![now, max_tries], task_from_row)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(expired
                .into_iter()
                .filter(|t| t.status == TaskStatus::Failed)
                .collect())
        })
        .await
}

pub(super) async fn prune_tasks(
    catalog: &SqliteCatalog,
    finished_before: i64,
    limit: usize,
) -> CatalogResult<u64> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    catalog
        .tx(move |tx| {
            let n = tx
                .execute(
                    "DELETE FROM tasks WHERE rowid IN (
                     SELECT rowid FROM tasks
                     WHERE status IN ('D', 'F') AND finished_at < ?1 LIMIT ?2)",
                    params![finished_before, limit],
                )
                .map_err(backend)?;
            Ok(n as u64)
        })
        .await
}
