//! An S3 server for tests: the one `PICTOR_TEST_S3_ENDPOINT` names (with
//! `PICTOR_TEST_S3_ACCESS_KEY`, `PICTOR_TEST_S3_SECRET_KEY` and optionally
//! `PICTOR_TEST_S3_REGION`), or else a throwaway SeaweedFS (`weed mini`, the binary named by
//! `PICTOR_TEST_WEED` or found on `PATH`) started once per test process on free loopback ports,
//! with a temporary data directory and one identity whose keys every request must be signed
//! with. The throwaway server runs under a `sh` wrapper that waits on a pipe this process
//! holds: when the process exits, however it exits, the wrapper stops the server and removes
//! its directory.
//!
//! With neither, [`S3::get`] prints one line saying the S3 tests were skipped and why, and
//! returns `None`, so the calling test passes; with `PICTOR_REQUIRE_BACKENDS=1` it panics.
//!
//! Self-contained (std and tempfile only): unit tests can include it with `#[path]` as well.
//! Buckets are created and listed with requests signed here (AWS Signature Version 4 over
//! plain HTTP), so the code under test is not used to check itself.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// An S3 server the tests may use.
#[derive(Debug)]
pub struct S3 {
    /// `http://host:port`.
    pub endpoint: String,
    /// Access key id of an identity allowed everything.
    pub access_key: String,
    /// Its secret key.
    pub secret_key: String,
    /// Region requests are signed for.
    pub region: String,
    /// The throwaway server's wrapper, whose stdin this process holds open until it exits.
    _wrapper: Option<Mutex<Child>>,
}

/// What looking for a server found.
enum Found {
    Ready(S3),
    /// No server is configured or installed: the S3 tests are skipped.
    Unavailable(String),
    /// A server is configured or installed but cannot be used: the S3 tests fail.
    Broken(String),
}

impl S3 {
    /// The S3 server of this test process, started on first use; `None` when there is none
    /// (after printing why, once), which the caller treats as a skip.
    pub fn get() -> Option<&'static S3> {
        static FOUND: OnceLock<Found> = OnceLock::new();
        match FOUND.get_or_init(find) {
            Found::Ready(s3) => Some(s3),
            Found::Broken(why) => panic!("S3 test server: {why}"),
            Found::Unavailable(why) => {
                if std::env::var("PICTOR_REQUIRE_BACKENDS").as_deref() == Ok("1") {
                    panic!("PICTOR_REQUIRE_BACKENDS=1 but no S3 server: {why}");
                }
                static SAID: Once = Once::new();
                SAID.call_once(|| {
                    // Straight to the process's stderr: the test harness captures `eprintln!`.
                    let line = format!(
                        "S3 tests skipped: {why}; set PICTOR_TEST_S3_ENDPOINT or run \
                         scripts/setup --s3\n"
                    );
                    let _ = std::io::stderr().write_all(line.as_bytes());
                });
                None
            }
        }
    }

    /// The variables a `pictor` process needs to reach this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.clone()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
        ]
    }

    /// The environment of a node whose bytes live under `prefix` of `bucket` on this server and
    /// whose catalog is the PostgreSQL database at `catalog_url`.
    pub fn node_env(&self, bucket: &str, prefix: &str, catalog_url: &str) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .env()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        env.push(("PICTOR_CATALOG_URL".to_owned(), catalog_url.to_owned()));
        env.push((
            "PICTOR_STORAGE_URL".to_owned(),
            format!("s3://{bucket}/{prefix}"),
        ));
        env
    }

    /// Creates a bucket no other test uses, named after `hint`, and returns its name.
    pub fn bucket(&self, hint: &str) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let clean: String = hint
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .take(30)
            .collect();
        let name = format!(
            "pictor-{clean}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let (status, body) = self
            .request("PUT", &format!("/{name}"), &[], &[])
            .unwrap_or_else(|e| panic!("create bucket {name}: {e}"));
        assert!(
            status == 200,
            "create bucket {name}: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        );
        name
    }

    /// The keys of `bucket` that start with `prefix`, in the server's order.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let query = [("list-type", "2"), ("max-keys", "1000"), ("prefix", prefix)];
        let (status, body) = self
            .request("GET", &format!("/{bucket}"), &query, &[])
            .unwrap_or_else(|e| panic!("list {bucket}: {e}"));
        let text = String::from_utf8_lossy(&body);
        assert!(status == 200, "list {bucket}: HTTP {status}: {text}");
        assert!(
            !text.contains("<IsTruncated>true</IsTruncated>"),
            "more than 1000 keys: {text}"
        );
        text.split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split_once("</Key>"))
            .map(|(key, _)| unescape_xml(key))
            .collect()
    }

    /// The same server and access key with another secret key, whose requests are refused.
    pub fn with_secret(&self, secret_key: &str) -> S3 {
        S3 {
            endpoint: self.endpoint.clone(),
            access_key: self.access_key.clone(),
            secret_key: secret_key.to_owned(),
            region: self.region.clone(),
            _wrapper: None,
        }
    }

    /// One request signed with this server's keys (`path` starts with `/`); the status and body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        signed_request(self, method, path, query, body)
    }
}

/// The configured server, or a throwaway one, or why there is none.
fn find() -> Found {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(endpoint) = var("PICTOR_TEST_S3_ENDPOINT") {
        let (Some(access_key), Some(secret_key)) = (
            var("PICTOR_TEST_S3_ACCESS_KEY"),
            var("PICTOR_TEST_S3_SECRET_KEY"),
        ) else {
            return Found::Broken(
                "PICTOR_TEST_S3_ENDPOINT is set without PICTOR_TEST_S3_ACCESS_KEY and \
                 PICTOR_TEST_S3_SECRET_KEY"
                    .to_owned(),
            );
        };
        if !endpoint.starts_with("http://") {
            return Found::Broken(format!(
                "PICTOR_TEST_S3_ENDPOINT={endpoint}: the test harness speaks plain http:// only"
            ));
        }
        return Found::Ready(S3 {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            access_key,
            secret_key,
            region: var("PICTOR_TEST_S3_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
            _wrapper: None,
        });
    }
    let Some(weed) = weed_binary() else {
        return Found::Unavailable(
            "PICTOR_TEST_S3_ENDPOINT is not set and no SeaweedFS `weed` binary was found \
             (PICTOR_TEST_WEED, PATH)"
                .to_owned(),
        );
    };
    match start_weed(&weed) {
        Ok(s3) => Found::Ready(s3),
        Err(e) => Found::Broken(format!("{}: {e}", weed.display())),
    }
}

/// `PICTOR_TEST_WEED`, or the first `weed` on `PATH`.
fn weed_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PICTOR_TEST_WEED").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("weed"))
        .find(|candidate| candidate.is_file())
}

/// Stops the server and removes its directory when this process closes the wrapper's stdin
/// (at exit), or removes the directory when the server dies first. `$1` is the directory, `$2`
/// the ports (weed leaves `/tmp/seaweedfs-*-<port>.sock` files that no flag moves), the rest
/// the server's command line. A throwaway server needs no graceful stop, which can hang: KILL.
const WRAPPER: &str = r#"
dir=$1; ports=$2; shift 2
exec 3<&0
"$@" </dev/null 3<&- >"$dir/weed.log" 2>&1 &
pid=$!
( read -r _ <&3; kill -KILL "$pid" 2>/dev/null ) &
wait "$pid"
status=$?
rm -rf "$dir"
for port in $ports; do rm -f /tmp/seaweedfs-*-"$port".sock; done
exit "$status"
"#;

/// Starts `weed mini` on free loopback ports and waits until it answers signed requests.
fn start_weed(weed: &Path) -> Result<S3, String> {
    let dir = tempfile::Builder::new()
        .prefix("pictor-weed-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?
        .keep();
    let access_key = "pictor-test".to_owned();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let secret_key = format!("secret-{}-{nanos}", std::process::id());
    let identities = format!(
        r#"{{"identities":[{{"name":"pictor","credentials":[{{"accessKey":"{access_key}","secretKey":"{secret_key}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
    );
    let config = dir.join("s3.json");
    std::fs::write(&config, identities).map_err(|e| format!("write {}: {e}", config.display()))?;
    let data = dir.join("data");
    std::fs::create_dir_all(&data).map_err(|e| format!("mkdir {}: {e}", data.display()))?;

    let ports = free_ports(10).map_err(|e| format!("free ports: {e}"))?;
    let [master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, admin, admin_grpc] =
        ports[..]
    else {
        return Err("free ports: fewer than asked".to_owned());
    };
    let port_list: Vec<String> = ports.iter().map(u16::to_string).collect();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(WRAPPER)
        .arg("sh")
        .arg(&dir)
        .arg(port_list.join(" "))
        .arg(weed)
        .arg("mini")
        .arg(format!("-dir={}", data.display()))
        .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
        .arg(format!("-master.port={master}"))
        .arg(format!("-master.port.grpc={master_grpc}"))
        .arg(format!("-volume.port={volume}"))
        .arg(format!("-volume.port.grpc={volume_grpc}"))
        .arg(format!("-filer.port={filer}"))
        .arg(format!("-filer.port.grpc={filer_grpc}"))
        .arg(format!("-s3.port={s3}"))
        .arg(format!("-s3.port.grpc={s3_grpc}"))
        .arg(format!("-admin.port={admin}"))
        .arg(format!("-admin.port.grpc={admin_grpc}"))
        .arg(format!("-s3.config={}", config.display()))
        .arg(format!("-s3.localSocket={}", dir.join("s3.sock").display()))
        .arg(format!(
            "-filer.localSocket={}",
            dir.join("filer.sock").display()
        ))
        .args([
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn sh: {e}"))?;
    let server = S3 {
        endpoint: format!("http://127.0.0.1:{s3}"),
        access_key,
        secret_key,
        region: "us-east-1".to_owned(),
        _wrapper: None,
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        // Listing the buckets answers 200 once the gateway, the filer and the identities are up.
        let answer = server.request("GET", "/", &[], &[]);
        if matches!(answer, Ok((200, _))) {
            break;
        }
        let log = || {
            std::fs::read_to_string(dir.join("weed.log"))
                .map(|l| l.lines().rev().take(20).collect::<Vec<_>>().join("\n"))
                .unwrap_or_default()
        };
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "weed exited ({status}) before answering; its log ends:\n{}",
                log()
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "no answer on {} within 90 s (last: {answer:?}); its log ends:\n{}",
                server.endpoint,
                log()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(S3 {
        _wrapper: Some(Mutex::new(child)),
        ..server
    })
}

/// `n` distinct loopback ports free when asked (all bound at once, then released).
fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

/// Sends one request signed with AWS Signature Version 4 and reads the whole answer.
fn signed_request(
    s3: &S3,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, Vec<u8>), String> {
    let host = s3
        .endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http:// endpoint: {}", s3.endpoint))?;
    let (date, day) = amz_date(SystemTime::now());
    let payload_hash = hex(&sha256(body));
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    pairs.sort();
    let canonical_query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let signed_headers = "host;x-amz-content-sha256;x-amz-date";
    let canonical_request = format!(
        "{method}\n{path}\n{canonical_query}\nhost:{host}\nx-amz-content-sha256:{payload_hash}\n\
         x-amz-date:{date}\n\n{signed_headers}\n{payload_hash}"
    );
    let scope = format!("{day}/{}/s3/aws4_request", s3.region);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex(&sha256(canonical_request.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{}", s3.secret_key).as_bytes(), day.as_bytes());
    for part in [s3.region.as_str(), "s3", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    let target = if canonical_query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{canonical_query}")
    };
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nx-amz-date: {date}\r\n\
         x-amz-content-sha256: {payload_hash}\r\nAuthorization: AWS4-HMAC-SHA256 \
         Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        s3.access_key,
        body.len()
    );
    let mut stream = TcpStream::connect(host).map_err(|e| format!("connect {host}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .map_err(|e| format!("send: {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| format!("read: {e}"))?;
    parse_response(&answer)
}

/// The status and body of an HTTP/1.1 answer (`Content-Length`, chunked, or up to the close).
fn parse_response(answer: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no header end in the answer")?;
    let head = String::from_utf8_lossy(&answer[..split]);
    let body = &answer[split + 4..];
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line: {head}"))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if !chunked {
        return Ok((status, body.to_vec()));
    }
    let mut rest = body;
    let mut out = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("chunk size line")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| format!("chunk size `{size_text}`: {e}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok((status, out));
        }
        let chunk = rest.get(..size).ok_or("truncated chunk")?;
        out.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or("truncated chunk end")?;
    }
}

/// `&amp;` and the other predefined XML entities, decoded.
fn unescape_xml(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Percent-encoding as Signature Version 4 wants it: everything but `A-Za-z0-9-_.~`.
fn uri_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `YYYYMMDDTHHMMSSZ` and `YYYYMMDD` of `time`, in UTC.
fn amz_date(time: SystemTime) -> (String, String) {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let of_day = secs % 86_400;
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let ymd = format!("{year:04}{month:02}{day:02}");
    let stamp = format!(
        "{ymd}T{:02}{:02}{:02}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
    (stamp, ymd)
}

/// Lower-case hexadecimal.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA-256 of `message` under `key`.
fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&sha256(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    inner.extend_from_slice(message);
    let mut outer: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    outer.extend_from_slice(&sha256(&inner));
    sha256(&outer).to_vec()
}

/// SHA-256 (FIPS 180-4) of `data`.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut message = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bit_len.to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for (k, wi) in K.iter().zip(w) {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(*k)
                .wrapping_add(wi);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (state, add) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *state = state.wrapping_add(add);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}
