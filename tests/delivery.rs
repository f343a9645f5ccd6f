//! Delivery of originals: headers, sniffed content types, validators and conditional requests,
//! byte ranges, HEAD, 404s and non-ASCII paths.

mod common;

use common::{assert_result, corpus, Server};
use reqwest::blocking::Response;

const GIF: &str = "edge/tiny_10x10.gif";
const BMP: &str = "formats/bmp_24bit_bird_192x144.bmp";
const PNG_AS_JPG: &str = "malformed/png_data_named.jpg";

fn header(resp: &Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .unwrap_or_else(|| panic!("header {name} missing: {:?}", resp.headers()))
        .to_str()
        .expect("ascii header")
        .to_owned()
}

#[test]
fn get_serves_the_bytes_with_headers() {
    let s = Server::start_with(&[("PICTOR_DELIVERY_CACHE_MAX_AGE_SECS", "60")]);
    let png = corpus(PNG_AS_JPG);
    assert_result(&s.upload("/img/named.jpg", png.clone(), ""), 0);
    let resp = s.get(&s.url("/img/named.jpg"));
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(&resp, "content-type"),
        "image/png",
        "sniffed from the content, not the name"
    );
    assert_eq!(header(&resp, "content-length"), png.len().to_string());
    let cc = header(&resp, "cache-control");
    assert!(cc.contains("max-age=60"), "cache-control {cc}");
    assert_eq!(header(&resp, "accept-ranges"), "bytes");
    let etag = header(&resp, "etag");
    assert!(etag.len() > 2, "etag {etag}");
    let lm = header(&resp, "last-modified");
    let lm_time = httpdate::parse_http_date(&lm).expect("HTTP date");
    let age = std::time::SystemTime::now()
        .duration_since(lm_time)
        .unwrap_or_default();
    assert!(
        age.as_secs() < 600,
        "last-modified is the upload time: {lm}"
    );
    assert_eq!(resp.bytes().expect("body").as_ref(), png.as_slice());
}

#[test]
fn content_type_is_sniffed_for_each_format() {
    let s = Server::start();
    for (file, name, ctype) in [
        (GIF, "a.png", "image/gif"),
        (BMP, "b.jpg", "image/bmp"),
        ("formats/webp_lossless_300x300.webp", "c.gif", "image/webp"),
        (
            "photos/photo_icc_adobe-rgb_rocket_640x427.jpg",
            "d.webp",
            "image/jpeg",
        ),
        ("edge/one_pixel_1x1.png", "e.bmp", "image/png"),
        (
            "formats/tiff_rgb_uncompressed_mandrill_512x512.tiff",
            "f.png",
            "image/tiff",
        ),
        (
            "photos/photo_icc_adobe-rgb_rocket_640x427.jpg",
            "noext",
            "image/jpeg",
        ),
    ] {
        let bytes = corpus(file);
        let path = format!("/types/{name}");
        assert_result(&s.upload(&path, bytes.clone(), ""), 0);
        let resp = s.get(&s.url(&path));
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(header(&resp, "content-type"), ctype, "{file} as {name}");
        assert_eq!(resp.bytes().expect("body").as_ref(), bytes.as_slice());
    }
}

#[test]
fn if_none_match_and_if_modified_since() {
    let s = Server::start();
    let png = corpus(PNG_AS_JPG);
    assert_result(&s.upload("/cond/a1.png", png, ""), 0);
    let url = s.url("/cond/a1.png");
    let first = s.get(&url);
    let etag = header(&first, "etag");
    let lm = header(&first, "last-modified");

    let with = |name: &str, value: &str| s.http.get(&url).header(name, value).send().expect("GET");
    let inm = with("If-None-Match", &etag);
    assert_eq!(inm.status(), 304);
    assert_eq!(header(&inm, "etag"), etag);
    assert!(inm.bytes().expect("body").is_empty(), "304 has no body");
    let listed = with("If-None-Match", &format!("\"nope\", {etag}"));
    assert_eq!(listed.status(), 304, "ETag in a list");
    let star = with("If-None-Match", "*");
    assert_eq!(star.status(), 304);
    let other = with("If-None-Match", "\"other\"");
    assert_eq!(other.status(), 200);
    assert!(!other.bytes().expect("body").is_empty());

    let ims = with("If-Modified-Since", &lm);
    assert_eq!(ims.status(), 304);
    assert!(ims.bytes().expect("body").is_empty());
    let lm_time = httpdate::parse_http_date(&lm).expect("HTTP date");
    let later = httpdate::fmt_http_date(lm_time + std::time::Duration::from_secs(1));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(with("If-Modified-Since", &later).status(), 304);
    let old = with("If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT");
    assert_eq!(old.status(), 200);
    // If-None-Match takes precedence over If-Modified-Since.
    let both = s
        .http
        .get(&url)
        .header("If-None-Match", "\"other\"")
        .header("If-Modified-Since", &lm)
        .send()
        .expect("GET");
    assert_eq!(both.status(), 200);
}

#[test]
fn overwrite_changes_etag_and_bytes() {
    let s = Server::start();
    assert_result(&s.upload("/ow/pic.gif", corpus(GIF), ""), 0);
    let url = s.url("/ow/pic.gif");
    let before = s.get(&url);
    let etag = header(&before, "etag");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_result(&s.upload("/ow/pic.gif", corpus(BMP), "overwrite=true"), 0);
    let after = s.get(&url);
    assert_eq!(after.status(), 200);
    assert_ne!(header(&after, "etag"), etag, "a new version has a new ETag");
    assert_eq!(header(&after, "content-type"), "image/bmp");
    assert_eq!(
        header(&after, "content-length"),
        corpus(BMP).len().to_string()
    );
    let stale = s
        .http
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .expect("GET");
    assert_eq!(stale.status(), 200, "the old ETag no longer matches");
    assert_eq!(
        stale.bytes().expect("body").as_ref(),
        corpus(BMP).as_slice()
    );
}

#[test]
fn byte_ranges() {
    let s = Server::start();
    let bytes = corpus(BMP);
    let len = bytes.len();
    assert_result(&s.upload("/rng/bird.bmp", bytes.clone(), ""), 0);
    let url = s.url("/rng/bird.bmp");
    let range = |r: &str| s.http.get(&url).header("Range", r).send().expect("GET");

    let first = range("bytes=0-99");
    assert_eq!(first.status(), 206);
    assert_eq!(header(&first, "content-range"), format!("bytes 0-99/{len}"));
    assert_eq!(header(&first, "content-length"), "100");
    assert_eq!(first.bytes().expect("body").as_ref(), &bytes[..100]);

    let middle = range("bytes=1000-1999");
    assert_eq!(middle.status(), 206);
    assert_eq!(
        header(&middle, "content-range"),
        format!("bytes 1000-1999/{len}")
    );
    assert_eq!(middle.bytes().expect("body").as_ref(), &bytes[1000..2000]);

    let suffix = range("bytes=-100");
    assert_eq!(suffix.status(), 206);
    assert_eq!(
        header(&suffix, "content-range"),
        format!("bytes {}-{}/{len}", len - 100, len - 1)
    );
    assert_eq!(suffix.bytes().expect("body").as_ref(), &bytes[len - 100..]);

    let open = range(&format!("bytes={}-", len - 10));
    assert_eq!(open.status(), 206);
    assert_eq!(open.bytes().expect("body").as_ref(), &bytes[len - 10..]);

    let clipped = range(&format!("bytes={}-{}", len - 5, len + 1000));
    assert_eq!(clipped.status(), 206);
    assert_eq!(
        header(&clipped, "content-range"),
        format!("bytes {}-{}/{len}", len - 5, len - 1)
    );
    assert_eq!(clipped.bytes().expect("body").as_ref(), &bytes[len - 5..]);

    // A matching If-Range keeps the range; unknown units are ignored.
    let etag = header(&s.get(&url), "etag");
    let if_range = s
        .http
        .get(&url)
        .header("Range", "bytes=0-9")
        .header("If-Range", &etag)
        .send()
        .expect("GET");
    assert_eq!(if_range.status(), 206);
    assert_eq!(if_range.bytes().expect("body").as_ref(), &bytes[..10]);
    let stale = s
        .http
        .get(&url)
        .header("Range", "bytes=0-9")
        .header("If-Range", "\"not-the-etag\"")
        .send()
        .expect("GET");
    assert_eq!(stale.status(), 200, "a stale If-Range sends the whole file");
    assert_eq!(stale.bytes().expect("body").len(), len);
    let items = range("items=0-9");
    assert_eq!(items.status(), 200);
    assert_eq!(items.bytes().expect("body").len(), len);

    for bad in [
        format!("bytes={len}-"),
        format!("bytes={}-{}", len + 10, len + 20),
    ] {
        let resp = range(&bad);
        assert_eq!(resp.status(), 416, "{bad}");
        assert_eq!(header(&resp, "content-range"), format!("bytes */{len}"));
    }
}

#[test]
fn head_has_headers_and_no_body() {
    let s = Server::start();
    let bytes = corpus(BMP);
    assert_result(&s.upload("/hd/bird.bmp", bytes.clone(), ""), 0);
    let url = s.url("/hd/bird.bmp");
    let get = s.get(&url);
    let head = s.http.head(&url).send().expect("HEAD");
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "content-length"), bytes.len().to_string());
    assert_eq!(header(&head, "content-type"), "image/bmp");
    assert_eq!(header(&head, "etag"), header(&get, "etag"));
    assert_eq!(
        header(&head, "last-modified"),
        header(&get, "last-modified")
    );
    assert!(header(&head, "cache-control").contains("max-age=86400"));
    assert!(head.bytes().expect("body").is_empty());
    // The raw answer to HEAD carries no body bytes either.
    let raw = s.raw(
        format!(
            "HEAD /{}/hd/bird.bmp HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            s.app.container,
            s.addr()
        )
        .as_bytes(),
    );
    assert_eq!(raw.status, 200);
    assert!(raw.body.is_empty(), "HEAD body: {} bytes", raw.body.len());

    let missing = s.http.head(s.url("/hd/none.bmp")).send().expect("HEAD");
    assert_eq!(missing.status(), 404);
    let cond = s
        .http
        .head(&url)
        .header("If-None-Match", header(&get, "etag"))
        .send()
        .expect("HEAD");
    assert_eq!(cond.status(), 304);
}

#[test]
fn missing_files_and_unknown_containers_are_404() {
    let s = Server::start();
    assert_result(&s.upload("/here/a1.gif", corpus(GIF), ""), 0);
    assert_eq!(s.get(&s.url("/here/a1.gif")).status(), 200);
    assert_eq!(s.get(&s.url("/nothing.gif")).status(), 404);
    assert_eq!(s.get(&s.url("/here/b1.gif")).status(), 404);
    assert_eq!(
        s.get(&s.url("/here")).status(),
        404,
        "a folder is not a file"
    );
    assert_eq!(
        s.get(&s.url("/HERE/a1.gif")).status(),
        404,
        "case-sensitive"
    );
    assert_eq!(
        s.get(&format!("{}/zzzzzzzz/here/a1.gif", s.base)).status(),
        404
    );
    assert_eq!(s.get(&format!("{}/zzzzzzzz", s.base)).status(), 404);
    let with_range = s
        .http
        .get(s.url("/nothing.gif"))
        .header("Range", "bytes=0-9")
        .send()
        .expect("GET");
    assert_eq!(with_range.status(), 404);
}

#[test]
fn non_ascii_paths_are_percent_decoded() {
    let s = Server::start();
    let gif = corpus(GIF);
    let v = s.upload("/사진/한글.jpg", corpus(PNG_AS_JPG), "");
    assert_result(&v, 0);
    let url = s.url("/%EC%82%AC%EC%A7%84/%ED%95%9C%EA%B8%80.jpg");
    assert_eq!(v["file"]["url"], url.as_str());
    let resp = s.get(&url);
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-type"), "image/png");
    assert_eq!(
        resp.bytes().expect("body").as_ref(),
        corpus(PNG_AS_JPG).as_slice()
    );
    assert_result(&s.upload("/a b/c d.gif", gif.clone(), ""), 0);
    let spaced = s.get(&s.url("/a%20b/c%20d.gif"));
    assert_eq!(spaced.status(), 200);
    assert_eq!(spaced.bytes().expect("body").as_ref(), gif.as_slice());
    // Encoding unreserved characters does not change the path.
    assert_result(&s.upload("/enc/ab.gif", gif.clone(), ""), 0);
    assert_eq!(s.get(&s.url("/enc/%61%62.gif")).status(), 200);
}

#[test]
fn concurrent_overwrites_serve_the_old_or_the_new_file_never_a_mix() {
    let s = Server::start();
    let a = corpus("photos/photo_icc_adobe-rgb_rocket_640x427.jpg");
    let b = corpus("formats/png_palette_8bit_290x442.png");
    assert_result(&s.upload("/atomic/pic.img", a.clone(), ""), 0);
    let url = s.url("/atomic/pic.img");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let client = s.http.clone();
            let url = url.clone();
            let (a, b) = (a.clone(), b.clone());
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut reads = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let resp = client.get(&url).send().expect("GET");
                    assert_eq!(resp.status(), 200);
                    let len: usize = resp.headers()["content-length"]
                        .to_str()
                        .expect("ascii")
                        .parse()
                        .expect("number");
                    let body = resp.bytes().expect("body");
                    assert_eq!(body.len(), len, "content-length matches the body");
                    assert!(
                        body.as_ref() == a.as_slice() || body.as_ref() == b.as_slice(),
                        "a mix of two versions ({} bytes)",
                        body.len()
                    );
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for i in 0..20 {
        let bytes = if i % 2 == 0 { b.clone() } else { a.clone() };
        assert_result(&s.upload("/atomic/pic.img", bytes, "overwrite=true"), 0);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let total: usize = readers.into_iter().map(|r| r.join().expect("reader")).sum();
    assert!(total > 0);
    assert_eq!(s.get(&url).bytes().expect("body").as_ref(), a.as_slice());
}
