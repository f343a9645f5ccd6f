//! Upload API: single PUT uploads, multipart uploads, zip archives, conflicts and limits.

mod common;

use common::{assert_code, corpus, Server};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Write;

const GPS_PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

#[test]
fn put_records_header_facts_and_serves_the_bytes() {
    let s = Server::start_with(&[("PICTOR_SERVER_PUBLIC_URL", "http://img.example.test/")]);
    let bytes = corpus(GPS_PHOTO);
    let v = s.upload("/photos/gps.jpg", bytes.clone(), "");
    assert_code(&v, 0);
    let f = &v["file"];
    assert_eq!(f["name"], "gps.jpg");
    assert_eq!(f["path"], "/photos/gps.jpg");
    assert_eq!(f["bytes"], bytes.len());
    assert_eq!(f["createdBy"], "U");
    assert_eq!(
        f["url"],
        format!("http://img.example.test/{}/photos/gps.jpg", s.app.container)
    );
    let p = &f["imageProperty"];
    assert_eq!(
        (p["width"].as_u64(), p["height"].as_u64()),
        (Some(640), Some(480))
    );
    assert!(p["createdAt"]
        .as_str()
        .expect("date")
        .starts_with("2008-10-22T16:28:39"));
    let lat = p["coordinate"]["lat"].as_f64().expect("lat");
    let lng = p["coordinate"]["lng"].as_f64().expect("lng");
    assert!(
        (lat - 43.4674).abs() < 0.001 && (lng - 11.8851).abs() < 0.001,
        "{lat},{lng}"
    );
    let served = s.get(&s.url("/photos/gps.jpg")).bytes().expect("body");
    assert_eq!(served.as_ref(), bytes.as_slice());

    let korean = s.upload("/사진/한글.png", corpus("malformed/png_data_named.jpg"), "");
    assert_code(&korean, 0);
    let url = korean["file"]["url"].as_str().expect("url");
    assert!(
        url.ends_with("/%EC%82%AC%EC%A7%84/%ED%95%9C%EA%B8%80.png"),
        "{url}"
    );
}

#[test]
fn conflicts_overwrite_and_autorename() {
    let s = Server::start();
    let gif = corpus("edge/tiny_10x10.gif");
    let bmp = corpus("formats/bmp_24bit_bird_192x144.bmp");
    let first = s.upload("/c1/pic.gif", gif.clone(), "");
    assert_code(&first, 0);
    assert_code(&s.upload("/c1/pic.gif", bmp.clone(), ""), 20010);
    assert_code(
        &s.upload("/c1/pic.gif", bmp.clone(), "overwrite=false"),
        20010,
    );
    let renamed = s.upload("/c1/pic.gif", bmp.clone(), "autorename=true");
    assert_eq!(renamed["file"]["name"], "pic(1).gif");
    let renamed2 = s.upload("/c1/pic.gif", bmp.clone(), "autorename=TRUE");
    assert_eq!(renamed2["file"]["name"], "pic(2).gif");
    let over = s.upload("/c1/pic.gif", bmp.clone(), "overwrite=true");
    assert_code(&over, 0);
    assert_eq!(
        over["file"]["id"], first["file"]["id"],
        "overwrite keeps the id"
    );
    assert_eq!(over["file"]["imageProperty"]["width"], 192);
    assert_eq!(
        s.get(&s.url("/c1/pic.gif")).bytes().expect("body").as_ref(),
        bmp.as_slice()
    );
    assert_code(&s.upload("/c1/pic.gif", bmp, "overwrite=maybe"), 10001);
}

#[test]
fn bad_files_and_limits_store_nothing() {
    let s = Server::start_with(&[("PICTOR_LIMITS_MAX_UPLOAD_BYTES", "100000")]);
    let cases = [
        ("malformed/zero_bytes.jpg", 10002),
        ("malformed/text_file_named.jpg", 10002),
        ("photos/photo_small_nikon-p6000_gps_640x480.jpg", 11004),
    ];
    for (file, code) in cases {
        assert_code(&s.upload("/bad/file.jpg", corpus(file), ""), code);
    }
    let list = s.json(Method::GET, "folders?basepath=/", None);
    assert_eq!(list["paging"]["totalFileCount"], 0);
    assert_eq!(
        list["paging"]["totalFolderCount"], 0,
        "a refused upload creates no folder"
    );
    assert_eq!(s.get(&s.url("/bad/file.jpg")).status(), 404);
    for (path, code) in [
        ("/x", 11002),
        ("/ok/../../etc/passwd", 11050),
        ("/ok\\evil.jpg", 11050),
        ("/ok//a.jpg", 11060),
        ("/ok/a\u{0}b.jpg", 11050),
    ] {
        assert_code(&s.upload(path, corpus("edge/tiny_10x10.gif"), ""), code);
    }
    let missing: Value = s
        .call(Method::PUT, "images")
        .body(corpus("edge/tiny_10x10.gif"))
        .send()
        .expect("put")
        .json()
        .expect("json");
    assert_code(&missing, 10001);
}

#[test]
fn multipart_uploads_report_each_file() {
    let s = Server::start();
    let form = Form::new()
        .text(
            "params",
            json!({"basepath": "/banner", "overwrite": "true"}).to_string(),
        )
        .part(
            "files",
            Part::bytes(corpus("edge/tiny_10x10.gif")).file_name("left.gif"),
        )
        .part(
            "files",
            Part::bytes(corpus("formats/bmp_24bit_bird_192x144.bmp")).file_name("right.bmp"),
        );
    let v: Value = s
        .call(Method::POST, "images")
        .multipart(form)
        .send()
        .expect("post")
        .json()
        .expect("json");
    assert_code(&v, 0);
    assert_eq!(v["errors"], json!([]));
    let names: Vec<&str> = v["successes"]
        .as_array()
        .expect("successes")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["left.gif", "right.bmp"]);

    let all_bad = Form::new()
        .text("params", json!({"basepath": "/banner"}).to_string())
        .part(
            "files",
            Part::bytes(corpus("edge/tiny_10x10.gif")).file_name("left.gif"),
        )
        .part(
            "files",
            Part::bytes(b"plain text".to_vec()).file_name("notes.jpg"),
        );
    let v: Value = s
        .call(Method::POST, "images")
        .multipart(all_bad)
        .send()
        .expect("post")
        .json()
        .expect("json");
    assert_code(&v, 2);
    assert_eq!(v["header"]["resultMessage"], "Fail");
    let errors = v["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["path"], "/banner/left.gif");
    assert_eq!(errors[0]["error"]["resultCode"], 20010);
    assert_eq!(errors[1]["error"]["resultCode"], 10002);
    assert_eq!(errors[1]["bytes"], 10);

    let no_params = Form::new().part(
        "files",
        Part::bytes(corpus("edge/tiny_10x10.gif")).file_name("x1.gif"),
    );
    let v: Value = s
        .call(Method::POST, "images")
        .multipart(no_params)
        .send()
        .expect("post")
        .json()
        .expect("json");
    assert_code(&v, 10001);
}

#[test]
fn hand_written_multipart_without_optional_spaces() {
    let s = Server::start();
    let gif = corpus("edge/tiny_10x10.gif");
    let mut body = Vec::new();
    body.extend_from_slice(b"--XyZ\r\nContent-Disposition:form-data;name=\"params\"\r\n\r\n");
    body.extend_from_slice(br#"{"basepath":"/raw","autorename":"true"}"#);
    body.extend_from_slice(
        b"\r\n--XyZ\r\nContent-Disposition:form-data;name=\"files\";filename=\"tiny.gif\"\r\n\r\n",
    );
    body.extend_from_slice(&gif);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    for expected in ["tiny.gif", "tiny(1).gif"] {
        let v: Value = s
            .call(Method::POST, "images")
            .header("Content-Type", "multipart/form-data; boundary=XyZ")
            .body(body.clone())
            .send()
            .expect("post")
            .json()
            .expect("json");
        assert_code(&v, 0);
        assert_eq!(v["successes"][0]["name"], expected);
    }
}

#[test]
fn zip_archives_unpack_into_the_base_path() {
    let s = Server::start();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    zip.start_file("top.gif", opts).expect("entry");
    zip.write_all(&corpus("edge/tiny_10x10.gif"))
        .expect("write");
    zip.start_file("nested/bird.bmp", opts).expect("entry");
    zip.write_all(&corpus("formats/bmp_24bit_bird_192x144.bmp"))
        .expect("write");
    zip.start_file("x/short.gif", opts).expect("entry");
    zip.write_all(&corpus("edge/tiny_10x10.gif"))
        .expect("write");
    zip.start_file("nested/readme.txt", opts).expect("entry");
    zip.write_all(b"not an image").expect("write");
    let archive = zip.finish().expect("zip").into_inner();
    let form = Form::new()
        .text("params", json!({"basepath": "/zipped"}).to_string())
        .part("files", Part::bytes(archive).file_name("bundle.zip"));
    let v: Value = s
        .call(Method::POST, "images")
        .multipart(form)
        .send()
        .expect("post")
        .json()
        .expect("json");
    assert_code(&v, 1);
    let ok: Vec<&str> = v["successes"]
        .as_array()
        .expect("ok")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(ok, ["/zipped/top.gif", "/zipped/nested/bird.bmp"]);
    let codes: Vec<i64> = v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["error"]["resultCode"].as_i64())
        .collect();
    assert_eq!(
        codes,
        [11002, 10002],
        "a one-letter folder, then a text file"
    );
    assert_eq!(s.get(&s.url("/zipped/nested/bird.bmp")).status(), 200);
}
