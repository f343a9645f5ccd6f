//! Storage quota over real HTTP: `GET /users` shows what the app holds and what its quota
//! leaves; an upload over the quota is refused with 50001 and leaves nothing (no entry, and its
//! bytes deleted by the sweep); a multipart upload and its zip entries refuse file by file;
//! uploads racing from several threads stop exactly at the quota, on SQLite and PostgreSQL;
//! `pictor app quota` sets it.

mod common;
#[path = "../src/catalog/postgres/test_database.rs"]
mod test_database;
#[path = "../src/catalog/postgres/throwaway.rs"]
mod throwaway;

use common::{assert_code, corpus, names, pictor, AppKeys, Server};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// 69 bytes.
const GIF: &str = "edge/tiny_10x10.gif";
/// 113 bytes.
const PNG: &str = "edge/one_pixel_1x1.png";
const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

/// Dropped blobs are deleted one second after they are dropped.
const QUICK_SWEEP: (&str, &str) = ("PICTOR_STORAGE_RELEASE_DELAY_SECS", "1");

fn size(corpus_file: &str) -> u64 {
    corpus(corpus_file).len() as u64
}

fn user(s: &Server) -> Value {
    let v = s.json(Method::GET, "users", None);
    assert_code(&v, 0);
    v["user"].clone()
}

fn set_user(s: &Server, body: Value) {
    assert_code(&s.json(Method::PUT, "users", Some(body)), 0);
}

/// `usedBytes` and `usedFiles` of `GET /users`.
fn used(s: &Server) -> (u64, u64) {
    let u = user(s);
    (
        u["usedBytes"].as_u64().expect("usedBytes"),
        u["usedFiles"].as_u64().expect("usedFiles"),
    )
}

/// The recursive bytes and file count of the root folder, as `GET /properties` lists them.
fn listed(s: &Server) -> (u64, u64) {
    let v = s.json(Method::GET, "properties?path=/", None);
    assert_code(&v, 0);
    (
        v["folder"]["bytes"].as_u64().expect("bytes"),
        v["folder"]["totalFileCount"].as_u64().expect("files"),
    )
}

/// Asserts an answer (or a per-file error) refused for the quota.
fn assert_quota_exceeded(header: &Value) {
    assert_eq!(header["resultCode"], 50001, "{header}");
    assert_eq!(
        header["resultMessage"], "The app's storage quota would be exceeded.",
        "{header}"
    );
}

/// Files in the local blob store.
fn blob_count(s: &Server) -> usize {
    fn walk(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map_while(Result::ok)
                    .map(|e| {
                        let path = e.path();
                        if path.is_dir() {
                            walk(&path)
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&s.data_dir.join("blobs"))
}

/// Waits (at most 15 s) until the blob store holds `n` blobs: the sweep deleted the dropped
/// ones.
fn wait_blobs(s: &Server, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while blob_count(s) != n {
        assert!(
            Instant::now() < deadline,
            "the blob store holds {} blobs, not {n}",
            blob_count(s)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn get_users_shows_what_the_app_holds_and_what_its_quota_leaves() {
    let s = Server::start();
    let u = user(&s);
    assert_eq!(
        (
            &u["usedBytes"],
            &u["usedFiles"],
            &u["availableBytes"],
            &u["availableFiles"]
        ),
        (&json!(0), &json!(0), &Value::Null, &Value::Null),
        "{u}"
    );
    let op = s.put_operation(
        "half",
        json!({"description": "", "realtimeService": false,
               "data": [{"templateOperationId": "resize_max_fit",
                         "option": {"width": 320, "height": 240}}]}),
    );
    assert_code(&op, 0);
    let up = s.upload("/p/photo.jpg", corpus(PHOTO), "operationIds=half");
    assert_code(&up, 0);
    let task = s.wait_task(
        up["file"]["queues"][0]["queueId"]
            .as_str()
            .expect("queueId"),
    );
    assert_eq!(task["queue"]["status"], "D", "{task}");
    let produced = s.json(Method::GET, "folders?basepath=/p&createdBy=P", None);
    assert_eq!(names(&produced, "files"), ["photo_half.jpg"]);
    let produced_bytes = produced["files"][0]["bytes"].as_u64().expect("bytes");
    let holds = (size(PHOTO) + produced_bytes, 2);
    assert_eq!(used(&s), holds, "uploaded and produced files count");
    assert_eq!(listed(&s), holds);

    set_user(&s, json!({"quotaBytes": holds.0 + 1000, "quotaFiles": 5}));
    let u = user(&s);
    assert_eq!(
        (&u["availableBytes"], &u["availableFiles"]),
        (&json!(1000), &json!(3))
    );
    set_user(&s, json!({"quotaBytes": 1, "quotaFiles": null}));
    let u = user(&s);
    assert_eq!(
        (&u["quotaBytes"], &u["availableBytes"], &u["availableFiles"]),
        (&json!(1), &json!(0), &Value::Null),
        "never negative: {u}"
    );
}

#[test]
fn an_upload_over_the_quota_is_refused_and_nothing_is_stored() {
    let s = Server::start_with(&[QUICK_SWEEP]);
    assert_code(&s.upload("/a.gif", corpus(GIF), ""), 0);
    set_user(&s, json!({"quotaFiles": 1}));
    let refused = s.upload("/b/b.gif", corpus(GIF), "");
    assert_quota_exceeded(&refused["header"]);
    assert_eq!(refused["header"]["isSuccessful"], false);
    let root = s.json(Method::GET, "folders?basepath=/", None);
    assert_eq!(names(&root, "files"), ["a.gif"]);
    assert_eq!(
        root["folders"],
        json!([]),
        "not even the folder is made: {root}"
    );
    assert_eq!(s.get(&s.url("/b/b.gif")).status(), 404);

    set_user(
        &s,
        json!({"quotaFiles": null, "quotaBytes": size(GIF) + 10}),
    );
    let refused = s.upload("/c.png", corpus(PNG), "autorename=true");
    assert_quota_exceeded(&refused["header"]);
    assert_eq!(used(&s), (size(GIF), 1));
    assert_eq!(blob_count(&s), 1, "a refused new file is not even written");

    // An overwrite is checked by the catalog, after its bytes are written: they are dropped
    // and deleted by the sweep, and the version it would have replaced stays.
    let refused = s.upload("/a.gif", corpus(PNG), "overwrite=true");
    assert_quota_exceeded(&refused["header"]);
    let kept = s.get(&s.url("/a.gif"));
    assert_eq!(kept.status(), 200);
    assert_eq!(kept.bytes().expect("body").to_vec(), corpus(GIF));
    assert_eq!(used(&s), (size(GIF), 1));
    assert_eq!(listed(&s), (size(GIF), 1));
    wait_blobs(&s, 1);

    set_user(&s, json!({"quotaBytes": size(PNG)}));
    let replaced = s.upload("/a.gif", corpus(PNG), "overwrite=true");
    assert_code(&replaced, 0);
    assert_eq!(
        used(&s),
        (size(PNG), 1),
        "an overwrite counts the difference"
    );
    wait_blobs(&s, 1);
}

fn form(params: Value, files: &[(&str, Vec<u8>)]) -> Form {
    let mut f = Form::new().text("params", params.to_string());
    for (name, bytes) in files {
        f = f.part(
            "files",
            Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    f
}

fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (name, bytes) in entries {
        zip.start_file(*name, opts).expect("entry");
        zip.write_all(bytes).expect("write");
    }
    zip.finish().expect("zip").into_inner()
}

/// The `error` objects of a multipart answer, by path.
fn errors(v: &Value) -> Vec<(String, Value)> {
    v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["path"].as_str().expect("path").to_owned(),
                e["error"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_multipart_upload_stores_what_fits_and_refuses_each_file_over_the_quota() {
    let s = Server::start_with(&[QUICK_SWEEP]);
    set_user(&s, json!({"quotaFiles": 2}));
    let v = s.multipart(form(
        json!({"basepath": "/m"}),
        &[
            ("one.gif", corpus(GIF)),
            ("two.png", corpus(PNG)),
            ("three.gif", corpus(GIF)),
        ],
    ));
    assert_code(&v, 1);
    assert_eq!(names(&v, "successes"), ["one.gif", "two.png"]);
    let refused = errors(&v);
    assert_eq!(refused.len(), 1, "{v}");
    assert_eq!(refused[0].0, "/m/three.gif");
    assert_quota_exceeded(&refused[0].1);
    let listing = s.json(Method::GET, "folders?basepath=/m", None);
    assert_eq!(names(&listing, "files"), ["one.gif", "two.png"]);

    set_user(&s, json!({"quotaFiles": 4}));
    let archive = zip_of(&[
        ("z/a.gif", corpus(GIF)),
        ("z/b.gif", corpus(GIF)),
        ("z/c.gif", corpus(GIF)),
    ]);
    let v = s.multipart(form(json!({"basepath": "/m"}), &[("bundle.zip", archive)]));
    assert_code(&v, 1);
    assert_eq!(names(&v, "successes"), ["a.gif", "b.gif"]);
    let refused = errors(&v);
    assert_eq!(refused.len(), 1, "{v}");
    assert_eq!(refused[0].0, "/m/z/c.gif");
    assert_quota_exceeded(&refused[0].1);

    let everything = s.multipart(form(
        json!({"basepath": "/m"}),
        &[("late.gif", corpus(GIF))],
    ));
    assert_code(&everything, 2);
    assert_quota_exceeded(&errors(&everything)[0].1);
    assert_eq!(used(&s), (3 * size(GIF) + size(PNG), 4));
    assert_eq!(listed(&s), used(&s));
    wait_blobs(&s, 4);
}

/// Uploads of one GIF each from several threads against a quota of `allowed` of them, while
/// another thread watches `GET /users`: exactly `allowed` are stored, the others refused with
/// 50001, usage never passes the quota and equals what the listing shows, and the blob store
/// keeps only the stored files' bytes.
fn uploads_race_against_the_quota(s: &Server, allowed: u64) {
    const THREADS: usize = 4;
    const EACH: usize = 6;
    let quota = allowed * size(GIF);
    set_user(s, json!({"quotaBytes": quota}));
    let racing = AtomicBool::new(true);
    let codes: Vec<i64> = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut looks = 0;
            while racing.load(Ordering::Relaxed) {
                let (bytes, files) = used(s);
                assert!(bytes <= quota, "{bytes} bytes used over a quota of {quota}");
                assert!(files <= allowed);
                looks += 1;
            }
            looks
        });
        let uploaders: Vec<_> = (0..THREADS)
            .map(|t| {
                scope.spawn(move || {
                    (0..EACH)
                        .map(|i| {
                            let v = s.upload(&format!("/t{t}/f{i}.gif"), corpus(GIF), "");
                            let code = v["header"]["resultCode"].as_i64().expect("code");
                            if code == 50001 {
                                assert_quota_exceeded(&v["header"]);
                            }
                            code
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let codes = uploaders
            .into_iter()
            .flat_map(|u| u.join().expect("uploader"))
            .collect();
        racing.store(false, Ordering::Relaxed);
        assert!(watcher.join().expect("watcher") > 0);
        codes
    });
    let stored = codes.iter().filter(|c| **c == 0).count() as u64;
    let refused = codes.iter().filter(|c| **c == 50001).count();
    assert_eq!(
        (stored, refused),
        (allowed, THREADS * EACH - allowed as usize),
        "{codes:?}"
    );
    assert_eq!(used(s), (quota, allowed));
    assert_eq!(listed(s), (quota, allowed));
    wait_blobs(s, allowed as usize);
}

#[test]
fn concurrent_uploads_stop_exactly_at_the_quota() {
    let s = Server::start_with(&[QUICK_SWEEP]);
    uploads_race_against_the_quota(&s, 5);
}

/// Runs `pictor app quota ARGS --data-dir DIR [extra]` and returns its output.
fn app_quota(args: &[&str], data_dir: &Path, extra: &[&str]) -> std::process::Output {
    pictor()
        .args(["app", "quota"])
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .output()
        .expect("run pictor app quota")
}

/// The JSON object printed by a successful `pictor app quota`.
fn printed(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "pictor app quota failed: {out:?}");
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn the_cli_sets_the_quota_of_a_running_server() {
    let s = Server::start();
    let key = s.app.app_key.clone();
    assert_code(&s.upload("/a.gif", corpus(GIF), ""), 0);
    let shown = printed(&app_quota(
        &[&key, "--bytes", "1000", "--files", "3"],
        &s.data_dir,
        &[],
    ));
    assert_eq!(
        shown,
        json!({"appKey": key, "quotaBytes": 1000, "quotaFiles": 3,
               "usedBytes": size(GIF), "usedFiles": 1,
               "availableBytes": 1000 - size(GIF), "availableFiles": 2})
    );
    let u = user(&s);
    assert_eq!(
        (&u["quotaBytes"], &u["quotaFiles"]),
        (&json!(1000), &json!(3))
    );

    let shown = printed(&app_quota(&[&key, "--files", "none"], &s.data_dir, &[]));
    assert_eq!(
        (&shown["quotaBytes"], &shown["quotaFiles"]),
        (&json!(1000), &Value::Null),
        "only the limit given changes"
    );
    let unchanged = printed(&app_quota(&[&key], &s.data_dir, &[]));
    assert_eq!(unchanged, shown, "without a limit it only prints");

    printed(&app_quota(&[&key, "--files", "1"], &s.data_dir, &[]));
    assert_quota_exceeded(&s.upload("/b.gif", corpus(GIF), "")["header"]);

    let bad = app_quota(&[&key, "--bytes", "lots"], &s.data_dir, &[]);
    assert!(!bad.status.success());
    let unknown = app_quota(&["nobody", "--bytes", "1"], &s.data_dir, &[]);
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("no app has the key nobody"), "{stderr}");
}

#[test]
fn the_quota_holds_on_postgres() {
    let Some(server) = throwaway::server_or_skip("the_quota_holds_on_postgres") else {
        return;
    };
    let db = test_database::TestDatabase::create(&server, "").expect("create a test database");
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let url = ["--catalog-url", db.url.as_str()];
    let out = pictor()
        .args(["app", "create", "--name", "pg-quota", "--data-dir"])
        .arg(&data)
        .args(url)
        .output()
        .expect("run pictor app create");
    assert!(out.status.success(), "{out:?}");
    let keys = AppKeys::from_json(&serde_json::from_slice(&out.stdout).expect("JSON"));
    let shown = printed(&app_quota(&[&keys.app_key, "--files", "9"], &data, &url));
    assert_eq!(shown["quotaFiles"], 9);
    let s = Server::spawn(
        &data,
        keys,
        &[("PICTOR_CATALOG_URL", db.url.as_str()), QUICK_SWEEP],
    );
    assert_eq!(user(&s)["quotaFiles"], 9, "set in the database");
    set_user(&s, json!({"quotaFiles": null}));
    uploads_race_against_the_quota(&s, 6);
}
