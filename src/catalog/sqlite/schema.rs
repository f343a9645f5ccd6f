//! The versioned schema of the SQLite catalog.
//!
//! `PRAGMA user_version` holds the number of migrations applied. Opening a catalog runs the
//! missing ones in order, each in one transaction together with its new version number, so a
//! crash leaves the catalog at one version or the next, never between. A catalog written by a
//! newer release (a version above [`MIGRATIONS`]' length) is refused rather than misread.
//!
//! Catalogs made before the version was kept read version 0 whatever their shape, so the
//! first two migrations are idempotent (`IF NOT EXISTS`, columns added only when missing).
//! Later migrations run on a known shape and need no such care.

use super::backend;
use crate::catalog::{CatalogError, CatalogResult};
use rusqlite::{Connection, Transaction, TransactionBehavior};

/// Why the schema could not be brought to this release's version.
#[derive(Debug, thiserror::Error)]
enum SchemaError {
    /// The catalog was written by a newer release.
    #[error("the catalog has schema version {found}, newer than this release's {supported}")]
    TooNew {
        /// Version of the catalog.
        found: u32,
        /// Version this release writes.
        supported: u32,
    },
    /// A step failed; its transaction was rolled back.
    #[error("schema migration {step} ({name}): {source}")]
    Step {
        /// Number of the step, from 1.
        step: usize,
        /// What the step does.
        name: &'static str,
        /// The failure.
        #[source]
        source: rusqlite::Error,
    },
}

/// One step of the schema.
struct Migration {
    /// What the step does, for errors.
    name: &'static str,
    /// The change, run inside the step's transaction.
    apply: fn(&Transaction<'_>) -> rusqlite::Result<()>,
}

/// Every step, in order; the schema version is the number of steps applied.
const MIGRATIONS: [Migration; 9] = [
    Migration {
        name: "tables of apps, folders, files, operations, tasks, blob trash and outbox",
        apply: create_tables,
    },
    Migration {
        name: "task leases, finish times and fair turns",
        apply: task_leases,
    },
    Migration {
        name: "app settings of the photo-library extensions",
        apply: app_settings,
    },
    Migration {
        name: "usage counters per app, kept by triggers on files",
        apply: usage_counters,
    },
    Migration {
        name: "trash and deletion history",
        apply: trash_and_deletions,
    },
    Migration {
        name: "usage counters of the trash",
        apply: trash_usage,
    },
    Migration {
        name: "files by blob key (copies share blobs)",
        apply: files_by_blob,
    },
    Migration {
        name: "resumable uploads and their chunks",
        apply: uploads,
    },
    Migration {
        name: "file tags, dominant colours and the search by time",
        apply: photo_metadata,
    },
];

/// The schema version this release writes.
pub(super) const CURRENT_VERSION: u32 = MIGRATIONS.len() as u32;

/// The first release's tables.
const TABLES: &str = "
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
const TASK_LEASES: &str = "
CREATE INDEX IF NOT EXISTS tasks_app_status ON tasks (app_key, status, queued_at);
CREATE INDEX IF NOT EXISTS tasks_finished ON tasks (status, finished_at);
UPDATE tasks SET finished_at = queued_at WHERE status IN ('D', 'F') AND finished_at = 0;
INSERT OR IGNORE INTO task_turns (app_key, turn) SELECT DISTINCT app_key, 0 FROM tasks;
";

/// Unfinished resumable uploads and the chunks their bytes are stored in (one blob each).
const UPLOADS: &str = "
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    app_key TEXT NOT NULL,
    length INTEGER NOT NULL,
    upload_offset INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL,
    metadata TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX uploads_app ON uploads (app_key, expires_at);
CREATE INDEX uploads_expiry ON uploads (expires_at);
CREATE TABLE upload_chunks (
    upload_id TEXT NOT NULL,
    chunk_offset INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    blob_key TEXT NOT NULL,
    PRIMARY KEY (upload_id, chunk_offset)
);
";

fn uploads(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(UPLOADS)
}

/// Tags (one row per file and tag, deleted with their file by the foreign key; the writer
/// connection enforces foreign keys), the dominant colour of each file (NULL for files stored
/// before it), and the indexes of the search: `(app_key, tag)` for tags, `(app_key,
/// updated_at)` for times and the order of results. A trashed file keeps its colour and its
/// tags (a JSON array) in its row of `trashed_files` until it is restored or purged.
const PHOTO_METADATA: &str = "
ALTER TABLE files ADD COLUMN dominant_color TEXT;
CREATE TABLE file_tags (
    file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    app_key TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (file_id, tag)
);
CREATE INDEX file_tags_search ON file_tags (app_key, tag, file_id);
CREATE INDEX files_updated ON files (app_key, updated_at);
ALTER TABLE trashed_files ADD COLUMN dominant_color TEXT;
ALTER TABLE trashed_files ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
";

fn create_tables(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(TABLES)
}

/// Adds the columns of [`TASK_COLUMNS_ADDED`] that the catalog lacks, then their indexes.
fn task_leases(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let present = tx
        .prepare("SELECT name FROM pragma_table_info('tasks')")?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (name, declaration) in TASK_COLUMNS_ADDED {
        if !present.iter().any(|p| p == name) {
            tx.execute_batch(&format!(
                "ALTER TABLE tasks ADD COLUMN {name} {declaration}"
            ))?;
        }
    }
    tx.execute_batch(TASK_LEASES)
}

/// The columns of [`crate::catalog::AppSettings`]; their defaults keep the guide's behaviour.
const APP_SETTINGS: &str = "
ALTER TABLE apps ADD COLUMN trash_retention_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE apps ADD COLUMN quota_bytes INTEGER;
ALTER TABLE apps ADD COLUMN quota_files INTEGER;
ALTER TABLE apps ADD COLUMN default_operation_ids TEXT NOT NULL DEFAULT '';
";

fn app_settings(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(APP_SETTINGS)
}

/// The triggers that count the rows of a table holding an app's files (columns `app_key` and
/// `bytes`) in `app_usage`: a row added counts its bytes and one file, a row removed uncounts
/// them, a row whose size (or app) changes moves the difference. Every statement on the table
/// counts, whichever call runs it, in the transaction of the change. Another table of files
/// (the trash) is counted by running this for its name in a migration of its own.
macro_rules! usage_triggers {
    ($table:literal) => {
        concat!(
            "CREATE TRIGGER ",
            $table,
            "_usage_insert AFTER INSERT ON ",
            $table,
            " BEGIN
    INSERT INTO app_usage (app_key, bytes, files) VALUES (NEW.app_key, NEW.bytes, 1)
        ON CONFLICT (app_key) DO UPDATE SET bytes = bytes + excluded.bytes, files = files + 1;
END;
CREATE TRIGGER ",
            $table,
            "_usage_delete AFTER DELETE ON ",
            $table,
            " BEGIN
    UPDATE app_usage SET bytes = bytes - OLD.bytes, files = files - 1
        WHERE app_key = OLD.app_key;
END;
CREATE TRIGGER ",
            $table,
            "_usage_update AFTER UPDATE OF app_key, bytes ON ",
            $table,
            "
    WHEN OLD.app_key IS NOT NEW.app_key OR OLD.bytes IS NOT NEW.bytes BEGIN
    UPDATE app_usage SET bytes = bytes - OLD.bytes, files = files - 1
        WHERE app_key = OLD.app_key;
    INSERT INTO app_usage (app_key, bytes, files) VALUES (NEW.app_key, NEW.bytes, 1)
        ON CONFLICT (app_key) DO UPDATE SET bytes = bytes + excluded.bytes, files = files + 1;
END;
"
        )
    };
}

/// Per app, the bytes and the number of its files (see [`crate::catalog::quota`]), kept by
/// the triggers of [`usage_triggers`] and filled from the files already stored. An app without
/// a row holds nothing.
const USAGE_COUNTERS: &str = concat!(
    "CREATE TABLE app_usage (
    app_key TEXT PRIMARY KEY,
    bytes INTEGER NOT NULL,
    files INTEGER NOT NULL
);
INSERT INTO app_usage (app_key, bytes, files)
    SELECT app_key, SUM(bytes), COUNT(*) FROM files GROUP BY app_key;
",
    usage_triggers!("files")
);

fn usage_counters(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(USAGE_COUNTERS)
}

/// The trash (rows of `files` and `folders` moved aside, with the item they belong to and its
/// times) and the deletion history. Listed items are the rows whose id is their item's.
const TRASH_AND_DELETIONS: &str = "
CREATE TABLE trashed_files (
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
    item_id TEXT NOT NULL,
    deleted_at INTEGER NOT NULL,
    purge_at INTEGER NOT NULL
);
CREATE INDEX trashed_files_item ON trashed_files (item_id);
CREATE INDEX trashed_files_items ON trashed_files (app_key, deleted_at) WHERE id = item_id;
CREATE INDEX trashed_files_due ON trashed_files (purge_at);
CREATE TABLE trashed_folders (
    id TEXT PRIMARY KEY,
    app_key TEXT NOT NULL,
    path TEXT NOT NULL,
    parent TEXT NOT NULL,
    name TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    deleted_at INTEGER NOT NULL,
    purge_at INTEGER NOT NULL
);
CREATE INDEX trashed_folders_item ON trashed_folders (item_id);
CREATE INDEX trashed_folders_items ON trashed_folders (app_key, deleted_at) WHERE id = item_id;
CREATE INDEX trashed_folders_due ON trashed_folders (purge_at);
CREATE TABLE deletions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    app_key TEXT NOT NULL,
    file_id TEXT NOT NULL,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    deleted_at INTEGER NOT NULL
);
CREATE INDEX deletions_since ON deletions (app_key, deleted_at, seq);
CREATE INDEX deletions_age ON deletions (deleted_at);
";

fn trash_and_deletions(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(TRASH_AND_DELETIONS)
}

fn photo_metadata(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(PHOTO_METADATA)
}

/// The schema version of a catalog.
pub(super) fn version(conn: &Connection) -> CatalogResult<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(backend)
}

/// Files in the trash count against the quota until purged: `trashed_files` is counted as
/// `files` is, from the rows it holds already.
const TRASH_USAGE: &str = concat!(
    "INSERT INTO app_usage (app_key, bytes, files)
    SELECT app_key, SUM(bytes), COUNT(*) FROM trashed_files WHERE true GROUP BY app_key
    ON CONFLICT (app_key) DO UPDATE SET bytes = bytes + excluded.bytes, files = files + excluded.files;
",
    usage_triggers!("trashed_files")
);

fn trash_usage(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(TRASH_USAGE)
}

/// Files, in the trash or not, by blob key: whether a dropped blob is still referenced
/// (copies share blobs) is two index probes.
const FILES_BY_BLOB: &str = "
CREATE INDEX files_blob ON files (blob_key);
CREATE INDEX trashed_files_blob ON trashed_files (blob_key);
";

fn files_by_blob(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(FILES_BY_BLOB)
}

/// Run at every open, after the migrations: every app with tasks takes part in the turns of
/// `claim_task`, also for tasks written into the file by other tools.
const TURNS_FOR_EVERY_APP: &str =
    "INSERT OR IGNORE INTO task_turns (app_key, turn) SELECT DISTINCT app_key, 0 FROM tasks";

/// Brings the catalog to [`CURRENT_VERSION`], one transaction per missing step, then gives
/// every app with tasks its turn.
pub(super) fn migrate(conn: &mut Connection) -> CatalogResult<()> {
    let found = version(conn)?;
    if found > CURRENT_VERSION {
        return Err(CatalogError::backend(SchemaError::TooNew {
            found,
            supported: CURRENT_VERSION,
        }));
    }
    for (done, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        // Another process may have migrated while this one waited for the write lock.
        if version(&tx)? as usize > done {
            continue;
        }
        (step.apply)(&tx).map_err(|source| {
            CatalogError::backend(SchemaError::Step {
                step: done + 1,
                name: step.name,
                source,
            })
        })?;
        tx.pragma_update(None, "user_version", done + 1)
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
    conn.execute_batch(TURNS_FOR_EVERY_APP).map_err(backend)
}
