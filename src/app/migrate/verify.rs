//! The check after the copy: the counts of every app on both sides, and every file's bytes
//! read back from the target. An uploaded file's bytes must hash to its ETag; a produced
//! file's must have the length recorded and hash as the source's bytes do.

use super::blobs::digest;
use super::pages::{each_file, next_files, PAGE};
use super::report::{AppCounts, Kind, MigrateReport, Mismatch, Pair};
use super::{End, MigrateError};
use crate::catalog::{etag_of_hash, AppRecord, CreatedBy, FileRecord, SortKey};
use std::collections::HashMap;

/// Compares the counts of each app in `apps` and checks the bytes of each of their files.
pub(super) async fn run(
    s: &End,
    t: &End,
    apps: &[AppRecord],
    jobs: usize,
    r: &mut MigrateReport,
) -> Result<(), MigrateError> {
    let source_tasks = task_counts(s, apps).await?;
    let target_tasks = task_counts(t, apps).await?;
    for app in apps {
        let key = app.app_key.as_str();
        let tasks = Pair {
            source: source_tasks.get(key).copied().unwrap_or(0),
            target: target_tasks.get(key).copied().unwrap_or(0),
        };
        let counts = counts(s, t, app, tasks).await?;
        for name in counts.disagreements() {
            r.mismatch(Mismatch::new(
                Kind::Count,
                key,
                name,
                "the target holds another number",
            ));
        }
        r.apps.push(counts);
        blobs(s, t, key, jobs, r).await?;
    }
    Ok(())
}

/// The counts of an app on both sides.
async fn counts(s: &End, t: &End, app: &AppRecord, tasks: Pair) -> Result<AppCounts, MigrateError> {
    let key = app.app_key.as_str();
    let source = s.catalog.folder_stats(key, "/").await.map_err(s.cat())?;
    let target = t.catalog.folder_stats(key, "/").await.map_err(t.cat())?;
    Ok(AppCounts {
        app_key: key.to_owned(),
        container: app.container.clone(),
        folders: Pair {
            source: source.folders,
            target: target.folders,
        },
        files: Pair {
            source: source.files,
            target: target.files,
        },
        bytes: Pair {
            source: source.bytes,
            target: target.bytes,
        },
        operations: Pair {
            source: operation_count(s, key).await?,
            target: operation_count(t, key).await?,
        },
        tasks,
    })
}

/// The number of operations of an app in one catalog.
async fn operation_count(end: &End, key: &str) -> Result<u64, MigrateError> {
    let listed = end
        .catalog
        .list_operations(key, "", 1, 1, SortKey::Name, false)
        .await;
    Ok(listed.map_err(end.cat())?.1)
}

/// The number of tasks of each app of `apps` in one catalog.
async fn task_counts(end: &End, apps: &[AppRecord]) -> Result<HashMap<String, u64>, MigrateError> {
    let mut counts: HashMap<String, u64> = apps.iter().map(|a| (a.app_key.clone(), 0)).collect();
    let mut after = String::new();
    loop {
        let page = end.catalog.tasks_after(&after, PAGE).await;
        let page = page.map_err(end.cat())?;
        let Some(last) = page.last() else {
            return Ok(counts);
        };
        after = last.task.id.clone();
        for record in &page {
            if let Some(n) = counts.get_mut(&record.task.app_key) {
                *n += 1;
            }
        }
    }
}

/// Checks the bytes of every file of an app, `jobs` at a time.
async fn blobs(
    s: &End,
    t: &End,
    key: &str,
    jobs: usize,
    r: &mut MigrateReport,
) -> Result<(), MigrateError> {
    let mut after = String::new();
    while let Some(page) = next_files(s, key, &mut after).await? {
        let checked = each_file(&page, jobs, |file| check_file(s, t, key, file)).await;
        for (file, problem) in checked {
            match problem? {
                None => r.blobs_verified += 1,
                Some((kind, detail)) => {
                    r.mismatch(Mismatch::new(kind, key, &file.path, detail));
                }
            }
        }
    }
    Ok(())
}

/// What is wrong with a file in the target, if anything.
async fn check_file(
    s: &End,
    t: &End,
    key: &str,
    file: &FileRecord,
) -> Result<Option<(Kind, String)>, MigrateError> {
    let stored = t.catalog.file_by_path(key, &file.path).await;
    match stored.map_err(t.cat())? {
        None => return Ok(Some((Kind::File, "missing from the target catalog".into()))),
        Some(found) if found != *file => {
            return Ok(Some((Kind::File, "the target's record differs".into())));
        }
        Some(_) => {}
    }
    let Some((len, hash)) = digest(t, &file.blob_key).await? else {
        return Ok(Some((
            Kind::Blob,
            format!("missing from the target store ({})", file.blob_key),
        )));
    };
    if len != file.bytes {
        return Ok(Some((
            Kind::Blob,
            format!("{len} bytes read back, {} recorded", file.bytes),
        )));
    }
    let expected = match file.created_by {
        CreatedBy::User => file.etag.clone(),
        CreatedBy::Operation => match digest(s, &file.blob_key).await? {
            Some((_, source_hash)) => etag_of_hash(source_hash),
            None => return Ok(Some((Kind::Blob, "missing from the source store".into()))),
        },
    };
    let got = etag_of_hash(hash);
    if got != expected {
        return Ok(Some((
            Kind::Blob,
            format!("the bytes read back hash to {got}, expected {expected}"),
        )));
    }
    Ok(None)
}
