//! A client that sends its whole body before reading reads the answer, whatever the server
//! decided before reading the body: bad path, wrong secret, unknown route, a multipart error
//! part-way through. Written like such a client: one raw connection, the whole 20 MiB body
//! written, then the answer read; the connection then serves another request.

mod common;

use common::{assert_result_for, Server};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const BODY_BYTES: usize = 20 * 1024 * 1024;

/// One HTTP/1.1 connection that writes whole requests and reads answers by Content-Length.
struct Client {
    stream: TcpStream,
    pending: Vec<u8>,
}

impl Client {
    fn connect(s: &Server) -> Client {
        let stream = TcpStream::connect(s.addr()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("read timeout");
        stream
            .set_write_timeout(Some(Duration::from_secs(60)))
            .expect("write timeout");
        Client {
            stream,
            pending: Vec::new(),
        }
    }

    /// Writes the request head and the whole body, then reads the answer.
    fn send(&mut self, s: &Server, head: &str, body: &[u8], case: &str) -> (String, Value) {
        let head = format!(
            "{head}Host: {}\r\nContent-Length: {}\r\n\r\n",
            s.addr(),
            body.len()
        );
        self.stream
            .write_all(head.as_bytes())
            .unwrap_or_else(|e| panic!("{case}: writing the head failed: {e}"));
        self.stream
            .write_all(body)
            .unwrap_or_else(|e| panic!("{case}: writing the whole body failed: {e}"));
        self.read_answer(case)
    }

    fn read_answer(&mut self, case: &str) -> (String, Value) {
        let mut buf = [0u8; 64 * 1024];
        let head_end = loop {
            if let Some(at) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let n = self
                .stream
                .read(&mut buf)
                .unwrap_or_else(|e| panic!("{case}: reading the answer failed: {e}"));
            assert!(n > 0, "{case}: connection closed before an answer");
            self.pending.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8_lossy(&self.pending[..head_end]).into_owned();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())
                    .flatten()
            })
            .unwrap_or_else(|| panic!("{case}: no Content-Length in {head}"));
        while self.pending.len() < head_end + length {
            let n = self
                .stream
                .read(&mut buf)
                .unwrap_or_else(|e| panic!("{case}: reading the answer body failed: {e}"));
            assert!(n > 0, "{case}: connection closed inside the answer");
            self.pending.extend_from_slice(&buf[..n]);
        }
        let body: Vec<u8> = self
            .pending
            .drain(..head_end + length)
            .skip(head_end)
            .collect();
        let v: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{case}: answer is not JSON ({e}): {head}"));
        (head, v)
    }
}

fn assert_answer(head: &str, v: &Value, code: i64, case: &str) {
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "{case}: HTTP 200 expected: {head}"
    );
    assert_result_for(v, code, case);
}

/// After an early answer the same connection serves the next request.
fn assert_connection_still_serves(client: &mut Client, s: &Server, case: &str) {
    let head = format!(
        "GET /image/v2.0/appkeys/{}/users HTTP/1.1\r\nAuthorization: {}\r\n",
        s.app.app_key, s.app.secret_key
    );
    let (head, v) = client.send(s, &head, b"", case);
    assert_answer(&head, &v, 0, case);
}

fn put_images(s: &Server, query: &str, secret: &str) -> String {
    format!(
        "PUT /image/v2.0/appkeys/{}/images?{query} HTTP/1.1\r\nAuthorization: {secret}\r\n\
         Content-Type: application/octet-stream\r\n",
        s.app.app_key
    )
}

#[test]
fn early_errors_of_put_images_are_read_after_the_whole_body() {
    let s = Server::start();
    let body = vec![0x5au8; BODY_BYTES];
    let cases = [
        (
            "bad path",
            put_images(&s, "path=/bad:name.jpg", &s.app.secret_key),
            11050,
        ),
        (
            "wrong secret",
            put_images(&s, "path=/ok.jpg", "not-the-secret"),
            30004,
        ),
        (
            "unknown route",
            format!(
                "PUT /image/v2.0/appkeys/{}/no-such-thing HTTP/1.1\r\nAuthorization: {}\r\n",
                s.app.app_key, s.app.secret_key
            ),
            404,
        ),
    ];
    for (case, head, code) in cases {
        let mut client = Client::connect(&s);
        let (answer_head, v) = client.send(&s, &head, &body, case);
        assert_answer(&answer_head, &v, code, case);
        assert_connection_still_serves(&mut client, &s, case);
    }
}

fn multipart_head(s: &Server, boundary: &str) -> String {
    format!(
        "POST /image/v2.0/appkeys/{}/images HTTP/1.1\r\nAuthorization: {}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n",
        s.app.app_key, s.app.secret_key
    )
}

fn file_part(boundary: &str, name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut part = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    part.extend_from_slice(bytes);
    part.extend_from_slice(b"\r\n");
    part
}

#[test]
fn a_multipart_refused_part_way_is_answered_after_the_whole_body() {
    let s = Server::start_with(&[("PICTOR_LIMITS_MAX_ITEMS", "2")]);
    let boundary = "XbOuNdArYx";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n\
         {{\"basepath\": \"/many\"}}\r\n"
    )
    .into_bytes();
    for name in ["a.gif", "b.gif", "c.gif"] {
        body.extend(file_part(boundary, name, b"GIF89a"));
    }
    body.extend(file_part(boundary, "big.bin", &vec![0u8; BODY_BYTES]));
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let case = "third file over max_items";
    let mut client = Client::connect(&s);
    let (head, v) = client.send(&s, &multipart_head(&s, boundary), &body, case);
    assert_answer(&head, &v, 11003, case);
    assert_connection_still_serves(&mut client, &s, case);
}

#[test]
fn a_malformed_multipart_is_answered_after_the_whole_body() {
    let s = Server::start();
    let boundary = "XbOuNdArYx";
    let mut body = format!("--{boundary}\r\nthis header line has no colon\r\n\r\n").into_bytes();
    body.extend(vec![0u8; BODY_BYTES]);
    let case = "malformed part header";
    let mut client = Client::connect(&s);
    let (head, v) = client.send(&s, &multipart_head(&s, boundary), &body, case);
    assert_answer(&head, &v, 10001, case);
    assert_connection_still_serves(&mut client, &s, case);
}

#[test]
fn a_body_over_the_request_limit_is_answered_and_closed() {
    let s = Server::start_with(&[
        ("PICTOR_LIMITS_MAX_REQUEST_BYTES", "1048576"),
        ("PICTOR_LIMITS_MAX_UPLOAD_BYTES", "1048576"),
    ]);
    let head = format!(
        "{}Host: {}\r\nContent-Length: {}\r\n\r\n",
        put_images(&s, "path=/big.jpg", &s.app.secret_key),
        s.addr(),
        BODY_BYTES
    );
    let answer = s.raw(head.as_bytes());
    assert_eq!(answer.status, 200, "{}", answer.head);
    assert_eq!(answer.header("connection").as_deref(), Some("close"));
    let v: Value = serde_json::from_slice(&answer.body).expect("JSON answer");
    assert_result_for(&v, 11004, "announced body over the request limit");
}
