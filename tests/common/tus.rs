//! Resumable uploads: the tus client tuspy, run through `tests/fixtures/tus_client.py`, and
//! raw tus requests for what a well-behaved client never sends.

use super::server::Server;
use base64::Engine;
use reqwest::blocking::{RequestBuilder, Response};
use reqwest::Method;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The version of tuspy the tests were written with (`scripts/setup` installs it).
pub const TUSPY: &str = "tuspy==1.1.0";

/// What one run of the tus client printed.
#[derive(Debug)]
pub struct TusRun {
    /// Whether the upload went as far as asked.
    pub ok: bool,
    /// `url`, `offset`, `headers` (the last response's, lower-cased); on a refusal also
    /// `status`, `body` and `error`.
    pub out: Value,
}

impl TusRun {
    /// A header of the last response.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.out["headers"][name].as_str()
    }
}

/// Fails, saying what to install, unless `python3` can import tuspy.
fn require_tuspy() {
    let out = Command::new("python3")
        .args(["-c", "import tusclient"])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "the tus tests need python3 ({e}); install it, then \
                 `python3 -m pip install {TUSPY}` (scripts/setup does both)"
            )
        });
    assert!(
        out.status.success(),
        "the tus tests need tuspy: `python3 -m pip install {TUSPY}` (scripts/setup installs \
         it); python3 said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The client script.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tus_client.py")
}

/// Uploads `file` with tuspy through the creation URL `endpoint` (or resumes the upload at
/// `--url`), with `metadata` (a JSON object of strings) and the client options in `extra`
/// (`--chunk-size N`, `--stop-at N`, `--checksum`).
pub fn tuspy(
    endpoint: &str,
    secret: &str,
    file: &Path,
    metadata: &Value,
    extra: &[&str],
) -> TusRun {
    require_tuspy();
    let out = Command::new("python3")
        .arg(script())
        .arg(endpoint)
        .arg(secret)
        .arg(file)
        .arg(metadata.to_string())
        .args(extra)
        .output()
        .expect("run python3");
    let code = out.status.code();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        matches!(code, Some(0 | 3)),
        "the tus client failed ({code:?}): stdout {text}, stderr {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out: Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("the tus client printed no JSON ({e}): {text}"));
    TusRun {
        ok: code == Some(0),
        out,
    }
}

/// `Upload-Metadata` for `pairs`: each key and its value in base64.
pub fn tus_metadata(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k} {}",
                base64::engine::general_purpose::STANDARD.encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl Server {
    /// The creation URL of resumable uploads.
    pub fn uploads(&self) -> String {
        self.api("uploads")
    }

    /// A tus request (`Tus-Resumable: 1.0.0`, the app's secret) to `url`.
    pub fn tus(&self, method: &str, url: &str) -> RequestBuilder {
        self.http
            .request(
                Method::from_bytes(method.as_bytes()).expect("an HTTP method"),
                url,
            )
            .header("Tus-Resumable", "1.0.0")
            .header("Authorization", &self.app.secret_key)
    }

    /// `POST /uploads` with `Upload-Length: length` and `Upload-Metadata: metadata`, as given.
    pub fn tus_post(&self, length: &str, metadata: &str) -> Response {
        self.tus("POST", &self.uploads())
            .header("Upload-Length", length)
            .header("Upload-Metadata", metadata)
            .send()
            .expect("POST /uploads")
    }

    /// Creates an upload of `length` bytes with `metadata`; returns its absolute URL.
    pub fn tus_create(&self, length: u64, metadata: &[(&str, &str)]) -> String {
        let resp = self.tus_post(&length.to_string(), &tus_metadata(metadata));
        assert_eq!(resp.status(), 201, "creation: {:?}", resp.headers());
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("a Location")
            .to_owned();
        assert!(location.starts_with('/'), "a path: {location}");
        format!("{}{location}", self.base)
    }

    /// Sends `body` as the bytes of the upload at `url` from `offset`.
    pub fn tus_patch(&self, url: &str, offset: u64, body: Vec<u8>) -> Response {
        self.tus("PATCH", url)
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset.to_string())
            .body(body)
            .send()
            .expect("PATCH")
    }

    /// HEAD of the upload at `url`: its status and `Upload-Offset`.
    pub fn tus_head(&self, url: &str) -> (u16, Option<u64>) {
        let resp = self.tus("HEAD", url).send().expect("HEAD");
        let offset = header(&resp, "upload-offset").and_then(|v| v.parse().ok());
        (resp.status().as_u16(), offset)
    }
}

/// A response header as text.
pub fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
