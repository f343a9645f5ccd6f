//! The PostgreSQL catalog against the contract, plus what is PostgreSQL's own: nodes sharing
//! the task queue, migrations started by several nodes at once, byte order under any database
//! collation, and the mapping of its errors. Each test gets a fresh database on the test
//! server (`throwaway`), or is skipped with one line saying why.

use super::schema::CURRENT_VERSION;
use super::test_database::TestDatabase;
use super::throwaway::{server_or_skip, skipped};
use super::*;
use crate::catalog::contract::{app, task, CHECKS, METADATA_CHECKS, TRASH_CHECKS};
use crate::catalog::{
    Catalog, CreatedBy, FileRecord, ListQuery, OnConflict, OperationRecord, SortKey, TaskStatus,
};
use std::collections::BTreeSet;
use std::time::Instant;

/// Options of a test catalog on the database at `url`.
pub(super) fn options(url: &str) -> PgOptions {
    PgOptions {
        url: url.to_owned(),
        max_connections: 4,
        connect_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(30),
        acquire_timeout: Duration::from_secs(10),
        tls_ca_file: None,
    }
}

/// A fresh database for `test` (created with `create_options`), or `None` when skipped.
fn database(test: &str, create_options: &str) -> Option<TestDatabase> {
    let server = server_or_skip(test)?;
    Some(TestDatabase::create(&server, create_options).expect("create a test database"))
}

/// A catalog on a fresh database, or `None` when skipped.
pub(super) async fn catalog(test: &str) -> Option<(TestDatabase, PgCatalog)> {
    let db = database(test, "")?;
    let catalog = PgCatalog::open(&options(&db.url)).await.expect("open");
    Some((db, catalog))
}

#[tokio::test]
async fn the_postgres_catalog_keeps_the_contract() {
    let test = "the_postgres_catalog_keeps_the_contract";
    let started = Instant::now();
    for (name, check) in CHECKS {
        eprintln!("contract check: {name}");
        let Some((_db, catalog)) = catalog(test).await else {
            return;
        };
        check(&catalog).await;
    }
    eprintln!(
        "PostgreSQL contract: {} checks, each on a fresh database, in {:.1} s",
        CHECKS.len(),
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test]
async fn the_postgres_catalog_keeps_the_contract_of_the_trash() {
    let test = "the_postgres_catalog_keeps_the_contract_of_the_trash";
    for (name, check) in TRASH_CHECKS {
        eprintln!("trash contract check: {name}");
        let Some((_db, catalog)) = catalog(test).await else {
            return;
        };
        check(&catalog).await;
    }
}

#[tokio::test]
async fn the_postgres_catalog_keeps_the_metadata_contract() {
    let test = "the_postgres_catalog_keeps_the_metadata_contract";
    for (name, check) in METADATA_CHECKS {
        eprintln!("metadata check: {name}");
        let Some((_db, catalog)) = catalog(test).await else {
            return;
        };
        check(&catalog).await;
    }
}

#[tokio::test]
async fn a_tag_search_can_read_the_tag_index() {
    use crate::catalog::search::{conditions, SearchValue};
    use crate::catalog::FileSearch;
    let Some((_db, catalog)) = catalog("a_tag_search_can_read_the_tag_index").await else {
        return;
    };
    let q = FileSearch {
        tag: Some("sea".into()),
        ..FileSearch::default()
    };
    let (filter, values) = conditions("A", &q, '$');
    let texts: Vec<String> = values
        .into_iter()
        .map(|v| match v {
            SearchValue::Text(t) => t,
            SearchValue::Int(i) => i.to_string(),
        })
        .collect();
    let params: Vec<&(dyn ToSql + Sync)> = texts.iter().map(|t| t as &(dyn ToSql + Sync)).collect();
    let client = catalog.client().await.expect("client");
    // An empty table is read whole whatever its indexes: ask for the plan without that way.
    client
        .batch_execute("SET enable_seqscan = off")
        .await
        .expect("set");
    let plan: Vec<String> = client
        .query(
            &format!("EXPLAIN SELECT id FROM files WHERE {filter}"),
            &params,
        )
        .await
        .expect("explain")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        plan.iter().any(|line| line.contains("file_tags_search")),
        "the tag is looked up in its index: {plan:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_catalogs_on_one_database_never_claim_the_same_task() {
    let Some((db, first)) = catalog("two_catalogs_on_one_database_never_claim_the_same_task").await
    else {
        return;
    };
    let second = PgCatalog::open(&options(&db.url)).await.expect("open");
    const TASKS: usize = 240;
    for i in 0..TASKS {
        let app = ["A", "B", "C"][i % 3];
        first
            .enqueue_task(&task(&format!("t{i:03}"), app, i as i64))
            .await
            .expect("enqueue");
    }
    let mut workers = Vec::new();
    for node in [&first, &second] {
        for _ in 0..4 {
            let node = node.clone();
            workers.push(tokio::spawn(async move {
                let mut claimed = Vec::new();
                while let Some(t) = node.claim_task(i64::MAX).await.expect("claim") {
                    assert_eq!(
                        (t.task.status, t.task.try_count),
                        (TaskStatus::InProgress, 1)
                    );
                    claimed.push(t.task.id);
                }
                claimed
            }));
        }
    }
    let mut all = Vec::new();
    let mut busy_workers = 0;
    for worker in workers {
        let claimed = worker.await.expect("join");
        busy_workers += usize::from(!claimed.is_empty());
        all.extend(claimed);
    }
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), all.len(), "a task was claimed twice");
    assert_eq!(all.len(), TASKS, "every task was claimed");
    assert!(busy_workers > 1, "the claims ran side by side");
    assert_eq!(
        second.pending_tasks().await.expect("pending"),
        (0, TASKS as u64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_together_migrate_once() {
    let Some(db) = database("nodes_starting_together_migrate_once", "") else {
        return;
    };
    let opens: Vec<_> = (0..6)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { PgCatalog::open(&options(&url)).await })
        })
        .collect();
    let mut catalogs = Vec::new();
    for open in opens {
        // The first step creates its tables without IF NOT EXISTS: a second run would fail.
        catalogs.push(open.await.expect("join").expect("every open succeeds"));
    }
    let client = catalogs[0].client().await.expect("client");
    let rows = client
        .query("SELECT version FROM pictor_schema", &[])
        .await
        .expect("read the version");
    let versions: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, [CURRENT_VERSION]);
    catalogs[5]
        .create_app(&app("A", "cont", 1))
        .await
        .expect("the schema is usable");
}

#[tokio::test]
async fn a_database_from_a_newer_release_is_refused() {
    let Some((db, catalog)) = catalog("a_database_from_a_newer_release_is_refused").await else {
        return;
    };
    let client = catalog.client().await.expect("client");
    client
        .execute(
            "UPDATE pictor_schema SET version = $1",
            &[&(CURRENT_VERSION + 1)],
        )
        .await
        .expect("set a newer version");
    let Err(err) = PgCatalog::open(&options(&db.url)).await else {
        panic!("a newer catalog was opened");
    };
    assert!(err.to_string().contains("newer"), "{err}");
    assert!(!err.retryable());
}

#[tokio::test]
async fn paths_and_names_sort_in_byte_order_under_any_database_collation() {
    let test = "paths_and_names_sort_in_byte_order_under_any_database_collation";
    let Some(server) = server_or_skip(test) else {
        return;
    };
    // An ICU collation sorts `_x` before `a` before `B`; byte order is `B`, `_x`, `a`, `ä`.
    let icu = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'";
    let db = match TestDatabase::create(&server, icu) {
        Ok(db) => db,
        Err(why) if std::env::var("PICTOR_REQUIRE_BACKENDS").is_ok_and(|v| v == "1") => {
            panic!("{test}: an ICU database is required: {why}")
        }
        Err(why) => {
            skipped(
                test,
                &format!("the server cannot make an ICU database ({why})"),
            );
            return;
        }
    };
    let c = PgCatalog::open(&options(&db.url)).await.expect("open");
    c.create_app(&app("A", "cont", 1)).await.expect("app");
    let names = ["a.jpg", "B.jpg", "_x.jpg", "ä.jpg", "b-c.jpg"];
    for name in names {
        let file = FileRecord::new(&format!("/f/{name}"), name, b"x", "image/jpeg", (1, 1));
        c.put_file("A", file, OnConflict::Fail).await.expect("put");
        let op = OperationRecord {
            operation_id: name.trim_end_matches(".jpg").to_owned(),
            description: String::new(),
            realtime_service: false,
            jobs: "[]".to_owned(),
            updated_at: 1,
            version: 0,
        };
        c.put_operation("A", &op).await.expect("operation");
    }
    let mut bytewise: Vec<String> = names.iter().map(|n| format!("/f/{n}")).collect();
    bytewise.sort();
    let query = ListQuery {
        created_by: None,
        name: None,
        page: 1,
        rows: 10,
        sort: SortKey::Name,
        descending: false,
    };
    let listed: Vec<String> = c
        .list("A", "/f", &query)
        .await
        .expect("list")
        .files
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(listed, bytewise);
    let below: Vec<String> = c
        .files_below("A", "/", CreatedBy::User, 10)
        .await
        .expect("below")
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(below, bytewise);
    let (ops, _) = c
        .list_operations("A", "", 1, 10, SortKey::Name, false)
        .await
        .expect("operations");
    let ids: Vec<String> = ops.into_iter().map(|o| o.operation_id).collect();
    assert_eq!(ids, ["B", "_x", "a", "b-c", "ä"]);
}

#[tokio::test]
async fn urls_of_both_schemes_open_and_set_the_statement_timeout() {
    let Some(db) = database(
        "urls_of_both_schemes_open_and_set_the_statement_timeout",
        "",
    ) else {
        return;
    };
    let long = db.url.replacen("postgres://", "postgresql://", 1);
    assert_ne!(long, db.url, "the test server's URL uses postgres://");
    let catalog = PgCatalog::open(&PgOptions {
        statement_timeout: Duration::from_millis(1500),
        ..options(&long)
    })
    .await
    .expect("postgresql:// opens");
    let client = catalog.client().await.expect("client");
    let shown: String = client
        .query_one("SHOW statement_timeout", &[])
        .await
        .expect("show")
        .get(0);
    assert_eq!(shown, "1500ms");
    let err = client
        .batch_execute("SELECT pg_sleep(3)")
        .await
        .expect_err("cancelled by the statement timeout");
    assert!(backend(err).retryable(), "a statement timeout is retryable");
    let Err(bad) = PgCatalog::open(&options("postgres://host:notaport/db")).await else {
        panic!("a URL with a bad port was accepted");
    };
    assert!(bad.to_string().contains("catalog.url"), "{bad}");
    assert!(!bad.retryable());
}

#[tokio::test]
async fn conflicts_lost_connections_and_pool_timeouts_are_retryable() {
    let Some((db, catalog)) =
        catalog("conflicts_lost_connections_and_pool_timeouts_are_retryable").await
    else {
        return;
    };
    catalog
        .enqueue_task(&task("t", "A", 1))
        .await
        .expect("enqueue");

    // A serialization failure: a REPEATABLE READ transaction updates a row changed since
    // its snapshot.
    let mut reader = catalog.client().await.expect("client");
    let other = catalog.client().await.expect("client");
    let tx = reader
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .start()
        .await
        .expect("begin");
    tx.query("SELECT turn FROM task_turns", &[])
        .await
        .expect("snapshot");
    other
        .execute("UPDATE task_turns SET turn = 5 WHERE app_key = 'A'", &[])
        .await
        .expect("concurrent update");
    let failure = tx
        .execute("UPDATE task_turns SET turn = 6 WHERE app_key = 'A'", &[])
        .await
        .expect_err("serialization failure");
    drop(tx);
    let conflict = backend(failure);
    assert!(conflict.retryable() && is_conflict(&conflict));
    let source = pg_source(&conflict).expect("the PostgreSQL error is the source");
    assert_eq!(source.code(), Some(&SqlState::T_R_SERIALIZATION_FAILURE));

    // A call that loses a conflict runs again; other failures reach the caller at once.
    let mut errors = vec![conflict];
    let mut calls = 0;
    let value = retrying(|| {
        calls += 1;
        let next = errors.pop();
        async move { next.map_or(Ok(7), Err) }
    })
    .await
    .expect("the second run succeeds");
    assert_eq!((value, calls), (7, 2));

    // A unique violation is final, and names the path it holds when it is one.
    catalog.create_app(&app("A", "cont", 1)).await.expect("app");
    let taken = catalog.create_app(&app("B", "cont", 1)).await;
    let Err(taken) = taken else {
        panic!("a second app took the container");
    };
    assert!(!taken.retryable());
    let duplicate = other
        .execute(
            "INSERT INTO folders (id, app_key, path, parent, name, updated_at)
             VALUES ('x', 'A', '/', '', '', 1)",
            &[],
        )
        .await
        .expect_err("the root exists");
    let mut unique = Some(backend(duplicate));
    let mut calls = 0;
    let final_error = retrying(|| {
        calls += 1;
        let next = unique.take();
        async move { next.map_or(Ok(()), Err) }
    })
    .await
    .expect_err("not run again");
    assert_eq!(calls, 1);
    assert!(matches!(
        name_taken(final_error, "/"),
        CatalogError::FolderExists(p) if p == "/"
    ));

    // A connection ended by the server.
    let victim = catalog.client().await.expect("client");
    let pid: i32 = victim
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    other
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .expect("terminate");
    let lost = victim
        .query_one("SELECT 1", &[])
        .await
        .expect_err("the connection is gone");
    assert!(backend(lost).retryable(), "a lost connection is retryable");
    let syntax = other
        .batch_execute("SELEC 1")
        .await
        .expect_err("a syntax error");
    assert!(!backend(syntax).retryable());

    // No free connection in time.
    let small = PgCatalog::open(&PgOptions {
        max_connections: 1,
        acquire_timeout: Duration::from_millis(200),
        ..options(&db.url)
    })
    .await
    .expect("open");
    let held = small.client().await.expect("the only connection");
    let Err(waited) = small.app("A").await else {
        panic!("a second connection was handed out");
    };
    assert!(waited.retryable(), "a pool timeout is retryable: {waited}");
    drop(held);
    assert!(small.app("A").await.expect("free again").is_some());
}

#[tokio::test]
async fn usage_is_counted_from_the_files_stored_before_the_counters() {
    let Some(db) = database(
        "usage_is_counted_from_the_files_stored_before_the_counters",
        "",
    ) else {
        return;
    };
    // The schema as the release before the counters left it, holding files of two apps.
    let (client, connection) = tokio_postgres::connect(&db.url, NoTls)
        .await
        .expect("connect");
    let connection = tokio::spawn(connection);
    client
        .batch_execute(schema::VERSION_TABLE)
        .await
        .expect("version table");
    let before = schema::MIGRATIONS
        .iter()
        .position(|m| m.sql == schema::USAGE_COUNTERS)
        .expect("the counters' migration");
    for step in &schema::MIGRATIONS[..before] {
        client.batch_execute(step.sql).await.expect("older step");
    }
    client
        .execute(
            "INSERT INTO pictor_schema (one, version) VALUES (TRUE, $1)",
            &[&(before as i64)],
        )
        .await
        .expect("older version");
    client
        .batch_execute(
            "INSERT INTO files (id, app_key, path, parent, name, bytes, created_by, operation_id,
                 blob_key, etag, content_type, width, height, created_at, updated_at)
             VALUES ('f1', 'A', '/x.jpg', '/', 'x.jpg', 7, 'U', '', 'k1', 'e', 'image/jpeg',
                     1, 1, 1, 1),
                    ('f2', 'A', '/x_w.jpg', '/', 'x_w.jpg', 5, 'P', 'w', 'k2', 'e',
                     'image/jpeg', 1, 1, 1, 1),
                    ('f3', 'B', '/y.jpg', '/', 'y.jpg', 3, 'U', '', 'k3', 'e', 'image/jpeg',
                     1, 1, 1, 1)",
        )
        .await
        .expect("files of the older release");
    drop(client);
    connection.await.expect("join").expect("connection");
    let catalog = PgCatalog::open(&options(&db.url)).await.expect("upgrade");
    let usage = |bytes, files| crate::catalog::Usage { bytes, files };
    assert_eq!(catalog.usage("A").await.expect("usage"), usage(12, 2));
    assert_eq!(catalog.usage("B").await.expect("usage"), usage(3, 1));
    assert_eq!(catalog.usage("C").await.expect("usage"), usage(0, 0));
    catalog
        .delete_produced_by("A", "w")
        .await
        .expect("delete produced");
    assert_eq!(
        catalog.usage("A").await.expect("usage"),
        usage(7, 1),
        "the triggers count from there"
    );
}
