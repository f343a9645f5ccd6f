//! The reads and writes a copy or a move makes, each inside the one transaction of the call,
//! for one app. Each backend implements them over its own transaction; `run` holds the rules.

use crate::catalog::{CatalogResult, Change, FileRecord, Folder, Usage};
use std::collections::BTreeSet;

/// One transaction of a backend, scoped to one app.
pub(in crate::catalog) trait EntryStore {
    /// Whether [`EntryStore::lock_folders`] locks anything: false for a backend whose writes
    /// already run one at a time.
    const LOCKS: bool;

    /// The files with these ids, in any order; ids of no file are left out.
    async fn files_by_id(&self, ids: &[String]) -> CatalogResult<Vec<FileRecord>>;
    /// The folders with these ids, in any order; ids of no folder are left out.
    async fn folders_by_id(&self, ids: &[String]) -> CatalogResult<Vec<Folder>>;
    /// Locks, until the transaction ends and in path order, the folders at `paths`, the
    /// folders at `trees` and every folder below those (missing ones are skipped).
    async fn lock_folders(
        &self,
        paths: &BTreeSet<String>,
        trees: &BTreeSet<String>,
    ) -> CatalogResult<()>;
    /// Up to `limit` files strictly below `folder`, uploaded ones only when `uploads_only`,
    /// in path order.
    async fn files_below(
        &self,
        folder: &str,
        uploads_only: bool,
        limit: usize,
    ) -> CatalogResult<Vec<FileRecord>>;
    /// Up to `limit` folders strictly below `folder`, in path order (so each after its
    /// parent).
    async fn folders_below(&self, folder: &str, limit: usize) -> CatalogResult<Vec<Folder>>;
    /// The file at a path.
    async fn file_at(&self, path: &str) -> CatalogResult<Option<FileRecord>>;
    /// The folder at a path.
    async fn folder_at(&self, path: &str) -> CatalogResult<Option<Folder>>;
    /// Creates a folder and its missing parents as `Catalog::create_folder` does; nothing when
    /// it exists. `NotAFolder` when a file holds the path or one of its parents.
    async fn ensure_folder(&self, path: &str, now: i64) -> CatalogResult<()>;
    /// Inserts file rows as given (their folders exist, their paths are free).
    async fn insert_files(&self, files: &[FileRecord]) -> CatalogResult<()>;
    /// Writes everything of `file` but its path and creation time over the row with its id.
    async fn replace_file(&self, file: &FileRecord) -> CatalogResult<()>;
    /// Deletes the row of the file `id` at `path`, a moved file whose id gives way to the file
    /// it replaces, and records it in the deletion history (kind `delete`) at `now`: a client
    /// mirroring the app sees that id go.
    async fn delete_moved_file(&self, id: &str, path: &str, now: i64) -> CatalogResult<()>;
    /// Gives the file with an id a new path (whose folder exists and which is free).
    async fn set_file_path(&self, id: &str, path: &str) -> CatalogResult<()>;
    /// Makes the files produced from `from` files produced from `to`.
    async fn repoint_products(&self, from: &str, to: &str) -> CatalogResult<()>;
    /// Inserts a folder row as given (its parent exists, its path is free).
    async fn insert_folder(&self, folder: &Folder) -> CatalogResult<()>;
    /// Gives the folder with an id a new path (whose parent exists and which is free), and
    /// every file and folder below its old path the same place below the new one.
    async fn move_folder(&self, id: &str, from: &str, to: &str) -> CatalogResult<()>;
    /// Deletes the folder row with an id (nothing is below it any more).
    async fn delete_folder_row(&self, id: &str) -> CatalogResult<()>;
    /// Moves a folder's `updated_at` to `now`, never backwards.
    async fn touch_folder(&self, path: &str, now: i64) -> CatalogResult<()>;
    /// Records blob keys as dropped (see `Catalog::dropped_blobs`).
    async fn trash(&self, keys: &[String]) -> CatalogResult<()>;
    /// The app's usage as this transaction sees it (its own writes included).
    async fn usage(&self) -> CatalogResult<Usage>;
    /// Announces a change to the other nodes when the transaction commits (nothing for a
    /// backend without a change feed).
    async fn announce(&self, change: &Change) -> CatalogResult<()>;
}
