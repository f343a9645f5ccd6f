//! Rotation over real HTTP (`PUT /images/{fileId}/rotation`): the stored original is replaced
//! by its rotation (same id, new bytes and ETag, sides swapped), delivery serves the new bytes
//! at once, variants (real-time and stored) follow, and refusals leave the original as it was.

mod common;

use common::{assert_code, corpus, dims, mean_abs_diff, Server};
use image::imageops::{self, FilterType};
use image::{AnimationDecoder, RgbaImage};
use reqwest::Method;
use serde_json::{json, Value};

/// 640x480, 4:2:2: whole MCUs for every turn, so the rotation is lossless.
const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";
/// 640x427: 427 rows are no whole number of MCUs, so a quarter turn is encoded again.
const ROCKET: &str = "photos/photo_icc_adobe-rgb_rocket_640x427.jpg";
const PNG: &str = "formats/png_interlaced_adam7_rgba_162x150.png";
const GIF: &str = "animated/anim_gif_cogs_transparent_5frames_85x77.gif";
const AVIF: &str = "formats/avif_photo_olympus_2560x1600.avif";

fn rotate(s: &Server, id: &str, body: Value) -> Value {
    s.json(Method::PUT, &format!("images/{id}/rotation"), Some(body))
}

fn id_of(file: &Value) -> String {
    file["id"].as_str().expect("file id").to_owned()
}

fn etag(resp: &reqwest::blocking::Response) -> String {
    resp.headers()["etag"].to_str().expect("etag").to_owned()
}

/// The delivered bytes and ETag of a URL.
fn fetch(s: &Server, url: &str) -> (Vec<u8>, String) {
    let resp = s.get(url);
    assert_eq!(resp.status(), 200, "GET {url}");
    let tag = etag(&resp);
    (resp.bytes().expect("body").to_vec(), tag)
}

fn decode(bytes: &[u8]) -> RgbaImage {
    image::load_from_memory(bytes)
        .expect("decodable")
        .to_rgba8()
}

fn sides(v: &Value) -> (i64, i64) {
    let p = &v["file"]["imageProperty"];
    (
        p["width"].as_i64().expect("width"),
        p["height"].as_i64().expect("height"),
    )
}

#[test]
fn a_jpeg_turns_losslessly_and_delivery_serves_it_at_once() {
    let s = Server::start();
    let file = s.upload_ok("/album/photo.jpg", PHOTO);
    let url = s.url("/album/photo.jpg");
    let (before, etag1) = fetch(&s, &url);

    let v = rotate(&s, &id_of(&file), json!({"degrees": 90}));
    assert_code(&v, 0);
    assert_eq!(v["file"]["id"], file["id"], "the same file");
    assert_eq!(v["file"]["path"], "/album/photo.jpg");
    assert_eq!(sides(&v), (480, 640), "width and height swapped");
    assert_eq!(
        v["rotation"],
        json!({"degrees": 90, "flip": "none", "lossless": true})
    );
    assert_eq!(
        v["file"]["imageProperty"]["coordinate"], file["imageProperty"]["coordinate"],
        "where it was taken stays"
    );
    assert_ne!(v["file"]["bytes"], file["bytes"]);

    let (after, etag2) = fetch(&s, &url);
    assert_ne!(etag2, etag1, "a new version has a new ETag");
    assert_eq!(
        v["file"]["bytes"],
        after.len(),
        "the answer describes the bytes served"
    );
    let want = imageops::rotate90(&decode(&before));
    let diff = mean_abs_diff(&decode(&after), &want);
    assert!(diff < 0.5, "the same pixels, turned (mean diff {diff})");
    let stale = s
        .http
        .get(&url)
        .header("If-None-Match", &etag1)
        .send()
        .expect("GET");
    assert_eq!(stale.status(), 200, "the old ETag no longer matches");

    let listed = s.json(Method::GET, "folders?basepath=/album", None);
    assert_eq!(listed["files"][0]["id"], file["id"]);
    assert_eq!(listed["files"][0]["imageProperty"]["width"], 480);
    assert_eq!(listed["files"][0]["imageProperty"]["height"], 640);
}

#[test]
fn a_png_turns_and_mirrors_pixel_for_pixel() {
    let s = Server::start();
    let file = s.upload_ok("/p/alpha.png", PNG);
    let source = decode(&corpus(PNG));
    let v = rotate(
        &s,
        &id_of(&file),
        json!({"degrees": 270, "flip": "horizontal"}),
    );
    assert_code(&v, 0);
    assert_eq!(v["rotation"]["lossless"], true);
    let (bytes, _) = fetch(&s, &s.url("/p/alpha.png"));
    assert!(bytes.starts_with(b"\x89PNG"), "still a PNG");
    let got = decode(&bytes);
    // Three quarter turns clockwise, then left and right swapped: the source's bottom-right
    // corner comes to the top left; the pixel at (x, y) is the source's at (w-1-y, h-1-x).
    let (w, h) = source.dimensions();
    let want = RgbaImage::from_fn(h, w, |x, y| *source.get_pixel(w - 1 - y, h - 1 - x));
    assert_eq!(got.dimensions(), (h, w));
    let differing = got
        .pixels()
        .zip(want.pixels())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(differing, 0, "exact, alpha included");
}

#[test]
fn a_jpeg_with_partial_edge_units_is_encoded_again_keeping_every_pixel() {
    let s = Server::start();
    let file = s.upload_ok("/p/rocket.jpg", ROCKET);
    let v = rotate(&s, &id_of(&file), json!({"degrees": 90}));
    assert_code(&v, 0);
    assert_eq!(v["rotation"]["lossless"], false, "encoded again");
    assert_eq!(sides(&v), (427, 640), "no row or column trimmed");
    let (bytes, _) = fetch(&s, &s.url("/p/rocket.jpg"));
    let want = imageops::rotate90(&decode(&corpus(ROCKET)));
    let diff = mean_abs_diff(&decode(&bytes), &want);
    assert!(diff < 2.0, "quality 95 (mean diff {diff})");
    let icc = |b: &[u8]| b.windows(12).any(|w| w == b"ICC_PROFILE\0");
    assert!(icc(&bytes), "the Adobe RGB profile is carried");
}

#[test]
fn the_exif_orientation_is_applied_before_the_turn() {
    let s = Server::start();
    let upright = decode(&corpus("orientation/landscape_exif_orientation_1.jpg"));
    let small = |img: &RgbaImage| imageops::resize(img, 120, 180, FilterType::Triangle);
    let want = small(&imageops::rotate90(&upright));
    for n in 1..=8 {
        let name = format!("orientation/landscape_exif_orientation_{n}.jpg");
        let path = format!("/o/{n}.jpg");
        let file = s.upload_ok(&path, &name);
        let v = rotate(&s, &id_of(&file), json!({"degrees": 90}));
        assert_code(&v, 0);
        assert_eq!(
            sides(&v),
            (1200, 1800),
            "orientation {n}: displayed 1800x1200, turned"
        );
        let (bytes, _) = fetch(&s, &s.url(&path));
        let orientation = exif::Reader::new()
            .read_from_container(&mut std::io::Cursor::new(&bytes))
            .ok()
            .and_then(|e| {
                e.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
                    .and_then(|f| f.value.get_uint(0))
            });
        assert!(
            matches!(orientation, None | Some(1)),
            "orientation {n}: the tag is reset, not {orientation:?}"
        );
        let got = small(&decode(&bytes));
        let diff = mean_abs_diff(&got, &want);
        assert!(
            diff < 8.0,
            "orientation {n}: shows what orientation 1 shows, turned (mean diff {diff})"
        );
    }
}

#[test]
fn variants_follow_the_rotated_original() {
    let s = Server::start();
    let op = json!({"data": [{"templateOperationId": "resize_max_fit",
        "option": {"width": 100, "height": 100}}]});
    assert_code(&s.put_operation("thumb", op), 0);
    let up = s.upload("/v/photo.jpg", corpus(PHOTO), "operationIds=thumb");
    assert_code(&up, 0);
    let queue = up["file"]["queues"][0]["queueId"]
        .as_str()
        .expect("queue id");
    assert_eq!(s.wait_task(queue)["queue"]["status"], "D");
    let realtime = format!("{}?thumb", s.url("/v/photo.jpg"));
    let stored = s.url("/v/photo_thumb.jpg");
    let (rt1, rt_etag1) = fetch(&s, &realtime);
    let (st1, st_etag1) = fetch(&s, &stored);
    assert_eq!((dims(&rt1), dims(&st1)), ((100, 75), (100, 75)));

    let v = rotate(&s, &id_of(&up["file"]), json!({"degrees": 270}));
    assert_code(&v, 0);

    let (rt2, rt_etag2) = fetch(&s, &realtime);
    assert_ne!(rt_etag2, rt_etag1, "the real-time variant has a new ETag");
    assert_eq!(dims(&rt2), (75, 100), "rendered from the rotated original");
    let want = imageops::rotate270(&decode(&rt1));
    let diff = mean_abs_diff(&decode(&rt2), &want);
    assert!(diff < 8.0, "the thumbnail turned (mean diff {diff})");
    let (st2, st_etag2) = fetch(&s, &stored);
    assert_ne!(st_etag2, st_etag1, "the stored variant is made again");
    assert_eq!(dims(&st2), (75, 100));
}

#[test]
fn every_frame_of_an_animation_turns() {
    let s = Server::start();
    let file = s.upload_ok("/a/cogs.gif", GIF);
    let v = rotate(&s, &id_of(&file), json!({"degrees": 90}));
    assert_code(&v, 0);
    assert_eq!(sides(&v), (77, 85));
    let (bytes, _) = fetch(&s, &s.url("/a/cogs.gif"));
    let frames = |b: &[u8]| {
        image::codecs::gif::GifDecoder::new(std::io::Cursor::new(b.to_vec()))
            .expect("GIF")
            .into_frames()
            .collect_frames()
            .expect("frames")
    };
    let (before, after) = (frames(&corpus(GIF)), frames(&bytes));
    assert_eq!(after.len(), 5, "every frame kept");
    let exact = v["rotation"]["lossless"] == true;
    for (i, (a, b)) in before.iter().zip(&after).enumerate() {
        assert_eq!(a.delay(), b.delay(), "frame {i}: its delay");
        let want = imageops::rotate90(a.buffer());
        let diff = mean_abs_diff(b.buffer(), &want);
        assert!(
            if exact { diff == 0.0 } else { diff < 4.0 },
            "frame {i} turned (mean diff {diff}, lossless {exact})"
        );
    }
}

#[test]
fn refusals_answer_their_codes_and_change_nothing() {
    let s = Server::start();
    let file = s.upload_ok("/r/photo.jpg", PHOTO);
    let id = id_of(&file);
    let url = s.url("/r/photo.jpg");
    let (original, etag) = fetch(&s, &url);

    for body in [
        json!({"degrees": 45}),
        json!({"degrees": 0}),
        json!({"degrees": 360}),
        json!({"flip": "horizontal"}),
        json!({"degrees": 90, "flip": "diagonal"}),
    ] {
        assert_code(&rotate(&s, &id, body), 10001);
    }
    let long = "x".repeat(51);
    assert_code(&rotate(&s, &long, json!({"degrees": 90})), 10001);
    assert_code(
        &rotate(
            &s,
            "9cf11176-045c-4708-8dbd-35633f029a91",
            json!({"degrees": 90}),
        ),
        20001,
    );
    let unauthorised = s.send_json(
        s.http
            .put(s.api(&format!("images/{id}/rotation")))
            .header("Authorization", "wrong")
            .json(&json!({"degrees": 90})),
    );
    assert_code(&unauthorised, 30004);

    let op = json!({"data": [{"templateOperationId": "resize_max_fit",
        "option": {"width": 50, "height": 50}}]});
    assert_code(&s.put_operation("small", op), 0);
    let exec = s.json(
        Method::POST,
        "operations-exec",
        Some(json!({"basepath": "/r", "operationIds": ["small"], "filepaths": ["/r/photo.jpg"]})),
    );
    assert_code(&exec, 0);
    let queue = exec["queues"][0]["queueId"].as_str().expect("queue id");
    assert_eq!(s.wait_task(queue)["queue"]["status"], "D");
    let produced = s.json(Method::GET, "folders?basepath=/r&createdBy=P", None);
    let produced_id = produced["files"][0]["id"].as_str().expect("a P file");
    let v = rotate(&s, produced_id, json!({"degrees": 90}));
    assert_code(&v, 54001);

    let avif = s.upload_ok("/r/photo.avif", AVIF);
    assert_code(&rotate(&s, &id_of(&avif), json!({"degrees": 90})), 54002);

    assert_eq!(
        fetch(&s, &url),
        (original, etag),
        "the original is untouched"
    );
}

#[test]
fn a_corrupt_original_is_refused_and_stays_as_it_was() {
    let s = Server::start();
    for (path, name) in [
        (
            "/c/truncated.jpg",
            "malformed/truncated_jpeg_first10000bytes.jpg",
        ),
        (
            "/c/damaged.jpg",
            "malformed/corrupt_huffman_data_640x480.jpg",
        ),
        (
            "/c/truncated.png",
            "malformed/truncated_png_first10000bytes.png",
        ),
    ] {
        let file = s.upload_ok(path, name);
        let url = s.url(path);
        let before = fetch(&s, &url);
        let v = rotate(&s, &id_of(&file), json!({"degrees": 180}));
        assert_code(&v, 10002);
        assert_eq!(fetch(&s, &url), before, "{name}: the original is untouched");
        let listed = s.json(Method::GET, "folders?basepath=/c", None);
        let entry = listed["files"]
            .as_array()
            .expect("files")
            .iter()
            .find(|f| f["path"] == path)
            .expect("still listed")
            .clone();
        assert_eq!(entry["bytes"], file["bytes"], "{name}");
        assert_eq!(entry["updatedAt"], file["updatedAt"], "{name}");
    }
}

#[test]
fn a_file_over_the_single_upload_limit_is_refused_and_kept() {
    let s = Server::start_with(&[
        ("PICTOR_LIMITS_MAX_UPLOAD_BYTES", "1048576"),
        ("PICTOR_STORAGE_MULTIPART_PART_BYTES", "5242880"),
    ]);
    let big = corpus("photos/photo_12mp_olympus-ep3_4032x3024.jpg");
    assert!(big.len() > 1_048_576);
    let url = s.tus_create(big.len() as u64, &[("path", "/big.jpg")]);
    let stored = s.tus_patch(&url, 0, big.clone());
    assert_eq!(stored.status(), 204, "a resumable upload may store it");
    let id = common::header(&stored, "pictor-file-id").expect("the stored file's id");
    let (_, before) = fetch(&s, &s.url("/big.jpg"));
    assert_code(&rotate(&s, &id, json!({"degrees": 90})), 11004);
    let (bytes, after) = fetch(&s, &s.url("/big.jpg"));
    assert_eq!((bytes, after), (big, before), "the file is as it was");
}
