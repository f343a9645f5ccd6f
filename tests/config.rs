//! Configuration: the TOML file, `PICTOR_<SECTION>_<KEY>` overrides, defaults, and invalid
//! values refused at start with a message naming the key.

mod common;

use common::{assert_code, assert_result, corpus, encode_path, pictor, Server};
use reqwest::Method;
use std::path::Path;

const GIF: &str = "edge/tiny_10x10.gif";

/// Runs `serve` expecting it to fail at start; returns its stderr.
fn serve_fails(args: &[&str], env: &[(&str, &str)], data: &Path) -> String {
    let mut cmd = pictor();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    // A server that starts despite the bad value would never exit: stop it after a while.
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(20));
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    });
    let out = child.wait_with_output().expect("wait");
    drop(watchdog);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() && !stdout.contains("listening on"),
        "serve must refuse to start ({args:?} {env:?}): {out:?}"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn invalid_environment_value_names_the_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let err = serve_fails(
        &[],
        &[("PICTOR_LIMITS_MAX_UPLOAD_BYTES", "abc")],
        &tmp.path().join("d1"),
    );
    assert!(err.contains("max_upload_bytes"), "stderr: {err}");
    let err = serve_fails(
        &[],
        &[("PICTOR_DELIVERY_CACHE_MAX_AGE_SECS", "-5")],
        &tmp.path().join("d2"),
    );
    assert!(err.contains("cache_max_age_secs"), "stderr: {err}");
}

#[test]
fn a_request_memory_smaller_than_one_call_names_the_least_it_takes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mib: u64 = 1024 * 1024;
    // One call may hold a 1 MiB file (an inflated archive entry, or a resumable upload's file
    // read back) beside the more of a 2 MiB request and three 5 MiB parts and 1 MiB: 17 MiB.
    let least = 17 * mib;
    let below = (least - 1).to_string();
    let err = serve_fails(
        &[],
        &[
            ("PICTOR_LIMITS_MAX_UPLOAD_BYTES", &mib.to_string()),
            ("PICTOR_LIMITS_MAX_REQUEST_BYTES", &(2 * mib).to_string()),
            (
                "PICTOR_STORAGE_MULTIPART_PART_BYTES",
                &(5 * mib).to_string(),
            ),
            ("PICTOR_LIMITS_REQUEST_MEMORY_BYTES", &below),
        ],
        &tmp.path().join("d"),
    );
    assert!(
        err.contains("limits.request_memory_bytes") && err.contains(&least.to_string()),
        "stderr: {err}"
    );
}

#[test]
fn invalid_config_file_names_the_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let unknown = tmp.path().join("unknown.toml");
    std::fs::write(&unknown, "[server]\nlisten_addr = \"127.0.0.1:1\"\n").expect("write");
    let err = serve_fails(
        &["--config", unknown.to_str().expect("utf-8 path")],
        &[],
        &tmp.path().join("d1"),
    );
    assert!(err.contains("listen_addr"), "stderr: {err}");

    let wrong_type = tmp.path().join("wrong.toml");
    std::fs::write(&wrong_type, "[limits]\nmax_items = \"many\"\n").expect("write");
    let err = serve_fails(
        &["--config", wrong_type.to_str().expect("utf-8 path")],
        &[],
        &tmp.path().join("d2"),
    );
    assert!(err.contains("max_items"), "stderr: {err}");
}

#[test]
fn shipped_config_file_loads() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/config/pictor.toml");
    assert!(Path::new(shipped).is_file(), "config/pictor.toml exists");
    let text = std::fs::read_to_string(shipped).expect("read");
    for key in [
        "listen",
        "public_url",
        "data_dir",
        "shutdown_grace_secs",
        "max_upload_bytes",
        "max_request_bytes",
        "max_path_bytes",
        "max_items",
        "cache_max_age_secs",
    ] {
        assert!(text.contains(key), "config/pictor.toml documents {key}");
    }
    let s = Server::start_with_args(&["--config", shipped], &[]);
    assert_code(&s.upload("/cfg/a.gif", corpus(GIF), ""), 0);
    let resp = s.get(&s.url("/cfg/a.gif"));
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .contains("max-age=86400"),
        "default max-age"
    );
}

#[test]
fn defaults_without_configuration() {
    let s = Server::start();
    let v = s.upload("/def/x1.gif", corpus(GIF), "");
    assert_code(&v, 0);
    assert_eq!(
        v["file"]["url"],
        format!("{}/{}/def/x1.gif", s.base, s.app.container),
        "the default public URL is the listen address"
    );
    let resp = s.get(&s.url("/def/x1.gif"));
    let cc = resp.headers()["cache-control"].to_str().expect("ascii");
    assert!(cc.contains("max-age=86400"), "cache-control {cc}");
}

#[test]
fn environment_overrides_limits_url_and_cache() {
    let s = Server::start_with(&[
        ("PICTOR_LIMITS_MAX_UPLOAD_BYTES", "1000"),
        ("PICTOR_SERVER_PUBLIC_URL", "http://img.example.test"),
        ("PICTOR_DELIVERY_CACHE_MAX_AGE_SECS", "60"),
    ]);
    let small = s.upload("/env/small.gif", corpus(GIF), "");
    assert_code(&small, 0);
    assert_eq!(
        small["file"]["url"],
        format!("http://img.example.test/{}/env/small.gif", s.app.container)
    );
    let big = corpus("formats/bmp_24bit_bird_192x144.bmp");
    assert!(big.len() > 1000);
    assert_result(&s.upload("/env/big.bmp", big, ""), 11004);
    assert_eq!(s.get(&s.url("/env/big.bmp")).status(), 404);
    let cc = s.get(&s.url("/env/small.gif")).headers()["cache-control"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(cc.contains("max-age=60"), "cache-control {cc}");
    assert!(!cc.contains("max-age=86400"), "cache-control {cc}");
}

#[test]
fn config_file_values_apply_and_environment_wins() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("pictor.toml");
    std::fs::write(
        &file,
        "[server]\npublic_url = \"https://cdn.example.test\"\n\n\
         [delivery]\ncache_max_age_secs = 120\n\n[limits]\nmax_upload_bytes = 2000\n",
    )
    .expect("write");
    let path = file.to_str().expect("utf-8 path");

    let s = Server::start_with_args(&["--config", path], &[]);
    let v = s.upload("/file/한 글.gif", corpus(GIF), "");
    assert_code(&v, 0);
    assert_eq!(
        v["file"]["url"],
        format!(
            "https://cdn.example.test/{}{}",
            s.app.container,
            encode_path("/file/한 글.gif")
        )
    );
    let cc = s.get(&s.url_of("/file/한 글.gif")).headers()["cache-control"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(cc.contains("max-age=120"), "cache-control {cc}");
    assert_result(
        &s.upload(
            "/file/big.bmp",
            corpus("formats/bmp_24bit_bird_192x144.bmp"),
            "",
        ),
        11004,
    );
    drop(s);

    let s = Server::start_with_args(
        &["--config", path],
        &[("PICTOR_DELIVERY_CACHE_MAX_AGE_SECS", "30")],
    );
    assert_code(&s.upload("/file/b1.gif", corpus(GIF), ""), 0);
    let cc = s.get(&s.url("/file/b1.gif")).headers()["cache-control"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(cc.contains("max-age=30"), "environment wins: {cc}");
}

#[test]
fn default_upload_limit_is_50_mib() {
    let s = Server::start();
    let mut body = corpus("photos/photo_small_nikon-p6000_gps_640x480.jpg");
    body.resize(52_428_800 + 1, 0);
    assert_result(&s.upload("/huge/over.jpg", body, ""), 11004);
    assert_eq!(s.get(&s.url("/huge/over.jpg")).status(), 404);
    let list = s.json(Method::GET, "folders?basepath=/", None);
    assert_eq!(list["paging"]["totalFileCount"], 0);
}

#[test]
fn max_items_limits_rows_files_and_ids() {
    let s = Server::start_with(&[("PICTOR_LIMITS_MAX_ITEMS", "2")]);
    assert_code(&s.upload("/items/a1.gif", corpus(GIF), ""), 0);
    assert_result(
        &s.json(Method::GET, "folders?basepath=/items&rows=2", None),
        0,
    );
    assert_result(
        &s.json(Method::GET, "folders?basepath=/items&rows=3", None),
        11003,
    );
    let mut form =
        reqwest::blocking::multipart::Form::new().text("params", r#"{"basepath": "/items"}"#);
    for name in ["b1.gif", "c1.gif", "d1.gif"] {
        form = form.part(
            "files",
            reqwest::blocking::multipart::Part::bytes(corpus(GIF)).file_name(name),
        );
    }
    assert_result(&s.multipart(form), 11003);
    assert_eq!(s.get(&s.url("/items/b1.gif")).status(), 404);
    assert_result(
        &s.json(Method::DELETE, "images/async?fileIds=x1,x2,x3", None),
        21003,
    );
}

#[test]
fn max_path_bytes_is_configurable() {
    let s = Server::start_with(&[("PICTOR_LIMITS_MAX_PATH_BYTES", "64")]);
    let ok = format!("/short/{}.gif", "a".repeat(64 - 11));
    assert_eq!(ok.len(), 64);
    assert_result(&s.upload(&ok, corpus(GIF), ""), 0);
    let over = format!("/short/{}.gif", "a".repeat(64 - 10));
    assert_result(&s.upload(&over, corpus(GIF), ""), 11001);
}
