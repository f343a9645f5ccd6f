//! Reading the source page by page, each page starting after the last key of the one before,
//! and working on a page's files a bounded number at a time.

use super::{End, MigrateError};
use crate::catalog::FileRecord;
use futures_util::stream::{self, StreamExt};
use std::future::Future;

/// Records read per page.
pub(super) const PAGE: usize = 500;

/// The next page of an app's files in `end` after the path `after`, which moves to the page's
/// last path; `None` once every file was read.
pub(super) async fn next_files(
    end: &End,
    key: &str,
    after: &mut String,
) -> Result<Option<Vec<FileRecord>>, MigrateError> {
    let page = end.catalog.files_after(key, after, PAGE).await;
    let page = page.map_err(end.cat())?;
    Ok(page.last().map(|last| last.path.clone()).map(|last| {
        *after = last;
        page
    }))
}

/// Runs `work` over each file of `page`, at most `jobs` at once; every outcome with its file,
/// in the order they end.
pub(super) async fn each_file<'a, T, F, Fut>(
    page: &'a [FileRecord],
    jobs: usize,
    work: F,
) -> Vec<(&'a FileRecord, T)>
where
    F: Fn(&'a FileRecord) -> Fut,
    Fut: Future<Output = T>,
{
    stream::iter(page)
        .map(|file| {
            let done = work(file);
            async move { (file, done.await) }
        })
        .buffer_unordered(jobs)
        .collect()
        .await
}
