//! `pictor_catalog_errors_total` and `pictor_blob_errors_total` count failures of the stores
//! once each, and never the refusals the API answers with its own result codes.

mod common;

use common::{assert_code, corpus, metric_sum, Server};
use serde_json::json;
use std::path::{Path, PathBuf};

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

/// The two store failure counters, as `/metrics` shows them.
fn store_errors(s: &Server) -> (f64, f64) {
    let text = s.metrics();
    (
        metric_sum(&text, "pictor_catalog_errors_total", &[]),
        metric_sum(&text, "pictor_blob_errors_total", &[]),
    )
}

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
fn store_failures_are_counted_once_and_refusals_never() {
    let s = Server::start();
    assert_code(&s.upload("/c/photo.jpg", corpus(PHOTO), ""), 0);
    assert_code(
        &s.put_operation(
            "t",
            json!({ "data": [{ "templateOperationId": "resize_width_fit",
                               "option": {"width": 64} }] }),
        ),
        0,
    );

    assert_code(&s.upload("/c/photo.jpg", corpus(PHOTO), ""), 20010);
    assert_code(&s.mkdir("/d"), 0);
    assert_code(&s.mkdir("/d"), 20000);
    assert_eq!(s.get(&s.url("/c/absent.jpg")).status(), 404);
    assert_eq!(store_errors(&s), (0.0, 0.0), "refusals are not failures");

    // The bytes of a file never read are lost: one failed stream.
    let before = files_below(&s.data_dir.join("blobs"));
    assert_code(&s.upload("/c/lost.jpg", corpus(PHOTO), ""), 0);
    let added: Vec<PathBuf> = files_below(&s.data_dir.join("blobs"))
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    assert_eq!(added.len(), 1, "one new blob: {added:?}");
    std::fs::remove_file(&added[0]).expect("remove blob");
    assert_eq!(s.get(&s.url("/c/lost.jpg")).status(), 503);
    assert_eq!(store_errors(&s), (0.0, 1.0), "one blob failure");

    // The catalog refuses to record results: one failed `put_file` for the render.
    let conn = rusqlite::Connection::open(s.data_dir.join("catalog.sqlite3")).expect("open");
    conn.execute_batch(
        "CREATE TRIGGER refuse_results BEFORE INSERT ON files WHEN NEW.created_by = 'P'
         BEGIN SELECT RAISE(ABORT, 'results refused'); END;",
    )
    .expect("trigger");
    drop(conn);
    assert_eq!(s.get(&format!("{}?t", s.url("/c/photo.jpg"))).status(), 503);
    assert_eq!(store_errors(&s), (1.0, 1.0), "one catalog failure");
}
