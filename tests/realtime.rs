//! The real-time service: `GET /<container>/<path>?<operationId>` for every template, cache
//! invalidation on edits, switches, and the stored result names.

mod common;

use common::{assert_code, corpus, dims, Server};
use reqwest::Method;
use serde_json::json;

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

fn op(template: &str, option: serde_json::Value) -> serde_json::Value {
    json!({ "data": [{ "templateOperationId": template, "option": option }] })
}

#[test]
fn every_template_renders_with_exact_geometry() {
    let s = Server::start();
    assert_code(&s.upload("/shop/photo.jpg", corpus(PHOTO), ""), 0);
    assert_code(
        &s.upload(
            "/shop/mark.png",
            corpus("alpha/logo_debian-emblem_rgba_256x256.png"),
            "",
        ),
        0,
    );
    let cases = [
        (
            "maxfit",
            op("resize_max_fit", json!({"width": 200, "height": 100})),
            (200, 150),
        ),
        (
            "minfit",
            op("resize_min_fit", json!({"width": 200, "height": 100})),
            (133, 100),
        ),
        (
            "fix",
            op("resize_fix", json!({"width": 200, "height": 100})),
            (200, 100),
        ),
        (
            "wfit",
            op("resize_width_fit", json!({"width": 320})),
            (320, 240),
        ),
        (
            "hfit",
            op("resize_height_fit", json!({"height": 120})),
            (160, 120),
        ),
        ("gray", op("gray", json!({})), (640, 480)),
        (
            "rect",
            op(
                "rectangle",
                json!({"width": 100, "height": 50, "gravity": "NorthWest"}),
            ),
            (100, 50),
        ),
        ("circle", op("circle", json!({"radius": 40})), (80, 80)),
        (
            "mark",
            op(
                "watermark",
                json!({"watermarkImagePath": "/shop/mark.png", "gravity": "SouthEast"}),
            ),
            (640, 480),
        ),
    ];
    for (id, body, want) in cases {
        assert_code(&s.put_operation(id, body), 0);
        let resp = s.get(&format!("{}?{id}", s.url("/shop/photo.jpg")));
        assert_eq!(resp.status(), 200, "{id}");
        let ct = resp.headers()["content-type"]
            .to_str()
            .expect("ct")
            .to_owned();
        let bytes = resp.bytes().expect("body").to_vec();
        assert_eq!(dims(&bytes), want, "{id}");
        assert_eq!(ct, "image/jpeg", "{id}: a JPEG source stays JPEG");
        if id == "gray" {
            let img = image::load_from_memory(&bytes).expect("decode").to_rgb8();
            let max_spread = img
                .pixels()
                .map(|p| {
                    let [r, g, b] = p.0;
                    r.max(g).max(b) - r.min(g).min(b)
                })
                .max()
                .unwrap_or(0);
            assert!(
                max_spread <= 6,
                "gray output spread {max_spread} (JPEG noise only)"
            );
        }
        if id == "circle" {
            let img = image::load_from_memory(&bytes).expect("decode").to_rgb8();
            assert!(
                img.get_pixel(0, 0).0.iter().all(|c| *c > 240),
                "white corner in JPEG"
            );
        }
    }
    for (id, template, option) in [
        ("slicev", "slice", json!({"sliceSize": 100})),
        ("grid2", "grid", json!({"countX": 2, "countY": 2})),
    ] {
        assert_code(&s.put_operation(id, op(template, option)), 0);
        let resp = s.get(&format!("{}?{id}", s.url("/shop/photo.jpg")));
        assert_eq!(resp.status(), 404, "{id} is not real-time");
    }
}

#[test]
fn png_circle_keeps_transparent_corners() {
    let s = Server::start();
    assert_code(
        &s.upload(
            "/img/alpha.png",
            corpus("formats/png_interlaced_adam7_rgba_162x150.png"),
            "",
        ),
        0,
    );
    assert_code(
        &s.put_operation("round", op("circle", json!({"radius": 50}))),
        0,
    );
    let bytes = s
        .get(&format!("{}?round", s.url("/img/alpha.png")))
        .bytes()
        .expect("body");
    let img = image::load_from_memory(&bytes).expect("decode").to_rgba8();
    assert_eq!(img.dimensions(), (100, 100));
    assert_eq!(img.get_pixel(0, 0).0[3], 0);
    assert_eq!(img.get_pixel(99, 99).0[3], 0);
}

#[test]
fn edits_and_new_originals_are_never_served_stale() {
    let s = Server::start();
    assert_code(&s.upload("/shop/photo.jpg", corpus(PHOTO), ""), 0);
    assert_code(
        &s.put_operation(
            "thumb",
            op("resize_max_fit", json!({"width": 100, "height": 100})),
        ),
        0,
    );
    let url = format!("{}?thumb", s.url("/shop/photo.jpg"));
    let first = s.get(&url);
    let etag1 = first.headers()["etag"].to_str().expect("etag").to_owned();
    assert_eq!(dims(&first.bytes().expect("body")), (100, 75));
    let again = s.get(&url);
    assert_eq!(
        again.headers()["etag"].to_str().expect("etag"),
        etag1,
        "cached"
    );
    let not_modified = s
        .http
        .get(&url)
        .header("If-None-Match", &etag1)
        .send()
        .expect("get");
    assert_eq!(not_modified.status(), 304);

    assert_code(
        &s.put_operation(
            "thumb",
            op("resize_max_fit", json!({"width": 200, "height": 200})),
        ),
        0,
    );
    let edited = s.get(&url);
    let etag2 = edited.headers()["etag"].to_str().expect("etag").to_owned();
    assert_ne!(etag2, etag1);
    assert_eq!(dims(&edited.bytes().expect("body")), (200, 150));

    assert_code(
        &s.upload(
            "/shop/photo.jpg",
            corpus("photos/photo_portrait_canon-ixus40_1704x2272.jpg"),
            "overwrite=true",
        ),
        0,
    );
    let replaced = s.get(&url);
    assert_ne!(replaced.headers()["etag"].to_str().expect("etag"), etag2);
    assert_eq!(dims(&replaced.bytes().expect("body")), (150, 200));

    let stored = s.get(&s.url("/shop/photo_thumb.jpg"));
    assert_eq!(
        stored.status(),
        200,
        "the result is reachable by its stored name"
    );
    assert_eq!(dims(&stored.bytes().expect("body")), (150, 200));
}

#[test]
fn watermark_changes_reach_the_variants() {
    let s = Server::start();
    assert_code(&s.upload("/shop/photo.jpg", corpus(PHOTO), ""), 0);
    let white = image::RgbaImage::from_pixel(20, 20, image::Rgba([255, 255, 255, 255]));
    let black = image::RgbaImage::from_pixel(20, 20, image::Rgba([0, 0, 0, 255]));
    let png = |img: &image::RgbaImage| {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png)
            .expect("png");
        out.into_inner()
    };
    assert_code(&s.upload("/shop/mark.png", png(&white), ""), 0);
    assert_code(
        &s.put_operation(
            "wm",
            op(
                "watermark",
                json!({"watermarkImagePath": "/shop/mark.png", "gravity": "NorthWest"}),
            ),
        ),
        0,
    );
    let url = format!("{}?wm", s.url("/shop/photo.jpg"));
    let pixel = |bytes: &[u8]| {
        image::load_from_memory(bytes)
            .expect("decode")
            .to_rgb8()
            .get_pixel(10, 10)
            .0
    };
    assert!(pixel(&s.get(&url).bytes().expect("body"))
        .iter()
        .all(|c| *c > 240));
    assert_code(
        &s.upload("/shop/mark.png", png(&black), "overwrite=true"),
        0,
    );
    assert!(pixel(&s.get(&url).bytes().expect("body"))
        .iter()
        .all(|c| *c < 15));
}

#[test]
fn switches_and_unknown_operations() {
    let s = Server::start();
    assert_code(&s.upload("/shop/photo.jpg", corpus(PHOTO), ""), 0);
    let url = |id: &str| format!("{}?{id}", s.url("/shop/photo.jpg"));
    assert_eq!(s.get(&url("nosuch")).status(), 404);
    let mut body = op("gray", json!({}));
    body["realtimeService"] = json!(false);
    assert_code(&s.put_operation("offop", body), 0);
    assert_eq!(s.get(&url("offop")).status(), 403);
    assert_code(&s.put_operation("onop", op("gray", json!({}))), 0);
    assert_eq!(s.get(&url("onop")).status(), 200);
    assert_code(
        &s.json(
            Method::PUT,
            "users",
            Some(json!({"realtimeService": false})),
        ),
        0,
    );
    assert_eq!(
        s.get(&url("onop")).status(),
        403,
        "app switch wins over the cache"
    );
    assert_code(
        &s.json(
            Method::PUT,
            "users",
            Some(json!({"realtimeService": "true"})),
        ),
        0,
    );
    assert_eq!(s.get(&url("onop")).status(), 200);
    assert_eq!(
        s.get(&format!("{}?onop", s.url("/shop/missing.jpg")))
            .status(),
        404
    );
}

#[test]
fn result_cache_off_still_renders_and_stores_nothing() {
    let s = Server::start_with(&[("PICTOR_RENDER_RESULT_CACHE", "false")]);
    assert_code(&s.upload("/shop/photo.jpg", corpus(PHOTO), ""), 0);
    assert_code(
        &s.put_operation(
            "thumb",
            op("resize_fix", json!({"width": 64, "height": 64})),
        ),
        0,
    );
    for _ in 0..2 {
        let resp = s.get(&format!("{}?thumb", s.url("/shop/photo.jpg")));
        assert_eq!(dims(&resp.bytes().expect("body")), (64, 64));
    }
    let list = s.json(Method::GET, "folders?basepath=/shop&createdBy=P", None);
    assert_eq!(list["paging"]["totalFileCount"], 0);
}

#[test]
fn an_uploaded_file_holding_the_result_name_is_never_replaced() {
    let s = Server::start();
    assert_code(&s.upload("/keep/a.jpg", corpus(PHOTO), ""), 0);
    let mine = corpus("photos/photo_portrait_canon-ixus40_1704x2272.jpg");
    assert_code(&s.upload("/keep/a_thumb.jpg", mine.clone(), ""), 0);
    assert_code(
        &s.put_operation("thumb", op("resize_width_fit", json!({"width": 100}))),
        0,
    );
    let resp = s.get(&format!("{}?thumb", s.url("/keep/a.jpg")));
    assert_eq!(resp.status(), 200);
    assert_eq!(dims(&resp.bytes().expect("body")), (100, 75));
    let kept = s.get(&s.url("/keep/a_thumb.jpg"));
    assert_eq!(
        kept.bytes().expect("body").to_vec(),
        mine,
        "the upload is intact"
    );
    let list = s.json(Method::GET, "folders?basepath=/keep", None);
    let files = list["files"].as_array().expect("files");
    let entry = files
        .iter()
        .find(|f| f["name"] == "a_thumb.jpg")
        .expect("listed");
    assert_eq!(entry["createdBy"], "U");
}

#[test]
fn a_query_without_an_operation_serves_the_original() {
    let s = Server::start();
    let original = corpus(PHOTO);
    assert_code(&s.upload("/bust/a.jpg", original.clone(), ""), 0);
    let resp = s.get(&format!("{}?v=2", s.url("/bust/a.jpg")));
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().expect("body").to_vec(), original);
    let resp = s.get(&format!("{}?v=2&nosuchop", s.url("/bust/a.jpg")));
    assert_eq!(resp.status(), 404, "a bare item names an operation");
}

#[test]
fn cache_tiers_and_renders_are_counted() {
    let s = Server::start();
    assert_code(&s.upload("/met/a.jpg", corpus(PHOTO), ""), 0);
    assert_code(
        &s.put_operation("small", op("resize_width_fit", json!({"width": 64}))),
        0,
    );
    for _ in 0..3 {
        assert_eq!(
            s.get(&format!("{}?small", s.url("/met/a.jpg"))).status(),
            200
        );
    }
    let text = s.metrics();
    let value = |series: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{series} missing in\n{text}"))
    };
    assert_eq!(
        value(r#"pictor_cache_requests_total{result="hit",tier="l1"}"#),
        2.0
    );
    assert_eq!(
        value(r#"pictor_cache_requests_total{result="miss",tier="l1"}"#),
        1.0
    );
    assert_eq!(
        value(r#"pictor_cache_requests_total{result="miss",tier="l2"}"#),
        1.0
    );
    assert_eq!(
        value(r#"pictor_render_seconds_count{template="resize_width_fit"}"#),
        1.0
    );
    assert_eq!(value("pictor_render_queue_depth"), 0.0);
    assert_eq!(
        value(r#"pictor_http_requests_total{result="200",route="delivery"}"#),
        3.0
    );
}
