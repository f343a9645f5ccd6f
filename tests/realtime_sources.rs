//! Only uploaded (`U`) files are real-time sources: a stored result (`P` file) asked for with an
//! operation answers 404 and creates nothing, so anonymous URLs cannot grow the catalog.

mod common;

use common::{assert_code, corpus, dims, Server};
use reqwest::Method;
use serde_json::json;

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

/// The names and `createdBy` of every file listed in a folder, sorted.
fn listing(s: &Server, folder: &str) -> Vec<(String, String)> {
    let list = s.json(Method::GET, &format!("folders?basepath={folder}"), None);
    assert_code(&list, 0);
    let mut files: Vec<(String, String)> = list["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["name"].as_str().expect("name").to_owned(),
                f["createdBy"].as_str().expect("createdBy").to_owned(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_stored_result_is_not_a_real_time_source() {
    let s = Server::start();
    assert_code(&s.upload("/src/photo.jpg", corpus(PHOTO), ""), 0);
    assert_code(
        &s.put_operation(
            "t",
            json!({ "data": [{ "templateOperationId": "resize_width_fit",
                               "option": {"width": 64} }] }),
        ),
        0,
    );
    let variant = s.get(&format!("{}?t", s.url("/src/photo.jpg")));
    assert_eq!(variant.status(), 200);
    assert_eq!(dims(&variant.bytes().expect("body")), (64, 48));
    let expected = vec![
        ("photo.jpg".to_owned(), "U".to_owned()),
        ("photo_t.jpg".to_owned(), "P".to_owned()),
    ];
    assert_eq!(listing(&s, "/src"), expected);

    for round in 0..3 {
        let chained = s.get(&format!("{}?t", s.url("/src/photo_t.jpg")));
        assert_eq!(
            chained.status(),
            404,
            "round {round}: a P file is no source"
        );
        let head = s
            .http
            .head(format!("{}?t", s.url("/src/photo_t.jpg")))
            .send()
            .expect("head");
        assert_eq!(head.status(), 404, "round {round}: HEAD as GET");
    }
    assert_eq!(
        listing(&s, "/src"),
        expected,
        "no result of a result was stored"
    );

    let stored = s.get(&s.url("/src/photo_t.jpg"));
    assert_eq!(stored.status(), 200, "the result itself is still delivered");
    assert_eq!(dims(&stored.bytes().expect("body")), (64, 48));
}

#[test]
fn a_folder_exec_takes_only_uploaded_files() {
    let s = Server::start();
    assert_code(&s.upload("/ex/photo.jpg", corpus(PHOTO), ""), 0);
    assert_code(
        &s.put_operation(
            "t",
            json!({ "data": [{ "templateOperationId": "resize_width_fit",
                               "option": {"width": 64} }] }),
        ),
        0,
    );
    assert_eq!(
        s.get(&format!("{}?t", s.url("/ex/photo.jpg"))).status(),
        200
    );
    let exec = s.json(
        Method::POST,
        "operations-exec",
        Some(json!({"basepath": "/", "filepaths": ["/ex"], "operationIds": ["t"]})),
    );
    assert_code(&exec, 0);
    let queues = exec["queues"].as_array().expect("queues");
    assert_eq!(queues.len(), 1, "one task: the uploaded file only");
    let id = queues[0]["queueId"].as_str().expect("queueId").to_owned();
    assert_eq!(s.wait_task(&id)["queue"]["status"], "D");
    assert_eq!(
        listing(&s, "/ex"),
        vec![
            ("photo.jpg".to_owned(), "U".to_owned()),
            ("photo_t.jpg".to_owned(), "P".to_owned()),
        ]
    );
}
