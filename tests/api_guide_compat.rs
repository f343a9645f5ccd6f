//! Requests written for the API guide (and its older edition) work unchanged: optional
//! `sliceSize`, a fractional `quality`, the older names `resize_fixed` and `shrinkLargerOnly`,
//! `tryCount` counting retries, the guide's failure callback body, a multi-file upload's
//! `callbackUrl` receiving only the upload result, and `rows` over the item limit.

mod common;

use common::{assert_code, callback_receiver, corpus, dims, Server};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

/// The bytes of a produced file, fetched by its stored name.
fn fetch(s: &Server, path: &str) -> Vec<u8> {
    let resp = s.get(&s.url(path));
    assert_eq!(resp.status(), 200, "{path}");
    resp.bytes().expect("body").to_vec()
}

/// Uploads the photo to `path` with `operation` queued, waits for the task and returns it.
fn upload_and_run(s: &Server, path: &str, operation: &str) -> Value {
    let up = s.upload(path, corpus(PHOTO), &format!("operationIds={operation}"));
    assert_code(&up, 0);
    assert_eq!(up["file"]["queues"][0]["tryCount"], 0, "{up}");
    let queue_id = up["file"]["queues"][0]["queueId"]
        .as_str()
        .expect("queueId");
    let task = s.wait_task(queue_id);
    assert_eq!(task["queue"]["status"], "D", "{task}");
    task
}

fn callback_env(port: u16) -> [(&'static str, String); 2] {
    [
        ("PICTOR_CALLBACKS_ALLOWED_PORTS", format!("[{port}]")),
        ("PICTOR_CALLBACKS_ALLOW_PRIVATE_NETWORKS", "true".to_owned()),
    ]
}

fn start_with(env: &[(&'static str, String)]) -> Server {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start_with(&env)
}

#[test]
fn slice_without_slice_size_yields_the_whole_image_as_one_piece() {
    let s = Server::start();
    let saved = s.put_operation(
        "slice-v",
        json!({"description": "", "realtimeService": false,
               "data": [{"templateOperationId": "slice",
                         "option": {"sliceCropType": "vertical", "keepAnimation": true}}]}),
    );
    assert_code(&saved, 0);
    let option = &saved["operation"]["jobTemplate"][0]["option"];
    assert_eq!(option["sliceSize"], 0, "{saved}");
    assert_eq!(option["sliceCropType"], "vertical", "{saved}");
    let shown = s.json(Method::GET, "operations/slice-v", None);
    assert_eq!(
        shown["operation"]["jobTemplate"][0]["option"]["sliceSize"],
        0
    );

    upload_and_run(&s, "/banner/vertical.jpg", "slice-v");
    let list = s.json(Method::GET, "folders?basepath=/banner&createdBy=P", None);
    let names: Vec<&str> = list["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["vertical_slice-v_0000.jpg"], "{list}");
    let piece = fetch(&s, "/banner/vertical_slice-v_0000.jpg");
    assert_eq!(
        dims(&piece),
        (640, 480),
        "one piece holding the whole image"
    );
}

#[test]
fn fractional_quality_is_rounded_and_shown_as_an_integer() {
    let s = Server::start();
    let guide_body = |quality: Value| {
        json!({"description": "", "realtimeService": true,
               "data": [{"templateOperationId": "resize_max_fit",
                         "option": {"resizeType": "max_fit", "width": 100, "height": 100,
                                    "quality": quality, "upDownSizeType": "downOnly"}}]})
    };
    let saved = s.put_operation("100x100", guide_body(json!(80.5)));
    assert_code(&saved, 0);
    assert_eq!(
        saved["operation"]["jobTemplate"][0]["option"]["quality"], 81,
        "{saved}"
    );
    upload_and_run(&s, "/quality/photo.jpg", "100x100");
    assert_eq!(dims(&fetch(&s, "/quality/photo_100x100.jpg")), (100, 75));
    for bad in [json!(100.5), json!(0.4), json!("high"), json!(true)] {
        let refused = s.put_operation("badq", guide_body(bad.clone()));
        assert_code(&refused, 10001);
        let message = refused["header"]["resultMessage"].as_str().unwrap_or("");
        assert!(message.contains("quality"), "{bad}: {refused}");
    }
}

#[test]
fn older_guide_names_are_accepted_and_answered_with_current_ones() {
    let s = Server::start();
    let fixed = s.put_operation(
        "fixed",
        json!({"description": "", "realtimeService": true,
               "data": [{"templateOperationId": "resize_fixed",
                         "option": {"width": 50, "height": 40, "quality": 80}}]}),
    );
    assert_code(&fixed, 0);
    let job = &fixed["operation"]["jobTemplate"][0];
    assert_eq!(job["templateOperationId"], "resize_fix", "{fixed}");
    assert_eq!(job["jobType"], "ResizeJob");
    assert_eq!(job["option"]["resizeType"], "fix");

    let grow = s.put_operation(
        "grow",
        json!({"description": "", "realtimeService": true,
               "data": [{"templateOperationId": "resize_max_fit",
                         "option": {"resizeType": "max_fit", "width": 1280, "height": 1280,
                                    "quality": 80, "shrinkLargerOnly": false}}]}),
    );
    assert_code(&grow, 0);
    let option = &grow["operation"]["jobTemplate"][0]["option"];
    assert_eq!(option["upDownSizeType"], "upDownAll", "{grow}");
    assert_eq!(
        option["shrinkLargerOnly"], false,
        "the guide's answer shape"
    );

    let keep = s.put_operation(
        "keep",
        json!({"data": [{"templateOperationId": "resize_max_fit",
                         "option": {"width": 1280, "height": 1280, "shrinkLargerOnly": false,
                                    "upDownSizeType": "downOnly"}}]}),
    );
    assert_code(&keep, 0);
    assert_eq!(
        keep["operation"]["jobTemplate"][0]["option"]["upDownSizeType"], "downOnly",
        "an explicit upDownSizeType wins"
    );

    upload_and_run(&s, "/old/a.jpg", "fixed");
    assert_eq!(dims(&fetch(&s, "/old/a_fixed.jpg")), (50, 40));
    upload_and_run(&s, "/old/b.jpg", "grow");
    assert_eq!(dims(&fetch(&s, "/old/b_grow.jpg")), (1280, 960), "enlarged");
    upload_and_run(&s, "/old/c.jpg", "keep");
    assert_eq!(
        dims(&fetch(&s, "/old/c_keep.jpg")),
        (640, 480),
        "never enlarged"
    );
}

#[test]
fn try_count_of_a_task_done_at_its_first_attempt_is_zero() {
    let s = Server::start();
    let op = json!({"data": [{"templateOperationId": "resize_max_fit",
                              "option": {"width": 100, "height": 100}}]});
    assert_code(&s.put_operation("100x100", op), 0);
    let task = upload_and_run(&s, "/tasks/photo.jpg", "100x100");
    assert_eq!(task["queue"]["tryCount"], 0, "{task}");
    let exec = s.json(
        Method::POST,
        "operations-exec",
        Some(json!({"basepath": "/tasks", "operationIds": ["100x100"],
                    "filepaths": ["/tasks/photo.jpg"]})),
    );
    assert_code(&exec, 0);
    assert_eq!(exec["queues"][0]["tryCount"], 0, "{exec}");
    let queue_id = exec["queues"][0]["queueId"].as_str().expect("queueId");
    let done = s.wait_task(queue_id);
    assert_eq!(done["queue"]["status"], "D", "{done}");
    assert_eq!(done["queue"]["tryCount"], 0, "{done}");
}

#[test]
fn failed_operation_calls_back_with_the_guides_failure_body() {
    let receiver = callback_receiver::start(200, Duration::ZERO);
    let s = start_with(&callback_env(receiver.port));
    let far = json!({"data": [{"templateOperationId": "rectangle",
        "option": {"width": 10, "height": 10, "gravity": "NorthWest", "offsetX": 5000}}]});
    assert_code(&s.put_operation("100x100", far), 0);
    assert_code(&s.upload("/myfolder/banner/left.jpg", corpus(PHOTO), ""), 0);
    let exec = s.json(
        Method::POST,
        "operations-exec",
        Some(json!({"basepath": "/myfolder", "operationIds": ["100x100"],
                    "filepaths": ["/myfolder/banner/left.jpg"],
                    "callbackUrl": format!("http://127.0.0.1:{}/cb?id=100", receiver.port)})),
    );
    assert_code(&exec, 0);
    let task = s.wait_task(exec["queues"][0]["queueId"].as_str().expect("queueId"));
    assert_eq!(task["queue"]["status"], "F", "{task}");
    let (_, body) = receiver
        .requests
        .recv_timeout(Duration::from_secs(30))
        .expect("failure callback");
    assert_eq!(
        body["header"],
        json!({"isSuccessful": false, "resultCode": 500201, "resultMessage": "Operation fail. "}),
        "{body}"
    );
    assert_eq!(body["id"], "100");
    assert_eq!(body["overwritten"], false);
    assert_eq!(body["operationId"], "100x100");
    assert_eq!(body["sourceFile"]["name"], "left.jpg");
    assert_eq!(body["sourceFile"]["path"], "/myfolder/banner/left.jpg");
}

#[test]
fn multi_upload_callback_receives_only_the_upload_result() {
    let receiver = callback_receiver::start(200, Duration::ZERO);
    let s = start_with(&callback_env(receiver.port));
    let thumb = json!({"data": [{"templateOperationId": "resize_max_fit",
                                 "option": {"width": 100, "height": 100}}]});
    assert_code(&s.put_operation("100x100", thumb), 0);
    let own_url = format!("http://127.0.0.1:{}/grid?id=own", receiver.port);
    let grid = json!({"data": [{"templateOperationId": "grid",
        "option": {"countX": 2, "countY": 1, "callbackUrl": own_url}}]});
    assert_code(&s.put_operation("halves", grid), 0);
    let params = json!({"basepath": "/myfolder/banner", "overwrite": true,
                        "operationIds": ["100x100", "halves"],
                        "callbackUrl": format!("http://127.0.0.1:{}/cb?id=100", receiver.port)});
    let form = reqwest::blocking::multipart::Form::new()
        .text("params", params.to_string())
        .part(
            "files",
            reqwest::blocking::multipart::Part::bytes(corpus(PHOTO)).file_name("left.jpg"),
        )
        .part(
            "files",
            reqwest::blocking::multipart::Part::bytes(corpus(PHOTO)).file_name("right.jpg"),
        );
    let up = s.multipart(form);
    assert_code(&up, 0);
    for file in up["successes"].as_array().expect("successes") {
        for q in file["queues"].as_array().expect("queues") {
            let task = s.wait_task(q["queueId"].as_str().expect("queueId"));
            assert_eq!(task["queue"]["status"], "D", "{task}");
        }
    }
    let mut upload_bodies = Vec::new();
    let mut grid_bodies = Vec::new();
    for _ in 0..3 {
        let (_, body) = receiver
            .requests
            .recv_timeout(Duration::from_secs(30))
            .expect("the upload result and the grid's two results");
        if body["id"] == "own" {
            grid_bodies.push(body);
        } else {
            upload_bodies.push(body);
        }
    }
    assert_eq!(upload_bodies.len(), 1, "{upload_bodies:?}");
    let upload = &upload_bodies[0];
    assert_eq!(upload["id"], "100");
    assert_eq!(upload["header"]["resultCode"], 0);
    let names: Vec<&str> = upload["successFiles"]
        .as_array()
        .expect("successFiles")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["left.jpg", "right.jpg"]);
    assert_eq!(upload["failFiles"], json!([]));
    for body in &grid_bodies {
        assert_eq!(body["operationId"], "halves", "{body}");
        assert_eq!(body["resultFiles"].as_array().map(Vec::len), Some(2));
    }
    assert!(
        receiver
            .requests
            .recv_timeout(Duration::from_secs(2))
            .is_err(),
        "nothing else reaches the callback receiver"
    );
}

#[test]
fn rows_over_ten_thousand_answer_file_count_limit() {
    let s = Server::start();
    assert_code(&s.mkdir("/rows"), 0);
    for listing in [
        "folders?basepath=/rows",
        "operations?",
        "operations?template=true",
    ] {
        let sep = if listing.ends_with('?') { "" } else { "&" };
        let at = |rows: &str| s.json(Method::GET, &format!("{listing}{sep}rows={rows}"), None);
        assert_code(&at("10001"), 11003);
        assert_code(&at("4294967296"), 11003);
        assert_code(&at("10000"), 0);
        assert_code(&at("0"), 10001);
        assert_code(&at("-1"), 10001);
        assert_code(&at("many"), 10001);
    }
}
