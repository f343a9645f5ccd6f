//! Produced files keep their stored names when their original is overwritten or their
//! operation changes: the stored name serves the variant of the current original, rendered
//! again once, then served as stored.

mod common;

use common::{assert_code, corpus, dims, mean_abs_diff, metric_sum, Server};
use reqwest::Method;
use serde_json::{json, Value};

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";
const PORTRAIT: &str = "photos/photo_portrait_canon-ixus40_1704x2272.jpg";
const ROCKET: &str = "photos/photo_icc_adobe-rgb_rocket_640x427.jpg";
const WIDE: &str = "edge/very_wide_8000x50.jpg";

fn op(template: &str, option: Value) -> Value {
    json!({ "data": [{ "templateOperationId": template, "option": option }] })
}

fn fit(side: u32) -> Value {
    op("resize_max_fit", json!({"width": side, "height": side}))
}

/// Uploads with operations and waits for every task to finish.
fn upload_with(s: &Server, path: &str, file: &str, query: &str) {
    let up = s.upload(path, corpus(file), query);
    assert_code(&up, 0);
    for q in up["file"]["queues"].as_array().expect("queues") {
        let done = s.wait_task(q["queueId"].as_str().expect("id"));
        assert_eq!(done["queue"]["status"], "D", "{done}");
    }
}

/// Renders counted by the server so far.
fn renders(s: &Server) -> f64 {
    metric_sum(&s.metrics(), "pictor_render_seconds_count", &[])
}

fn etag(resp: &reqwest::blocking::Response) -> String {
    resp.headers()["etag"].to_str().expect("etag").to_owned()
}

#[test]
fn stored_name_serves_the_variant_of_the_new_original() {
    let s = Server::start();
    assert_code(&s.put_operation("thumb", fit(200)), 0);
    upload_with(&s, "/shop/photo.jpg", PHOTO, "operationIds=thumb");
    let url = s.url("/shop/photo_thumb.jpg");
    let first = s.get(&url);
    assert_eq!(first.status(), 200);
    let etag1 = etag(&first);
    assert_eq!(dims(&first.bytes().expect("body")), (200, 150));

    assert_code(
        &s.upload("/shop/photo.jpg", corpus(PORTRAIT), "overwrite=true"),
        0,
    );
    let before = renders(&s);
    let second = s.get(&url);
    assert_eq!(second.status(), 200, "the stored name keeps working");
    let etag2 = etag(&second);
    assert_ne!(etag2, etag1, "a new variant has a new ETag");
    let bytes = second.bytes().expect("body").to_vec();
    assert_eq!(dims(&bytes), (150, 200), "made from the new original");
    let got = image::load_from_memory(&bytes).expect("decode").to_rgba8();
    let want = image::load_from_memory(&corpus(PORTRAIT))
        .expect("decode original")
        .resize_exact(150, 200, image::imageops::FilterType::Triangle)
        .to_rgba8();
    let diff = mean_abs_diff(&got, &want);
    assert!(diff < 12.0, "pixels of the new original (mean diff {diff})");
    assert_eq!(renders(&s), before + 1.0, "rendered once");

    let third = s.get(&url);
    assert_eq!(etag(&third), etag2);
    assert_eq!(third.bytes().expect("body").to_vec(), bytes);
    let unchanged = s
        .http
        .get(&url)
        .header("If-None-Match", &etag2)
        .send()
        .expect("GET");
    assert_eq!(unchanged.status(), 304);
    assert_eq!(renders(&s), before + 1.0, "then served as stored");

    let listed = s.json(Method::GET, "folders?basepath=/shop&createdBy=P", None);
    assert_eq!(listed["files"][0]["name"], "photo_thumb.jpg");
    assert_eq!(listed["files"][0]["imageProperty"]["width"], 150);
}

#[test]
fn head_and_conditional_requests_see_the_new_variant() {
    let s = Server::start();
    assert_code(&s.put_operation("thumb", fit(200)), 0);
    upload_with(&s, "/shop/photo.jpg", PHOTO, "operationIds=thumb");
    let url = s.url("/shop/photo_thumb.jpg");
    let old = etag(&s.get(&url));
    assert_code(
        &s.upload("/shop/photo.jpg", corpus(PORTRAIT), "overwrite=true"),
        0,
    );
    let head = s.http.head(&url).send().expect("HEAD");
    assert_eq!(head.status(), 200);
    let new = etag(&head);
    assert_ne!(new, old);
    let len: usize = head.headers()["content-length"]
        .to_str()
        .expect("length")
        .parse()
        .expect("number");
    let stale = s
        .http
        .get(&url)
        .header("If-None-Match", &old)
        .send()
        .expect("GET");
    assert_eq!(stale.status(), 200, "the old ETag no longer matches");
    assert_eq!(etag(&stale), new);
    let body = stale.bytes().expect("body");
    assert_eq!(body.len(), len);
    assert_eq!(dims(&body), (150, 200));
}

#[test]
fn slice_pieces_follow_the_new_original() {
    let s = Server::start();
    assert_code(
        &s.put_operation("strips", op("slice", json!({"sliceSize": 200}))),
        0,
    );
    upload_with(&s, "/shop/photo.jpg", PHOTO, "operationIds=strips");
    let piece = |i: usize| s.url(&format!("/shop/photo_strips_{i:04}.jpg"));
    assert_eq!(dims(&s.get(&piece(2)).bytes().expect("body")), (640, 80));

    assert_code(
        &s.upload("/shop/photo.jpg", corpus(ROCKET), "overwrite=true"),
        0,
    );
    let before = renders(&s);
    let last = s.get(&piece(2));
    assert_eq!(last.status(), 200);
    assert_eq!(dims(&last.bytes().expect("body")), (640, 27));
    for i in 0..2 {
        let resp = s.get(&piece(i));
        assert_eq!(resp.status(), 200);
        assert_eq!(dims(&resp.bytes().expect("body")), (640, 200));
    }
    assert_eq!(
        renders(&s),
        before + 1.0,
        "one render made every piece of the new original"
    );

    assert_code(
        &s.upload("/shop/photo.jpg", corpus(WIDE), "overwrite=true"),
        0,
    );
    let only = s.get(&piece(0));
    assert_eq!(only.status(), 200);
    assert_eq!(dims(&only.bytes().expect("body")), (8000, 50));
    for i in 1..3 {
        assert_eq!(
            s.get(&piece(i)).status(),
            404,
            "a piece the new original does not have is gone"
        );
    }
    let listed = s.json(Method::GET, "folders?basepath=/shop&createdBy=P", None);
    assert_eq!(listed["files"].as_array().expect("files").len(), 1);
}

#[test]
fn an_edited_operation_renders_the_stored_name_again() {
    let s = Server::start();
    assert_code(&s.put_operation("thumb", fit(200)), 0);
    upload_with(&s, "/shop/photo.jpg", PHOTO, "operationIds=thumb");
    let url = s.url("/shop/photo_thumb.jpg");
    let first = s.get(&url);
    let etag1 = etag(&first);
    assert_eq!(dims(&first.bytes().expect("body")), (200, 150));
    assert_code(&s.put_operation("thumb", fit(100)), 0);
    let edited = s.get(&url);
    assert_eq!(edited.status(), 200);
    assert_ne!(etag(&edited), etag1);
    assert_eq!(dims(&edited.bytes().expect("body")), (100, 75));
}

#[test]
fn a_failed_render_answers_like_real_time() {
    let s = Server::start();
    assert_code(&s.put_operation("thumb", fit(200)), 0);
    upload_with(&s, "/shop/photo.jpg", PHOTO, "operationIds=thumb");
    assert_code(
        &s.upload(
            "/shop/photo.jpg",
            corpus("malformed/truncated_jpeg_first10000bytes.jpg"),
            "overwrite=true",
        ),
        0,
    );
    let url = s.url("/shop/photo.jpg");
    let realtime = s.get(&format!("{url}?thumb")).status();
    let stored = s.get(&s.url("/shop/photo_thumb.jpg")).status();
    assert_eq!(stored, realtime);
    assert_eq!(stored.as_u16(), 422, "the source cannot be processed");
}

#[test]
fn a_multipart_overwrite_keeps_the_stored_name() {
    use reqwest::blocking::multipart::{Form, Part};
    let s = Server::start();
    assert_code(&s.put_operation("thumb", fit(200)), 0);
    upload_with(&s, "/shop/photo.jpg", PHOTO, "operationIds=thumb");
    let url = s.url("/shop/photo_thumb.jpg");
    assert_eq!(dims(&s.get(&url).bytes().expect("body")), (200, 150));
    let form = Form::new()
        .text(
            "params",
            json!({"basepath": "/shop", "overwrite": true}).to_string(),
        )
        .part(
            "files",
            Part::bytes(corpus(PORTRAIT)).file_name("photo.jpg"),
        );
    assert_code(&s.multipart(form), 0);
    let resp = s.get(&url);
    assert_eq!(resp.status(), 200);
    assert_eq!(dims(&resp.bytes().expect("body")), (150, 200));
}

#[test]
fn results_kept_after_their_operation_is_deleted_are_served_as_stored() {
    let s = Server::start();
    assert_code(&s.put_operation("thumb", fit(200)), 0);
    upload_with(&s, "/shop/photo.jpg", PHOTO, "operationIds=thumb");
    let url = s.url("/shop/photo_thumb.jpg");
    let kept = s.get(&url).bytes().expect("body").to_vec();
    assert_code(
        &s.json(
            Method::DELETE,
            "operations/thumb?deleteThumbnail=false",
            None,
        ),
        0,
    );
    assert_code(
        &s.upload("/shop/photo.jpg", corpus(PORTRAIT), "overwrite=true"),
        0,
    );
    let resp = s.get(&url);
    assert_eq!(resp.status(), 200, "nothing to render it from: kept as is");
    assert_eq!(resp.bytes().expect("body").to_vec(), kept);
}
