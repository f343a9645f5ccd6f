//! Column lists of the catalog tables and the mapping of their rows to records.

use crate::catalog::settings::quota_from_column;
use crate::catalog::{
    AppRecord, AppSettings, CreatedBy, FileRecord, Folder, OperationRecord, StoredFile, Task,
    TaskStatus,
};
use rusqlite::Row;

/// Columns of `files`, in [`file_from_row`] order, for a query `FROM files` (not aliased):
/// the last is the file's tags as a JSON array.
pub(super) const FILE_COLUMNS: &str =
    "id, path, bytes, created_by, operation_id, source_id, blob_key, \
    etag, content_type, width, height, taken_at, lat, lng, created_at, updated_at, variant, \
    dominant_color, (SELECT json_group_array(tag) FROM file_tags WHERE file_id = files.id)";

/// Columns of `trashed_files` in [`file_from_row`] order: a trashed file keeps its tags in its
/// row (a JSON array), since `file_tags` lets them go with the row of `files`.
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
    (SELECT json_group_array(tag) FROM file_tags WHERE file_id = f.id),
    s.id, s.path, s.bytes, s.created_by, s.operation_id, s.source_id, s.blob_key, s.etag,
    s.content_type, s.width, s.height, s.taken_at, s.lat, s.lng, s.created_at, s.updated_at,
    s.variant, s.dominant_color,
    (SELECT json_group_array(tag) FROM file_tags WHERE file_id = s.id),
    o.operation_id, o.description, o.realtime_service, o.jobs, o.updated_at, o.version
  FROM files f
  LEFT JOIN files s ON f.created_by = 'P' AND s.id = f.source_id AND s.app_key = f.app_key
  LEFT JOIN operations o ON f.created_by = 'P' AND o.app_key = f.app_key
    AND o.operation_id = f.operation_id
  WHERE f.app_key = ?1 AND f.path = ?2";

/// Columns of `operations`, in [`operation_from_row`] order.
pub(super) const OPERATION_COLUMNS: &str =
    "operation_id, description, realtime_service, jobs, updated_at, version";

/// Columns of `tasks`, in [`task_from_row`] order.
pub(super) const TASK_COLUMNS: &str =
    "id, app_key, queue_type, status, try_count, queued_at, operation_id, path, payload, error";

pub(super) fn app_from_row(row: &Row<'_>) -> rusqlite::Result<AppRecord> {
    Ok(AppRecord {
        app_key: row.get(0)?,
        secret_key: row.get(1)?,
        container: row.get(2)?,
        name: row.get(3)?,
        realtime_service: row.get(4)?,
        created_at: row.get(5)?,
        settings: AppSettings {
            trash_retention_days: row.get(6)?,
            quota_bytes: quota_from_column(row.get(7)?),
            quota_files: quota_from_column(row.get(8)?),
            default_operation_ids: AppSettings::operation_ids_from_column(
                &row.get::<_, String>(9)?,
            ),
        },
    })
}

/// The columns of `apps`, in [`app_from_row`] order.
pub(super) const APP_COLUMNS: &str = "app_key, secret_key, container, name, realtime_service,
 created_at, trash_retention_days, quota_bytes, quota_files, default_operation_ids";

pub(super) fn folder_from_row(row: &Row<'_>) -> rusqlite::Result<Folder> {
    Ok(Folder {
        id: row.get(0)?,
        path: row.get(1)?,
        updated_at: row.get(2)?,
    })
}

pub(super) fn file_from_row(row: &Row<'_>) -> rusqlite::Result<FileRecord> {
    file_at(row, 0)
}

/// The [`FILE_COLUMNS`] of a row, starting at column `base`.
fn file_at(row: &Row<'_>, base: usize) -> rusqlite::Result<FileRecord> {
    let created_by: String = row.get(base + 3)?;
    Ok(FileRecord {
        id: row.get(base)?,
        path: row.get(base + 1)?,
        bytes: row.get::<_, i64>(base + 2)?.max(0) as u64,
        created_by: CreatedBy::from_code(&created_by).unwrap_or(CreatedBy::User),
        operation_id: row.get(base + 4)?,
        source_id: row.get(base + 5)?,
        blob_key: row.get(base + 6)?,
        etag: row.get(base + 7)?,
        content_type: row.get(base + 8)?,
        width: row.get(base + 9)?,
        height: row.get(base + 10)?,
        taken_at: row.get(base + 11)?,
        lat: row.get(base + 12)?,
        lng: row.get(base + 13)?,
        created_at: row.get(base + 14)?,
        updated_at: row.get(base + 15)?,
        variant: row.get(base + 16)?,
        dominant_color: row.get(base + 17)?,
        tags: tags_at(row, base + 18)?,
    })
}

/// The tags of a file, from the JSON array of column `i`, as a set in byte order.
fn tags_at(row: &Row<'_>, i: usize) -> rusqlite::Result<Vec<String>> {
    let text: String = row.get(i)?;
    let tags: Vec<String> = serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(crate::catalog::search::tag_set(&tags))
}

/// Number of [`FILE_COLUMNS`].
pub(super) const FILE_COLUMN_COUNT: usize = 19;

/// A file with, for a produced file, its source and its operation as they are now (columns of
/// the file, then of the source, then of the operation; missing ones are NULL).
pub(super) fn stored_from_row(row: &Row<'_>) -> rusqlite::Result<StoredFile> {
    let file = file_at(row, 0)?;
    let source = match row.get::<_, Option<String>>(FILE_COLUMN_COUNT)? {
        Some(_) => Some(file_at(row, FILE_COLUMN_COUNT)?),
        None => None,
    };
    let op_base = 2 * FILE_COLUMN_COUNT;
    let operation = match row.get::<_, Option<String>>(op_base)? {
        Some(_) => Some(OperationRecord {
            operation_id: row.get(op_base)?,
            description: row.get(op_base + 1)?,
            realtime_service: row.get(op_base + 2)?,
            jobs: row.get(op_base + 3)?,
            updated_at: row.get(op_base + 4)?,
            version: row.get(op_base + 5)?,
        }),
        None => None,
    };
    Ok(StoredFile {
        file,
        source,
        operation,
    })
}

pub(super) fn operation_from_row(row: &Row<'_>) -> rusqlite::Result<OperationRecord> {
    Ok(OperationRecord {
        operation_id: row.get(0)?,
        description: row.get(1)?,
        realtime_service: row.get(2)?,
        jobs: row.get(3)?,
        updated_at: row.get(4)?,
        version: row.get(5)?,
    })
}

pub(super) fn task_from_row(row: &Row<'_>) -> rusqlite::Result<Task> {
    let status: String = row.get(3)?;
    Ok(Task {
        id: row.get(0)?,
        app_key: row.get(1)?,
        queue_type: row.get(2)?,
        status: TaskStatus::from_code(&status).unwrap_or(TaskStatus::Failed),
        try_count: row.get(4)?,
        queued_at: row.get(5)?,
        operation_id: row.get(6)?,
        path: row.get(7)?,
        payload: row.get(8)?,
        error: row.get(9)?,
    })
}
