//! A running `pictor serve` on an ephemeral loopback port with a temporary data directory:
//! start, stop, and the URLs it answers on.

use super::cli::{create_app, pictor, AppKeys};
use super::raw_http::encode_path;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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

    /// GET of a URL.
    pub fn get(&self, url: &str) -> reqwest::blocking::Response {
        self.http.get(url).send().expect("GET")
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
