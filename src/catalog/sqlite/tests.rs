//! The SQLite catalog against the contract, plus what is SQLite's own: readers beside the
//! writer, durability, the versioned schema and the mapping of its errors.

use super::schema::CURRENT_VERSION;
use super::*;
use crate::catalog::contract::{CHECKS, METADATA_CHECKS, TRASH_CHECKS};
use crate::catalog::{AppRecord, AppSettings, Catalog, TaskStatus};
use rusqlite::params;

fn open() -> (tempfile::TempDir, SqliteCatalog) {
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = SqliteCatalog::open(&dir.path().join("c.sqlite3"), 2).expect("open");
    (dir, catalog)
}

#[tokio::test]
async fn the_sqlite_catalog_keeps_the_contract() {
    for (name, check) in CHECKS {
        eprintln!("contract check: {name}");
        let (_dir, catalog) = open();
        check(&catalog).await;
    }
}

#[tokio::test]
async fn the_sqlite_catalog_keeps_the_contract_of_the_trash() {
    for (name, check) in TRASH_CHECKS {
        eprintln!("trash contract check: {name}");
        let (_dir, catalog) = open();
        check(&catalog).await;
    }
}

#[tokio::test]
async fn the_sqlite_catalog_keeps_the_metadata_contract() {
    for (name, check) in METADATA_CHECKS {
        eprintln!("metadata check: {name}");
        let (_dir, catalog) = open();
        check(&catalog).await;
    }
}

/// The tables as the catalog had them before the schema was versioned (version 0), tasks
/// still without the lease and finish columns that were added later.
const UNVERSIONED_TABLES: &str = "
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

/// A catalog as the releases before the versioned schema left it: version 0, with the
/// given tables, one app, one file and one waiting task.
fn unversioned_catalog(path: &std::path::Path, extra: &str) {
    let conn = Connection::open(path).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.execute_batch(UNVERSIONED_TABLES).expect("tables");
    conn.execute_batch(extra).expect("extra");
    conn.execute_batch(
        "INSERT INTO apps VALUES ('A', 's', 'cont', 'app', 1, 1);
         INSERT INTO folders VALUES ('root', 'A', '/', '', '', 1);
         INSERT INTO files (id, app_key, path, parent, name, bytes, created_by, operation_id,
             source_id, variant, blob_key, etag, content_type, width, height, taken_at, lat,
             lng, created_at, updated_at)
         VALUES ('f1', 'A', '/x.jpg', '/', 'x.jpg', 7, 'U', '', NULL, '', 'k1', 'e1',
             'image/jpeg', 3, 2, NULL, NULL, NULL, 5, 5);
         INSERT INTO tasks (id, app_key, queue_type, status, try_count, queued_at, operation_id,
             path, payload, error) VALUES ('t1', 'A', 'image', 'W', 0, 9, 'op', '', '{}', NULL);
         INSERT INTO tasks (id, app_key, queue_type, status, try_count, queued_at, operation_id,
             path, payload, error) VALUES ('t0', 'A', 'image', 'D', 1, 3, 'op', '', '{}', NULL);",
    )
    .expect("rows");
}

/// Opens a catalog left by an older release and checks its data and queue work.
async fn opens_and_upgrades(extra: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.sqlite3");
    unversioned_catalog(&path, extra);
    let c = SqliteCatalog::open(&path, 2).expect("open an older catalog");
    let version = c.run(|conn| schema::version(conn)).await.expect("version");
    assert_eq!(version, CURRENT_VERSION);
    let f = c
        .file_by_path("A", "/x.jpg")
        .await
        .expect("read")
        .expect("file");
    assert_eq!(
        (f.id.as_str(), f.bytes, f.blob_key.as_str()),
        ("f1", 7, "k1")
    );
    assert_eq!(
        c.usage("A").await.expect("usage"),
        crate::catalog::Usage { bytes: 7, files: 1 },
        "usage counted from the files stored before"
    );
    assert_eq!(
        (f.dominant_color, f.tags),
        (None, Vec::<String>::new()),
        "a file stored before colours and tags has neither"
    );
    let claimed = c
        .claim_task(100)
        .await
        .expect("claim")
        .expect("the old task");
    assert_eq!(
        (claimed.task.id.as_str(), claimed.task.try_count),
        ("t1", 1)
    );
    assert!(c
        .finish_task(&claimed, TaskStatus::Done, None, 50)
        .await
        .expect("finish"));
    assert_eq!(
        c.prune_tasks(4, 10).await.expect("prune"),
        1,
        "t0 finished when queued"
    );
    drop(c);
    let again = SqliteCatalog::open(&path, 2).expect("open again");
    assert!(again.task("A", "t1").await.expect("read").is_some());
}

#[tokio::test]
async fn a_catalog_from_before_the_task_leases_is_upgraded() {
    opens_and_upgrades("").await;
}

#[tokio::test]
async fn a_catalog_from_before_the_schema_version_is_upgraded() {
    opens_and_upgrades(
        "ALTER TABLE tasks ADD COLUMN lease_token TEXT NOT NULL DEFAULT '';
         ALTER TABLE tasks ADD COLUMN finished_at INTEGER NOT NULL DEFAULT 0;
         CREATE INDEX tasks_app_status ON tasks (app_key, status, queued_at);
         CREATE INDEX tasks_finished ON tasks (status, finished_at);",
    )
    .await;
}

#[tokio::test]
async fn a_new_catalog_is_at_the_current_version() {
    let (_dir, c) = open();
    let version = c.run(|conn| schema::version(conn)).await.expect("version");
    assert_eq!(version, CURRENT_VERSION);
}

#[test]
fn a_catalog_from_a_newer_release_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.sqlite3");
    drop(SqliteCatalog::open(&path, 1).expect("open"));
    let conn = Connection::open(&path).expect("open");
    conn.pragma_update(None, "user_version", CURRENT_VERSION + 1)
        .expect("version");
    drop(conn);
    let Err(err) = SqliteCatalog::open(&path, 1) else {
        panic!("a newer catalog was opened");
    };
    assert!(err.to_string().contains("newer"), "{err}");
    assert!(!err.retryable());
}

#[test]
fn busy_and_locked_are_retryable_and_keep_their_source() {
    let code = |c| rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(c), None);
    let busy = backend(code(rusqlite::ffi::SQLITE_BUSY));
    assert!(busy.retryable());
    assert!(backend(code(rusqlite::ffi::SQLITE_LOCKED)).retryable());
    assert!(!backend(code(rusqlite::ffi::SQLITE_CONSTRAINT)).retryable());
    assert!(!backend(rusqlite::Error::QueryReturnedNoRows).retryable());
    let source = std::error::Error::source(&busy).expect("a source");
    let sqlite = source
        .downcast_ref::<rusqlite::Error>()
        .expect("the SQLite error");
    assert_eq!(sqlite.sqlite_error_code(), Some(ErrorCode::DatabaseBusy));
}

#[tokio::test]
async fn a_write_blocked_by_another_connection_is_retryable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.sqlite3");
    drop(SqliteCatalog::open(&path, 1).expect("open"));
    let holder = Connection::open(&path).expect("open");
    holder.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let blocked = Connection::open(&path).expect("open");
    let err = blocked
        .execute(
            "INSERT INTO task_turns (app_key, turn) VALUES (?1, 0)",
            params!["A"],
        )
        .expect_err("the writer lock is held");
    assert!(backend(err).retryable());
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
        settings: AppSettings::default(),
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

#[tokio::test]
async fn a_task_written_by_another_tool_is_claimed_after_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.sqlite3");
    drop(SqliteCatalog::open(&path, 1).expect("open"));
    let conn = Connection::open(&path).expect("open");
    conn.execute(
        "INSERT INTO tasks (id, app_key, queue_type, status, try_count, queued_at, operation_id,
             path, payload, error) VALUES ('t', 'A', 'image', 'W', 0, 1, 'op', '', '{}', NULL)",
        [],
    )
    .expect("insert");
    drop(conn);
    let c = SqliteCatalog::open(&path, 1).expect("reopen");
    let claimed = c.claim_task(10).await.expect("claim").expect("the task");
    assert_eq!(claimed.task.id, "t");
}

#[tokio::test]
async fn searches_by_tag_and_time_read_their_indexes() {
    use crate::catalog::search::conditions;
    use crate::catalog::FileSearch;
    let (_dir, c) = open();
    let plan_of = |q: FileSearch| {
        let (filter, values) = conditions("A", &q, '?');
        let values = super::metadata::sql_values(values);
        c.run(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "EXPLAIN QUERY PLAN SELECT id FROM files WHERE {filter}
                     ORDER BY {}",
                    crate::catalog::search::SEARCH_ORDER
                ))
                .map_err(backend)?;
            let details = stmt
                .query_map(rusqlite::params_from_iter(values.iter()), |r| {
                    r.get::<_, String>(3)
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(details)
        })
    };
    let by_tag = plan_of(FileSearch {
        tag: Some("sea".into()),
        ..FileSearch::default()
    })
    .await
    .expect("plan");
    assert!(
        by_tag.iter().any(|d| d.contains("file_tags_search")),
        "the tag is looked up in its index: {by_tag:?}"
    );
    assert!(
        !by_tag.iter().any(|d| d.starts_with("SCAN")),
        "no table is scanned: {by_tag:?}"
    );
    let by_time = plan_of(FileSearch {
        updated_from: Some(1),
        ..FileSearch::default()
    })
    .await
    .expect("plan");
    assert!(
        by_time.iter().any(|d| d.contains("files_updated")),
        "times are read from their index: {by_time:?}"
    );
}
