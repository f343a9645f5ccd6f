//! The embedded catalog: one SQLite file in WAL mode, safe to share between a running server and
//! the `pictor app` commands. Calls run on tokio's blocking pool: changes on one writer
//! connection, one at a time; reads on a small pool of reader connections, which in WAL mode
//! see the last commit without waiting for a write in progress.

use super::{
    AppRecord, BlobReference, BlobReferences, CallbackOutcome, Catalog, CatalogError,
    CatalogResult, ClaimedTask, CreatedBy, FileRecord, Folder, FolderStats, ListQuery, Listing,
    NewCallback, OnConflict, OperationRecord, PendingCallback, PutOutcome, SortKey, StoredFile,
    Task, TaskStatus,
};
use crate::paths;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS apps (
    app_key TEXT PRIMARY KEY,
    secret_key TEXT NOT NULL,
    container TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    realtime_service INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS folders (
    id TEXT PRIMARY KEY,
    app_key TEXT NOT NULL,
    path TEXT NOT NULL,
    parent TEXT NOT NULL,
    name TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (app_key, path)
);
CREATE INDEX IF NOT EXISTS folders_parent ON folders (app_key, parent);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    app_key TEXT NOT NULL,
    path TEXT NOT NULL,
    parent TEXT NOT NULL,
    name TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    operation_id TEXT NOT NULL,
    source_id TEXT,
    variant TEXT NOT NULL DEFAULT '',
    blob_key TEXT NOT NULL,
    etag TEXT NOT NULL,
    content_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    taken_at INTEGER,
    lat REAL,
    lng REAL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (app_key, path)
);
CREATE INDEX IF NOT EXISTS files_parent ON files (app_key, parent);
CREATE INDEX IF NOT EXISTS files_source ON files (source_id);
CREATE INDEX IF NOT EXISTS files_operation ON files (app_key, operation_id);
CREATE TABLE IF NOT EXISTS operations (
    app_key TEXT NOT NULL,
    operation_id TEXT NOT NULL,
    description TEXT NOT NULL,
    realtime_service INTEGER NOT NULL,
    jobs TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (app_key, operation_id)
);
CREATE TABLE IF NOT EXISTS operation_versions (
    app_key TEXT NOT NULL,
    operation_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (app_key, operation_id)
);
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    app_key TEXT NOT NULL,
    queue_type TEXT NOT NULL,
    status TEXT NOT NULL,
    try_count INTEGER NOT NULL,
    queued_at INTEGER NOT NULL,
    operation_id TEXT NOT NULL,
    path TEXT NOT NULL,
    payload TEXT NOT NULL,
    error TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status, queued_at);
CREATE TABLE IF NOT EXISTS blob_trash (
    blob_key TEXT PRIMARY KEY,
    dropped_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS blob_trash_dropped ON blob_trash (dropped_at);
CREATE TABLE IF NOT EXISTS task_turns (
    app_key TEXT PRIMARY KEY,
    turn INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS callback_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    max_tries INTEGER NOT NULL,
    backoff_ms INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS callback_outbox_due ON callback_outbox (next_attempt_at);
";

/// Columns added to `tasks` after its first release: `(name, declaration)`.
const TASK_COLUMNS_ADDED: [(&str, &str); 2] = [
    ("lease_token", "TEXT NOT NULL DEFAULT ''"),
    ("finished_at", "INTEGER NOT NULL DEFAULT 0"),
];

/// Indexes and rows that depend on the added columns, run after they exist.
const TASK_MIGRATION: &str = "
CREATE INDEX IF NOT EXISTS tasks_app_status ON tasks (app_key, status, queued_at);
CREATE INDEX IF NOT EXISTS tasks_finished ON tasks (status, finished_at);
UPDATE tasks SET finished_at = queued_at WHERE status IN ('D', 'F') AND finished_at = 0;
INSERT OR IGNORE INTO task_turns (app_key, turn) SELECT DISTINCT app_key, 0 FROM tasks;
";

const FILE_COLUMNS: &str = "id, path, bytes, created_by, operation_id, source_id, blob_key, \
    etag, content_type, width, height, taken_at, lat, lng, created_at, updated_at, variant";

/// A file by path, with its source file and its operation when it is a produced file: one
/// statement, the two joins being primary-key and unique-index probes.
const STORED_FILE_QUERY: &str = "SELECT
    f.id, f.path, f.bytes, f.created_by, f.operation_id, f.source_id, f.blob_key, f.etag,
    f.content_type, f.width, f.height, f.taken_at, f.lat, f.lng, f.created_at, f.updated_at,
    f.variant,
    s.id, s.path, s.bytes, s.created_by, s.operation_id, s.source_id, s.blob_key, s.etag,
    s.content_type, s.width, s.height, s.taken_at, s.lat, s.lng, s.created_at, s.updated_at,
    s.variant,
    o.operation_id, o.description, o.realtime_service, o.jobs, o.updated_at, o.version
  FROM files f
  LEFT JOIN files s ON f.created_by = 'P' AND s.id = f.source_id AND s.app_key = f.app_key
  LEFT JOIN operations o ON f.created_by = 'P' AND o.app_key = f.app_key
    AND o.operation_id = f.operation_id
  WHERE f.app_key = ?1 AND f.path = ?2";

const OPERATION_COLUMNS: &str =
    "operation_id, description, realtime_service, jobs, updated_at, version";

const TASK_COLUMNS: &str =
    "id, app_key, queue_type, status, try_count, queued_at, operation_id, path, payload, error";

/// The SQLite catalog.
#[derive(Clone)]
pub struct SqliteCatalog {
    /// The writer: every change runs on this one connection, one at a time, as SQLite
    /// serialises writers anyway.
    conn: Arc<Mutex<Connection>>,
    /// Reader connections; in WAL mode they read the last commit while a write runs.
    readers: Arc<ReaderPool>,
}

/// A bounded pool of reader connections, opened on first use.
struct ReaderPool {
    /// The catalog file.
    path: PathBuf,
    /// Connections not in use.
    idle: Mutex<Vec<Connection>>,
    /// One permit per connection that may exist.
    permits: Arc<Semaphore>,
}

impl ReaderPool {
    /// An idle connection, or a new one (the caller holds a permit, so the pool stays bounded).
    fn take(&self) -> CatalogResult<Connection> {
        let idle = self
            .idle
            .lock()
            .map_err(|_| CatalogError::Backend("catalog reader pool poisoned".into()))?
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => open_reader(&self.path),
        }
    }

    /// Returns a connection to the idle list.
    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }
}

/// How long a connection waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a connection that only reads.
fn open_reader(path: &Path) -> CatalogResult<Connection> {
    let conn = Connection::open(path).map_err(backend)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
    conn.pragma_update(None, "query_only", "ON")
        .map_err(backend)?;
    Ok(conn)
}

impl SqliteCatalog {
    /// Opens (creating if needed) the catalog file and its schema, with up to `readers`
    /// reader connections (at least one).
    pub fn open(path: &Path, readers: usize) -> CatalogResult<Self> {
        let conn = Connection::open(path).map_err(backend)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        // FULL: in WAL mode every commit syncs the log, so an acknowledged change survives a
        // power failure (NORMAL syncs only at checkpoints and may lose the last commits).
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(backend)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        migrate_tasks(&conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            readers: Arc::new(ReaderPool {
                path: path.to_owned(),
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(readers.max(1))),
            }),
        })
    }

    /// Runs `f` in a read transaction on a reader connection: it sees one consistent commit
    /// and never waits for the writer.
    async fn read<T, F>(&self, f: F) -> CatalogResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> CatalogResult<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.readers.permits)
            .acquire_owned()
            .await
            .map_err(|e| CatalogError::Backend(e.to_string()))?;
        let pool = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = pool.take()?;
            let out = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)
                .map_err(backend)
                .and_then(|tx| {
                    let out = f(&tx)?;
                    tx.finish().map_err(backend)?;
                    Ok(out)
                });
            pool.give_back(conn);
            out
        })
        .await
        .map_err(|e| CatalogError::Backend(e.to_string()))?
    }

    async fn run<T, F>(&self, f: F) -> CatalogResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> CatalogResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| CatalogError::Backend("catalog connection poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| CatalogError::Backend(e.to_string()))?
    }

    async fn tx<T, F>(&self, f: F) -> CatalogResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> CatalogResult<T> + Send + 'static,
    {
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            let out = f(&tx)?;
            tx.commit().map_err(backend)?;
            Ok(out)
        })
        .await
    }
}

/// Adds the columns of [`TASK_COLUMNS_ADDED`] that a catalog made by an older release lacks.
fn migrate_tasks(conn: &Connection) -> CatalogResult<()> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info('tasks')")
        .map_err(backend)?;
    let present = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    for (name, declaration) in TASK_COLUMNS_ADDED {
        if !present.iter().any(|p| p == name) {
            conn.execute_batch(&format!(
                "ALTER TABLE tasks ADD COLUMN {name} {declaration}"
            ))
            .map_err(backend)?;
        }
    }
    conn.execute_batch(TASK_MIGRATION).map_err(backend)
}

fn backend(e: rusqlite::Error) -> CatalogError {
    CatalogError::Backend(e.to_string())
}

fn app_from_row(row: &Row<'_>) -> rusqlite::Result<AppRecord> {
    Ok(AppRecord {
        app_key: row.get(0)?,
        secret_key: row.get(1)?,
        container: row.get(2)?,
        name: row.get(3)?,
        realtime_service: row.get(4)?,
        created_at: row.get(5)?,
    })
}

fn folder_from_row(row: &Row<'_>) -> rusqlite::Result<Folder> {
    Ok(Folder {
        id: row.get(0)?,
        path: row.get(1)?,
        updated_at: row.get(2)?,
    })
}

fn file_from_row(row: &Row<'_>) -> rusqlite::Result<FileRecord> {
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
    })
}

/// Number of [`FILE_COLUMNS`].
const FILE_COLUMN_COUNT: usize = 17;

/// A file with, for a produced file, its source and its operation as they are now (columns of
/// the file, then of the source, then of the operation; missing ones are NULL).
fn stored_from_row(row: &Row<'_>) -> rusqlite::Result<StoredFile> {
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

fn operation_from_row(row: &Row<'_>) -> rusqlite::Result<OperationRecord> {
    Ok(OperationRecord {
        operation_id: row.get(0)?,
        description: row.get(1)?,
        realtime_service: row.get(2)?,
        jobs: row.get(3)?,
        updated_at: row.get(4)?,
        version: row.get(5)?,
    })
}

fn task_from_row(row: &Row<'_>) -> rusqlite::Result<Task> {
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

/// The range of paths strictly below `folder`: `[lo, hi)` in byte order.
fn below(folder: &str) -> (String, String) {
    if folder == "/" {
        ("/".to_owned(), "0".to_owned())
    } else {
        (format!("{folder}/"), format!("{folder}0"))
    }
}

fn folder_at(tx: &Transaction<'_>, app_key: &str, path: &str) -> CatalogResult<Option<Folder>> {
    tx.query_row(
        "SELECT id, path, updated_at FROM folders WHERE app_key = ?1 AND path = ?2",
        params![app_key, path],
        folder_from_row,
    )
    .optional()
    .map_err(backend)
}

/// Marks a folder as changed at `now` (never moving its time backwards): an entry was added
/// to it or removed from it.
fn touch_folder(tx: &Transaction<'_>, app_key: &str, path: &str, now: i64) -> CatalogResult<()> {
    tx.prepare_cached(
        "UPDATE folders SET updated_at = max(updated_at, ?3) WHERE app_key = ?1 AND path = ?2",
    )
    .and_then(|mut s| s.execute(params![app_key, path, now]))
    .map_err(backend)?;
    Ok(())
}

fn file_exists(tx: &Transaction<'_>, app_key: &str, path: &str) -> CatalogResult<bool> {
    tx.query_row(
        "SELECT 1 FROM files WHERE app_key = ?1 AND path = ?2",
        params![app_key, path],
        |_| Ok(()),
    )
    .optional()
    .map(|o| o.is_some())
    .map_err(backend)
}

/// Creates `path` and its missing parents; returns the folder and whether it was new.
fn ensure_folder(
    tx: &Transaction<'_>,
    app_key: &str,
    path: &str,
    now: i64,
) -> CatalogResult<(Folder, bool)> {
    if let Some(existing) = folder_at(tx, app_key, path)? {
        return Ok((existing, false));
    }
    if file_exists(tx, app_key, path)? {
        return Err(CatalogError::NotAFolder(path.to_owned()));
    }
    if path != "/" {
        ensure_folder(tx, app_key, paths::parent(path), now)?;
        touch_folder(tx, app_key, paths::parent(path), now)?;
    }
    let folder = Folder {
        id: uuid::Uuid::new_v4().to_string(),
        path: path.to_owned(),
        updated_at: now,
    };
    tx.execute(
        "INSERT INTO folders (id, app_key, path, parent, name, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            folder.id,
            app_key,
            path,
            if path == "/" { "" } else { paths::parent(path) },
            paths::name(path),
            now
        ],
    )
    .map_err(backend)?;
    Ok((folder, true))
}

fn insert_file(tx: &Transaction<'_>, app_key: &str, f: &FileRecord) -> CatalogResult<()> {
    tx.execute(
        "INSERT INTO files (id, app_key, path, parent, name, bytes, created_by, operation_id,
             source_id, blob_key, etag, content_type, width, height, taken_at, lat, lng,
             created_at, updated_at, variant)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             ?18, ?19, ?20)",
        params![
            f.id,
            app_key,
            f.path,
            paths::parent(&f.path),
            paths::name(&f.path),
            f.bytes as i64,
            f.created_by.code(),
            f.operation_id,
            f.source_id,
            f.blob_key,
            f.etag,
            f.content_type,
            f.width,
            f.height,
            f.taken_at,
            f.lat,
            f.lng,
            f.created_at,
            f.updated_at,
            f.variant
        ],
    )
    .map_err(backend)?;
    Ok(())
}

/// Records blob keys the catalog no longer references, in the transaction that dropped them,
/// so their deletion survives a crash.
fn trash(tx: &Transaction<'_>, keys: &[String]) -> CatalogResult<()> {
    let now = crate::context::now_ms();
    let mut stmt = tx
        .prepare_cached("INSERT OR IGNORE INTO blob_trash (blob_key, dropped_at) VALUES (?1, ?2)")
        .map_err(backend)?;
    for key in keys {
        stmt.execute(params![key, now]).map_err(backend)?;
    }
    Ok(())
}

/// Deletes the files produced from `source_id`; returns their blob keys.
fn delete_produced(
    tx: &Transaction<'_>,
    app_key: &str,
    source_id: &str,
) -> CatalogResult<Vec<String>> {
    let mut stmt = tx
        .prepare("DELETE FROM files WHERE source_id = ?1 RETURNING blob_key, parent")
        .map_err(backend)?;
    let rows = stmt
        .query_map(params![source_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    touch_parents(tx, app_key, &rows)?;
    Ok(rows.into_iter().map(|(key, _)| key).collect())
}

/// Marks the folders of removed files as changed now.
fn touch_parents(
    tx: &Transaction<'_>,
    app_key: &str,
    removed: &[(String, String)],
) -> CatalogResult<()> {
    let now = crate::context::now_ms();
    let parents: std::collections::BTreeSet<&str> =
        removed.iter().map(|(_, parent)| parent.as_str()).collect();
    for parent in parents {
        touch_folder(tx, app_key, parent, now)?;
    }
    Ok(())
}

#[async_trait]
impl Catalog for SqliteCatalog {
    async fn create_app(&self, app: &AppRecord) -> CatalogResult<()> {
        let app = app.clone();
        self.tx(move |tx| {
            tx.execute(
                "INSERT INTO apps (app_key, secret_key, container, name, realtime_service,
                     created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    app.app_key,
                    app.secret_key,
                    app.container,
                    app.name,
                    app.realtime_service,
                    app.created_at
                ],
            )
            .map_err(backend)?;
            ensure_folder(tx, &app.app_key, "/", app.created_at)?;
            Ok(())
        })
        .await
    }

    async fn apps(&self) -> CatalogResult<Vec<AppRecord>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT app_key, secret_key, container, name, realtime_service, created_at
                     FROM apps ORDER BY created_at, rowid",
                )
                .map_err(backend)?;
            let apps = stmt
                .query_map([], app_from_row)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(apps)
        })
        .await
    }

    async fn app(&self, app_key: &str) -> CatalogResult<Option<AppRecord>> {
        let key = app_key.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT app_key, secret_key, container, name, realtime_service, created_at
                 FROM apps WHERE app_key = ?1",
                params![key],
                app_from_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn app_by_container(&self, container: &str) -> CatalogResult<Option<AppRecord>> {
        let container = container.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT app_key, secret_key, container, name, realtime_service, created_at
                 FROM apps WHERE container = ?1",
                params![container],
                app_from_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn set_realtime_service(&self, app_key: &str, on: bool) -> CatalogResult<()> {
        let key = app_key.to_owned();
        self.run(move |conn| {
            let n = conn
                .execute(
                    "UPDATE apps SET realtime_service = ?1 WHERE app_key = ?2",
                    params![on, key],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(CatalogError::NotFound(key));
            }
            Ok(())
        })
        .await
    }

    async fn create_folder(&self, app_key: &str, path: &str, now: i64) -> CatalogResult<Folder> {
        let (key, path) = (app_key.to_owned(), path.to_owned());
        self.tx(move |tx| {
            let (folder, created) = ensure_folder(tx, &key, &path, now)?;
            if !created {
                return Err(CatalogError::FolderExists(path));
            }
            Ok(folder)
        })
        .await
    }

    async fn folder_by_path(&self, app_key: &str, path: &str) -> CatalogResult<Option<Folder>> {
        let (key, path) = (app_key.to_owned(), path.to_owned());
        self.read(move |tx| folder_at(tx, &key, &path)).await
    }

    async fn folder_by_id(&self, app_key: &str, id: &str) -> CatalogResult<Option<Folder>> {
        let (key, id) = (app_key.to_owned(), id.to_owned());
        self.read(move |conn| {
            conn.query_row(
                "SELECT id, path, updated_at FROM folders WHERE app_key = ?1 AND id = ?2",
                params![key, id],
                folder_from_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn list(&self, app_key: &str, folder: &str, query: &ListQuery) -> CatalogResult<Listing> {
        let (key, folder, q) = (app_key.to_owned(), folder.to_owned(), query.clone());
        self.read(move |conn| {
            let order = match (q.sort, q.descending) {
                (SortKey::Name, false) => "name ASC",
                (SortKey::Name, true) => "name DESC",
                (SortKey::Date, false) => "updated_at ASC, name ASC",
                (SortKey::Date, true) => "updated_at DESC, name ASC",
            };
            let needle = q.name.clone().unwrap_or_default();
            let offset = i64::from(q.page.saturating_sub(1)) * i64::from(q.rows);
            let limit = i64::from(q.rows);
            let created_by = q.created_by.map(CreatedBy::code).unwrap_or("");

            let total_folders: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM folders
                     WHERE app_key = ?1 AND parent = ?2 AND instr(name, ?3) > 0",
                    params![key, folder, needle],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT id, path, updated_at FROM folders
                     WHERE app_key = ?1 AND parent = ?2 AND instr(name, ?3) > 0
                     ORDER BY {order} LIMIT ?4 OFFSET ?5"
                ))
                .map_err(backend)?;
            let folders = stmt
                .query_map(params![key, folder, needle, limit, offset], folder_from_row)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;

            let total_files: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM files
                     WHERE app_key = ?1 AND parent = ?2 AND instr(name, ?3) > 0
                       AND (?4 = '' OR created_by = ?4)",
                    params![key, folder, needle, created_by],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {FILE_COLUMNS} FROM files
                     WHERE app_key = ?1 AND parent = ?2 AND instr(name, ?3) > 0
                       AND (?4 = '' OR created_by = ?4)
                     ORDER BY {order} LIMIT ?5 OFFSET ?6"
                ))
                .map_err(backend)?;
            let files = stmt
                .query_map(
                    params![key, folder, needle, created_by, limit, offset],
                    file_from_row,
                )
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(Listing {
                folders,
                files,
                total_folders: total_folders.max(0) as u64,
                total_files: total_files.max(0) as u64,
            })
        })
        .await
    }

    async fn folder_stats(&self, app_key: &str, folder: &str) -> CatalogResult<FolderStats> {
        let (key, (lo, hi)) = (app_key.to_owned(), below(folder));
        self.read(move |conn| {
            let (files, bytes): (i64, i64) = conn
                .query_row(
                    "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM files
                     WHERE app_key = ?1 AND path >= ?2 AND path < ?3",
                    params![key, lo, hi],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(backend)?;
            let folders: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM folders
                     WHERE app_key = ?1 AND path >= ?2 AND path < ?3 AND path <> '/'",
                    params![key, lo, hi],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            Ok(FolderStats {
                bytes: bytes.max(0) as u64,
                folders: folders.max(0) as u64,
                files: files.max(0) as u64,
            })
        })
        .await
    }

    async fn file_by_path(&self, app_key: &str, path: &str) -> CatalogResult<Option<FileRecord>> {
        let (key, path) = (app_key.to_owned(), path.to_owned());
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {FILE_COLUMNS} FROM files WHERE app_key = ?1 AND path = ?2"
            ))
            .and_then(|mut s| s.query_row(params![key, path], file_from_row).optional())
            .map_err(backend)
        })
        .await
    }

    async fn stored_file(&self, app_key: &str, path: &str) -> CatalogResult<Option<StoredFile>> {
        let (key, path) = (app_key.to_owned(), path.to_owned());
        self.read(move |conn| {
            conn.prepare_cached(STORED_FILE_QUERY)
                .and_then(|mut s| s.query_row(params![key, path], stored_from_row).optional())
                .map_err(backend)
        })
        .await
    }

    async fn file_by_id(&self, app_key: &str, id: &str) -> CatalogResult<Option<FileRecord>> {
        let (key, id) = (app_key.to_owned(), id.to_owned());
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {FILE_COLUMNS} FROM files WHERE app_key = ?1 AND id = ?2"),
                params![key, id],
                file_from_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn files_below(
        &self,
        app_key: &str,
        folder: &str,
        created_by: CreatedBy,
        limit: usize,
    ) -> CatalogResult<Vec<FileRecord>> {
        let (key, (lo, hi)) = (app_key.to_owned(), below(folder));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {FILE_COLUMNS} FROM files
                     WHERE app_key = ?1 AND path >= ?2 AND path < ?3 AND created_by = ?4
                     ORDER BY path LIMIT ?5"
                ))
                .map_err(backend)?;
            let files = stmt
                .query_map(
                    params![key, lo, hi, created_by.code(), limit],
                    file_from_row,
                )
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(files)
        })
        .await
    }

    async fn put_file(
        &self,
        app_key: &str,
        file: FileRecord,
        on_conflict: OnConflict,
    ) -> CatalogResult<PutOutcome> {
        let key = app_key.to_owned();
        self.tx(move |tx| {
            let mut file = file;
            let parent = paths::parent(&file.path).to_owned();
            ensure_folder(tx, &key, &parent, file.updated_at)?;
            if folder_at(tx, &key, &file.path)?.is_some() {
                return Err(CatalogError::FolderExists(file.path));
            }
            let existing = tx
                .query_row(
                    &format!("SELECT {FILE_COLUMNS} FROM files WHERE app_key = ?1 AND path = ?2"),
                    params![key, file.path],
                    file_from_row,
                )
                .optional()
                .map_err(backend)?;
            let Some(old) = existing else {
                insert_file(tx, &key, &file)?;
                touch_folder(tx, &key, &parent, file.updated_at)?;
                return Ok(PutOutcome {
                    file,
                    overwritten: false,
                    orphaned_blobs: Vec::new(),
                });
            };
            match on_conflict {
                OnConflict::Fail => Err(CatalogError::FileExists(file.path)),
                OnConflict::Overwrite => {
                    // The files produced from it stay: their stamps name the old version, so
                    // delivery renders them again from the new one when they are asked for.
                    let orphaned = vec![old.blob_key.clone()];
                    trash(tx, &orphaned)?;
                    tx.execute("DELETE FROM files WHERE id = ?1", params![old.id])
                        .map_err(backend)?;
                    file.id = old.id;
                    file.created_at = old.created_at;
                    insert_file(tx, &key, &file)?;
                    Ok(PutOutcome {
                        file,
                        overwritten: true,
                        orphaned_blobs: orphaned,
                    })
                }
                OnConflict::Rename => {
                    let name = paths::name(&file.path).to_owned();
                    for n in 1..=u32::MAX {
                        let candidate = paths::join(&parent, &paths::autorename(&name, n));
                        if !file_exists(tx, &key, &candidate)?
                            && folder_at(tx, &key, &candidate)?.is_none()
                        {
                            file.path = candidate;
                            insert_file(tx, &key, &file)?;
                            touch_folder(tx, &key, &parent, file.updated_at)?;
                            return Ok(PutOutcome {
                                file,
                                overwritten: false,
                                orphaned_blobs: Vec::new(),
                            });
                        }
                    }
                    Err(CatalogError::FileExists(file.path))
                }
            }
        })
        .await
    }

    async fn delete_file(
        &self,
        app_key: &str,
        id: &str,
        with_produced: bool,
    ) -> CatalogResult<Vec<String>> {
        let (key, id) = (app_key.to_owned(), id.to_owned());
        self.tx(move |tx| {
            let removed: Option<(String, String)> = tx
                .query_row(
                    "DELETE FROM files WHERE app_key = ?1 AND id = ?2 RETURNING blob_key, parent",
                    params![key, id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(backend)?;
            let Some(removed) = removed else {
                return Err(CatalogError::NotFound(id));
            };
            touch_parents(tx, &key, std::slice::from_ref(&removed))?;
            let mut keys = vec![removed.0];
            if with_produced {
                keys.extend(delete_produced(tx, &key, &id)?);
            }
            trash(tx, &keys)?;
            Ok(keys)
        })
        .await
    }

    async fn delete_folder(&self, app_key: &str, id: &str) -> CatalogResult<Vec<String>> {
        let (key, id) = (app_key.to_owned(), id.to_owned());
        self.tx(move |tx| {
            let path: Option<String> = tx
                .query_row(
                    "SELECT path FROM folders WHERE app_key = ?1 AND id = ?2",
                    params![key, id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            let Some(path) = path else {
                return Err(CatalogError::NotFound(id));
            };
            let (lo, hi) = below(&path);
            let mut stmt = tx
                .prepare(
                    "DELETE FROM files WHERE app_key = ?1 AND path >= ?2 AND path < ?3
                     RETURNING blob_key",
                )
                .map_err(backend)?;
            let keys = stmt
                .query_map(params![key, lo, hi], |r| r.get::<_, String>(0))
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            tx.execute(
                "DELETE FROM folders WHERE app_key = ?1 AND path >= ?2 AND path < ?3
                   AND path <> '/'",
                params![key, lo, hi],
            )
            .map_err(backend)?;
            if path != "/" {
                tx.execute("DELETE FROM folders WHERE id = ?1", params![id])
                    .map_err(backend)?;
                touch_folder(tx, &key, paths::parent(&path), crate::context::now_ms())?;
            }
            trash(tx, &keys)?;
            Ok(keys)
        })
        .await
    }

    async fn put_operation(
        &self,
        app_key: &str,
        op: &OperationRecord,
    ) -> CatalogResult<OperationRecord> {
        let (key, op) = (app_key.to_owned(), op.clone());
        self.tx(move |tx| {
            let last: Option<i64> = tx
                .query_row(
                    "SELECT version FROM operation_versions WHERE app_key = ?1 AND operation_id = ?2",
                    params![key, op.operation_id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            let version = last.map_or(1, |v| v + 1);
            tx.execute(
                "INSERT INTO operation_versions (app_key, operation_id, version) VALUES (?1, ?2, ?3)
                 ON CONFLICT (app_key, operation_id) DO UPDATE SET version = excluded.version",
                params![key, op.operation_id, version],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT INTO operations (app_key, operation_id, description, realtime_service,
                     jobs, updated_at, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (app_key, operation_id) DO UPDATE SET
                     description = excluded.description,
                     realtime_service = excluded.realtime_service,
                     jobs = excluded.jobs, updated_at = excluded.updated_at,
                     version = excluded.version",
                params![
                    key,
                    op.operation_id,
                    op.description,
                    op.realtime_service,
                    op.jobs,
                    op.updated_at,
                    version
                ],
            )
            .map_err(backend)?;
            Ok(OperationRecord { version, ..op })
        })
        .await
    }

    async fn operation(&self, app_key: &str, id: &str) -> CatalogResult<Option<OperationRecord>> {
        let (key, id) = (app_key.to_owned(), id.to_owned());
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {OPERATION_COLUMNS} FROM operations WHERE app_key = ?1 AND operation_id = ?2"
            ))
            .and_then(|mut s| s.query_row(params![key, id], operation_from_row).optional())
            .map_err(backend)
        })
        .await
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
        let (key, prefix) = (app_key.to_owned(), prefix.to_owned());
        self.read(move |conn| {
            let order = match (sort, descending) {
                (SortKey::Name, false) => "operation_id ASC",
                (SortKey::Name, true) => "operation_id DESC",
                (SortKey::Date, false) => "updated_at ASC, operation_id ASC",
                (SortKey::Date, true) => "updated_at DESC, operation_id ASC",
            };
            let total: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM operations
                     WHERE app_key = ?1 AND substr(operation_id, 1, length(?2)) = ?2",
                    params![key, prefix],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            let offset = i64::from(page.saturating_sub(1)) * i64::from(rows);
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {OPERATION_COLUMNS} FROM operations
                     WHERE app_key = ?1 AND substr(operation_id, 1, length(?2)) = ?2
                     ORDER BY {order} LIMIT ?3 OFFSET ?4"
                ))
                .map_err(backend)?;
            let ops = stmt
                .query_map(
                    params![key, prefix, i64::from(rows), offset],
                    operation_from_row,
                )
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok((ops, total.max(0) as u64))
        })
        .await
    }

    async fn delete_operation(&self, app_key: &str, id: &str) -> CatalogResult<()> {
        let (key, id) = (app_key.to_owned(), id.to_owned());
        self.run(move |conn| {
            let n = conn
                .execute(
                    "DELETE FROM operations WHERE app_key = ?1 AND operation_id = ?2",
                    params![key, id],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(CatalogError::NotFound(id));
            }
            Ok(())
        })
        .await
    }

    async fn delete_produced_by(
        &self,
        app_key: &str,
        operation_id: &str,
    ) -> CatalogResult<Vec<String>> {
        let (key, id) = (app_key.to_owned(), operation_id.to_owned());
        self.tx(move |tx| {
            let mut stmt = tx
                .prepare(
                    "DELETE FROM files WHERE app_key = ?1 AND operation_id = ?2
                       AND created_by = 'P' RETURNING blob_key, parent",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![key, id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            touch_parents(tx, &key, &rows)?;
            let keys: Vec<String> = rows.into_iter().map(|(k, _)| k).collect();
            trash(tx, &keys)?;
            Ok(keys)
        })
        .await
    }

    async fn produced_from(
        &self,
        app_key: &str,
        source_id: &str,
    ) -> CatalogResult<Vec<FileRecord>> {
        let (key, id) = (app_key.to_owned(), source_id.to_owned());
        self.read(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {FILE_COLUMNS} FROM files WHERE app_key = ?1 AND source_id = ?2
                     ORDER BY path"
                ))
                .map_err(backend)?;
            let files = stmt
                .query_map(params![key, id], file_from_row)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(files)
        })
        .await
    }

    async fn enqueue_task(&self, task: &Task) -> CatalogResult<()> {
        let t = task.clone();
        self.tx(move |tx| {
            tx.execute(
                &format!("INSERT INTO tasks ({TASK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                params![
                    t.id,
                    t.app_key,
                    t.queue_type,
                    t.status.code(),
                    t.try_count,
                    t.queued_at,
                    t.operation_id,
                    t.path,
                    t.payload,
                    t.error
                ],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT OR IGNORE INTO task_turns (app_key, turn) VALUES (?1, 0)",
                params![t.app_key],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn task(&self, app_key: &str, id: &str) -> CatalogResult<Option<Task>> {
        let (key, id) = (app_key.to_owned(), id.to_owned());
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE app_key = ?1 AND id = ?2"),
                params![key, id],
                task_from_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn claim_task(&self, lease_until: i64) -> CatalogResult<Option<ClaimedTask>> {
        self.tx(move |tx| {
            // The app served least recently among those with waiting work; each app's oldest
            // waiting task is found through `tasks_app_status`, one index probe per app.
            let app: Option<String> = tx
                .query_row(
                    "SELECT r.app_key FROM task_turns r
                     WHERE EXISTS (SELECT 1 FROM tasks t
                                   WHERE t.app_key = r.app_key AND t.status = 'W')
                     ORDER BY r.turn,
                              (SELECT MIN(t.queued_at) FROM tasks t
                               WHERE t.app_key = r.app_key AND t.status = 'W')
                     LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            let Some(app) = app else {
                return Ok(None);
            };
            let lease = uuid::Uuid::new_v4().to_string();
            let task = tx
                .query_row(
                    &format!(
                        "UPDATE tasks SET status = 'P', try_count = try_count + 1,
                             lease_until = ?2, lease_token = ?3
                         WHERE id = (SELECT id FROM tasks WHERE app_key = ?1 AND status = 'W'
                                     ORDER BY queued_at, rowid LIMIT 1)
                         RETURNING {TASK_COLUMNS}"
                    ),
                    params![app, lease_until, lease],
                    task_from_row,
                )
                .optional()
                .map_err(backend)?;
            tx.execute(
                "UPDATE task_turns SET turn = (SELECT MAX(turn) + 1 FROM task_turns)
                 WHERE app_key = ?1",
                params![app],
            )
            .map_err(backend)?;
            Ok(task.map(|task| ClaimedTask { task, lease }))
        })
        .await
    }

    async fn pending_tasks(&self) -> CatalogResult<(u64, u64)> {
        self.read(|conn| {
            conn.query_row(
                "SELECT COALESCE(SUM(status = 'W'), 0), COALESCE(SUM(status = 'P'), 0)
                 FROM tasks WHERE status IN ('W', 'P')",
                [],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
            )
            .map(|(w, p)| (w.max(0) as u64, p.max(0) as u64))
            .map_err(backend)
        })
        .await
    }

    async fn finish_task(
        &self,
        claimed: &ClaimedTask,
        status: TaskStatus,
        error: Option<&str>,
        now: i64,
    ) -> CatalogResult<bool> {
        let (id, lease) = (claimed.task.id.clone(), claimed.lease.clone());
        let error = error.map(str::to_owned);
        self.run(move |conn| {
            let finished_at = if matches!(status, TaskStatus::Done | TaskStatus::Failed) {
                now
            } else {
                0
            };
            let n = conn
                .execute(
                    "UPDATE tasks SET status = ?3, error = ?4, lease_until = 0, lease_token = '',
                         finished_at = ?5
                     WHERE id = ?1 AND lease_token = ?2 AND status = 'P'",
                    params![id, lease, status.code(), error, finished_at],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
        .await
    }

    async fn renew_task(&self, claimed: &ClaimedTask, lease_until: i64) -> CatalogResult<bool> {
        let (id, lease) = (claimed.task.id.clone(), claimed.lease.clone());
        self.run(move |conn| {
            let n = conn
                .execute(
                    "UPDATE tasks SET lease_until = ?3
                     WHERE id = ?1 AND lease_token = ?2 AND status = 'P'",
                    params![id, lease, lease_until],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
        .await
    }

    async fn expire_task_leases(&self, now: i64, max_tries: u32) -> CatalogResult<Vec<Task>> {
        self.tx(move |tx| {
            let mut stmt = tx
                .prepare(&format!(
                    "UPDATE tasks SET
                         status = CASE WHEN try_count >= ?2 THEN 'F' ELSE 'W' END,
                         error = CASE WHEN try_count >= ?2
                             THEN 'abandoned: its last attempt never finished' ELSE error END,
                         finished_at = CASE WHEN try_count >= ?2 THEN ?1 ELSE 0 END,
                         lease_until = 0, lease_token = ''
                     WHERE status = 'P' AND lease_until < ?1
                     RETURNING {TASK_COLUMNS}"
                ))
                .map_err(backend)?;
            let expired = stmt
                .query_map(params![now, max_tries], task_from_row)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(expired
                .into_iter()
                .filter(|t| t.status == TaskStatus::Failed)
                .collect())
        })
        .await
    }

    async fn prune_tasks(&self, finished_before: i64, limit: usize) -> CatalogResult<u64> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.tx(move |tx| {
            let n = tx
                .execute(
                    "DELETE FROM tasks WHERE rowid IN (
                         SELECT rowid FROM tasks
                         WHERE status IN ('D', 'F') AND finished_at < ?1 LIMIT ?2)",
                    params![finished_before, limit],
                )
                .map_err(backend)?;
            Ok(n as u64)
        })
        .await
    }

    async fn dropped_blobs(&self, dropped_before: i64, limit: usize) -> CatalogResult<Vec<String>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |tx| {
            let mut stmt = tx
                .prepare(
                    "SELECT blob_key FROM blob_trash WHERE dropped_at < ?1
                     ORDER BY dropped_at LIMIT ?2",
                )
                .map_err(backend)?;
            let keys = stmt
                .query_map(params![dropped_before, limit], |r| r.get::<_, String>(0))
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(keys)
        })
        .await
    }

    async fn forget_dropped_blobs(&self, keys: &[String]) -> CatalogResult<()> {
        let keys = keys.to_vec();
        self.tx(move |tx| {
            let mut stmt = tx
                .prepare_cached("DELETE FROM blob_trash WHERE blob_key = ?1")
                .map_err(backend)?;
            for key in &keys {
                stmt.execute(params![key]).map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn blob_references(&self, dropped_since: i64) -> CatalogResult<BlobReferences> {
        self.read(move |tx| {
            let mut stmt = tx
                .prepare("SELECT app_key, path, blob_key FROM files ORDER BY blob_key")
                .map_err(backend)?;
            let files = stmt
                .query_map([], |r| {
                    Ok(BlobReference {
                        app_key: r.get(0)?,
                        path: r.get(1)?,
                        blob_key: r.get(2)?,
                    })
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            let mut stmt = tx
                .prepare("SELECT blob_key FROM blob_trash WHERE dropped_at >= ?1")
                .map_err(backend)?;
            let recently_dropped = stmt
                .query_map(params![dropped_since], |r| r.get::<_, String>(0))
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(BlobReferences {
                files,
                recently_dropped,
            })
        })
        .await
    }

    async fn add_callback(&self, callback: &NewCallback, max_pending: u64) -> CatalogResult<bool> {
        let c = callback.clone();
        let max_pending = i64::try_from(max_pending).unwrap_or(i64::MAX);
        let backoff_ms = i64::try_from(c.backoff_ms).unwrap_or(i64::MAX);
        self.tx(move |tx| {
            let stored = tx
                .execute(
                    "INSERT INTO callback_outbox
                         (url, body, attempts, max_tries, backoff_ms, next_attempt_at, created_at)
                     SELECT ?1, ?2, 0, ?3, ?4, ?5, ?5
                     WHERE (SELECT COUNT(*) FROM (SELECT 1 FROM callback_outbox LIMIT ?6)) < ?6",
                    params![
                        c.url,
                        c.body,
                        c.max_tries,
                        backoff_ms,
                        c.created_at,
                        max_pending
                    ],
                )
                .map_err(backend)?;
            Ok(stored == 1)
        })
        .await
    }

    async fn claim_callbacks(
        &self,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> CatalogResult<Vec<PendingCallback>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.tx(move |tx| {
            let mut stmt = tx
                .prepare(
                    "UPDATE callback_outbox SET next_attempt_at = ?2
                     WHERE id IN (SELECT id FROM callback_outbox WHERE next_attempt_at <= ?1
                                  ORDER BY next_attempt_at, id LIMIT ?3)
                     RETURNING id, url, body, attempts, max_tries, backoff_ms",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![now, lease_until, limit], |row| {
                    Ok(PendingCallback {
                        id: row.get(0)?,
                        url: row.get(1)?,
                        body: row.get(2)?,
                        attempts: row.get(3)?,
                        max_tries: row.get(4)?,
                        backoff_ms: u64::try_from(row.get::<_, i64>(5)?).unwrap_or(0),
                        lease_until,
                    })
                })
                .map_err(backend)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(backend)?;
            Ok(rows)
        })
        .await
    }

    async fn finish_callback(
        &self,
        claimed: &PendingCallback,
        outcome: CallbackOutcome,
    ) -> CatalogResult<()> {
        let (id, lease) = (claimed.id, claimed.lease_until);
        self.tx(move |tx| {
            let changed = match outcome {
                CallbackOutcome::Remove => tx.execute(
                    "DELETE FROM callback_outbox WHERE id = ?1 AND next_attempt_at = ?2",
                    params![id, lease],
                ),
                CallbackOutcome::Retry(at) => tx.execute(
                    "UPDATE callback_outbox SET attempts = attempts + 1, next_attempt_at = ?3
                     WHERE id = ?1 AND next_attempt_at = ?2",
                    params![id, lease, at],
                ),
                CallbackOutcome::Postpone(at) => tx.execute(
                    "UPDATE callback_outbox SET next_attempt_at = ?3
                     WHERE id = ?1 AND next_attempt_at = ?2",
                    params![id, lease, at],
                ),
            };
            changed.map_err(backend)?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, SqliteCatalog) {
        let dir = tempfile::tempdir().expect("tempdir");
        let catalog = SqliteCatalog::open(&dir.path().join("c.sqlite3"), 2).expect("open");
        (dir, catalog)
    }

    fn task(id: &str, app: &str, queued_at: i64) -> Task {
        Task {
            id: id.to_owned(),
            app_key: app.to_owned(),
            queue_type: "image".to_owned(),
            status: TaskStatus::Waiting,
            try_count: 0,
            queued_at,
            operation_id: "op".to_owned(),
            path: String::new(),
            payload: "{}".to_owned(),
            error: None,
        }
    }

    fn app() -> AppRecord {
        AppRecord {
            app_key: "A".to_owned(),
            secret_key: "s".to_owned(),
            container: "c".to_owned(),
            name: "app".to_owned(),
            realtime_service: true,
            created_at: 1,
        }
    }

    fn file(path: &str, at: i64, source: Option<&FileRecord>) -> FileRecord {
        FileRecord {
            id: uuid::Uuid::new_v4().to_string(),
            path: path.to_owned(),
            bytes: 1,
            created_by: if source.is_some() {
                CreatedBy::Operation
            } else {
                CreatedBy::User
            },
            operation_id: if source.is_some() { "w" } else { "" }.to_owned(),
            source_id: source.map(|s| s.id.clone()),
            variant: source.map(|s| format!("{}:1", s.etag)).unwrap_or_default(),
            blob_key: format!("blob-{path}-{at}"),
            etag: format!("etag-{at}"),
            content_type: "image/jpeg".to_owned(),
            width: 1,
            height: 1,
            taken_at: None,
            lat: None,
            lng: None,
            created_at: at,
            updated_at: at,
        }
    }

    async fn folder_time(c: &SqliteCatalog, path: &str) -> i64 {
        c.folder_by_path("A", path)
            .await
            .expect("read")
            .expect("folder")
            .updated_at
    }

    /// Runs a change stamped with the current time and returns the bounds of that time.
    async fn timed<F: std::future::Future>(change: F) -> (i64, i64) {
        let before = crate::context::now_ms();
        change.await;
        (before, crate::context::now_ms())
    }

    #[tokio::test]
    async fn a_folder_changes_when_an_entry_is_added_or_removed() {
        let (_dir, c) = open();
        c.create_app(&app()).await.expect("app");
        c.create_folder("A", "/a", 10).await.expect("folder");
        assert_eq!(folder_time(&c, "/").await, 10, "a subfolder created");
        c.create_folder("A", "/a/b", 15).await.expect("folder");
        assert_eq!(folder_time(&c, "/a").await, 15, "a subfolder created");
        assert_eq!(folder_time(&c, "/").await, 10, "the immediate parent only");
        let up = c
            .put_file("A", file("/a/x.jpg", 20, None), OnConflict::Fail)
            .await
            .expect("put")
            .file;
        assert_eq!(folder_time(&c, "/a").await, 20, "a file uploaded");
        let over = c
            .put_file("A", file("/a/x.jpg", 30, None), OnConflict::Overwrite)
            .await
            .expect("overwrite");
        assert_eq!(
            folder_time(&c, "/a").await,
            20,
            "a replaced file is no new entry"
        );
        c.put_file(
            "A",
            file("/a/x_w.jpg", 40, Some(&over.file)),
            OnConflict::Overwrite,
        )
        .await
        .expect("produced");
        assert_eq!(folder_time(&c, "/a").await, 40, "a produced file stored");
        let (lo, hi) = timed(async {
            c.delete_file("A", &up.id, true).await.expect("delete");
        })
        .await;
        let t = folder_time(&c, "/a").await;
        assert!((lo..=hi).contains(&t), "a file deleted: {t} in {lo}..={hi}");
        assert_eq!(folder_time(&c, "/").await, 10);
        let b = c
            .folder_by_path("A", "/a/b")
            .await
            .expect("read")
            .expect("b");
        let (lo, hi) = timed(async {
            c.delete_folder("A", &b.id).await.expect("delete");
        })
        .await;
        let t = folder_time(&c, "/a").await;
        assert!((lo..=hi).contains(&t), "a subfolder deleted: {t}");
        assert_eq!(folder_time(&c, "/").await, 10);
        let a = c.folder_by_path("A", "/a").await.expect("read").expect("a");
        let (lo, hi) = timed(async {
            c.delete_folder("A", &a.id).await.expect("delete");
        })
        .await;
        let t = folder_time(&c, "/").await;
        assert!(
            (lo..=hi).contains(&t),
            "a folder deleted from the root: {t}"
        );
    }

    #[tokio::test]
    async fn an_overwrite_keeps_the_files_produced_from_it() {
        let (_dir, c) = open();
        c.create_app(&app()).await.expect("app");
        let source = c
            .put_file("A", file("/x.jpg", 10, None), OnConflict::Fail)
            .await
            .expect("put")
            .file;
        c.put_operation(
            "A",
            &OperationRecord {
                operation_id: "w".to_owned(),
                description: String::new(),
                realtime_service: true,
                jobs: "[]".to_owned(),
                updated_at: 10,
                version: 0,
            },
        )
        .await
        .expect("operation");
        let produced = file("/x_w.jpg", 11, Some(&source));
        c.put_file("A", produced.clone(), OnConflict::Fail)
            .await
            .expect("produced");
        let over = c
            .put_file("A", file("/x.jpg", 20, None), OnConflict::Overwrite)
            .await
            .expect("overwrite");
        assert_eq!(over.orphaned_blobs, vec![source.blob_key.clone()]);
        let stored = c
            .stored_file("A", "/x_w.jpg")
            .await
            .expect("read")
            .expect("the produced file stays");
        assert_eq!(stored.file, produced);
        let now = stored.source.expect("its source");
        assert_eq!((now.id, now.etag), (source.id, "etag-20".to_owned()));
        assert_eq!(stored.operation.expect("its operation").operation_id, "w");
        let upload = c
            .stored_file("A", "/x.jpg")
            .await
            .expect("read")
            .expect("upload");
        assert_eq!((upload.source, upload.operation), (None, None));
    }

    #[tokio::test]
    async fn a_busy_tenant_does_not_starve_the_others() {
        let (_dir, c) = open();
        for i in 0..50 {
            c.enqueue_task(&task(&format!("a{i}"), "A", 1000 + i))
                .await
                .expect("enqueue");
        }
        c.enqueue_task(&task("b0", "B", 5000))
            .await
            .expect("enqueue");
        let mut claimed = Vec::new();
        for _ in 0..2 {
            let t = c.claim_task(70_000).await.expect("claim").expect("a task");
            claimed.push(t.task.app_key);
        }
        assert!(claimed.contains(&"B".to_owned()), "claimed {claimed:?}");
        let next = c.claim_task(70_000).await.expect("claim").expect("a task");
        assert_eq!(next.task.id, "a1", "A's tasks keep their order");
    }

    #[tokio::test]
    async fn a_worker_that_lost_its_lease_cannot_finish_the_task() {
        let (_dir, c) = open();
        c.enqueue_task(&task("t", "A", 1)).await.expect("enqueue");
        let first = c.claim_task(20).await.expect("claim").expect("task");
        assert!(c
            .expire_task_leases(30, 3)
            .await
            .expect("expire")
            .is_empty());
        let second = c.claim_task(90).await.expect("claim").expect("taken over");
        assert_eq!(second.task.try_count, 2);
        assert_ne!(first.lease, second.lease);
        assert!(
            !c.renew_task(&first, 200).await.expect("renew"),
            "lease lost"
        );
        assert!(c
            .finish_task(&second, TaskStatus::Done, None, 40)
            .await
            .expect("finish"));
        let late = c
            .finish_task(&first, TaskStatus::Waiting, Some("late"), 50)
            .await
            .expect("finish");
        assert!(!late, "a finish without the lease changes nothing");
        let t = c.task("A", "t").await.expect("read").expect("task");
        assert_eq!(
            t.status,
            TaskStatus::Done,
            "a stale finish must not flip D back to W"
        );
        assert_eq!(t.error, None);
    }

    #[tokio::test]
    async fn a_renewed_lease_is_not_taken_over() {
        let (_dir, c) = open();
        c.enqueue_task(&task("t", "A", 1)).await.expect("enqueue");
        let claimed = c.claim_task(100).await.expect("claim").expect("task");
        assert!(c.renew_task(&claimed, 500).await.expect("renew"));
        assert!(c
            .expire_task_leases(200, 3)
            .await
            .expect("expire")
            .is_empty());
        assert!(
            c.claim_task(900).await.expect("claim").is_none(),
            "still held"
        );
        assert!(c
            .finish_task(&claimed, TaskStatus::Done, None, 300)
            .await
            .expect("finish"));
    }

    #[tokio::test]
    async fn an_expired_task_out_of_tries_fails_instead_of_running_again() {
        let (_dir, c) = open();
        c.enqueue_task(&task("t", "A", 1)).await.expect("enqueue");
        for round in 1..=3 {
            let claimed = c.claim_task(10).await.expect("claim").expect("task");
            assert_eq!(claimed.task.try_count, round);
            let failed = c.expire_task_leases(20, 3).await.expect("expire");
            assert_eq!(failed.len(), usize::from(round == 3), "round {round}");
        }
        assert!(c.claim_task(10).await.expect("claim").is_none());
        let t = c.task("A", "t").await.expect("read").expect("task");
        assert_eq!((t.status, t.try_count), (TaskStatus::Failed, 3));
        assert!(t.error.is_some());
    }

    #[tokio::test]
    async fn finished_tasks_are_pruned_after_retention_only() {
        let (_dir, c) = open();
        for (id, queued) in [("old", 1), ("new", 2), ("waiting", 3)] {
            c.enqueue_task(&task(id, "A", queued))
                .await
                .expect("enqueue");
        }
        let old = c.claim_task(1_000_000).await.expect("claim").expect("old");
        c.finish_task(&old, TaskStatus::Done, None, 100)
            .await
            .expect("finish");
        let new = c.claim_task(1_000_000).await.expect("claim").expect("new");
        c.finish_task(&new, TaskStatus::Failed, Some("x"), 300)
            .await
            .expect("finish");
        assert_eq!(c.prune_tasks(200, 10).await.expect("prune"), 1);
        assert!(c.task("A", "old").await.expect("read").is_none());
        assert!(c.task("A", "new").await.expect("read").is_some());
        assert_eq!(c.prune_tasks(i64::MAX, 10).await.expect("prune"), 1);
        let waiting = c.task("A", "waiting").await.expect("read").expect("kept");
        assert_eq!(waiting.status, TaskStatus::Waiting);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_complete_while_a_long_write_holds_the_writer() {
        let (_dir, c) = open();
        let app = AppRecord {
            app_key: "A".to_owned(),
            secret_key: "s".to_owned(),
            container: "cont".to_owned(),
            name: "a".to_owned(),
            realtime_service: true,
            created_at: 1,
        };
        c.create_app(&app).await.expect("create app");
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let writer = c.clone();
        let long_write = tokio::spawn(async move {
            writer
                .tx(move |tx| {
                    tx.execute("UPDATE apps SET name = 'b'", [])
                        .map_err(backend)?;
                    let _ = started_tx.send(());
                    let _ = release_rx.recv_timeout(std::time::Duration::from_secs(20));
                    Ok(())
                })
                .await
        });
        started_rx.await.expect("the write started");
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            let app = c.app_by_container("cont").await;
            let folder = c.folder_by_path("A", "/").await;
            (app, folder)
        })
        .await;
        let write_done_first = long_write.is_finished();
        let _ = release_tx.send(());
        long_write.await.expect("join").expect("write");
        let (app, folder) = read.expect("the read finished while the write was held");
        assert!(!write_done_first);
        assert_eq!(
            app.expect("read").expect("app").name,
            "a",
            "reads see committed data"
        );
        assert!(folder.expect("read").is_some());
        assert_eq!(c.app("A").await.expect("read").expect("app").name, "b");
    }

    #[tokio::test]
    async fn every_commit_is_synced_to_disk() {
        let (_dir, c) = open();
        let level = c
            .run(|conn| {
                conn.query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0))
                    .map_err(backend)
            })
            .await
            .expect("pragma");
        assert_eq!(level, 2, "synchronous = FULL");
    }
}
