//! The `pictor` command: app management, start on an empty catalog, configuration errors,
//! graceful shutdown, metrics and health endpoints.

mod common;

use common::{assert_code, corpus, create_app, Server};
use reqwest::Method;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn pictor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pictor"))
}

#[test]
fn first_start_creates_a_default_app_and_app_commands_work_beside_a_server() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let mut child = pictor()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("PICTOR_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    let json = first
        .strip_prefix("created default app ")
        .unwrap_or_else(|| panic!("unexpected first line {first}"));
    let default: Value = serde_json::from_str(json).expect("JSON keys");
    let listening = lines.next().expect("a line").expect("utf-8");
    assert!(
        listening.starts_with("listening on http://127.0.0.1:"),
        "{listening}"
    );

    let created = create_app(&data);
    assert_ne!(created.app_key, default["appKey"].as_str().expect("key"));
    assert_eq!(created.container.len(), 8);
    let out = pictor()
        .args(["app", "list", "--data-dir"])
        .arg(&data)
        .output()
        .expect("list");
    assert!(out.status.success());
    let apps: Value = serde_json::from_slice(&out.stdout).expect("JSON array");
    let keys: Vec<&str> = apps
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|a| a["appKey"].as_str())
        .collect();
    assert_eq!(
        keys,
        [
            default["appKey"].as_str().expect("key"),
            created.app_key.as_str()
        ]
    );

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));

    let mut again = pictor()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let line = BufReader::new(again.stdout.take().expect("stdout"))
        .lines()
        .next()
        .expect("line")
        .expect("utf-8");
    assert!(
        line.starts_with("listening on "),
        "no second default app: {line}"
    );
    let _ = again.kill();
    let _ = again.wait();
}

#[test]
fn invalid_configuration_fails_at_start_naming_the_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = pictor()
        .args(["serve", "--data-dir"])
        .arg(tmp.path())
        .env("PICTOR_LIMITS_MAX_UPLOAD_BYTES", "abc")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("max_upload_bytes"), "{err}");

    let file = tmp.path().join("bad.toml");
    std::fs::write(&file, "[server]\nlisten_addr = \"x\"\n").expect("write");
    let out = pictor()
        .args(["serve", "--config"])
        .arg(&file)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen_addr"));

    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/pictor.toml");
    let out = pictor()
        .args(["app", "list", "--config"])
        .arg(&shipped)
        .arg("--data-dir")
        .arg(tmp.path().join("d"))
        .output()
        .expect("run");
    assert!(out.status.success(), "the shipped config loads: {out:?}");
}

#[test]
fn sigterm_drains_in_flight_requests_and_exits_zero() {
    let mut s = Server::start();
    assert_code(
        &s.upload(
            "/big/photo.jpg",
            corpus("photos/photo_12mp_olympus-ep3_4032x3024.jpg"),
            "",
        ),
        0,
    );
    let op = serde_json::json!({"data": [{"templateOperationId": "resize_fix", "option": {"width": 4000, "height": 3000, "upDownSizeType": "upDownAll"}}]});
    assert_code(&s.put_operation("heavy", op), 0);
    let url = format!("{}?heavy", s.url("/big/photo.jpg"));
    let client = s.http.clone();
    let slow = std::thread::spawn(move || client.get(url).send().map(|r| r.status().as_u16()));
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(s.terminate().code(), Some(0));
    assert_eq!(
        slow.join().expect("join").expect("answered before exit"),
        200
    );
}

#[test]
fn metrics_and_health() {
    let s = Server::start();
    assert_eq!(s.get(&format!("{}/healthz", s.base)).status(), 200);
    assert_eq!(s.get(&format!("{}/readyz", s.base)).status(), 200);
    assert_code(&s.upload("/m1/a.gif", corpus("edge/tiny_10x10.gif"), ""), 0);
    let _ = s.get(&s.url("/m1/a.gif"));
    let _ = s.get(&s.url("/m1/missing.gif"));
    let _ = s.json(Method::GET, "folders?basepath=/nowhere", None);
    let text = s.get(&format!("{}/metrics", s.base)).text().expect("text");
    let value = |needle: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(needle))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{needle} missing from\n{text}"))
    };
    assert_eq!(
        value("pictor_http_requests_total{result=\"200\",route=\"delivery\"}"),
        1.0
    );
    assert_eq!(
        value("pictor_http_requests_total{result=\"404\",route=\"delivery\"}"),
        1.0
    );
    assert_eq!(
        value("pictor_http_requests_total{result=\"20001\",route=\"api\"}"),
        1.0
    );
    assert_eq!(
        value("pictor_http_requests_total{result=\"0\",route=\"api\"}"),
        1.0
    );
    assert!(value("pictor_http_bytes_received_total") >= 69.0);
    assert!(value("pictor_http_bytes_sent_total") >= 69.0);
    assert!(value("pictor_http_request_duration_seconds_count{route=\"delivery\"}") >= 2.0);
    assert_eq!(value("pictor_catalog_errors_total"), 0.0);
    assert_eq!(value("pictor_blob_errors_total"), 0.0);
    for name in [
        "pictor_render_queue_depth",
        "pictor_callback_failures_total",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
}
