//! Column lists of the catalog tables and the mapping of their rows to records.

use super::{backend, unsigned};
use crate::catalog::settings::quota_from_column;
use crate::catalog::{
    AppRecord, AppSettings, CatalogResult, CreatedBy, FileRecord, Folder, OperationRecord,
    StoredFile, Task, TaskStatus,
};
use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

/// Columns of `apps`, in [`app_from_row`] order.
pub(super) const APP_COLUMNS: &str =
    "app_key, secret_key, container, name, realtime_service, created_at, \
    trash_retention_days, quota_bytes, quota_files, default_operation_ids";

/// Columns of `folders`, in [`folder_from_row`] order.
pub(super) const FOLDER_COLUMNS: &str = "id, path, updated_at";

/// Columns of `files`, in [`file_from_row`] order, for a query `FROM files` (not aliased):
/// the last is the file's tags as an array.
pub(super) const FILE_COLUMNS: &str =
    "id, path, bytes, created_by, operation_id, source_id, blob_key, \
    etag, content_type, width, height, taken_at, lat, lng, created_at, updated_at, variant, \
    dominant_color, ARRAY(SELECT tag FROM file_tags WHERE file_id = files.id ORDER BY tag)";

/// Columns of `trashed_files` in [`file_from_row`] order: a trashed file keeps its tags in its
/// row, since `file_tags` lets them go with the row of `files`.
pub(super) const TRASHED_FILE_COLUMNS: &str =
    "id, path, bytes, created_by, operation_id, source_id, blob_key, \
    etag, content_type, width, height, taken_at, lat, lng, created_at, updated_at, variant, \
    dominant_color, tags";

/// A file by path, with its source file and its operation when it is a produced file: one
/// statement, the two joins being primary-key and unique-index probes.
pub(super) const STORED_FILE_QUERY: &str = "SELECT
    f.id, f.path, f.bytes, f.created_by, f.operation_id, f.source_id, f.blob_key, f.etag,
    f.content_type, f.width, f.height, f.taken_at, f.lat, f.lng, f.created_at, f.updated_at,
    f.variant, f.dominant_color,
    ARRAY(SELECT tag FROM file_tags WHERE file_id = f.id ORDER BY tag),
    s.id, s.path, s.bytes, s.created_by, s.operation_id, s.source_id, s.blob_key, s.etag,
    s.content_type, s.width, s.height, s.taken_at, s.lat, s.lng, s.created_at, s.updated_at,
    s.variant, s.dominant_color,
    ARRAY(SELECT tag FROM file_tags WHERE file_id = s.id ORDER BY tag),
    o.operation_id, o.description, o.realtime_service, o.jobs, o.updated_at, o.version
  FROM files f
  LEFT JOIN files s ON f.created_by = 'P' AND s.id = f.source_id AND s.app_key = f.app_key
  LEFT JOIN operations o ON f.created_by = 'P' AND o.app_key = f.app_key
    AND o.operation_id = f.operation_id
  WHERE f.app_key = $1 AND f.path = $2";

/// Columns of `operations`, in [`operation_from_row`] order.
pub(super) const OPERATION_COLUMNS: &str =
    "operation_id, description, realtime_service, jobs, updated_at, version";

/// Columns of `tasks`, in [`task_from_row`] order.
pub(super) const TASK_COLUMNS: &str =
    "id, app_key, queue_type, status, try_count, queued_at, operation_id, path, payload, error";

/// Column `i` of a row.
pub(super) fn col<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> CatalogResult<T> {
    row.try_get(i).map_err(backend)
}

/// A count kept in a `BIGINT` column as a `u32`.
fn count(row: &Row, i: usize) -> CatalogResult<u32> {
    Ok(u32::try_from(unsigned(col(row, i)?)).unwrap_or(u32::MAX))
}

/// An app from its [`APP_COLUMNS`].
pub(super) fn app_from_row(row: &Row) -> CatalogResult<AppRecord> {
    Ok(AppRecord {
        app_key: col(row, 0)?,
        secret_key: col(row, 1)?,
        container: col(row, 2)?,
        name: col(row, 3)?,
        realtime_service: col(row, 4)?,
        created_at: col(row, 5)?,
        settings: AppSettings {
            trash_retention_days: count(row, 6)?,
            quota_bytes: quota_from_column(col(row, 7)?),
            quota_files: quota_from_column(col(row, 8)?),
            default_operation_ids: AppSettings::operation_ids_from_column(&col::<String>(row, 9)?),
        },
    })
}

/// A folder from its [`FOLDER_COLUMNS`].
pub(super) fn folder_from_row(row: &Row) -> CatalogResult<Folder> {
    Ok(Folder {
        id: col(row, 0)?,
        path: col(row, 1)?,
        updated_at: col(row, 2)?,
    })
}

/// A file from its [`FILE_COLUMNS`].
pub(super) fn file_from_row(row: &Row) -> CatalogResult<FileRecord> {
    file_at(row, 0)
}

/// The [`FILE_COLUMNS`] of a row, starting at column `base`.
fn file_at(row: &Row, base: usize) -> CatalogResult<FileRecord> {
    let created_by: String = col(row, base + 3)?;
    Ok(FileRecord {
        id: col(row, base)?,
        path: col(row, base + 1)?,
        bytes: unsigned(col(row, base + 2)?),
        created_by: CreatedBy::from_code(&created_by).unwrap_or(CreatedBy::User),
        operation_id: col(row, base + 4)?,
        source_id: col(row, base + 5)?,
        blob_key: col(row, base + 6)?,
        etag: col(row, base + 7)?,
        content_type: col(row, base + 8)?,
        width: count(row, base + 9)?,
        height: count(row, base + 10)?,
        taken_at: col(row, base + 11)?,
        lat: col(row, base + 12)?,
        lng: col(row, base + 13)?,
        created_at: col(row, base + 14)?,
        updated_at: col(row, base + 15)?,
        variant: col(row, base + 16)?,
        dominant_color: col(row, base + 17)?,
        tags: col(row, base + 18)?,
    })
}

/// Number of [`FILE_COLUMNS`].
pub(super) const FILE_COLUMN_COUNT: usize = 19;

/// A file with, for a produced file, its source and its operation as they are now (columns of
/// the file, then of the source, then of the operation; missing ones are NULL).
pub(super) fn stored_from_row(row: &Row) -> CatalogResult<StoredFile> {
    let file = file_at(row, 0)?;
    let source = match col::<Option<String>>(row, FILE_COLUMN_COUNT)? {
        Some(_) => Some(file_at(row, FILE_COLUMN_COUNT)?),
        None => None,
    };
    let op_base = 2 * FILE_COLUMN_COUNT;
    let operation = match col::<Option<String>>(row, op_base)? {
        Some(_) => Some(operation_at(row, op_base)?),
        None => None,
    };
    Ok(StoredFile {
        file,
        source,
        operation,
    })
}

/// An operation from its [`OPERATION_COLUMNS`].
pub(super) fn operation_from_row(row: &Row) -> CatalogResult<OperationRecord> {
    operation_at(row, 0)
}

/// The [`OPERATION_COLUMNS`] of a row, starting at column `base`.
fn operation_at(row: &Row, base: usize) -> CatalogResult<OperationRecord> {
    Ok(OperationRecord {
        operation_id: col(row, base)?,
        description: col(row, base + 1)?,
        realtime_service: col(row, base + 2)?,
        jobs: col(row, base + 3)?,
        updated_at: col(row, base + 4)?,
        version: col(row, base + 5)?,
    })
}

/// A task from its [`TASK_COLUMNS`].
pub(super) fn task_from_row(row: &Row) -> CatalogResult<Task> {
    let status: String = col(row, 3)?;
    Ok(Task {
        id: col(row, 0)?,
        app_key: col(row, 1)?,
        queue_type: col(row, 2)?,
        status: TaskStatus::from_code(&status).unwrap_or(TaskStatus::Failed),
        try_count: count(row, 4)?,
        queued_at: col(row, 5)?,
        operation_id: col(row, 6)?,
        path: col(row, 7)?,
        payload: col(row, 8)?,
        error: col(row, 9)?,
    })
}

/// Maps every row with `f`.
pub(super) fn all<T>(rows: &[Row], f: fn(&Row) -> CatalogResult<T>) -> CatalogResult<Vec<T>> {
    rows.iter().map(f).collect()
}
