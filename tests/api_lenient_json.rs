//! JSON bodies in the form older clients send: the older guide's single-quoted curl bodies,
//! and the Python-requests multipart upload whose `params` is a Python dict's text followed by
//! a second `params` part. Strict JSON keeps working, and a body that is neither form answers
//! as it always did.

mod common;

use common::{assert_code, assert_result, corpus, dims, names, Server};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

const PNG: &str = "alpha/semi_transparent_uniform_256x192.png";
const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

/// Sends `body` as-is with `Content-Type: application/json`.
fn raw_json(s: &Server, method: Method, rest: &str, body: &str) -> Value {
    s.send_json(
        s.call(method, rest)
            .header("Content-Type", "application/json")
            .body(body.to_owned()),
    )
}

/// The older guide's `PUT /operations/100x100` body.
const OLDER_OPERATION: &str = "{'description': '', 'realtimeService': true, 'data': [{'templateOperationId': 'resize_max_fit', \
'option': {'resizeType': 'max_fit', 'width': 100, 'height': 100, 'quality': 80, 'shrinkLargerOnly': \
false}}]}";

#[test]
fn older_guide_folder_body() {
    let s = Server::start();
    let v = raw_json(&s, Method::POST, "folders", "{'path': '/myfolder'}");
    assert_code(&v, 0);
    assert_eq!(v["folder"]["path"], "/myfolder", "{v}");
    let list = s.json(Method::GET, "folders?basepath=/myfolder", None);
    assert_code(&list, 0);
}

#[test]
fn older_guide_multipart_params() {
    let s = Server::start();
    let form = Form::new()
        .text(
            "params",
            "{'basepath': '/myfolder/banner', 'overwrite': true}",
        )
        .part("files", Part::bytes(corpus(PNG)).file_name("left.png"))
        .part("files", Part::bytes(corpus(PNG)).file_name("right.png"));
    let v = s.multipart(form);
    assert_result(&v, 0);
    assert_eq!(names(&v, "successes"), ["left.png", "right.png"]);
    let got = s.get(&s.url("/myfolder/banner/right.png"));
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().expect("body").to_vec(), corpus(PNG));
}

#[test]
fn older_guide_operation_exec_and_user_bodies() {
    let s = Server::start();
    let put = raw_json(&s, Method::PUT, "operations/100x100", OLDER_OPERATION);
    assert_code(&put, 0);
    let job = &put["operation"]["jobTemplate"][0];
    assert_eq!(job["templateOperationId"], "resize_max_fit", "{put}");
    assert_eq!(job["option"]["width"], 100);
    assert_eq!(job["option"]["height"], 100);
    assert_eq!(put["operation"]["realtimeService"], true);

    s.upload_ok("/myfolder/left.png", PNG);
    s.upload_ok("/myfolder/right.jpg", PHOTO);
    let exec = raw_json(
        &s,
        Method::POST,
        "operations-exec",
        "{'basepath': '/myfolder', 'operationIds': ['100x100'], 'filepaths': ['/myfolder/left.png', \
'/myfolder/right.jpg']}",
    );
    assert_code(&exec, 0);
    let queues = exec["queues"].as_array().expect("queues");
    assert_eq!(queues.len(), 2, "{exec}");
    for q in queues {
        let id = q["queueId"].as_str().expect("queueId");
        assert_eq!(s.wait_task(id)["queue"]["status"], "D");
    }
    for (path, want) in [
        ("/myfolder/left_100x100.png", (100, 75)),
        ("/myfolder/right_100x100.jpg", (100, 75)),
    ] {
        let got = s.get(&s.url(path));
        assert_eq!(got.status(), 200, "{path}");
        assert_eq!(dims(&got.bytes().expect("body")), want, "{path}");
    }

    let user = raw_json(&s, Method::PUT, "users", "{'realtimeService': false}");
    assert_code(&user, 0);
    let user = s.json(Method::GET, "users", None);
    assert_eq!(user["user"]["realtimeService"], false, "{user}");
}

/// The body Python `requests` sends for `data={'params': (params, 'multipart/form-data')}`
/// with one file: the dict's `str()` in a first `params` part, the tuple's second item in a
/// second `params` part, then the file.
fn python_requests_body(boundary: &str, params: &str, file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for text in [params, "multipart/form-data"] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n{text}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"photo.jpg\"\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

#[test]
fn python_requests_multipart_with_two_params_parts() {
    let s = Server::start();
    let op = s.put_operation(
        "a",
        json!({"data": [{"templateOperationId": "resize_width_fit", "option": {"width": 64}}]}),
    );
    assert_code(&op, 0);
    let boundary = "9b1f0c3c5a0e4d2b8c7a6f5e4d3c2b1a";
    let sample =
        "{'basepath': '/x', 'overwrite': 'false', 'operationIds': ['a'], 'callbackUrl': ''}";
    let v = s.multipart_raw(
        boundary,
        python_requests_body(boundary, sample, &corpus(PHOTO)),
    );
    assert_result(&v, 0);
    assert_eq!(names(&v, "successes"), ["photo.jpg"]);
    assert_eq!(v["successes"][0]["path"], "/x/photo.jpg");
    assert_eq!(
        v["successes"][0]["queues"].as_array().map(Vec::len),
        Some(1),
        "one task for operation a: {v}"
    );
    let got = s.get(&s.url("/x/photo.jpg"));
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().expect("body").to_vec(), corpus(PHOTO));

    let again = s.multipart_raw(
        boundary,
        python_requests_body(boundary, sample, &corpus(PHOTO)),
    );
    assert_result(&again, 2);
    assert_eq!(again["errors"][0]["error"]["resultCode"], 20010, "{again}");

    let python = "{'basepath': '/x', 'overwrite': True, 'autorename': False, 'callbackUrl': None}";
    let v = s.multipart_raw(
        boundary,
        python_requests_body(boundary, python, &corpus(PNG)),
    );
    assert_result(&v, 0);
    let got = s.get(&s.url("/x/photo.jpg"));
    assert_eq!(
        got.bytes().expect("body").to_vec(),
        corpus(PNG),
        "overwritten"
    );
}

#[test]
fn strict_json_still_works() {
    let s = Server::start();
    let v = raw_json(&s, Method::POST, "folders", r#"{"path": "/strict"}"#);
    assert_code(&v, 0);
    let form = Form::new()
        .text("params", r#"{"basepath": "/strict", "overwrite": true}"#)
        .part("files", Part::bytes(corpus(PNG)).file_name("a.png"));
    assert_result(&s.multipart(form), 0);
    let op = raw_json(
        &s,
        Method::PUT,
        "operations/t",
        r#"{"data": [{"templateOperationId": "resize_width_fit", "option": {"width": 64}}]}"#,
    );
    assert_code(&op, 0);
    let op = raw_json(
        &s,
        Method::PUT,
        "operations/t",
        r#"{"realtimeService": false}"#,
    );
    assert_code(&op, 0);
    assert_eq!(op["operation"]["jobTemplate"][0]["option"]["width"], 64);
}

#[test]
fn lenient_put_without_data_keeps_the_stored_jobs() {
    let s = Server::start();
    assert_code(
        &raw_json(&s, Method::PUT, "operations/100x100", OLDER_OPERATION),
        0,
    );
    let op = raw_json(
        &s,
        Method::PUT,
        "operations/100x100",
        "{'realtimeService': False, 'description': 'thumbs'}",
    );
    assert_code(&op, 0);
    assert_eq!(op["operation"]["realtimeService"], false, "{op}");
    assert_eq!(op["operation"]["description"], "thumbs");
    assert_eq!(op["operation"]["jobTemplate"][0]["option"]["width"], 100);
}

#[test]
fn bodies_in_neither_form_answer_as_before() {
    let s = Server::start();
    for body in [
        "{'path': }",
        "{'path': '/a}",
        "{path: '/a'}",
        "multipart/form-data",
    ] {
        let v = raw_json(&s, Method::POST, "folders", body);
        assert_code(&v, 10001);
        let op = raw_json(&s, Method::PUT, "operations/bad", body);
        assert_code(&op, 40004);
        let boundary = "b0undary";
        let form = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n{body}\r\n--{boundary}--\r\n"
        );
        assert_code(&s.multipart_raw(boundary, form.into_bytes()), 10001);
    }
}
