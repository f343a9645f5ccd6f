//! Deletion API and the Task API for `delete` tasks.

mod common;

use common::{assert_code, corpus, Server};
use reqwest::Method;
use serde_json::json;

#[test]
fn synchronous_deletion_of_files_and_folders() {
    let s = Server::start();
    let gif = corpus("edge/tiny_10x10.gif");
    let file = s.upload("/del/sub/a1.gif", gif.clone(), "");
    let other = s.upload("/del/b1.gif", gif.clone(), "");
    assert_code(&s.upload("/keep/c1.gif", gif, ""), 0);
    let id = file["file"]["id"].as_str().expect("id");
    assert_code(
        &s.json(Method::DELETE, &format!("images/sync?fileId={id}"), None),
        0,
    );
    assert_eq!(s.get(&s.url("/del/sub/a1.gif")).status(), 404);
    assert_code(
        &s.json(Method::DELETE, &format!("images/sync?fileId={id}"), None),
        21011,
    );

    let folder = s.json(Method::GET, "properties/simple?path=/del", None);
    let folder_id = folder["folder"]["id"].as_str().expect("id");
    assert_code(
        &s.json(
            Method::DELETE,
            &format!("images/sync?folderId={folder_id}"),
            None,
        ),
        0,
    );
    assert_eq!(
        s.get(&s.url("/del/b1.gif")).status(),
        404,
        "everything below is gone"
    );
    assert_code(
        &s.json(Method::GET, "folders?basepath=/del/sub", None),
        20001,
    );
    assert_eq!(
        s.get(&s.url("/keep/c1.gif")).status(),
        200,
        "other folders untouched"
    );
    assert!(other["file"]["id"].is_string());

    assert_code(&s.json(Method::DELETE, "images/sync", None), 10001);
    let long = "x".repeat(51);
    assert_code(
        &s.json(Method::DELETE, &format!("images/sync?fileId={long}"), None),
        10001,
    );
}

#[test]
fn asynchronous_deletion_runs_as_a_task() {
    let s = Server::start();
    let gif = corpus("edge/tiny_10x10.gif");
    let a = s.upload("/bulk/a1.gif", gif.clone(), "");
    let b = s.upload("/bulk/b1.gif", gif.clone(), "");
    assert_code(&s.upload("/bulk/inner/c1.gif", gif, ""), 0);
    let inner = s.json(Method::GET, "properties/simple?path=/bulk/inner", None);
    let ids = format!(
        "images/async?fileIds={},{}&folderIds={}",
        a["file"]["id"].as_str().expect("id"),
        b["file"]["id"].as_str().expect("id"),
        inner["folder"]["id"].as_str().expect("id")
    );
    let v = s.json(Method::DELETE, &ids, None);
    assert_code(&v, 0);
    let q = &v["queue"];
    assert_eq!(q["queueType"], "delete");
    assert_eq!(q["status"], "W");
    assert_eq!(q["tryCount"], 0);
    assert_eq!(q["operationId"], "");
    assert_eq!(q["url"], "");
    let done = s.wait_task(q["queueId"].as_str().expect("id"));
    assert_eq!(done["queue"]["status"], "D");
    assert_eq!(done["queue"]["tryCount"], 1);
    let left = s.json(Method::GET, "properties?path=/bulk", None);
    assert_eq!(left["folder"]["totalFileCount"], 0);
    assert_eq!(left["folder"]["totalFolderCount"], 0);

    assert_code(
        &s.json(Method::DELETE, "images/async?fileIds=nope1,nope2", None),
        21011,
    );
    assert_code(&s.json(Method::DELETE, "images/async", None), 10001);
    let many = vec!["x"; 10_001].join(",");
    assert_code(
        &s.json(
            Method::DELETE,
            &format!("images/async?fileIds={many}"),
            None,
        ),
        21003,
    );
    assert_code(&s.json(Method::GET, "queues/unknown-queue", None), 10001);
}

#[test]
fn users_realtime_flag() {
    let s = Server::start();
    let v = s.json(Method::GET, "users", None);
    assert_code(&v, 0);
    assert_eq!(v["user"]["appKey"], s.app.app_key);
    assert_eq!(v["user"]["containerName"], s.app.container);
    assert_eq!(v["user"]["realtimeService"], true);
    assert_code(
        &s.json(
            Method::PUT,
            "users",
            Some(json!({"realtimeService": false})),
        ),
        0,
    );
    assert_eq!(
        s.json(Method::GET, "users", None)["user"]["realtimeService"],
        false
    );
    assert_code(&s.json(Method::PUT, "users", Some(json!({}))), 10001);
    assert_code(
        &s.json(
            Method::PUT,
            "users",
            Some(json!({"realtimeService": "maybe"})),
        ),
        10001,
    );
}
