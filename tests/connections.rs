//! Connection handling: slow or idle clients are closed after their timeouts, a normal client is
//! served while thousands of slow sockets are open, the connection cap holds new connections
//! back, and `/metrics` can be moved to its own listener.

mod common;

use common::Server;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Slow sockets opened by the slow-header test (the fd limit here is 20,000).
const SLOW_SOCKETS: usize = 3000;

/// Whether the server closes `stream` within `within`: reads (discarding data) until end of
/// stream or a reset, and answers `false` if the socket is still open when time runs out.
fn closed_by_server(stream: &mut TcpStream, within: Duration) -> (bool, usize) {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 64 * 1024];
    let mut total = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (false, total);
        }
        stream.set_read_timeout(Some(left)).expect("read timeout");
        match stream.read(&mut buf) {
            Ok(0) => return (true, total),
            Ok(n) => total += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (false, total)
            }
            Err(_) => return (true, total),
        }
    }
}

/// Reads one response with a `Content-Length` body from a kept-alive connection.
fn read_one_response(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..1000 {
        let n = stream.read(&mut buf).expect("response bytes");
        assert!(n > 0, "connection closed before the response");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .expect("content-length");
            if got.len() >= end + 4 + length {
                return text;
            }
        }
    }
    panic!("response never completed");
}

fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(server.addr()).expect("connect")
}

#[test]
fn slow_header_sockets_do_not_lock_out_a_client_and_are_closed() {
    let server = Server::start_with(&[("PICTOR_SERVER_HEADER_READ_TIMEOUT_SECS", "2")]);
    let mut slow: Vec<TcpStream> = (0..SLOW_SOCKETS)
        .map(|_| {
            let mut s = connect(&server);
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .expect("partial header");
            s
        })
        .collect();

    let answer = server.raw_get("/healthz");
    assert_eq!(answer.status, 200, "a normal client is served meanwhile");
    assert_eq!(answer.body, b"ok\n");

    for (i, s) in slow.iter_mut().enumerate() {
        let (closed, _) = closed_by_server(s, Duration::from_secs(15));
        assert!(
            closed,
            "slow socket {i} still open after the header timeout"
        );
    }
}

#[test]
fn stalled_http2_preface_is_closed() {
    let server = Server::start_with(&[("PICTOR_SERVER_READ_TIMEOUT_SECS", "2")]);
    let mut s = connect(&server);
    s.write_all(b"PRI * HTTP/2.0\r\n").expect("partial preface");
    let (closed, _) = closed_by_server(&mut s, Duration::from_secs(15));
    assert!(closed, "a connection stuck in the HTTP/2 preface is closed");
}

#[test]
fn idle_kept_alive_connection_is_closed() {
    let server = Server::start_with(&[
        ("PICTOR_SERVER_HEADER_READ_TIMEOUT_SECS", "2"),
        ("PICTOR_SERVER_READ_TIMEOUT_SECS", "600"),
    ]);
    let mut s = connect(&server);
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr());
    s.write_all(request.as_bytes()).expect("request");
    let first = read_one_response(&mut s);
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    s.write_all(request.as_bytes()).expect("second request");
    let second = read_one_response(&mut s);
    assert!(
        second.starts_with("HTTP/1.1 200"),
        "keep-alive works: {second}"
    );

    let (closed, extra) = closed_by_server(&mut s, Duration::from_secs(15));
    assert!(closed, "an idle kept-alive connection is closed");
    assert_eq!(
        extra, 0,
        "nothing is sent on an idle connection before closing"
    );
}

#[test]
fn dribbled_request_body_is_cut_off() {
    let server = Server::start_with(&[
        ("PICTOR_SERVER_READ_TIMEOUT_SECS", "2"),
        ("PICTOR_SERVER_MIN_READ_BYTES_PER_SEC", "100"),
    ]);
    let mut s = connect(&server);
    let head = format!(
        "PUT /image/v2.0/appkeys/{}/images?path=%2Fslow.jpg HTTP/1.1\r\nHost: {}\r\n\
         Authorization: {}\r\nContent-Length: 1000000\r\n\r\n",
        server.app.app_key,
        server.addr(),
        server.app.secret_key
    );
    s.write_all(head.as_bytes()).expect("head");
    s.write_all(&[0xFF, 0xD8]).expect("first body bytes");
    // One byte every 100 ms (10 B/s) for at most 20 s: far below the minimum rate.
    let started = Instant::now();
    let mut cut = false;
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(100));
        if s.write_all(b"x").is_err() {
            cut = true;
            break;
        }
        s.set_nonblocking(true).expect("nonblocking");
        let mut probe = [0u8; 1];
        let peek = s.peek(&mut probe);
        s.set_nonblocking(false).expect("blocking");
        match peek {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            _ => {
                cut = true;
                break;
            }
        }
    }
    assert!(
        cut,
        "a client dribbling its body is still connected after 20 s"
    );
    let (closed, _) = closed_by_server(&mut s, Duration::from_secs(10));
    assert!(closed, "the connection is closed");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "cut off within a few windows, not after {:?}",
        started.elapsed()
    );
}

/// A request body that sends a few bytes, then one byte a second for at most 30 s.
struct DribbledBody {
    sent: usize,
}

impl Read for DribbledBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.sent >= 30 || buf.is_empty() {
            return Ok(0);
        }
        if self.sent > 0 {
            std::thread::sleep(Duration::from_secs(1));
        }
        self.sent += 1;
        buf[0] = b'x';
        Ok(1)
    }
}

#[test]
fn dribbled_http2_request_body_is_answered_and_cut_off() {
    let server = Server::start_with(&[
        ("PICTOR_SERVER_READ_TIMEOUT_SECS", "2"),
        ("PICTOR_SERVER_MIN_READ_BYTES_PER_SEC", "100"),
    ]);
    let client = reqwest::blocking::Client::builder()
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP/2 client");
    let url = format!(
        "http://{}/image/v2.0/appkeys/{}/images?path=%2Fslow.jpg",
        server.addr(),
        server.app.app_key
    );
    let started = Instant::now();
    let sent = client
        .put(url)
        .header("Authorization", &server.app.secret_key)
        .body(reqwest::blocking::Body::new(DribbledBody { sent: 0 }))
        .send();
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(20),
        "the stalled body was waited for {waited:?}, not cut off after its window"
    );
    // The server answers and resets the stream; the client sees the answer or, when the reset
    // reaches it first, a failed body.
    match sent {
        Ok(resp) => {
            assert_eq!(resp.version(), reqwest::Version::HTTP_2);
            let v: serde_json::Value = resp.json().expect("the API envelope");
            assert_eq!(v["header"]["isSuccessful"], false, "{v}");
        }
        Err(e) => assert!(e.is_body() || e.is_request(), "{e:?}"),
    }
    assert_eq!(
        server.get(&server.url("/slow.jpg")).status(),
        404,
        "nothing of the stalled upload is stored"
    );
}

#[test]
fn client_that_does_not_read_its_response_is_cut_off() {
    let server = Server::start_with(&[("PICTOR_SERVER_WRITE_TIMEOUT_SECS", "2")]);
    let file = "photos/photo_12mp_olympus-ep3_4032x3024.jpg";
    server.upload_ok("/big.jpg", file);
    let size = common::corpus(file).len();
    let mut s = connect(&server);
    let request = format!(
        "GET /{}/big.jpg HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.app.container,
        server.addr()
    );
    let pipelined = 8;
    for _ in 0..pipelined {
        s.write_all(request.as_bytes()).expect("pipelined request");
    }
    // Not reading lets the socket buffers fill and the server's writes stall.
    std::thread::sleep(Duration::from_secs(6));
    let (closed, received) = closed_by_server(&mut s, Duration::from_secs(20));
    assert!(closed, "a connection whose client does not read is closed");
    assert!(
        received < pipelined * size,
        "the server gave up before writing every response ({received} bytes received)"
    );
}

#[test]
fn connection_cap_holds_new_connections_until_one_closes() {
    let server = Server::start_with(&[("PICTOR_SERVER_MAX_CONNECTIONS", "4")]);
    let held: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = connect(&server);
            s.write_all(b"GET /healthz HTTP/1.1\r\n").expect("partial");
            s
        })
        .collect();
    let mut waiting = connect(&server);
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("request");
    waiting
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .expect("timeout");
    let mut buf = [0u8; 256];
    let early = waiting.read(&mut buf);
    assert!(
        matches!(&early, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "a connection beyond the cap is not served while the cap is reached: {early:?}"
    );

    drop(held);
    waiting
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut answer = Vec::new();
    waiting
        .read_to_end(&mut answer)
        .expect("answer once a slot frees");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

#[test]
fn metrics_move_to_their_own_listener() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("probe port")
        .local_addr()
        .expect("addr")
        .port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let server = Server::start_with(&[("PICTOR_SERVER_METRICS_LISTEN", metrics_addr.as_str())]);

    let main = server.get(&format!("{}/metrics", server.base));
    assert_eq!(
        main.status(),
        404,
        "the main listener no longer serves /metrics"
    );

    let separate = server.get(&format!("http://{metrics_addr}/metrics"));
    assert_eq!(separate.status(), 200);
    let text = separate.text().expect("metrics text");
    assert!(text.contains("pictor_"), "Prometheus text: {text}");

    let health = server.get(&format!("http://{metrics_addr}/healthz"));
    assert_eq!(
        health.status(),
        200,
        "health probes work on the metrics listener"
    );
    let delivery = server.get(&format!(
        "http://{metrics_addr}/{}/anything.jpg",
        server.app.container
    ));
    assert_eq!(
        delivery.status(),
        404,
        "the metrics listener serves nothing else"
    );
    let api = server.get(&server.api("folders?path=%2F"));
    assert_eq!(api.status(), 200, "the main listener still serves the API");
    let envelope: serde_json::Value = api.json().expect("the API envelope");
    assert_eq!(
        envelope["header"]["resultCode"], 30004,
        "answered by the API (no secret given): {envelope}"
    );
}

#[test]
fn metrics_stay_on_the_main_listener_by_default() {
    let server = Server::start();
    let text = server.metrics();
    assert!(text.contains("pictor_"), "Prometheus text: {text}");
}

/// A `GET /healthz` whose head carries `pad` bytes in one header.
fn padded_request(server: &Server, pad: usize) -> Vec<u8> {
    format!(
        "GET /healthz HTTP/1.1\r\nHost: {}\r\nX-Pad: {}\r\nConnection: close\r\n\r\n",
        server.addr(),
        "a".repeat(pad)
    )
    .into_bytes()
}

#[test]
fn request_heads_over_the_limit_are_refused_with_431() {
    let server = Server::start_with(&[("PICTOR_SERVER_HTTP1_MAX_HEAD_BYTES", "16384")]);
    let within = server.raw(&padded_request(&server, 12_000));
    assert_eq!(within.status, 200, "{}", within.head);
    let over = server.raw(&padded_request(&server, 40_000));
    assert_eq!(over.status, 431, "{}", over.head);

    // The default bound (64 KiB) is far below the 408 KiB hyper would otherwise buffer.
    let default = Server::start();
    let within = default.raw(&padded_request(&default, 60_000));
    assert_eq!(within.status, 200, "{}", within.head);
    let over = default.raw(&padded_request(&default, 100_000));
    assert_eq!(over.status, 431, "{}", over.head);
}
