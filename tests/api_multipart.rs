//! Multipart uploads (`POST /images`): per-file successes and errors, result codes 0/1/2,
//! boolean spellings in `params`, hand-written multipart bodies, and zip archives.

mod common;

use common::{assert_date, assert_result, assert_uuid, corpus, message_of, names, Server};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Write;

const GIF: &str = "edge/tiny_10x10.gif";
const BMP: &str = "formats/bmp_24bit_bird_192x144.bmp";
const PNG: &str = "edge/one_pixel_1x1.png";

fn form(params: Value, files: &[(&str, Vec<u8>)]) -> Form {
    let mut f = Form::new().text("params", params.to_string());
    for (name, bytes) in files {
        f = f.part(
            "files",
            Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    f
}

fn paths(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("`{key}` array in {v}"))
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_owned())
        .collect()
}

fn error_codes(v: &Value) -> Vec<i64> {
    v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["error"]["resultCode"].as_i64().expect("error code"))
        .collect()
}

fn served(s: &Server, path: &str) -> Vec<u8> {
    let resp = s.get(&s.url(path));
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.bytes().expect("body").to_vec()
}

#[test]
fn several_files_all_succeed() {
    let s = Server::start();
    let v = s.multipart(form(
        json!({"basepath": "/myfolder/banner", "overwrite": true}),
        &[("left.gif", corpus(GIF)), ("right.bmp", corpus(BMP))],
    ));
    assert_result(&v, 0);
    assert_eq!(v["errors"], json!([]));
    assert_eq!(names(&v, "successes"), ["left.gif", "right.bmp"]);
    assert_eq!(
        paths(&v, "successes"),
        ["/myfolder/banner/left.gif", "/myfolder/banner/right.bmp"]
    );
    let right = &v["successes"][1];
    assert_eq!(right["isFolder"], false);
    assert_uuid(&right["id"]);
    assert_eq!(right["bytes"], corpus(BMP).len());
    assert_eq!(right["createdBy"], "U");
    assert_date(&right["updatedAt"]);
    assert_eq!(right["imageProperty"]["width"], 192);
    assert_eq!(right["imageProperty"]["height"], 144);
    assert_eq!(
        right["url"],
        format!("{}/{}/myfolder/banner/right.bmp", s.base, s.app.container)
    );
    assert_eq!(served(&s, "/myfolder/banner/left.gif"), corpus(GIF));
    assert_eq!(served(&s, "/myfolder/banner/right.bmp"), corpus(BMP));
    let list = s.json(Method::GET, "folders?basepath=/myfolder/banner", None);
    assert_eq!(list["paging"]["totalFileCount"], 2);
}

#[test]
fn booleans_as_json_booleans_and_strings() {
    let s = Server::start();
    assert_result(
        &s.multipart(form(
            json!({"basepath": "/b1"}),
            &[("pic.gif", corpus(GIF))],
        )),
        0,
    );
    // No overwrite: the file is reported as an error, all failed.
    for params in [
        json!({"basepath": "/b1"}),
        json!({"basepath": "/b1", "overwrite": false}),
        json!({"basepath": "/b1", "overwrite": "false"}),
        json!({"basepath": "/b1", "autorename": "false"}),
    ] {
        let v = s.multipart(form(params.clone(), &[("pic.gif", corpus(BMP))]));
        assert_result(&v, 2);
        assert_eq!(error_codes(&v), [20010], "{params}");
    }
    assert_eq!(served(&s, "/b1/pic.gif"), corpus(GIF));

    let v = s.multipart(form(
        json!({"basepath": "/b1", "overwrite": "true"}),
        &[("pic.gif", corpus(BMP))],
    ));
    assert_result(&v, 0);
    assert_eq!(
        served(&s, "/b1/pic.gif"),
        corpus(BMP),
        "overwrite as a string"
    );
    let v = s.multipart(form(
        json!({"basepath": "/b1", "overwrite": true}),
        &[("pic.gif", corpus(PNG))],
    ));
    assert_result(&v, 0);
    assert_eq!(
        served(&s, "/b1/pic.gif"),
        corpus(PNG),
        "overwrite as a boolean"
    );

    let v = s.multipart(form(
        json!({"basepath": "/b1", "autorename": true}),
        &[("pic.gif", corpus(GIF))],
    ));
    assert_result(&v, 0);
    assert_eq!(names(&v, "successes"), ["pic(1).gif"]);
    let v = s.multipart(form(
        json!({"basepath": "/b1", "autorename": "true"}),
        &[("pic.gif", corpus(GIF))],
    ));
    assert_result(&v, 0);
    assert_eq!(names(&v, "successes"), ["pic(2).gif"]);
}

#[test]
fn partial_success_and_all_failed() {
    let s = Server::start();
    assert_result(
        &s.multipart(form(
            json!({"basepath": "/p1"}),
            &[("taken.gif", corpus(GIF))],
        )),
        0,
    );
    let text = b"plain text, not an image".to_vec();
    let v = s.multipart(form(
        json!({"basepath": "/p1"}),
        &[
            ("good.gif", corpus(GIF)),
            ("notes.jpg", text.clone()),
            ("taken.gif", corpus(BMP)),
        ],
    ));
    assert_result(&v, 1);
    assert_eq!(v["header"]["isSuccessful"], false);
    assert_eq!(names(&v, "successes"), ["good.gif"]);
    let errors = v["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 2, "{v}");
    assert_eq!(errors[0]["path"], "/p1/notes.jpg");
    assert_eq!(errors[0]["bytes"], text.len());
    assert_eq!(errors[0]["error"]["resultCode"], 10002);
    assert_eq!(errors[0]["error"]["resultMessage"], message_of(10002));
    assert_eq!(errors[1]["path"], "/p1/taken.gif");
    assert_eq!(errors[1]["bytes"], corpus(BMP).len());
    assert_eq!(errors[1]["error"]["resultCode"], 20010);
    assert_eq!(errors[1]["error"]["resultMessage"], message_of(20010));
    assert_eq!(s.get(&s.url("/p1/notes.jpg")).status(), 404);
    assert_eq!(served(&s, "/p1/taken.gif"), corpus(GIF));

    let v = s.multipart(form(
        json!({"basepath": "/p1"}),
        &[("empty.png", Vec::new()), ("again.jpg", text)],
    ));
    assert_result(&v, 2);
    assert_eq!(v["successes"], json!([]));
    assert_eq!(error_codes(&v), [10002, 10002]);
    assert_eq!(v["errors"][0]["bytes"], 0);
}

#[test]
fn a_file_over_the_limit_is_an_error_entry() {
    let s = Server::start_with(&[("PICTOR_LIMITS_MAX_UPLOAD_BYTES", "1000")]);
    let v = s.multipart(form(
        json!({"basepath": "/lim"}),
        &[("small.gif", corpus(GIF)), ("big.bmp", corpus(BMP))],
    ));
    assert_result(&v, 1);
    assert_eq!(names(&v, "successes"), ["small.gif"]);
    assert_eq!(error_codes(&v), [11004]);
    assert_eq!(v["errors"][0]["path"], "/lim/big.bmp");
    assert_eq!(s.get(&s.url("/lim/big.bmp")).status(), 404);
}

#[test]
fn missing_or_invalid_params_and_no_files() {
    let s = Server::start();
    let no_params = Form::new().part(
        "files",
        Part::bytes(corpus(GIF)).file_name("x1.gif".to_owned()),
    );
    assert_result(&s.multipart(no_params), 10001);
    let not_json = Form::new().text("params", "basepath=/x1").part(
        "files",
        Part::bytes(corpus(GIF)).file_name("x1.gif".to_owned()),
    );
    assert_result(&s.multipart(not_json), 10001);
    assert_result(
        &s.multipart(form(json!({"overwrite": true}), &[("x1.gif", corpus(GIF))])),
        10001,
    );
    assert_result(
        &s.multipart(form(
            json!({"basepath": "/x1", "overwrite": "sometimes"}),
            &[("x1.gif", corpus(GIF))],
        )),
        10001,
    );
    assert_result(&s.multipart(form(json!({"basepath": "/x1"}), &[])), 10002);
    let root = s.json(Method::GET, "folders?basepath=/", None);
    assert_eq!(root["paging"]["totalFileCount"], 0);
    assert_eq!(s.get(&s.url("/x1/x1.gif")).status(), 404);
}

#[test]
fn hand_written_multipart_without_optional_spaces_or_part_types() {
    let s = Server::start();
    let gif = corpus(GIF);
    let bmp = corpus(BMP);
    let mut body = Vec::new();
    body.extend_from_slice(b"--XyZzY\r\nContent-Disposition:form-data;name=\"params\"\r\n\r\n");
    body.extend_from_slice(br#"{"basepath":"/raw","autorename":"true"}"#);
    body.extend_from_slice(
        b"\r\n--XyZzY\r\nContent-Disposition:form-data;name=\"files\";filename=\"tiny.gif\"\r\n\r\n",
    );
    body.extend_from_slice(&gif);
    body.extend_from_slice(
        b"\r\n--XyZzY\r\ncontent-disposition:form-data;name=\"files\";filename=\"bird.bmp\"\r\n\r\n",
    );
    body.extend_from_slice(&bmp);
    body.extend_from_slice(b"\r\n--XyZzY--\r\n");

    let v = s.multipart_raw("XyZzY", body.clone());
    assert_result(&v, 0);
    assert_eq!(names(&v, "successes"), ["tiny.gif", "bird.bmp"]);
    assert_eq!(v["successes"][0]["bytes"], gif.len());
    assert_eq!(v["successes"][1]["imageProperty"]["width"], 192);
    assert_eq!(served(&s, "/raw/tiny.gif"), gif);
    assert_eq!(served(&s, "/raw/bird.bmp"), bmp);

    let again = s.multipart_raw("XyZzY", body);
    assert_result(&again, 0);
    assert_eq!(names(&again, "successes"), ["tiny(1).gif", "bird(1).bmp"]);
}

#[test]
fn hand_written_multipart_with_a_utf8_file_name() {
    let s = Server::start();
    let gif = corpus(GIF);
    let mut body = Vec::new();
    body.extend_from_slice(
        b"--b0undary\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n",
    );
    body.extend_from_slice(r#"{"basepath":"/사진"}"#.as_bytes());
    body.extend_from_slice(
        b"\r\n--b0undary\r\nContent-Disposition: form-data; name=\"files\"; filename=\"",
    );
    body.extend_from_slice("한글.gif".as_bytes());
    body.extend_from_slice(b"\"\r\nContent-Type: image/gif\r\n\r\n");
    body.extend_from_slice(&gif);
    body.extend_from_slice(b"\r\n--b0undary--\r\n");
    let v = s.multipart_raw("b0undary", body);
    assert_result(&v, 0);
    assert_eq!(names(&v, "successes"), ["한글.gif"]);
    assert_eq!(v["successes"][0]["path"], "/사진/한글.gif");
    assert_eq!(
        served(&s, "/%EC%82%AC%EC%A7%84/%ED%95%9C%EA%B8%80.gif"),
        gif
    );
}

fn zip_of(entries: &[(&str, Option<Vec<u8>>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (name, bytes) in entries {
        match bytes {
            Some(bytes) => {
                zip.start_file(*name, opts).expect("entry");
                zip.write_all(bytes).expect("write");
            }
            None => zip.add_directory(*name, opts).expect("directory"),
        }
    }
    zip.finish().expect("zip").into_inner()
}

#[test]
fn zip_archive_unpacks_into_basepath_keeping_folders() {
    let s = Server::start();
    let archive = zip_of(&[
        ("top.gif", Some(corpus(GIF))),
        ("nested/", None),
        ("nested/bird.bmp", Some(corpus(BMP))),
        ("nested/deeper/dot.png", Some(corpus(PNG))),
    ]);
    let v = s.multipart(form(
        json!({"basepath": "/zipped"}),
        &[("bundle.zip", archive)],
    ));
    assert_result(&v, 0);
    assert_eq!(v["errors"], json!([]));
    let mut ok = paths(&v, "successes");
    ok.sort();
    assert_eq!(
        ok,
        [
            "/zipped/nested/bird.bmp",
            "/zipped/nested/deeper/dot.png",
            "/zipped/top.gif"
        ]
    );
    assert_eq!(served(&s, "/zipped/top.gif"), corpus(GIF));
    assert_eq!(served(&s, "/zipped/nested/bird.bmp"), corpus(BMP));
    assert_eq!(served(&s, "/zipped/nested/deeper/dot.png"), corpus(PNG));
    let list = s.json(Method::GET, "folders?basepath=/zipped", None);
    assert_eq!(names(&list, "folders"), ["nested"]);
    assert_eq!(names(&list, "files"), ["top.gif"]);
    let props = s.json(Method::GET, "properties?path=/zipped", None);
    assert_eq!(props["folder"]["totalFileCount"], 3);
    assert_eq!(props["folder"]["totalFolderCount"], 2);
    assert!(
        s.get(&s.url("/zipped/bundle.zip")).status() == 404,
        "the archive itself is not stored"
    );
}

#[test]
fn zip_entries_with_bad_names_or_content_are_errors() {
    let s = Server::start();
    let long = format!("{}.gif", "l".repeat(252));
    let archive = zip_of(&[
        ("good.gif", Some(corpus(GIF))),
        ("x/short.gif", Some(corpus(GIF))),
        (long.as_str(), Some(corpus(GIF))),
        ("docs/readme.txt", Some(b"not an image".to_vec())),
    ]);
    let v = s.multipart(form(
        json!({"basepath": "/zipbad"}),
        &[("bundle.zip", archive), ("beside.bmp", corpus(BMP))],
    ));
    assert_result(&v, 1);
    let mut ok = paths(&v, "successes");
    ok.sort();
    assert_eq!(
        ok,
        [
            "/zipbad/beside.bmp",
            "/zipbad/good.gif",
            "/zipbad/x/short.gif"
        ]
    );
    let mut errs: Vec<(String, i64)> = v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["path"].as_str().expect("path").to_owned(),
                e["error"]["resultCode"].as_i64().expect("code"),
            )
        })
        .collect();
    errs.sort();
    assert_eq!(
        errs,
        [
            ("/zipbad/docs/readme.txt".to_owned(), 10002),
            (format!("/zipbad/{long}"), 11002)
        ],
        "a name over 255 characters, then a text file: {v}"
    );
    assert_eq!(s.get(&s.url("/zipbad/x/short.gif")).status(), 200);
    assert_eq!(s.get(&s.url("/zipbad/docs/readme.txt")).status(), 404);
}
