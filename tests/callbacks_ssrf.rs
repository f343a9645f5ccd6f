//! Callback URLs cannot reach inside the network: internal addresses in any spelling are
//! refused with 11051 on every call that takes a `callbackUrl`, and a callback whose URL got
//! past the request (a stored task) never connects to a refused address, by IP or by name.

mod common;

use common::{assert_code, callback_receiver, corpus, Server};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

/// URLs on an allowed port that name loopback, private, link-local or mapped addresses.
const INTERNAL: &[&str] = &[
    "http://127.0.0.1/cb",
    "http://127.1/cb",
    "http://2130706433/cb",
    "http://10.0.0.1/cb",
    "https://172.16.5.4/cb",
    "http://192.168.1.1/cb",
    "http://100.64.0.1/cb",
    "http://169.254.169.254/latest/meta-data",
    "http://0.0.0.0/cb",
    "http://[::1]/cb",
    "http://[::ffff:127.0.0.1]/cb",
    "http://[::ffff:a9fe:a9fe]/cb",
    "http://[64:ff9b::a00:1]/cb",
    "http://[fd00::1]/cb",
    "http://[fe80::1]/cb",
    "http://localhost/cb",
];

fn grid(url: &str) -> Value {
    json!({"data": [{"templateOperationId": "grid",
                     "option": {"countX": 2, "countY": 2, "callbackUrl": url}}]})
}

#[test]
fn internal_callback_urls_get_11051_on_every_call() {
    let s = Server::start();
    assert_code(
        &s.put_operation(
            "thumb",
            json!({"data": [{"templateOperationId": "resize_max_fit",
                                        "option": {"width": 10, "height": 10}}]}),
        ),
        0,
    );
    assert_code(&s.upload("/top/photo.jpg", corpus(PHOTO), ""), 0);
    for url in INTERNAL {
        assert_code(&s.put_operation("cells", grid(url)), 11051);
        let exec = s.json(
            Method::POST,
            "operations-exec",
            Some(json!({"basepath": "/top", "filepaths": ["/top/photo.jpg"],
                        "operationIds": ["thumb"], "callbackUrl": url})),
        );
        assert_code(&exec, 11051);
        let form = Form::new()
            .text(
                "params",
                json!({"basepath": "/up", "callbackUrl": url}).to_string(),
            )
            .part(
                "files",
                Part::bytes(corpus("edge/tiny_10x10.gif")).file_name("a.gif"),
            );
        assert_code(&s.multipart(form), 11051);
    }
    assert_code(&s.json(Method::GET, "operations/cells", None), 10001);
    assert_code(
        &s.put_operation("cells", grid("http://93.184.215.14/cb")),
        0,
    );
}

/// The value of an unlabelled counter in the `/metrics` text.
fn counter(s: &Server, name: &str) -> f64 {
    s.metrics()
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Stops `s`, then queues one `thumb` task per `(id, url)` that calls back to `url`.
fn insert_tasks(s: &mut Server, file_id: &str, tasks: &[(&str, String)]) {
    assert_eq!(s.terminate().code(), Some(0));
    let conn = rusqlite::Connection::open(s.data_dir.join("catalog.sqlite3")).expect("open");
    for (id, url) in tasks {
        let payload = json!({"source_id": file_id, "operation_id": "thumb",
                             "callback_url": url, "callback_id": id})
        .to_string();
        conn.execute(
            "INSERT INTO tasks (id, app_key, queue_type, status, try_count, queued_at,
                 operation_id, path, payload, error, lease_until)
             VALUES (?1, ?2, 'image', 'W', 0, 1, 'thumb', ?3, ?4, NULL, 0)",
            rusqlite::params![id, s.app.app_key, format!("/shop/photo_{id}.jpg"), payload],
        )
        .expect("insert a waiting task");
    }
}

#[test]
fn a_local_receiver_is_never_reached_unless_private_networks_are_allowed() {
    let receiver = callback_receiver::start(200, Duration::ZERO);
    let port = receiver.port;
    let ports = format!("[{port}]");
    let refuse = [
        ("PICTOR_CALLBACKS_ALLOWED_PORTS", ports.as_str()),
        ("PICTOR_CALLBACKS_MAX_TRIES", "1"),
    ];
    let mut s = Server::start_with(&refuse);
    assert_code(
        &s.put_operation(
            "thumb",
            json!({"data": [{"templateOperationId": "resize_max_fit",
                                        "option": {"width": 10, "height": 10}}]}),
        ),
        0,
    );
    let up = s.upload("/shop/photo.jpg", corpus(PHOTO), "");
    let file_id = up["file"]["id"].as_str().expect("id").to_owned();
    let local = [
        ("by-name", format!("http://localhost:{port}/cb")),
        ("by-address", format!("http://127.0.0.1:{port}/cb")),
        (
            "by-mapped-address",
            format!("http://[::ffff:127.0.0.1]:{port}/cb"),
        ),
    ];
    insert_tasks(&mut s, &file_id, &local);

    let mut s2 = Server::spawn(&s.data_dir, s.app.clone(), &refuse);
    for (id, _) in &local {
        assert_eq!(s2.wait_task(id)["queue"]["status"], "D");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while counter(&s2, "pictor_callback_failures_total") < 3.0 {
        assert!(
            Instant::now() < deadline,
            "three refused callbacks counted as failed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        receiver
            .requests
            .recv_timeout(Duration::from_secs(1))
            .is_err(),
        "the local receiver was never reached"
    );

    let by_name = [("allowed-by-name", format!("http://localhost:{port}/cb"))];
    insert_tasks(&mut s2, &file_id, &by_name);
    let allow = [
        ("PICTOR_CALLBACKS_ALLOWED_PORTS", ports.as_str()),
        ("PICTOR_CALLBACKS_ALLOW_PRIVATE_NETWORKS", "true"),
    ];
    let _s3 = Server::spawn(&s.data_dir, s.app.clone(), &allow);
    let (status, body) = receiver
        .requests
        .recv_timeout(Duration::from_secs(30))
        .expect("with private networks allowed, the callback arrives by name");
    assert_eq!(status, 200);
    assert_eq!(body["id"], "allowed-by-name");
    assert_code(&body, 0);
}
