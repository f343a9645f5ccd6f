//! Operations: versioned create-or-replace, lookups, listings, and removal of their products.

use super::blobs::trash;
use super::deletions;
use super::files::touch_parents;
use super::rows::{operation_from_row, OPERATION_COLUMNS};
use super::{backend, SqliteCatalog};
use crate::catalog::{CatalogError, CatalogResult, DeletionKind, OperationRecord, SortKey};
use rusqlite::{params, OptionalExtension, Transaction};

pub(super) async fn put_operation(
    catalog: &SqliteCatalog,
    app_key: &str,
    op: &OperationRecord,
) -> CatalogResult<OperationRecord> {
    let (key, op) = (app_key.to_owned(), op.clone());
    catalog
        .tx(move |tx| {
            let last: Option<i64> = tx
                .query_row(
                    "SELECT version FROM operation_versions
                     WHERE app_key = ?1 AND operation_id = ?2",
                    params![key, op.operation_id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            let stored = OperationRecord {
                version: last.map_or(1, |v| v + 1),
                ..op
            };
            store_operation(tx, &key, &stored)?;
            Ok(stored)
        })
        .await
}

/// Stores an operation as given, replacing one of the same name, and raises the last version
/// of its name to the operation's.
pub(super) fn store_operation(
    tx: &Transaction<'_>,
    app_key: &str,
    op: &OperationRecord,
) -> CatalogResult<()> {
    raise_version(tx, app_key, &op.operation_id, op.version)?;
    tx.execute(
        "INSERT INTO operations (app_key, operation_id, description, realtime_service,
             jobs, updated_at, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (app_key, operation_id) DO UPDATE SET
             description = excluded.description,
             realtime_service = excluded.realtime_service,
             jobs = excluded.jobs, updated_at = excluded.updated_at,
             version = excluded.version",
        params![
            app_key,
            op.operation_id,
            op.description,
            op.realtime_service,
            op.jobs,
            op.updated_at,
            op.version
        ],
    )
    .map_err(backend)?;
    Ok(())
}

/// Raises the last version an operation name was given to `version`, never lowering it.
pub(super) fn raise_version(
    tx: &Transaction<'_>,
    app_key: &str,
    operation_id: &str,
    version: i64,
) -> CatalogResult<()> {
    tx.execute(
        "INSERT INTO operation_versions (app_key, operation_id, version) VALUES (?1, ?2, ?3)
         ON CONFLICT (app_key, operation_id)
         DO UPDATE SET version = max(version, excluded.version)",
        params![app_key, operation_id, version],
    )
    .map_err(backend)?;
    Ok(())
}

pub(super) async fn operation(
    catalog: &SqliteCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<Option<OperationRecord>> {
    let (key, id) = (app_key.to_owned(), id.to_owned());
    catalog
        .read(move |conn| {
            conn.prepare_cached(&format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE app_key = ?1 AND operation_id = ?2"
        ))
            .and_then(|mut s| s.query_row(params![key, id], operation_from_row).optional())
            .map_err(backend)
        })
        .await
}

pub(super) async fn list_operations(
    catalog: &SqliteCatalog,
    app_key: &str,
    prefix: &str,
    page: u32,
    rows: u32,
    sort: SortKey,
    descending: bool,
) -> CatalogResult<(Vec<OperationRecord>, u64)> {
    let (key, prefix) = (app_key.to_owned(), prefix.to_owned());
    catalog
        .read(move |conn| {
            let order = match (sort, descending) {
                (SortKey::Name, false) => "operation_id ASC",
                (SortKey::Name, true) => "operation_id DESC",
                (SortKey::Date, false) => "updated_at ASC, operation_id ASC",
                (SortKey::Date, true) => "updated_at DESC, operation_id ASC",
            };
            let total: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM operations
                 WHERE app_key = ?1 AND substr(operation_id, 1, length(?2)) = ?2",
                    params![key, prefix],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            let offset = i64::from(page.saturating_sub(1)) * i64::from(rows);
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {OPERATION_COLUMNS} FROM operations
                 WHERE app_key = ?1 AND substr(operation_id, 1, length(?2)) = ?2
                 ORDER BY {order} LIMIT ?3 OFFSET ?4"
                ))
                .map_err(backend)?;
            let ops = stmt
                .query_map(
                    params![key, prefix, i64::from(rows), offset],
                    operation_from_row,
                )
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok((ops, total.max(0) as u64))
        })
        .await
}

pub(super) async fn delete_operation(
    catalog: &SqliteCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<()> {
    let (key, id) = (app_key.to_owned(), id.to_owned());
    catalog
        .run(move |conn| {
            let n = conn
                .execute(
                    "DELETE FROM operations WHERE app_key = ?1 AND operation_id = ?2",
                    params![key, id],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(CatalogError::NotFound(id));
            }
            Ok(())
        })
        .await
}

pub(super) async fn delete_produced_by(
    catalog: &SqliteCatalog,
    app_key: &str,
    operation_id: &str,
) -> CatalogResult<Vec<String>> {
    let (key, id) = (app_key.to_owned(), operation_id.to_owned());
    catalog
        .tx(move |tx| {
            let mut stmt = tx
                .prepare(
                    "DELETE FROM files WHERE app_key = ?1 AND operation_id = ?2
                   AND created_by = 'P' RETURNING blob_key, parent, id, path",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![key, id], |r| {
                    Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?)))
                })
                .map_err(backend)?
                .collect::<Result<Vec<((String, String), (String, String))>, _>>()
                .map_err(backend)?;
            let (removed, gone): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
            touch_parents(tx, &key, &removed)?;
            let keys: Vec<String> = removed.into_iter().map(|(k, _)| k).collect();
            trash(tx, &keys)?;
            deletions::record(
                tx,
                &key,
                &gone,
                DeletionKind::Delete,
                crate::clock::now_ms(),
            )?;
            Ok(keys)
        })
        .await
}
