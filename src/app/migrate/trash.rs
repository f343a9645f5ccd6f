//! The copy of an app's trash: its folders, then its files (bytes first, then the record), in
//! id order page by page, each row as given. A row the target holds already is kept: rows of
//! the trash never change in place, so one with the same id holds the same.

use super::blobs::{copy_blob, BlobCopy};
use super::pages::PAGE;
use super::report::{Kind, MigrateReport, Mismatch};
use super::{End, MigrateError};

/// Copies the trash of an app.
pub(super) async fn copy(
    s: &End,
    t: &End,
    key: &str,
    r: &mut MigrateReport,
) -> Result<(), MigrateError> {
    let mut after = String::new();
    loop {
        let page = s.catalog.trashed_folders_after(key, &after, PAGE).await;
        let page = page.map_err(s.cat())?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.folder.id.clone();
        for trashed in &page {
            if t.catalog
                .import_trashed_folder(key, trashed)
                .await
                .map_err(t.cat())?
            {
                r.copied.trashed_folders += 1;
            } else {
                r.present.trashed_folders += 1;
            }
        }
    }
    let mut after = String::new();
    loop {
        let page = s.catalog.trashed_files_after(key, &after, PAGE).await;
        let page = page.map_err(s.cat())?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.file.id.clone();
        for trashed in &page {
            let file = &trashed.file;
            match copy_blob(s, t, &file.blob_key).await? {
                BlobCopy::Copied(n) => {
                    r.copied.blobs += 1;
                    r.copied.blob_bytes += n;
                }
                BlobCopy::Present => r.present.blobs += 1,
                BlobCopy::MissingInSource => r.mismatch(Mismatch::new(
                    Kind::Blob,
                    key,
                    &file.path,
                    format!(
                        "the source store lacks the bytes of this trashed file ({})",
                        file.blob_key
                    ),
                )),
            }
            if t.catalog
                .import_trashed_file(key, trashed)
                .await
                .map_err(t.cat())?
            {
                r.copied.trashed_files += 1;
            } else {
                r.present.trashed_files += 1;
            }
        }
        tracing::info!(app = key, last = %after, "trashed files copied up to");
    }
}
