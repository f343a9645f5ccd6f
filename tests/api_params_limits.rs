//! Operation ids are taken once each and capped per request (`limits.max_operation_ids`), on
//! `PUT /images`, `POST /images` and `POST /operations-exec`; the multipart `params` part is
//! capped (`limits.max_params_bytes`).

mod common;

use common::{assert_result, corpus, Server};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

const GIF: &str = "edge/tiny_10x10.gif";

/// Saves `n` operations `op0..op{n-1}` and returns their ids.
fn save_operations(s: &Server, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let id = format!("op{i}");
            let v = s.put_operation(&id, json!({"data": [{"templateOperationId": "gray"}]}));
            assert_result(&v, 0);
            id
        })
        .collect()
}

fn queue_operations(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("`{key}` array in {v}"))
        .iter()
        .map(|q| {
            q["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("operationId in {q}"))
                .to_owned()
        })
        .collect()
}

fn multipart(params: String) -> Form {
    Form::new()
        .text("params", params)
        .part("files", Part::bytes(corpus(GIF)).file_name("a.gif"))
}

#[test]
fn put_images_takes_each_operation_once_and_caps_them() {
    let s = Server::start();
    let ids = save_operations(&s, 21);
    let v = s.upload("/dup.gif", corpus(GIF), "operationIds=op1,op0,op1,op0,op1");
    assert_result(&v, 0);
    assert_eq!(queue_operations(&v["file"], "queues"), ["op1", "op0"]);
    let v = s.upload(
        "/twenty.gif",
        corpus(GIF),
        &format!("operationIds={}", ids[..20].join(",")),
    );
    assert_result(&v, 0);
    assert_eq!(queue_operations(&v["file"], "queues").len(), 20);
    let v = s.upload(
        "/many.gif",
        corpus(GIF),
        &format!("operationIds={}", ids.join(",")),
    );
    assert_result(&v, 10001);
    assert_eq!(s.get(&s.url("/many.gif")).status(), 404, "nothing stored");
}

#[test]
fn post_images_takes_each_operation_once_and_caps_them() {
    let s = Server::start();
    let ids = save_operations(&s, 21);
    let v = s.multipart(multipart(
        json!({"basepath": "/dup", "operationIds": ["op2", "op2", "op0", "op2"]}).to_string(),
    ));
    assert_result(&v, 0);
    assert_eq!(
        queue_operations(&v["successes"][0], "queues"),
        ["op2", "op0"]
    );
    let v = s.multipart(multipart(
        json!({"basepath": "/many", "operationIds": ids}).to_string(),
    ));
    assert_result(&v, 10001);
    assert_eq!(s.get(&s.url("/many/a.gif")).status(), 404, "nothing stored");
}

#[test]
fn operations_exec_takes_each_operation_once_and_caps_them() {
    let s = Server::start();
    let ids = save_operations(&s, 21);
    s.upload_ok("/shop/a.gif", GIF);
    let v = s.json(
        Method::POST,
        "operations-exec",
        Some(json!({"basepath": "/shop", "filepaths": ["a.gif"],
                    "operationIds": "op3,op3,op1,op3"})),
    );
    assert_result(&v, 0);
    assert_eq!(queue_operations(&v, "queues"), ["op3", "op1"]);
    let v = s.json(
        Method::POST,
        "operations-exec",
        Some(json!({"basepath": "/shop", "filepaths": ["a.gif"], "operationIds": ids})),
    );
    assert_result(&v, 10001);
}

/// A `params` JSON object of exactly `len` bytes (the upload replaces the file it names).
fn params_of_len(len: usize) -> String {
    let base = json!({"basepath": "/pp", "overwrite": true, "pad": ""}).to_string();
    let pad = "x".repeat(len - base.len());
    let params = json!({"basepath": "/pp", "overwrite": true, "pad": pad}).to_string();
    assert_eq!(params.len(), len);
    params
}

#[test]
fn the_params_part_is_capped() {
    let s = Server::start();
    let v = s.multipart(multipart(params_of_len(65_536)));
    assert_result(&v, 0);
    let v = s.multipart(multipart(params_of_len(65_537)));
    assert_result(&v, 10001);
    let v = s.multipart(multipart(params_of_len(4 * 1024 * 1024)));
    assert_result(&v, 10001);
}
