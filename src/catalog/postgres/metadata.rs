//! Tags and the search across folders: a file's tags are rows of `file_tags`, deleted with the
//! file by their foreign key; a search binds the conditions of [`conditions`] and reads its
//! count and its page in one snapshot.
//!
//! Setting tags locks the file's row first, as deleting or replacing the file does, so the
//! two never interleave; it changes no folder, so it locks none.

use super::rows::{all, col, file_from_row, FILE_COLUMNS};
use super::{commit, execute, query, query_one, query_opt, read_tx, unsigned, write_tx, PgCatalog};
use crate::catalog::search::{conditions, page_bounds, tag_set, SearchValue, SEARCH_ORDER};
use crate::catalog::{CatalogError, CatalogResult, FilePage, FileRecord, FileSearch};
use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;

/// Adds tags to a file (a tag it has already is kept once), in one statement.
pub(super) async fn insert_tags(
    tx: &Transaction<'_>,
    app_key: &str,
    file_id: &str,
    tags: &[String],
) -> CatalogResult<()> {
    if tags.is_empty() {
        return Ok(());
    }
    execute(
        tx,
        "INSERT INTO file_tags (file_id, app_key, tag)
         SELECT $1, $2, tag FROM unnest($3::text[]) AS tag
         ON CONFLICT DO NOTHING",
        &[&file_id, &app_key, &tags],
    )
    .await?;
    Ok(())
}

/// Replaces every tag of a file by `tags`.
pub(super) async fn replace_tags(
    tx: &Transaction<'_>,
    app_key: &str,
    file_id: &str,
    tags: &[String],
) -> CatalogResult<()> {
    execute(tx, "DELETE FROM file_tags WHERE file_id = $1", &[&file_id]).await?;
    insert_tags(tx, app_key, file_id, tags).await
}

pub(super) async fn set_tags(
    catalog: &PgCatalog,
    app_key: &str,
    id: &str,
    tags: &[String],
) -> CatalogResult<FileRecord> {
    let tags = tag_set(tags);
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let found = query_opt(
        &tx,
        &format!("SELECT {FILE_COLUMNS} FROM files WHERE app_key = $1 AND id = $2 FOR UPDATE"),
        &[&app_key, &id],
    )
    .await?;
    let Some(mut file) = found.as_ref().map(file_from_row).transpose()? else {
        return Err(CatalogError::NotFound(id.to_owned()));
    };
    replace_tags(&tx, app_key, id, &tags).await?;
    commit(tx).await?;
    file.tags = tags;
    Ok(file)
}

pub(super) async fn search_files(
    catalog: &PgCatalog,
    app_key: &str,
    q: &FileSearch,
) -> CatalogResult<FilePage> {
    let (filter, values) = conditions(app_key, q, '$');
    let (limit, offset) = page_bounds(q);
    let mut params: Vec<&(dyn ToSql + Sync)> = values
        .iter()
        .map(|v| match v {
            SearchValue::Text(t) => t as &(dyn ToSql + Sync),
            SearchValue::Int(i) => i as &(dyn ToSql + Sync),
        })
        .collect();
    let mut client = catalog.client().await?;
    let tx = read_tx(&mut client).await?;
    let total: i64 = col(
        &query_one(
            &tx,
            &format!("SELECT COUNT(*) FROM files WHERE {filter}"),
            &params,
        )
        .await?,
        0,
    )?;
    let n = params.len();
    params.extend([&limit as &(dyn ToSql + Sync), &offset]);
    let rows = query(
        &tx,
        &format!(
            "SELECT {FILE_COLUMNS} FROM files WHERE {filter}
             ORDER BY {SEARCH_ORDER} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ),
        &params,
    )
    .await?;
    commit(tx).await?;
    Ok(FilePage {
        files: all(&rows, file_from_row)?,
        total: unsigned(total),
    })
}
