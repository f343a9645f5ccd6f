//! The deletion history: one entry per file taken out of the live tree, written in the
//! transaction that takes it out, read page by page from a time on, pruned by age.

use super::rows::{all, col};
use super::{
    commit, execute, limit_param, query, query_one, read_tx, unsigned, write_tx, PgCatalog,
};
use crate::catalog::{CatalogResult, Deletion, DeletionKind};
use deadpool_postgres::Transaction;
use tokio_postgres::Row;

/// Records that the files `(id, path)` left the live tree as `kind` at `at`, in one statement.
pub(super) async fn record(
    tx: &Transaction<'_>,
    app_key: &str,
    files: &[(String, String)],
    kind: DeletionKind,
    at: i64,
) -> CatalogResult<()> {
    if files.is_empty() {
        return Ok(());
    }
    let (ids, paths): (Vec<&str>, Vec<&str>) = files
        .iter()
        .map(|(id, path)| (id.as_str(), path.as_str()))
        .unzip();
    execute(
        tx,
        "INSERT INTO deletions (app_key, file_id, path, kind, deleted_at)
         SELECT $1, f.id, f.path, $4, $5
         FROM unnest($2::TEXT[], $3::TEXT[]) WITH ORDINALITY AS f (id, path, n) ORDER BY f.n",
        &[&app_key, &ids, &paths, &kind.code(), &at],
    )
    .await?;
    Ok(())
}

fn deletion_from_row(row: &Row) -> CatalogResult<Deletion> {
    Ok(Deletion {
        file_id: col(row, 0)?,
        path: col(row, 1)?,
        kind: DeletionKind::from_code(&col::<String>(row, 2)?).unwrap_or(DeletionKind::Delete),
        deleted_at: col(row, 3)?,
    })
}

pub(super) async fn deletions(
    catalog: &PgCatalog,
    app_key: &str,
    since: i64,
    page: u32,
    rows: u32,
) -> CatalogResult<(Vec<Deletion>, u64)> {
    let offset = i64::from(page.saturating_sub(1)) * i64::from(rows);
    let mut client = catalog.client().await?;
    let tx = read_tx(&mut client).await?;
    let total = query_one(
        &tx,
        "SELECT COUNT(*) FROM deletions WHERE app_key = $1 AND deleted_at >= $2",
        &[&app_key, &since],
    )
    .await?;
    let entries = query(
        &tx,
        "SELECT file_id, path, kind, deleted_at FROM deletions
         WHERE app_key = $1 AND deleted_at >= $2
         ORDER BY deleted_at, seq LIMIT $3 OFFSET $4",
        &[&app_key, &since, &i64::from(rows), &offset],
    )
    .await?;
    commit(tx).await?;
    Ok((all(&entries, deletion_from_row)?, unsigned(col(&total, 0)?)))
}

pub(super) async fn import_deletions(
    catalog: &PgCatalog,
    app_key: &str,
    entries: &[Deletion],
) -> CatalogResult<u64> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let mut added = 0u64;
    for d in entries {
        added += execute(
            &tx,
            "INSERT INTO deletions (app_key, file_id, path, kind, deleted_at)
             SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM deletions
               WHERE app_key = $1 AND deleted_at = $5 AND file_id = $2 AND path = $3
                 AND kind = $4)",
            &[&app_key, &d.file_id, &d.path, &d.kind.code(), &d.deleted_at],
        )
        .await?;
    }
    commit(tx).await?;
    Ok(added)
}

pub(super) async fn prune_deletions(
    catalog: &PgCatalog,
    before: i64,
    limit: usize,
) -> CatalogResult<u64> {
    catalog
        .change(
            "DELETE FROM deletions WHERE seq IN
             (SELECT seq FROM deletions WHERE deleted_at < $1 LIMIT $2)",
            &[&before, &limit_param(limit)],
        )
        .await
}
