//! Blobs: the trash of dropped blob keys awaiting deletion, and the references `check` reads.

use super::{backend, SqliteCatalog};
use crate::catalog::{BlobReference, BlobReferences, CatalogResult};
use rusqlite::{params, Transaction};

pub(super) async fn dropped_blobs(
    catalog: &SqliteCatalog,
    dropped_before: i64,
    limit: usize,
) -> CatalogResult<Vec<String>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    catalog
        .read(move |tx| {
            let mut stmt = tx
                .prepare(
                    "SELECT blob_key FROM blob_trash WHERE dropped_at < ?1
                 ORDER BY dropped_at LIMIT ?2",
                )
                .map_err(backend)?;
            let keys = stmt
                .query_map(params![dropped_before, limit], |r| r.get::<_, String>(0))
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(keys)
        })
        .await
}

pub(super) async fn forget_dropped_blobs(
    catalog: &SqliteCatalog,
    keys: &[String],
) -> CatalogResult<()> {
    let keys = keys.to_vec();
    catalog
        .tx(move |tx| {
            let mut stmt = tx
                .prepare_cached("DELETE FROM blob_trash WHERE blob_key = ?1")
                .map_err(backend)?;
            for key in &keys {
                stmt.execute(params![key]).map_err(backend)?;
            }
            Ok(())
        })
        .await
}

pub(super) async fn blob_references(
    catalog: &SqliteCatalog,
    dropped_since: i64,
) -> CatalogResult<BlobReferences> {
    catalog
        .read(move |tx| {
            let mut stmt = tx
                .prepare(
                    "SELECT app_key, path, blob_key FROM files
                     UNION ALL SELECT app_key, path, blob_key FROM trashed_files
                     ORDER BY blob_key",
                )
                .map_err(backend)?;
            let files = stmt
                .query_map([], |r| {
                    Ok(BlobReference {
                        app_key: r.get(0)?,
                        path: r.get(1)?,
                        blob_key: r.get(2)?,
                    })
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            let mut stmt = tx
                .prepare("SELECT blob_key FROM blob_trash WHERE dropped_at >= ?1")
                .map_err(backend)?;
            let recently_dropped = stmt
                .query_map(params![dropped_since], |r| r.get::<_, String>(0))
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(BlobReferences {
                files,
                recently_dropped,
            })
        })
        .await
}

/// Records blob keys the catalog no longer references, in the transaction that dropped them,
/// so their deletion survives a crash.
pub(super) fn trash(tx: &Transaction<'_>, keys: &[String]) -> CatalogResult<()> {
    let now = crate::clock::now_ms();
    let mut stmt = tx
        .prepare_cached("INSERT OR IGNORE INTO blob_trash (blob_key, dropped_at) VALUES (?1, ?2)")
        .map_err(backend)?;
    for key in keys {
        stmt.execute(params![key, now]).map_err(backend)?;
    }
    Ok(())
}
