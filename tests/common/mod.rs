//! Test harness: starts the real `pictor` binary on an ephemeral port with a temporary data
//! directory, and helpers to drive it over HTTP.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The test corpus beside the checkout; panics when it is missing.
pub fn corpus_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    assert!(
        dir.is_dir(),
        "test corpus missing: expected {} (../shared/corpus beside the checkout)",
        dir.display()
    );
    dir
}

/// The bytes of a corpus file.
pub fn corpus(rel: &str) -> Vec<u8> {
    let path = corpus_dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An app's keys as printed by `pictor app create`.
#[derive(Debug, Clone)]
pub struct AppKeys {
    pub app_key: String,
    pub secret_key: String,
    pub container: String,
}

/// Runs `pictor app create` on a data dir.
pub fn create_app(data_dir: &Path) -> AppKeys {
    let out = Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(["app", "create", "--name", "test", "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("run pictor app create");
    assert!(out.status.success(), "app create failed: {out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("app create prints JSON");
    AppKeys {
        app_key: v["appKey"].as_str().expect("appKey").to_owned(),
        secret_key: v["secretKey"].as_str().expect("secretKey").to_owned(),
        container: v["container"].as_str().expect("container").to_owned(),
    }
}

/// A running server; killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub app: AppKeys,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    pub http: reqwest::blocking::Client,
}

impl Server {
    /// Starts a server with a fresh data dir and app, and extra environment variables.
    pub fn start_with(env: &[(&str, &str)]) -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data_dir = tmp.path().join("data");
        let app = create_app(&data_dir);
        let mut server = Server::spawn(&data_dir, app, env);
        server._tmp = Some(tmp);
        server
    }

    /// Starts a server with defaults.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Starts a server on an existing data dir.
    pub fn spawn(data_dir: &Path, app: AppKeys, env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pictor"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("PICTOR_LOG_LEVEL", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn pictor serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server did not print its listening line");
        Server {
            child,
            base,
            app,
            data_dir: data_dir.to_owned(),
            _tmp: None,
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
        }
    }

    /// URL of a management API path (`folders`, `images?path=...`).
    pub fn api(&self, rest: &str) -> String {
        format!(
            "{}/image/v2.0/appkeys/{}/{rest}",
            self.base, self.app.app_key
        )
    }

    /// Delivery URL of a catalog path (already percent-encoded as needed).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}{path}", self.base, self.app.container)
    }

    /// An authenticated API request.
    pub fn call(&self, method: reqwest::Method, rest: &str) -> reqwest::blocking::RequestBuilder {
        self.http
            .request(method, self.api(rest))
            .header("Authorization", &self.app.secret_key)
    }

    /// An authenticated request answered with JSON.
    pub fn json(&self, method: reqwest::Method, rest: &str, body: Option<Value>) -> Value {
        let mut req = self.call(method, rest);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().expect("request");
        assert_eq!(resp.status(), 200, "the API always answers 200");
        resp.json().expect("JSON body")
    }

    /// Uploads bytes with `PUT /images?path=...` (path given raw, encoded here).
    pub fn upload(&self, path: &str, bytes: Vec<u8>, extra_query: &str) -> Value {
        let mut url = reqwest::Url::parse(&self.api("images")).expect("url");
        url.query_pairs_mut().append_pair("path", path);
        let mut s = url.to_string();
        if !extra_query.is_empty() {
            s.push('&');
            s.push_str(extra_query);
        }
        let resp = self
            .http
            .put(s)
            .header("Authorization", &self.app.secret_key)
            .body(bytes)
            .send()
            .expect("upload");
        assert_eq!(resp.status(), 200);
        resp.json().expect("JSON body")
    }

    /// Creates or replaces an operation.
    pub fn put_operation(&self, id: &str, body: Value) -> Value {
        self.json(
            reqwest::Method::PUT,
            &format!("operations/{id}"),
            Some(body),
        )
    }

    /// GET of a delivery URL.
    pub fn get(&self, url: &str) -> reqwest::blocking::Response {
        self.http.get(url).send().expect("GET")
    }

    /// Polls a task until it reaches D or F (at most 30 s).
    pub fn wait_task(&self, queue_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self.json(reqwest::Method::GET, &format!("queues/{queue_id}"), None);
            let status = v["queue"]["status"].as_str().unwrap_or("").to_owned();
            if status == "D" || status == "F" {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "task {queue_id} stuck in {status}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts the envelope's result code.
pub fn assert_code(v: &Value, code: i64) {
    assert_eq!(v["header"]["resultCode"], code, "unexpected answer: {v}");
    assert_eq!(
        v["header"]["isSuccessful"],
        code == 0,
        "isSuccessful of {v}"
    );
}

/// Decodes an image and returns its dimensions.
pub fn dims(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(bytes).expect("decodable image");
    (img.width(), img.height())
}
