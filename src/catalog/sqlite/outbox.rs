//! The callback outbox: bounded, claimed under leases, retried with backoff.

use super::{backend, SqliteCatalog};
use crate::catalog::{CallbackOutcome, CatalogResult, NewCallback, PendingCallback};
use rusqlite::params;

pub(super) async fn add_callback(
    catalog: &SqliteCatalog,
    callback: &NewCallback,
    max_pending: u64,
) -> CatalogResult<bool> {
    let c = callback.clone();
    let max_pending = i64::try_from(max_pending).unwrap_or(i64::MAX);
    let backoff_ms = i64::try_from(c.backoff_ms).unwrap_or(i64::MAX);
    catalog
        .tx(move |tx| {
            let stored = tx
                .execute(
                    "INSERT INTO callback_outbox
                     (url, body, attempts, max_tries, backoff_ms, next_attempt_at, created_at)
                 SELECT ?1, ?2, 0, ?3, ?4, ?5, ?5
                 WHERE (SELECT COUNT(*) FROM (SELECT 1 FROM callback_outbox LIMIT ?6)) < ?6",
                    params![
                        c.url,
                        c.body,
                        c.max_tries,
                        backoff_ms,
                        c.created_at,
                        max_pending
                    ],
                )
                .map_err(backend)?;
            Ok(stored == 1)
        })
        .await
}

pub(super) async fn claim_callbacks(
    catalog: &SqliteCatalog,
    now: i64,
    lease_until: i64,
    limit: usize,
) -> CatalogResult<Vec<PendingCallback>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    catalog
        .tx(move |tx| {
            // Read in due order first: the order of `UPDATE ... RETURNING` is unspecified.
            let mut stmt = tx
                .prepare(
                    "SELECT id, url, body, attempts, max_tries, backoff_ms FROM callback_outbox
                     WHERE next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![now, limit], |row| {
                    Ok(PendingCallback {
                        id: row.get(0)?,
                        url: row.get(1)?,
                        body: row.get(2)?,
                        attempts: row.get(3)?,
                        max_tries: row.get(4)?,
                        backoff_ms: u64::try_from(row.get::<_, i64>(5)?).unwrap_or(0),
                        lease_until,
                    })
                })
                .map_err(backend)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(backend)?;
            let mut lease = tx
                .prepare_cached("UPDATE callback_outbox SET next_attempt_at = ?2 WHERE id = ?1")
                .map_err(backend)?;
            for row in &rows {
                lease
                    .execute(params![row.id, lease_until])
                    .map_err(backend)?;
            }
            Ok(rows)
        })
        .await
}

pub(super) async fn finish_callback(
    catalog: &SqliteCatalog,
    claimed: &PendingCallback,
    outcome: CallbackOutcome,
) -> CatalogResult<()> {
    let (id, lease) = (claimed.id, claimed.lease_until);
    catalog
        .tx(move |tx| {
            let changed = match outcome {
                CallbackOutcome::Remove => tx.execute(
                    "DELETE FROM callback_outbox WHERE id = ?1 AND next_attempt_at = ?2",
                    params![id, lease],
                ),
                CallbackOutcome::Retry(at) => tx.execute(
                    "UPDATE callback_outbox SET attempts = attempts + 1, next_attempt_at = ?3
                 WHERE id = ?1 AND next_attempt_at = ?2",
                    params![id, lease, at],
                ),
                CallbackOutcome::Postpone(at) => tx.execute(
                    "UPDATE callback_outbox SET next_attempt_at = ?3
                 WHERE id = ?1 AND next_attempt_at = ?2",
                    params![id, lease, at],
                ),
            };
            changed.map_err(backend)?;
            Ok(())
        })
        .await
}
