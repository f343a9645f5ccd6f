//! Delivery error bodies are generic: storage failures are logged, never shown to clients.

mod common;

use common::{assert_code, corpus, Server};
use serde_json::json;
use std::path::{Path, PathBuf};

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

/// Every regular file below a directory.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn a_lost_blob_answers_a_generic_503() {
    let s = Server::start();
    assert_code(&s.upload("/lost/photo.jpg", corpus(PHOTO), ""), 0);
    assert_code(
        &s.put_operation(
            "t",
            json!({ "data": [{ "templateOperationId": "resize_width_fit",
                               "option": {"width": 64} }] }),
        ),
        0,
    );
    let blobs = files_below(&s.data_dir.join("blobs"));
    assert_eq!(blobs.len(), 1, "one stored original: {blobs:?}");
    let blob = &blobs[0];
    let key_part = blob
        .file_name()
        .and_then(|n| n.to_str())
        .expect("blob name")
        .to_owned();
    std::fs::remove_file(blob).expect("remove blob");

    for url in [
        format!("{}?t", s.url("/lost/photo.jpg")),
        s.url("/lost/photo.jpg"),
    ] {
        let resp = s.get(&url);
        assert_eq!(resp.status(), 503, "{url}");
        assert_eq!(resp.headers()["cache-control"], "no-store", "{url}");
        let body = resp.text().expect("body");
        assert_eq!(body, "service unavailable\n", "{url}");
        for secret in [
            key_part.as_str(),
            s.app.container.as_str(),
            "blob",
            "storage",
            "not found",
        ] {
            assert!(
                !body.contains(secret),
                "{url}: body leaks {secret:?}: {body}"
            );
        }
    }
}

#[test]
fn an_undecodable_original_answers_a_generic_422() {
    let s = Server::start();
    assert_code(
        &s.upload(
            "/bad/trunc.jpg",
            corpus("malformed/truncated_jpeg_first10000bytes.jpg"),
            "",
        ),
        0,
    );
    assert_code(
        &s.put_operation(
            "thumb",
            json!({ "data": [{ "templateOperationId": "resize_max_fit",
                               "option": {"width": 100, "height": 100} }] }),
        ),
        0,
    );
    let resp = s.get(&format!("{}?thumb", s.url("/bad/trunc.jpg")));
    assert_eq!(resp.status(), 422);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.text().expect("body"), "image cannot be processed\n");
}

#[test]
fn refusals_name_only_their_status() {
    let s = Server::start();
    assert_code(&s.upload("/rf/photo.jpg", corpus(PHOTO), ""), 0);
    let mut off = json!({ "data": [{ "templateOperationId": "gray", "option": {} }] });
    off["realtimeService"] = json!(false);
    assert_code(&s.put_operation("off", off), 0);
    let on = json!({ "data": [{ "templateOperationId": "gray", "option": {} }] });
    assert_code(&s.put_operation("on", on), 0);
    let cases = [
        ("/rf/photo.jpg?nosuch", 404, "not found\n"),
        ("/rf/missing.jpg?on", 404, "not found\n"),
        ("/rf/photo.jpg?off", 403, "forbidden\n"),
    ];
    for (path, status, body) in cases {
        let resp = s.get(&s.url(path));
        assert_eq!(resp.status(), status, "{path}");
        assert_eq!(resp.text().expect("body"), body, "{path}");
    }
}
