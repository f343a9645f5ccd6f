//! The deletion history: one entry per file taken out of the live tree, written in the
//! transaction that takes it out, read page by page from a time on, pruned by age.

use super::{backend, SqliteCatalog};
use crate::catalog::{CatalogResult, Deletion, DeletionKind};
use rusqlite::{params, Transaction};

/// The `(id, path)` of files that left the live tree.
pub(super) type Gone = Vec<(String, String)>;

/// Records that the files `(id, path)` left the live tree as `kind` at `at`.
pub(super) fn record(
    tx: &Transaction<'_>,
    app_key: &str,
    files: &[(String, String)],
    kind: DeletionKind,
    at: i64,
) -> CatalogResult<()> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO deletions (app_key, file_id, path, kind, deleted_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(backend)?;
    for (id, path) in files {
        stmt.execute(params![app_key, id, path, kind.code(), at])
            .map_err(backend)?;
    }
    Ok(())
}

pub(super) async fn deletions(
    catalog: &SqliteCatalog,
    app_key: &str,
    since: i64,
    page: u32,
    rows: u32,
) -> CatalogResult<(Vec<Deletion>, u64)> {
    let key = app_key.to_owned();
    let offset = i64::from(page.saturating_sub(1)) * i64::from(rows);
    catalog
        .read(move |tx| {
            let total: i64 = tx
                .query_row(
                    "SELECT COUNT(*) FROM deletions WHERE app_key = ?1 AND deleted_at >= ?2",
                    params![key, since],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            let mut stmt = tx
                .prepare(
                    "SELECT file_id, path, kind, deleted_at FROM deletions
                     WHERE app_key = ?1 AND deleted_at >= ?2
                     ORDER BY deleted_at, seq LIMIT ?3 OFFSET ?4",
                )
                .map_err(backend)?;
            let entries = stmt
                .query_map(params![key, since, i64::from(rows), offset], |r| {
                    Ok(Deletion {
                        file_id: r.get(0)?,
                        path: r.get(1)?,
                        kind: DeletionKind::from_code(&r.get::<_, String>(2)?)
                            .unwrap_or(DeletionKind::Delete),
                        deleted_at: r.get(3)?,
                    })
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok((entries, total.max(0) as u64))
        })
        .await
}

pub(super) async fn import_deletions(
    catalog: &SqliteCatalog,
    app_key: &str,
    entries: &[Deletion],
) -> CatalogResult<u64> {
    let key = app_key.to_owned();
    let entries = entries.to_vec();
    catalog
        .tx(move |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO deletions (app_key, file_id, path, kind, deleted_at)
                     SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM deletions
                       WHERE app_key = ?1 AND deleted_at = ?5 AND file_id = ?2 AND path = ?3
                         AND kind = ?4)",
                )
                .map_err(backend)?;
            let mut added = 0u64;
            for d in &entries {
                let params = params![key, d.file_id, d.path, d.kind.code(), d.deleted_at];
                added += stmt.execute(params).map_err(backend)? as u64;
            }
            Ok(added)
        })
        .await
}

pub(super) async fn prune_deletions(
    catalog: &SqliteCatalog,
    before: i64,
    limit: usize,
) -> CatalogResult<u64> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    catalog
        .tx(move |tx| {
            let n = tx
                .execute(
                    "DELETE FROM deletions WHERE seq IN
                     (SELECT seq FROM deletions WHERE deleted_at < ?1 LIMIT ?2)",
                    params![before, limit],
                )
                .map_err(backend)?;
            Ok(n as u64)
        })
        .await
}
