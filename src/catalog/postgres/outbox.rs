//! The callback outbox: bounded, claimed under leases with `FOR UPDATE SKIP LOCKED` (nodes
//! claiming at once take different callbacks), retried with backoff.

use super::rows::col;
use super::{limit_param, query, PgCatalog};
use crate::catalog::{CallbackOutcome, CatalogResult, NewCallback, PendingCallback};

pub(super) async fn add_callback(
    catalog: &PgCatalog,
    c: &NewCallback,
    max_pending: u64,
) -> CatalogResult<bool> {
    let max_pending = i64::try_from(max_pending).unwrap_or(i64::MAX);
    let backoff_ms = i64::try_from(c.backoff_ms).unwrap_or(i64::MAX);
    // Nodes adding at once may each see room for one more: the outbox may exceed its bound by
    // the number of callbacks added concurrently, never more.
    let stored = catalog
        .change(
            "INSERT INTO callback_outbox
                 (url, body, attempts, max_tries, backoff_ms, next_attempt_at, created_at)
             SELECT $1::TEXT, $2::TEXT, 0, $3::BIGINT, $4::BIGINT, $5::BIGINT, $5::BIGINT
             WHERE (SELECT COUNT(*) FROM (SELECT 1 FROM callback_outbox LIMIT $6::BIGINT) AS held)
                 < $6::BIGINT",
            &[
                &c.url,
                &c.body,
                &i64::from(c.max_tries),
                &backoff_ms,
                &c.created_at,
                &max_pending,
            ],
        )
        .await?;
    Ok(stored == 1)
}

pub(super) async fn claim_callbacks(
    catalog: &PgCatalog,
    now: i64,
    lease_until: i64,
    limit: usize,
) -> CatalogResult<Vec<PendingCallback>> {
    let client = catalog.client().await?;
    let rows = query(
        &client,
        "WITH due AS (
             SELECT id, next_attempt_at FROM callback_outbox
             WHERE next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3
             FOR UPDATE SKIP LOCKED),
         leased AS (
             UPDATE callback_outbox c SET next_attempt_at = $2 FROM due WHERE c.id = due.id
             RETURNING c.id, c.url, c.body, c.attempts, c.max_tries, c.backoff_ms,
                 due.next_attempt_at AS due_at)
         SELECT id, url, body, attempts, max_tries, backoff_ms FROM leased
         ORDER BY due_at, id",
        &[&now, &lease_until, &limit_param(limit)],
    )
    .await?;
    rows.iter()
        .map(|row| {
            let attempts: i64 = col(row, 3)?;
            let max_tries: i64 = col(row, 4)?;
            let backoff_ms: i64 = col(row, 5)?;
            Ok(PendingCallback {
                id: col(row, 0)?,
                url: col(row, 1)?,
                body: col(row, 2)?,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                max_tries: u32::try_from(max_tries).unwrap_or(u32::MAX),
                backoff_ms: u64::try_from(backoff_ms).unwrap_or(0),
                lease_until,
            })
        })
        .collect()
}

pub(super) async fn finish_callback(
    catalog: &PgCatalog,
    claimed: &PendingCallback,
    outcome: CallbackOutcome,
) -> CatalogResult<()> {
    let (id, lease) = (claimed.id, claimed.lease_until);
    match outcome {
        CallbackOutcome::Remove => {
            catalog
                .change(
                    "DELETE FROM callback_outbox WHERE id = $1 AND next_attempt_at = $2",
                    &[&id, &lease],
                )
                .await
        }
        CallbackOutcome::Retry(at) => {
            catalog
                .change(
                    "UPDATE callback_outbox SET attempts = attempts + 1, next_attempt_at = $3
                     WHERE id = $1 AND next_attempt_at = $2",
                    &[&id, &lease, &at],
                )
                .await
        }
        CallbackOutcome::Postpone(at) => {
            catalog
                .change(
                    "UPDATE callback_outbox SET next_attempt_at = $3
                     WHERE id = $1 AND next_attempt_at = $2",
                    &[&id, &lease, &at],
                )
                .await
        }
    }?;
    Ok(())
}
