//! The rows of the trash read in id order page by page and stored exactly as given, for
//! `pictor migrate`.

use super::rows::{
    col, file_from_row, folder_from_row, FILE_COLUMN_COUNT, FOLDER_COLUMNS, TRASHED_FILE_COLUMNS,
};
use super::trash::{FILE_ROW, FOLDER_ROW};
use super::{limit_param, PgCatalog};
use crate::catalog::{CatalogResult, TrashTimes, TrashedFile, TrashedFolder};
use crate::paths;
use tokio_postgres::Row;

/// The item and times that follow the record's own columns, from column `at`.
fn trash_fields(row: &Row, at: usize) -> CatalogResult<(String, TrashTimes)> {
    Ok((
        col(row, at)?,
        TrashTimes {
            deleted_at: col(row, at + 1)?,
            purge_at: col(row, at + 2)?,
        },
    ))
}

pub(super) async fn trashed_files_after(
    catalog: &PgCatalog,
    app_key: &str,
    after: &str,
    limit: usize,
) -> CatalogResult<Vec<TrashedFile>> {
    let sql = format!(
        "SELECT {TRASHED_FILE_COLUMNS}, item_id, deleted_at, purge_at FROM trashed_files
         WHERE app_key = $1 AND id > $2 ORDER BY id LIMIT $3"
    );
    catalog
        .many(&sql, &[&app_key, &after, &limit_param(limit)], |row| {
            let (item_id, times) = trash_fields(row, FILE_COLUMN_COUNT)?;
            Ok(TrashedFile {
                file: file_from_row(row)?,
                item_id,
                times,
            })
        })
        .await
}

pub(super) async fn import_trashed_file(
    catalog: &PgCatalog,
    app_key: &str,
    t: &TrashedFile,
) -> CatalogResult<bool> {
    let f = &t.file;
    let sql = format!(
        "INSERT INTO trashed_files ({FILE_ROW}, tags, item_id, deleted_at, purge_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
             $18, $19, $20, $21, $22, $23, $24, $25)
         ON CONFLICT (id) DO NOTHING"
    );
    let stored = catalog
        .change(
            &sql,
            &[
                &f.id,
                &app_key,
                &f.path,
                &paths::parent(&f.path),
                &paths::name(&f.path),
                &i64::try_from(f.bytes).unwrap_or(i64::MAX),
                &f.created_by.code(),
                &f.operation_id,
                &f.source_id,
                &f.variant,
                &f.blob_key,
                &f.etag,
                &f.content_type,
                &i64::from(f.width),
                &i64::from(f.height),
                &f.taken_at,
                &f.lat,
                &f.lng,
                &f.created_at,
                &f.updated_at,
                &f.dominant_color,
                &f.tags,
                &t.item_id,
                &t.times.deleted_at,
                &t.times.purge_at,
            ],
        )
        .await?;
    Ok(stored > 0)
}

pub(super) async fn trashed_folders_after(
    catalog: &PgCatalog,
    app_key: &str,
    after: &str,
    limit: usize,
) -> CatalogResult<Vec<TrashedFolder>> {
    let sql = format!(
        "SELECT {FOLDER_COLUMNS}, item_id, deleted_at, purge_at FROM trashed_folders
         WHERE app_key = $1 AND id > $2 ORDER BY id LIMIT $3"
    );
    catalog
        .many(&sql, &[&app_key, &after, &limit_param(limit)], |row| {
            let (item_id, times) = trash_fields(row, 3)?;
            Ok(TrashedFolder {
                folder: folder_from_row(row)?,
                item_id,
                times,
            })
        })
        .await
}

pub(super) async fn import_trashed_folder(
    catalog: &PgCatalog,
    app_key: &str,
    t: &TrashedFolder,
) -> CatalogResult<bool> {
    let path = t.folder.path.as_str();
    let sql = format!(
        "INSERT INTO trashed_folders ({FOLDER_ROW}, item_id, deleted_at, purge_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (id) DO NOTHING"
    );
    let stored = catalog
        .change(
            &sql,
            &[
                &t.folder.id,
                &app_key,
                &path,
                &paths::parent(path),
                &paths::name(path),
                &t.folder.updated_at,
                &t.item_id,
                &t.times.deleted_at,
                &t.times.purge_at,
            ],
        )
        .await?;
    Ok(stored > 0)
}
