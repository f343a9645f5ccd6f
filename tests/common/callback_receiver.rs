//! A callback receiver for tests: an HTTP/1.1 listener on 127.0.0.1 that answers every POST with
//! a settable status after a fixed delay, one request per connection, and reports each request
//! (the status it got and its JSON body) on a channel. It also records the most requests it
//! ever held at once.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// A running receiver.
pub struct Receiver {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The status answered from now on.
    pub status: Arc<AtomicU16>,
    /// The most requests held at once so far.
    pub max_in_flight: Arc<AtomicUsize>,
    /// `(status answered, body)` of every request, in order of answer.
    pub requests: mpsc::Receiver<(u16, Value)>,
}

/// Counts a request in flight while alive.
struct InFlight {
    now: Arc<AtomicUsize>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Starts a receiver answering `status` after `delay`.
pub fn start(status: u16, delay: Duration) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, requests) = mpsc::channel();
    let status = Arc::new(AtomicU16::new(status));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let now = Arc::new(AtomicUsize::new(0));
    let (answer, max) = (Arc::clone(&status), Arc::clone(&max_in_flight));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (tx, answer, max, now) = (
                tx.clone(),
                Arc::clone(&answer),
                Arc::clone(&max),
                Arc::clone(&now),
            );
            std::thread::spawn(move || {
                let Some(body) = read_request(&stream) else {
                    return;
                };
                let held = now.fetch_add(1, Ordering::SeqCst) + 1;
                let _in_flight = InFlight { now };
                max.fetch_max(held, Ordering::SeqCst);
                std::thread::sleep(delay);
                let code = answer.load(Ordering::SeqCst);
                let head =
                    format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let mut stream = stream;
                let _ = stream.write_all(head.as_bytes());
                let _ = tx.send((code, body));
            });
        }
    });
    Receiver {
        port,
        status,
        max_in_flight,
        requests,
    }
}

/// Reads one request and parses its body as JSON.
fn read_request(stream: &TcpStream) -> Option<Value> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut len = 0usize;
    for _ in 0..100 {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
        if line == "\r\n" {
            let mut body = vec![0; len.min(1 << 20)];
            reader.read_exact(&mut body).ok()?;
            return serde_json::from_slice(&body).ok();
        }
    }
    None
}
