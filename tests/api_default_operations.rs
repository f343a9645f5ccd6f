//! Standard sizes: the operations an app sets in `defaultOperationIds` run on every upload (raw,
//! multipart, zip entries) as if it named them, after the ones it names and each once; their
//! outputs appear with the operation's dimensions; a default deleted since is skipped.

mod common;

use common::{assert_code, corpus, dims, names, Server};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Write;

/// 640 x 480.
const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

/// Creates an operation fitting images into `width` x `height`.
fn fit(s: &Server, id: &str, width: u32, height: u32) {
    let saved = s.put_operation(
        id,
        json!({"description": "", "realtimeService": false,
               "data": [{"templateOperationId": "resize_max_fit",
                         "option": {"width": width, "height": height}}]}),
    );
    assert_code(&saved, 0);
}

/// A server whose app runs `small` (100 x 100) and `medium` (320 x 320) on every upload.
fn with_standard_sizes() -> Server {
    let s = Server::start();
    fit(&s, "small", 100, 100);
    fit(&s, "medium", 320, 320);
    let set = s.json(
        Method::PUT,
        "users",
        Some(json!({"defaultOperationIds": ["small", "medium"]})),
    );
    assert_code(&set, 0);
    s
}

/// The operation ids of a file's queues, in order, after waiting for each task to succeed.
fn run_queues(s: &Server, file: &Value) -> Vec<String> {
    file["queues"]
        .as_array()
        .unwrap_or_else(|| panic!("queues in {file}"))
        .iter()
        .map(|q| {
            let task = s.wait_task(q["queueId"].as_str().expect("queueId"));
            assert_eq!(task["queue"]["status"], "D", "{task}");
            q["operationId"].as_str().expect("operationId").to_owned()
        })
        .collect()
}

/// The dimensions of the image delivered at a stored path.
fn delivered_dims(s: &Server, path: &str) -> (u32, u32) {
    let resp = s.get(&s.url(path));
    assert_eq!(resp.status(), 200, "{path}");
    dims(&resp.bytes().expect("body"))
}

/// The produced files of a folder, by name.
fn produced(s: &Server, folder: &str) -> Vec<String> {
    let list = s.json(
        Method::GET,
        &format!("folders?basepath={folder}&createdBy=P"),
        None,
    );
    assert_code(&list, 0);
    names(&list, "files")
}

#[test]
fn a_raw_upload_runs_the_default_operations() {
    let s = with_standard_sizes();
    let up = s.upload("/lib/a.jpg", corpus(PHOTO), "");
    assert_code(&up, 0);
    assert_eq!(run_queues(&s, &up["file"]), ["small", "medium"]);
    assert_eq!(produced(&s, "/lib"), ["a_medium.jpg", "a_small.jpg"]);
    assert_eq!(delivered_dims(&s, "/lib/a_small.jpg"), (100, 75));
    assert_eq!(delivered_dims(&s, "/lib/a_medium.jpg"), (320, 240));
}

fn zip_of(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(name, zip::write::SimpleFileOptions::default())
        .expect("entry");
    zip.write_all(bytes).expect("write");
    zip.finish().expect("zip").into_inner()
}

#[test]
fn multipart_files_and_zip_entries_run_the_default_operations() {
    let s = with_standard_sizes();
    let form = Form::new()
        .text("params", json!({"basepath": "/multi"}).to_string())
        .part("files", Part::bytes(corpus(PHOTO)).file_name("b.jpg"))
        .part(
            "files",
            Part::bytes(zip_of("zipped/c.jpg", &corpus(PHOTO))).file_name("bundle.zip"),
        );
    let v = s.multipart(form);
    assert_code(&v, 0);
    let stored = v["successes"].as_array().expect("successes");
    assert_eq!(stored.len(), 2, "{v}");
    for file in stored {
        assert_eq!(run_queues(&s, file), ["small", "medium"], "{file}");
    }
    assert_eq!(produced(&s, "/multi"), ["b_medium.jpg", "b_small.jpg"]);
    assert_eq!(
        produced(&s, "/multi/zipped"),
        ["c_medium.jpg", "c_small.jpg"]
    );
    assert_eq!(delivered_dims(&s, "/multi/b_small.jpg"), (100, 75));
    assert_eq!(delivered_dims(&s, "/multi/zipped/c_medium.jpg"), (320, 240));
}

#[test]
fn an_upload_naming_a_default_operation_runs_it_once_and_first() {
    let s = with_standard_sizes();
    fit(&s, "tiny", 10, 10);
    let up = s.upload(
        "/named/d.jpg",
        corpus(PHOTO),
        "operationIds=medium,tiny,medium",
    );
    assert_code(&up, 0);
    assert_eq!(run_queues(&s, &up["file"]), ["medium", "tiny", "small"]);
    assert_eq!(
        produced(&s, "/named"),
        ["d_medium.jpg", "d_small.jpg", "d_tiny.jpg"]
    );
    assert_eq!(delivered_dims(&s, "/named/d_tiny.jpg"), (10, 8));
}

#[test]
fn a_default_operation_deleted_since_is_skipped() {
    let s = with_standard_sizes();
    let deleted = s.json(Method::DELETE, "operations/small", None);
    assert_code(&deleted, 0);
    let up = s.upload("/gone/e.jpg", corpus(PHOTO), "");
    assert_code(&up, 0);
    assert_eq!(run_queues(&s, &up["file"]), ["medium"]);
    assert_eq!(produced(&s, "/gone"), ["e_medium.jpg"]);
    let named = s.upload("/gone/f.jpg", corpus(PHOTO), "operationIds=small");
    assert_code(&named, 10001);
    let user = s.json(Method::GET, "users", None);
    assert_eq!(
        user["user"]["defaultOperationIds"],
        json!(["small", "medium"]),
        "the setting is kept as it was set"
    );
}
