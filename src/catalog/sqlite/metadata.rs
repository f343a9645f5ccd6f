//! Tags and the search across folders: a file's tags are rows of `file_tags`, deleted with the
//! file by their foreign key; a search binds the conditions of [`conditions`].

use super::rows::{file_from_row, FILE_COLUMNS};
use super::{backend, SqliteCatalog};
use crate::catalog::search::{conditions, page_bounds, tag_set, SearchValue, SEARCH_ORDER};
use crate::catalog::{CatalogError, CatalogResult, FilePage, FileRecord, FileSearch};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, OptionalExtension, Transaction};

/// Adds tags to a file (a tag it has already is kept once).
pub(super) fn insert_tags(
    tx: &Transaction<'_>,
    app_key: &str,
    file_id: &str,
    tags: &[String],
) -> CatalogResult<()> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO file_tags (file_id, app_key, tag) VALUES (?1, ?2, ?3)",
        )
        .map_err(backend)?;
    for tag in tags {
        stmt.execute(params![file_id, app_key, tag])
            .map_err(backend)?;
    }
    Ok(())
}

pub(super) async fn set_tags(
    catalog: &SqliteCatalog,
    app_key: &str,
    id: &str,
    tags: &[String],
) -> CatalogResult<FileRecord> {
    let (key, id, tags) = (app_key.to_owned(), id.to_owned(), tag_set(tags));
    catalog
        .tx(move |tx| {
            let found = tx
                .query_row(
                    &format!("SELECT {FILE_COLUMNS} FROM files WHERE app_key = ?1 AND id = ?2"),
                    params![key, id],
                    file_from_row,
                )
                .optional()
                .map_err(backend)?;
            let Some(mut file) = found else {
                return Err(CatalogError::NotFound(id));
            };
            tx.execute("DELETE FROM file_tags WHERE file_id = ?1", params![id])
                .map_err(backend)?;
            insert_tags(tx, &key, &id, &tags)?;
            file.tags = tags;
            Ok(file)
        })
        .await
}

/// The values of search conditions as SQLite binds them.
pub(super) fn sql_values(values: Vec<SearchValue>) -> Vec<Value> {
    values
        .into_iter()
        .map(|v| match v {
            SearchValue::Text(t) => Value::Text(t),
            SearchValue::Int(i) => Value::Integer(i),
        })
        .collect()
}

pub(super) async fn search_files(
    catalog: &SqliteCatalog,
    app_key: &str,
    query: &FileSearch,
) -> CatalogResult<FilePage> {
    let (filter, values) = conditions(app_key, query, '?');
    let (limit, offset) = page_bounds(query);
    let mut values = sql_values(values);
    catalog
        .read(move |conn| {
            let total: i64 = conn
                .prepare_cached(&format!("SELECT COUNT(*) FROM files WHERE {filter}"))
                .and_then(|mut s| s.query_row(params_from_iter(values.iter()), |r| r.get(0)))
                .map_err(backend)?;
            let n = values.len();
            values.extend([Value::Integer(limit), Value::Integer(offset)]);
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {FILE_COLUMNS} FROM files WHERE {filter}
                     ORDER BY {SEARCH_ORDER} LIMIT ?{} OFFSET ?{}",
                    n + 1,
                    n + 2
                ))
                .map_err(backend)?;
            let files = stmt
                .query_map(params_from_iter(values.iter()), file_from_row)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(FilePage {
                files,
                total: total.max(0) as u64,
            })
        })
        .await
}
