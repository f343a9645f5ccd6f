//! Delivery of originals: headers, conditional requests, ranges, HEAD, 404s, hostile paths.

mod common;

use common::{assert_code, corpus, Server};

#[test]
fn headers_validators_and_conditional_requests() {
    let s = Server::start_with(&[("PICTOR_DELIVERY_CACHE_MAX_AGE_SECS", "60")]);
    let png = corpus("malformed/png_data_named.jpg");
    assert_code(&s.upload("/img/named.jpg", png.clone(), ""), 0);
    let url = s.url("/img/named.jpg");
    let resp = s.get(&url);
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(
        h["content-type"], "image/png",
        "sniffed, not taken from the name"
    );
    assert_eq!(h["content-length"], png.len().to_string().as_str());
    assert_eq!(h["cache-control"], "public, max-age=60");
    assert_eq!(h["accept-ranges"], "bytes");
    let etag = h["etag"].to_str().expect("etag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'));
    let last_modified = h["last-modified"].to_str().expect("lm").to_owned();
    assert!(httpdate::parse_http_date(&last_modified).is_ok());
    assert_eq!(resp.bytes().expect("body").as_ref(), png.as_slice());

    let inm = s
        .http
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .expect("get");
    assert_eq!(inm.status(), 304);
    assert_eq!(inm.headers()["etag"], etag.as_str());
    assert!(inm.bytes().expect("body").is_empty());
    let other = s
        .http
        .get(&url)
        .header("If-None-Match", "\"other\"")
        .send()
        .expect("get");
    assert_eq!(other.status(), 200);
    let ims = s
        .http
        .get(&url)
        .header("If-Modified-Since", &last_modified)
        .send()
        .expect("get");
    assert_eq!(ims.status(), 304);
    let old = s
        .http
        .get(&url)
        .header("If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")
        .send()
        .expect("get");
    assert_eq!(old.status(), 200);

    let head = s.http.head(&url).send().expect("head");
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"],
        png.len().to_string().as_str()
    );
    assert!(head.bytes().expect("body").is_empty());

    assert_code(
        &s.upload(
            "/img/named.jpg",
            corpus("edge/tiny_10x10.gif"),
            "overwrite=true",
        ),
        0,
    );
    let changed = s.get(&url);
    assert_ne!(
        changed.headers()["etag"],
        etag.as_str(),
        "a new version has a new ETag"
    );
    assert_eq!(changed.headers()["content-type"], "image/gif");
}

#[test]
fn byte_ranges() {
    let s = Server::start();
    let bytes = corpus("formats/bmp_24bit_bird_192x144.bmp");
    let len = bytes.len();
    assert_code(&s.upload("/img/bird.bmp", bytes.clone(), ""), 0);
    let url = s.url("/img/bird.bmp");
    let range = |r: &str| s.http.get(&url).header("Range", r).send().expect("get");
    let first = range("bytes=0-99");
    assert_eq!(first.status(), 206);
    assert_eq!(
        first.headers()["content-range"],
        format!("bytes 0-99/{len}").as_str()
    );
    assert_eq!(first.bytes().expect("body").as_ref(), &bytes[..100]);
    let suffix = range("bytes=-100");
    assert_eq!(suffix.status(), 206);
    assert_eq!(suffix.bytes().expect("body").as_ref(), &bytes[len - 100..]);
    let open = range(&format!("bytes={}-", len - 10));
    assert_eq!(open.bytes().expect("body").as_ref(), &bytes[len - 10..]);
    let beyond = range(&format!("bytes={len}-"));
    assert_eq!(beyond.status(), 416);
    assert_eq!(
        beyond.headers()["content-range"],
        format!("bytes */{len}").as_str()
    );
    let stale = s
        .http
        .get(&url)
        .header("Range", "bytes=0-9")
        .header("If-Range", "\"not-the-etag\"")
        .send()
        .expect("get");
    assert_eq!(
        stale.status(),
        200,
        "If-Range mismatch sends the whole file"
    );
}

#[test]
fn missing_and_hostile_paths() {
    let s = Server::start();
    assert_code(
        &s.upload("/사진/한글.gif", corpus("edge/tiny_10x10.gif"), ""),
        0,
    );
    let encoded = s.url("/%EC%82%AC%EC%A7%84/%ED%95%9C%EA%B8%80.gif");
    assert_eq!(s.get(&encoded).status(), 200);
    assert_eq!(s.get(&s.url("/nothing.gif")).status(), 404);
    assert_eq!(s.get(&format!("{}/zzzzzzzz/a.gif", s.base)).status(), 404);
    assert_eq!(
        raw_status(
            &s,
            &format!("/{}/ok/%2e%2e/%2e%2e/etc/passwd", s.app.container)
        ),
        400
    );
    assert_eq!(
        raw_status(&s, &format!("/{}/ok/../../etc/passwd", s.app.container)),
        400
    );
    assert_eq!(s.get(&s.url("/ok/%5C..%5Cpasswd")).status(), 400);
    assert_eq!(s.get(&s.url("/bad%ff.gif")).status(), 400);
    let post = s.http.post(s.url("/사진/한글.gif")).send().expect("post");
    assert_eq!(post.status(), 405);
}

/// Sends a request line exactly as given (clients normalise `..` away) and returns the status.
fn raw_status(s: &Server, target: &str) -> u16 {
    use std::io::{Read, Write};
    let addr = s.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}
