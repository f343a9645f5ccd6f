//! `/healthz` and `/metrics` (Prometheus text with the `pictor_` series).

mod common;

use common::{assert_result, corpus, metric_sum, Server};
use reqwest::Method;

#[test]
fn healthz_answers_200() {
    let s = Server::start();
    let resp = s.get(&format!("{}/healthz", s.base));
    assert_eq!(resp.status(), 200);
    let head = s
        .http
        .head(format!("{}/healthz", s.base))
        .send()
        .expect("HEAD");
    assert!(
        head.status() == 200 || head.status() == 405,
        "{}",
        head.status()
    );
}

#[test]
fn metrics_lists_every_series() {
    let s = Server::start();
    // One request of each kind so every labelled series has a sample.
    assert_result(
        &s.upload("/mx/a1.gif", corpus("edge/tiny_10x10.gif"), ""),
        0,
    );
    assert_eq!(s.get(&s.url("/mx/a1.gif")).status(), 200);
    let resp = s.get(&format!("{}/metrics", s.base));
    assert_eq!(resp.status(), 200);
    let ctype = resp.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(ctype.starts_with("text/plain"), "content-type {ctype}");
    let text = resp.text().expect("text");
    for name in [
        "pictor_http_requests_total",
        "pictor_http_request_duration_seconds",
        "pictor_http_bytes_sent_total",
        "pictor_http_bytes_received_total",
        "pictor_catalog_errors_total",
        "pictor_blob_errors_total",
        "pictor_cache_requests_total",
        "pictor_render_queue_depth",
        "pictor_render_overload_total",
        "pictor_callback_failures_total",
        "pictor_tasks_pending",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("# TYPE {name} "))),
            "{name} has a TYPE line in\n{text}"
        );
    }
    assert!(text.contains("# TYPE pictor_http_request_duration_seconds histogram"));
    assert!(text.contains("# TYPE pictor_http_requests_total counter"));
    let requests: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("pictor_http_requests_total{"))
        .collect();
    assert!(!requests.is_empty(), "{text}");
    for line in &requests {
        assert!(
            line.contains("route=\"") && line.contains("result=\""),
            "labels route and result: {line}"
        );
    }
    for suffix in ["_bucket{", "_sum", "_count"] {
        assert!(
            text.contains(&format!("pictor_http_request_duration_seconds{suffix}")),
            "histogram {suffix} in\n{text}"
        );
    }
    assert!(text.contains("le=\"+Inf\""));
    assert_eq!(metric_sum(&text, "pictor_catalog_errors_total", &[]), 0.0);
    assert_eq!(metric_sum(&text, "pictor_blob_errors_total", &[]), 0.0);
    assert!(
        text.lines()
            .any(|l| l == r#"pictor_tasks_pending{status="W"} 0"#),
        "no task waits: {text}"
    );
    assert!(text
        .lines()
        .any(|l| l == r#"pictor_tasks_pending{status="P"} 0"#));
}

/// Task and render series exist at zero before any task or render, so a rate or an alert on
/// them reads 0 instead of no data.
#[test]
fn task_and_render_series_start_at_zero() {
    let s = Server::start();
    let text = s.metrics();
    for queue_type in ["image", "delete"] {
        for status in ["D", "F"] {
            let line =
                format!(r#"pictor_tasks_total{{queue_type="{queue_type}",status="{status}"}} 0"#);
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
    for template in [
        "resize_max_fit",
        "gray",
        "rectangle",
        "slice",
        "grid",
        "circle",
        "watermark",
    ] {
        let line = format!(r#"pictor_render_seconds_count{{template="{template}"}} 0"#);
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
}

#[test]
fn counters_increase_after_requests() {
    let s = Server::start();
    let gif = corpus("edge/tiny_10x10.gif");
    let before = s.metrics();
    let requests = |t: &str| metric_sum(t, "pictor_http_requests_total", &[]);
    let sent = |t: &str| metric_sum(t, "pictor_http_bytes_sent_total", &[]);
    let received = |t: &str| metric_sum(t, "pictor_http_bytes_received_total", &[]);
    let observed = |t: &str| metric_sum(t, "pictor_http_request_duration_seconds_count", &[]);

    assert_result(&s.upload("/m1/a.gif", gif.clone(), ""), 0);
    for _ in 0..3 {
        let body = s.get(&s.url("/m1/a.gif")).bytes().expect("body");
        assert_eq!(body.len(), gif.len());
    }
    assert_eq!(s.get(&s.url("/m1/missing.gif")).status(), 404);
    assert_result(
        &s.json(Method::GET, "folders?basepath=/nowhere", None),
        20001,
    );
    let after = s.metrics();

    assert!(
        requests(&after) >= requests(&before) + 6.0,
        "requests {} -> {}",
        requests(&before),
        requests(&after)
    );
    assert!(
        received(&after) >= received(&before) + gif.len() as f64,
        "bytes received {} -> {}",
        received(&before),
        received(&after)
    );
    assert!(
        sent(&after) >= sent(&before) + 3.0 * gif.len() as f64,
        "bytes sent {} -> {}",
        sent(&before),
        sent(&after)
    );
    assert!(observed(&after) >= observed(&before) + 6.0);

    // The result label separates successes from failures.
    let mut results: Vec<String> = after
        .lines()
        .filter(|l| l.starts_with("pictor_http_requests_total{"))
        .filter_map(|l| {
            let start = l.find("result=\"")? + 8;
            let end = l[start..].find('"')? + start;
            Some(l[start..end].to_owned())
        })
        .collect();
    results.sort();
    results.dedup();
    assert!(
        results.len() >= 2,
        "successes and failures have distinct result labels: {results:?}"
    );
}
