//! A real-time render whose client goes away still finishes and stores its result, and leaves
//! no single-flight entry or queued-render count behind.

mod common;

use common::{assert_code, corpus, dims, metric_sum, Server};
use reqwest::Method;
use serde_json::json;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

const BIG: &str = "photos/photo_12mp_olympus-ep3_4032x3024.jpg";

/// Sends a GET on a fresh connection and closes it without reading the answer.
fn get_and_hang_up(s: &Server, target: &str) {
    let mut stream = TcpStream::connect(s.addr()).expect("connect");
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {}\r\n\r\n",
        s.addr()
    )
    .expect("send request");
    stream.flush().expect("flush");
    // Long enough for the request to be read and dispatched, far shorter than the render.
    std::thread::sleep(Duration::from_millis(300));
    stream.shutdown(std::net::Shutdown::Both).expect("shutdown");
}

/// The `P` files listed in a folder.
fn results_in(s: &Server, folder: &str) -> Vec<String> {
    let list = s.json(
        Method::GET,
        &format!("folders?basepath={folder}&createdBy=P"),
        None,
    );
    assert_code(&list, 0);
    let mut names: Vec<String> = list["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["name"].as_str().expect("name").to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn renders_of_disconnected_clients_are_finished_and_stored() {
    let s = Server::start_with(&[("PICTOR_RENDER_WORKERS", "1")]);
    let big = corpus(BIG);
    assert_code(&s.upload("/gone/a.jpg", big.clone(), ""), 0);
    assert_code(&s.upload("/gone/b.jpg", big, ""), 0);
    assert_code(
        &s.put_operation(
            "heavy",
            json!({ "data": [{ "templateOperationId": "gray",
                               "option": {} }] }),
        ),
        0,
    );
    let container = s.app.container.clone();
    // The first render takes the only worker; the second waits in the queue. Both clients
    // hang up before any answer.
    get_and_hang_up(&s, &format!("/{container}/gone/a.jpg?heavy"));
    get_and_hang_up(&s, &format!("/{container}/gone/b.jpg?heavy"));

    let expected = vec!["a_heavy.jpg".to_owned(), "b_heavy.jpg".to_owned()];
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = results_in(&s, "/gone");
        if found == expected {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the renders were thrown away: P files {found:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let text = s.metrics();
    assert_eq!(
        metric_sum(&text, "pictor_render_queue_depth", &[]),
        0.0,
        "no queued render is left counted"
    );
    let renders =
        |text: &str| metric_sum(text, "pictor_render_seconds_count", &[("template", "gray")]);
    assert_eq!(renders(&text), 2.0);

    for name in ["a", "b"] {
        let resp = s.get(&format!("{}?heavy", s.url(&format!("/gone/{name}.jpg"))));
        assert_eq!(resp.status(), 200);
        assert_eq!(dims(&resp.bytes().expect("body")), (4032, 3024));
    }
    let text = s.metrics();
    assert_eq!(renders(&text), 2.0, "served from the stored results");
    // The stored results answer: from L2, or from L1 when the detached request that made
    // them also cached them in memory.
    let hits = |tier: &str| {
        metric_sum(
            &text,
            "pictor_cache_requests_total",
            &[("tier", tier), ("result", "hit")],
        )
    };
    assert_eq!(hits("l1") + hits("l2"), 2.0, "both answered from a cache");
    assert_eq!(metric_sum(&text, "pictor_render_queue_depth", &[]), 0.0);
}

#[test]
fn followers_of_a_disconnected_leader_get_the_result() {
    let s = Server::start_with(&[("PICTOR_RENDER_WORKERS", "1")]);
    assert_code(&s.upload("/fo/a.jpg", corpus(BIG), ""), 0);
    assert_code(
        &s.put_operation(
            "heavy",
            json!({ "data": [{ "templateOperationId": "gray",
                               "option": {} }] }),
        ),
        0,
    );
    let url = format!("{}?heavy", s.url("/fo/a.jpg"));
    let follower = {
        let (http, url) = (s.http.clone(), url.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let resp = http.get(&url).send().expect("follower get");
            (resp.status().as_u16(), resp.bytes().expect("body").to_vec())
        })
    };
    get_and_hang_up(&s, &format!("/{}/fo/a.jpg?heavy", s.app.container));
    let (status, body) = follower.join().expect("follower");
    assert_eq!(status, 200);
    assert_eq!(dims(&body), (4032, 3024));
    let text = s.metrics();
    assert_eq!(
        metric_sum(
            &text,
            "pictor_render_seconds_count",
            &[("template", "gray")]
        ),
        1.0,
        "one render served both"
    );
    assert_eq!(metric_sum(&text, "pictor_render_queue_depth", &[]), 0.0);
}
