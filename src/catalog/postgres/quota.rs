//! Quota: an app's usage as the triggers of `schema` count it, and `put_file` held to a quota.
//!
//! Why the check is exact at READ COMMITTED: every write of an app's files changes its row of
//! `app_usage` through the triggers, and that row update (an upsert, or an update for removed
//! files) locks the row until the transaction ends. A second writer of the same app blocks at its own trigger until the first
//! commits or rolls back, then updates the row as committed, its own change added. So after
//! `record`, a write that changed usage holds the row's lock, and the usage it reads is
//! that of every write committed before plus its own: concurrent writers of one app are decided
//! one after the other, however many nodes run them. The row is the last lock a write takes
//! (folders are locked first, see `folders`), so it adds no lock-order cycle. A write that
//! changed nothing takes no lock, and is never refused.

use super::blobs::trash;
use super::files::{self, announce_and_commit, record};
use super::rows::col;
use super::{backend, commit, name_taken, query_opt, unsigned, write_tx, PgCatalog};
use crate::catalog::quota::{Growth, Quota, Usage};
use crate::catalog::{CatalogError, CatalogResult, FileRecord, OnConflict, PutOutcome};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

pub(super) async fn usage(catalog: &PgCatalog, app_key: &str) -> CatalogResult<Usage> {
    Ok(catalog
        .one(USAGE, &[&app_key], usage_from_row)
        .await?
        .unwrap_or_default())
}

/// An app's usage row.
const USAGE: &str = "SELECT bytes, files FROM app_usage WHERE app_key = $1";

fn usage_from_row(row: &Row) -> CatalogResult<Usage> {
    Ok(Usage {
        bytes: unsigned(col(row, 0)?),
        files: unsigned(col(row, 1)?),
    })
}

/// The app's usage as `client` sees it.
pub(super) async fn usage_in<C: GenericClient + Sync>(
    client: &C,
    app_key: &str,
) -> CatalogResult<Usage> {
    query_opt(client, USAGE, &[&app_key])
        .await?
        .as_ref()
        .map_or(Ok(Usage::default()), usage_from_row)
}

pub(super) async fn put_file_within(
    catalog: &PgCatalog,
    app_key: &str,
    file: FileRecord,
    on_conflict: OnConflict,
    quota: Quota,
) -> CatalogResult<PutOutcome> {
    if quota.is_unlimited() {
        return files::put_file(catalog, app_key, file, on_conflict).await;
    }
    let requested = file.path.clone();
    let (blob_key, bytes) = (file.blob_key.clone(), file.bytes);
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    // The write is undone to here when refused; the transaction itself commits, to keep the
    // record of the dropped blob.
    tx.batch_execute("SAVEPOINT put_within_quota")
        .await
        .map_err(backend)?;
    let (outcome, replaced) = record(&tx, app_key, file, on_conflict)
        .await
        .map_err(|e| name_taken(e, &requested))?;
    let growth = Growth::of_put(bytes, replaced);
    if quota.may_refuse(growth) && quota.refuses(usage_in(&tx, app_key).await?, growth) {
        tx.batch_execute("ROLLBACK TO SAVEPOINT put_within_quota")
            .await
            .map_err(backend)?;
        trash(&tx, &[blob_key]).await?;
        commit(tx).await?;
        return Err(CatalogError::QuotaExceeded);
    }
    announce_and_commit(tx, app_key, outcome).await
}
