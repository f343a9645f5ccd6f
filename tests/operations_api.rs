//! Image Operation API: create, modify, list, get, delete, templates, and their errors.

mod common;

use common::{assert_code, assert_date, corpus, Server};
use reqwest::Method;
use serde_json::json;

#[test]
fn create_modify_get_list_delete() {
    let s = Server::start();
    let body = json!({"description": "small thumbs", "realtimeService": true, "data": [
        {"templateOperationId": "resize_max_fit",
         "option": {"resizeType": "max_fit", "width": 100, "height": 100, "quality": 80,
                    "upDownSizeType": "downOnly"}}]});
    let created = s.put_operation("100x100", body);
    assert_code(&created, 0);
    let op = &created["operation"];
    assert_eq!(op["appKey"], s.app.app_key);
    assert_eq!(op["operationId"], "100x100");
    assert_eq!(op["description"], "small thumbs");
    assert_eq!(op["realtimeService"], true);
    let job = &op["jobTemplate"][0];
    assert_eq!(job["templateOperationId"], "resize_max_fit");
    assert_eq!(job["jobType"], "ResizeJob");
    assert_eq!(job["option"]["quality"], 80);
    assert_eq!(job["option"]["keepExif"], true);
    assert_eq!(job["option"]["autoOrient"], false);
    assert_eq!(job["option"]["keepAnimation"], true);
    assert_eq!(job["option"]["shrinkLargerOnly"], false);

    let gray = json!({"data": [{"templateOperationId": "gray"}]});
    assert_code(&s.put_operation("bw", gray.clone()), 0);
    assert_code(&s.put_operation("bw-2", gray), 0);

    let got = s.json(Method::GET, "operations/100x100", None);
    assert_code(&got, 0);
    assert_eq!(got["operation"]["jobTemplate"], op["jobTemplate"]);

    let by_name = s.json(Method::GET, "operations?sort=name:asc", None);
    let names: Vec<&str> = by_name["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .filter_map(|o| o["operationId"].as_str())
        .collect();
    assert_eq!(names, ["100x100", "bw", "bw-2"]);
    assert_eq!(by_name["paging"]["totalCount"], 3);
    let prefixed = s.json(
        Method::GET,
        "operations?name=bw&rows=1&page=2&sort=name:asc",
        None,
    );
    assert_eq!(prefixed["paging"]["totalCount"], 2);
    assert_eq!(prefixed["operations"][0]["operationId"], "bw-2");

    let modified = s.put_operation(
        "bw",
        json!({"description": "now resized", "data": [
            {"templateOperationId": "resize_fix", "option": {"width": 10, "height": 10}}]}),
    );
    assert_eq!(
        modified["operation"]["jobTemplate"][0]["templateOperationId"],
        "resize_fix"
    );

    assert_code(&s.json(Method::DELETE, "operations/bw", None), 0);
    assert_code(&s.json(Method::GET, "operations/bw", None), 10001);
    assert_code(&s.json(Method::DELETE, "operations/bw", None), 10001);
}

#[test]
fn templates_are_listed_with_defaults() {
    let s = Server::start();
    let list = s.json(Method::GET, "operations?template=true&rows=100", None);
    assert_code(&list, 0);
    let ops = list["operations"].as_array().expect("operations");
    assert_eq!(list["paging"]["totalCount"], 11);
    let ids: Vec<&str> = ops
        .iter()
        .filter_map(|o| o["operationId"].as_str())
        .collect();
    for t in [
        "resize_max_fit",
        "gray",
        "rectangle",
        "circle",
        "slice",
        "grid",
        "watermark",
    ] {
        assert!(ids.contains(&t), "{t} missing from {ids:?}");
    }
    let rect = ops
        .iter()
        .find(|o| o["operationId"] == "rectangle")
        .expect("rectangle");
    assert_eq!(rect["jobTemplate"][0]["option"]["gravity"], "Center");
    assert_eq!(rect["jobTemplate"][0]["option"]["keepAnimation"], false);
    for op in ops {
        assert_eq!(op["appKey"], s.app.app_key.as_str(), "{op}");
        assert_date(&op["updatedAt"]);
        assert_eq!(
            op["jobTemplate"][0]["templateOperationId"],
            op["operationId"]
        );
    }
}

#[test]
fn invalid_operations_name_the_field() {
    let s = Server::start();
    let cases = [
        (
            json!({"data": [{"templateOperationId": "sharpen"}]}),
            40003,
            "sharpen",
        ),
        (
            json!({"data": [{"templateOperationId": "resize_fix", "option": {"width": "wide", "height": 1}}]}),
            40004,
            "data[0].option.width",
        ),
        (
            json!({"data": [{"templateOperationId": "resize_fix", "option": {"width": 10, "height": 10, "quality": 0}}]}),
            10001,
            "quality",
        ),
        (
            json!({"data": [{"templateOperationId": "gray"}, {"templateOperationId": "gray"}]}),
            10001,
            "twice",
        ),
        (
            json!({"data": [{"templateOperationId": "circle", "option": {"radius": 5}}, {"templateOperationId": "resize_fix", "option": {"width": 1, "height": 1}}]}),
            10001,
            "ordered",
        ),
        (
            json!({"description": "x".repeat(31), "data": [{"templateOperationId": "gray"}]}),
            10001,
            "description",
        ),
    ];
    for (body, code, needle) in cases {
        let v = s.put_operation("bad", body.clone());
        assert_code(&v, code);
        let msg = v["header"]["resultMessage"].as_str().unwrap_or("");
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    assert_code(
        &s.put_operation(
            "this-name-is-too-long-for-it",
            json!({"data": [{"templateOperationId": "gray"}]}),
        ),
        10001,
    );
    assert_code(&s.json(Method::GET, "operations/bad", None), 10001);
}

#[test]
fn delete_thumbnail_removes_the_results() {
    let s = Server::start();
    let thumb = json!({"data": [{"templateOperationId": "resize_max_fit", "option": {"width": 50, "height": 50}}]});
    assert_code(&s.put_operation("tiny", thumb.clone()), 0);
    assert_code(
        &s.upload(
            "/shop/photo.jpg",
            corpus("photos/photo_small_nikon-p6000_gps_640x480.jpg"),
            "",
        ),
        0,
    );
    assert_eq!(
        s.get(&format!("{}?tiny", s.url("/shop/photo.jpg")))
            .status(),
        200
    );
    assert_eq!(s.get(&s.url("/shop/photo_tiny.jpg")).status(), 200);

    let mut edit = thumb.clone();
    edit["deleteThumbnail"] = json!(true);
    assert_code(&s.put_operation("tiny", edit), 0);
    assert_eq!(
        s.get(&s.url("/shop/photo_tiny.jpg")).status(),
        404,
        "edit with deleteThumbnail"
    );

    assert_eq!(
        s.get(&format!("{}?tiny", s.url("/shop/photo.jpg")))
            .status(),
        200
    );
    assert_code(
        &s.json(
            Method::DELETE,
            "operations/tiny?deleteThumbnail=false",
            None,
        ),
        0,
    );
    assert_eq!(
        s.get(&s.url("/shop/photo_tiny.jpg")).status(),
        200,
        "kept without the flag"
    );
    assert_code(&s.put_operation("tiny", thumb), 0);
    assert_code(
        &s.json(Method::DELETE, "operations/tiny?deleteThumbnail=true", None),
        0,
    );
    assert_eq!(s.get(&s.url("/shop/photo_tiny.jpg")).status(), 404);
}

#[test]
fn unknown_operation_ids_on_upload_and_exec() {
    let s = Server::start();
    let up = s.upload(
        "/shop/photo.jpg",
        corpus("edge/tiny_10x10.gif"),
        "operationIds=nope",
    );
    assert_code(&up, 10001);
    let exec = s.json(
        Method::POST,
        "operations-exec",
        Some(
            json!({"basepath": "/shop", "filepaths": ["/shop/none.jpg"], "operationIds": ["nope"]}),
        ),
    );
    assert_code(&exec, 10001);
}

#[test]
fn put_without_data_changes_only_the_given_fields() {
    let s = Server::start();
    let body = json!({"description": "thumbs", "data": [
        {"templateOperationId": "resize_max_fit",
         "option": {"width": 120, "height": 90, "quality": 80}}]});
    let created = s.put_operation("keep", body);
    assert_code(&created, 0);
    let jobs = created["operation"]["jobTemplate"].clone();
    assert_eq!(jobs[0]["option"]["width"], 120);

    let flipped = s.put_operation("keep", json!({"realtimeService": false}));
    assert_code(&flipped, 0);
    let got = s.json(Method::GET, "operations/keep", None);
    assert_code(&got, 0);
    assert_eq!(got["operation"]["jobTemplate"], jobs, "jobs kept");
    assert_eq!(got["operation"]["realtimeService"], false);
    assert_eq!(
        got["operation"]["description"], "thumbs",
        "description kept"
    );

    let renamed = s.put_operation("keep", json!({"description": "renamed", "data": null}));
    assert_code(&renamed, 0);
    assert_eq!(renamed["operation"]["description"], "renamed");
    assert_eq!(renamed["operation"]["realtimeService"], false, "kept");
    assert_eq!(renamed["operation"]["jobTemplate"], jobs);

    let too_long = s.put_operation("keep", json!({"description": "x".repeat(31)}));
    assert_code(&too_long, 10001);
    assert_code(
        &s.put_operation("missing", json!({"realtimeService": false})),
        40003,
    );
    assert_code(&s.json(Method::GET, "operations/missing", None), 10001);
}

#[test]
fn put_without_data_still_deletes_thumbnails() {
    let s = Server::start();
    let thumb = json!({"data": [{"templateOperationId": "resize_max_fit",
                                 "option": {"width": 50, "height": 50}}]});
    assert_code(&s.put_operation("tiny", thumb), 0);
    s.upload_ok(
        "/shop/photo.jpg",
        "photos/photo_small_nikon-p6000_gps_640x480.jpg",
    );
    assert_eq!(
        s.get(&format!("{}?tiny", s.url("/shop/photo.jpg")))
            .status(),
        200
    );
    assert_eq!(s.get(&s.url("/shop/photo_tiny.jpg")).status(), 200);
    let edit = s.put_operation("tiny", json!({"deleteThumbnail": true}));
    assert_code(&edit, 0);
    assert_eq!(edit["operation"]["jobTemplate"][0]["option"]["width"], 50);
    assert_eq!(s.get(&s.url("/shop/photo_tiny.jpg")).status(), 404);
}

#[test]
fn split_callback_url_is_checked_and_shown() {
    let s = Server::start();
    let with_url = |url: &str| {
        json!({"data": [{"templateOperationId": "grid",
                         "option": {"countX": 2, "countY": 2, "callbackUrl": url}}]})
    };
    assert_code(
        &s.put_operation("cells", with_url("http://127.0.0.1:8080/cb")),
        11051,
    );
    assert_code(
        &s.put_operation("cells", with_url("ftp://example.com/cb")),
        11051,
    );
    assert_code(&s.json(Method::GET, "operations/cells", None), 10001);

    let url = "https://hooks.example.com/cb?id=9";
    assert_code(&s.put_operation("cells", with_url(url)), 0);
    let got = s.json(Method::GET, "operations/cells", None);
    let option = &got["operation"]["jobTemplate"][0]["option"];
    assert_eq!(option["callbackUrl"], url);
    assert_eq!(option["countX"], 2);

    let slice = json!({"data": [{"templateOperationId": "slice", "option": {"sliceSize": 10}}]});
    let plain = s.put_operation("strips", slice);
    assert_code(&plain, 0);
    assert!(
        plain["operation"]["jobTemplate"][0]["option"]
            .get("callbackUrl")
            .is_none(),
        "no callbackUrl unless one was given: {plain}"
    );
}
