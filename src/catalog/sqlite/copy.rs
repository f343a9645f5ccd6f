//! What copying a whole catalog takes: every folder, file, operation version and task read in
//! key order page by page, and records stored exactly as given (ids, times, versions), for
//! `pictor migrate`.

use super::files::{file_exists, insert_file};
use super::folders::{folder_at, insert_folder_row};
use super::operations::{raise_version, store_operation};
use super::rows::{file_from_row, folder_from_row, task_from_row, FILE_COLUMNS, TASK_COLUMNS};
use super::tasks::insert_task;
use super::{backend, SqliteCatalog};
use crate::catalog::{
    CatalogError, CatalogResult, FileRecord, Folder, OperationRecord, TaskRecord, TaskStatus,
};
use crate::paths;
use rusqlite::{params, Transaction};

/// A page size as SQLite takes it.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

pub(super) async fn folders_after(
    catalog: &SqliteCatalog,
    app_key: &str,
    after: &str,
    limit: usize,
) -> CatalogResult<Vec<Folder>> {
    let (key, after, limit) = (app_key.to_owned(), after.to_owned(), sql_limit(limit));
    catalog
        .read(move |conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT id, path, updated_at FROM folders
                     WHERE app_key = ?1 AND path > ?2 ORDER BY path LIMIT ?3",
                )
                .map_err(backend)?;
            let folders = stmt
                .query_map(params![key, after, limit], folder_from_row)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(folders)
        })
        .await
}

pub(super) async fn import_folder(
    catalog: &SqliteCatalog,
    app_key: &str,
    folder: &Folder,
) -> CatalogResult<()> {
    let (key, folder) = (app_key.to_owned(), folder.clone());
    catalog
        .tx(move |tx| {
            let path = folder.path.as_str();
            if file_exists(tx, &key, path)? {
                return Err(CatalogError::NotAFolder(folder.path));
            }
            if folder_at(tx, &key, path)?.is_some() {
                tx.execute(
                    "UPDATE folders SET id = ?3, updated_at = ?4 WHERE app_key = ?1 AND path = ?2",
                    params![key, path, folder.id, folder.updated_at],
                )
                .map_err(backend)?;
                return Ok(());
            }
            require_folder(tx, &key, path)?;
            insert_folder_row(tx, &key, &folder)
        })
        .await
}

/// `NotFound` unless the folder holding `path` exists (the root holds nothing).
fn require_folder(tx: &Transaction<'_>, app_key: &str, path: &str) -> CatalogResult<()> {
    let parent = paths::parent(path);
    if path == "/" || folder_at(tx, app_key, parent)?.is_some() {
        return Ok(());
    }
    Err(CatalogError::NotFound(parent.to_owned()))
}

pub(super) async fn files_after(
    catalog: &SqliteCatalog,
    app_key: &str,
    after: &str,
    limit: usize,
) -> CatalogResult<Vec<FileRecord>> {
    let (key, after, limit) = (app_key.to_owned(), after.to_owned(), sql_limit(limit));
    catalog
        .read(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {FILE_COLUMNS} FROM files
                     WHERE app_key = ?1 AND path > ?2 ORDER BY path LIMIT ?3"
                ))
                .map_err(backend)?;
            let files = stmt
                .query_map(params![key, after, limit], file_from_row)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(files)
        })
        .await
}

pub(super) async fn import_file(
    catalog: &SqliteCatalog,
    app_key: &str,
    file: &FileRecord,
) -> CatalogResult<()> {
    let (key, file) = (app_key.to_owned(), file.clone());
    catalog
        .tx(move |tx| {
            if folder_at(tx, &key, &file.path)?.is_some() {
                return Err(CatalogError::FolderExists(file.path));
            }
            if file_exists(tx, &key, &file.path)? {
                return Err(CatalogError::FileExists(file.path));
            }
            require_folder(tx, &key, &file.path)?;
            insert_file(tx, &key, &file)
        })
        .await
}

pub(super) async fn operation_versions(
    catalog: &SqliteCatalog,
    app_key: &str,
    after: &str,
    limit: usize,
) -> CatalogResult<Vec<(String, i64)>> {
    let (key, after, limit) = (app_key.to_owned(), after.to_owned(), sql_limit(limit));
    catalog
        .read(move |conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT operation_id, version FROM operation_versions
                     WHERE app_key = ?1 AND operation_id > ?2 ORDER BY operation_id LIMIT ?3",
                )
                .map_err(backend)?;
            let versions = stmt
                .query_map(params![key, after, limit], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(versions)
        })
        .await
}

pub(super) async fn import_operation(
    catalog: &SqliteCatalog,
    app_key: &str,
    op: &OperationRecord,
) -> CatalogResult<()> {
    let (key, op) = (app_key.to_owned(), op.clone());
    catalog.tx(move |tx| store_operation(tx, &key, &op)).await
}

pub(super) async fn import_operation_version(
    catalog: &SqliteCatalog,
    app_key: &str,
    operation_id: &str,
    version: i64,
) -> CatalogResult<()> {
    let (key, id) = (app_key.to_owned(), operation_id.to_owned());
    catalog
        .tx(move |tx| raise_version(tx, &key, &id, version))
        .await
}

pub(super) async fn tasks_after(
    catalog: &SqliteCatalog,
    after: &str,
    limit: usize,
) -> CatalogResult<Vec<TaskRecord>> {
    let (after, limit) = (after.to_owned(), sql_limit(limit));
    catalog
        .read(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {TASK_COLUMNS}, finished_at FROM tasks
                     WHERE id > ?1 ORDER BY id LIMIT ?2"
                ))
                .map_err(backend)?;
            let tasks = stmt
                .query_map(params![after, limit], |r| {
                    let task = task_from_row(r)?;
                    let ended = matches!(task.status, TaskStatus::Done | TaskStatus::Failed);
                    let finished_at: i64 = r.get(10)?;
                    Ok(TaskRecord {
                        task,
                        finished_at: ended.then_some(finished_at),
                    })
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(tasks)
        })
        .await
}

pub(super) async fn import_task(catalog: &SqliteCatalog, record: &TaskRecord) -> CatalogResult<()> {
    let record = record.clone();
    catalog
        .tx(move |tx| insert_task(tx, &record.task, record.finished_at.unwrap_or(0)))
        .await
}
