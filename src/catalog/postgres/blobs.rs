//! Blobs: the trash of dropped blob keys awaiting deletion, and the references `check` reads.

use super::rows::col;
use super::{commit, execute, limit_param, query, read_tx, PgCatalog};
use crate::catalog::{BlobReference, BlobReferences, CatalogResult};
use deadpool_postgres::Transaction;

pub(super) async fn dropped_blobs(
    catalog: &PgCatalog,
    dropped_before: i64,
    limit: usize,
) -> CatalogResult<Vec<String>> {
    catalog
        .many(
            "SELECT blob_key FROM blob_trash WHERE dropped_at < $1 ORDER BY dropped_at LIMIT $2",
            &[&dropped_before, &limit_param(limit)],
            |row| col(row, 0),
        )
        .await
}

pub(super) async fn forget_dropped_blobs(
    catalog: &PgCatalog,
    keys: &[String],
) -> CatalogResult<()> {
    if !keys.is_empty() {
        catalog
            .change(
                "DELETE FROM blob_trash WHERE blob_key = ANY($1::TEXT[])",
                &[&keys],
            )
            .await?;
    }
    Ok(())
}

pub(super) async fn blob_references(
    catalog: &PgCatalog,
    dropped_since: i64,
) -> CatalogResult<BlobReferences> {
    let mut client = catalog.client().await?;
    let tx = read_tx(&mut client).await?;
    let files = query(
        &tx,
        "SELECT app_key, path, blob_key FROM files
         UNION ALL SELECT app_key, path, blob_key FROM trashed_files
         ORDER BY blob_key",
        &[],
    )
    .await?;
    let dropped = query(
        &tx,
        "SELECT blob_key FROM blob_trash WHERE dropped_at >= $1",
        &[&dropped_since],
    )
    .await?;
    commit(tx).await?;
    Ok(BlobReferences {
        files: files
            .iter()
            .map(|row| {
                Ok(BlobReference {
                    app_key: col(row, 0)?,
                    path: col(row, 1)?,
                    blob_key: col(row, 2)?,
                })
            })
            .collect::<CatalogResult<_>>()?,
        recently_dropped: dropped
            .iter()
            .map(|row| col(row, 0))
            .collect::<CatalogResult<_>>()?,
    })
}

/// Records blob keys the catalog no longer references, in the transaction that dropped them,
/// so their deletion survives a crash.
pub(super) async fn trash(tx: &Transaction<'_>, keys: &[String]) -> CatalogResult<()> {
    if keys.is_empty() {
        return Ok(());
    }
    execute(
        tx,
        "INSERT INTO blob_trash (blob_key, dropped_at)
         SELECT key, $2::BIGINT FROM unnest($1::TEXT[]) AS key ON CONFLICT (blob_key) DO NOTHING",
        &[&keys, &crate::clock::now_ms()],
    )
    .await?;
    Ok(())
}
