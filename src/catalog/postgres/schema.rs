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
struct Migration {
    /// What the step does, for errors.
    name: &'static str,
    /// The change, run inside the step's transaction.
    sql: &'static str,
}

/// Every step, in order; the schema version is the number of steps applied.
const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "tables of apps, folders, files, operations, tasks, blob trash and outbox",
        sql: TABLES,
    },
    Migration {
        name: "render claims",
        sql: RENDER_CLAIMS,
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
const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS pictor_schema (
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

/// Tags (one row per file and tag, deleted with their file by the foreign key), the dominant
/// colour of each file (NULL for files stored before it), and the indexes of the search:
/// `(app_key, tag)` for tags, `(app_key, updated_at)` for times and the order of results.
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
