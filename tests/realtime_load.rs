//! The real-time service under concurrency and across restarts: overload of the render pool
//! (503 with `Retry-After`), single flight of concurrent misses, an undecodable original (422),
//! the stored result (L2) after a restart, and HEAD, ranges and 304 on a variant.

mod common;

use common::{assert_code, corpus, dims, metric_sum, Server};
use reqwest::Method;
use serde_json::json;
use std::sync::{Arc, Barrier};

const BIG: &str = "photos/photo_12mp_olympus-ep3_4032x3024.jpg";
const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";
const TRUNCATED: &str = "malformed/truncated_jpeg_first10000bytes.jpg";

fn op(template: &str, option: serde_json::Value) -> serde_json::Value {
    json!({ "data": [{ "templateOperationId": template, "option": option }] })
}

/// One answer of a concurrent GET.
struct Answer {
    url: String,
    status: u16,
    retry_after: Option<String>,
    etag: Option<String>,
    body: Vec<u8>,
}

/// GETs every URL from its own thread, all released at once.
fn get_concurrently(s: &Server, urls: &[String]) -> Vec<Answer> {
    let barrier = Arc::new(Barrier::new(urls.len()));
    std::thread::scope(|scope| {
        let handles: Vec<_> = urls
            .iter()
            .map(|url| {
                let barrier = Arc::clone(&barrier);
                let http = s.http.clone();
                scope.spawn(move || {
                    barrier.wait();
                    let resp = http.get(url).send().expect("GET");
                    let header = |name: &str| {
                        resp.headers()
                            .get(name)
                            .map(|v| v.to_str().expect("ASCII header").to_owned())
                    };
                    let (retry_after, etag) = (header("retry-after"), header("etag"));
                    let status = resp.status().as_u16();
                    Answer {
                        url: url.clone(),
                        status,
                        retry_after,
                        etag,
                        body: resp.bytes().expect("body").to_vec(),
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("request thread"))
            .collect()
    })
}

#[test]
fn a_full_render_pool_answers_503_with_retry_after() {
    let s = Server::start_with(&[("PICTOR_RENDER_WORKERS", "1"), ("PICTOR_RENDER_QUEUE", "0")]);
    assert_code(&s.upload("/load/big.jpg", corpus(BIG), ""), 0);
    let source = s.url("/load/big.jpg");

    // Widths over half the source's (2016 px) leave no shrink-on-load: every render decodes
    // all 12 MP. With one worker and no queue, concurrent distinct variants cannot all be
    // admitted. Should a round see no 503 (a machine fast enough to render each before the
    // next arrives), another round of fresh variants follows.
    const PER_ROUND: u32 = 8;
    let mut answers = Vec::new();
    for round in 0..3 {
        let mut urls = Vec::new();
        for i in 0..PER_ROUND {
            let id = format!("load{round}x{i}");
            let width = 2048 + (round * PER_ROUND + i) * 40;
            assert_code(
                &s.put_operation(&id, op("resize_width_fit", json!({ "width": width }))),
                0,
            );
            urls.push(format!("{source}?{id}"));
        }
        let round_answers = get_concurrently(&s, &urls);
        let refused = round_answers.iter().any(|a| a.status == 503);
        answers.extend(round_answers);
        if refused {
            break;
        }
    }

    for a in &answers {
        assert!(
            a.status == 200 || a.status == 503,
            "{}: answered {} ({})",
            a.url,
            a.status,
            String::from_utf8_lossy(&a.body)
        );
    }
    let refused: Vec<&Answer> = answers.iter().filter(|a| a.status == 503).collect();
    assert!(
        !refused.is_empty(),
        "one worker and no queue refuse some of {} concurrent distinct renders",
        answers.len()
    );
    assert!(
        refused
            .iter()
            .any(|a| a.retry_after.as_deref() == Some("1")),
        "a 503 carries `Retry-After: 1`: {:?}",
        refused.iter().map(|a| &a.retry_after).collect::<Vec<_>>()
    );
    for a in answers.iter().filter(|a| a.status == 200) {
        let (w, h) = dims(&a.body);
        assert!(
            w > 2016 && h > 1512,
            "{}: a full-size render ({w}x{h})",
            a.url
        );
    }

    let text = s.metrics();
    let overloads = metric_sum(&text, "pictor_render_overload_total", &[]);
    assert!(
        overloads >= refused.len() as f64,
        "pictor_render_overload_total {overloads} counts the {} refusals",
        refused.len()
    );

    // The refused renders gave their capacity back: alone, a refused variant renders.
    let retried = s.get(&refused[0].url);
    assert_eq!(
        retried.status(),
        200,
        "{} once the pool is idle",
        refused[0].url
    );
}

#[test]
fn concurrent_misses_of_one_variant_render_once() {
    let s = Server::start();
    assert_code(&s.upload("/flight/big.jpg", corpus(BIG), ""), 0);
    // Wider than half the source: no shrink-on-load, so the render is long enough for every
    // request to find it in flight.
    assert_code(
        &s.put_operation("wide", op("resize_width_fit", json!({"width": 3000}))),
        0,
    );
    let url = format!("{}?wide", s.url("/flight/big.jpg"));
    let answers = get_concurrently(&s, &vec![url; 8]);
    for a in &answers {
        assert_eq!(
            a.status,
            200,
            "every request is answered: {}",
            String::from_utf8_lossy(&a.body)
        );
        assert!(a.etag.is_some(), "a variant has an ETag");
    }
    let first = &answers[0];
    assert_eq!(dims(&first.body), (3000, 2250));
    for a in &answers[1..] {
        assert_eq!(a.etag, first.etag, "one ETag for one variant");
        assert!(a.body == first.body, "one body for one variant");
    }
    let text = s.metrics();
    assert_eq!(
        metric_sum(
            &text,
            "pictor_render_seconds_count",
            &[("template", "resize_width_fit")]
        ),
        1.0,
        "8 concurrent misses render once:\n{text}"
    );
}

#[test]
fn a_truncated_original_answers_422_and_stays_served() {
    let s = Server::start();
    let original = corpus(TRUNCATED);
    assert_code(&s.upload("/bad/trunc.jpg", original.clone(), ""), 0);
    assert_code(
        &s.put_operation(
            "thumb",
            op("resize_max_fit", json!({"width": 100, "height": 100})),
        ),
        0,
    );
    let url = format!("{}?thumb", s.url("/bad/trunc.jpg"));
    for attempt in 0..2 {
        let resp = s.get(&url);
        assert_eq!(resp.status(), 422, "attempt {attempt}");
        let ct = resp.headers()["content-type"]
            .to_str()
            .expect("ct")
            .to_owned();
        assert!(ct.starts_with("text/plain"), "422 is text: {ct}");
        let text = resp.text().expect("text body");
        assert!(!text.trim().is_empty(), "422 explains itself");
    }

    let plain = s.get(&s.url("/bad/trunc.jpg"));
    assert_eq!(plain.status(), 200, "the original is still delivered");
    assert_eq!(plain.bytes().expect("body").to_vec(), original, "unchanged");

    let list = s.json(Method::GET, "folders?basepath=/bad&createdBy=P", None);
    assert_code(&list, 0);
    assert_eq!(
        list["paging"]["totalFileCount"], 0,
        "no result is stored: {list}"
    );
}

#[test]
fn a_stored_result_is_served_from_l2_after_a_restart() {
    let mut s = Server::start();
    assert_code(&s.upload("/l2/photo.jpg", corpus(PHOTO), ""), 0);
    assert_code(
        &s.put_operation("small", op("resize_width_fit", json!({"width": 160}))),
        0,
    );
    let path = format!("/{}/l2/photo.jpg?small", s.app.container);
    let first = s.get(&format!("{}{path}", s.base));
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().expect("etag").to_owned();
    let body = first.bytes().expect("body").to_vec();
    assert_eq!(dims(&body), (160, 120));
    assert_eq!(s.terminate().code(), Some(0));

    let s2 = Server::spawn(&s.data_dir.clone(), s.app.clone(), &[]);
    let again = s2.get(&format!("{}{path}", s2.base));
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.headers()["etag"].to_str().expect("etag"),
        etag,
        "the ETag survives the restart"
    );
    assert!(
        again.bytes().expect("body").to_vec() == body,
        "the same bytes"
    );
    let text = s2.metrics();
    assert_eq!(
        metric_sum(
            &text,
            "pictor_cache_requests_total",
            &[("tier", "l2"), ("result", "hit")]
        ),
        1.0,
        "the stored result is found:\n{text}"
    );
    assert_eq!(
        metric_sum(&text, "pictor_render_seconds_count", &[]),
        0.0,
        "nothing is rendered again:\n{text}"
    );
}

#[test]
fn head_ranges_and_304_on_a_variant() {
    let s = Server::start();
    assert_code(&s.upload("/hr/photo.jpg", corpus(PHOTO), ""), 0);
    assert_code(
        &s.put_operation(
            "thumb",
            op("resize_max_fit", json!({"width": 200, "height": 200})),
        ),
        0,
    );
    let target = format!("/{}/hr/photo.jpg?thumb", s.app.container);
    let head = |what: &str| {
        let raw = s.raw(
            format!(
                "HEAD {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                s.addr()
            )
            .as_bytes(),
        );
        assert_eq!(raw.status, 200, "HEAD ({what}): {}", raw.head);
        assert!(
            raw.body.is_empty(),
            "HEAD ({what}) sends no body: {} bytes",
            raw.body.len()
        );
        raw.head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().expect("numeric length"))
            })
            .unwrap_or_else(|| panic!("HEAD ({what}) has Content-Length: {}", raw.head))
    };

    // HEAD of the cold variant renders it; then GET, then HEAD again from the cache.
    let cold_len = head("cold");
    let url = format!("{}{target}", s.base);
    let full = s.get(&url);
    assert_eq!(full.status(), 200);
    let etag = full.headers()["etag"].to_str().expect("etag").to_owned();
    let body = full.bytes().expect("body").to_vec();
    assert_eq!(dims(&body), (200, 150));
    assert_eq!(cold_len, body.len(), "HEAD length of the cold variant");
    assert_eq!(
        head("cached"),
        body.len(),
        "HEAD length of the cached variant"
    );

    let part = s
        .http
        .get(&url)
        .header("Range", "bytes=0-9")
        .send()
        .expect("range GET");
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"].to_str().expect("range"),
        format!("bytes 0-9/{}", body.len())
    );
    assert_eq!(part.bytes().expect("body").as_ref(), &body[..10]);

    let unchanged = s
        .http
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .expect("conditional GET");
    assert_eq!(unchanged.status(), 304);
    assert_eq!(unchanged.headers()["etag"].to_str().expect("etag"), etag);
    assert!(
        unchanged.bytes().expect("body").is_empty(),
        "304 has no body"
    );
}
