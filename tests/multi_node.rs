//! Two `pictor serve` processes on different ports sharing one PostgreSQL catalog and one S3
//! bucket, as a scaled-out deployment runs them: what one node writes, the other serves; what
//! one node changes (an operation, an overwrite, a rotation), the other's cache drops;
//! concurrent first requests on both store one result; a node killed mid-batch loses no task.
//!
//! The servers are the test servers of `src/catalog/postgres/throwaway.rs` and
//! `tests/common/s3.rs`; without them the tests print why they were skipped and pass, unless
//! `PICTOR_REQUIRE_BACKENDS=1`.

mod common;
#[path = "../src/catalog/postgres/test_database.rs"]
mod test_database;
#[path = "../src/catalog/postgres/throwaway.rs"]
mod throwaway;

use common::{assert_code, corpus, pictor, tuspy, AppKeys, Server, S3};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";
const OTHER: &str = "photos/photo_icc_adobe-rgb_rocket_640x427.jpg";
const BIG: &str = "photos/photo_4mp_olympus-em1_forest_2560x1600.jpg";

/// A shared catalog and bucket, and the environment every node of the test gets.
struct Shared {
    _db: test_database::TestDatabase,
    s3: &'static S3,
    bucket: String,
    env: Vec<(String, String)>,
    tmp: tempfile::TempDir,
    keys: AppKeys,
}

impl Shared {
    /// A fresh database and bucket with one app made by `pictor app create`; `None` when a
    /// backend is missing (the test is skipped).
    fn new(test: &str) -> Option<Shared> {
        let server = throwaway::server_or_skip(test)?;
        let s3 = S3::get()?;
        let db = test_database::TestDatabase::create(&server, "").expect("create a test database");
        let bucket = s3.bucket(test);
        let env = s3.node_env(&bucket, "pictor", &db.url);
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = pictor()
            .args(["app", "create", "--name", "shop", "--data-dir"])
            .arg(tmp.path().join("create"))
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("run pictor app create");
        assert!(out.status.success(), "app create: {out:?}");
        let created: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        Some(Shared {
            _db: db,
            s3,
            bucket,
            env,
            tmp,
            keys: AppKeys::from_json(&created),
        })
    }

    /// Starts a node with its own data directory and the shared backends, plus `extra`.
    fn node(&self, name: &str, extra: &[(&str, &str)]) -> Server {
        let data = self.tmp.path().join(name);
        let mut env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        env.extend_from_slice(extra);
        Server::spawn(&data, self.keys.clone(), &env)
    }

    /// The object keys in the bucket.
    fn objects(&self) -> Vec<String> {
        self.s3.keys(&self.bucket, "pictor/")
    }
}

fn dims(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(bytes).expect("decode the variant");
    (img.width(), img.height())
}

fn fit(side: u32) -> Value {
    json!({ "data": [{ "templateOperationId": "resize_max_fit",
                       "option": { "width": side, "height": side } }] })
}

/// GET `url` until `done` accepts the answer, for at most two seconds: a change committed on
/// one node reaches the other's cache through the change feed, within milliseconds but not
/// before the first node answers. Returns the answer, and prints how many requests and how
/// long it took to see `what`.
fn until(node: &Server, url: &str, what: &str, done: impl Fn(u16, &[u8]) -> bool) -> Vec<u8> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(2);
    let mut tries = 0;
    loop {
        tries += 1;
        let resp = node.get(url);
        let status = resp.status().as_u16();
        let body = resp.bytes().expect("body").to_vec();
        if done(status, &body) {
            eprintln!(
                "{what} on B seen by A after {tries} request(s), {} ms",
                started.elapsed().as_millis()
            );
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{url}: still {status} ({} bytes) after {tries} requests",
            body.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn what_one_node_writes_or_changes_the_other_serves() {
    let Some(shared) = Shared::new("what_one_node_writes_or_changes_the_other_serves") else {
        return;
    };
    let a = shared.node("a", &[]);
    let b = shared.node("b", &[]);

    let photo = corpus(PHOTO);
    assert_code(&a.upload("/shop/photo.jpg", photo.clone(), ""), 0);
    let original = b.get(&b.url("/shop/photo.jpg"));
    assert_eq!(original.status(), 200);
    assert_eq!(original.bytes().expect("body").to_vec(), photo);

    assert_code(&a.put_operation("thumb", fit(100)), 0);
    let variant = format!("{}?thumb", a.url("/shop/photo.jpg"));
    let on_b = b.get(&variant.replace(&a.base, &b.base));
    assert_eq!(on_b.status(), 200);
    assert_eq!(dims(&on_b.bytes().expect("body")), (100, 75));
    let on_a = a.get(&variant);
    assert_eq!(dims(&on_a.bytes().expect("body")), (100, 75));
    let cached = a.get(&variant);
    assert_eq!(dims(&cached.bytes().expect("body")), (100, 75), "A's L1");

    assert_code(&b.put_operation("thumb", fit(200)), 0);
    let body = until(&a, &variant, "operation change", |s, body| {
        s == 200 && dims(body) == (200, 150)
    });
    assert_eq!(dims(&body), (200, 150));

    let other = corpus(OTHER);
    assert_code(
        &b.upload("/shop/photo.jpg", other.clone(), "overwrite=true"),
        0,
    );
    let replaced = a.get(&a.url("/shop/photo.jpg"));
    assert_eq!(
        replaced.bytes().expect("body").to_vec(),
        other,
        "originals are read from the catalog on every request"
    );
    let body = until(&a, &variant, "overwritten original", |s, body| {
        s == 200 && dims(body) == (200, 134)
    });
    assert_eq!(dims(&body), (200, 134), "A renders the new original");

    let listing = a.json(Method::GET, "folders?basepath=/shop", None);
    let id = listing["files"]
        .as_array()
        .and_then(|files| files.iter().find(|f| f["name"] == "photo.jpg"))
        .and_then(|f| f["id"].as_str())
        .expect("photo.jpg listed")
        .to_owned();
    let deleted = b.json(
        Method::DELETE,
        &format!("images/sync?fileId={id}&includeThumbnail=true"),
        None,
    );
    assert_code(&deleted, 0);
    until(&a, &variant, "deleted original", |s, _| s == 404);
    assert_eq!(a.get(&a.url("/shop/photo.jpg")).status(), 404);
}

#[test]
fn a_rotation_on_one_node_is_served_by_the_other() {
    let Some(shared) = Shared::new("a_rotation_on_one_node_is_served_by_the_other") else {
        return;
    };
    let a = shared.node("a", &[]);
    let b = shared.node("b", &[]);
    let up = a.upload("/shop/photo.jpg", corpus(PHOTO), "");
    assert_code(&up, 0);
    assert_code(&a.put_operation("thumb", fit(100)), 0);
    let variant = format!("{}?thumb", a.url("/shop/photo.jpg"));
    assert_eq!(dims(&a.get(&variant).bytes().expect("body")), (100, 75));
    assert_eq!(
        dims(&a.get(&variant).bytes().expect("body")),
        (100, 75),
        "A's L1"
    );

    let id = up["file"]["id"].as_str().expect("file id");
    let rotated = b.json(
        Method::PUT,
        &format!("images/{id}/rotation"),
        Some(json!({"degrees": 90})),
    );
    assert_code(&rotated, 0);
    let body = until(&a, &variant, "rotated original", |s, body| {
        s == 200 && dims(body) == (75, 100)
    });
    assert_eq!(dims(&body), (75, 100), "A renders the rotated original");
    let original = a.get(&a.url("/shop/photo.jpg"));
    assert_eq!(dims(&original.bytes().expect("body")), (480, 640));
}

#[test]
fn concurrent_first_requests_on_two_nodes_store_one_result() {
    let Some(shared) = Shared::new("concurrent_first_requests_on_two_nodes_store_one_result")
    else {
        return;
    };
    let a = shared.node("a", &[]);
    let b = shared.node("b", &[]);
    assert_code(&a.upload("/shop/big.jpg", corpus(BIG), ""), 0);
    assert_code(&a.put_operation("thumb", fit(300)), 0);
    let before = shared.objects().len();

    let urls = [
        format!("{}?thumb", a.url("/shop/big.jpg")),
        format!("{}?thumb", b.url("/shop/big.jpg")),
    ];
    let bodies: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let (node, url) = if i % 2 == 0 {
                    (&a, &urls[0])
                } else {
                    (&b, &urls[1])
                };
                scope.spawn(move || {
                    let resp = node.get(url);
                    assert_eq!(resp.status(), 200, "{url}");
                    resp.bytes().expect("body").to_vec()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("request thread"))
            .collect()
    });
    for body in &bodies {
        assert_eq!(dims(body), (300, 188));
    }
    let listing = b.json(Method::GET, "folders?basepath=/shop&createdBy=P", None);
    let produced: Vec<&str> = listing["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(produced, ["big_thumb.jpg"], "{listing}");
    assert_eq!(
        shared.objects().len(),
        before + 1,
        "one stored result, not one per node"
    );
}

#[test]
fn a_node_killed_mid_batch_loses_no_task() {
    let Some(shared) = Shared::new("a_node_killed_mid_batch_loses_no_task") else {
        return;
    };
    let tasks = [
        ("PICTOR_TASKS_LEASE_SECS", "2"),
        ("PICTOR_TASKS_POLL_INTERVAL_MS", "200"),
        ("PICTOR_TASKS_WORKERS", "2"),
    ];
    let mut a = shared.node("a", &tasks);
    let b = shared.node("b", &tasks);
    let big = corpus(BIG);
    const FILES: usize = 24;
    for i in 0..FILES {
        assert_code(
            &a.upload(&format!("/batch/p{i:02}.jpg"), big.clone(), ""),
            0,
        );
    }
    assert_code(&a.put_operation("thumb", fit(300)), 0);
    let exec = a.json(
        Method::POST,
        "operations-exec",
        Some(json!({"basepath": "/batch", "filepaths": ["/batch"], "operationIds": ["thumb"]})),
    );
    assert_code(&exec, 0);
    let queues: Vec<String> = exec["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .filter_map(|q| q["queueId"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(queues.len(), FILES);

    let status = |id: &str| {
        let v = b.json(Method::GET, &format!("queues/{id}"), None);
        v["queue"]["status"].as_str().unwrap_or("").to_owned()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while queues.iter().filter(|id| status(id) == "D").count() < 3 {
        assert!(Instant::now() < deadline, "the batch did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    a.child.kill().expect("kill -9 node A");
    a.child.wait().expect("reap node A");

    let mut retried = 0;
    for id in &queues {
        let done = b.wait_task(id);
        assert_eq!(done["queue"]["status"], "D", "{done}");
        if done["queue"]["tryCount"].as_u64().unwrap_or(0) > 0 {
            retried += 1;
        }
    }
    assert!(
        retried >= 1,
        "a task node A held when it died was taken over and retried"
    );
    let listing = b.json(
        Method::GET,
        "folders?basepath=/batch&createdBy=P&rows=100",
        None,
    );
    assert_eq!(listing["paging"]["totalFileCount"], FILES, "{listing}");
    for i in [0, FILES - 1] {
        let thumb = b.get(&b.url(&format!("/batch/p{i:02}_thumb.jpg")));
        assert_eq!(thumb.status(), 200);
        assert_eq!(dims(&thumb.bytes().expect("body")), (300, 188));
    }
}

#[test]
fn a_resumable_upload_goes_on_through_another_node() {
    let Some(shared) = Shared::new("a_resumable_upload_goes_on_through_another_node") else {
        return;
    };
    let quick = [("PICTOR_STORAGE_RELEASE_DELAY_SECS", "1")];
    let a = shared.node("a", &quick);
    let b = shared.node("b", &quick);
    let photo = corpus(BIG);
    let file = shared.tmp.path().join("big.jpg");
    std::fs::write(&file, &photo).expect("write the file to upload");
    let metadata = json!({"path": "/shop/resumed.jpg"});
    let secret = &shared.keys.secret_key;

    let first = tuspy(
        &a.uploads(),
        secret,
        &file,
        &metadata,
        &["--chunk-size", "150000", "--stop-at", "300000"],
    );
    assert!(first.ok, "{:?}", first.out);
    let on_a = first.out["url"].as_str().expect("upload url").to_owned();
    let on_b = on_a.replace(&a.base, &b.base);
    assert_eq!(b.tus_head(&on_b), (200, Some(300_000)), "B sees A's bytes");
    let next = b.tus_patch(&on_b, 300_000, photo[300_000..600_000].to_vec());
    assert_eq!(next.status(), 204);
    assert_eq!(a.tus_head(&on_a), (200, Some(600_000)), "A sees B's bytes");
    let stale = a.tus_patch(&on_a, 300_000, photo[300_000..400_000].to_vec());
    assert_eq!(stale.status(), 409, "A refuses an offset B moved");

    let rest = tuspy(&a.uploads(), secret, &file, &metadata, &["--url", &on_b]);
    assert!(rest.ok, "{:?}", rest.out);
    assert!(rest.header("pictor-file-id").is_some());
    let served = a.get(&a.url("/shop/resumed.jpg"));
    assert_eq!(served.status(), 200);
    assert_eq!(
        served.bytes().expect("body").to_vec(),
        photo,
        "A serves what B stored"
    );
    assert_eq!(
        a.tus_head(&on_a).0,
        404,
        "the finished upload is gone for every node"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while shared.objects().iter().any(|k| k.contains("/uploads/")) {
        assert!(
            Instant::now() < deadline,
            "chunks left: {:?}",
            shared.objects()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
