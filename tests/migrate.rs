//! `pictor migrate`: an embedded deployment built by a real server is copied into another
//! catalog and store named by `PICTOR_CATALOG_URL` and `PICTOR_STORAGE_URL`; a server on the
//! copy serves the same bytes, ETags and listings, a run after an interruption completes the
//! copy, a run after a complete one changes nothing, a damaged target blob is reported, and
//! the source itself is refused as target. The same copy into PostgreSQL and S3 runs when the
//! test servers are there (see `tests/multi_node.rs`).

mod common;
#[path = "../src/catalog/postgres/test_database.rs"]
mod test_database;
#[path = "../src/catalog/postgres/throwaway.rs"]
mod throwaway;

use common::{
    assert_code, create_app, create_app_named, encode_query, pictor, AppKeys, Server, S3,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const PUBLIC_URL: &str = "http://img.test";

/// Uploads of the first app: catalog path and corpus file.
const UPLOADS: [(&str, &str); 5] = [
    (
        "/shop/a.jpg",
        "photos/photo_small_nikon-p6000_gps_640x480.jpg",
    ),
    ("/shop/b.png", "formats/png_palette_8bit_290x442.png"),
    (
        "/shop/sub/c.gif",
        "animated/anim_gif_cogs_transparent_5frames_85x77.gif",
    ),
    ("/shop/sub/d.webp", "formats/webp_lossless_300x300.webp"),
    (
        "/사진/e.jpg",
        "orientation/landscape_exif_orientation_6.jpg",
    ),
];

/// A response as the delivery path gave it.
#[derive(Debug, PartialEq)]
struct Served {
    status: u16,
    etag: Option<String>,
    last_modified: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn served(s: &Server, url: &str) -> Served {
    let resp = s.get(url);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_owned())
    };
    let (etag, last_modified, content_type) = (
        header("etag"),
        header("last-modified"),
        header("content-type"),
    );
    Served {
        status: resp.status().as_u16(),
        etag,
        last_modified,
        content_type,
        body: resp.bytes().expect("body").to_vec(),
    }
}

/// An embedded deployment made by a real server, stopped, with what it served.
struct Source {
    /// Holds the source and the targets.
    tmp: tempfile::TempDir,
    /// The source's data directory.
    dir: PathBuf,
    /// The first app.
    app: AppKeys,
    /// The second app.
    second: AppKeys,
    /// Delivery URLs (relative to the server's base) and what the source served for them.
    delivered: Vec<(String, Served)>,
    /// Management API calls of the first app and their answers.
    answers: Vec<(String, Value)>,
    /// Listing of the second app's folder.
    second_listing: Value,
    /// A task left waiting when the source stopped.
    waiting_task: String,
}

/// Runs `f` as `app` on the server.
fn as_app<T>(s: &mut Server, app: &AppKeys, f: impl FnOnce(&Server) -> T) -> T {
    let own = std::mem::replace(&mut s.app, app.clone());
    let out = f(s);
    s.app = own;
    out
}

/// Polls until `name` is listed in the folder `/shop` (a result stored by a request).
fn wait_file(s: &Server, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = s.json(Method::GET, "folders?basepath=/shop&rows=100", None);
        if common::names(&v, "files").iter().any(|n| n == name) {
            return;
        }
        assert!(Instant::now() < deadline, "{name} never stored: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn thumb(width: u32) -> Value {
    json!({"realtimeService": true, "data": [{"templateOperationId": "resize_max_fit",
           "option": {"width": width, "height": width}}]})
}

/// Builds the source: two apps, folders (one empty, one non-ASCII), uploads and an overwrite,
/// operation `thumb` at version 2, results made by an exec and by real-time requests, an
/// operation deleted after making a result, finished tasks and one left waiting.
fn build_source() -> Source {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("source");
    let app = create_app(&dir);
    let second = create_app_named(&dir, "second");
    let mut s = Server::spawn(
        &dir,
        app.clone(),
        &[("PICTOR_SERVER_PUBLIC_URL", PUBLIC_URL)],
    );
    for (path, file) in UPLOADS {
        s.upload_ok(path, file);
    }
    let v = s.upload(
        "/shop/b.png",
        common::corpus("formats/png_interlaced_adam7_rgba_162x150.png"),
        "overwrite=true",
    );
    assert_code(&v, 0);
    assert_code(&s.mkdir("/empty/inner"), 0);
    assert_code(&s.put_operation("thumb", thumb(64)), 0);
    assert_code(&s.put_operation("thumb", thumb(80)), 0);
    assert_code(&s.put_operation("gone", thumb(32)), 0);

    let exec = |ops: Value| {
        let v = s.json(
            Method::POST,
            "operations-exec",
            Some(json!({"basepath": "/shop/sub", "filepaths": ["/shop/sub"],
                        "operationIds": ops})),
        );
        assert_code(&v, 0);
        let ids: Vec<String> = v["queues"]
            .as_array()
            .expect("queues")
            .iter()
            .map(|q| q["queueId"].as_str().expect("queueId").to_owned())
            .collect();
        for id in &ids {
            assert_eq!(s.wait_task(id)["queue"]["status"], "D");
        }
        ids
    };
    let mut queue_ids = exec(json!(["thumb"]));
    queue_ids.extend(exec(json!(["gone"])));
    assert_code(
        &s.json(
            Method::DELETE,
            "operations/gone?deleteThumbnail=false",
            None,
        ),
        0,
    );
    for path in ["/shop/a.jpg", "/shop/b.png"] {
        let resp = s.get(&format!("{}?thumb", s.url(path)));
        assert_eq!(resp.status(), 200, "{path}?thumb");
    }
    wait_file(&s, "a_thumb.jpg");
    wait_file(&s, "b_thumb.png");
    as_app(&mut s, &second, |s| s.upload_ok("/b/one.jpg", UPLOADS[0].1));

    let mut urls: Vec<String> = UPLOADS
        .iter()
        .map(|(path, _)| common::encode_path(path))
        .collect();
    urls.extend(
        [
            "/shop/a.jpg?thumb",
            "/shop/b.png?thumb",
            "/shop/sub/c.gif?thumb",
            "/shop/sub/d.webp?thumb",
            "/shop/a_thumb.jpg",
            "/shop/sub/c_thumb.gif",
            "/shop/sub/c_gone.gif",
            "/shop/sub/d_gone.webp",
            "/shop/missing.jpg",
        ]
        .map(str::to_owned),
    );
    let delivered: Vec<(String, Served)> = urls
        .into_iter()
        .map(|u| {
            let got = served(&s, &s.url(&u));
            (u, got)
        })
        .collect();
    assert!(
        delivered.iter().filter(|(_, d)| d.status == 200).count() >= 13,
        "the source serves what the test compares: {:?}",
        delivered
            .iter()
            .map(|(u, d)| (u, d.status))
            .collect::<Vec<_>>()
    );
    let mut calls: Vec<String> = ["/", "/shop", "/shop/sub", "/사진", "/empty"]
        .iter()
        .map(|p| format!("folders?basepath={}", encode_query(p)))
        .collect();
    calls.extend(
        [
            "folders?basepath=/shop&sort=date:desc&createdBy=P",
            "properties?path=/shop",
            "operations/thumb",
            "operations",
            "users",
        ]
        .map(str::to_owned),
    );
    calls.extend(queue_ids.iter().map(|id| format!("queues/{id}")));
    let answers: Vec<(String, Value)> = calls
        .into_iter()
        .map(|c| {
            let v = s.json(Method::GET, &c, None);
            assert_code(&v, 0);
            (c, v)
        })
        .collect();
    let second_listing = as_app(&mut s, &second, |s| {
        s.json(Method::GET, "folders?basepath=/b", None)
    });
    assert_code(&second_listing, 0);
    assert_eq!(s.terminate().code(), Some(0));

    let waiting_task = plant_waiting_task(&dir, &app, "/shop/b.png", "thumb");
    Source {
        tmp,
        dir,
        app,
        second,
        delivered,
        answers,
        second_listing,
        waiting_task,
    }
}

/// Queues an `image` task in a stopped deployment's catalog, as an upload with
/// `operationIds` would have: it waits, since no server runs.
fn plant_waiting_task(dir: &Path, app: &AppKeys, source_path: &str, op: &str) -> String {
    let conn = rusqlite::Connection::open(dir.join("catalog.sqlite3")).expect("open");
    let source_id: String = conn
        .query_row(
            "SELECT id FROM files WHERE app_key = ?1 AND path = ?2",
            rusqlite::params![app.app_key, source_path],
            |r| r.get(0),
        )
        .expect("source file");
    let id = uuid::Uuid::new_v4().to_string();
    let payload = json!({"source_id": source_id, "operation_id": op,
                         "callback_url": null, "callback_id": id})
    .to_string();
    conn.execute(
        "INSERT INTO tasks (id, app_key, queue_type, status, try_count, queued_at, operation_id,
             path, payload, error)
         VALUES (?1, ?2, 'image', 'W', 0, 1700000000000, ?3, ?4, ?5, NULL)",
        rusqlite::params![id, app.app_key, op, "/shop/b_thumb.png", payload],
    )
    .expect("plant a waiting task");
    id
}

/// The environment naming a target catalog and store inside `dir`.
fn target_env(dir: &Path) -> Vec<(String, String)> {
    vec![
        (
            "PICTOR_CATALOG_URL".into(),
            format!("sqlite://{}", dir.join("meta.db").display()),
        ),
        (
            "PICTOR_STORAGE_URL".into(),
            format!("file://{}", dir.join("objects").display()),
        ),
        ("PICTOR_SERVER_PUBLIC_URL".into(), PUBLIC_URL.into()),
    ]
}

/// An API answer without the `updatedAt` of `b_thumb.png`: the waiting task the copy keeps
/// renders that result again as soon as a server starts on the target, so its time may move
/// while the answers are compared (its bytes stay the same, which the test checks).
fn settled(answer: &Value) -> Value {
    let mut answer = answer.clone();
    if let Some(files) = answer.get_mut("files").and_then(Value::as_array_mut) {
        for file in files.iter_mut().filter(|f| f["name"] == "b_thumb.png") {
            if let Some(file) = file.as_object_mut() {
                file.remove("updatedAt");
            }
        }
    }
    answer
}

/// Runs `pictor migrate` from `source` into the target in `target`; returns whether it
/// succeeded, its report (`Null` if none) and its stderr.
fn migrate(source: &Path, target: &Path) -> (bool, Value, String) {
    migrate_into(source, target, &target_env(target))
}

/// Runs `pictor migrate` from `source` with the data directory `target` and the target named
/// by `env`.
fn migrate_into(source: &Path, target: &Path, env: &[(String, String)]) -> (bool, Value, String) {
    let out = pictor()
        .args(["migrate", "--jobs", "3", "--from-data-dir"])
        .arg(source)
        .arg("--data-dir")
        .arg(target)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("PICTOR_LOG_LEVEL", "warn")
        .output()
        .expect("run pictor migrate");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    let report = if stdout.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("report not JSON ({e}): {stdout}"))
    };
    let stderr = String::from_utf8(out.stderr).expect("utf-8 stderr");
    (out.status.success(), report, stderr)
}

/// Every row of the tables that hold the deployment's state, sorted: equal dumps, equal
/// catalogs.
fn dump(catalog: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(catalog).expect("open");
    let mut rows = Vec::new();
    for table in [
        "apps",
        "folders",
        "files",
        "operations",
        "operation_versions",
        "tasks",
        "task_turns",
        "blob_trash",
    ] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table}"))
            .expect("select");
        let width = stmt.column_count();
        let found = stmt
            .query_map([], |r| {
                let cells: Vec<String> = (0..width)
                    .map(|i| format!("{:?}", r.get_ref(i).map(|v| v.to_owned())))
                    .collect();
                Ok(format!("{table}: {}", cells.join(" | ")))
            })
            .expect("rows")
            .collect::<Result<Vec<_>, _>>()
            .expect("read rows");
        rows.extend(found);
    }
    rows.sort();
    rows
}

/// Every object of a local store with its length and modification time.
fn objects(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).expect("read dir") {
            let entry = entry.expect("entry");
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                found.push((entry.path(), meta.len(), meta.modified().expect("mtime")));
            }
        }
    }
    found.sort();
    found
}

/// The blob key of a file in the target catalog.
fn blob_key(target: &Path, path: &str) -> String {
    let conn = rusqlite::Connection::open(target.join("meta.db")).expect("open");
    conn.query_row("SELECT blob_key FROM files WHERE path = ?1", [path], |r| {
        r.get(0)
    })
    .expect("file row")
}

#[test]
fn a_migrated_deployment_serves_the_same_bytes_etags_listings_and_tasks() {
    let source = build_source();
    let target = source.tmp.path().join("target");
    let (ok, report, stderr) = migrate(&source.dir, &target);
    assert!(ok, "migrate failed: {stderr}\n{report}");
    assert_eq!(report["mismatchCount"], 0, "{report}");
    assert_eq!(report["copied"]["apps"], 2, "{report}");
    assert_eq!(
        report["copied"]["operations"], 1,
        "thumb; gone was deleted: {report}"
    );
    assert_eq!(report["copied"]["tasks"], 5, "4 done, 1 waiting: {report}");
    // 6 uploads (b.png once, overwritten), 4 exec results, 2 real-time results.
    assert_eq!(report["copied"]["files"], 12, "{report}");
    assert_eq!(report["copied"]["blobs"], 12, "{report}");
    assert_eq!(report["blobsVerified"], 12, "{report}");
    let present = &report["present"];
    assert_eq!(
        present["files"], 0,
        "a fresh target holds nothing: {report}"
    );
    let apps = report["apps"].as_array().expect("apps");
    assert_eq!(apps.len(), 2);
    let first = apps
        .iter()
        .find(|a| a["appKey"] == source.app.app_key.as_str())
        .expect("first app counted");
    for count in ["folders", "files", "bytes", "operations", "tasks"] {
        assert_eq!(
            first[count]["source"], first[count]["target"],
            "{count}: {report}"
        );
    }
    assert_eq!(first["files"]["target"], 11, "{report}");
    assert_eq!(
        first["folders"]["target"], 5,
        "shop, sub, 사진, empty, inner: {report}"
    );
    assert!(target.join("meta.db").is_file(), "the configured catalog");
    assert!(target.join("objects").is_dir(), "the configured store");
    assert!(
        !target.join("catalog.sqlite3").exists() && !target.join("blobs").exists(),
        "nothing in the embedded default places"
    );

    let env = target_env(&target);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut t = Server::spawn(&target, source.app.clone(), &env);
    for (url, before) in &source.delivered {
        let after = served(&t, &t.url(url));
        assert_eq!(
            (
                after.status,
                &after.etag,
                &after.last_modified,
                &after.content_type
            ),
            (
                before.status,
                &before.etag,
                &before.last_modified,
                &before.content_type
            ),
            "{url}"
        );
        assert!(after.body == before.body, "{url}: the same bytes");
    }
    for (call, before) in &source.answers {
        assert_eq!(
            settled(&t.json(Method::GET, call, None)),
            settled(before),
            "{call}"
        );
    }
    let second = as_app(&mut t, &source.second, |t| {
        t.json(Method::GET, "folders?basepath=/b", None)
    });
    assert_eq!(second, source.second_listing);

    let done = t.wait_task(&source.waiting_task);
    assert_eq!(done["queue"]["status"], "D", "the waiting task ran: {done}");
    let produced = served(&t, &t.url("/shop/b_thumb.png"));
    let realtime = source
        .delivered
        .iter()
        .find(|(u, _)| u == "/shop/b.png?thumb")
        .map(|(_, d)| &d.body)
        .expect("recorded");
    assert_eq!(produced.status, 200);
    assert!(&produced.body == realtime, "the task made the same result");

    assert_code(&t.put_operation("gone", thumb(32)), 0);
    let conn = rusqlite::Connection::open(target.join("meta.db")).expect("open");
    let version: i64 = conn
        .query_row(
            "SELECT version FROM operations WHERE operation_id = 'gone'",
            [],
            |r| r.get(0),
        )
        .expect("gone again");
    assert_eq!(
        version, 2,
        "a deleted operation's version is never given again"
    );
}

#[test]
fn an_interrupted_migration_completes_and_a_complete_one_changes_nothing() {
    let source = build_source();
    let target = source.tmp.path().join("target");
    let (ok, first, stderr) = migrate(&source.dir, &target);
    assert!(ok, "{stderr}\n{first}");
    let complete = dump(&target.join("meta.db"));
    let stored = objects(&target.join("objects"));

    // What a run killed part-way leaves: bytes without their record, records not yet made,
    // and (had the bytes of a record been lost since) records without their bytes.
    let conn = rusqlite::Connection::open(target.join("meta.db")).expect("open");
    for path in ["/shop/sub/d.webp", "/shop/sub/d_thumb.webp"] {
        conn.execute("DELETE FROM files WHERE path = ?1", [path])
            .expect("forget a record");
    }
    for path in ["/shop/a.jpg", "/사진/e.jpg"] {
        let key = blob_key(&target, path);
        std::fs::remove_file(target.join("objects").join(key)).expect("lose the bytes");
    }
    conn.execute("DELETE FROM tasks WHERE id = ?1", [&source.waiting_task])
        .expect("forget a task");
    conn.execute("DELETE FROM operations WHERE operation_id = 'thumb'", [])
        .expect("forget an operation");
    conn.execute("DELETE FROM folders WHERE path = '/empty/inner'", [])
        .expect("forget a folder");
    drop(conn);

    let (ok, again, stderr) = migrate(&source.dir, &target);
    assert!(ok, "{stderr}\n{again}");
    assert_eq!(again["mismatchCount"], 0, "{again}");
    let copied = &again["copied"];
    assert_eq!(
        (
            &copied["apps"],
            &copied["files"],
            &copied["blobs"],
            &copied["tasks"],
            &copied["operations"],
            &copied["folders"]
        ),
        (
            &json!(0),
            &json!(2),
            &json!(2),
            &json!(1),
            &json!(1),
            &json!(1)
        ),
        "only what was missing: {again}"
    );
    assert_eq!(again["present"]["files"], 10, "{again}");
    assert_eq!(
        again["present"]["blobs"], 10,
        "bytes kept without their records: {again}"
    );
    assert_eq!(again["blobsVerified"], 12, "{again}");
    assert_eq!(dump(&target.join("meta.db")), complete, "the same catalog");

    let before = objects(&target.join("objects"));
    assert_eq!(before.len(), stored.len());
    let (ok, third, stderr) = migrate(&source.dir, &target);
    assert!(ok, "{stderr}\n{third}");
    for (kind, n) in third["copied"].as_object().expect("tally") {
        assert_eq!(n, 0, "a complete copy gets no {kind}: {third}");
    }
    assert_eq!(third["present"]["files"], 12, "{third}");
    assert_eq!(dump(&target.join("meta.db")), complete, "nothing changed");
    assert_eq!(
        objects(&target.join("objects")),
        before,
        "no object rewritten"
    );
}

#[test]
fn a_damaged_target_blob_is_reported_and_fails_the_run() {
    let source = build_source();
    let target = source.tmp.path().join("target");
    let (ok, _, stderr) = migrate(&source.dir, &target);
    assert!(ok, "{stderr}");
    let flipped = target
        .join("objects")
        .join(blob_key(&target, "/shop/a.jpg"));
    let mut bytes = std::fs::read(&flipped).expect("read");
    bytes[1000] ^= 0x55;
    std::fs::write(&flipped, &bytes).expect("damage the bytes, same length");
    let cut = target
        .join("objects")
        .join(blob_key(&target, "/shop/sub/c_thumb.gif"));
    let bytes = std::fs::read(&cut).expect("read");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("cut a result short");

    let (ok, report, stderr) = migrate(&source.dir, &target);
    assert!(!ok, "a damaged copy fails: {report}");
    assert!(stderr.contains("differs from the source"), "{stderr}");
    assert_eq!(report["mismatchCount"], 2, "{report}");
    let mismatches = report["mismatches"].as_array().expect("listed");
    let of = |path: &str| {
        mismatches
            .iter()
            .find(|m| m["subject"] == path)
            .unwrap_or_else(|| panic!("{path} not reported: {report}"))
    };
    let a = of("/shop/a.jpg");
    assert_eq!(
        (&a["kind"], &a["appKey"]),
        (&json!("blob"), &json!(source.app.app_key))
    );
    assert!(
        a["detail"].as_str().expect("detail").contains("hash"),
        "{a}"
    );
    let c = of("/shop/sub/c_thumb.gif");
    assert_eq!(c["kind"], "blob");
    assert!(
        c["detail"]
            .as_str()
            .expect("detail")
            .contains("bytes read back"),
        "{c}"
    );
    assert_eq!(report["blobsVerified"], 10, "{report}");
    assert_eq!(
        report["copied"]["blobs"], 0,
        "damaged bytes are reported, not replaced"
    );
}

#[test]
fn the_source_itself_and_a_missing_source_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    create_app(&dir);
    let catalog = dump(&dir.join("catalog.sqlite3"));
    let out = pictor()
        .args(["migrate", "--from-data-dir"])
        .arg(&dir)
        .arg("--data-dir")
        .arg(tmp.path().join("data/../data"))
        .output()
        .expect("run pictor migrate");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is the source's own"), "{stderr}");
    assert!(out.stdout.is_empty(), "no report");
    assert_eq!(
        dump(&dir.join("catalog.sqlite3")),
        catalog,
        "nothing written"
    );

    let nowhere = tmp.path().join("nothing-here");
    let (ok, report, stderr) = migrate(&nowhere, &tmp.path().join("target"));
    assert!(!ok);
    assert_eq!(report, Value::Null);
    assert!(stderr.contains("holds no embedded deployment"), "{stderr}");
    assert!(!nowhere.exists(), "the missing source is not created");
}

#[test]
fn a_deployment_moves_up_to_postgres_and_s3_and_keeps_every_url() {
    let test = "a_deployment_moves_up_to_postgres_and_s3_and_keeps_every_url";
    let Some(server) = throwaway::server_or_skip(test) else {
        return;
    };
    let Some(s3) = S3::get() else {
        return;
    };
    let db = test_database::TestDatabase::create(&server, "").expect("create a test database");
    let bucket = s3.bucket(test);
    let mut env = s3.node_env(&bucket, "p", &db.url);
    env.push(("PICTOR_SERVER_PUBLIC_URL".into(), PUBLIC_URL.into()));
    let source = build_source();
    let target = source.tmp.path().join("node");

    let (ok, report, stderr) = migrate_into(&source.dir, &target, &env);
    assert!(ok, "migrate failed: {stderr}\n{report}");
    assert_eq!(report["mismatchCount"], 0, "{report}");
    assert_eq!(report["copied"]["files"], 12, "{report}");
    assert_eq!(report["blobsVerified"], 12, "{report}");
    assert_eq!(
        s3.keys(&bucket, "p/").len(),
        12,
        "every blob in the bucket, under the prefix"
    );

    let (ok, again, stderr) = migrate_into(&source.dir, &target, &env);
    assert!(ok, "a second run failed: {stderr}\n{again}");
    assert_eq!(again["copied"]["files"], 0, "nothing left to copy: {again}");
    assert_eq!(again["mismatchCount"], 0, "{again}");

    let node_env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let t = Server::spawn(&target, source.app.clone(), &node_env);
    for (url, before) in &source.delivered {
        let after = served(&t, &t.url(url));
        assert_eq!(
            (after.status, &after.etag, &after.content_type),
            (before.status, &before.etag, &before.content_type),
            "{url}"
        );
        assert!(after.body == before.body, "{url}: the same bytes");
    }
    for (call, before) in &source.answers {
        assert_eq!(
            settled(&t.json(Method::GET, call, None)),
            settled(before),
            "{call}"
        );
    }
    let done = t.wait_task(&source.waiting_task);
    assert_eq!(done["queue"]["status"], "D", "the waiting task ran: {done}");
}
