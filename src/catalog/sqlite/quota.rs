//! Quota: an app's usage as the triggers of `schema` count it, and `put_file` held to a quota.
//!
//! The check is exact without further locking: the catalog has one writer at a time (each
//! write transaction is IMMEDIATE, holding the database's write lock from its start, also
//! against other processes), so the usage read after the write is that of every write
//! committed before plus this one.

use super::blobs::trash;
use super::files::{self, record};
use super::{backend, SqliteCatalog};
use crate::catalog::quota::{Growth, Quota, Usage};
use crate::catalog::{CatalogError, CatalogResult, FileRecord, OnConflict, PutOutcome};
use rusqlite::{params, OptionalExtension, Transaction};

pub(super) async fn usage(catalog: &SqliteCatalog, app_key: &str) -> CatalogResult<Usage> {
    let key = app_key.to_owned();
    catalog.read(move |tx| usage_in(tx, &key)).await
}

/// The app's usage as this transaction sees it.
pub(super) fn usage_in(tx: &Transaction<'_>, app_key: &str) -> CatalogResult<Usage> {
    let row = tx
        .query_row(
            "SELECT bytes, files FROM app_usage WHERE app_key = ?1",
            params![app_key],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
        .optional()
        .map_err(backend)?;
    Ok(row.map_or_else(Usage::default, |(bytes, files)| Usage {
        bytes: u64::try_from(bytes).unwrap_or(0),
        files: u64::try_from(files).unwrap_or(0),
    }))
}

pub(super) async fn put_file_within(
    catalog: &SqliteCatalog,
    app_key: &str,
    file: FileRecord,
    on_conflict: OnConflict,
    quota: Quota,
) -> CatalogResult<PutOutcome> {
    if quota.is_unlimited() {
        return files::put_file(catalog, app_key, file, on_conflict).await;
    }
    let key = app_key.to_owned();
    catalog
        .tx(move |tx| {
            let (blob_key, bytes) = (file.blob_key.clone(), file.bytes);
            // The write is undone to here when refused; the transaction itself commits, to
            // keep the record of the dropped blob.
            tx.execute_batch("SAVEPOINT put_within_quota")
                .map_err(backend)?;
            let (outcome, replaced) = record(tx, &key, file, on_conflict)?;
            let growth = Growth::of_put(bytes, replaced);
            if quota.may_refuse(growth) && quota.refuses(usage_in(tx, &key)?, growth) {
                tx.execute_batch("ROLLBACK TO put_within_quota; RELEASE put_within_quota")
                    .map_err(backend)?;
                trash(tx, &[blob_key])?;
                return Ok(Err(CatalogError::QuotaExceeded));
            }
            tx.execute_batch("RELEASE put_within_quota")
                .map_err(backend)?;
            Ok(Ok(outcome))
        })
        .await?
}
