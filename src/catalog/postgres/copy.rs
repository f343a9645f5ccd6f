//! What copying a whole catalog takes: every folder, file, operation version and task read in
//! key order page by page (`COLLATE "C"`: byte order, as SQLite), and records stored exactly as
//! given (ids, times, versions), for `pictor migrate`.

use super::files::{file_exists, insert_file};
use super::folders::folder_at;
use super::operations::upsert_operation;
use super::rows::{
    all, col, file_from_row, folder_from_row, task_from_row, FILE_COLUMNS, FOLDER_COLUMNS,
    TASK_COLUMNS,
};
use super::tasks::insert_task;
use super::{commit, execute, limit_param, query, write_tx, PgCatalog};
use crate::catalog::{
    CatalogError, CatalogResult, FileRecord, Folder, OperationRecord, TaskRecord, TaskStatus,
};
use crate::paths;
use deadpool_postgres::Transaction;

pub(super) async fn folders_after(
    catalog: &PgCatalog,
    app_key: &str,
    after: &str,
    limit: usize,
) -> CatalogResult<Vec<Folder>> {
    let sql = format!(
        "SELECT {FOLDER_COLUMNS} FROM folders WHERE app_key = $1 AND path > $2
         ORDER BY path LIMIT $3"
    );
    catalog
        .many(
            &sql,
            &[&app_key, &after, &limit_param(limit)],
            folder_from_row,
        )
        .await
}

pub(super) async fn import_folder(
    catalog: &PgCatalog,
    app_key: &str,
    folder: &Folder,
) -> CatalogResult<()> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let path = folder.path.as_str();
    if file_exists(&tx, app_key, path).await? {
        return Err(CatalogError::NotAFolder(folder.path.clone()));
    }
    if folder_at(&tx, app_key, path).await?.is_some() {
        execute(
            &tx,
            "UPDATE folders SET id = $3, updated_at = $4 WHERE app_key = $1 AND path = $2",
            &[&app_key, &path, &folder.id, &folder.updated_at],
        )
        .await?;
        return commit(tx).await;
    }
    require_folder(&tx, app_key, path).await?;
    let parent = if path == "/" { "" } else { paths::parent(path) };
    execute(
        &tx,
        "INSERT INTO folders (id, app_key, path, parent, name, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &folder.id,
            &app_key,
            &path,
            &parent,
            &paths::name(path),
            &folder.updated_at,
        ],
    )
    .await?;
    commit(tx).await
}

/// `NotFound` unless the folder holding `path` exists (the root holds nothing).
async fn require_folder(tx: &Transaction<'_>, app_key: &str, path: &str) -> CatalogResult<()> {
    let parent = paths::parent(path);
    if path == "/" || folder_at(tx, app_key, parent).await?.is_some() {
        return Ok(());
    }
    Err(CatalogError::NotFound(parent.to_owned()))
}

pub(super) async fn files_after(
    catalog: &PgCatalog,
    app_key: &str,
    after: &str,
    limit: usize,
) -> CatalogResult<Vec<FileRecord>> {
    let sql = format!(
        "SELECT {FILE_COLUMNS} FROM files WHERE app_key = $1 AND path > $2
         ORDER BY path LIMIT $3"
    );
    catalog
        .many(
            &sql,
            &[&app_key, &after, &limit_param(limit)],
            file_from_row,
        )
        .await
}

pub(super) async fn import_file(
    catalog: &PgCatalog,
    app_key: &str,
    file: &FileRecord,
) -> CatalogResult<()> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    if folder_at(&tx, app_key, &file.path).await?.is_some() {
        return Err(CatalogError::FolderExists(file.path.clone()));
    }
    if file_exists(&tx, app_key, &file.path).await? {
        return Err(CatalogError::FileExists(file.path.clone()));
    }
    require_folder(&tx, app_key, &file.path).await?;
    insert_file(&tx, app_key, file).await?;
    commit(tx).await
}

pub(super) async fn operation_versions(
    catalog: &PgCatalog,
    app_key: &str,
    after: &str,
    limit: usize,
) -> CatalogResult<Vec<(String, i64)>> {
    let client = catalog.client().await?;
    let rows = query(
        &client,
        "SELECT operation_id, version FROM operation_versions
         WHERE app_key = $1 AND operation_id > $2 ORDER BY operation_id LIMIT $3",
        &[&app_key, &after, &limit_param(limit)],
    )
    .await?;
    rows.iter()
        .map(|r| Ok((col::<String>(r, 0)?, col::<i64>(r, 1)?)))
        .collect()
}

pub(super) async fn import_operation(
    catalog: &PgCatalog,
    app_key: &str,
    op: &OperationRecord,
) -> CatalogResult<()> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    upsert_operation(&tx, app_key, op, op.version).await?;
    raise_version(&tx, app_key, &op.operation_id, op.version).await?;
    commit(tx).await
}

pub(super) async fn import_operation_version(
    catalog: &PgCatalog,
    app_key: &str,
    operation_id: &str,
    version: i64,
) -> CatalogResult<()> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    raise_version(&tx, app_key, operation_id, version).await?;
    commit(tx).await
}

/// Raises the last version of an operation name to `version`, never lowering it.
async fn raise_version(
    tx: &Transaction<'_>,
    app_key: &str,
    operation_id: &str,
    version: i64,
) -> CatalogResult<()> {
    execute(
        tx,
        "INSERT INTO operation_versions (app_key, operation_id, version) VALUES ($1, $2, $3)
         ON CONFLICT (app_key, operation_id) DO UPDATE
             SET version = GREATEST(operation_versions.version, excluded.version)",
        &[&app_key, &operation_id, &version],
    )
    .await?;
    Ok(())
}

pub(super) async fn tasks_after(
    catalog: &PgCatalog,
    after: &str,
    limit: usize,
) -> CatalogResult<Vec<TaskRecord>> {
    let client = catalog.client().await?;
    let rows = query(
        &client,
        &format!(
            "SELECT {TASK_COLUMNS}, finished_at FROM tasks WHERE id > $1 ORDER BY id LIMIT $2"
        ),
        &[&after, &limit_param(limit)],
    )
    .await?;
    let tasks = all(&rows, task_from_row)?;
    tasks
        .into_iter()
        .zip(&rows)
        .map(|(task, row)| {
            let ended = matches!(task.status, TaskStatus::Done | TaskStatus::Failed);
            let finished_at: i64 = col(row, 10)?;
            Ok(TaskRecord {
                task,
                finished_at: ended.then_some(finished_at),
            })
        })
        .collect()
}

pub(super) async fn import_task(catalog: &PgCatalog, record: &TaskRecord) -> CatalogResult<()> {
    insert_task(catalog, &record.task, record.finished_at.unwrap_or(0)).await
}
