//! A file's new version written over its row only while the row still holds the version it
//! was made from (rotation).

use super::blobs::trash;
use super::rows::{file_from_row, FILE_COLUMNS};
use super::{backend, SqliteCatalog};
use crate::catalog::{CatalogError, CatalogResult, FileRecord, PutOutcome};
use rusqlite::{params, OptionalExtension};

pub(super) async fn replace_file_version(
    catalog: &SqliteCatalog,
    app_key: &str,
    file: FileRecord,
    expected_blob_key: &str,
) -> CatalogResult<Option<PutOutcome>> {
    let (key, expected) = (app_key.to_owned(), expected_blob_key.to_owned());
    catalog
        .tx(move |tx| {
            let current = tx
                .query_row(
                    &format!("SELECT {FILE_COLUMNS} FROM files WHERE app_key = ?1 AND id = ?2"),
                    params![key, file.id],
                    file_from_row,
                )
                .optional()
                .map_err(backend)?;
            let Some(old) = current else {
                return Err(CatalogError::NotFound(file.id));
            };
            if old.blob_key != expected {
                return Ok(None);
            }
            let orphaned = vec![old.blob_key.clone()];
            trash(tx, &orphaned)?;
            tx.execute(
                "UPDATE files SET bytes = ?2, blob_key = ?3, etag = ?4, content_type = ?5,
                     width = ?6, height = ?7, taken_at = ?8, lat = ?9, lng = ?10,
                     updated_at = ?11
                 WHERE id = ?1",
                params![
                    old.id,
                    file.bytes as i64,
                    file.blob_key,
                    file.etag,
                    file.content_type,
                    file.width,
                    file.height,
                    file.taken_at,
                    file.lat,
                    file.lng,
                    file.updated_at
                ],
            )
            .map_err(backend)?;
            Ok(Some(PutOutcome {
                file: old.with_version_of(file),
                overwritten: true,
                orphaned_blobs: orphaned,
            }))
        })
        .await
}
