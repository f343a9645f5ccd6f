//! Copy and move (`POST /images/copy`, `POST /images/move`) over real HTTP: copies serve the
//! same bytes without writing any, moves change URLs at once (originals and real-time
//! variants, on this node and, through the PostgreSQL change feed, on another), conflicts
//! change nothing, shared bytes outlive the deletion of either side until the last one goes,
//! and `pictor check` agrees. The time to copy and move a folder is printed.
//!
//! The PostgreSQL cases use the test server of `src/catalog/postgres/throwaway.rs`; without it
//! they print why they were skipped and pass, unless `PICTOR_REQUIRE_BACKENDS=1`.

mod common;
#[path = "../src/catalog/postgres/test_database.rs"]
mod test_database;
#[path = "../src/catalog/postgres/throwaway.rs"]
mod throwaway;

use common::{assert_code, assert_result, corpus, dims, pictor, AppKeys, Server};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";
const OTHER: &str = "photos/photo_icc_adobe-rgb_rocket_640x427.jpg";
const GIF: &str = "edge/tiny_10x10.gif";

fn copy(s: &Server, body: Value) -> Value {
    s.json(Method::POST, "images/copy", Some(body))
}

fn move_to(s: &Server, body: Value) -> Value {
    s.json(Method::POST, "images/move", Some(body))
}

fn id(file: &Value) -> String {
    file["id"].as_str().expect("id").to_owned()
}

fn folder_id(s: &Server, path: &str) -> String {
    let v = s.json(Method::GET, &format!("properties/simple?path={path}"), None);
    assert_result(&v, 0);
    id(&v["folder"])
}

/// Every blob of the local store, by key, with its size.
fn blobs(data_dir: &Path) -> BTreeMap<String, u64> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, u64>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let entry = entry.expect("entry");
            let path = entry.path();
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                walk(&path, root, out);
            } else {
                let key = path.strip_prefix(root).expect("below the root");
                out.insert(key.display().to_string(), meta.len());
            }
        }
    }
    let root = data_dir.join("blobs");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out
}

/// Status, ETag and body of a GET.
fn fetch(s: &Server, url: &str) -> (u16, String, Vec<u8>) {
    let resp = s.get(url);
    let status = resp.status().as_u16();
    let etag = resp
        .headers()
        .get("etag")
        .map(|v| v.to_str().expect("etag").to_owned())
        .unwrap_or_default();
    (status, etag, resp.bytes().expect("body").to_vec())
}

/// The names of the files listed in a folder.
fn listed(s: &Server, folder: &str) -> Vec<(String, String)> {
    let v = s.json(
        Method::GET,
        &format!("folders?basepath={folder}&rows=10000"),
        None,
    );
    assert_result(&v, 0);
    v["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| (f["name"].as_str().expect("name").to_owned(), id(f)))
        .collect()
}

fn thumb_operation(s: &Server) {
    let body = json!({"realtimeService": true, "data": [{"templateOperationId": "resize_max_fit",
        "option": {"width": 64, "height": 64}}]});
    assert_code(&s.put_operation("thumb", body), 0);
}

#[test]
fn a_copy_serves_the_same_bytes_and_writes_none() {
    let s = Server::start();
    let original = s.upload_ok("/a/photo.jpg", PHOTO);
    s.upload_ok("/s/x.gif", GIF);
    s.upload_ok("/s/sub/y.gif", GIF);
    let before = blobs(&s.data_dir);
    assert_eq!(before.len(), 3);

    let v = copy(
        &s,
        json!({"fileIds": [id(&original)], "targetPath": "/b/c"}),
    );
    assert_result(&v, 0);
    let made = &v["files"][0];
    assert_ne!(id(made), id(&original), "a copy has an id of its own");
    assert_eq!(made["path"], "/b/c/photo.jpg");
    assert_eq!(made["url"].as_str(), Some(s.url("/b/c/photo.jpg").as_str()));
    assert_eq!(made["bytes"], original["bytes"]);
    for fact in ["width", "height", "coordinate"] {
        assert_eq!(made["imageProperty"][fact], original["imageProperty"][fact]);
    }
    assert_eq!(v["folders"], json!([]));

    let (status, etag, bytes) = fetch(&s, &s.url("/a/photo.jpg"));
    let (copy_status, copy_etag, copy_bytes) = fetch(&s, &s.url("/b/c/photo.jpg"));
    assert_eq!((status, copy_status), (200, 200));
    assert_eq!(copy_bytes, bytes, "identical bytes");
    assert_eq!(copy_bytes, corpus(PHOTO));
    assert_eq!(copy_etag, etag);

    let v = copy(
        &s,
        json!({"folderIds": [folder_id(&s, "/s")], "targetPath": "/t"}),
    );
    assert_result(&v, 0);
    let paths: Vec<&str> = v["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    assert_eq!(paths, ["/t/s/sub/y.gif", "/t/s/x.gif"], "in path order");
    let folders: Vec<&str> = v["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    assert_eq!(folders, ["/t/s", "/t/s/sub"]);
    for path in paths {
        let (status, _, body) = fetch(&s, &s.url(path));
        assert_eq!((status, body), (200, corpus(GIF)), "{path}");
    }
    assert_eq!(
        blobs(&s.data_dir),
        before,
        "no byte written to the object store by copies"
    );
}

#[test]
fn a_move_changes_the_urls_at_once() {
    let s = Server::start();
    thumb_operation(&s);
    let original = s.upload_ok("/a/p.jpg", PHOTO);
    let (_, etag, _) = fetch(&s, &s.url("/a/p.jpg"));
    let (status, thumb_etag, thumb) = fetch(&s, &format!("{}?thumb", s.url("/a/p.jpg")));
    assert_eq!(status, 200);
    let stored_thumb = fetch(&s, &s.url("/a/p_thumb.jpg"));
    assert_eq!(
        stored_thumb.0, 200,
        "the result is stored beside its source"
    );

    let v = move_to(&s, json!({"fileIds": [id(&original)], "targetPath": "/b"}));
    assert_result(&v, 0);
    assert_eq!(id(&v["files"][0]), id(&original), "a move keeps the id");
    assert_eq!(
        v["files"][0]["url"].as_str(),
        Some(s.url("/b/p.jpg").as_str())
    );
    assert_eq!(fetch(&s, &s.url("/a/p.jpg")).0, 404, "the old URL at once");
    assert_eq!(
        fetch(&s, &format!("{}?thumb", s.url("/a/p.jpg"))).0,
        404,
        "the old variant URL at once (it was in L1)"
    );
    let (status, new_etag, _) = fetch(&s, &s.url("/b/p.jpg"));
    assert_eq!(
        (status, new_etag),
        (200, etag),
        "the same bytes at the new URL"
    );
    let (status, new_thumb_etag, new_thumb) = fetch(&s, &format!("{}?thumb", s.url("/b/p.jpg")));
    assert_eq!(status, 200);
    assert_eq!(new_thumb_etag, thumb_etag, "the same variant");
    assert_eq!(new_thumb, thumb);

    // The stored result stays where it is, still the product of the moved file: replacing the
    // moved original renders it again there.
    assert_eq!(fetch(&s, &s.url("/a/p_thumb.jpg")), stored_thumb);
    assert_code(&s.upload("/b/p.jpg", corpus(OTHER), "overwrite=true"), 0);
    let (status, again_etag, again) = fetch(&s, &s.url("/a/p_thumb.jpg"));
    assert_eq!(status, 200, "rendered again where it is stored");
    assert_ne!(again_etag, stored_thumb.1);
    assert_ne!(again, stored_thumb.2);
    // Made from the new original: its 640x427 shape, not the old 640x480.
    let shape = |bytes: &[u8], tall: u32| {
        let (w, h) = dims(bytes);
        (i64::from(h) - i64::from(w * tall / 640)).abs() <= 1
    };
    assert!(shape(&stored_thumb.2, 480), "{:?}", dims(&stored_thumb.2));
    assert!(shape(&again, 427), "{:?}", dims(&again));

    // A folder: everything below it moves, the old URLs go at once.
    s.upload_ok("/f/g/q.jpg", PHOTO);
    assert_eq!(fetch(&s, &format!("{}?thumb", s.url("/f/g/q.jpg"))).0, 200);
    let folder = folder_id(&s, "/f");
    let v = move_to(&s, json!({"folderIds": [folder], "targetPath": "/h"}));
    assert_result(&v, 0);
    assert_eq!(id(&v["folders"][0]), folder);
    assert_eq!(v["folders"][0]["path"], "/h/f");
    for gone in ["/f/g/q.jpg", "/f/g/q.jpg?thumb", "/f/g/q_thumb.jpg"] {
        assert_eq!(fetch(&s, &s.url(gone)).0, 404, "{gone}");
    }
    for here in ["/h/f/g/q.jpg", "/h/f/g/q.jpg?thumb", "/h/f/g/q_thumb.jpg"] {
        assert_eq!(fetch(&s, &s.url(here)).0, 200, "{here}");
    }
    assert_result(&s.json(Method::GET, "folders?basepath=/f", None), 20001);
}

#[test]
fn overwrite_and_autorename_resolve_conflicts() {
    let s = Server::start();
    let mine = s.upload_ok("/a/x.jpg", PHOTO);
    let theirs = s.upload_ok("/t/x.jpg", OTHER);

    let v = copy(
        &s,
        json!({"fileIds": [id(&mine)], "targetPath": "/t", "autorename": true}),
    );
    assert_result(&v, 0);
    assert_eq!(v["files"][0]["name"], "x(1).jpg");
    assert_eq!(fetch(&s, &s.url("/t/x(1).jpg")).2, corpus(PHOTO));

    let v = copy(
        &s,
        json!({"fileIds": [id(&mine)], "targetPath": "/t", "overwrite": "true"}),
    );
    assert_result(&v, 0);
    assert_eq!(
        id(&v["files"][0]),
        id(&theirs),
        "the replaced file's id stays"
    );
    assert_eq!(fetch(&s, &s.url("/t/x.jpg")).2, corpus(PHOTO));

    let other = s.upload_ok("/m/x.jpg", OTHER);
    let v = move_to(
        &s,
        json!({"fileIds": [id(&other)], "targetPath": "/t", "overwrite": true}),
    );
    assert_result(&v, 0);
    assert_eq!(
        id(&v["files"][0]),
        id(&theirs),
        "like an overwriting upload"
    );
    assert_eq!(fetch(&s, &s.url("/t/x.jpg")).2, corpus(OTHER));
    assert_eq!(fetch(&s, &s.url("/m/x.jpg")).0, 404);

    // The moved file's own id is gone: the deletion history says so, and only that.
    let history = s.json(Method::GET, "deletions", None);
    assert_result(&history, 0);
    let entries: Vec<(String, String, String)> = history["deletions"]
        .as_array()
        .expect("deletions")
        .iter()
        .map(|d| {
            let text = |k: &str| d[k].as_str().expect("a string").to_owned();
            (text("fileId"), text("path"), text("kind"))
        })
        .collect();
    assert_eq!(
        entries,
        [(id(&other), "/m/x.jpg".to_owned(), "delete".to_owned())],
        "{history}"
    );
}

#[test]
fn conflicts_change_nothing() {
    let s = Server::start();
    let free = s.upload_ok("/a/free.gif", GIF);
    let taken = s.upload_ok("/a/taken.gif", GIF);
    s.upload_ok("/t/taken.gif", PHOTO);
    s.upload_ok("/s/d/ok.gif", GIF);
    s.upload_ok("/s/d/deep/taken.gif", GIF);
    s.upload_ok("/t/d/deep/taken.gif", PHOTO);
    let folder = folder_id(&s, "/s/d");
    let snapshot = |s: &Server| {
        ["/a", "/t", "/t/d", "/t/d/deep", "/s/d", "/s/d/deep"]
            .map(|f| listed(s, f))
            .to_vec()
    };
    let before = snapshot(&s);
    for body in [
        json!({"fileIds": [id(&free), id(&taken)], "targetPath": "/t"}),
        json!({"fileIds": [id(&free)], "folderIds": [folder], "targetPath": "/t"}),
    ] {
        assert_result(&copy(&s, body.clone()), 20010);
        assert_result(&move_to(&s, body), 20010);
        assert_eq!(snapshot(&s), before, "nothing changed");
    }
    let both = json!({"fileIds": [id(&taken), id(&taken)], "folderIds": [], "targetPath": "/new"});
    assert_result(&copy(&s, both), 0);
    assert_eq!(listed(&s, "/new").len(), 1, "an id named twice counts once");
}

#[test]
fn refusals_answer_their_codes() {
    let s = Server::start_with(&[("PICTOR_LIMITS_MAX_ITEMS", "3")]);
    let file = s.upload_ok("/a/b/c.gif", GIF);
    s.upload_ok("/a/b/d.gif", GIF);
    s.upload_ok("/a/b/e.gif", GIF);
    s.upload_ok("/a/b/f.gif", GIF);
    let a = folder_id(&s, "/a");
    let b = folder_id(&s, "/a/b");
    let root = folder_id(&s, "/");
    for (body, code) in [
        (json!({"folderIds": [a], "targetPath": "/a/b"}), 10001),
        (json!({"folderIds": [a], "targetPath": "/a"}), 10001),
        (json!({"folderIds": [root], "targetPath": "/x"}), 10001),
        (
            json!({"fileIds": [id(&file)], "folderIds": [b], "targetPath": "/x"}),
            10001,
        ),
        (json!({"targetPath": "/x"}), 10001),
        (json!({"fileIds": [id(&file)]}), 10001),
        (
            json!({"fileIds": ["x".repeat(51)], "targetPath": "/x"}),
            10001,
        ),
        (json!({"fileIds": [id(&file)], "targetPath": "/x*y"}), 11050),
        (
            json!({"fileIds": ["a", "b", "c", "d"], "targetPath": "/x"}),
            11003,
        ),
        (json!({"folderIds": [b], "targetPath": "/x"}), 11003),
        (
            json!({"fileIds": [id(&file)], "targetPath": "/a/b/c.gif/in"}),
            20002,
        ),
    ] {
        assert_result(&copy(&s, body.clone()), code);
        assert_result(&move_to(&s, body.clone()), code);
    }
    let unknown = json!({"fileIds": ["00000000-0000-4000-8000-000000000000"], "targetPath": "/x"});
    for v in [copy(&s, unknown.clone()), move_to(&s, unknown)] {
        assert_code(&v, 53001);
        assert_eq!(
            v["header"]["resultMessage"],
            "There is no file or folder with the given id."
        );
    }
    let v = s.json(Method::GET, "properties?path=/a/b", None);
    assert_eq!(v["folder"]["totalFileCount"], 4, "nothing moved");
    assert_result(&s.json(Method::GET, "folders?basepath=/x", None), 20001);
}

#[test]
fn a_copy_over_the_quota_changes_nothing() {
    let s = Server::start();
    let file = s.upload_ok("/a/x.gif", GIF);
    s.upload_ok("/a/y.gif", GIF);
    let v = s.json(Method::PUT, "users", Some(json!({"quotaFiles": 3})));
    assert_result(&v, 0);
    let a = folder_id(&s, "/a");
    let v = copy(&s, json!({"folderIds": [a], "targetPath": "/b"}));
    assert_code(&v, 50001);
    assert_result(&s.json(Method::GET, "folders?basepath=/b", None), 20001);
    assert_result(
        &copy(&s, json!({"fileIds": [id(&file)], "targetPath": "/b"})),
        0,
    );
    let v = s.json(Method::GET, "users", None);
    assert_eq!(v["user"]["usedFiles"], 3, "a copy counts as a file");
    assert_result(
        &move_to(&s, json!({"folderIds": [a], "targetPath": "/c"})),
        0,
    );
}

#[test]
fn shared_bytes_outlive_either_side_until_the_last_goes() {
    let mut s = Server::start_with(&[("PICTOR_STORAGE_RELEASE_DELAY_SECS", "1")]);
    let original = s.upload_ok("/a/o.jpg", PHOTO);
    let v = copy(&s, json!({"fileIds": [id(&original)], "targetPath": "/b"}));
    assert_result(&v, 0);
    let copied = v["files"][0].clone();
    let shared = blobs(&s.data_dir);
    assert_eq!(shared.len(), 1, "one blob for both");

    let delete = |s: &Server, file: &Value| {
        let v = s.json(
            Method::DELETE,
            &format!("images/sync?fileId={}", id(file)),
            None,
        );
        assert_result(&v, 0);
    };
    delete(&s, &original);
    // A file deleted after the original: once its bytes are gone, a sweep ran after both.
    let witness = s.upload_ok("/w.gif", GIF);
    let with_witness = blobs(&s.data_dir);
    delete(&s, &witness);
    let deadline = Instant::now() + Duration::from_secs(30);
    while blobs(&s.data_dir) != shared {
        assert!(
            Instant::now() < deadline,
            "the witness's bytes were never swept: {:?} (had {with_witness:?})",
            blobs(&s.data_dir)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let (status, _, body) = fetch(&s, &s.url("/b/o.jpg"));
    assert_eq!(
        (status, body),
        (200, corpus(PHOTO)),
        "the copy still serves"
    );
    assert_eq!(blobs(&s.data_dir), shared);

    assert_eq!(s.terminate().code(), Some(0));
    let out = pictor()
        .args(["check", "--data-dir"])
        .arg(&s.data_dir)
        .env("PICTOR_STORAGE_ORPHAN_GRACE_SECS", "0")
        .output()
        .expect("run pictor check");
    let report: Value = serde_json::from_slice(&out.stdout).expect("check prints JSON");
    assert!(out.status.success(), "check agrees: {report}");
    assert_eq!(
        (report["files"].as_u64(), report["stored"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(report["orphans"], json!([]));

    let s = Server::spawn(
        &s.data_dir.clone(),
        s.app.clone(),
        &[("PICTOR_STORAGE_RELEASE_DELAY_SECS", "1")],
    );
    delete(&s, &copied);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !blobs(&s.data_dir).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the last reference went, the bytes never did"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A server whose catalog is a fresh PostgreSQL database, its blobs in its data directory
/// (which another node may share). Dropped in field order: the server before its database.
struct PgNode {
    server: Server,
    db: test_database::TestDatabase,
    _tmp: tempfile::TempDir,
}

/// Starts a [`PgNode`], or `None` when no PostgreSQL server is at hand (skipped).
fn postgres_node(test: &str) -> Option<PgNode> {
    let server = throwaway::server_or_skip(test)?;
    let db = test_database::TestDatabase::create(&server, "").expect("create a test database");
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let out = pictor()
        .args(["app", "create", "--name", "shop", "--data-dir"])
        .arg(&data)
        .env("PICTOR_CATALOG_URL", &db.url)
        .output()
        .expect("run pictor app create");
    assert!(out.status.success(), "app create: {out:?}");
    let keys = AppKeys::from_json(&serde_json::from_slice(&out.stdout).expect("keys"));
    let server = Server::spawn(&data, keys, &[("PICTOR_CATALOG_URL", &db.url)]);
    Some(PgNode {
        server,
        db,
        _tmp: tmp,
    })
}

#[test]
fn a_move_through_one_node_reaches_the_cache_of_another() {
    let Some(node) = postgres_node("a_move_through_one_node_reaches_the_cache_of_another") else {
        return;
    };
    let a = &node.server;
    let b = Server::spawn(
        &a.data_dir,
        a.app.clone(),
        &[("PICTOR_CATALOG_URL", &node.db.url)],
    );
    thumb_operation(a);
    let file = a.upload_ok("/a/p.jpg", PHOTO);
    get_ok(a, "/a/p.jpg?thumb");
    a.upload_ok("/f/q.jpg", PHOTO);
    get_ok(a, "/f/q.jpg?thumb");
    let folder = folder_id(a, "/f");
    assert_result(
        &move_to(
            &b,
            json!({"fileIds": [id(&file)], "folderIds": [folder], "targetPath": "/n"}),
        ),
        0,
    );
    for gone in ["/a/p.jpg?thumb", "/f/q.jpg?thumb"] {
        let started = Instant::now();
        while fetch(a, &a.url(gone)).0 != 404 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{gone} still served by the other node 10 s later"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!(
            "{gone} gone on the other node after {} ms",
            started.elapsed().as_millis()
        );
    }
    get_ok(a, "/n/p.jpg?thumb");
    get_ok(a, "/n/f/q.jpg?thumb");
}

/// Asserts a GET of a catalog path (and query) answers 200.
fn get_ok(s: &Server, path_and_query: &str) {
    assert_eq!(fetch(s, &s.url(path_and_query)).0, 200, "{path_and_query}");
}

/// Fills `/src` with `n` files (a power of two) by copying all of its files into itself with
/// automatic renames, then times a copy and a move of the folder; no byte is written.
fn time_a_folder_copy(s: &Server, backend: &str) {
    let n: usize = std::env::var("PICTOR_TEST_COPY_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    s.upload_ok("/src/f.gif", GIF);
    let before = blobs(&s.data_dir);
    while listed(s, "/src").len() < n {
        let ids: Vec<String> = listed(s, "/src").into_iter().map(|(_, id)| id).collect();
        let v = copy(
            s,
            json!({"fileIds": ids, "targetPath": "/src", "autorename": true}),
        );
        assert_result(&v, 0);
    }
    let n = listed(s, "/src").len();
    let folder = folder_id(s, "/src");
    let started = Instant::now();
    let v = copy(s, json!({"folderIds": [folder], "targetPath": "/dst"}));
    let copied = started.elapsed();
    assert_result(&v, 0);
    assert_eq!(v["files"].as_array().map(Vec::len), Some(n));
    let started = Instant::now();
    let v = move_to(
        s,
        json!({"folderIds": [folder_id(s, "/dst/src")], "targetPath": "/moved"}),
    );
    let moved = started.elapsed();
    assert_result(&v, 0);
    assert_eq!(listed(s, "/moved/src").len(), n);
    assert_eq!(blobs(&s.data_dir), before, "{n} files, still one blob");
    eprintln!(
        "{backend}: copy of a folder of {n} files {} ms, move {} ms (HTTP, answer included), \
         0 bytes written",
        copied.as_millis(),
        moved.as_millis()
    );
}

#[test]
fn copying_a_folder_writes_no_bytes_sqlite() {
    time_a_folder_copy(&Server::start(), "SQLite");
}

#[test]
fn copying_a_folder_writes_no_bytes_postgres() {
    let Some(node) = postgres_node("copying_a_folder_writes_no_bytes_postgres") else {
        return;
    };
    time_a_folder_copy(&node.server, "PostgreSQL");
}
