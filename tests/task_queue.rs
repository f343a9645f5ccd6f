//! The persistent task queue across crashes: a task that keeps killing the process ends in F
//! after `tasks.max_tries` attempts instead of being claimed after every restart.

mod common;

use common::{assert_code, callback_receiver, corpus, insert_crashed_task, Server};
use serde_json::json;
use std::time::Duration;

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

#[test]
fn a_task_that_crashed_the_process_max_tries_times_ends_failed() {
    let receiver = callback_receiver::start(200, Duration::ZERO);
    let ports = format!("[{}]", receiver.port);
    let env = [
        ("PICTOR_CALLBACKS_ALLOWED_PORTS", ports.as_str()),
        ("PICTOR_CALLBACKS_ALLOW_PRIVATE_NETWORKS", "true"),
    ];
    let url = format!("http://127.0.0.1:{}/cb?id=spent", receiver.port);
    let mut s = Server::start_with(&env);
    let thumb = json!({ "data": [{ "templateOperationId": "resize_max_fit",
                                   "option": { "width": 100, "height": 100 } }] });
    assert_code(&s.put_operation("thumb", thumb), 0);
    let up = s.upload("/shop/photo.jpg", corpus(PHOTO), "");
    let file_id = up["file"]["id"].as_str().expect("id").to_owned();
    assert_eq!(s.terminate().code(), Some(0));

    insert_crashed_task(&s, "spent-task", &file_id, 3, Some(&url));
    insert_crashed_task(&s, "retried-task", &file_id, 2, None);

    let s2 = Server::spawn(&s.data_dir.clone(), s.app.clone(), &env);
    let spent = s2.wait_task("spent-task");
    assert_eq!(spent["queue"]["status"], "F", "{spent}");
    assert_eq!(
        spent["queue"]["tryCount"], 2,
        "two retries, no fourth attempt: {spent}"
    );
    let (_, body) = receiver
        .requests
        .recv_timeout(Duration::from_secs(30))
        .expect("the failure callback of the abandoned task");
    assert_eq!(body["header"]["resultCode"], 500201, "{body}");
    assert_eq!(body["id"], "spent-task", "{body}");
    assert_eq!(body["operationId"], "thumb", "{body}");
    let retried = s2.wait_task("retried-task");
    assert_eq!(retried["queue"]["status"], "D", "{retried}");
    assert_eq!(retried["queue"]["tryCount"], 2, "{retried}");
}
