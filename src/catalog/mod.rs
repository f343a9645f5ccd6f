//! The metadata catalog: apps, folders, files, tasks.
//!
//! Handlers talk to the [`Catalog`] trait only; [`sqlite::SqliteCatalog`] is the embedded
//! default, [`postgres::PgCatalog`] the one several nodes share. Every method is one transaction: a reader never sees half of a change. Times are
//! milliseconds since the Unix epoch, UTC.
//!
//! The trait's doc comments are the contract every backend keeps; the rules that are mere
//! path arithmetic (the range of paths below a folder, the parents of a path, the names an
//! automatic rename tries) are written once in [`tree`], and `contract` (tests) checks every
//! rule against any `&dyn Catalog`.

pub mod change;
#[cfg(test)]
pub(crate) mod contract;
pub mod copy_move;
pub mod counted;
pub mod postgres;
pub mod quota;
pub mod search;
pub mod settings;
pub mod sqlite;
pub mod trash;
pub mod tree;
pub mod upload;

use async_trait::async_trait;
pub use change::{Change, ChangeFeed, FeedEvent};
pub use copy_move::{Refusal, Transfer, Transferred};
pub use quota::{Quota, Usage};
pub use search::{FilePage, FileSearch};
pub use settings::AppSettings;
pub use trash::{
    Deletion, DeletionKind, Restored, TrashItem, TrashTimes, TrashedFile, TrashedFolder,
};
pub use upload::{Advance, Upload, UploadChunk};

/// A catalog failure.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A folder already exists at the path.
    #[error("a folder already exists at {0}")]
    FolderExists(String),
    /// A file already exists at the path (and the caller asked not to replace it).
    #[error("a file already exists at {0}")]
    FileExists(String),
    /// A parent of the path is a file, not a folder.
    #[error("a parent of {0} is not a folder")]
    NotAFolder(String),
    /// The entry to change does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The write would take the app over its quota (see [`Catalog::put_file_within`]).
    #[error("the app's storage quota would be exceeded")]
    QuotaExceeded,
    /// A copy or a move its rules refuse; nothing changed.
    #[error("copy or move refused: {0}")]
    Refused(#[source] Refusal),
    /// The backend failed (I/O, SQL, corruption, a busy store).
    #[error("catalog backend: {source}")]
    Backend {
        /// What failed, as the backend reported it.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
        /// Whether the same call may succeed when made again: the store was busy or locked
        /// by another writer, nothing is wrong with the call or the data.
        retryable: bool,
    },
}

impl CatalogError {
    /// A backend failure that trying again will not cure.
    pub fn backend(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Backend {
            source: source.into(),
            retryable: false,
        }
    }

    /// Whether the same call may succeed when made again (the store was busy or locked).
    /// Refusals of the call itself (`FolderExists`, `NotFound`, ...) are final.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            Self::Backend {
                retryable: true,
                ..
            }
        )
    }
}

/// Result of catalog calls.
pub type CatalogResult<T> = Result<T, CatalogError>;

/// A tenant: its keys, its container (the first segment of delivery URLs) and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRecord {
    /// Public key, the `{appKey}` of management paths.
    pub app_key: String,
    /// Secret sent as `Authorization` on management calls.
    pub secret_key: String,
    /// Container name, the first segment of delivery URLs.
    pub container: String,
    /// Human-readable name.
    pub name: String,
    /// Whether the real-time service is on for this app.
    pub realtime_service: bool,
    /// Creation time.
    pub created_at: i64,
    /// Settings of the photo-library extensions.
    pub settings: AppSettings,
}

/// A folder of a container's tree. The root folder `/` always exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// Unique id (UUID).
    pub id: String,
    /// Normalised absolute path.
    pub path: String,
    /// Last change.
    pub updated_at: i64,
}

/// Who made a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreatedBy {
    /// `U`: uploaded by a user.
    User,
    /// `P`: produced by an image operation.
    Operation,
}

impl CreatedBy {
    /// The one-letter code of the API.
    pub fn code(self) -> &'static str {
        match self {
            Self::User => "U",
            Self::Operation => "P",
        }
    }

    /// Parses the one-letter code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "U" => Some(Self::User),
            "P" => Some(Self::Operation),
            _ => None,
        }
    }
}

/// A stored file: where its bytes are and what the API shows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRecord {
    /// Unique id (UUID); kept when the file is overwritten.
    pub id: String,
    /// Normalised absolute path.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Uploaded or produced.
    pub created_by: CreatedBy,
    /// For produced files, the operation that made them; else empty.
    pub operation_id: String,
    /// For produced files, the id of the source file.
    pub source_id: Option<String>,
    /// For produced files, what they were made from: `<source etag>:<operation version>`.
    pub variant: String,
    /// Object-store key of this version's bytes (a new key for every version).
    pub blob_key: String,
    /// Strong validator of this version's bytes.
    pub etag: String,
    /// Sniffed media type.
    pub content_type: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// EXIF shooting time (local time of the camera, stored as if UTC), when known.
    pub taken_at: Option<i64>,
    /// GPS latitude.
    pub lat: Option<f64>,
    /// GPS longitude.
    pub lng: Option<f64>,
    /// First upload of this path.
    pub created_at: i64,
    /// Last write.
    pub updated_at: i64,
    /// Tags, a set in byte order ([`search::tag_set`]).
    pub tags: Vec<String>,
    /// The dominant colour, `#rrggbb`, computed when the file was uploaded; `None` for files
    /// uploaded before Pictor computed it, produced files, and images with no opaque pixel.
    pub dominant_color: Option<String>,
}

impl FileRecord {
    /// A new version of the user file at `path` whose `bytes` are stored at `blob_key`: a
    /// fresh id, the ETag of the bytes (their xxh3 hash in hex), created and updated now, no
    /// EXIF facts, no tags, no colour. A produced file sets its origin fields over this; the
    /// catalog keeps the first id and creation time of a path it overwrites.
    pub fn new(
        path: &str,
        blob_key: &str,
        bytes: &[u8],
        content_type: &str,
        (width, height): (u32, u32),
    ) -> Self {
        let now = crate::clock::now_ms();
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            path: path.to_owned(),
            bytes: bytes.len() as u64,
            created_by: CreatedBy::User,
            operation_id: String::new(),
            source_id: None,
            variant: String::new(),
            blob_key: blob_key.to_owned(),
            etag: etag_of_hash(xxhash_rust::xxh3::xxh3_64(bytes)),
            content_type: content_type.to_owned(),
            width,
            height,
            taken_at: None,
            lat: None,
            lng: None,
            created_at: now,
            updated_at: now,
            tags: Vec::new(),
            dominant_color: None,
        }
    }

    /// This file with the version of `new`: its bytes and what they show (`bytes`,
    /// `blob_key`, `etag`, `content_type`, `width`, `height`, `taken_at`, `lat`, `lng`) and
    /// its `updated_at`; id, path, origin and `created_at` stay this file's.
    pub fn with_version_of(self, new: FileRecord) -> FileRecord {
        FileRecord {
            bytes: new.bytes,
            blob_key: new.blob_key,
            etag: new.etag,
            content_type: new.content_type,
            width: new.width,
            height: new.height,
            taken_at: new.taken_at,
            lat: new.lat,
            lng: new.lng,
            updated_at: new.updated_at,
            ..self
        }
    }
}

/// The ETag the catalog records for bytes whose xxh3-64 hash is `hash`: 16 lowercase hex
/// digits.
pub fn etag_of_hash(hash: u64) -> String {
    format!("{hash:016x}")
}

/// A file as delivery looks it up: for a produced file, also its source file and its operation
/// as they are now, to tell whether it was made from them.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFile {
    /// The file.
    pub file: FileRecord,
    /// For a produced file, its source, unless that was deleted.
    pub source: Option<FileRecord>,
    /// For a produced file, its operation, unless that was deleted.
    pub operation: Option<OperationRecord>,
}

/// A named image operation of an app. Its jobs are kept as the canonical JSON of the
/// operation layer; the catalog does not interpret them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationRecord {
    /// Name, 1..20 letters, digits or `-`.
    pub operation_id: String,
    /// Free text, at most 30 characters.
    pub description: String,
    /// Whether results may be rendered on request.
    pub realtime_service: bool,
    /// The job list as JSON.
    pub jobs: String,
    /// Last change.
    pub updated_at: i64,
    /// Grows at every change (also across delete and re-create), part of variant ETags.
    pub version: i64,
}

/// Sort order of listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// By name.
    Name,
    /// By last change.
    Date,
}

/// Filters and paging of a folder listing.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Only files made this way (folders are listed regardless).
    pub created_by: Option<CreatedBy>,
    /// Case-sensitive substring of the name.
    pub name: Option<String>,
    /// Page number, from 1.
    pub page: u32,
    /// Entries per page.
    pub rows: u32,
    /// Sort key.
    pub sort: SortKey,
    /// Descending instead of ascending.
    pub descending: bool,
}

/// One page of a folder's direct children, with the totals of the whole listing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Listing {
    /// Sub-folders on this page.
    pub folders: Vec<Folder>,
    /// Files on this page.
    pub files: Vec<FileRecord>,
    /// Matching sub-folders in all pages.
    pub total_folders: u64,
    /// Matching files in all pages.
    pub total_files: u64,
}

/// Recursive totals of a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FolderStats {
    /// Bytes of every file below.
    pub bytes: u64,
    /// Folders below (not counting the folder itself).
    pub folders: u64,
    /// Files below.
    pub files: u64,
}

/// What to do when a file exists at the target path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Refuse with [`CatalogError::FileExists`].
    Fail,
    /// Replace it, keeping its id.
    Overwrite,
    /// Pick the first free `name(n).ext`.
    Rename,
}

/// What [`Catalog::put_file`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct PutOutcome {
    /// The file as stored (its path may differ from the request after a rename).
    pub file: FileRecord,
    /// Whether an existing file was replaced.
    pub overwritten: bool,
    /// Blob keys the replaced version referenced (recorded as dropped unless another file
    /// still references them). Files produced from a replaced file stay: their stamps tell
    /// delivery to render them again.
    pub orphaned_blobs: Vec<String>,
}

/// Status of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// `W`: waiting.
    Waiting,
    /// `P`: in progress.
    InProgress,
    /// `D`: done.
    Done,
    /// `F`: failed for good.
    Failed,
}

impl TaskStatus {
    /// The one-letter code of the API.
    pub fn code(self) -> &'static str {
        match self {
            Self::Waiting => "W",
            Self::InProgress => "P",
            Self::Done => "D",
            Self::Failed => "F",
        }
    }

    /// Parses the one-letter code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "W" => Some(Self::Waiting),
            "P" => Some(Self::InProgress),
            "D" => Some(Self::Done),
            "F" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// A persistent background task.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Unique id, the `queueId` of the API.
    pub id: String,
    /// Owning app.
    pub app_key: String,
    /// `image` or `delete`.
    pub queue_type: String,
    /// Current status.
    pub status: TaskStatus,
    /// Attempts made so far.
    pub try_count: u32,
    /// When it was queued.
    pub queued_at: i64,
    /// Operation it runs, or empty.
    pub operation_id: String,
    /// Path of the file it creates, or empty.
    pub path: String,
    /// What to do, as JSON (its shape belongs to the task type).
    pub payload: String,
    /// Last error, when an attempt failed.
    pub error: Option<String>,
}

/// A task with the time it ended, as one catalog hands it to another.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    /// The task.
    pub task: Task,
    /// When it ended (`Done` or `Failed`); `None` while it waits or runs.
    pub finished_at: Option<i64>,
}

/// A blob referenced by a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobReference {
    /// App owning the file.
    pub app_key: String,
    /// Path of the file.
    pub path: String,
    /// Object-store key of the file's bytes.
    pub blob_key: String,
}

/// The blobs the catalog knows of, as compared with the object store by `pictor check`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlobReferences {
    /// Blobs of current files and of files in the trash (kept until purged).
    pub files: Vec<BlobReference>,
    /// Blobs dropped recently, kept a while for readers that already looked them up.
    pub recently_dropped: Vec<String>,
}

/// A task taken by a worker, with the lease token that proves the worker still holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedTask {
    /// The task, as claimed (in progress, attempt counted).
    pub task: Task,
    /// Token of this claim; renewing and finishing the task must present it.
    pub lease: String,
}

/// The catalog contract. Implementations must make each call atomic.
#[async_trait]
pub trait Catalog: Send + Sync + 'static {
    /// Stores a new app, with its settings, and its root folder.
    async fn create_app(&self, app: &AppRecord) -> CatalogResult<()>;
    /// Every app, oldest first.
    async fn apps(&self) -> CatalogResult<Vec<AppRecord>>;
    /// The app with this key.
    async fn app(&self, app_key: &str) -> CatalogResult<Option<AppRecord>>;
    /// The app owning this container.
    async fn app_by_container(&self, container: &str) -> CatalogResult<Option<AppRecord>>;
    /// Turns the real-time service of an app on or off.
    async fn set_realtime_service(&self, app_key: &str, on: bool) -> CatalogResult<()>;
    /// Replaces an app's extension settings; `NotFound` when the app does not exist.
    async fn set_app_settings(&self, app_key: &str, settings: &AppSettings) -> CatalogResult<()>;

    /// Creates a folder and its missing parents (root first, see [`tree::ancestors`]), each
    /// new folder moving its parent's `updated_at` to `now`. `FolderExists` when the folder
    /// exists; `NotAFolder` when a file holds the path or one of its parents.
    async fn create_folder(&self, app_key: &str, path: &str, now: i64) -> CatalogResult<Folder>;
    /// The folder at a path.
    async fn folder_by_path(&self, app_key: &str, path: &str) -> CatalogResult<Option<Folder>>;
    /// The folder with an id.
    async fn folder_by_id(&self, app_key: &str, id: &str) -> CatalogResult<Option<Folder>>;
    /// One page of a folder's direct children: folders and files are paged separately with
    /// the same page and size, both filtered by `name` (a case-sensitive substring of the
    /// last segment), files also by `created_by`. By name sorts in byte order; by date sorts
    /// by `updated_at`, ties by name ascending. Totals count every match, not just the page.
    async fn list(&self, app_key: &str, folder: &str, query: &ListQuery) -> CatalogResult<Listing>;
    /// Recursive totals of the files and folders strictly below a folder
    /// ([`tree::subtree_range`]).
    async fn folder_stats(&self, app_key: &str, folder: &str) -> CatalogResult<FolderStats>;

    /// The file at a path.
    async fn file_by_path(&self, app_key: &str, path: &str) -> CatalogResult<Option<FileRecord>>;
    /// The file at a path; for a produced file, with its source and operation.
    async fn stored_file(&self, app_key: &str, path: &str) -> CatalogResult<Option<StoredFile>>;
    /// The file with an id.
    async fn file_by_id(&self, app_key: &str, id: &str) -> CatalogResult<Option<FileRecord>>;
    /// Every file strictly below a folder at any depth ([`tree::subtree_range`]: `/f-x` and
    /// `/f.x` are not below `/f`), made the given way, up to `limit`, in path byte order.
    async fn files_below(
        &self,
        app_key: &str,
        folder: &str,
        created_by: CreatedBy,
        limit: usize,
    ) -> CatalogResult<Vec<FileRecord>>;
    /// Records a file whose bytes are already stored, in one transaction:
    ///
    /// - missing parent folders are created as by `create_folder` (at the file's
    ///   `updated_at`); `NotAFolder` when a file holds a parent's path;
    /// - `FolderExists` when a folder holds the path itself;
    /// - a free path: the file is inserted as given;
    /// - a taken path, by `on_conflict`: `Fail` gives `FileExists`; `Overwrite` replaces the
    ///   row but keeps its `id` and `created_at`, returns the old `blob_key` in
    ///   `orphaned_blobs` and records it as dropped (see `dropped_blobs`), keeps the files
    ///   produced from it (their `variant` stamps name the old version), and keeps its tags
    ///   when the new file has none (else the new file's replace them); `Rename` stores the
    ///   file at the first of [`tree::rename_candidates`] held by neither a file nor a folder.
    ///
    /// A new entry (inserted or renamed, not a replacement) moves its folder's `updated_at` to
    /// the file's (never backwards). Tags are stored as a set ([`search::tag_set`]); the
    /// returned file holds them so.
    async fn put_file(
        &self,
        app_key: &str,
        file: FileRecord,
        on_conflict: OnConflict,
    ) -> CatalogResult<PutOutcome>;
    /// Removes a file (and, if asked, the files produced from it); returns their blob keys,
    /// the file's first, and records them as dropped. `NotFound` when no file has the id.
    /// The folders that lost an entry move their `updated_at` to now.
    async fn delete_file(
        &self,
        app_key: &str,
        id: &str,
        with_produced: bool,
    ) -> CatalogResult<Vec<String>>;
    /// Removes a folder and every file and folder below it ([`tree::subtree_range`]);
    /// returns the blob keys of the removed files and records them as dropped. The root folder
    /// is emptied but stays. The parent moves its `updated_at` to now. `NotFound` when no
    /// folder has the id.
    async fn delete_folder(&self, app_key: &str, id: &str) -> CatalogResult<Vec<String>>;

    /// Creates or replaces an operation; returns it with its new version: 1 for a name never
    /// used, else one more than the last version the name had, even if it was deleted since
    /// (so a re-created operation never repeats a version that stamped a produced file).
    async fn put_operation(
        &self,
        app_key: &str,
        op: &OperationRecord,
    ) -> CatalogResult<OperationRecord>;
    /// An operation of an app.
    async fn operation(&self, app_key: &str, id: &str) -> CatalogResult<Option<OperationRecord>>;
    /// A page of an app's operations whose names start with `prefix`, with the total count.
    async fn list_operations(
        &self,
        app_key: &str,
        prefix: &str,
        page: u32,
        rows: u32,
        sort: SortKey,
        descending: bool,
    ) -> CatalogResult<(Vec<OperationRecord>, u64)>;
    /// Deletes an operation; `NotFound` when it does not exist.
    async fn delete_operation(&self, app_key: &str, id: &str) -> CatalogResult<()>;
    /// Deletes every file produced by an operation; returns their blob keys and records them
    /// as dropped; their folders move their `updated_at` to now.
    async fn delete_produced_by(
        &self,
        app_key: &str,
        operation_id: &str,
    ) -> CatalogResult<Vec<String>>;
    /// Files produced from a source file, by path.
    async fn produced_from(&self, app_key: &str, source_id: &str)
        -> CatalogResult<Vec<FileRecord>>;

    /// Queues a task; its app joins the turns of `claim_task` if it was not in them.
    async fn enqueue_task(&self, task: &Task) -> CatalogResult<()>;
    /// A task of an app.
    async fn task(&self, app_key: &str, id: &str) -> CatalogResult<Option<Task>>;
    /// Takes a waiting task under a fresh lease token until `lease_until`, marks it in
    /// progress and counts the attempt (`try_count + 1`). Apps take turns: among apps with a
    /// waiting task, the app served least recently goes first (apps never served first, ties
    /// by their oldest waiting task), then that app's oldest waiting task (ties in queue
    /// order). `None` when nothing waits.
    async fn claim_task(&self, lease_until: i64) -> CatalogResult<Option<ClaimedTask>>;
    /// Tasks waiting and in progress, over every app: `(waiting, in_progress)`.
    async fn pending_tasks(&self) -> CatalogResult<(u64, u64)>;
    /// Ends a claimed task in `Done` or `Failed`, or puts it back to `Waiting` after a failed
    /// attempt, only while the claim still holds its lease. Returns false, changing nothing,
    /// when the lease was lost (taken over by another worker or already ended).
    async fn finish_task(
        &self,
        claimed: &ClaimedTask,
        status: TaskStatus,
        error: Option<&str>,
        now: i64,
    ) -> CatalogResult<bool>;
    /// Extends the lease of a claimed task to `lease_until`; false, changing nothing, when the
    /// lease was lost.
    async fn renew_task(&self, claimed: &ClaimedTask, lease_until: i64) -> CatalogResult<bool>;
    /// Ends the leases that expired before `now` (their worker died): the task waits again,
    /// or ends in `Failed` with an error when it has had `max_tries` attempts, finished at
    /// `now`. The old lease token no longer renews nor finishes it. Returns the tasks that
    /// failed.
    async fn expire_task_leases(&self, now: i64, max_tries: u32) -> CatalogResult<Vec<Task>>;
    /// Deletes up to `limit` tasks that ended (`Done`, `Failed`) before `finished_before`;
    /// returns how many.
    async fn prune_tasks(&self, finished_before: i64, limit: usize) -> CatalogResult<u64>;

    /// Up to `limit` blob keys dropped before `dropped_before` whose deletion is still
    /// pending, oldest first, that no file references (in the trash or not). Every call that
    /// stops referencing a blob (`put_file` replacing a file, `delete_file`, `delete_folder`,
    /// `delete_produced_by`, `put_file_within` refusing a write, the purges of the trash,
    /// `copy_entries` and `move_entries` replacing one) records its key in the same
    /// transaction, so a crash cannot leak it, unless another file still references it
    /// (copies share blobs). Moving a file to the trash drops nothing. A key dropped again
    /// later is dropped at that later time; a key still referenced is never returned: it stays
    /// pending, and is returned once the last file referencing it dropped it and the delay
    /// passed.
    async fn dropped_blobs(&self, dropped_before: i64, limit: usize) -> CatalogResult<Vec<String>>;
    /// Forgets pending deletions once their blobs are deleted.
    async fn forget_dropped_blobs(&self, keys: &[String]) -> CatalogResult<()>;
    /// Every blob the catalog references (files in the trash included), and those dropped
    /// since `dropped_since` (readers may still stream them).
    async fn blob_references(&self, dropped_since: i64) -> CatalogResult<BlobReferences>;

    /// Up to `limit` folders of an app whose paths come after `after` in byte order, in that
    /// order: from `after` empty, the root first, and every parent before its children (a path
    /// sorts before every path it prefixes), so a whole tree reads page by page.
    async fn folders_after(
        &self,
        app_key: &str,
        after: &str,
        limit: usize,
    ) -> CatalogResult<Vec<Folder>>;
    /// Stores a folder as given (id, path, `updated_at`), changing no other folder: the copy of
    /// a folder from another catalog. A folder already at the path takes the given id and time
    /// (as the root an app was created with does). `NotFound` when the parent folder is
    /// missing; `NotAFolder` when a file holds the path.
    async fn import_folder(&self, app_key: &str, folder: &Folder) -> CatalogResult<()>;
    /// Up to `limit` files of an app, uploaded and produced, whose paths come after `after` in
    /// byte order, in that order.
    async fn files_after(
        &self,
        app_key: &str,
        after: &str,
        limit: usize,
    ) -> CatalogResult<Vec<FileRecord>>;
    /// Stores a file exactly as given (id, blob key, ETag, times, origin fields), changing no
    /// folder and dropping no blob: the copy of a file from another catalog. `NotFound` when
    /// its folder is missing; `FolderExists` or `FileExists` when the path is taken.
    async fn import_file(&self, app_key: &str, file: &FileRecord) -> CatalogResult<()>;
    /// Up to `limit` operation names of an app that come after `after` in byte order, in that
    /// order, each with the last version it was given: deleted operations included, since
    /// `put_operation` never gives their versions again.
    async fn operation_versions(
        &self,
        app_key: &str,
        after: &str,
        limit: usize,
    ) -> CatalogResult<Vec<(String, i64)>>;
    /// Stores an operation as given, its version and time included, replacing one of the same
    /// name; the name's last version becomes at least that version, so later `put_operation`
    /// calls give later ones.
    async fn import_operation(&self, app_key: &str, op: &OperationRecord) -> CatalogResult<()>;
    /// Raises the last version an operation name was given to `version` (never lowers it),
    /// storing no operation: `put_operation` then gives a later one, also for a name whose
    /// operation was deleted.
    async fn import_operation_version(
        &self,
        app_key: &str,
        operation_id: &str,
        version: i64,
    ) -> CatalogResult<()>;
    /// Up to `limit` tasks of every app whose ids come after `after` in byte order, in that
    /// order, each with the time it ended.
    async fn tasks_after(&self, after: &str, limit: usize) -> CatalogResult<Vec<TaskRecord>>;
    /// Stores a task as given: status, attempts, error and end time. A task in progress is
    /// stored with its lease expired, so `expire_task_leases` treats it as the task of a worker
    /// that died. Its app joins the turns of `claim_task`. Fails when a task has its id.
    async fn import_task(&self, record: &TaskRecord) -> CatalogResult<()>;

    /// Stores a callback in the outbox, due at its `created_at` with no attempt made, unless
    /// the outbox already holds `max_pending` callbacks; `false` when it is full and the
    /// callback was not stored.
    async fn add_callback(&self, callback: &NewCallback, max_pending: u64) -> CatalogResult<bool>;
    /// Takes up to `limit` callbacks due at `now`, oldest due first, and leases them until
    /// `lease_until`: no other claim returns them before the lease ends.
    async fn claim_callbacks(
        &self,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> CatalogResult<Vec<PendingCallback>>;
    /// Records what happened to a claimed callback, if the claim's lease still holds it (a
    /// later claim of the same callback makes this one's finish change nothing).
    async fn finish_callback(
        &self,
        claimed: &PendingCallback,
        outcome: CallbackOutcome,
    ) -> CatalogResult<()>;

    // --- rotation ---
    /// Gives the file with id `file.id` a new version, in one transaction, only while its
    /// current version is still the one stored at `expected_blob_key` (so a version read,
    /// transformed and stored again never replaces one written meanwhile, and a file deleted
    /// meanwhile stays deleted). The new version is `file`'s `blob_key`, `etag`, `bytes`,
    /// `content_type`, `width`, `height`, `taken_at`, `lat`, `lng` and `updated_at`; the
    /// file's id, path, origin fields (`created_by`, `operation_id`, `source_id`, `variant`)
    /// and `created_at` stay. As an overwrite by `put_file`, it returns the file as stored
    /// with the old blob key in `orphaned_blobs`, records that key as dropped, keeps the files
    /// produced from the file (their stamps name the old version) and, with a change feed,
    /// announces [`Change::Source`]; its folder's `updated_at` does not move. `Ok(None)`,
    /// changing nothing, when the file has another version by now; `NotFound` when the app
    /// has no file with the id.
    async fn replace_file_version(
        &self,
        app_key: &str,
        file: FileRecord,
        expected_blob_key: &str,
    ) -> CatalogResult<Option<PutOutcome>>;
    // --- quota ---
    /// What an app holds: the bytes and the number of its files, uploaded and produced (and
    /// trashed, once the trash keeps files), as the catalog counts them with every write,
    /// whichever call makes it (`put_file`, `delete_file`, `delete_folder`,
    /// `delete_produced_by`, `import_file`, ...); zero for an app without files.
    async fn usage(&self, app_key: &str) -> CatalogResult<Usage>;
    /// `put_file` held to `quota`, in the same transaction: when the write grew a dimension of
    /// the app's usage (bytes, files; an overwrite counts the new size minus the old, and no
    /// file) beyond its limit in `quota`, nothing of it is kept (no file, no new folder, no
    /// dropped blob of a replaced file), the file's own `blob_key` is recorded as dropped (see
    /// `dropped_blobs`: the caller stored those bytes and no file references them) and the
    /// answer is `QuotaExceeded`. A write that grows no limited dimension is never refused,
    /// even over a lowered quota. The check sees every write committed before, and writers of
    /// one app that race are decided one after the other, so usage never passes the quota
    /// through this call. With no limit, the same as `put_file`.
    async fn put_file_within(
        &self,
        app_key: &str,
        file: FileRecord,
        on_conflict: OnConflict,
        quota: Quota,
    ) -> CatalogResult<PutOutcome>;
    // --- trash and deletion history ---
    /// Moves a file to the trash with the files produced from it (they follow their source),
    /// as one item whose id is the file's: their rows leave `files` for the trash, so delivery,
    /// listings and totals no longer find them and their paths are free, while their blobs stay
    /// referenced (`blob_references`) until purged. Records a `trash` entry of the deletion
    /// history per file at `times.deleted_at`; the folders that lost an entry move their
    /// `updated_at` to it. `NotFound` when no file has the id.
    async fn trash_file(
        &self,
        app_key: &str,
        id: &str,
        times: TrashTimes,
    ) -> CatalogResult<TrashItem>;
    /// Moves a folder to the trash as one item, as `trash_file` does: the folder, every folder
    /// and file below it ([`tree::subtree_range`]) and the files produced from those files,
    /// wherever they are; its parent moves its `updated_at`. The root folder stays: each of its
    /// entries becomes an item of its own (a file with its produced files, a folder with its
    /// subtree). Returns the items made. `NotFound` when no folder has the id.
    async fn trash_folder(
        &self,
        app_key: &str,
        id: &str,
        times: TrashTimes,
    ) -> CatalogResult<Vec<TrashItem>>;
    /// A page of an app's trash items (a file or folder deleted, never the files and folders
    /// an item holds), newest first (ties by path, then id), with the total count.
    async fn trash_items(
        &self,
        app_key: &str,
        page: u32,
        rows: u32,
    ) -> CatalogResult<(Vec<TrashItem>, u64)>;
    /// Puts items back, all or none, in the order given (files first): every file and folder of
    /// an item gets its id, blob key, ETag and times back. A file item's files and a folder
    /// item's folder take their old paths, or the first of [`tree::rename_candidates`] held by
    /// neither a file nor a folder; what a folder item holds below it follows the folder.
    /// Missing parent folders are created, and each folder that gains an entry moves its
    /// `updated_at` to `now`. `NotFound` names the first id that is not an item of its kind
    /// (a file or folder inside an item is none); `NotAFolder` when a file holds a parent's
    /// path. Records no history and announces nothing (no cached variant was made from the
    /// trashed files meanwhile).
    async fn restore_trash(
        &self,
        app_key: &str,
        file_ids: &[String],
        folder_ids: &[String],
        now: i64,
    ) -> CatalogResult<Vec<Restored>>;
    /// Purges the named items now: their rows are deleted, their blob keys recorded as dropped
    /// (see `dropped_blobs`) and a `purge` entry recorded per file at `now`. Ids that are not an
    /// item of their kind are skipped. Returns how many items were purged.
    async fn purge_trash(
        &self,
        app_key: &str,
        file_ids: &[String],
        folder_ids: &[String],
        now: i64,
    ) -> CatalogResult<u64>;
    /// Purges up to `limit` items of an app's trash, oldest first, as `purge_trash` does;
    /// returns how many (fewer than `limit`: the trash is empty).
    async fn empty_trash(&self, app_key: &str, limit: usize, now: i64) -> CatalogResult<u64>;
    /// Purges up to `limit` items, of every app, whose purge time is at or before `now`, as
    /// `purge_trash` does; returns how many.
    async fn purge_expired_trash(&self, now: i64, limit: usize) -> CatalogResult<u64>;
    /// A page of an app's deletion history from `since` on (inclusive), oldest first (ties in
    /// the order recorded), with the total count. Every call that takes a file out of the live
    /// tree records one entry per file in its own transaction: `delete_file`, `delete_folder`
    /// and `delete_produced_by` (`delete`, at the time of the call), `trash_file` and
    /// `trash_folder` (`trash`), and the purges (`purge`). Replacing a file records nothing.
    async fn deletions(
        &self,
        app_key: &str,
        since: i64,
        page: u32,
        rows: u32,
    ) -> CatalogResult<(Vec<Deletion>, u64)>;
    /// Deletes up to `limit` history entries, of every app, recorded before `before`; returns
    /// how many.
    async fn prune_deletions(&self, before: i64, limit: usize) -> CatalogResult<u64>;
    /// Adds `entries` to an app's deletion history as given, times kept, in their order (the
    /// copy of another catalog's history, oldest first), in one transaction; an entry the
    /// history holds already (same file id, path, kind and time) is skipped. Returns how many
    /// were added.
    async fn import_deletions(&self, app_key: &str, entries: &[Deletion]) -> CatalogResult<u64>;
    /// Up to `limit` trashed files of an app whose ids come after `after` in byte order, in
    /// that order, each with its item and times.
    async fn trashed_files_after(
        &self,
        app_key: &str,
        after: &str,
        limit: usize,
    ) -> CatalogResult<Vec<TrashedFile>>;
    /// Stores a trashed file exactly as given (the copy of one from another catalog), changing
    /// nothing else; false, storing nothing, when a trashed file has its id already (rows of
    /// the trash never change in place, so it holds the same).
    async fn import_trashed_file(
        &self,
        app_key: &str,
        trashed: &TrashedFile,
    ) -> CatalogResult<bool>;
    /// Up to `limit` trashed folders of an app whose ids come after `after` in byte order, in
    /// that order, each with its item and times.
    async fn trashed_folders_after(
        &self,
        app_key: &str,
        after: &str,
        limit: usize,
    ) -> CatalogResult<Vec<TrashedFolder>>;
    /// Stores a trashed folder exactly as given, changing nothing else; false, storing
    /// nothing, when a trashed folder has its id already.
    async fn import_trashed_folder(
        &self,
        app_key: &str,
        trashed: &TrashedFolder,
    ) -> CatalogResult<bool>;

    // --- copy and move ---
    /// Copies the files and folders `transfer` names into its target folder, in one
    /// transaction: all or nothing.
    ///
    /// - The target and its missing parents are created as by `create_folder`; `NotAFolder`
    ///   when a file holds one of them. `NotFound` for an id of no file or folder of the app.
    /// - A copy is a new row with a new id and the same bytes: the same blob key, ETag and
    ///   facts, created and updated at `transfer.now`. A named produced file is copied as a
    ///   produced file of the same source and operation (with the same stamp); below a named
    ///   folder only uploaded files are copied (results are made again from their sources).
    /// - A folder goes into the target under its own name, with everything below it keeping
    ///   its place; new folders get new ids. A folder already at a path a folder goes to is
    ///   merged into: its id stays and what goes below it is placed entry by entry.
    /// - A file at a path an entry goes to: `OnConflict::Fail` refuses with `FileExists`;
    ///   `Overwrite` replaces it as `put_file` does (its id and creation time stay; its blob
    ///   is recorded as dropped; a folder cannot be replaced, `FileExists`); `Rename` takes the
    ///   first of [`tree::rename_candidates`] held by neither a file nor a folder (also for a
    ///   folder whose name a file holds).
    /// - Refused with [`Refusal`], changing nothing: the root folder; a folder into itself,
    ///   below itself or onto a folder holding it; an entry below a named folder; more files,
    ///   or more folders, than `max_entries` (named and below together); a path over
    ///   `max_path_bytes`.
    /// - A folder that gains an entry moves its `updated_at` to `transfer.now` (new folders
    ///   have that time); replacing a file adds no entry.
    /// - A replaced file is announced ([`Change::Source`]) and listed in `changes`.
    /// - Copies count in the app's usage as any file does: a copy that grows a dimension of
    ///   usage over `transfer.quota` is refused with `QuotaExceeded`, changing nothing (the
    ///   check runs in the transaction, after the writes, as `put_file_within`'s does).
    async fn copy_entries(&self, app_key: &str, transfer: &Transfer) -> CatalogResult<Transferred>;
    /// Moves the files and folders `transfer` names into its target folder, in one
    /// transaction, with the rules of `copy_entries` for targets, conflicts, merges, refusals
    /// and limits, except that:
    ///
    /// - a moved file or folder keeps its id, its times and its row: only its path changes,
    ///   and every entry below a moved folder (produced files included) moves along with the
    ///   same place below it. An entry already where it would go stays as it is;
    /// - a file that replaces another takes the replaced file's id (as an overwriting upload
    ///   does); its own row goes, and the files produced from it become files produced from
    ///   the replaced file's id;
    /// - the files produced from a moved file stay where they are, still its products;
    /// - a folder merged into another is removed once emptied;
    /// - the folders that lose an entry move their `updated_at` too;
    /// - a move never grows usage, so the quota never refuses it;
    /// - each moved file's old path is announced ([`Change::Source`]), each moved folder's
    ///   ([`Change::Below`]), and listed in `changes`.
    async fn move_entries(&self, app_key: &str, transfer: &Transfer) -> CatalogResult<Transferred>;
    // --- resumable uploads ---
    /// Records a new upload (offset 0, no chunk: its `offset` and `chunks` are not read),
    /// unless its app already holds `max_per_app`
    /// uploads that have not expired at `now`: then `false`, and nothing is recorded.
    async fn create_upload(
        &self,
        upload: &Upload,
        max_per_app: u64,
        now: i64,
    ) -> CatalogResult<bool>;
    /// The upload of an app with an id, expired or not.
    async fn upload(&self, app_key: &str, id: &str) -> CatalogResult<Option<Upload>>;
    /// The recorded chunks of an upload, in offset order: together they hold its bytes from 0
    /// to its offset, without gap or overlap. Empty for an unknown upload.
    async fn upload_chunks(&self, app_key: &str, id: &str) -> CatalogResult<Vec<UploadChunk>>;
    /// Records `chunk` (at least one byte) and moves the upload's offset past it, its chunk
    /// count up by one and its expiry to `expires_at`, only while the offset is the chunk's and
    /// the chunk ends within the upload's length: a compare and set, so of two calls at one
    /// offset only one records its chunk. Otherwise [`Advance::Stale`] with the offset as it
    /// is, nothing changed; [`Advance::Full`] when the upload holds `max_chunks` chunks.
    /// `NotFound` when the upload is gone.
    async fn append_upload_chunk(
        &self,
        app_key: &str,
        id: &str,
        chunk: &UploadChunk,
        expires_at: i64,
        max_chunks: u64,
    ) -> CatalogResult<Advance>;
    /// Finishes an upload with its last chunk, in one transaction: only while the upload's
    /// offset is `last.offset` and `last` ends at its length (else `Ok(None)`, nothing
    /// changed), it records `file` as `put_file_within` does with `quota` (with the same
    /// refusals and the same change announced), removes the upload, and records the blobs of
    /// its chunks, `last`'s included, as dropped. A refusal (`QuotaExceeded` too) changes
    /// nothing at all: the upload stays as it was, and the file's blob is not recorded as
    /// dropped (the caller deletes it). `NotFound` when the upload is gone.
    async fn complete_upload(
        &self,
        app_key: &str,
        id: &str,
        last: &UploadChunk,
        file: FileRecord,
        on_conflict: OnConflict,
        quota: Quota,
    ) -> CatalogResult<Option<PutOutcome>>;
    /// Removes an upload and records the blobs of its chunks as dropped; returns their keys.
    /// `NotFound` when the app has no upload with the id.
    async fn delete_upload(&self, app_key: &str, id: &str) -> CatalogResult<Vec<String>>;
    /// Up to `limit` uploads of any app that expired at or before `now`, the earliest expiry
    /// first.
    async fn expired_uploads(&self, now: i64, limit: usize) -> CatalogResult<Vec<Upload>>;
    /// The blobs of every recorded chunk of every upload, which `pictor check` must keep.
    async fn upload_blob_keys(&self) -> CatalogResult<Vec<String>>;
    // --- tags, search and colour ---
    /// Replaces the tags of the file with this id by `tags`, kept as a set
    /// ([`search::tag_set`]; an empty list removes them all); returns the file as stored.
    /// Nothing else changes: not the file's `updated_at`, not its folder's. Tags go with the
    /// file: deleting it (by any call) deletes them. `NotFound` when no file of the app has
    /// the id.
    async fn set_tags(&self, app_key: &str, id: &str, tags: &[String])
        -> CatalogResult<FileRecord>;
    /// One page of the app's files, uploaded and produced, in every folder, that match every
    /// filter of `query` ([`FileSearch`]), with the number matching in all pages. Newest
    /// `updated_at` first, ties by path in byte order. A tag is found through an index of
    /// `(app, tag)`, never by reading every file.
    async fn search_files(&self, app_key: &str, query: &FileSearch) -> CatalogResult<FilePage>;

    /// The feed of changes other nodes commit, for a catalog shared by several nodes; `None`
    /// (the default) for a catalog only one process uses. A backend with a feed announces, in
    /// the transaction of the change: a file replaced by `put_file`, removed by `delete_file`
    /// or moved to the trash by `trash_file` ([`Change::Source`], one per removed file), a
    /// folder removed by `delete_folder` or moved to the trash by `trash_folder`
    /// ([`Change::Below`], and a [`Change::Source`] per produced file it took from elsewhere),
    /// an operation replaced or deleted
    /// ([`Change::Operation`]) and an app's real-time flag set ([`Change::App`]). Each call
    /// opens a feed of its own.
    async fn subscribe_changes(&self) -> CatalogResult<Option<ChangeFeed>> {
        Ok(None)
    }

    /// Claims the render of the variant named `key` for `holder` until `until`, so that nodes
    /// sharing the catalog render and store each variant once: true when no other holder's
    /// claim on `key` lasts past `now` (the holder's own claim is extended). A catalog only
    /// one process uses grants every claim (the default): the process's single flight already
    /// renders each variant once.
    async fn claim_render(
        &self,
        _key: &str,
        _holder: &str,
        _now: i64,
        _until: i64,
    ) -> CatalogResult<bool> {
        Ok(true)
    }
    /// Ends `holder`'s claim on `key`; nothing when it holds none.
    async fn release_render(&self, _key: &str, _holder: &str) -> CatalogResult<()> {
        Ok(())
    }
}

/// A callback to store in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCallback {
    /// The URL to POST to.
    pub url: String,
    /// The JSON body.
    pub body: String,
    /// Attempts before it is given up.
    pub max_tries: u32,
    /// Milliseconds before the second attempt, doubled for each further one.
    pub backoff_ms: u64,
    /// When it was queued; also its first due time.
    pub created_at: i64,
}

/// A callback claimed from the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCallback {
    /// Row id.
    pub id: i64,
    /// The URL to POST to.
    pub url: String,
    /// The JSON body.
    pub body: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Attempts before it is given up.
    pub max_tries: u32,
    /// Milliseconds before the second attempt, doubled for each further one.
    pub backoff_ms: u64,
    /// The end of the claim's lease, which identifies the claim.
    pub lease_until: i64,
}

/// What happened to a claimed callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// Delivered, or given up: the row is deleted.
    Remove,
    /// The attempt failed: counted, and due again at the given time.
    Retry(i64),
    /// Not attempted (its host was busy): due again at the given time, no attempt counted.
    Postpone(i64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_has_a_fresh_id_the_etag_of_its_bytes_and_one_time() {
        let a = FileRecord::new("/a/b.png", "k1", b"", "image/png", (3, 4));
        let b = FileRecord::new("/a/b.png", "k2", b"", "image/png", (3, 4));
        assert_ne!(a.id, b.id);
        assert_eq!(a.etag, "2d06800538d394c2");
        assert_eq!(a.etag, b.etag);
        let c = FileRecord::new("/c.jpg", "k3", b"abc", "image/jpeg", (1, 1));
        assert_eq!(
            c.etag,
            format!("{:016x}", xxhash_rust::xxh3::xxh3_64(b"abc"))
        );
        assert_ne!(c.etag, a.etag);
        assert_eq!(
            (
                c.path.as_str(),
                c.blob_key.as_str(),
                c.bytes,
                c.width,
                c.height
            ),
            ("/c.jpg", "k3", 3, 1, 1)
        );
        assert_eq!(c.created_by, CreatedBy::User);
        assert_eq!(c.created_at, c.updated_at);
        assert!(c.created_at > 0);
        assert_eq!(
            (c.source_id, c.taken_at, c.lat, c.lng),
            (None, None, None, None)
        );
    }
}
