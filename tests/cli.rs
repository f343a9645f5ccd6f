//! The `pictor` command: `app create`, `app list`, the default app on first start, graceful
//! shutdown on SIGTERM, and `transform`.

mod common;

use common::{
    assert_code, corpus, corpus_dir, create_app_named, list_apps, manifest_dims, pictor, transform,
    wait_listening, AppKeys, Server,
};
use reqwest::Method;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_exit(child: &mut std::process::Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("pictor did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sigterm(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM {pid}");
}

#[test]
fn app_create_prints_one_json_object_and_list_shows_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let out = pictor()
        .args(["app", "create", "--name", "shop", "--data-dir"])
        .arg(&data)
        .output()
        .expect("run app create");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line: {stdout:?}");
    let v: Value = serde_json::from_str(lines[0]).expect("a JSON object");
    let obj = v.as_object().expect("object");
    for key in ["appKey", "secretKey", "container"] {
        let s = obj[key].as_str().unwrap_or_else(|| panic!("{key} string"));
        assert!(!s.is_empty(), "{key} is empty");
    }
    let shop = AppKeys::from_json(&v);
    assert_ne!(shop.app_key, shop.secret_key);

    let other = create_app_named(&data, "blog");
    assert_ne!(other.app_key, shop.app_key);
    assert_ne!(other.secret_key, shop.secret_key);
    assert_ne!(other.container, shop.container);

    let apps = list_apps(&data);
    assert_eq!(apps.len(), 2, "{apps:?}");
    let find = |key: &str| {
        apps.iter()
            .find(|a| a["appKey"] == key)
            .unwrap_or_else(|| panic!("{key} not listed in {apps:?}"))
            .clone()
    };
    let listed = find(&shop.app_key);
    assert_eq!(listed["secretKey"], shop.secret_key.as_str());
    assert_eq!(listed["container"], shop.container.as_str());
    assert_eq!(listed["name"], "shop");
    assert_eq!(find(&other.app_key)["name"], "blog");
}

#[test]
fn app_list_on_an_empty_catalog_is_an_empty_array() {
    let tmp = tempfile::tempdir().expect("tempdir");
    assert_eq!(list_apps(&tmp.path().join("data")), Vec::<Value>::new());
}

#[test]
fn catalog_and_storage_urls_on_the_command_line_override_the_data_dir() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let catalog = tmp.path().join("elsewhere.sqlite3");
    let blobs = tmp.path().join("bytes");
    let catalog_url = format!("sqlite://{}", catalog.display());
    let storage_url = format!("file://{}", blobs.display());
    let out = pictor()
        .args([
            "app",
            "create",
            "--name",
            "moved",
            "--catalog-url",
            &catalog_url,
        ])
        .args(["--storage-url", &storage_url, "--data-dir"])
        .arg(&data)
        .output()
        .expect("run app create");
    assert!(out.status.success(), "{out:?}");
    assert!(catalog.is_file(), "the catalog is where --catalog-url says");
    assert!(
        blobs.is_dir(),
        "the object store is where --storage-url says"
    );
    assert!(!data.join("catalog.sqlite3").exists());
    assert!(!data.join("blobs").exists());
    let listed = pictor()
        .args(["app", "list", "--catalog-url", &catalog_url, "--data-dir"])
        .arg(tmp.path().join("other"))
        .output()
        .expect("run app list");
    let apps: Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    assert_eq!(apps[0]["name"], "moved", "{apps}");

    let refused = pictor()
        .args([
            "app",
            "list",
            "--catalog-url",
            "mysql://user:hunter2@db/pictor",
        ])
        .arg("--data-dir")
        .arg(&data)
        .output()
        .expect("run app list");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("unsupported catalog scheme `mysql`"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hunter2"),
        "the password is not shown: {stderr}"
    );
}

#[test]
fn first_start_creates_a_default_app_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let mut child = pictor()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("PICTOR_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let (base, before) = wait_listening(&mut child, Duration::from_secs(30));
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let created: Vec<&String> = before
        .iter()
        .filter(|l| l.starts_with("created default app "))
        .collect();
    assert_eq!(created.len(), 1, "stdout before listening: {before:?}");
    let json = created[0].trim_start_matches("created default app ");
    let default = AppKeys::from_json(&serde_json::from_str(json).expect("JSON keys"));

    // The printed keys work against the running server.
    let client = reqwest::blocking::Client::new();
    let v: Value = client
        .get(format!(
            "{base}/image/v2.0/appkeys/{}/users",
            default.app_key
        ))
        .header("Authorization", &default.secret_key)
        .send()
        .expect("GET users")
        .json()
        .expect("JSON");
    assert_code(&v, 0);
    assert_eq!(v["user"]["containerName"], default.container.as_str());

    // The app commands work beside the running server.
    let extra = create_app_named(&data, "extra");
    let apps = list_apps(&data);
    let keys: Vec<&str> = apps.iter().filter_map(|a| a["appKey"].as_str()).collect();
    assert!(keys.contains(&default.app_key.as_str()), "{apps:?}");
    assert!(keys.contains(&extra.app_key.as_str()), "{apps:?}");
    assert_eq!(apps.len(), 2);

    sigterm(child.id());
    assert_eq!(
        wait_exit(&mut child, Duration::from_secs(30)).code(),
        Some(0)
    );

    // A second start on the same catalog creates no further app.
    let mut again = pictor()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("PICTOR_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let (_, before) = wait_listening(&mut again, Duration::from_secs(30));
    assert!(
        before.iter().all(|l| !l.starts_with("created default app")),
        "no second default app: {before:?}"
    );
    let _ = again.kill();
    let _ = again.wait();
    assert_eq!(list_apps(&data).len(), 2);
}

#[test]
fn an_app_created_while_the_server_runs_can_use_the_api() {
    let s = Server::start();
    let late = create_app_named(&s.data_dir, "late");
    let v: Value = s
        .http
        .get(format!(
            "{}/image/v2.0/appkeys/{}/users",
            s.base, late.app_key
        ))
        .header("Authorization", &late.secret_key)
        .send()
        .expect("GET users")
        .json()
        .expect("JSON");
    assert_code(&v, 0);
    assert_eq!(v["user"]["appKey"], late.app_key.as_str());
    assert_eq!(v["user"]["containerName"], late.container.as_str());
}

#[test]
fn sigterm_exits_zero_and_stops_accepting() {
    let mut s = Server::start();
    assert_code(&s.json(Method::GET, "folders?basepath=/", None), 0);
    let addr = s.addr();
    assert_eq!(s.terminate().code(), Some(0));
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "no longer accepting after exit"
    );
}

#[test]
fn sigterm_finishes_an_in_flight_upload() {
    let mut s = Server::start();
    let gif = corpus("edge/tiny_10x10.gif");
    let (first, rest) = gif.split_at(20);
    let mut stream = std::net::TcpStream::connect(s.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let head = format!(
        "PUT /image/v2.0/appkeys/{}/images?path=/drain/slow.gif HTTP/1.1\r\n\
         Host: {}\r\nAuthorization: {}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        s.app.app_key,
        s.addr(),
        s.app.secret_key,
        gif.len()
    );
    stream.write_all(head.as_bytes()).expect("write head");
    stream.write_all(first).expect("write first part");
    stream.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(300));

    // SIGTERM while the body is only partly sent.
    sigterm(s.child.id());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        s.child.try_wait().expect("try_wait").is_none(),
        "the server waits for the in-flight request"
    );
    stream.write_all(rest).expect("write the rest");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read answer");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "answer: {text}");
    let body = &text[text.find("\r\n\r\n").expect("head end") + 4..];
    let start = body.find('{').expect("JSON body");
    let end = body.rfind('}').expect("JSON body");
    let v: Value = serde_json::from_str(&body[start..=end]).expect("JSON");
    assert_code(&v, 0);
    assert_eq!(v["file"]["path"], "/drain/slow.gif");

    let status = wait_exit(&mut s.child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "exit status after draining");
}

#[test]
fn upload_survives_a_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let app = common::create_app(&data);
    let gif = corpus("edge/tiny_10x10.gif");
    {
        let mut s = Server::spawn(&data, app.clone(), &[]);
        assert_code(&s.upload("/keep/kept.gif", gif.clone(), ""), 0);
        assert_eq!(s.terminate().code(), Some(0));
    }
    let s = Server::spawn(&data, app, &[]);
    let served = s.get(&s.url("/keep/kept.gif"));
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().expect("body").as_ref(), gif.as_slice());
    let list = s.json(Method::GET, "folders?basepath=/keep", None);
    assert_eq!(list["paging"]["totalFileCount"], 1);
}

/// Asserts a failed transform: a non-zero exit and exactly one line on stderr, no panic.
fn assert_one_line_failure(out: &std::process::Output, case: &str) {
    assert!(!out.status.success(), "{case}: exits non-zero: {out:?}");
    assert_ne!(out.status.code(), Some(101), "{case}: not a panic exit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{case}: one line on stderr: {stderr:?}");
    assert!(
        !lines[0].trim().is_empty(),
        "{case}: the line says something"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{case}: no panic: {stderr:?}"
    );
}

/// The names of the entries of a folder, sorted; empty when it does not exist.
fn entries(dir: &Path) -> Vec<String> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = read
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn transform_writes_grid_pieces_and_fails_in_one_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let operation = tmp.path().join("quad.json");
    std::fs::write(
        &operation,
        r#"{"data": [{"templateOperationId": "grid", "option": {"countX": 2, "countY": 2}}]}"#,
    )
    .expect("write quad.json");
    let rel = "photos/photo_small_nikon-p6000_gps_640x480.jpg";
    let src = corpus_dir().join(rel);
    let (w, h) = manifest_dims(rel);
    let outdir = tmp.path().join("out");

    let out = transform(&operation, &src, &outdir);
    assert!(out.status.success(), "transform failed: {out:?}");
    let stem = "photo_small_nikon-p6000_gps_640x480";
    let expected: Vec<String> = (0..4).map(|i| format!("{stem}_quad_{i:04}.jpg")).collect();
    assert_eq!(
        entries(&outdir),
        expected,
        "the four pieces and nothing else"
    );
    let printed: Vec<String> = String::from_utf8(out.stdout.clone())
        .expect("utf-8 stdout")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(printed.len(), 4, "one written path per line: {printed:?}");
    let piece = (
        u32::try_from(w.div_ceil(2)).expect("width"),
        u32::try_from(h.div_ceil(2)).expect("height"),
    );
    for name in &expected {
        let bytes = std::fs::read(outdir.join(name)).expect("read piece");
        assert_eq!(common::dims(&bytes), piece, "{name}");
        assert!(
            printed.iter().any(|p| p.ends_with(name.as_str())),
            "{name} is printed: {printed:?}"
        );
    }

    let corrupt = corpus_dir().join("malformed/truncated_jpeg_first10000bytes.jpg");
    let bad_out = tmp.path().join("bad");
    let out = transform(&operation, &corrupt, &bad_out);
    assert_one_line_failure(&out, "corrupt source");
    assert_eq!(entries(&bad_out), Vec::<String>::new(), "nothing written");

    let missing_out = tmp.path().join("missing");
    let out = transform(&tmp.path().join("nosuch.json"), &src, &missing_out);
    assert_one_line_failure(&out, "missing operation file");
    assert_eq!(
        entries(&missing_out),
        Vec::<String>::new(),
        "nothing written"
    );
}
