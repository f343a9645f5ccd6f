//! Sizes refused when an operation is saved (10001 naming the field), and the `transform`
//! command failing in one line, without a panic, on an input that makes a decoder panic.

mod common;

use common::{assert_code, corpus, corpus_dir, transform, Server};
use serde_json::json;
use std::path::Path;

#[test]
fn sizes_known_from_the_options_are_refused_when_saved() {
    let s = Server::start();
    let refused = [
        ("circle", json!({"radius": 12000}), "data[0].option.radius"),
        ("circle", json!({"radius": 50000}), "data[0].option.radius"),
        (
            "resize_fix",
            json!({"width": 9000, "height": 10, "upDownSizeType": "upDownAll"}),
            "data[0].option.width",
        ),
        (
            "resize_width_fit",
            json!({"width": 20000, "upDownSizeType": "upOnly"}),
            "data[0].option.width",
        ),
        (
            "grid",
            json!({"countX": 100, "countY": 100}),
            "data[0].option.countX",
        ),
    ];
    for (template, option, field) in refused {
        let body = json!({"data": [{"templateOperationId": template, "option": option}]});
        let answer = s.put_operation("big", body.clone());
        assert_code(&answer, 10001);
        let message = answer["header"]["resultMessage"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(field), "{body}: {message}");
    }
    for (template, option) in [
        ("circle", json!({"radius": 4096})),
        ("grid", json!({"countX": 10, "countY": 10})),
        ("resize_fix", json!({"width": 8192, "height": 8192})),
        // The side a mode ignores is not judged.
        ("resize_width_fit", json!({"width": 300, "height": 9000})),
        ("resize_height_fit", json!({"width": 9000, "height": 300})),
    ] {
        let body = json!({"data": [{"templateOperationId": template, "option": option}]});
        assert_code(&s.put_operation("fits", body), 0);
    }
}

#[test]
fn sizes_that_depend_on_the_source_are_refused_when_rendered() {
    let s = Server::start();
    assert_code(
        &s.upload("/shop/tall.jpg", corpus("edge/very_tall_50x8000.jpg"), ""),
        0,
    );
    let wide = json!({"data": [{"templateOperationId": "resize_width_fit",
        "option": {"width": 8000, "upDownSizeType": "upDownAll"}}]});
    assert_code(&s.put_operation("wide", wide), 0);
    let square = json!({"data": [{"templateOperationId": "resize_fix",
        "option": {"width": 400, "height": 400, "upDownSizeType": "upDownAll"}}]});
    assert_code(&s.put_operation("square", square), 0);
    let resp = s.get(&format!("{}?wide", s.url("/shop/tall.jpg")));
    assert_eq!(resp.status().as_u16(), 422, "8000 x 1280000 is refused");
    let resp = s.get(&format!("{}?square", s.url("/shop/tall.jpg")));
    assert_eq!(resp.status().as_u16(), 200, "400 x 400 fits");
    let bytes = resp.bytes().expect("body");
    let img = image::load_from_memory(&bytes).expect("a JPEG");
    assert_eq!((img.width(), img.height()), (400, 400));
}

fn assert_one_line_failure(out: &std::process::Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "exits non-zero: {out:?}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the normal failure code: {out:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr:?}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "no panic report: {stderr:?}"
    );
    assert!(stderr.contains(needle), "{needle} in {stderr:?}");
}

#[test]
fn transform_reports_a_decoder_panic_in_one_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let operation = tmp.path().join("thumb.json");
    std::fs::write(
        &operation,
        r#"{"data": [{"templateOperationId": "resize_max_fit", "option": {"width": 50, "height": 50}}]}"#,
    )
    .expect("write the operation");
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/webp_anim_read_frame_panic.webp");
    let outdir = tmp.path().join("out");
    let out = transform(&operation, &src, &outdir);
    assert_one_line_failure(&out, "malformed input");
    assert!(!outdir
        .join("webp_anim_read_frame_panic_thumb.webp")
        .exists());
}

#[test]
fn transform_refuses_an_oversized_circle_before_rendering() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let operation = tmp.path().join("round.json");
    std::fs::write(
        &operation,
        r#"{"data": [{"templateOperationId": "circle", "option": {"radius": 50000}}]}"#,
    )
    .expect("write the operation");
    let src = corpus_dir().join("photos/photo_small_nikon-p6000_gps_640x480.jpg");
    let out = transform(&operation, &src, &tmp.path().join("out"));
    assert_one_line_failure(&out, "data[0].option.radius");
}
