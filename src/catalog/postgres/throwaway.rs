//! The PostgreSQL server tests run against: the one `PICTOR_TEST_POSTGRES_URL` names (its user
//! may create databases), else a throwaway cluster started once per test process from the
//! `initdb` and `postgres` binaries found on `PATH`, in `/usr/local/bin` or in
//! `/usr/lib/postgresql/*/bin`. When neither is there, a test prints one line saying it was
//! skipped and why and passes, unless `PICTOR_REQUIRE_BACKENDS=1`, which makes it fail.
//!
//! The cluster lives in a temporary directory. It is started through `sh`, which waits for the
//! end of a pipe this process holds as its standard input: when this process exits, however
//! it exits, the pipe closes, `sh` stops the server and removes the directory. As root, the
//! cluster is made and run as the `postgres` user (`initdb` refuses root). It accepts TLS
//! (`ssl=on`) with the certificate of `tests/fixtures/postgres-tls`, whose authority
//! [`tls_ca_file`] names; clients that do not ask for TLS connect without it.
//!
//! Self-contained (std and tempfile only), so integration tests include it with
//! `#[path = "../src/catalog/postgres/throwaway.rs"] mod throwaway;`.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The variable naming an existing server, e.g. `postgres://postgres@127.0.0.1:5432/postgres`.
const URL_VAR: &str = "PICTOR_TEST_POSTGRES_URL";

/// The variable that, set to `1`, makes a missing server fail the tests instead of skipping.
const REQUIRE_VAR: &str = "PICTOR_REQUIRE_BACKENDS";

/// How long the throwaway server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the server until the standard input closes, then stops it and removes the cluster.
/// Arguments: the binaries' folder, the data folder, the port, the folder to remove.
const SUPERVISOR: &str = r#"
"$1/postgres" -D "$2" -k "$2" -p "$3" -c listen_addresses=127.0.0.1 -c ssl=on \
    -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    >"$4/server.log" 2>&1 &
server=$!
cat >/dev/null
kill -INT "$server"
wait "$server"
rm -rf "$4"
"#;

/// The server URL for a test, or `None` after printing why the test is skipped. Panics when
/// no server is available and `PICTOR_REQUIRE_BACKENDS=1`.
pub fn server_or_skip(test: &str) -> Option<String> {
    match server_url() {
        Ok(url) => Some(url),
        Err(why) if std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1") => {
            panic!("{test}: PostgreSQL is required ({REQUIRE_VAR}=1) but unavailable: {why}")
        }
        Err(why) => {
            skipped(
                test,
                &format!("no PostgreSQL server ({why}); set {URL_VAR} to use one"),
            );
            None
        }
    }
}

/// Prints that `test` was skipped and why, on the real standard error: the test harness
/// captures the output of `eprintln!` and shows it only for failing tests.
pub fn skipped(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped {test}: {why}");
}

/// The certificates of the throwaway cluster's TLS.
fn tls_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/postgres-tls")
}

/// The authority that signed the test server's certificate, when the tests run against the
/// throwaway cluster (`None` for a server that `PICTOR_TEST_POSTGRES_URL` names). Only the TLS
/// tests use it, and every test binary that reaches PostgreSQL includes this file.
#[allow(dead_code)]
pub fn tls_ca_file() -> Option<PathBuf> {
    let external = std::env::var(URL_VAR).is_ok_and(|url| !url.trim().is_empty());
    (!external).then(|| tls_fixtures().join("ca.crt"))
}

/// The URL of `PICTOR_TEST_POSTGRES_URL`, or of the throwaway cluster (started on first use).
fn server_url() -> Result<String, String> {
    if let Ok(url) = std::env::var(URL_VAR) {
        if !url.trim().is_empty() {
            return Ok(url);
        }
    }
    static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
    match CLUSTER.get_or_init(Cluster::start) {
        Ok(cluster) => Ok(cluster.url.clone()),
        Err(why) => Err(why.clone()),
    }
}

/// A running throwaway cluster.
struct Cluster {
    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    url: String,
    /// The supervisor's standard input: closed when this process exits, which stops the
    /// server and removes its directory.
    _lifeline: ChildStdin,
}

impl Cluster {
    /// Makes and starts a cluster in a new temporary directory.
    fn start() -> Result<Cluster, String> {
        let bin = binaries()?;
        let root = tempfile::Builder::new()
            .prefix("pictor-pg-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?
            .keep();
        Cluster::start_in(&bin, &root).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&root);
        })
    }

    /// Runs `initdb` in `root` and starts the server under a supervisor.
    fn start_in(bin: &Path, root: &Path) -> Result<Cluster, String> {
        let as_root = std::fs::metadata(root)
            .map_err(|e| format!("{}: {e}", root.display()))?
            .uid()
            == 0;
        if as_root {
            run(Command::new("chown").arg("postgres:").arg(root))?;
        }
        let data = root.join("data");
        let mut initdb = as_user(as_root, &bin.join("initdb"));
        initdb.current_dir(root).arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        run(&mut initdb)?;
        for name in ["server.crt", "server.key"] {
            let to = data.join(name);
            std::fs::copy(tls_fixtures().join(name), &to)
                .map_err(|e| format!("{}: {e}", to.display()))?;
            // The server refuses a key others may read.
            run(Command::new("chmod").arg("600").arg(&to))?;
            if as_root {
                run(Command::new("chown").arg("postgres:").arg(&to))?;
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let mut supervisor = as_user(as_root, Path::new("sh"));
        supervisor
            .current_dir(root)
            .args(["-c", SUPERVISOR, "sh"])
            .arg(bin)
            .arg(&data)
            .arg(port.to_string())
            .arg(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = supervisor
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let lifeline = child
            .stdin
            .take()
            .ok_or_else(|| "the supervisor has no standard input".to_owned())?;
        // Dropping the lifeline on failure stops the server and removes the cluster.
        wait_ready(&data, &root.join("server.log"))?;
        Ok(Cluster {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            _lifeline: lifeline,
        })
    }
}

/// The first folder holding both `initdb` and `postgres`.
fn binaries() -> Result<PathBuf, String> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push(PathBuf::from("/usr/local/bin"));
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .collect();
        versions.sort();
        dirs.extend(versions.into_iter().rev());
    }
    dirs.into_iter()
        .find(|d| d.join("initdb").is_file() && d.join("postgres").is_file())
        .ok_or_else(|| {
            "no initdb and postgres binaries on PATH, in /usr/local/bin or in \
             /usr/lib/postgresql/*/bin"
                .to_owned()
        })
}

/// A command run as the `postgres` user when this process is root, else as this user.
fn as_user(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Runs a command to its end; its output is the error when it fails.
fn run(command: &mut Command) -> Result<(), String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{command:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Waits until the server reports itself ready in its `postmaster.pid`, or fails with its log.
fn wait_ready(data: &Path, log: &Path) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let pid_file = std::fs::read_to_string(data.join("postmaster.pid")).unwrap_or_default();
        if pid_file.lines().any(|line| line.trim() == "ready") {
            return Ok(());
        }
        let log_text = std::fs::read_to_string(log).unwrap_or_default();
        if log_text.contains("FATAL") || Instant::now() > deadline {
            return Err(format!(
                "the throwaway server did not start: {}",
                log_text.trim()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
