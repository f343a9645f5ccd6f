//! Test harness: starts the real `pictor` binary on an ephemeral port with a temporary data
//! directory, and helpers to drive it over HTTP.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The test corpus beside the checkout; panics when it is missing.
pub fn corpus_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"));
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
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "corpus file missing or unreadable: {} ({e}); ../shared/corpus must be beside the checkout",
            path.display()
        )
    })
}

/// One row of the corpus `MANIFEST.tsv`.
#[derive(Debug, Clone)]
pub struct ManifestEntry {
    pub path: String,
    pub bytes: u64,
    /// `None` for files without dimensions (text, empty files).
    pub dims: Option<(u64, u64)>,
}

/// The corpus manifest.
pub fn manifest() -> Vec<ManifestEntry> {
    let file = corpus_dir().join("MANIFEST.tsv");
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("corpus manifest missing: {} ({e})", file.display()));
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let dims = cols.get(2).and_then(|d| {
                let (w, h) = d.split_once('x')?;
                Some((w.trim().parse().ok()?, h.trim().parse().ok()?))
            });
            ManifestEntry {
                path: cols[0].to_owned(),
                bytes: cols[1].parse().expect("manifest byte count"),
                dims,
            }
        })
        .collect()
}

/// Width and height of a corpus file according to the manifest.
pub fn manifest_dims(rel: &str) -> (u64, u64) {
    manifest()
        .into_iter()
        .find(|e| e.path == rel)
        .and_then(|e| e.dims)
        .unwrap_or_else(|| panic!("{rel} has no dimensions in MANIFEST.tsv"))
}

/// An app's keys as printed by `pictor app create`.
#[derive(Debug, Clone)]
pub struct AppKeys {
    pub app_key: String,
    pub secret_key: String,
    pub container: String,
}

impl AppKeys {
    /// Reads the keys from the JSON object printed by the binary.
    pub fn from_json(v: &Value) -> AppKeys {
        AppKeys {
            app_key: v["appKey"].as_str().expect("appKey").to_owned(),
            secret_key: v["secretKey"].as_str().expect("secretKey").to_owned(),
            container: v["container"].as_str().expect("container").to_owned(),
        }
    }
}

/// The `pictor` binary.
pub fn pictor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pictor"))
}

/// Runs `pictor app create` on a data dir.
pub fn create_app(data_dir: &Path) -> AppKeys {
    create_app_named(data_dir, "test")
}

/// Runs `pictor app create --name NAME` on a data dir and checks it prints one JSON line.
pub fn create_app_named(data_dir: &Path, name: &str) -> AppKeys {
    let out = pictor()
        .args(["app", "create", "--name", name, "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("run pictor app create");
    assert!(out.status.success(), "app create failed: {out:?}");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "app create prints exactly one line: {stdout:?}"
    );
    let v: Value = serde_json::from_str(lines[0]).expect("app create prints JSON");
    AppKeys::from_json(&v)
}

/// Runs `pictor app list` on a data dir and returns the parsed array.
pub fn list_apps(data_dir: &Path) -> Vec<Value> {
    let out = pictor()
        .args(["app", "list", "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("run pictor app list");
    assert!(out.status.success(), "app list failed: {out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("app list prints JSON");
    v.as_array().expect("app list prints an array").clone()
}

/// Reads the stdout of a `serve` child until the listening line; returns the base URL and
/// every line read before it. Panics after `timeout`.
pub fn wait_listening(child: &mut Child, timeout: Duration) -> (String, Vec<String>) {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + timeout;
    let mut before = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    return (addr.trim().to_owned(), before);
                }
                before.push(line);
            }
            Err(_) => {
                let status = child.try_wait().ok().flatten();
                panic!(
                    "server did not print `listening on http://…` within {timeout:?} \
                     (exit status {status:?}, stdout so far {before:?})"
                );
            }
        }
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
        Server::start_with_args(&[], env)
    }

    /// Starts a server with a fresh data dir and app, extra `serve` arguments and environment.
    pub fn start_with_args(args: &[&str], env: &[(&str, &str)]) -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data_dir = tmp.path().join("data");
        let app = create_app(&data_dir);
        let mut server = Server::spawn_with(&data_dir, app, args, env);
        server._tmp = Some(tmp);
        server
    }

    /// Starts a server with defaults.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Starts a server on an existing data dir.
    pub fn spawn(data_dir: &Path, app: AppKeys, env: &[(&str, &str)]) -> Server {
        Server::spawn_with(data_dir, app, &[], env)
    }

    /// Starts a server on an existing data dir with extra `serve` arguments.
    pub fn spawn_with(
        data_dir: &Path,
        app: AppKeys,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let mut cmd = pictor();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .env("PICTOR_LOG_LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn pictor serve");
        let (base, _) = wait_listening(&mut child, Duration::from_secs(30));
        assert!(base.starts_with("http://127.0.0.1:"), "listening on {base}");
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

    /// `host:port` the server listens on.
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
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

    /// Delivery URL of a raw catalog path, percent-encoded here.
    pub fn url_of(&self, raw_path: &str) -> String {
        self.url(&encode_path(raw_path))
    }

    /// An authenticated API request.
    pub fn call(&self, method: reqwest::Method, rest: &str) -> reqwest::blocking::RequestBuilder {
        self.http
            .request(method, self.api(rest))
            .header("Authorization", &self.app.secret_key)
    }

    /// Sends a request and checks the API answered HTTP 200 with a JSON envelope.
    pub fn send_json(&self, req: reqwest::blocking::RequestBuilder) -> Value {
        let resp = req.send().expect("request");
        assert_eq!(resp.status(), 200, "the API always answers HTTP 200");
        let text = resp.text().expect("body");
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        assert!(
            v["header"].is_object(),
            "every answer has a `header` envelope: {v}"
        );
        v
    }

    /// An authenticated request answered with JSON.
    pub fn json(&self, method: reqwest::Method, rest: &str, body: Option<Value>) -> Value {
        let mut req = self.call(method, rest);
        if let Some(body) = body {
            req = req.json(&body);
        }
        self.send_json(req)
    }

    /// Uploads bytes with `PUT /images?path=...` (path given raw, encoded here).
    pub fn upload(&self, path: &str, bytes: Vec<u8>, extra_query: &str) -> Value {
        let mut query = format!("images?path={}", encode_query(path));
        if !extra_query.is_empty() {
            query.push('&');
            query.push_str(extra_query);
        }
        self.send_json(self.call(reqwest::Method::PUT, &query).body(bytes))
    }

    /// Uploads a corpus file with `PUT /images` and asserts success; returns the `file` object.
    pub fn upload_ok(&self, path: &str, corpus_file: &str) -> Value {
        let v = self.upload(path, corpus(corpus_file), "");
        assert_code(&v, 0);
        v["file"].clone()
    }

    /// Creates a folder with `POST /folders`.
    pub fn mkdir(&self, path: &str) -> Value {
        self.json(
            reqwest::Method::POST,
            "folders",
            Some(serde_json::json!({ "path": path })),
        )
    }

    /// Sends a `POST /images` multipart form.
    pub fn multipart(&self, form: reqwest::blocking::multipart::Form) -> Value {
        self.send_json(self.call(reqwest::Method::POST, "images").multipart(form))
    }

    /// Sends a hand-written `POST /images` multipart body.
    pub fn multipart_raw(&self, boundary: &str, body: Vec<u8>) -> Value {
        self.send_json(
            self.call(reqwest::Method::POST, "images")
                .header(
                    "Content-Type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body),
        )
    }

    /// Creates or replaces an operation.
    pub fn put_operation(&self, id: &str, body: Value) -> Value {
        self.json(
            reqwest::Method::PUT,
            &format!("operations/{id}"),
            Some(body),
        )
    }

    /// GET of a URL.
    pub fn get(&self, url: &str) -> reqwest::blocking::Response {
        self.http.get(url).send().expect("GET")
    }

    /// The `/metrics` text.
    pub fn metrics(&self) -> String {
        let resp = self.get(&format!("{}/metrics", self.base));
        assert_eq!(resp.status(), 200, "/metrics answers 200");
        resp.text().expect("metrics text")
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
                "task {queue_id} stuck in {status}: {v}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends raw bytes on a fresh connection and returns the whole answer.
    pub fn raw(&self, request: &[u8]) -> RawResponse {
        let mut stream = std::net::TcpStream::connect(self.addr()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        stream.write_all(request).expect("write");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        RawResponse::parse(&answer)
    }

    /// A `GET` with the request target written exactly as given (no client normalisation).
    pub fn raw_get(&self, target: &str) -> RawResponse {
        let req = format!(
            "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr()
        );
        self.raw(req.as_bytes())
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

/// A response read from a raw connection.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl RawResponse {
    fn parse(answer: &[u8]) -> RawResponse {
        let split = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|p| p + 4)
            .unwrap_or(answer.len());
        let head = String::from_utf8_lossy(&answer[..split]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        RawResponse {
            status,
            head,
            body: answer[split..].to_vec(),
        }
    }

    /// A header value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

/// Percent-encodes a catalog path for a URL path, keeping `/`.
pub fn encode_path(path: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const SET: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    utf8_percent_encode(path, SET).to_string()
}

/// Percent-encodes a value for a query string (`/` kept, spaces as `%20`).
pub fn encode_query(value: &str) -> String {
    encode_path(value)
}

/// The message of a result code in `result-codes.tsv` (the codes these tests use).
pub fn message_of(code: i64) -> &'static str {
    match code {
        0 => "Success",
        1 => "Partial Success",
        2 => "Fail",
        -1 => "Unknown error.",
        404 => "Please check your API Url, HTTP Method.",
        10001 => "parameter is invalid.",
        10002 => "There is not exist upload file or it is an invalid file.",
        11001 => "The max byte size of full path is 1024.",
        11002 => "It is 2 ~ 255 the length of file and folder.",
        11003 => "It is 10,000 the max count of file and folder you can request.",
        11004 => "It was exceed the max volume you can upload at once.",
        11050 => "Invalid Characters in File or Folder Name",
        11060 => "You must register the name of file or folder.",
        20000 => "There is already a folder at the given destination. path: {}",
        20001 => "No file was found at the specified path.",
        20002 => "It does not exist upper folder.",
        20010 => "There is same file name.",
        21003 => "It is 10,000 the max count of file and folder you are able to delete.",
        21011 => "It does not exist the data to delete.",
        30004 => "The authentication is invalid.",
        other => panic!("no message known for result code {other}"),
    }
}

/// Asserts the envelope's result code and `isSuccessful`.
pub fn assert_code(v: &Value, code: i64) {
    assert_eq!(v["header"]["resultCode"], code, "unexpected answer: {v}");
    assert_eq!(
        v["header"]["isSuccessful"],
        code == 0,
        "isSuccessful of {v}"
    );
}

/// Asserts the envelope's result code, `isSuccessful` and the message from result-codes.tsv.
pub fn assert_result(v: &Value, code: i64) {
    assert_code(v, code);
    if code != 20000 {
        assert_eq!(
            v["header"]["resultMessage"],
            message_of(code),
            "resultMessage of {v}"
        );
    }
}

/// Like `assert_result`, naming the case in the failure message.
pub fn assert_result_for(v: &Value, code: i64, case: &str) {
    assert_eq!(
        v["header"]["resultCode"], code,
        "{case}: unexpected answer: {v}"
    );
    assert_eq!(
        v["header"]["isSuccessful"],
        code == 0,
        "{case}: isSuccessful of {v}"
    );
    if code != 20000 {
        assert_eq!(
            v["header"]["resultMessage"],
            message_of(code),
            "{case}: resultMessage of {v}"
        );
    }
}

/// Asserts a date looks like `2016-02-26T16:38:34+0900`.
pub fn assert_date(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("date is not a string: {v}"));
    assert_eq!(s.len(), 24, "date shape 2016-02-26T16:38:34+0900: {s}");
    chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z")
        .unwrap_or_else(|e| panic!("date {s} is not %Y-%m-%dT%H:%M:%S%z: {e}"));
}

/// Asserts an id is a UUID string.
pub fn assert_uuid(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("id is not a string: {v}"));
    uuid::Uuid::parse_str(s).unwrap_or_else(|e| panic!("id {s} is not a UUID: {e}"));
}

/// The `name` fields of `v[key]`.
pub fn names(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("`{key}` is not an array in {v}"))
        .iter()
        .map(|x| x["name"].as_str().expect("name").to_owned())
        .collect()
}

/// The value of the first sample whose series (name and labels) matches exactly, or the sum
/// of every sample of `name` whose labels include each of `labels` when `labels` is given.
pub fn metric_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, label_text) = match series.split_once('{') {
                Some((m, rest)) => (m, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if metric != name {
                return None;
            }
            let all = labels.iter().all(|(k, v)| {
                label_text
                    .split(',')
                    .any(|pair| pair.trim() == format!("{k}=\"{v}\""))
            });
            all.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// Decodes an image and returns its dimensions.
pub fn dims(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(bytes).expect("decodable image");
    (img.width(), img.height())
}

/// Mean absolute difference per channel byte of two images of equal size.
pub fn mean_abs_diff(a: &image::RgbaImage, b: &image::RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "images of equal size");
    let total: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.as_raw().len() as f64
}

/// Runs `pictor transform --operation OP SRC OUTDIR`.
pub fn transform(operation: &Path, src: &Path, outdir: &Path) -> std::process::Output {
    pictor()
        .arg("transform")
        .arg("--operation")
        .arg(operation)
        .arg(src)
        .arg(outdir)
        .output()
        .expect("run pictor transform")
}

/// Inserts an `image` task left in progress (expired lease) after `tries` attempts.
pub fn insert_crashed_task(
    s: &Server,
    id: &str,
    file_id: &str,
    tries: u32,
    callback_url: Option<&str>,
) {
    let conn = rusqlite::Connection::open(s.data_dir.join("catalog.sqlite3")).expect("open");
    let payload = serde_json::json!({"source_id": file_id, "operation_id": "thumb",
                         "callback_url": callback_url, "callback_id": id})
    .to_string();
    conn.execute(
        "INSERT INTO tasks (id, app_key, queue_type, status, try_count, queued_at, operation_id,
             path, payload, error, lease_until)
         VALUES (?1, ?2, 'image', 'P', ?3, 1, 'thumb', '/shop/photo_thumb.jpg', ?4, NULL, 1)",
        rusqlite::params![id, s.app.app_key, tries, payload],
    )
    .expect("insert a task left in progress by a crash");
}
