//! The node's request body memory (`limits.request_memory_bytes`): while request bodies hold
//! all of it, every API call that would keep more body bytes is refused at once (-1 "busy",
//! or 503 with `Retry-After` for tus) and stores nothing; calls without a body still answer,
//! and once the memory is given back the refused calls succeed when sent again, as a real tus
//! client (tuspy) does by itself.

mod common;

use common::{assert_code, corpus, header, metric_sum, tuspy, Server};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";
const OTHER: &str = "formats/png_interlaced_adam7_rgba_162x150.png";

const MIB: u64 = 1024 * 1024;
/// One file (1 MiB), one request (2 MiB), parts of 5 MiB; the budget is the least the node
/// accepts, what the request finishing a 1 MiB resumable upload holds (the file read back,
/// three parts and 1 MiB), so one such request takes all of it.
const BUDGET: u64 = MIB + 3 * 5 * MIB + MIB;

fn server() -> Server {
    Server::start_with(&[
        ("PICTOR_LIMITS_MAX_UPLOAD_BYTES", &MIB.to_string()),
        ("PICTOR_LIMITS_MAX_REQUEST_BYTES", &(2 * MIB).to_string()),
        (
            "PICTOR_STORAGE_MULTIPART_PART_BYTES",
            &(5 * MIB).to_string(),
        ),
        ("PICTOR_LIMITS_REQUEST_MEMORY_BYTES", &BUDGET.to_string()),
    ])
}

/// Polls `check` every 50 ms until it holds, at most `secs` seconds.
fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "{what} within {secs} s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Opens a PATCH of the whole of `bytes` to the upload at `url` and sends half of its body.
fn half_sent_patch(s: &Server, url: &str, bytes: &[u8]) -> TcpStream {
    let target = url.trim_start_matches(&s.base);
    let mut stream = TcpStream::connect(s.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let head = format!(
        "PATCH {target} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nTus-Resumable: 1.0.0\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        s.addr(),
        s.app.secret_key,
        bytes.len()
    );
    stream.write_all(head.as_bytes()).expect("head");
    stream
        .write_all(&bytes[..bytes.len() / 2])
        .expect("half the body");
    stream.flush().expect("flush");
    stream
}

fn memory_held(s: &Server) -> f64 {
    metric_sum(&s.metrics(), "pictor_request_body_memory_bytes", &[])
}

fn refusals(s: &Server) -> f64 {
    metric_sum(
        &s.metrics(),
        "pictor_request_body_memory_refusals_total",
        &[],
    )
}

fn assert_busy(v: &Value, what: &str) {
    assert_code(v, -1);
    assert_eq!(
        v["header"]["resultMessage"], "The server is busy; send the request again later.",
        "{what}"
    );
}

#[test]
fn calls_are_refused_while_bodies_hold_the_memory_and_succeed_after() {
    let s = server();
    let photo = corpus(PHOTO);
    let other = corpus(OTHER);
    assert!(photo.len() as u64 <= MIB && other.len() as u64 <= MIB);
    let kept = s.upload("/kept.jpg", photo.clone(), "");
    assert_code(&kept, 0);
    assert_eq!(memory_held(&s), 0.0, "a finished call holds nothing");

    // A PATCH that will finish its upload takes all the node's memory before reading on.
    let slow_url = s.tus_create(photo.len() as u64, &[("path", "/slow.jpg")]);
    let mut slow = half_sent_patch(&s, &slow_url, &photo);
    eventually(10, "the slow PATCH holds the whole budget", || {
        memory_held(&s) == BUDGET as f64
    });

    // Every call that would keep body bytes is refused at once, and stores nothing.
    let single = s.upload("/new.png", other.clone(), "");
    assert_busy(&single, "PUT /images");
    let replace = s.upload("/kept.jpg", other.clone(), "overwrite=true");
    assert_busy(&replace, "an overwrite");
    let form = reqwest::blocking::multipart::Form::new()
        .text("params", json!({"basepath": "/many"}).to_string())
        .part(
            "files",
            reqwest::blocking::multipart::Part::bytes(other.clone()).file_name("a.png"),
        );
    let many = s.send_json(s.call(Method::POST, "images").multipart(form));
    assert_busy(&many, "a multipart upload");
    let settings = s.json(Method::PUT, "users", Some(json!({"quotaFiles": 100})));
    assert_busy(&settings, "a JSON body");
    let second_url = s.tus_create(other.len() as u64, &[("path", "/second.png")]);
    let second = s.tus_patch(&second_url, 0, other.clone());
    assert_eq!(second.status(), 503, "a tus client is told to come back");
    assert_eq!(header(&second, "retry-after").as_deref(), Some("1"));
    assert_eq!(header(&second, "pictor-result-code").as_deref(), Some("-1"));
    assert_eq!(s.tus_head(&second_url), (200, Some(0)), "nothing kept");
    assert!(refusals(&s) >= 5.0, "refusals are counted");

    // Calls without a body answer; what was stored before is untouched.
    let user = s.json(Method::GET, "users", None);
    assert_code(&user, 0);
    assert_eq!(user["user"]["usedFiles"], 1, "{user}");
    let delivered = s.get(&s.url("/kept.jpg"));
    assert_eq!(delivered.bytes().expect("body").as_ref(), &photo[..]);
    assert_eq!(s.get(&s.url("/new.png")).status(), 404);

    // A real tus client told to come back does so, and gets through once memory is free.
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("retried.png");
    std::fs::write(&file, &other).expect("write the file to upload");
    let before = refusals(&s);
    let retried = std::thread::scope(|scope| {
        let client = scope.spawn(|| {
            tuspy(
                &s.uploads(),
                &s.app.secret_key,
                &file,
                &json!({"path": "/retried.png"}),
                &["--retries", "10"],
            )
        });
        eventually(10, "the client is refused at least once", || {
            refusals(&s) > before
        });

        // The slow PATCH finishes and gives the memory back.
        slow.write_all(&photo[photo.len() / 2..]).expect("the rest");
        client.join().expect("the client thread")
    });
    assert!(retried.ok, "{:?}", retried.out);
    assert_eq!(retried.header("pictor-result-code"), Some("0"));
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("pictor-file-id:"),
        "{answer}"
    );
    eventually(10, "the memory is given back", || memory_held(&s) == 0.0);

    // Sent again, the refused calls succeed.
    assert_code(&s.upload("/new.png", other.clone(), ""), 0);
    assert_code(
        &s.json(Method::PUT, "users", Some(json!({"quotaFiles": 100}))),
        0,
    );
    assert_eq!(s.tus_patch(&second_url, 0, other.clone()).status(), 204);
    let slow_file = s.get(&s.url("/slow.jpg"));
    assert_eq!(slow_file.bytes().expect("body").as_ref(), &photo[..]);
    let second_file = s.get(&s.url("/second.png"));
    assert_eq!(second_file.bytes().expect("body").as_ref(), &other[..]);
    let retried_file = s.get(&s.url("/retried.png"));
    assert_eq!(retried_file.bytes().expect("body").as_ref(), &other[..]);
    assert_eq!(memory_held(&s), 0.0);
}
