//! Deletion API (synchronous and asynchronous) and the Task API for `delete` tasks.

mod common;

use common::{assert_date, assert_result, assert_uuid, corpus, names, Server};
use reqwest::Method;
use serde_json::Value;
use std::time::{Duration, Instant};

const GIF: &str = "edge/tiny_10x10.gif";

fn id_of(v: &Value, key: &str) -> String {
    v[key]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{key}.id in {v}"))
        .to_owned()
}

fn folder_id(s: &Server, path: &str) -> String {
    let v = s.json(Method::GET, &format!("properties/simple?path={path}"), None);
    assert_result(&v, 0);
    id_of(&v, "folder")
}

/// Polls `GET /queues/{id}` until status D (at most 10 s) and returns the last answer.
fn poll_done(s: &Server, queue_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = s.json(Method::GET, &format!("queues/{queue_id}"), None);
        assert_result(&v, 0);
        let status = v["queue"]["status"].as_str().expect("status").to_owned();
        assert!(
            ["W", "P", "D"].contains(&status.as_str()),
            "unexpected task status: {v}"
        );
        if status == "D" {
            return v;
        }
        assert!(Instant::now() < deadline, "task not done within 10 s: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sync_delete_of_a_file() {
    let s = Server::start();
    let a = s.upload("/del/a1.gif", corpus(GIF), "");
    let b = s.upload("/del/b1.gif", corpus(GIF), "");
    let id = id_of(&a, "file");
    assert_eq!(s.get(&s.url("/del/a1.gif")).status(), 200);
    let v = s.json(Method::DELETE, &format!("images/sync?fileId={id}"), None);
    assert_result(&v, 0);
    assert_eq!(s.get(&s.url("/del/a1.gif")).status(), 404);
    assert_eq!(s.get(&s.url("/del/b1.gif")).status(), 200, "siblings stay");
    let list = s.json(Method::GET, "folders?basepath=/del", None);
    assert_eq!(names(&list, "files"), ["b1.gif"]);
    assert_eq!(list["files"][0]["id"], b["file"]["id"]);
    // Deleting it again: nothing to delete.
    assert_result(
        &s.json(Method::DELETE, &format!("images/sync?fileId={id}"), None),
        21011,
    );
    // The name is free again.
    assert_result(&s.upload("/del/a1.gif", corpus(GIF), ""), 0);
}

#[test]
fn sync_delete_of_a_folder_removes_everything_below() {
    let s = Server::start();
    assert_result(&s.upload("/tree/sub/a1.gif", corpus(GIF), ""), 0);
    assert_result(&s.upload("/tree/sub/deeper/b1.gif", corpus(GIF), ""), 0);
    assert_result(&s.upload("/tree/c1.gif", corpus(GIF), ""), 0);
    assert_result(&s.upload("/keep/d1.gif", corpus(GIF), ""), 0);
    assert_result(&s.upload("/treehouse/e1.gif", corpus(GIF), ""), 0);
    let id = folder_id(&s, "/tree");
    let v = s.json(
        Method::DELETE,
        &format!("images/sync?folderId={id}&includeThumbnail=true"),
        None,
    );
    assert_result(&v, 0);
    for gone in [
        "/tree/sub/a1.gif",
        "/tree/sub/deeper/b1.gif",
        "/tree/c1.gif",
    ] {
        assert_eq!(s.get(&s.url(gone)).status(), 404, "{gone}");
    }
    for path in ["/tree", "/tree/sub", "/tree/sub/deeper"] {
        assert_result(
            &s.json(Method::GET, &format!("folders?basepath={path}"), None),
            20001,
        );
    }
    assert_eq!(s.get(&s.url("/keep/d1.gif")).status(), 200);
    assert_eq!(
        s.get(&s.url("/treehouse/e1.gif")).status(),
        200,
        "a folder sharing the prefix is untouched"
    );
    let root = s.json(Method::GET, "folders?basepath=/", None);
    assert_eq!(names(&root, "folders"), ["keep", "treehouse"]);
    assert_result(
        &s.json(Method::DELETE, &format!("images/sync?folderId={id}"), None),
        21011,
    );
}

#[test]
fn sync_delete_parameter_errors() {
    let s = Server::start();
    assert_result(&s.json(Method::DELETE, "images/sync", None), 10001);
    assert_result(
        &s.json(Method::DELETE, "images/sync?includeThumbnail=true", None),
        10001,
    );
    assert_result(
        &s.json(
            Method::DELETE,
            "images/sync?fileId=00000000-0000-4000-8000-000000000000",
            None,
        ),
        21011,
    );
    assert_result(
        &s.json(
            Method::DELETE,
            "images/sync?folderId=00000000-0000-4000-8000-000000000000",
            None,
        ),
        21011,
    );
    // A file id is not a folder id.
    let f = s.upload("/ids/a1.gif", corpus(GIF), "");
    let fid = id_of(&f, "file");
    assert_result(
        &s.json(Method::DELETE, &format!("images/sync?folderId={fid}"), None),
        21011,
    );
    assert_eq!(s.get(&s.url("/ids/a1.gif")).status(), 200);
}

#[test]
fn async_delete_returns_a_task_that_completes() {
    let s = Server::start();
    let a = s.upload("/bulk/a1.gif", corpus(GIF), "");
    let b = s.upload("/bulk/b1.gif", corpus(GIF), "");
    assert_result(&s.upload("/bulk/inner/c1.gif", corpus(GIF), ""), 0);
    assert_result(&s.upload("/bulk/keep.gif", corpus(GIF), ""), 0);
    let inner = folder_id(&s, "/bulk/inner");
    let v = s.json(
        Method::DELETE,
        &format!(
            "images/async?fileIds={},{}&folderIds={inner}",
            id_of(&a, "file"),
            id_of(&b, "file")
        ),
        None,
    );
    assert_result(&v, 0);
    let q = &v["queue"];
    assert_uuid(&q["queueId"]);
    assert_eq!(q["queueType"], "delete");
    assert_eq!(q["status"], "W");
    assert_eq!(q["tryCount"], 0);
    assert_date(&q["queuedAt"]);
    assert_eq!(q["operationId"], "");
    assert_eq!(q["url"], "");
    assert_eq!(q["name"], "");
    assert_eq!(q["path"], "");

    let done = poll_done(&s, q["queueId"].as_str().expect("queueId"));
    assert_eq!(done["queue"]["queueId"], q["queueId"]);
    assert_eq!(done["queue"]["queueType"], "delete");
    assert_date(&done["queue"]["queuedAt"]);
    for gone in ["/bulk/a1.gif", "/bulk/b1.gif", "/bulk/inner/c1.gif"] {
        assert_eq!(s.get(&s.url(gone)).status(), 404, "{gone}");
    }
    assert_eq!(s.get(&s.url("/bulk/keep.gif")).status(), 200);
    let left = s.json(Method::GET, "properties?path=/bulk", None);
    assert_eq!(left["folder"]["totalFileCount"], 1);
    assert_eq!(left["folder"]["totalFolderCount"], 0);
}

#[test]
fn async_delete_with_some_unknown_ids_deletes_the_known_ones() {
    let s = Server::start();
    let a = s.upload("/mixed/a1.gif", corpus(GIF), "");
    let v = s.json(
        Method::DELETE,
        &format!(
            "images/async?fileIds={},00000000-0000-4000-8000-000000000000",
            id_of(&a, "file")
        ),
        None,
    );
    assert_result(&v, 0);
    poll_done(&s, v["queue"]["queueId"].as_str().expect("queueId"));
    assert_eq!(s.get(&s.url("/mixed/a1.gif")).status(), 404);
}

#[test]
fn async_delete_errors_and_unknown_queue() {
    let s = Server::start();
    assert_result(&s.json(Method::DELETE, "images/async", None), 10001);
    assert_result(
        &s.json(Method::DELETE, "images/async?fileIds=&folderIds=", None),
        10001,
    );
    assert_result(
        &s.json(Method::DELETE, "images/async?fileIds=nope1,nope2", None),
        21011,
    );
    assert_result(
        &s.json(Method::DELETE, "images/async?folderIds=nope3", None),
        21011,
    );
    let many = vec!["x"; 10_001].join(",");
    assert_result(
        &s.json(
            Method::DELETE,
            &format!("images/async?fileIds={many}"),
            None,
        ),
        21003,
    );
    let split = format!(
        "images/async?fileIds={}&folderIds={}",
        vec!["f"; 5_001].join(","),
        vec!["d"; 5_000].join(",")
    );
    assert_result(&s.json(Method::DELETE, &split, None), 21003);
    assert_result(&s.json(Method::GET, "queues/unknown-queue", None), 10001);
    assert_result(
        &s.json(
            Method::GET,
            "queues/00000000-0000-4000-8000-000000000000",
            None,
        ),
        10001,
    );
}
