//! The versioned schema of the PostgreSQL catalog.
//!
//! The table `pictor_schema` holds the number of migrations applied. Opening the catalog runs
//! the missing ones in order, each in one transaction together with its new version number, so
//! a crash leaves the database at one version or the next, never between. Every such
//! transaction first takes a transaction-level advisory lock, so when several nodes start at
//! once one migrates while the others wait, then find the work done. A database written by a
//! newer release (a version above [`MIGRATIONS`]' length) is refused rather than misread.
//!
//! Text that is compared or sorted (paths, names, operation ids, blob keys) is `COLLATE "C"`:
//! byte order, whatever the database's default collation, as path ranges need.

use super::{backend, commit, PgCatalog};
use crate::catalog::{CatalogError, CatalogResult};
use deadpool_postgres::Transaction;
use tokio_postgres::IsolationLevel;

/// Why the schema could not be brought to this release's version.
#[derive(Debug, thiserror::Error)]
enum SchemaError {
    /// The database was written by a newer release.
    #[error("the catalog has schema version {found}, newer than this release's {supported}")]
    TooNew {
        /// Version of the database.
        found: i64,
        /// Version this release writes.
        supported: i64,
    },
    /// A step failed; its transaction was rolled back.
    #[error("schema migration {step} ({name}): {source}")]
    Step {
        /// Number of the step, from 1.
        step: i64,
        /// What the step does.
        name: &'static str,
        /// The failure.
        #[source]
        source: tokio_postgres::Error,
    },
}

/// One step of the schema.
pub(super) struct Migration {
    /// What the step does, for errors.
    name: &'static str,
    /// The change, run inside the step's transaction.
    pub(super) sql: &'static str,
}

/// Every step, in order; the schema version is the number of steps applied.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "tables of apps, folders, files, operations, tasks, blob trash and outbox",
        sql: TABLES,
    },
    Migration {
        name: "render claims",
        sql: RENDER_CLAIMS,
    },
    Migration {
        name: "app settings of the photo-library extensions",
        sql: APP_SETTINGS,
    },
    Migration {
        name: "usage counters per app, kept by triggers on files",
        sql: USAGE_COUNTERS,
    },
    Migration {
        name: "trash and deletion history",
        sql: TRASH_AND_DELETIONS,
    },
    Migration {
        name: "usage counters of the trash",
        sql: TRASH_USAGE,
    },
    Migration {
        name: "files by blob key (copies share blobs)",
        sql: FILES_BY_BLOB,
    },
    Migration {
        name: "resumable uploads and their chunks",
        sql: UPLOADS,
    },
    Migration {
        name: "file tags, dominant colours and the search by time",
        sql: PHOTO_METADATA,
    },
];

/// The schema version this release writes.
pub(super) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// The key of the advisory lock migrations hold (any number no other tool of the database
/// uses; these are the bytes of "pictor" and 1).
const MIGRATION_LOCK: i64 = 0x7069_6374_6f72_0001;

/// The constraint that keeps one folder per path of an app.
pub(super) const FOLDER_PATH_KEY: &str = "folders_path";

/// The constraint that keeps one file per path of an app.
pub(super) const FILE_PATH_KEY: &str = "files_path";

/// The version table, made before anything else.
pub(super) const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS pictor_schema (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    version BIGINT NOT NULL
)";

/// The first release's tables. Constraint names are those of [`FOLDER_PATH_KEY`] and
/// [`FILE_PATH_KEY`].
const TABLES: &str = r#"
CREATE TABLE apps (
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    app_key TEXT PRIMARY KEY,
    secret_key TEXT NOT NULL,
    container TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    realtime_service BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE folders (
    id TEXT PRIMARY KEY,
    app_key TEXT NOT NULL,
    path TEXT COLLATE "C" NOT NULL,
    parent TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT folders_path UNIQUE (app_key, path)
);
CREATE INDEX folders_parent ON folders (app_key, parent, name);
CREATE TABLE files (
    id TEXT PRIMARY KEY,
    app_key TEXT NOT NULL,
    path TEXT COLLATE "C" NOT NULL,
    parent TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    bytes BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    operation_id TEXT NOT NULL,
    source_id TEXT,
    variant TEXT NOT NULL DEFAULT '',
    blob_key TEXT COLLATE "C" NOT NULL,
    etag TEXT NOT NULL,
    content_type TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    taken_at BIGINT,
    lat DOUBLE PRECISION,
    lng DOUBLE PRECISION,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT files_path UNIQUE (app_key, path)
);
CREATE INDEX files_parent ON files (app_key, parent, name);
CREATE INDEX files_source ON files (source_id);
CREATE INDEX files_operation ON files (app_key, operation_id);
CREATE TABLE operations (
    app_key TEXT NOT NULL,
    operation_id TEXT COLLATE "C" NOT NULL,
    description TEXT NOT NULL,
    realtime_service BOOLEAN NOT NULL,
    jobs TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (app_key, operation_id)
);
CREATE TABLE operation_versions (
    app_key TEXT NOT NULL,
    operation_id TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (app_key, operation_id)
);
CREATE TABLE tasks (
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    id TEXT PRIMARY KEY,
    app_key TEXT NOT NULL,
    queue_type TEXT NOT NULL,
    status TEXT NOT NULL,
    try_count BIGINT NOT NULL,
    queued_at BIGINT NOT NULL,
    operation_id TEXT NOT NULL,
    path TEXT NOT NULL,
    payload TEXT NOT NULL,
    error TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    lease_token TEXT NOT NULL DEFAULT '',
    finished_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tasks_waiting ON tasks (app_key, queued_at, seq) WHERE status = 'W';
CREATE INDEX tasks_leased ON tasks (lease_until) WHERE status = 'P';
CREATE INDEX tasks_finished ON tasks (finished_at) WHERE status IN ('D', 'F');
CREATE TABLE task_turns (
    app_key TEXT PRIMARY KEY,
    turn BIGINT NOT NULL
);
CREATE SEQUENCE task_turn_seq;
CREATE TABLE blob_trash (
    blob_key TEXT COLLATE "C" PRIMARY KEY,
    dropped_at BIGINT NOT NULL
);
CREATE INDEX blob_trash_dropped ON blob_trash (dropped_at);
CREATE TABLE callback_outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    max_tries BIGINT NOT NULL,
    backoff_ms BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX callback_outbox_due ON callback_outbox (next_attempt_at, id);
"#;

/// Which node renders a variant asked of several at once (see `claims`): one row per claimed
/// variant, found by the time it lapses for pruning.
const RENDER_CLAIMS: &str = r#"
CREATE TABLE render_claims (
    key TEXT COLLATE "C" PRIMARY KEY,
    holder TEXT NOT NULL,
    until BIGINT NOT NULL
);
CREATE INDEX render_claims_until ON render_claims (until);
"#;

/// The columns of [`crate::catalog::AppSettings`]; their defaults keep the guide's behaviour.
const APP_SETTINGS: &str = "
ALTER TABLE apps ADD COLUMN trash_retention_days BIGINT NOT NULL DEFAULT 0;
ALTER TABLE apps ADD COLUMN quota_bytes BIGINT;
ALTER TABLE apps ADD COLUMN quota_files BIGINT;
ALTER TABLE apps ADD COLUMN default_operation_ids TEXT NOT NULL DEFAULT '';
";

/// The triggers that count the rows of a table holding an app's files (columns `app_key` and
/// `bytes`) in `app_usage`, through `pictor_count_usage` (in [`USAGE_COUNTERS`]): one per
/// statement, over the rows it changed (its transition tables), so a statement removing
/// thousands of files updates each app's row once. Transition tables allow no column list, so
/// every `UPDATE` fires one; an update that changes no size and no app changes no counter.
/// Another table of files (the trash) is counted by running this for its name in a migration of
/// its own.
macro_rules! usage_triggers {
    ($table:literal) => {
        concat!(
            "CREATE TRIGGER ",
            $table,
            "_usage_insert AFTER INSERT ON ",
            $table,
            "
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pictor_count_usage();
CREATE TRIGGER ",
            $table,
            "_usage_delete AFTER DELETE ON ",
            $table,
            "
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pictor_count_usage();
CREATE TRIGGER ",
            $table,
            "_usage_update AFTER UPDATE ON ",
            $table,
            "
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pictor_count_usage();
"
        )
    };
}

/// Per app, the bytes and the number of its files (see [`crate::catalog::quota`]): the table,
/// the trigger function that keeps it (rows added count their bytes and one file each, rows
/// removed uncount them, rows whose size or app changed move the difference; an app whose
/// counts a statement does not change is not touched, so its row is not locked), the triggers
/// on `files`, then the counts of the files already stored. The triggers exist before the
/// counts are read: creating them locks `files` against writers until the migration commits,
/// so no write is missed.
pub(super) const USAGE_COUNTERS: &str = concat!(
    "CREATE TABLE app_usage (
    app_key TEXT PRIMARY KEY,
    bytes BIGINT NOT NULL,
    files BIGINT NOT NULL
);
CREATE FUNCTION pictor_count_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO app_usage AS u (app_key, bytes, files)
            SELECT app_key, SUM(bytes), COUNT(*) FROM new_rows GROUP BY app_key
            ON CONFLICT (app_key)
            DO UPDATE SET bytes = u.bytes + excluded.bytes, files = u.files + excluded.files;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE app_usage AS u SET bytes = u.bytes - gone.bytes, files = u.files - gone.files
            FROM (SELECT app_key, SUM(bytes) AS bytes, COUNT(*) AS files
                  FROM old_rows GROUP BY app_key) AS gone
            WHERE u.app_key = gone.app_key;
    ELSE
        INSERT INTO app_usage AS u (app_key, bytes, files)
            SELECT app_key, SUM(bytes), SUM(files)
            FROM (SELECT app_key, bytes, 1 AS files FROM new_rows
                  UNION ALL SELECT app_key, -bytes, -1 FROM old_rows) AS moved
            GROUP BY app_key HAVING SUM(bytes) <> 0 OR SUM(files) <> 0
            ON CONFLICT (app_key)
            DO UPDATE SET bytes = u.bytes + excluded.bytes, files = u.files + excluded.files;
    END IF;
    RETURN NULL;
END
$$;
",
    usage_triggers!("files"),
    "INSERT INTO app_usage (app_key, bytes, files)
    SELECT app_key, SUM(bytes), COUNT(*) FROM files GROUP BY app_key;
"
);

/// The trash (rows of `files` and `folders` moved aside, with the item they belong to and its
/// times) and the deletion history. Listed items are the rows whose id is their item's.
const TRASH_AND_DELETIONS: &str = r#"
CREATE TABLE trashed_files (
    id TEXT PRIMARY KEY,
    app_key TEXT NOT NULL,
    path TEXT COLLATE "C" NOT NULL,
    parent TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    bytes BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    operation_id TEXT NOT NULL,
    source_id TEXT,
    variant TEXT NOT NULL DEFAULT '',
    blob_key TEXT COLLATE "C" NOT NULL,
    etag TEXT NOT NULL,
    content_type TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    taken_at BIGINT,
    lat DOUBLE PRECISION,
    lng DOUBLE PRECISION,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    item_id TEXT NOT NULL,
    deleted_at BIGINT NOT NULL,
    purge_at BIGINT NOT NULL
);
CREATE INDEX trashed_files_item ON trashed_files (item_id);
CREATE INDEX trashed_files_items ON trashed_files (app_key, deleted_at) WHERE id = item_id;
CREATE INDEX trashed_files_due ON trashed_files (purge_at);
CREATE TABLE trashed_folders (
    id TEXT PRIMARY KEY,
    app_key TEXT NOT NULL,
    path TEXT COLLATE "C" NOT NULL,
    parent TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    item_id TEXT NOT NULL,
    deleted_at BIGINT NOT NULL,
    purge_at BIGINT NOT NULL
);
CREATE INDEX trashed_folders_item ON trashed_folders (item_id);
CREATE INDEX trashed_folders_items ON trashed_folders (app_key, deleted_at) WHERE id = item_id;
CREATE INDEX trashed_folders_due ON trashed_folders (purge_at);
CREATE TABLE deletions (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_key TEXT NOT NULL,
    file_id TEXT NOT NULL,
    path TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL,
    deleted_at BIGINT NOT NULL
);
CREATE INDEX deletions_since ON deletions (app_key, deleted_at, seq);
CREATE INDEX deletions_age ON deletions (deleted_at);
"#;

/// Files in the trash count against the quota until purged: `trashed_files` is counted as
/// `files` is (the triggers come first, so no write is missed; see [`USAGE_COUNTERS`]), from the
/// rows it holds already.
const TRASH_USAGE: &str = concat!(
    usage_triggers!("trashed_files"),
    "INSERT INTO app_usage AS u (app_key, bytes, files)
    SELECT app_key, SUM(bytes), COUNT(*) FROM trashed_files GROUP BY app_key
    ON CONFLICT (app_key)
    DO UPDATE SET bytes = u.bytes + excluded.bytes, files = u.files + excluded.files;
"
);

/// Files, in the trash or not, by blob key: whether a dropped blob is still referenced
/// (copies share blobs) is two index probes.
const FILES_BY_BLOB: &str = "
CREATE INDEX files_blob ON files (blob_key);
CREATE INDEX trashed_files_blob ON trashed_files (blob_key);
";

/// Unfinished resumable uploads and the chunks their bytes are stored in (one blob each).
const UPLOADS: &str = r#"
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    app_key TEXT NOT NULL,
    length BIGINT NOT NULL,
    upload_offset BIGINT NOT NULL,
    chunk_count BIGINT NOT NULL,
    metadata TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX uploads_app ON uploads (app_key, expires_at);
CREATE INDEX uploads_expiry ON uploads (expires_at);
CREATE TABLE upload_chunks (
    upload_id TEXT NOT NULL,
    chunk_offset BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    blob_key TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (upload_id, chunk_offset)
);
"#;

/// Tags (one row per file and tag, deleted with their file by the foreign key), the dominant
/// colour of each file (NULL for files stored before it), and the indexes of the search:
/// `(app_key, tag)` for tags, `(app_key, updated_at)` for times and the order of results. A
/// trashed file keeps its colour and its tags in its row of `trashed_files` until it is
/// restored or purged.
const PHOTO_METADATA: &str = r#"
ALTER TABLE files ADD COLUMN dominant_color TEXT;
CREATE TABLE file_tags (
    file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    app_key TEXT NOT NULL,
    tag TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (file_id, tag)
);
CREATE INDEX file_tags_search ON file_tags (app_key, tag, file_id);
CREATE INDEX files_updated ON files (app_key, updated_at);
ALTER TABLE trashed_files ADD COLUMN dominant_color TEXT;
ALTER TABLE trashed_files ADD COLUMN tags TEXT[] NOT NULL DEFAULT '{}';
"#;

/// Run at every open, after the migrations: every app with tasks takes part in the turns of
/// `claim_task`, also for tasks written into the database by other tools.
const TURNS_FOR_EVERY_APP: &str = "INSERT INTO task_turns (app_key, turn)
    SELECT DISTINCT app_key, 0 FROM tasks ON CONFLICT (app_key) DO NOTHING";

/// The schema version of a database whose version table exists (0 before any step).
pub(super) async fn version(tx: &Transaction<'_>) -> CatalogResult<i64> {
    let row = tx
        .query_opt("SELECT version FROM pictor_schema", &[])
        .await
        .map_err(backend)?;
    match row {
        Some(row) => row.try_get(0).map_err(backend),
        None => Ok(0),
    }
}

/// Brings the database to [`CURRENT_VERSION`], one transaction per missing step, each under
/// the migration lock, then gives every app with tasks its turn.
pub(super) async fn migrate(catalog: &PgCatalog) -> CatalogResult<()> {
    let mut client = catalog.client().await?;
    loop {
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .await
            .map_err(backend)?;
        // Taken before anything is read or made, so that nodes starting together take turns.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(backend)?;
        // `IF NOT EXISTS` on a made table is a NOTICE, not news: keep it out of the log.
        tx.batch_execute("SET LOCAL client_min_messages = warning")
            .await
            .map_err(backend)?;
        tx.batch_execute(VERSION_TABLE).await.map_err(backend)?;
        let found = version(&tx).await?;
        if found > CURRENT_VERSION {
            return Err(CatalogError::backend(SchemaError::TooNew {
                found,
                supported: CURRENT_VERSION,
            }));
        }
        let Some(step) = usize::try_from(found).ok().and_then(|i| MIGRATIONS.get(i)) else {
            tx.batch_execute(TURNS_FOR_EVERY_APP)
                .await
                .map_err(backend)?;
            return commit(tx).await;
        };
        tx.batch_execute(step.sql).await.map_err(|source| {
            CatalogError::backend(SchemaError::Step {
                step: found + 1,
                name: step.name,
                source,
            })
        })?;
        tx.execute(
            "INSERT INTO pictor_schema (one, version) VALUES (TRUE, $1)
             ON CONFLICT (one) DO UPDATE SET version = excluded.version",
            &[&(found + 1)],
        )
        .await
        .map_err(backend)?;
        commit(tx).await?;
    }
}
