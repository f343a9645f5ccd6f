//! Single uploads (`PUT /images`): the file object, header facts (dimensions, EXIF date, GPS),
//! conflicts, overwrite, autorename, boolean spellings, refused bodies and the size limit.

mod common;

use common::{
    assert_code, assert_date, assert_result, assert_result_for, assert_uuid, corpus, encode_path,
    manifest, manifest_dims, names, Server,
};
use reqwest::Method;
use serde_json::{json, Value};

const GPS_PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";
const GIF: &str = "edge/tiny_10x10.gif";
const BMP: &str = "formats/bmp_24bit_bird_192x144.bmp";

fn served(s: &Server, path: &str) -> Vec<u8> {
    let resp = s.get(&s.url_of(path));
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.bytes().expect("body").to_vec()
}

#[test]
fn put_answers_the_file_object() {
    let s = Server::start();
    let bytes = corpus(GPS_PHOTO);
    let v = s.upload("/photos/gps.jpg", bytes.clone(), "");
    assert_result(&v, 0);
    let f = &v["file"];
    assert_eq!(f["isFolder"], false);
    assert_uuid(&f["id"]);
    assert_eq!(f["name"], "gps.jpg");
    assert_eq!(f["path"], "/photos/gps.jpg");
    assert_eq!(f["bytes"], bytes.len());
    assert_eq!(f["createdBy"], "U");
    assert_eq!(f["operationId"], "");
    assert_eq!(f["queues"], json!([]));
    assert_date(&f["updatedAt"]);
    assert_eq!(
        f["url"],
        format!("{}/{}/photos/gps.jpg", s.base, s.app.container)
    );
    assert_eq!(served(&s, "/photos/gps.jpg"), bytes);

    // The parent was created and the file is listed with the same object.
    let list = s.json(Method::GET, "folders?basepath=/photos", None);
    assert_result(&list, 0);
    assert_eq!(list["files"][0]["id"], f["id"]);
    assert_eq!(list["files"][0]["imageProperty"], f["imageProperty"]);
    let root = s.json(Method::GET, "folders?basepath=/", None);
    assert_eq!(names(&root, "folders"), ["photos"]);
}

#[test]
fn exif_date_and_gps_coordinates() {
    let s = Server::start();
    let f = s.upload_ok("/exif/gps.jpg", GPS_PHOTO);
    let p = &f["imageProperty"];
    assert_eq!(
        (p["width"].as_u64(), p["height"].as_u64()),
        (Some(640), Some(480))
    );
    assert_date(&p["createdAt"]);
    assert!(
        p["createdAt"]
            .as_str()
            .expect("date")
            .starts_with("2008-10-22T16:28:39"),
        "DateTimeOriginal: {p}"
    );
    let lat = p["coordinate"]["lat"].as_f64().expect("lat is a number");
    let lng = p["coordinate"]["lng"].as_f64().expect("lng is a number");
    assert!((lat - 43.467_448).abs() < 0.000_1, "lat {lat}");
    assert!((lng - 11.885_127).abs() < 0.000_1, "lng {lng}");

    // West longitude is negative.
    let f = s.upload_ok(
        "/exif/iphone.jpg",
        "orientation/camera_iphone5_orientation_3_3264x2448.jpg",
    );
    let p = &f["imageProperty"];
    assert!(p["createdAt"]
        .as_str()
        .expect("date")
        .starts_with("2012-09-29T16:11:25"));
    let lat = p["coordinate"]["lat"].as_f64().expect("lat");
    let lng = p["coordinate"]["lng"].as_f64().expect("lng");
    assert!((lat - 47.627_167).abs() < 0.000_1, "lat {lat}");
    assert!((lng + 122.337_333).abs() < 0.000_1, "lng {lng}");

    for (file, date) in [
        (
            "orientation/camera_canon-a85_orientation_8_stored-portrait_1704x2272.jpg",
            "2005-01-31T05:51:17",
        ),
        (
            "orientation/camera_samsung-j327t1_orientation_6_2576x1932.jpg",
            "2019-09-26T16:38:00",
        ),
        (
            "photos/photo_portrait_canon-ixus40_1704x2272.jpg",
            "2008-08-21T14:53:03",
        ),
    ] {
        let f = s.upload_ok(&format!("/exif/{}", file.replace('/', "_")), file);
        let p = &f["imageProperty"];
        assert_date(&p["createdAt"]);
        assert!(
            p["createdAt"].as_str().expect("date").starts_with(date),
            "{file}: {p}"
        );
        assert_eq!(p["coordinate"]["lat"], Value::Null, "{file} has no GPS");
        assert_eq!(p["coordinate"]["lng"], Value::Null, "{file} has no GPS");
        let (w, h) = manifest_dims(file);
        assert_eq!(
            (p["width"].as_u64(), p["height"].as_u64()),
            (Some(w), Some(h)),
            "{file}: stored dimensions, not oriented"
        );
    }

    // No EXIF: no coordinate.
    let f = s.upload_ok("/exif/plain.png", "formats/png_palette_8bit_290x442.png");
    assert_eq!(f["imageProperty"]["coordinate"]["lat"], Value::Null);
    assert_eq!(f["imageProperty"]["coordinate"]["lng"], Value::Null);
}

#[test]
fn dimensions_from_the_header_match_the_manifest() {
    let s = Server::start();
    let mut checked = 0;
    for entry in manifest() {
        let Some((w, h)) = entry.dims else { continue };
        if entry.path.starts_with("malformed/")
            || entry.path.ends_with(".avif")
            || entry.bytes > 1_000_000
        {
            continue;
        }
        let bytes = corpus(&entry.path);
        assert_eq!(bytes.len() as u64, entry.bytes, "{}", entry.path);
        let path = format!("/dims/{}", entry.path);
        let v = s.upload(&path, bytes, "");
        assert_result_for(&v, 0, &path);
        let p = &v["file"]["imageProperty"];
        assert_eq!(
            (p["width"].as_u64(), p["height"].as_u64()),
            (Some(w), Some(h)),
            "{}",
            entry.path
        );
        assert_eq!(v["file"]["bytes"], entry.bytes, "{}", entry.path);
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} corpus images checked");
}

#[test]
fn same_name_conflicts_overwrite_and_autorename() {
    let s = Server::start();
    let gif = corpus(GIF);
    let bmp = corpus(BMP);
    let first = s.upload("/c1/pic.gif", gif.clone(), "");
    assert_result(&first, 0);
    assert_result(&s.upload("/c1/pic.gif", bmp.clone(), ""), 20010);
    assert_result(
        &s.upload("/c1/pic.gif", bmp.clone(), "overwrite=false"),
        20010,
    );
    assert_result(
        &s.upload("/c1/pic.gif", bmp.clone(), "autorename=false"),
        20010,
    );
    assert_result(
        &s.upload(
            "/c1/pic.gif",
            bmp.clone(),
            "overwrite=false&autorename=false",
        ),
        20010,
    );
    assert_eq!(
        served(&s, "/c1/pic.gif"),
        gif,
        "a refused upload keeps the old bytes"
    );

    let r1 = s.upload("/c1/pic.gif", bmp.clone(), "autorename=true");
    assert_result(&r1, 0);
    assert_eq!(r1["file"]["name"], "pic(1).gif");
    assert_eq!(r1["file"]["path"], "/c1/pic(1).gif");
    assert_eq!(r1["file"]["imageProperty"]["width"], 192);
    let r2 = s.upload("/c1/pic.gif", gif.clone(), "autorename=true");
    assert_eq!(r2["file"]["name"], "pic(2).gif");
    assert_ne!(r1["file"]["id"], r2["file"]["id"]);
    assert_eq!(served(&s, "/c1/pic(1).gif"), bmp);
    assert_eq!(served(&s, "/c1/pic(2).gif"), gif);
    assert_eq!(served(&s, "/c1/pic.gif"), gif);
    let list = s.json(Method::GET, "folders?basepath=/c1", None);
    assert_eq!(list["paging"]["totalFileCount"], 3);

    let over = s.upload("/c1/pic.gif", bmp.clone(), "overwrite=true");
    assert_result(&over, 0);
    assert_eq!(over["file"]["name"], "pic.gif");
    assert_eq!(over["file"]["bytes"], bmp.len());
    assert_eq!(over["file"]["imageProperty"]["width"], 192);
    assert_eq!(over["file"]["imageProperty"]["height"], 144);
    assert_eq!(
        served(&s, "/c1/pic.gif"),
        bmp,
        "overwrite replaces the bytes"
    );
    let list = s.json(Method::GET, "folders?basepath=/c1", None);
    assert_eq!(
        list["paging"]["totalFileCount"], 3,
        "overwrite adds no file"
    );
    let props = s.json(Method::GET, "properties?path=/c1", None);
    assert_eq!(props["folder"]["bytes"], (2 * bmp.len() + gif.len()) as u64);
}

#[test]
fn autorename_without_a_conflict_keeps_the_name() {
    let s = Server::start();
    let v = s.upload("/ar/fresh.gif", corpus(GIF), "autorename=true");
    assert_result(&v, 0);
    assert_eq!(v["file"]["name"], "fresh.gif");
    let v = s.upload("/ar/fresh2.gif", corpus(GIF), "overwrite=true");
    assert_result(&v, 0);
    assert_eq!(v["file"]["name"], "fresh2.gif");
}

#[test]
fn invalid_boolean_is_refused() {
    let s = Server::start();
    assert_result(
        &s.upload("/bool/a1.gif", corpus(GIF), "overwrite=maybe"),
        10001,
    );
    assert_result(
        &s.upload("/bool/a1.gif", corpus(GIF), "autorename=2"),
        10001,
    );
    assert_eq!(s.get(&s.url("/bool/a1.gif")).status(), 404);
}

#[test]
fn empty_text_and_non_images_are_refused_and_store_nothing() {
    let s = Server::start();
    for (name, body) in [
        ("empty.jpg", corpus("malformed/zero_bytes.jpg")),
        ("text.jpg", corpus("malformed/text_file_named.jpg")),
        (
            "notes.png",
            b"just some words, not an image at all".to_vec(),
        ),
        ("json.gif", br#"{"not": "an image"}"#.to_vec()),
        ("zeros.bmp", vec![0u8; 4096]),
    ] {
        let path = format!("/bad/{name}");
        let v = s.upload(&path, body, "");
        assert_result_for(&v, 10002, &path);
        assert_eq!(s.get(&s.url(&path)).status(), 404, "{path}");
    }
    let root = s.json(Method::GET, "folders?basepath=/", None);
    assert_eq!(root["paging"]["totalFileCount"], 0);
    assert_eq!(
        root["paging"]["totalFolderCount"], 0,
        "a refused upload creates no folder: {root}"
    );
}

#[test]
fn malformed_corpus_files_never_break_the_server() {
    let s = Server::start();
    for entry in manifest() {
        if !entry.path.starts_with("malformed/") {
            continue;
        }
        let name = entry.path.trim_start_matches("malformed/");
        let v = s.upload(&format!("/mal/{name}"), corpus(&entry.path), "");
        let code = v["header"]["resultCode"].as_i64().expect("code");
        assert!(
            code == 0 || code == 10002,
            "{}: a typed answer, got {v}",
            entry.path
        );
        if code == 0 {
            assert_eq!(v["file"]["bytes"], entry.bytes);
        }
        let health = s.get(&format!("{}/healthz", s.base));
        assert_eq!(health.status(), 200, "healthy after {}", entry.path);
    }
    // A PNG named .jpg is an image: accepted with its real dimensions.
    let v = s.upload(
        "/mal2/png_named.jpg",
        corpus("malformed/png_data_named.jpg"),
        "",
    );
    assert_result(&v, 0);
    assert_eq!(v["file"]["imageProperty"]["width"], 451);
    assert_eq!(v["file"]["imageProperty"]["height"], 300);
}

#[test]
fn upload_over_the_limit_is_11004_and_stores_nothing() {
    let s = Server::start_with(&[("PICTOR_LIMITS_MAX_UPLOAD_BYTES", "100000")]);
    let big = corpus(GPS_PHOTO);
    assert!(big.len() > 100_000);
    let v = s.upload("/limit/big.jpg", big.clone(), "");
    assert_result(&v, 11004);
    assert_eq!(s.get(&s.url("/limit/big.jpg")).status(), 404);
    let root = s.json(Method::GET, "folders?basepath=/", None);
    assert_eq!(root["paging"]["totalFolderCount"], 0);
    // Exactly at the limit is accepted.
    let mut exact = corpus(BMP);
    exact.resize(100_000, 0);
    let v = s.upload("/limit/exact.bmp", exact.clone(), "");
    assert_result(&v, 0);
    assert_eq!(v["file"]["bytes"], 100_000);
    // Overwriting with a too-large body keeps the old file.
    assert_result(&s.upload("/limit/exact.bmp", big, "overwrite=true"), 11004);
    assert_eq!(served(&s, "/limit/exact.bmp"), exact);
}

#[test]
fn missing_path_is_10001() {
    let s = Server::start();
    let v = s.send_json(s.call(Method::PUT, "images").body(corpus(GIF)));
    assert_result(&v, 10001);
    let v = s.send_json(s.call(Method::PUT, "images?path=").body(corpus(GIF)));
    assert_code(&v, 10001);
}

#[test]
fn non_ascii_and_reserved_characters_round_trip() {
    let s = Server::start();
    let gif = corpus(GIF);
    for path in [
        "/사진/한글.gif",
        "/with space/a b.gif",
        "/sym/a+b&c=d.gif",
        "/sym/percent%41.gif",
        "/sym/hash#tag.gif",
    ] {
        let v = s.upload(path, gif.clone(), "");
        assert_result_for(&v, 0, path);
        let name = path.rsplit('/').next().expect("name");
        assert_eq!(v["file"]["name"], name, "{path}");
        assert_eq!(v["file"]["path"], path);
        let url = v["file"]["url"].as_str().expect("url");
        let prefix = format!("{}/{}/", s.base, s.app.container);
        assert!(url.starts_with(&prefix), "{url}");
        let resp = s.get(url);
        assert_eq!(resp.status(), 200, "{url}");
        assert_eq!(
            resp.bytes().expect("body").as_ref(),
            gif.as_slice(),
            "{url}"
        );
        assert!(!url.contains(' ') && !url.contains('#'), "{url} is encoded");
        assert!(url.is_ascii(), "{url} is percent-encoded");
        if path.contains('%') {
            assert!(url.contains("%25"), "{url} encodes the percent sign");
        }
    }
    let korean = s.json(
        Method::GET,
        &format!("folders?basepath={}", encode_path("/사진")),
        None,
    );
    assert_eq!(names(&korean, "files"), ["한글.gif"]);
    assert_eq!(
        korean["files"][0]["url"],
        format!(
            "{}/{}/%EC%82%AC%EC%A7%84/%ED%95%9C%EA%B8%80.gif",
            s.base, s.app.container
        )
    );
}

/// Sends a PUT upload by hand, `sent` bytes of a body announced as `announced` bytes, then
/// closes the connection.
fn interrupted_put(s: &Server, path: &str, body: &[u8], announced: usize, extra: &str) {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(s.addr()).expect("connect");
    let head = format!(
        "PUT /image/v2.0/appkeys/{}/images?path={path}{extra} HTTP/1.1\r\nHost: {}\r\n\
         Authorization: {}\r\nContent-Length: {announced}\r\n\r\n",
        s.app.app_key,
        s.addr(),
        s.app.secret_key
    );
    stream.write_all(head.as_bytes()).expect("head");
    stream.write_all(body).expect("partial body");
    stream.flush().expect("flush");
    std::thread::sleep(std::time::Duration::from_millis(200));
    drop(stream);
    std::thread::sleep(std::time::Duration::from_millis(500));
}

#[test]
fn an_interrupted_upload_leaves_nothing_visible() {
    let s = Server::start();
    let photo = corpus(GPS_PHOTO);
    interrupted_put(
        &s,
        "/cut/photo.jpg",
        &photo[..photo.len() / 2],
        photo.len(),
        "",
    );
    assert_eq!(s.get(&s.url("/cut/photo.jpg")).status(), 404);
    let root = s.json(Method::GET, "folders?basepath=/", None);
    assert_eq!(root["paging"]["totalFileCount"], 0);
    let cut = s.json(Method::GET, "folders?basepath=/cut", None);
    if cut["header"]["resultCode"] == 0 {
        assert_eq!(cut["paging"]["totalFileCount"], 0, "{cut}");
    }

    // An interrupted overwrite keeps the old file whole.
    let gif = corpus(GIF);
    assert_result(&s.upload("/cut/keep.gif", gif.clone(), ""), 0);
    interrupted_put(
        &s,
        "/cut/keep.gif",
        &photo[..photo.len() / 2],
        photo.len(),
        "&overwrite=true",
    );
    assert_eq!(served(&s, "/cut/keep.gif"), gif);
    let list = s.json(Method::GET, "folders?basepath=/cut", None);
    assert_eq!(list["paging"]["totalFileCount"], 1);
    assert_eq!(list["files"][0]["bytes"], gif.len());
    // The name can still be used.
    assert_result(&s.upload("/cut/photo.jpg", photo.clone(), ""), 0);
    assert_eq!(served(&s, "/cut/photo.jpg"), photo);
}

#[test]
fn an_announced_oversized_body_is_refused_before_it_is_read() {
    use std::io::{Read, Write};
    let s = Server::start_with(&[("PICTOR_LIMITS_MAX_UPLOAD_BYTES", "100000")]);
    let mut stream = std::net::TcpStream::connect(s.addr()).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let head = format!(
        "PUT /image/v2.0/appkeys/{}/images?path=/huge/x1.jpg HTTP/1.1\r\nHost: {}\r\n\
         Authorization: {}\r\nContent-Length: 10000000000\r\nConnection: close\r\n\r\n",
        s.app.app_key,
        s.addr(),
        s.app.secret_key
    );
    stream.write_all(head.as_bytes()).expect("head");
    stream
        .write_all(&corpus(GPS_PHOTO)[..1000])
        .expect("a little body");
    // No more body is sent: the answer must come anyway.
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let start = std::time::Instant::now();
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.ends_with(b"}") || answer.ends_with(b"}\n") {
                    break;
                }
            }
            Err(e) => panic!(
                "no answer within {:?} to an oversized upload ({e}); got {:?}",
                start.elapsed(),
                String::from_utf8_lossy(&answer)
            ),
        }
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("\"resultCode\":11004"), "{text}");
    assert_eq!(s.get(&s.url("/huge/x1.jpg")).status(), 404);
}
