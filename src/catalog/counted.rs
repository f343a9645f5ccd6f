//! A catalog that counts its own backend failures: every call is delegated to the wrapped
//! catalog, and each answer that is [`CatalogError::Backend`] adds one to a counter, so a
//! failure is counted once, where it happens, whoever made the call. Refusals of a call
//! (`NotFound`, `FileExists`, `FolderExists`, `NotAFolder`, `QuotaExceeded`, `Refused`) are answers, not
//! failures, and are not counted.

use super::{
    Advance, AppRecord, AppSettings, BlobReferences, CallbackOutcome, Catalog, CatalogError,
    CatalogResult, ChangeFeed, ClaimedTask, CreatedBy, Deletion, FilePage, FileRecord, FileSearch,
    Folder, FolderStats, ListQuery, Listing, NewCallback, OnConflict, OperationRecord,
    PendingCallback, PutOutcome, Quota, Restored, SortKey, StoredFile, Task, TaskRecord,
    TaskStatus, Transfer, Transferred, TrashItem, TrashTimes, TrashedFile, TrashedFolder, Upload,
    UploadChunk, Usage,
};
use async_trait::async_trait;
use prometheus::IntCounter;
use std::sync::Arc;

/// A [`Catalog`] counting the backend failures of the catalog it wraps.
pub struct Counted {
    /// The catalog doing the work.
    inner: Arc<dyn Catalog>,
    /// Incremented once per call answered with a backend failure.
    failures: IntCounter,
}

impl Counted {
    /// Wraps `inner`, counting its backend failures in `failures`.
    pub fn new(inner: Arc<dyn Catalog>, failures: IntCounter) -> Self {
        Self { inner, failures }
    }

    /// Counts `r` if it is a backend failure, and passes it on.
    fn count<T>(&self, r: CatalogResult<T>) -> CatalogResult<T> {
        if let Err(CatalogError::Backend { .. }) = &r {
            self.failures.inc();
        }
        r
    }
}

#[async_trait]
impl Catalog for Counted {
    async fn create_app(&self, app: &AppRecord) -> CatalogResult<()> {
        self.count(self.inner.create_app(app).await)
    }
    async fn apps(&self) -> CatalogResult<Vec<AppRecord>> {
        self.count(self.inner.apps().await)
    }
    async fn app(&self, app_key: &str) -> CatalogResult<Option<AppRecord>> {
        self.count(self.inner.app(app_key).await)
    }
    async fn app_by_container(&self, container: &str) -> CatalogResult<Option<AppRecord>> {
        self.count(self.inner.app_by_container(container).await)
    }
    async fn set_realtime_service(&self, app_key: &str, on: bool) -> CatalogResult<()> {
        self.count(self.inner.set_realtime_service(app_key, on).await)
    }
    async fn set_app_settings(&self, app_key: &str, settings: &AppSettings) -> CatalogResult<()> {
        self.count(self.inner.set_app_settings(app_key, settings).await)
    }

    async fn create_folder(&self, app_key: &str, path: &str, now: i64) -> CatalogResult<Folder> {
        self.count(self.inner.create_folder(app_key, path, now).await)
    }
    async fn folder_by_path(&self, app_key: &str, path: &str) -> CatalogResult<Option<Folder>> {
        self.count(self.inner.folder_by_path(app_key, path).await)
    }
    async fn folder_by_id(&self, app_key: &str, id: &str) -> CatalogResult<Option<Folder>> {
        self.count(self.inner.folder_by_id(app_key, id).await)
    }
    async fn list(&self, app_key: &str, folder: &str, query: &ListQuery) -> CatalogResult<Listing> {
        self.count(self.inner.list(app_key, folder, query).await)
    }
    async fn folder_stats(&self, app_key: &str, folder: &str) -> CatalogResult<FolderStats> {
        self.count(self.inner.folder_stats(app_key, folder).await)
    }

    async fn file_by_path(&self, app_key: &str, path: &str) -> CatalogResult<Option<FileRecord>> {
        self.count(self.inner.file_by_path(app_key, path).await)
    }
    async fn stored_file(&self, app_key: &str, path: &str) -> CatalogResult<Option<StoredFile>> {
        self.count(self.inner.stored_file(app_key, path).await)
    }
    async fn file_by_id(&self, app_key: &str, id: &str) -> CatalogResult<Option<FileRecord>> {
        self.count(self.inner.file_by_id(app_key, id).await)
    }
    async fn files_below(
        &self,
        app_key: &str,
        folder: &str,
        created_by: CreatedBy,
        limit: usize,
    ) -> CatalogResult<Vec<FileRecord>> {
        self.count(
            self.inner
                .files_below(app_key, folder, created_by, limit)
                .await,
        )
    }
    async fn put_file(
        &self,
        app_key: &str,
        file: FileRecord,
        on_conflict: OnConflict,
    ) -> CatalogResult<PutOutcome> {
        self.count(self.inner.put_file(app_key, file, on_conflict).await)
    }
    async fn delete_file(
        &self,
        app_key: &str,
        id: &str,
        with_produced: bool,
    ) -> CatalogResult<Vec<String>> {
        self.count(self.inner.delete_file(app_key, id, with_produced).await)
    }
    async fn delete_folder(&self, app_key: &str, id: &str) -> CatalogResult<Vec<String>> {
        self.count(self.inner.delete_folder(app_key, id).await)
    }

    async fn put_operation(
        &self,
        app_key: &str,
        op: &OperationRecord,
    ) -> CatalogResult<OperationRecord> {
        self.count(self.inner.put_operation(app_key, op).await)
    }
    async fn operation(&self, app_key: &str, id: &str) -> CatalogResult<Option<OperationRecord>> {
        self.count(self.inner.operation(app_key, id).await)
    }
    async fn list_operations(
        &self,
        app_key: &str,
        prefix: &str,
        page: u32,
        rows: u32,
        sort: SortKey,
        descending: bool,
    ) -> CatalogResult<(Vec<OperationRecord>, u64)> {
        let listed = self
            .inner
            .list_operations(app_key, prefix, page, rows, sort, descending);
        self.count(listed.await)
    }
    async fn delete_operation(&self, app_key: &str, id: &str) -> CatalogResult<()> {
        self.count(self.inner.delete_operation(app_key, id).await)
    }
    async fn delete_produced_by(
        &self,
        app_key: &str,
        operation_id: &str,
    ) -> CatalogResult<Vec<String>> {
        self.count(self.inner.delete_produced_by(app_key, operation_id).await)
    }
    async fn produced_from(
        &self,
        app_key: &str,
        source_id: &str,
    ) -> CatalogResult<Vec<FileRecord>> {
        self.count(self.inner.produced_from(app_key, source_id).await)
    }

    async fn enqueue_task(&self, task: &Task) -> CatalogResult<()> {
        self.count(self.inner.enqueue_task(task).await)
    }
    async fn task(&self, app_key: &str, id: &str) -> CatalogResult<Option<Task>> {
        self.count(self.inner.task(app_key, id).await)
    }
    async fn claim_task(&self, lease_until: i64) -> CatalogResult<Option<ClaimedTask>> {
        self.count(self.inner.claim_task(lease_until).await)
    }
    async fn pending_tasks(&self) -> CatalogResult<(u64, u64)> {
        self.count(self.inner.pending_tasks().await)
    }
    async fn finish_task(
        &self,
        claimed: &ClaimedTask,
        status: TaskStatus,
        error: Option<&str>,
        now: i64,
    ) -> CatalogResult<bool> {
        self.count(self.inner.finish_task(claimed, status, error, now).await)
    }
    async fn renew_task(&self, claimed: &ClaimedTask, lease_until: i64) -> CatalogResult<bool> {
        self.count(self.inner.renew_task(claimed, lease_until).await)
    }
    async fn expire_task_leases(&self, now: i64, max_tries: u32) -> CatalogResult<Vec<Task>> {
        self.count(self.inner.expire_task_leases(now, max_tries).await)
    }
    async fn prune_tasks(&self, finished_before: i64, limit: usize) -> CatalogResult<u64> {
        self.count(self.inner.prune_tasks(finished_before, limit).await)
    }

    async fn dropped_blobs(&self, dropped_before: i64, limit: usize) -> CatalogResult<Vec<String>> {
        self.count(self.inner.dropped_blobs(dropped_before, limit).await)
    }
    async fn forget_dropped_blobs(&self, keys: &[String]) -> CatalogResult<()> {
        self.count(self.inner.forget_dropped_blobs(keys).await)
    }
    async fn blob_references(&self, dropped_since: i64) -> CatalogResult<BlobReferences> {
        self.count(self.inner.blob_references(dropped_since).await)
    }

    async fn folders_after(
        &self,
        app_key: &str,
        after: &str,
        limit: usize,
    ) -> CatalogResult<Vec<Folder>> {
        self.count(self.inner.folders_after(app_key, after, limit).await)
    }
    async fn import_folder(&self, app_key: &str, folder: &Folder) -> CatalogResult<()> {
        self.count(self.inner.import_folder(app_key, folder).await)
    }
    async fn files_after(
        &self,
        app_key: &str,
        after: &str,
        limit: usize,
    ) -> CatalogResult<Vec<FileRecord>> {
        self.count(self.inner.files_after(app_key, after, limit).await)
    }
    async fn import_file(&self, app_key: &str, file: &FileRecord) -> CatalogResult<()> {
        self.count(self.inner.import_file(app_key, file).await)
    }
    async fn operation_versions(
        &self,
        app_key: &str,
        after: &str,
        limit: usize,
    ) -> CatalogResult<Vec<(String, i64)>> {
        self.count(self.inner.operation_versions(app_key, after, limit).await)
    }
    async fn import_operation(&self, app_key: &str, op: &OperationRecord) -> CatalogResult<()> {
        self.count(self.inner.import_operation(app_key, op).await)
    }
    async fn import_operation_version(
        &self,
        app_key: &str,
        operation_id: &str,
        version: i64,
    ) -> CatalogResult<()> {
        let raised = self
            .inner
            .import_operation_version(app_key, operation_id, version);
        self.count(raised.await)
    }
    async fn tasks_after(&self, after: &str, limit: usize) -> CatalogResult<Vec<TaskRecord>> {
        self.count(self.inner.tasks_after(after, limit).await)
    }
    async fn import_task(&self, record: &TaskRecord) -> CatalogResult<()> {
        self.count(self.inner.import_task(record).await)
    }

    async fn add_callback(&self, callback: &NewCallback, max_pending: u64) -> CatalogResult<bool> {
        self.count(self.inner.add_callback(callback, max_pending).await)
    }
    async fn claim_callbacks(
        &self,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> CatalogResult<Vec<PendingCallback>> {
        self.count(self.inner.claim_callbacks(now, lease_until, limit).await)
    }
    async fn finish_callback(
        &self,
        claimed: &PendingCallback,
        outcome: CallbackOutcome,
    ) -> CatalogResult<()> {
        self.count(self.inner.finish_callback(claimed, outcome).await)
    }

    // --- rotation ---
    async fn replace_file_version(
        &self,
        app_key: &str,
        file: FileRecord,
        expected_blob_key: &str,
    ) -> CatalogResult<Option<PutOutcome>> {
        self.count(
            self.inner
                .replace_file_version(app_key, file, expected_blob_key)
                .await,
        )
    }
    // --- quota ---
    async fn usage(&self, app_key: &str) -> CatalogResult<Usage> {
        self.count(self.inner.usage(app_key).await)
    }
    async fn put_file_within(
        &self,
        app_key: &str,
        file: FileRecord,
        on_conflict: OnConflict,
        quota: Quota,
    ) -> CatalogResult<PutOutcome> {
        self.count(
            self.inner
                .put_file_within(app_key, file, on_conflict, quota)
                .await,
        )
    }
    // --- trash and deletion history ---
    async fn trash_file(
        &self,
        app_key: &str,
        id: &str,
        times: TrashTimes,
    ) -> CatalogResult<TrashItem> {
        self.count(self.inner.trash_file(app_key, id, times).await)
    }
    async fn trash_folder(
        &self,
        app_key: &str,
        id: &str,
        times: TrashTimes,
    ) -> CatalogResult<Vec<TrashItem>> {
        self.count(self.inner.trash_folder(app_key, id, times).await)
    }
    async fn trash_items(
        &self,
        app_key: &str,
        page: u32,
        rows: u32,
    ) -> CatalogResult<(Vec<TrashItem>, u64)> {
        self.count(self.inner.trash_items(app_key, page, rows).await)
    }
    async fn restore_trash(
        &self,
        app_key: &str,
        file_ids: &[String],
        folder_ids: &[String],
        now: i64,
    ) -> CatalogResult<Vec<Restored>> {
        self.count(
            self.inner
                .restore_trash(app_key, file_ids, folder_ids, now)
                .await,
        )
    }
    async fn purge_trash(
        &self,
        app_key: &str,
        file_ids: &[String],
        folder_ids: &[String],
        now: i64,
    ) -> CatalogResult<u64> {
        self.count(
            self.inner
                .purge_trash(app_key, file_ids, folder_ids, now)
                .await,
        )
    }
    async fn empty_trash(&self, app_key: &str, limit: usize, now: i64) -> CatalogResult<u64> {
        self.count(self.inner.empty_trash(app_key, limit, now).await)
    }
    async fn purge_expired_trash(&self, now: i64, limit: usize) -> CatalogResult<u64> {
        self.count(self.inner.purge_expired_trash(now, limit).await)
    }
    async fn deletions(
        &self,
        app_key: &str,
        since: i64,
        page: u32,
        rows: u32,
    ) -> CatalogResult<(Vec<Deletion>, u64)> {
        self.count(self.inner.deletions(app_key, since, page, rows).await)
    }
    async fn prune_deletions(&self, before: i64, limit: usize) -> CatalogResult<u64> {
        self.count(self.inner.prune_deletions(before, limit).await)
    }
    async fn trashed_files_after(
        &self,
        app_key: &str,
        after: &str,
        limit: usize,
    ) -> CatalogResult<Vec<TrashedFile>> {
        self.count(self.inner.trashed_files_after(app_key, after, limit).await)
    }
    async fn import_deletions(&self, app_key: &str, entries: &[Deletion]) -> CatalogResult<u64> {
        self.count(self.inner.import_deletions(app_key, entries).await)
    }
    async fn import_trashed_file(
        &self,
        app_key: &str,
        trashed: &TrashedFile,
    ) -> CatalogResult<bool> {
        self.count(self.inner.import_trashed_file(app_key, trashed).await)
    }
    async fn trashed_folders_after(
        &self,
        app_key: &str,
        after: &str,
        limit: usize,
    ) -> CatalogResult<Vec<TrashedFolder>> {
        self.count(
            self.inner
                .trashed_folders_after(app_key, after, limit)
                .await,
        )
    }
    async fn import_trashed_folder(
        &self,
        app_key: &str,
        trashed: &TrashedFolder,
    ) -> CatalogResult<bool> {
        self.count(self.inner.import_trashed_folder(app_key, trashed).await)
    }
    // --- resumable uploads ---
    async fn create_upload(
        &self,
        upload: &Upload,
        max_per_app: u64,
        now: i64,
    ) -> CatalogResult<bool> {
        self.count(self.inner.create_upload(upload, max_per_app, now).await)
    }
    async fn upload(&self, app_key: &str, id: &str) -> CatalogResult<Option<Upload>> {
        self.count(self.inner.upload(app_key, id).await)
    }
    async fn upload_chunks(&self, app_key: &str, id: &str) -> CatalogResult<Vec<UploadChunk>> {
        self.count(self.inner.upload_chunks(app_key, id).await)
    }
    async fn append_upload_chunk(
        &self,
        app_key: &str,
        id: &str,
        chunk: &UploadChunk,
        expires_at: i64,
        max_chunks: u64,
    ) -> CatalogResult<Advance> {
        self.count(
            self.inner
                .append_upload_chunk(app_key, id, chunk, expires_at, max_chunks)
                .await,
        )
    }
    async fn complete_upload(
        &self,
        app_key: &str,
        id: &str,
        last: &UploadChunk,
        file: FileRecord,
        on_conflict: OnConflict,
        quota: Quota,
    ) -> CatalogResult<Option<PutOutcome>> {
        self.count(
            self.inner
                .complete_upload(app_key, id, last, file, on_conflict, quota)
                .await,
        )
    }
    async fn delete_upload(&self, app_key: &str, id: &str) -> CatalogResult<Vec<String>> {
        self.count(self.inner.delete_upload(app_key, id).await)
    }
    async fn expired_uploads(&self, now: i64, limit: usize) -> CatalogResult<Vec<Upload>> {
        self.count(self.inner.expired_uploads(now, limit).await)
    }
    async fn upload_blob_keys(&self) -> CatalogResult<Vec<String>> {
        self.count(self.inner.upload_blob_keys().await)
    }

    // --- copy and move ---
    async fn copy_entries(&self, app_key: &str, transfer: &Transfer) -> CatalogResult<Transferred> {
        self.count(self.inner.copy_entries(app_key, transfer).await)
    }
    async fn move_entries(&self, app_key: &str, transfer: &Transfer) -> CatalogResult<Transferred> {
        self.count(self.inner.move_entries(app_key, transfer).await)
    }
    // --- tags, search and colour ---
    async fn set_tags(
        &self,
        app_key: &str,
        id: &str,
        tags: &[String],
    ) -> CatalogResult<FileRecord> {
        self.count(self.inner.set_tags(app_key, id, tags).await)
    }
    async fn search_files(&self, app_key: &str, query: &FileSearch) -> CatalogResult<FilePage> {
        self.count(self.inner.search_files(app_key, query).await)
    }

    async fn subscribe_changes(&self) -> CatalogResult<Option<ChangeFeed>> {
        self.count(self.inner.subscribe_changes().await)
    }
    async fn claim_render(
        &self,
        key: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> CatalogResult<bool> {
        self.count(self.inner.claim_render(key, holder, now, until).await)
    }
    async fn release_render(&self, key: &str, holder: &str) -> CatalogResult<()> {
        self.count(self.inner.release_render(key, holder).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::contract::CHECKS;
    use crate::catalog::sqlite::SqliteCatalog;

    /// A counted SQLite catalog in a fresh directory, with the path of its database.
    fn open() -> (tempfile::TempDir, std::path::PathBuf, Counted) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.sqlite3");
        let sqlite = SqliteCatalog::open(&path, 2).expect("open");
        let failures = IntCounter::new("failures", "test").expect("counter");
        (dir, path, Counted::new(Arc::new(sqlite), failures))
    }

    fn app() -> AppRecord {
        AppRecord {
            app_key: "A".to_owned(),
            secret_key: "S".to_owned(),
            container: "abcdefgh".to_owned(),
            name: "test".to_owned(),
            realtime_service: true,
            created_at: 1,
            settings: AppSettings::default(),
        }
    }

    #[tokio::test]
    async fn the_counted_catalog_keeps_the_contract() {
        for (name, check) in CHECKS {
            eprintln!("contract check: {name}");
            let (_dir, _path, catalog) = open();
            check(&catalog).await;
        }
    }

    #[tokio::test]
    async fn refusals_are_not_counted() {
        let (_dir, _path, catalog) = open();
        catalog.create_app(&app()).await.expect("app");
        catalog.create_folder("A", "/a", 2).await.expect("folder");
        let again = catalog.create_folder("A", "/a", 3).await;
        assert!(
            matches!(again, Err(CatalogError::FolderExists(_))),
            "{again:?}"
        );
        let missing = catalog.delete_operation("A", "nothing").await;
        assert!(
            matches!(missing, Err(CatalogError::NotFound(_))),
            "{missing:?}"
        );
        let no_room = Quota {
            bytes: None,
            files: Some(0),
        };
        let file = FileRecord::new("/x.gif", "k", b"x", "image/gif", (1, 1));
        let over = catalog
            .put_file_within("A", file, OnConflict::Fail, no_room)
            .await;
        assert!(matches!(over, Err(CatalogError::QuotaExceeded)), "{over:?}");
        assert_eq!(catalog.failures.get(), 0);
    }

    #[tokio::test]
    async fn each_backend_failure_is_counted_once() {
        let (_dir, path, catalog) = open();
        catalog.create_app(&app()).await.expect("app");
        let other = rusqlite::Connection::open(&path).expect("second connection");
        other
            .execute_batch("DROP TABLE folders")
            .expect("drop the folders table");
        let failed = catalog.create_folder("A", "/a", 2).await;
        assert!(
            matches!(failed, Err(CatalogError::Backend { .. })),
            "{failed:?}"
        );
        assert_eq!(catalog.failures.get(), 1);
        let failed = catalog.folder_by_path("A", "/").await;
        assert!(
            matches!(failed, Err(CatalogError::Backend { .. })),
            "{failed:?}"
        );
        assert_eq!(catalog.failures.get(), 2);
        assert!(catalog.app("A").await.expect("apps still read").is_some());
        assert_eq!(catalog.failures.get(), 2);
    }
}
