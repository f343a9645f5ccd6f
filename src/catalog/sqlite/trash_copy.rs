//! The rows of the trash read in id order page by page and stored exactly as given, for
//! `pictor migrate`.

use super::rows::{file_from_row, FILE_COLUMN_COUNT, TRASHED_FILE_COLUMNS};
use super::trash::{FILE_ROW, FOLDER_ROW};
use super::{backend, SqliteCatalog};
use crate::catalog::{CatalogResult, Folder, TrashTimes, TrashedFile, TrashedFolder};
use crate::paths;
use rusqlite::params;

pub(super) async fn trashed_files_after(
    catalog: &SqliteCatalog,
    app_key: &str,
    after: &str,
    limit: usize,
) -> CatalogResult<Vec<TrashedFile>> {
    let (key, after) = (app_key.to_owned(), after.to_owned());
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    catalog
        .read(move |tx| {
            let mut stmt = tx
                .prepare(&format!(
                    "SELECT {TRASHED_FILE_COLUMNS}, item_id, deleted_at, purge_at FROM trashed_files
                     WHERE app_key = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![key, after, limit], |r| {
                    Ok(TrashedFile {
                        file: file_from_row(r)?,
                        item_id: r.get(FILE_COLUMN_COUNT)?,
                        times: TrashTimes {
                            deleted_at: r.get(FILE_COLUMN_COUNT + 1)?,
                            purge_at: r.get(FILE_COLUMN_COUNT + 2)?,
                        },
                    })
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(rows)
        })
        .await
}

pub(super) async fn import_trashed_file(
    catalog: &SqliteCatalog,
    app_key: &str,
    trashed: &TrashedFile,
) -> CatalogResult<bool> {
    let (key, t) = (app_key.to_owned(), trashed.clone());
    catalog
        .tx(move |tx| {
            let f = &t.file;
            let stored = tx
                .execute(
                    &format!(
                        "INSERT INTO trashed_files ({FILE_ROW}, tags, item_id, deleted_at, purge_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                         ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)
                     ON CONFLICT (id) DO NOTHING"
                    ),
                    params![
                        f.id,
                        key,
                        f.path,
                        paths::parent(&f.path),
                        paths::name(&f.path),
                        i64::try_from(f.bytes).unwrap_or(i64::MAX),
                        f.created_by.code(),
                        f.operation_id,
                        f.source_id,
                        f.variant,
                        f.blob_key,
                        f.etag,
                        f.content_type,
                        f.width,
                        f.height,
                        f.taken_at,
                        f.lat,
                        f.lng,
                        f.created_at,
                        f.updated_at,
                        f.dominant_color,
                        serde_json::Value::from(f.tags.clone()).to_string(),
                        t.item_id,
                        t.times.deleted_at,
                        t.times.purge_at
                    ],
                )
                .map_err(backend)?;
            Ok(stored > 0)
        })
        .await
}

pub(super) async fn trashed_folders_after(
    catalog: &SqliteCatalog,
    app_key: &str,
    after: &str,
    limit: usize,
) -> CatalogResult<Vec<TrashedFolder>> {
    let (key, after) = (app_key.to_owned(), after.to_owned());
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    catalog
        .read(move |tx| {
            let mut stmt = tx
                .prepare(
                    "SELECT id, path, updated_at, item_id, deleted_at, purge_at
                     FROM trashed_folders WHERE app_key = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![key, after, limit], |r| {
                    Ok(TrashedFolder {
                        folder: Folder {
                            id: r.get(0)?,
                            path: r.get(1)?,
                            updated_at: r.get(2)?,
                        },
                        item_id: r.get(3)?,
                        times: TrashTimes {
                            deleted_at: r.get(4)?,
                            purge_at: r.get(5)?,
                        },
                    })
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(rows)
        })
        .await
}

pub(super) async fn import_trashed_folder(
    catalog: &SqliteCatalog,
    app_key: &str,
    trashed: &TrashedFolder,
) -> CatalogResult<bool> {
    let (key, t) = (app_key.to_owned(), trashed.clone());
    catalog
        .tx(move |tx| {
            let path = t.folder.path.as_str();
            let stored = tx
                .execute(
                    &format!(
                        "INSERT INTO trashed_folders ({FOLDER_ROW}, item_id, deleted_at, purge_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (id) DO NOTHING"
                    ),
                    params![
                        t.folder.id,
                        key,
                        path,
                        paths::parent(path),
                        paths::name(path),
                        t.folder.updated_at,
                        t.item_id,
                        t.times.deleted_at,
                        t.times.purge_at
                    ],
                )
                .map_err(backend)?;
            Ok(stored > 0)
        })
        .await
}
