//! The persistent task queue across crashes: a task that keeps killing the process ends in F
//! after `tasks.max_tries` attempts instead of being claimed after every restart.

mod common;

use common::{assert_code, corpus, Server};
use serde_json::json;

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

/// Inserts an `image` task left in progress (expired lease) after `tries` attempts.
fn insert_crashed_task(s: &Server, id: &str, file_id: &str, tries: u32) {
    let conn = rusqlite::Connection::open(s.data_dir.join("catalog.sqlite3")).expect("open");
    let payload = json!({"source_id": file_id, "operation_id": "thumb",
                         "callback_url": null, "callback_id": ""})
    .to_string();
    conn.execute(
        "INSERT INTO tasks (id, app_key, queue_type, status, try_count, queued_at, operation_id,
             path, payload, error, lease_until)
         VALUES (?1, ?2, 'image', 'P', ?3, 1, 'thumb', '/shop/photo_thumb.jpg', ?4, NULL, 1)",
        rusqlite::params![id, s.app.app_key, tries, payload],
    )
    .expect("insert a task left in progress by a crash");
}

#[test]
fn a_task_that_crashed_the_process_max_tries_times_ends_failed() {
    let mut s = Server::start();
    let thumb = json!({ "data": [{ "templateOperationId": "resize_max_fit",
                                   "option": { "width": 100, "height": 100 } }] });
    assert_code(&s.put_operation("thumb", thumb), 0);
    let up = s.upload("/shop/photo.jpg", corpus(PHOTO), "");
    let file_id = up["file"]["id"].as_str().expect("id").to_owned();
    assert_eq!(s.terminate().code(), Some(0));

    insert_crashed_task(&s, "spent-task", &file_id, 3);
    insert_crashed_task(&s, "retried-task", &file_id, 2);

    let s2 = Server::spawn(&s.data_dir.clone(), s.app.clone(), &[]);
    let spent = s2.wait_task("spent-task");
    assert_eq!(spent["queue"]["status"], "F", "{spent}");
    assert_eq!(spent["queue"]["tryCount"], 3, "no fourth attempt: {spent}");
    let retried = s2.wait_task("retried-task");
    assert_eq!(retried["queue"]["status"], "D", "{retried}");
    assert_eq!(retried["queue"]["tryCount"], 3, "{retried}");
}
