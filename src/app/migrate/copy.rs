//! The copy of records: each app with its operations, operation versions, folders and files
//! (bytes first, then the record) and its trash (see `trash`), then every task. A record the target holds already is
//! kept when it equals the source's and reported when it does not; nothing in the target is
//! ever replaced, except the root folder an app is created with, which takes the source
//! root's id and time.

use super::blobs::{copy_blob, BlobCopy};
use super::pages::{each_file, next_files, PAGE};
use super::report::{Kind, MigrateReport, Mismatch};
use super::{End, MigrateError};
use crate::catalog::{AppRecord, CatalogError, FileRecord, SortKey};

/// Whether a catalog answer refuses the call (the target holds something else there), as
/// opposed to a failure of the backend.
fn refusal(e: &CatalogError) -> bool {
    !matches!(e, CatalogError::Backend { .. })
}

/// Copies an app with everything it holds but its tasks.
pub(super) async fn app(
    s: &End,
    t: &End,
    app: &AppRecord,
    jobs: usize,
    r: &mut MigrateReport,
) -> Result<(), MigrateError> {
    let key = app.app_key.as_str();
    match t.catalog.app(key).await.map_err(t.cat())? {
        Some(existing) if existing == *app => r.present.apps += 1,
        Some(_) => r.mismatch(Mismatch::new(
            Kind::App,
            key,
            key,
            "the target holds this app key with another secret, container, name, flag or time",
        )),
        None => {
            let holder = t.catalog.app_by_container(&app.container).await;
            if let Some(other) = holder.map_err(t.cat())? {
                r.mismatch(Mismatch::new(
                    Kind::App,
                    key,
                    &app.container,
                    format!(
                        "the container belongs to app {} in the target",
                        other.app_key
                    ),
                ));
                return Ok(());
            }
            t.catalog.create_app(app).await.map_err(t.cat())?;
            r.copied.apps += 1;
        }
    }
    operations(s, t, key, r).await?;
    folders(s, t, key, r).await?;
    files(s, t, key, jobs, r).await?;
    super::trash::copy(s, t, key, r).await?;
    super::deletions::copy(s, t, key, r).await?;
    tracing::info!(app = key, container = %app.container, "app copied");
    Ok(())
}

/// Copies the operations of an app with their versions, and the last version of every name.
async fn operations(
    s: &End,
    t: &End,
    key: &str,
    r: &mut MigrateReport,
) -> Result<(), MigrateError> {
    let rows = u32::try_from(PAGE).unwrap_or(u32::MAX);
    let mut page = 1;
    loop {
        let listed = s
            .catalog
            .list_operations(key, "", page, rows, SortKey::Name, false)
            .await;
        let (ops, _) = listed.map_err(s.cat())?;
        if ops.is_empty() {
            break;
        }
        for op in &ops {
            match t
                .catalog
                .operation(key, &op.operation_id)
                .await
                .map_err(t.cat())?
            {
                Some(existing) if existing == *op => r.present.operations += 1,
                Some(existing) => r.mismatch(Mismatch::new(
                    Kind::Operation,
                    key,
                    &op.operation_id,
                    format!(
                        "the target's operation differs (version {}, source {})",
                        existing.version, op.version
                    ),
                )),
                None => {
                    t.catalog.import_operation(key, op).await.map_err(t.cat())?;
                    r.copied.operations += 1;
                }
            }
        }
        page += 1;
    }
    let mut after = String::new();
    loop {
        let versions = s.catalog.operation_versions(key, &after, PAGE).await;
        let versions = versions.map_err(s.cat())?;
        let Some((last, _)) = versions.last() else {
            return Ok(());
        };
        after = last.clone();
        for (id, version) in &versions {
            let raised = t.catalog.import_operation_version(key, id, *version).await;
            raised.map_err(t.cat())?;
        }
    }
}

/// Copies the folders of an app, parents first.
async fn folders(s: &End, t: &End, key: &str, r: &mut MigrateReport) -> Result<(), MigrateError> {
    let mut after = String::new();
    loop {
        let page = s.catalog.folders_after(key, &after, PAGE).await;
        let page = page.map_err(s.cat())?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.path.clone();
        for folder in &page {
            let existing = t.catalog.folder_by_path(key, &folder.path).await;
            match existing.map_err(t.cat())? {
                Some(found) if found == *folder => {
                    r.present.folders += 1;
                    continue;
                }
                Some(found) if found.path != "/" => {
                    r.mismatch(Mismatch::new(
                        Kind::Folder,
                        key,
                        &folder.path,
                        format!(
                            "the target's folder differs (id {}, source {})",
                            found.id, folder.id
                        ),
                    ));
                    continue;
                }
                _ => {}
            }
            match t.catalog.import_folder(key, folder).await {
                Ok(()) => r.copied.folders += 1,
                Err(e) if refusal(&e) => {
                    r.mismatch(Mismatch::new(
                        Kind::Folder,
                        key,
                        &folder.path,
                        e.to_string(),
                    ));
                }
                Err(e) => return Err(t.cat()(e)),
            }
        }
    }
}

/// What became of one file.
enum FileCopy {
    /// The target holds another file at its path, or refused it.
    Refused(String),
    /// Its record was imported (`true`) or found equal (`false`), after its bytes.
    Done {
        /// Whether the record was imported by this run.
        imported: bool,
        /// What became of its bytes.
        blob: BlobCopy,
    },
}

/// Copies the files of an app, `jobs` at a time, page by page.
async fn files(
    s: &End,
    t: &End,
    key: &str,
    jobs: usize,
    r: &mut MigrateReport,
) -> Result<(), MigrateError> {
    let mut after = String::new();
    while let Some(page) = next_files(s, key, &mut after).await? {
        let outcomes = each_file(&page, jobs, |file| copy_file(s, t, key, file)).await;
        for (file, outcome) in outcomes {
            match outcome? {
                FileCopy::Refused(why) => {
                    r.mismatch(Mismatch::new(Kind::File, key, &file.path, why));
                }
                FileCopy::Done { imported, blob } => {
                    if imported {
                        r.copied.files += 1;
                    } else {
                        r.present.files += 1;
                    }
                    match blob {
                        BlobCopy::Copied(n) => {
                            r.copied.blobs += 1;
                            r.copied.blob_bytes += n;
                        }
                        BlobCopy::Present => r.present.blobs += 1,
                        BlobCopy::MissingInSource => r.mismatch(Mismatch::new(
                            Kind::Blob,
                            key,
                            &file.path,
                            format!("the source store lacks its bytes ({})", file.blob_key),
                        )),
                    }
                }
            }
        }
        tracing::info!(app = key, last = %after, "files copied up to");
    }
    Ok(())
}

/// Copies one file: its bytes unless the target has them, then its record unless the target
/// holds it equal already.
async fn copy_file(
    s: &End,
    t: &End,
    key: &str,
    file: &FileRecord,
) -> Result<FileCopy, MigrateError> {
    let existing = t.catalog.file_by_path(key, &file.path).await;
    let existing = existing.map_err(t.cat())?;
    if let Some(found) = existing.as_ref().filter(|found| *found != file) {
        return Ok(FileCopy::Refused(format!(
            "the target's file differs (id {}, etag {}; source id {}, etag {})",
            found.id, found.etag, file.id, file.etag
        )));
    }
    let blob = copy_blob(s, t, &file.blob_key).await?;
    if existing.is_some() {
        return Ok(FileCopy::Done {
            imported: false,
            blob,
        });
    }
    match t.catalog.import_file(key, file).await {
        Ok(()) => Ok(FileCopy::Done {
            imported: true,
            blob,
        }),
        Err(e) if refusal(&e) => Ok(FileCopy::Refused(e.to_string())),
        Err(e) => Err(t.cat()(e)),
    }
}

/// Copies every task, of every app.
pub(super) async fn tasks(s: &End, t: &End, r: &mut MigrateReport) -> Result<(), MigrateError> {
    let mut after = String::new();
    loop {
        let page = s.catalog.tasks_after(&after, PAGE).await.map_err(s.cat())?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.task.id.clone();
        for record in &page {
            let task = &record.task;
            match t
                .catalog
                .task(&task.app_key, &task.id)
                .await
                .map_err(t.cat())?
            {
                Some(existing) if existing == *task => r.present.tasks += 1,
                Some(existing) => r.mismatch(Mismatch::new(
                    Kind::Task,
                    &task.app_key,
                    &task.id,
                    format!(
                        "the target's task differs (status {}, source {})",
                        existing.status.code(),
                        task.status.code()
                    ),
                )),
                None => {
                    t.catalog.import_task(record).await.map_err(t.cat())?;
                    r.copied.tasks += 1;
                }
            }
        }
    }
}
