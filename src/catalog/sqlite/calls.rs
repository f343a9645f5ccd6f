//! The [`Catalog`] trait bound to the SQL of each concern.

use super::{
    apps, blobs, copy, copy_move, deletions, files, folders, metadata, operations, outbox, quota,
    restore, rotation, tasks, trash, trash_copy, uploads, SqliteCatalog,
};
use crate::catalog::{
    Advance, AppRecord, AppSettings, BlobReferences, CallbackOutcome, Catalog, CatalogResult,
    ClaimedTask, CreatedBy, Deletion, FilePage, FileRecord, FileSearch, Folder, FolderStats,
    ListQuery, Listing, NewCallback, OnConflict, OperationRecord, PendingCallback, PutOutcome,
    Quota, Restored, SortKey, StoredFile, Task, TaskRecord, TaskStatus, Transfer, Transferred,
    TrashItem, TrashTimes, TrashedFile, TrashedFolder, Upload, UploadChunk, Usage,
};
use async_trait::async_trait;

#[async_trait]
impl Catalog for SqliteCatalog {
    async fn create_app(&self, app: &AppRecord) -> CatalogResult<()> {
        apps::create_app(self, app).await
    }

    async fn apps(&self) -> CatalogResult<Vec<AppRecord>> {
        apps::apps(self).await
    }

    async fn app(&self, app_key: &str) -> CatalogResult<Option<AppRecord>> {
        apps::app(self, app_key).await
    }

    async fn app_by_container(&self, container: &str) -> CatalogResult<Option<AppRecord>> {
        apps::app_by_container(self, container).await
    }

    async fn set_realtime_service(&self, app_key: &str, on: bool) -> CatalogResult<()> {
        apps::set_realtime_service(self, app_key, on).await
    }
    async fn set_app_settings(&self, app_key: &str, settings: &AppSettings) -> CatalogResult<()> {
        apps::set_app_settings(self, app_key, settings).await
    }

    async fn create_folder(&self, app_key: &str, path: &str, now: i64) -> CatalogResult<Folder> {
        folders::create_folder(self, app_key, path, now).await
    }

    async fn folder_by_path(&self, app_key: &str, path: &str) -> CatalogResult<Option<Folder>> {
        folders::folder_by_path(self, app_key, path).await
    }

    async fn folder_by_id(&self, app_key: &str, id: &str) -> CatalogResult<Option<Folder>> {
        folders::folder_by_id(self, app_key, id).await
    }

    async fn list(&self, app_key: &str, folder: &str, query: &ListQuery) -> CatalogResult<Listing> {
        folders::list(self, app_key, folder, query).await
    }

    async fn folder_stats(&self, app_key: &str, folder: &str) -> CatalogResult<FolderStats> {
        folders::folder_stats(self, app_key, folder).await
    }

    async fn delete_folder(&self, app_key: &str, id: &str) -> CatalogResult<Vec<String>> {
        folders::delete_folder(self, app_key, id).await
    }

    async fn file_by_path(&self, app_key: &str, path: &str) -> CatalogResult<Option<FileRecord>> {
        files::file_by_path(self, app_key, path).await
    }

    async fn stored_file(&self, app_key: &str, path: &str) -> CatalogResult<Option<StoredFile>> {
        files::stored_file(self, app_key, path).await
    }

    async fn file_by_id(&self, app_key: &str, id: &str) -> CatalogResult<Option<FileRecord>> {
        files::file_by_id(self, app_key, id).await
    }

    async fn files_below(
        &self,
        app_key: &str,
        folder: &str,
        created_by: CreatedBy,
        limit: usize,
    ) -> CatalogResult<Vec<FileRecord>> {
        files::files_below(self, app_key, folder, created_by, limit).await
    }

    async fn put_file(
        &self,
        app_key: &str,
        file: FileRecord,
        on_conflict: OnConflict,
    ) -> CatalogResult<PutOutcome> {
        files::put_file(self, app_key, file, on_conflict).await
    }

    async fn delete_file(
        &self,
        app_key: &str,
        id: &str,
        with_produced: bool,
    ) -> CatalogResult<Vec<String>> {
        files::delete_file(self, app_key, id, with_produced).await
    }

    async fn produced_from(
        &self,
        app_key: &str,
        source_id: &str,
    ) -> CatalogResult<Vec<FileRecord>> {
        files::produced_from(self, app_key, source_id).await
    }

    async fn put_operation(
        &self,
        app_key: &str,
        op: &OperationRecord,
    ) -> CatalogResult<OperationRecord> {
        operations::put_operation(self, app_key, op).await
    }

    async fn operation(&self, app_key: &str, id: &str) -> CatalogResult<Option<OperationRecord>> {
        operations::operation(self, app_key, id).await
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
        operations::list_operations(self, app_key, prefix, page, rows, sort, descending).await
    }

    async fn delete_operation(&self, app_key: &str, id: &str) -> CatalogResult<()> {
        operations::delete_operation(self, app_key, id).await
    }

    async fn delete_produced_by(
        &self,
        app_key: &str,
        operation_id: &str,
    ) -> CatalogResult<Vec<String>> {
        operations::delete_produced_by(self, app_key, operation_id).await
    }

    async fn enqueue_task(&self, task: &Task) -> CatalogResult<()> {
        tasks::enqueue_task(self, task).await
    }

    async fn task(&self, app_key: &str, id: &str) -> CatalogResult<Option<Task>> {
        tasks::task(self, app_key, id).await
    }

    async fn claim_task(&self, lease_until: i64) -> CatalogResult<Option<ClaimedTask>> {
        tasks::claim_task(self, lease_until).await
    }

    async fn pending_tasks(&self) -> CatalogResult<(u64, u64)> {
        tasks::pending_tasks(self).await
    }

    async fn finish_task(
        &self,
        claimed: &ClaimedTask,
        status: TaskStatus,
        error: Option<&str>,
        now: i64,
    ) -> CatalogResult<bool> {
        tasks::finish_task(self, claimed, status, error, now).await
    }

    async fn renew_task(&self, claimed: &ClaimedTask, lease_until: i64) -> CatalogResult<bool> {
        tasks::renew_task(self, claimed, lease_until).await
    }

    async fn expire_task_leases(&self, now: i64, max_tries: u32) -> CatalogResult<Vec<Task>> {
        tasks::expire_task_leases(self, now, max_tries).await
    }

    async fn prune_tasks(&self, finished_before: i64, limit: usize) -> CatalogResult<u64> {
        tasks::prune_tasks(self, finished_before, limit).await
    }

    async fn dropped_blobs(&self, dropped_before: i64, limit: usize) -> CatalogResult<Vec<String>> {
        blobs::dropped_blobs(self, dropped_before, limit).await
    }

    async fn forget_dropped_blobs(&self, keys: &[String]) -> CatalogResult<()> {
        blobs::forget_dropped_blobs(self, keys).await
    }

    async fn blob_references(&self, dropped_since: i64) -> CatalogResult<BlobReferences> {
        blobs::blob_references(self, dropped_since).await
    }

    async fn folders_after(
        &self,
        app_key: &str,
        after: &str,
        limit: usize,
    ) -> CatalogResult<Vec<Folder>> {
        copy::folders_after(self, app_key, after, limit).await
    }

    async fn import_folder(&self, app_key: &str, folder: &Folder) -> CatalogResult<()> {
        copy::import_folder(self, app_key, folder).await
    }

    async fn files_after(
        &self,
        app_key: &str,
        after: &str,
        limit: usize,
    ) -> CatalogResult<Vec<FileRecord>> {
        copy::files_after(self, app_key, after, limit).await
    }

    async fn import_file(&self, app_key: &str, file: &FileRecord) -> CatalogResult<()> {
        copy::import_file(self, app_key, file).await
    }

    async fn operation_versions(
        &self,
        app_key: &str,
        after: &str,
        limit: usize,
    ) -> CatalogResult<Vec<(String, i64)>> {
        copy::operation_versions(self, app_key, after, limit).await
    }

    async fn import_operation(&self, app_key: &str, op: &OperationRecord) -> CatalogResult<()> {
        copy::import_operation(self, app_key, op).await
    }

    async fn import_operation_version(
        &self,
        app_key: &str,
        operation_id: &str,
        version: i64,
    ) -> CatalogResult<()> {
        copy::import_operation_version(self, app_key, operation_id, version).await
    }

    async fn tasks_after(&self, after: &str, limit: usize) -> CatalogResult<Vec<TaskRecord>> {
        copy::tasks_after(self, after, limit).await
    }

    async fn import_task(&self, record: &TaskRecord) -> CatalogResult<()> {
        copy::import_task(self, record).await
    }

    async fn add_callback(&self, callback: &NewCallback, max_pending: u64) -> CatalogResult<bool> {
        outbox::add_callback(self, callback, max_pending).await
    }

    async fn claim_callbacks(
        &self,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> CatalogResult<Vec<PendingCallback>> {
        outbox::claim_callbacks(self, now, lease_until, limit).await
    }

    async fn finish_callback(
        &self,
        claimed: &PendingCallback,
        outcome: CallbackOutcome,
    ) -> CatalogResult<()> {
        outbox::finish_callback(self, claimed, outcome).await
    }

    // --- rotation ---
    async fn replace_file_version(
        &self,
        app_key: &str,
        file: FileRecord,
        expected_blob_key: &str,
    ) -> CatalogResult<Option<PutOutcome>> {
        rotation::replace_file_version(self, app_key, file, expected_blob_key).await
    }

    // --- quota ---
    async fn usage(&self, app_key: &str) -> CatalogResult<Usage> {
        quota::usage(self, app_key).await
    }

    async fn put_file_within(
        &self,
        app_key: &str,
        file: FileRecord,
        on_conflict: OnConflict,
        quota: Quota,
    ) -> CatalogResult<PutOutcome> {
        quota::put_file_within(self, app_key, file, on_conflict, quota).await
    }

    // --- trash and deletion history ---
    async fn trash_file(
        &self,
        app_key: &str,
        id: &str,
        times: TrashTimes,
    ) -> CatalogResult<TrashItem> {
        trash::trash_file(self, app_key, id, times).await
    }

    async fn trash_folder(
        &self,
        app_key: &str,
        id: &str,
        times: TrashTimes,
    ) -> CatalogResult<Vec<TrashItem>> {
        trash::trash_folder(self, app_key, id, times).await
    }

    async fn trash_items(
        &self,
        app_key: &str,
        page: u32,
        rows: u32,
    ) -> CatalogResult<(Vec<TrashItem>, u64)> {
        trash::trash_items(self, app_key, page, rows).await
    }

    async fn restore_trash(
        &self,
        app_key: &str,
        file_ids: &[String],
        folder_ids: &[String],
        now: i64,
    ) -> CatalogResult<Vec<Restored>> {
        restore::restore_trash(self, app_key, file_ids, folder_ids, now).await
    }

    async fn purge_trash(
        &self,
        app_key: &str,
        file_ids: &[String],
        folder_ids: &[String],
        now: i64,
    ) -> CatalogResult<u64> {
        trash::purge_trash(self, app_key, file_ids, folder_ids, now).await
    }

    async fn empty_trash(&self, app_key: &str, limit: usize, now: i64) -> CatalogResult<u64> {
        trash::empty_trash(self, app_key, limit, now).await
    }

    async fn purge_expired_trash(&self, now: i64, limit: usize) -> CatalogResult<u64> {
        trash::purge_expired_trash(self, now, limit).await
    }

    async fn deletions(
        &self,
        app_key: &str,
        since: i64,
        page: u32,
        rows: u32,
    ) -> CatalogResult<(Vec<Deletion>, u64)> {
        deletions::deletions(self, app_key, since, page, rows).await
    }

    async fn prune_deletions(&self, before: i64, limit: usize) -> CatalogResult<u64> {
        deletions::prune_deletions(self, before, limit).await
    }

    async fn trashed_files_after(
        &self,
        app_key: &str,
        after: &str,
        limit: usize,
    ) -> CatalogResult<Vec<TrashedFile>> {
        trash_copy::trashed_files_after(self, app_key, after, limit).await
    }

    async fn import_deletions(&self, app_key: &str, entries: &[Deletion]) -> CatalogResult<u64> {
        deletions::import_deletions(self, app_key, entries).await
    }

    async fn import_trashed_file(
        &self,
        app_key: &str,
        trashed: &TrashedFile,
    ) -> CatalogResult<bool> {
        trash_copy::import_trashed_file(self, app_key, trashed).await
    }

    async fn trashed_folders_after(
        &self,
        app_key: &str,
        after: &str,
        limit: usize,
    ) -> CatalogResult<Vec<TrashedFolder>> {
        trash_copy::trashed_folders_after(self, app_key, after, limit).await
    }

    async fn import_trashed_folder(
        &self,
        app_key: &str,
        trashed: &TrashedFolder,
    ) -> CatalogResult<bool> {
        trash_copy::import_trashed_folder(self, app_key, trashed).await
    }

    // --- copy and move ---
    async fn copy_entries(&self, app_key: &str, transfer: &Transfer) -> CatalogResult<Transferred> {
        copy_move::copy_entries(self, app_key, transfer).await
    }

    async fn move_entries(&self, app_key: &str, transfer: &Transfer) -> CatalogResult<Transferred> {
        copy_move::move_entries(self, app_key, transfer).await
    }

    // --- resumable uploads ---
    async fn create_upload(
        &self,
        upload: &Upload,
        max_per_app: u64,
        now: i64,
    ) -> CatalogResult<bool> {
        uploads::create_upload(self, upload, max_per_app, now).await
    }

    async fn upload(&self, app_key: &str, id: &str) -> CatalogResult<Option<Upload>> {
        uploads::upload(self, app_key, id).await
    }

    async fn upload_chunks(&self, app_key: &str, id: &str) -> CatalogResult<Vec<UploadChunk>> {
        uploads::upload_chunks(self, app_key, id).await
    }

    async fn append_upload_chunk(
        &self,
        app_key: &str,
        id: &str,
        chunk: &UploadChunk,
        expires_at: i64,
        max_chunks: u64,
    ) -> CatalogResult<Advance> {
        uploads::append_upload_chunk(self, app_key, id, chunk, expires_at, max_chunks).await
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
        uploads::complete_upload(self, app_key, id, last, file, on_conflict, quota).await
    }

    async fn delete_upload(&self, app_key: &str, id: &str) -> CatalogResult<Vec<String>> {
        uploads::delete_upload(self, app_key, id).await
    }

    async fn expired_uploads(&self, now: i64, limit: usize) -> CatalogResult<Vec<Upload>> {
        uploads::expired_uploads(self, now, limit).await
    }

    async fn upload_blob_keys(&self) -> CatalogResult<Vec<String>> {
        uploads::upload_blob_keys(self).await
    }

    // --- tags, search and colour ---
    async fn set_tags(
        &self,
        app_key: &str,
        id: &str,
        tags: &[String],
    ) -> CatalogResult<FileRecord> {
        metadata::set_tags(self, app_key, id, tags).await
    }

    async fn search_files(&self, app_key: &str, query: &FileSearch) -> CatalogResult<FilePage> {
        metadata::search_files(self, app_key, query).await
    }
}
