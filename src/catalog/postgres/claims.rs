//! Render claims: which node renders a variant that several nodes are asked for at once.
//!
//! A claim is one row of `render_claims`, keyed by the variant. Claiming is one upsert that
//! takes the row when it is free, lapsed, or already the holder's; its `RETURNING` says whether
//! the claim was granted. The same statement removes a few claims that lapsed long ago (their
//! holder died before releasing them), so the table holds little more than the claims of the
//! last minute.

use super::{limit_param, PgCatalog};
use crate::catalog::CatalogResult;

/// How long after it lapsed a claim is removed by other claims, in milliseconds: long enough
/// that the clocks of the nodes need not agree closely.
const PRUNE_AFTER_MS: i64 = 60_000;

/// Lapsed claims one claim removes at most: more than one claim adds, so they cannot pile up.
pub(super) const PRUNE_LIMIT: usize = 16;

pub(super) async fn claim_render(
    catalog: &PgCatalog,
    key: &str,
    holder: &str,
    now: i64,
    until: i64,
) -> CatalogResult<bool> {
    let lapsed_before = now.saturating_sub(PRUNE_AFTER_MS);
    // The claimed key is left out of the pruning: one statement must not delete the row its
    // upsert updates.
    let granted = catalog
        .one(
            "WITH pruned AS (
             DELETE FROM render_claims WHERE key IN (
                 SELECT key FROM render_claims WHERE until < $5 AND key <> $1
                 ORDER BY until LIMIT $6 FOR UPDATE SKIP LOCKED))
         INSERT INTO render_claims (key, holder, until) VALUES ($1, $2, $4)
         ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, until = excluded.until
         WHERE render_claims.until <= $3 OR render_claims.holder = excluded.holder
         RETURNING 1",
            &[
                &key,
                &holder,
                &now,
                &until,
                &lapsed_before,
                &limit_param(PRUNE_LIMIT),
            ],
            |_| Ok(()),
        )
        .await?;
    Ok(granted.is_some())
}

pub(super) async fn release_render(
    catalog: &PgCatalog,
    key: &str,
    holder: &str,
) -> CatalogResult<()> {
    catalog
        .change(
            "DELETE FROM render_claims WHERE key = $1 AND holder = $2",
            &[&key, &holder],
        )
        .await?;
    Ok(())
}
