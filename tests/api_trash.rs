//! Trash and deletion history over real HTTP: deletion as the guide has it while an app keeps
//! no trash; with a trash, deleted files answer 404 at once, are listed in `GET /trash`, come
//! back with `POST /trash/restore` (same id and ETag, renamed when the path was taken), are
//! purged by `DELETE /trash` or by the sweep once their retention ran out; `GET /deletions`
//! lists every file deleted, trashed or purged since a time. `pictor check` and `pictor
//! migrate` keep the trash, `migrate` the deletion history too; two nodes on one PostgreSQL
//! catalog share them (skipped without the test servers, see `tests/multi_node.rs`).

mod common;
#[path = "../src/catalog/postgres/test_database.rs"]
mod test_database;
#[path = "../src/catalog/postgres/throwaway.rs"]
mod throwaway;

use common::{assert_code, assert_result, corpus, names, AppKeys, Server, S3};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const GIF: &str = "edge/tiny_10x10.gif";
const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

/// Keeps the app's deleted files `days` days in the trash.
fn keep_trash(s: &Server, days: u32) {
    let v = s.json(
        Method::PUT,
        "users",
        Some(json!({ "trashRetentionDays": days })),
    );
    assert_result(&v, 0);
}

/// Uploads a file and returns its `file` object.
fn upload(s: &Server, path: &str) -> Value {
    let v = s.upload(path, corpus(GIF), "");
    assert_result(&v, 0);
    v["file"].clone()
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("id in {v}"))
        .to_owned()
}

fn folder_id(s: &Server, path: &str) -> String {
    let v = s.json(Method::GET, &format!("properties/simple?path={path}"), None);
    assert_result(&v, 0);
    id(&v["folder"])
}

/// The delivery answer's status and ETag.
fn fetch(s: &Server, path: &str) -> (u16, Option<String>) {
    let resp = s.get(&s.url(path));
    let etag = resp
        .headers()
        .get("etag")
        .map(|v| v.to_str().expect("ascii").to_owned());
    (resp.status().as_u16(), etag)
}

fn delete_file(s: &Server, file_id: &str) {
    let v = s.json(
        Method::DELETE,
        &format!("images/sync?fileId={file_id}"),
        None,
    );
    assert_result(&v, 0);
}

/// The items of `GET /trash`.
fn trash(s: &Server) -> Vec<Value> {
    let v = s.json(Method::GET, "trash", None);
    assert_result(&v, 0);
    let items = v["items"].as_array().expect("items").clone();
    assert_eq!(v["paging"]["totalCount"], items.len(), "{v}");
    items
}

fn restore(s: &Server, body: Value) -> Value {
    s.json(Method::POST, "trash/restore", Some(body))
}

/// `(kind, path)` of each entry of `GET /deletions` (since `since`, when given).
fn history(s: &Server, since: Option<&str>) -> Vec<(String, String)> {
    let query = since.map_or("deletions".to_owned(), |t| {
        format!("deletions?since={}", t.replace('+', "%2B"))
    });
    let v = s.json(Method::GET, &query, None);
    assert_result(&v, 0);
    v["deletions"]
        .as_array()
        .expect("deletions")
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().expect("kind").to_owned(),
                d["path"].as_str().expect("path").to_owned(),
            )
        })
        .collect()
}

/// Asserts the answer refused an id that is not in the trash.
fn assert_not_in_trash(v: &Value) {
    assert_code(v, 51001);
    assert_eq!(
        v["header"]["resultMessage"], "The item to restore is not in the trash.",
        "{v}"
    );
}

#[test]
fn without_a_trash_deletion_is_immediate_as_the_guide_says() {
    let s = Server::start();
    let a = upload(&s, "/album/a.gif");
    delete_file(&s, &id(&a));
    assert_eq!(fetch(&s, "/album/a.gif").0, 404);
    assert!(trash(&s).is_empty(), "nothing goes to the trash");
    assert_result(
        &s.json(
            Method::DELETE,
            &format!("images/sync?fileId={}", id(&a)),
            None,
        ),
        21011,
    );
    assert_eq!(
        history(&s, None),
        [("delete".to_owned(), "/album/a.gif".to_owned())]
    );
    assert_not_in_trash(&restore(&s, json!({ "fileIds": [id(&a)] })));
}

#[test]
fn a_trashed_file_answers_404_and_comes_back_with_its_id_and_etag() {
    let s = Server::start();
    keep_trash(&s, 30);
    let a = upload(&s, "/album/a.gif");
    upload(&s, "/album/b.gif");
    let (status, etag) = fetch(&s, "/album/a.gif");
    assert_eq!(status, 200);

    delete_file(&s, &id(&a));
    assert_eq!(fetch(&s, "/album/a.gif").0, 404, "gone at once");
    let listing = s.json(Method::GET, "folders?basepath=/album", None);
    assert_eq!(names(&listing, "files"), ["b.gif"]);
    let items = trash(&s);
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item["id"], a["id"]);
    assert_eq!(item["isFolder"], false);
    assert_eq!(item["path"], "/album/a.gif");
    assert_eq!(item["name"], "a.gif");
    assert_eq!(item["bytes"], a["bytes"]);
    assert_eq!(item["totalFileCount"], 1);
    for field in ["deletedAt", "purgeAt"] {
        assert_eq!(item[field].as_str().map(str::len), Some(24), "{item}");
    }
    assert!(item["purgeAt"].as_str() > item["deletedAt"].as_str());
    assert_result(
        &s.json(
            Method::DELETE,
            &format!("images/sync?fileId={}", id(&a)),
            None,
        ),
        21011,
    );

    let v = restore(&s, json!({ "fileIds": [id(&a)] }));
    assert_result(&v, 0);
    let back = &v["restored"][0];
    assert_eq!(back["id"], a["id"]);
    assert_eq!(back["path"], "/album/a.gif");
    assert_eq!(back["renamed"], false);
    assert_eq!(back["url"], a["url"]);
    assert_eq!(
        fetch(&s, "/album/a.gif"),
        (200, etag),
        "same bytes, same ETag"
    );
    let listing = s.json(Method::GET, "folders?basepath=/album", None);
    let files = listing["files"].as_array().expect("files");
    let listed = files.iter().find(|f| f["name"] == "a.gif").expect("a.gif");
    assert_eq!(listed["id"], a["id"]);
    assert!(trash(&s).is_empty());
    assert_eq!(
        history(&s, None),
        [("trash".to_owned(), "/album/a.gif".to_owned())],
        "a restore is no deletion"
    );
}

#[test]
fn a_restore_onto_a_taken_path_renames_and_makes_missing_folders() {
    let s = Server::start();
    keep_trash(&s, 30);
    let a = upload(&s, "/album/a.gif");
    let (_, etag) = fetch(&s, "/album/a.gif");
    delete_file(&s, &id(&a));
    let newer = upload(&s, "/album/a.gif");
    let v = restore(&s, json!({ "fileIds": [id(&a)] }));
    assert_result(&v, 0);
    assert_eq!(v["restored"][0]["path"], "/album/a(1).gif");
    assert_eq!(v["restored"][0]["renamed"], true);
    assert_eq!(fetch(&s, "/album/a(1).gif"), (200, etag));
    assert_eq!(fetch(&s, "/album/a.gif").0, 200, "the newer file stays");
    assert_ne!(newer["id"], a["id"]);

    let deep = upload(&s, "/trip/day1/c.gif");
    delete_file(&s, &id(&deep));
    let trip = folder_id(&s, "/trip");
    assert_result(
        &s.json(
            Method::DELETE,
            &format!("images/sync?folderId={trip}"),
            None,
        ),
        0,
    );
    assert_eq!(trash(&s).len(), 2, "the file, and the folder it left");
    let v = restore(&s, json!({ "fileIds": [id(&deep)] }));
    assert_result(&v, 0);
    assert_eq!(
        fetch(&s, "/trip/day1/c.gif").0,
        200,
        "its folders are made again"
    );
}

#[test]
fn a_folder_goes_to_the_trash_whole_with_the_thumbnails_of_its_files() {
    let s = Server::start();
    keep_trash(&s, 30);
    let thumb = json!({ "data": [{ "templateOperationId": "resize_max_fit",
                                   "option": { "width": 100, "height": 100 } }] });
    assert_code(&s.put_operation("thumb", thumb), 0);
    let up = s.upload("/trip/photo.jpg", corpus(PHOTO), "operationIds=thumb");
    assert_code(&up, 0);
    let task = up["file"]["queues"][0]["queueId"].as_str().expect("queue");
    assert_eq!(s.wait_task(task)["queue"]["status"], "D");
    upload(&s, "/trip/day2/b.gif");
    let (_, photo_etag) = fetch(&s, "/trip/photo.jpg");
    assert_eq!(fetch(&s, "/trip/photo_thumb.jpg").0, 200);
    let trip = folder_id(&s, "/trip");

    let v = s.json(
        Method::DELETE,
        &format!("images/async?folderIds={trip}"),
        None,
    );
    assert_result(&v, 0);
    let queue = v["queue"]["queueId"].as_str().expect("queue id");
    assert_eq!(s.wait_task(queue)["queue"]["status"], "D");
    for gone in [
        "/trip/photo.jpg",
        "/trip/photo_thumb.jpg",
        "/trip/day2/b.gif",
    ] {
        assert_eq!(fetch(&s, gone).0, 404, "{gone}");
    }
    assert_result(&s.json(Method::GET, "folders?basepath=/trip", None), 20001);
    let items = trash(&s);
    assert_eq!(items.len(), 1, "one item: {items:?}");
    assert_eq!(items[0]["isFolder"], true);
    assert_eq!(items[0]["path"], "/trip");
    assert_eq!(items[0]["totalFileCount"], 3);

    let v = restore(&s, json!({ "folderIds": [trip.clone()] }));
    assert_result(&v, 0);
    assert_eq!(v["restored"][0]["isFolder"], true);
    assert!(v["restored"][0].get("url").is_none(), "a folder has no URL");
    assert_eq!(folder_id(&s, "/trip"), trip, "the folder keeps its id");
    assert_eq!(fetch(&s, "/trip/photo.jpg"), (200, photo_etag));
    assert_eq!(
        fetch(&s, "/trip/photo_thumb.jpg").0,
        200,
        "the thumbnail follows"
    );
    assert_eq!(fetch(&s, "/trip/day2/b.gif").0, 200);
}

#[test]
fn items_are_purged_by_id_or_all_at_once() {
    let s = Server::start();
    keep_trash(&s, 30);
    let files: Vec<Value> = ["/p/a.gif", "/p/b.gif", "/p/c.gif"]
        .iter()
        .map(|path| upload(&s, path))
        .collect();
    for f in &files {
        delete_file(&s, &id(f));
    }
    assert_eq!(trash(&s).len(), 3);

    let v = s.json(
        Method::DELETE,
        &format!("trash?fileIds={}", id(&files[0])),
        None,
    );
    assert_result(&v, 0);
    assert_eq!(v["purgedCount"], 1);
    assert_eq!(trash(&s).len(), 2);
    assert_result(
        &s.json(
            Method::DELETE,
            &format!("trash?fileIds={}", id(&files[0])),
            None,
        ),
        21011,
    );
    assert_not_in_trash(&restore(&s, json!({ "fileIds": [id(&files[0])] })));

    let v = s.json(Method::DELETE, "trash", None);
    assert_result(&v, 0);
    assert_eq!(v["purgedCount"], 2);
    assert!(trash(&s).is_empty());
    assert_eq!(s.json(Method::DELETE, "trash", None)["purgedCount"], 0);
    let purged: Vec<(String, String)> = history(&s, None)
        .into_iter()
        .filter(|(kind, _)| kind == "purge")
        .collect();
    assert_eq!(purged.len(), 3);
    assert_result(&s.upload("/p/a.gif", corpus(GIF), ""), 0);
}

#[test]
fn the_sweep_purges_items_whose_retention_ran_out() {
    let s = Server::start_with(&[
        ("PICTOR_TRASH_DAY_SECS", "1"),
        ("PICTOR_STORAGE_RELEASE_DELAY_SECS", "1"),
    ]);
    keep_trash(&s, 2);
    let a = upload(&s, "/a.gif");
    delete_file(&s, &id(&a));
    assert_eq!(trash(&s).len(), 1);
    let blobs = s.data_dir.join("blobs");
    let stored = || walk_files(&blobs).len();
    assert_eq!(stored(), 1, "the trashed bytes stay");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !trash(&s).is_empty() {
        assert!(Instant::now() < deadline, "not purged within 20 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        history(&s, None),
        [
            ("trash".to_owned(), "/a.gif".to_owned()),
            ("purge".to_owned(), "/a.gif".to_owned()),
        ]
    );
    while stored() > 0 {
        assert!(Instant::now() < deadline, "bytes not deleted within 20 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_deletion_history_lists_every_kind_since_a_time() {
    let s = Server::start();
    keep_trash(&s, 30);
    let a = upload(&s, "/h/a.gif");
    let b = upload(&s, "/h/b.gif");
    delete_file(&s, &id(&a));
    let v = s.json(Method::DELETE, &format!("trash?fileIds={}", id(&a)), None);
    assert_result(&v, 0);
    std::thread::sleep(Duration::from_millis(1100));
    keep_trash(&s, 0);
    delete_file(&s, &id(&b));

    let v = s.json(Method::GET, "deletions", None);
    assert_result(&v, 0);
    assert_eq!(v["paging"]["totalCount"], 3);
    let entries = v["deletions"].as_array().expect("deletions");
    let kinds: Vec<&str> = entries
        .iter()
        .map(|d| d["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["trash", "purge", "delete"], "oldest first");
    assert_eq!(entries[0]["fileId"], a["id"]);
    assert_eq!(entries[2]["fileId"], b["id"]);
    assert_eq!(entries[2]["path"], "/h/b.gif");
    let last = entries[2]["deletedAt"].as_str().expect("time").to_owned();
    assert_eq!(
        history(&s, Some(&last)),
        [("delete".to_owned(), "/h/b.gif".to_owned())],
        "since is inclusive, to the second"
    );
    assert!(history(&s, Some("2999-01-01T00:00:00Z")).is_empty());
    assert_eq!(history(&s, Some("2000-01-01T00:00:00+09:00")).len(), 3);
    let paged = s.json(Method::GET, "deletions?page=2&rows=2", None);
    assert_result(&paged, 0);
    assert_eq!(paged["deletions"][0]["kind"], "delete");
    assert_eq!(paged["paging"]["page"], 2);
    for bad in ["yesterday", "2016-02-26", "2016-13-01T00:00:00Z"] {
        assert_result(
            &s.json(Method::GET, &format!("deletions?since={bad}"), None),
            10001,
        );
    }
}

#[test]
fn trash_requests_are_checked_and_bounded() {
    let s = Server::start_with(&[("PICTOR_LIMITS_MAX_ITEMS", "3")]);
    keep_trash(&s, 30);
    assert_result(&restore(&s, json!({})), 10001);
    assert_result(&restore(&s, json!({ "fileIds": [] })), 10001);
    assert_result(&restore(&s, json!({ "fileIds": ["x".repeat(51)] })), 10001);
    assert_result(
        &restore(
            &s,
            json!({ "fileIds": ["a", "b"], "folderIds": ["c", "d"] }),
        ),
        11003,
    );
    assert_result(
        &s.json(Method::DELETE, "trash?fileIds=a,b&folderIds=c,d", None),
        21003,
    );
    assert_result(&s.json(Method::GET, "trash?rows=4", None), 11003);
    assert_result(&s.json(Method::GET, "trash?rows=0", None), 10001);
    assert_result(&s.json(Method::GET, "deletions?rows=4", None), 11003);

    // All or nothing: one unknown id keeps every item in the trash.
    let a = upload(&s, "/a.gif");
    delete_file(&s, &id(&a));
    assert_not_in_trash(&restore(
        &s,
        json!({ "fileIds": [id(&a), "00000000-0000-4000-8000-000000000000"] }),
    ));
    assert_not_in_trash(&restore(&s, json!({ "folderIds": [id(&a)] })));
    assert_eq!(trash(&s).len(), 1);
    assert_eq!(fetch(&s, "/a.gif").0, 404);
    // A parameter without an id is refused, never read as "empty the whole trash".
    for query in ["fileIds=", "fileIds=,", "folderIds=%20"] {
        let v = s.json(Method::DELETE, &format!("trash?{query}"), None);
        assert_result(&v, 10001);
    }
    assert_eq!(trash(&s).len(), 1, "nothing purged");
    // Repeated ids count once; a comma-separated string is a list too.
    let v = restore(&s, json!({ "fileIds": format!("{0},{0}", id(&a)) }));
    assert_result(&v, 0);
    assert_eq!(v["restored"].as_array().map(Vec::len), Some(1));
    assert_eq!(fetch(&s, "/a.gif").0, 200);
}

/// Runs `pictor <args>` on stopped data directories; its success and its JSON report.
fn run(args: &[&std::ffi::OsStr]) -> (bool, Value) {
    let out = common::pictor()
        .args(args)
        .env("PICTOR_LOG_LEVEL", "warn")
        .output()
        .expect("run pictor");
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {out:?}"));
    (out.status.success(), report)
}

#[test]
fn check_and_migrate_keep_the_trash_and_the_deletion_history() {
    let mut s = Server::start();
    keep_trash(&s, 30);
    let a = upload(&s, "/t/a.gif");
    let (_, etag) = fetch(&s, "/t/a.gif");
    delete_file(&s, &id(&a));
    keep_trash(&s, 0);
    let b = upload(&s, "/t/b.gif");
    delete_file(&s, &id(&b));
    let before = s.json(Method::GET, "deletions", None);
    assert_result(&before, 0);
    assert_eq!(before["paging"]["totalCount"], 2, "{before}");
    assert_eq!(s.terminate().code(), Some(0));
    // Old enough to be an orphan, were it not referenced.
    for entry in walk_files(&s.data_dir.join("blobs")) {
        let file = std::fs::File::options()
            .write(true)
            .open(&entry)
            .expect("open");
        file.set_modified(std::time::SystemTime::now() - Duration::from_secs(2 * 3600))
            .expect("age the blob");
    }
    let data = s.data_dir.as_os_str();
    let (clean, report) = run(&[
        "check".as_ref(),
        "--repair".as_ref(),
        "--data-dir".as_ref(),
        data,
    ]);
    assert!(clean, "trashed bytes are referenced: {report}");
    assert_eq!(report["orphans"], json!([]), "{report}");
    assert_eq!(report["files"], 1, "{report}");

    let target = s.data_dir.with_file_name("target");
    let migrate = |target: &std::path::Path| {
        run(&[
            "migrate".as_ref(),
            "--from-data-dir".as_ref(),
            data,
            "--data-dir".as_ref(),
            target.as_os_str(),
        ])
    };
    let (ok, report) = migrate(&target);
    assert!(ok, "{report}");
    assert_eq!(report["copied"]["trashedFiles"], 1, "{report}");
    assert_eq!(report["copied"]["blobs"], 1, "{report}");
    assert_eq!(report["copied"]["deletions"], 2, "{report}");
    let (ok, again) = migrate(&target);
    assert!(ok, "{again}");
    assert_eq!(again["copied"]["trashedFiles"], 0, "{again}");
    assert_eq!(again["present"]["trashedFiles"], 1, "{again}");
    assert_eq!(again["copied"]["deletions"], 0, "{again}");
    assert_eq!(again["present"]["deletions"], 2, "{again}");

    let moved = Server::spawn(&target, s.app.clone(), &[]);
    let after = moved.json(Method::GET, "deletions", None);
    assert_eq!(
        after["deletions"], before["deletions"],
        "the same entries, times and order"
    );
    let items = trash(&moved);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], a["id"]);
    assert_result(&restore(&moved, json!({ "fileIds": [id(&a)] })), 0);
    assert_eq!(fetch(&moved, "/t/a.gif"), (200, etag));
}

/// The paths of the files below a directory, at any depth.
fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .map_while(Result::ok)
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk_files(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

/// GETs `url` until it answers `status`, for at most ten seconds (a change made on one node
/// reaches the other's cache through the catalog's change feed).
fn until_status(node: &Server, url: &str, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if node.get(url).status().as_u16() == status {
            return;
        }
        assert!(Instant::now() < deadline, "{url} never answered {status}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_nodes_on_postgres_share_the_trash() {
    let test = "two_nodes_on_postgres_share_the_trash";
    let Some(server) = throwaway::server_or_skip(test) else {
        return;
    };
    let Some(s3) = S3::get() else {
        return;
    };
    let db = test_database::TestDatabase::create(&server, "").expect("a test database");
    let bucket = s3.bucket(test);
    let env = s3.node_env(&bucket, "pictor", &db.url);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = common::pictor()
        .args(["app", "create", "--name", "shop", "--data-dir"])
        .arg(tmp.path().join("create"))
        .envs(env.iter().copied())
        .output()
        .expect("run pictor app create");
    assert!(out.status.success(), "app create: {out:?}");
    let keys = AppKeys::from_json(&serde_json::from_slice(&out.stdout).expect("JSON"));
    let a = Server::spawn(&tmp.path().join("a"), keys.clone(), &env);
    let b = Server::spawn(&tmp.path().join("b"), keys, &env);

    keep_trash(&a, 30);
    let thumb = json!({ "data": [{ "templateOperationId": "resize_max_fit",
                                   "option": { "width": 100, "height": 100 } }] });
    assert_code(&a.put_operation("thumb", thumb), 0);
    let up = a.upload("/shop/photo.jpg", corpus(PHOTO), "");
    assert_result(&up, 0);
    let (_, etag) = fetch(&a, "/shop/photo.jpg");
    let variant = format!("{}?thumb", b.url("/shop/photo.jpg"));
    assert_eq!(
        b.get(&variant).status(),
        200,
        "B renders and keeps the variant"
    );
    assert_eq!(b.get(&variant).status(), 200, "from B's memory");

    delete_file(&a, &id(&up["file"]));
    until_status(&b, &variant, 404);
    assert_eq!(fetch(&b, "/shop/photo.jpg").0, 404);
    let items = trash(&b);
    assert_eq!(items.len(), 1, "one trash for every node");
    // The result B stored went with its source.
    let held = items[0]["totalFileCount"].as_u64().expect("count");
    assert!((1..=2).contains(&held), "{items:?}");

    let v = restore(&b, json!({ "fileIds": [id(&up["file"])] }));
    assert_result(&v, 0);
    assert_eq!(fetch(&a, "/shop/photo.jpg"), (200, etag));
    assert_eq!(
        a.get(&format!("{}?thumb", a.url("/shop/photo.jpg")))
            .status(),
        200
    );

    delete_file(&b, &id(&up["file"]));
    let v = a.json(Method::DELETE, "trash", None);
    assert_result(&v, 0);
    assert_eq!(v["purgedCount"], 1);
    assert!(trash(&b).is_empty());
    let kinds: Vec<String> = history(&b, None)
        .into_iter()
        .map(|(kind, _)| kind)
        .collect();
    let expected: Vec<&str> = ["trash", "trash", "purge"]
        .iter()
        .flat_map(|kind| std::iter::repeat_n(*kind, held as usize))
        .collect();
    assert_eq!(kinds, expected, "one entry per file, each time");
}
