//! Raw HTTP/1.1 on a fresh connection (request targets written exactly as given, answers read
//! byte for byte) and percent-encoding of paths and query values.

use super::server::Server;
use std::io::{Read, Write};
use std::time::Duration;

impl Server {
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
