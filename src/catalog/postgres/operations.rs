//! Operations: versioned create-or-replace, lookups, listings, and removal of their products.
//! Saving or deleting an operation announces it to every node's change feed (see `changes`).

use super::blobs::trash;
use super::changes::announce;
use super::deletions;
use super::files::{ids_and_paths, key_and_parent, lock_folders, parents_of, touch_parents};
use super::rows::{all, col, operation_from_row, OPERATION_COLUMNS};
use super::{commit, execute, query, query_one, read_tx, unsigned, write_tx, PgCatalog};
use crate::catalog::{CatalogError, CatalogResult, Change, DeletionKind, OperationRecord, SortKey};
use deadpool_postgres::Transaction;

pub(super) async fn put_operation(
    catalog: &PgCatalog,
    app_key: &str,
    op: &OperationRecord,
) -> CatalogResult<OperationRecord> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    // One statement counts the version, so two nodes saving the same name get two versions.
    let row = query_one(
        &tx,
        "INSERT INTO operation_versions (app_key, operation_id, version) VALUES ($1, $2, 1)
         ON CONFLICT (app_key, operation_id)
             DO UPDATE SET version = operation_versions.version + 1
         RETURNING version",
        &[&app_key, &op.operation_id],
    )
    .await?;
    let version: i64 = col(&row, 0)?;
    upsert_operation(&tx, app_key, op, version).await?;
    announce(&tx, &operation_change(app_key, &op.operation_id)).await?;
    commit(tx).await?;
    Ok(OperationRecord {
        version,
        ..op.clone()
    })
}

/// Stores an operation under `version`, replacing one of the same name.
pub(super) async fn upsert_operation(
    tx: &Transaction<'_>,
    app_key: &str,
    op: &OperationRecord,
    version: i64,
) -> CatalogResult<()> {
    execute(
        tx,
        "INSERT INTO operations (app_key, operation_id, description, realtime_service, jobs,
             updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (app_key, operation_id) DO UPDATE SET
             description = excluded.description,
             realtime_service = excluded.realtime_service,
             jobs = excluded.jobs, updated_at = excluded.updated_at,
             version = excluded.version",
        &[
            &app_key,
            &op.operation_id,
            &op.description,
            &op.realtime_service,
            &op.jobs,
            &op.updated_at,
            &version,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn operation(
    catalog: &PgCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<Option<OperationRecord>> {
    let sql = format!(
        "SELECT {OPERATION_COLUMNS} FROM operations WHERE app_key = $1 AND operation_id = $2"
    );
    catalog
        .one(&sql, &[&app_key, &id], operation_from_row)
        .await
}

pub(super) async fn list_operations(
    catalog: &PgCatalog,
    app_key: &str,
    prefix: &str,
    page: u32,
    rows: u32,
    sort: SortKey,
    descending: bool,
) -> CatalogResult<(Vec<OperationRecord>, u64)> {
    let order = match (sort, descending) {
        (SortKey::Name, false) => "operation_id ASC",
        (SortKey::Name, true) => "operation_id DESC",
        (SortKey::Date, false) => "updated_at ASC, operation_id ASC",
        (SortKey::Date, true) => "updated_at DESC, operation_id ASC",
    };
    let offset = i64::from(page.saturating_sub(1)) * i64::from(rows);
    let mut client = catalog.client().await?;
    let tx = read_tx(&mut client).await?;
    let total = query_one(
        &tx,
        "SELECT COUNT(*) FROM operations WHERE app_key = $1 AND starts_with(operation_id, $2)",
        &[&app_key, &prefix],
    )
    .await?;
    let ops = query(
        &tx,
        &format!(
            "SELECT {OPERATION_COLUMNS} FROM operations
             WHERE app_key = $1 AND starts_with(operation_id, $2)
             ORDER BY {order} LIMIT $3 OFFSET $4"
        ),
        &[&app_key, &prefix, &i64::from(rows), &offset],
    )
    .await?;
    commit(tx).await?;
    Ok((all(&ops, operation_from_row)?, unsigned(col(&total, 0)?)))
}

pub(super) async fn delete_operation(
    catalog: &PgCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<()> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let removed = execute(
        &tx,
        "DELETE FROM operations WHERE app_key = $1 AND operation_id = $2",
        &[&app_key, &id],
    )
    .await?;
    if removed == 0 {
        return Err(CatalogError::NotFound(id.to_owned()));
    }
    announce(&tx, &operation_change(app_key, id)).await?;
    commit(tx).await
}

/// The change that makes the variants of an operation stale.
fn operation_change(app_key: &str, operation_id: &str) -> Change {
    Change::Operation {
        app_key: app_key.to_owned(),
        operation_id: operation_id.to_owned(),
    }
}

pub(super) async fn delete_produced_by(
    catalog: &PgCatalog,
    app_key: &str,
    operation_id: &str,
) -> CatalogResult<Vec<String>> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    // The folders before the files, in path order, as every change of a folder's entries
    // locks them.
    let folders = parents_of(
        &tx,
        "SELECT DISTINCT parent FROM files
         WHERE app_key = $1 AND operation_id = $2 AND created_by = 'P'",
        &[&app_key, &operation_id],
    )
    .await?;
    lock_folders(&tx, app_key, &folders).await?;
    let rows = query(
        &tx,
        "DELETE FROM files WHERE app_key = $1 AND operation_id = $2 AND created_by = 'P'
         RETURNING blob_key, parent, id, path",
        &[&app_key, &operation_id],
    )
    .await?;
    let removed = key_and_parent(&rows)?;
    touch_parents(&tx, app_key, &removed).await?;
    let keys: Vec<String> = removed.into_iter().map(|(key, _)| key).collect();
    trash(&tx, &keys).await?;
    let gone = ids_and_paths(&rows, 2)?;
    deletions::record(
        &tx,
        app_key,
        &gone,
        DeletionKind::Delete,
        crate::clock::now_ms(),
    )
    .await?;
    commit(tx).await?;
    Ok(keys)
}
