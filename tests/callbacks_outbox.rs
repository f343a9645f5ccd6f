//! The callback outbox: a pending callback survives a kill -9 and is delivered after the
//! restart, a slow receiver never holds more than `per_host_concurrency` deliveries, and a full
//! outbox drops (and counts) new callbacks while given-up rows are removed.

mod common;

use common::callback_receiver::{self, Receiver};
use common::{assert_code, corpus, Server};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

/// Rows in the outbox table.
fn outbox_rows(data_dir: &Path) -> i64 {
    let conn = rusqlite::Connection::open(data_dir.join("catalog.sqlite3")).expect("open");
    conn.query_row("SELECT COUNT(*) FROM callback_outbox", [], |r| r.get(0))
        .expect("count")
}

/// Waits (at most 30 s) until the outbox is empty.
fn wait_outbox_empty(data_dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while outbox_rows(data_dir) != 0 {
        assert!(Instant::now() < deadline, "outbox emptied");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The value of an unlabelled counter in the `/metrics` text.
fn counter(s: &Server, name: &str) -> f64 {
    s.metrics()
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// A `POST /images` of one small file whose callback carries `id`.
fn upload_with_callback(s: &Server, receiver: &Receiver, id: usize) {
    let url = format!("http://127.0.0.1:{}/cb?id={id}", receiver.port);
    let form = Form::new()
        .text(
            "params",
            json!({"basepath": "/up", "callbackUrl": url}).to_string(),
        )
        .part(
            "files",
            Part::bytes(corpus("edge/tiny_10x10.gif")).file_name(format!("f{id}.gif")),
        );
    assert_code(&s.multipart(form), 0);
}

#[test]
fn a_pending_callback_survives_a_kill_and_is_delivered_after_restart() {
    let receiver = callback_receiver::start(500, Duration::ZERO);
    let ports = format!("[{}]", receiver.port);
    let env = [
        ("PICTOR_CALLBACKS_ALLOWED_PORTS", ports.as_str()),
        ("PICTOR_CALLBACKS_ALLOW_PRIVATE_NETWORKS", "true"),
        ("PICTOR_CALLBACKS_MAX_TRIES", "50"),
        ("PICTOR_CALLBACKS_BACKOFF_MS", "300"),
        ("PICTOR_CALLBACKS_TIMEOUT_SECS", "2"),
    ];
    let mut s = Server::start_with(&env);
    assert_code(
        &s.put_operation(
            "thumb",
            json!({"data": [{"templateOperationId": "resize_max_fit",
                                        "option": {"width": 100, "height": 100}}]}),
        ),
        0,
    );
    assert_code(&s.upload("/top/photo.jpg", corpus(PHOTO), ""), 0);
    let url = format!("http://127.0.0.1:{}/cb?id=7", receiver.port);
    let exec = s.json(
        Method::POST,
        "operations-exec",
        Some(json!({"basepath": "/top", "filepaths": ["/top/photo.jpg"],
                    "operationIds": ["thumb"], "callbackUrl": url})),
    );
    assert_code(&exec, 0);
    let task = s.wait_task(exec["queues"][0]["queueId"].as_str().expect("id"));
    assert_eq!(task["queue"]["status"], "D");
    let (status, first) = receiver
        .requests
        .recv_timeout(Duration::from_secs(30))
        .expect("a first attempt");
    assert_eq!((status, &first["id"]), (500, &json!("7")));

    s.child.kill().expect("kill -9");
    s.child.wait().expect("reaped");
    assert_eq!(
        outbox_rows(&s.data_dir),
        1,
        "the undelivered callback is kept"
    );
    receiver.status.store(200, Ordering::SeqCst);
    while receiver.requests.try_recv().is_ok() {}

    let s2 = Server::spawn(&s.data_dir, s.app.clone(), &env);
    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (status, body) = receiver
            .requests
            .recv_timeout(left)
            .expect("the callback is delivered after the restart");
        if status == 200 {
            break body;
        }
    };
    assert_eq!(body["id"], "7");
    assert_code(&body, 0);
    assert_eq!(body["sourceFile"]["path"], "/top/photo.jpg");
    assert_eq!(body["resultFiles"][0]["name"], "photo_thumb.jpg");
    wait_outbox_empty(&s2.data_dir);
}

#[test]
fn a_slow_receiver_never_holds_more_than_per_host_concurrency() {
    let receiver = callback_receiver::start(200, Duration::from_millis(1500));
    let ports = format!("[{}]", receiver.port);
    let s = Server::start_with(&[
        ("PICTOR_CALLBACKS_ALLOWED_PORTS", ports.as_str()),
        ("PICTOR_CALLBACKS_ALLOW_PRIVATE_NETWORKS", "true"),
        ("PICTOR_CALLBACKS_CONCURRENCY", "16"),
        ("PICTOR_CALLBACKS_PER_HOST_CONCURRENCY", "2"),
    ]);
    for id in 0..6 {
        upload_with_callback(&s, &receiver, id);
    }
    let mut ids = BTreeSet::new();
    for _ in 0..6 {
        let (status, body) = receiver
            .requests
            .recv_timeout(Duration::from_secs(60))
            .expect("every callback delivered");
        assert_eq!(status, 200);
        assert_code(&body, 0);
        ids.insert(body["id"].as_str().expect("id").to_owned());
    }
    let expected: BTreeSet<String> = (0..6).map(|i| i.to_string()).collect();
    assert_eq!(ids, expected);
    let most = receiver.max_in_flight.load(Ordering::SeqCst);
    assert_eq!(most, 2, "the receiver held {most} callbacks at once");
    wait_outbox_empty(&s.data_dir);
}

#[test]
fn a_full_outbox_drops_new_callbacks_and_given_up_ones_are_removed() {
    let receiver = callback_receiver::start(500, Duration::ZERO);
    let ports = format!("[{}]", receiver.port);
    let s = Server::start_with(&[
        ("PICTOR_CALLBACKS_ALLOWED_PORTS", ports.as_str()),
        ("PICTOR_CALLBACKS_ALLOW_PRIVATE_NETWORKS", "true"),
        ("PICTOR_CALLBACKS_MAX_PENDING", "2"),
        ("PICTOR_CALLBACKS_MAX_TRIES", "2"),
        ("PICTOR_CALLBACKS_BACKOFF_MS", "3000"),
    ]);
    for id in 0..4 {
        upload_with_callback(&s, &receiver, id);
    }
    assert_eq!(
        counter(&s, "pictor_callback_failures_total"),
        2.0,
        "the two callbacks over max_pending are dropped and counted"
    );
    let mut ids = Vec::new();
    for _ in 0..4 {
        let (status, body) = receiver
            .requests
            .recv_timeout(Duration::from_secs(30))
            .expect("two tries of each stored callback");
        assert_eq!(status, 500);
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    ids.sort();
    assert_eq!(ids, ["0", "0", "1", "1"]);
    wait_outbox_empty(&s.data_dir);
    assert_eq!(counter(&s, "pictor_callback_failures_total"), 4.0);
    assert!(
        receiver
            .requests
            .recv_timeout(Duration::from_secs(1))
            .is_err(),
        "no third try, no dropped callback sent"
    );
}
