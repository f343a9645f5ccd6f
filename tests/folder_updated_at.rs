//! A folder's `updatedAt` moves when an entry is added to it or removed from it (its
//! immediate parent only; the catalog unit tests cover every kind of change with set times).

mod common;

use common::{assert_code, corpus, Server};
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

const GIF: &str = "edge/tiny_10x10.gif";

/// The listed `updatedAt` of each folder directly below the root.
fn folder_times(s: &Server) -> Vec<(String, String)> {
    let list = s.json(Method::GET, "folders?basepath=/", None);
    list["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .map(|f: &Value| {
            (
                f["path"].as_str().expect("path").to_owned(),
                f["updatedAt"].as_str().expect("updatedAt").to_owned(),
            )
        })
        .collect()
}

#[test]
fn uploads_and_deletions_move_the_folder_time() {
    let s = Server::start();
    assert_code(&s.mkdir("/add"), 0);
    assert_code(&s.mkdir("/sub"), 0);
    let up = s.upload("/del/x.gif", corpus(GIF), "");
    assert_code(&up, 0);
    let id = up["file"]["id"].as_str().expect("id").to_owned();
    let before = folder_times(&s);
    // The listed times have a resolution of one second.
    std::thread::sleep(Duration::from_millis(1100));
    assert_code(&s.upload("/add/y.gif", corpus(GIF), ""), 0);
    assert_code(
        &s.json(Method::DELETE, &format!("images/sync?fileId={id}"), None),
        0,
    );
    assert_code(&s.mkdir("/sub/inner"), 0);
    let after = folder_times(&s);
    assert_eq!(before.len(), 3);
    for ((path, was), (same, now)) in before.iter().zip(&after) {
        assert_eq!(path, same);
        assert!(now > was, "{path}: updatedAt {was} then {now}");
    }
}
