//! Resumable uploads over tus 1.0.0 at `/uploads`, driven by a real tus client (tuspy, through
//! `tests/fixtures/tus_client.py`) and, for what a good client never sends, by raw requests.

mod common;

use common::{assert_code, corpus, header, tus_metadata, tuspy, Server};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";
const BIG_PHOTO: &str = "photos/photo_12mp_olympus-ep3_4032x3024.jpg";

/// `bytes` in a file of `dir`, for the client to read.
fn file_of(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write the file to upload");
    path
}

/// Uploads `path` of the app with tuspy, with `extra` client options.
fn upload(s: &Server, file: &Path, metadata: Value, extra: &[&str]) -> common::TusRun {
    tuspy(&s.uploads(), &s.app.secret_key, file, &metadata, extra)
}

/// The `files` of a folder listing.
fn files_in(s: &Server, folder: &str) -> Vec<Value> {
    let v = s.json(Method::GET, &format!("folders?basepath={folder}"), None);
    assert_code(&v, 0);
    v["files"].as_array().cloned().unwrap_or_default()
}

/// The blobs of unfinished uploads in the local store.
fn chunk_blobs(s: &Server) -> Vec<PathBuf> {
    let dir = s
        .data_dir
        .join("blobs")
        .join(&s.app.container)
        .join("uploads");
    let mut found = Vec::new();
    for upload in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        for chunk in std::fs::read_dir(upload.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            found.push(chunk.path());
        }
    }
    found
}

/// Polls `check` every 50 ms until it holds, at most `secs` seconds.
fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "{what} within {secs} s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_tus_client_uploads_a_file_that_is_delivered_and_listed() {
    let s = Server::start_with(&[("PICTOR_STORAGE_RELEASE_DELAY_SECS", "1")]);
    let options = s
        .http
        .request(Method::OPTIONS, s.uploads())
        .send()
        .expect("OPTIONS");
    assert_eq!(options.status(), 204, "discovery needs no secret");
    for (name, value) in [
        ("tus-resumable", "1.0.0"),
        ("tus-version", "1.0.0"),
        ("tus-extension", "creation,termination,expiration,checksum"),
        ("tus-max-size", "1073741824"),
        ("tus-checksum-algorithm", "sha1,sha256"),
    ] {
        assert_eq!(header(&options, name).as_deref(), Some(value), "{name}");
    }
    s.put_operation(
        "thumb",
        json!({"realtimeService": true, "data": [{"templateOperationId": "resize_max_fit",
               "option": {"width": 100, "height": 100}}]}),
    );

    let tmp = tempfile::tempdir().expect("tempdir");
    let bytes = corpus(PHOTO);
    let file = file_of(tmp.path(), "photo.jpg", &bytes);
    let run = upload(
        &s,
        &file,
        json!({"path": "/tus/사진.jpg", "operationIds": "thumb", "filename": "photo.jpg",
               "tags": "beach, 2024"}),
        &["--chunk-size", "50000", "--checksum"],
    );
    assert!(run.ok, "{:?}", run.out);
    assert_eq!(run.out["offset"], bytes.len());
    assert_eq!(run.header("pictor-result-code"), Some("0"));
    assert_eq!(
        run.header("pictor-file-path"),
        Some("/tus/%EC%82%AC%EC%A7%84.jpg")
    );
    let id = run.header("pictor-file-id").expect("the stored file's id");
    let queue = run.header("pictor-queue-ids").expect("the queued task");

    let delivered = s.get(&s.url_of("/tus/사진.jpg"));
    assert_eq!(delivered.status(), 200);
    let etag = header(&delivered, "etag").expect("etag");
    assert_eq!(delivered.bytes().expect("body").as_ref(), &bytes[..]);
    let listed = files_in(&s, "/tus");
    let stored = listed
        .iter()
        .find(|f| f["name"] == "사진.jpg")
        .expect("listed");
    assert_eq!(stored["id"], id);
    assert_eq!(stored["bytes"], bytes.len());
    let task = s.json(Method::GET, &format!("queues/{queue}"), None);
    assert_code(&task, 0);
    assert_eq!(task["queue"]["operationId"], "thumb");

    assert_eq!(
        stored["tags"],
        json!(["2024", "beach"]),
        "the tags of its metadata"
    );
    let by_id = s.json(Method::GET, &format!("images/{id}"), None);
    assert_code(&by_id, 0);
    assert_eq!(
        by_id["file"], *stored,
        "the file by its id is the listed one"
    );

    // The same bytes through PUT /images get the same facts, dominant colour included, and
    // the same ETag.
    let put = s.upload("/put/photo.jpg", bytes.clone(), "");
    assert_code(&put, 0);
    let by_put = &put["file"]["imageProperty"];
    assert!(by_put["dominantColor"].is_string(), "{by_put}");
    assert_eq!(*by_put, stored["imageProperty"]);
    assert!(stored["imageProperty"]["coordinate"]["lat"].is_number());
    let again = s.get(&s.url("/put/photo.jpg"));
    assert_eq!(header(&again, "etag"), Some(etag));
    eventually(15, "the chunks of a finished upload are deleted", || {
        chunk_blobs(&s).is_empty()
    });
}

#[test]
fn an_interrupted_upload_resumes_where_the_server_says() {
    let s = Server::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let bytes = corpus(PHOTO);
    let file = file_of(tmp.path(), "photo.jpg", &bytes);
    let meta = json!({"path": "/resumed.jpg"});
    let first = upload(
        &s,
        &file,
        meta.clone(),
        &["--chunk-size", "40000", "--stop-at", "80000"],
    );
    assert!(first.ok, "{:?}", first.out);
    assert_eq!(first.out["offset"], 80000);
    let url = first.out["url"].as_str().expect("upload url").to_owned();
    assert_eq!(s.tus_head(&url), (200, Some(80000)));
    assert!(
        files_in(&s, "/").is_empty(),
        "an unfinished upload is no file"
    );
    assert_eq!(s.get(&s.url("/resumed.jpg")).status(), 404);

    // A new client with the same URL asks for the offset and sends the rest.
    let second = upload(&s, &file, meta, &["--url", &url, "--chunk-size", "40000"]);
    assert!(second.ok, "{:?}", second.out);
    assert_eq!(second.out["offset"], bytes.len());
    assert!(second.header("pictor-file-id").is_some());
    let delivered = s.get(&s.url("/resumed.jpg"));
    assert_eq!(delivered.bytes().expect("body").as_ref(), &bytes[..]);
    assert_eq!(s.tus_head(&url).0, 404, "a finished upload is gone");
}

#[test]
fn a_connection_dropped_mid_body_keeps_what_arrived() {
    let s = Server::start();
    let bytes = corpus(PHOTO);
    let url = s.tus_create(bytes.len() as u64, &[("path", "/dropped.jpg")]);
    let target = url.trim_start_matches(&s.base).to_owned();
    let sent = 100_000;
    let mut stream = std::net::TcpStream::connect(s.addr()).expect("connect");
    let head = format!(
        "PATCH {target} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nTus-Resumable: 1.0.0\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n\
         Content-Length: {}\r\n\r\n",
        s.addr(),
        s.app.secret_key,
        bytes.len()
    );
    stream.write_all(head.as_bytes()).expect("head");
    stream.write_all(&bytes[..sent]).expect("part of the body");
    stream.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(200));
    drop(stream);
    eventually(10, "the bytes that arrived are stored", || {
        s.tus_head(&url) == (200, Some(sent as u64))
    });

    let tmp = tempfile::tempdir().expect("tempdir");
    let file = file_of(tmp.path(), "photo.jpg", &bytes);
    let rest = upload(&s, &file, json!({}), &["--url", &url]);
    assert!(rest.ok, "{:?}", rest.out);
    let delivered = s.get(&s.url("/dropped.jpg"));
    assert_eq!(delivered.bytes().expect("body").as_ref(), &bytes[..]);
}

#[test]
fn two_requests_at_one_offset_store_one_chunk() {
    let s = Server::start();
    let bytes = corpus(PHOTO);
    let url = s.tus_create(bytes.len() as u64, &[("path", "/race.jpg")]);
    let target = url.trim_start_matches(&s.base).to_owned();
    let part = 60_000;
    let open = |len: usize| {
        let mut stream = std::net::TcpStream::connect(s.addr()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let head = format!(
            "PATCH {target} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
             Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n\
             Upload-Offset: 0\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n",
            s.addr(),
            s.app.secret_key,
        );
        stream.write_all(head.as_bytes()).expect("head");
        stream.write_all(&bytes[..len / 2]).expect("half the body");
        stream
    };
    // Both requests are read from offset 0 before either body is complete.
    let mut a = open(part);
    let mut b = open(part + 1000);
    std::thread::sleep(Duration::from_millis(300));
    a.write_all(&bytes[part / 2..part]).expect("rest of a");
    b.write_all(&bytes[(part + 1000) / 2..part + 1000])
        .expect("rest of b");
    let status = |stream: &mut std::net::TcpStream| {
        let mut answer = Vec::new();
        let _ = std::io::Read::read_to_end(stream, &mut answer);
        String::from_utf8_lossy(&answer)
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse::<u16>().ok())
            .expect("a status line")
    };
    let mut statuses = [status(&mut a), status(&mut b)];
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [204, 409],
        "one wins, the other is told the offset moved"
    );
    let (code, offset) = s.tus_head(&url);
    assert_eq!(code, 200);
    assert!(
        offset == Some(part as u64) || offset == Some(part as u64 + 1000),
        "the winner's bytes: {offset:?}"
    );
    assert_eq!(chunk_blobs(&s).len(), 1, "the loser's chunk is deleted");
}

#[test]
fn a_body_that_does_not_match_its_checksum_is_refused() {
    let s = Server::start();
    let bytes = corpus(PHOTO);
    let url = s.tus_create(bytes.len() as u64, &[("path", "/checked.jpg")]);
    // The SHA-1 of "hello world", not of these bytes.
    let wrong = s
        .tus("PATCH", &url)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .header("Upload-Checksum", "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=")
        .body(bytes[..5000].to_vec())
        .send()
        .expect("PATCH");
    assert_eq!(wrong.status().as_u16(), 460);
    assert_eq!(
        header(&wrong, "pictor-result-code").as_deref(),
        Some("52004")
    );
    let body: Value = wrong.json().expect("an envelope");
    assert_code(&body, 52004);
    assert_eq!(s.tus_head(&url), (200, Some(0)), "nothing was kept");
    assert!(chunk_blobs(&s).is_empty());

    let unknown = s
        .tus("PATCH", &url)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .header("Upload-Checksum", "crc32 AAAAAA==")
        .body(bytes[..5000].to_vec())
        .send()
        .expect("PATCH");
    assert_eq!(unknown.status(), 400, "an algorithm not offered");
    let right = s
        .tus("PATCH", &url)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .header(
            "Upload-Checksum",
            format!("sha1 {}", sha1_base64(&bytes[..5000])),
        )
        .body(bytes[..5000].to_vec())
        .send()
        .expect("PATCH");
    assert_eq!(right.status(), 204);
    assert_eq!(header(&right, "upload-offset").as_deref(), Some("5000"));
}

/// The SHA-1 of `bytes` in base64, as `Upload-Checksum` carries it.
fn sha1_base64(bytes: &[u8]) -> String {
    use base64::Engine;
    use sha1::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(bytes))
}

#[test]
fn a_terminated_upload_is_gone_with_its_bytes() {
    let s = Server::start_with(&[("PICTOR_STORAGE_RELEASE_DELAY_SECS", "1")]);
    let bytes = corpus(PHOTO);
    let url = s.tus_create(bytes.len() as u64, &[("path", "/dropped.jpg")]);
    assert_eq!(s.tus_patch(&url, 0, bytes[..1000].to_vec()).status(), 204);
    assert_eq!(chunk_blobs(&s).len(), 1);
    let deleted = s.tus("DELETE", &url).send().expect("DELETE");
    assert_eq!(deleted.status(), 204);
    assert_eq!(header(&deleted, "tus-resumable").as_deref(), Some("1.0.0"));
    assert_eq!(s.tus_head(&url), (404, None));
    let patched = s.tus_patch(&url, 1000, bytes[1000..2000].to_vec());
    assert_eq!(patched.status(), 404);
    assert_eq!(
        header(&patched, "pictor-result-code").as_deref(),
        Some("52001")
    );
    assert_eq!(s.tus("DELETE", &url).send().expect("DELETE").status(), 404);
    eventually(15, "the bytes of a terminated upload are deleted", || {
        chunk_blobs(&s).is_empty()
    });
}

#[test]
fn an_expired_upload_answers_410_and_is_swept_with_its_bytes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let app = common::create_app(&data);
    let short = [
        ("PICTOR_LIMITS_RESUMABLE_EXPIRY_SECS", "1"),
        ("PICTOR_STORAGE_RELEASE_DELAY_SECS", "60"),
    ];
    let mut s = Server::spawn(&data, app.clone(), &short);
    let bytes = corpus(PHOTO);
    let url = s.tus_create(bytes.len() as u64, &[("path", "/late.jpg")]);
    let stored = s.tus_patch(&url, 0, bytes[..1000].to_vec());
    assert_eq!(stored.status(), 204);
    assert!(header(&stored, "upload-expires").is_some());
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(s.tus_head(&url).0, 410);
    let late = s.tus_patch(&url, 1000, bytes[1000..2000].to_vec());
    assert_eq!(late.status(), 410);
    assert_eq!(
        header(&late, "pictor-result-code").as_deref(),
        Some("52002")
    );
    assert_eq!(chunk_blobs(&s).len(), 1, "kept until the sweep");
    let path = url.trim_start_matches(&s.base).to_owned();
    assert!(s.terminate().success());

    // The sweep runs at start: the upload goes, its chunk after the release delay.
    let s = Server::spawn(
        &data,
        app,
        &[
            ("PICTOR_LIMITS_RESUMABLE_EXPIRY_SECS", "1"),
            ("PICTOR_STORAGE_RELEASE_DELAY_SECS", "1"),
        ],
    );
    let url = format!("{}{path}", s.base);
    eventually(10, "the expired upload is deleted", || {
        s.tus_head(&url).0 == 404
    });
    eventually(15, "the chunk of an expired upload is deleted", || {
        chunk_blobs(&s).is_empty()
    });
}

#[test]
fn sizes_and_counts_over_the_limits_are_refused() {
    let s = Server::start_with(&[
        ("PICTOR_LIMITS_MAX_RESUMABLE_BYTES", "1000000"),
        ("PICTOR_LIMITS_MAX_UNFINISHED_UPLOADS", "2"),
    ]);
    let over = s.tus_post("1000001", &tus_metadata(&[("path", "/big.jpg")]));
    assert_eq!(over.status(), 413);
    assert_eq!(header(&over, "tus-max-size").as_deref(), Some("1000000"));
    assert_eq!(
        header(&over, "pictor-result-code").as_deref(),
        Some("11004")
    );
    assert_code(&over.json::<Value>().expect("an envelope"), 11004);

    let url = s.tus_create(10, &[("path", "/small.jpg")]);
    let past_length = s.tus_patch(&url, 0, vec![0; 11]);
    assert_eq!(past_length.status(), 413, "a body past Upload-Length");
    assert_eq!(s.tus_head(&url), (200, Some(0)));
    s.tus_create(10, &[("path", "/second.jpg")]);
    let third = s.tus_post("10", &tus_metadata(&[("path", "/third.jpg")]));
    assert_eq!(third.status(), 429, "two unfinished uploads per app");
    assert_eq!(
        header(&third, "pictor-result-code").as_deref(),
        Some("52007")
    );
    assert_eq!(s.tus("DELETE", &url).send().expect("DELETE").status(), 204);
    s.tus_create(10, &[("path", "/third.jpg")]);

    for (metadata, code) in [
        (tus_metadata(&[("filename", "a.jpg")]), "10001"),
        (tus_metadata(&[("path", "/a/../b.jpg")]), "11050"),
        (
            tus_metadata(&[("path", "/a.jpg"), ("operationIds", "nothing")]),
            "10001",
        ),
        ("path !!!".to_owned(), "10001"),
    ] {
        let refused = s.tus_post("10", &metadata);
        assert_eq!(refused.status(), 400, "{metadata}");
        assert_eq!(
            header(&refused, "pictor-result-code").as_deref(),
            Some(code),
            "{metadata}"
        );
    }
    let deferred = s
        .tus("POST", &s.uploads())
        .header("Upload-Defer-Length", "1")
        .header("Upload-Metadata", tus_metadata(&[("path", "/later.jpg")]))
        .send()
        .expect("POST");
    assert_eq!(
        deferred.status(),
        400,
        "creation-defer-length is not offered"
    );
    let empty = s.tus_post("0", &tus_metadata(&[("path", "/empty.jpg")]));
    assert_eq!(empty.status(), 400, "an empty file is no image");
    assert_eq!(
        header(&empty, "pictor-result-code").as_deref(),
        Some("10002")
    );
}

#[test]
fn a_file_over_the_single_request_limit_arrives_by_tus() {
    let s = Server::start_with(&[
        ("PICTOR_LIMITS_MAX_UPLOAD_BYTES", "1048576"),
        ("PICTOR_STORAGE_MULTIPART_PART_BYTES", "5242880"),
    ]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let jpeg = corpus(BIG_PHOTO);
    assert_code(&s.upload("/big/put.jpg", jpeg.clone(), ""), 11004);
    let file = file_of(tmp.path(), "big.jpg", &jpeg);
    let run = upload(
        &s,
        &file,
        json!({"path": "/big/photo.jpg"}),
        &["--chunk-size", "1000000"],
    );
    assert!(run.ok, "{:?}", run.out);
    let delivered = s.get(&s.url("/big/photo.jpg"));
    assert_eq!(delivered.bytes().expect("body").as_ref(), &jpeg[..]);
    let listed = files_in(&s, "/big");
    assert_eq!(listed.len(), 1);
    let property = &listed[0]["imageProperty"];
    assert_eq!(
        (property["width"].clone(), property["height"].clone()),
        (json!(4032), json!(3024))
    );
    assert!(
        property["createdAt"].is_string(),
        "EXIF read from the head: {property}"
    );
    assert_eq!(
        property["dominantColor"],
        Value::Null,
        "a file over limits.max_upload_bytes is never read whole: no colour"
    );

    // Larger than one part of the store: the chunks go into the file in parts.
    let bmp = gradient_bmp(1600, 1200);
    assert!(bmp.len() > 5_242_880);
    let file = file_of(tmp.path(), "big.bmp", &bmp);
    let run = upload(
        &s,
        &file,
        json!({"path": "/big/gradient.bmp"}),
        &["--chunk-size", "2000000"],
    );
    assert!(run.ok, "{:?}", run.out);
    let delivered = s.get(&s.url("/big/gradient.bmp"));
    assert_eq!(
        header(&delivered, "content-type").as_deref(),
        Some("image/bmp")
    );
    assert_eq!(delivered.bytes().expect("body").as_ref(), &bmp[..]);
}

/// A BMP of `width` x `height` with a colour gradient.
fn gradient_bmp(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Bmp)
        .expect("encode a BMP");
    out.into_inner()
}

#[test]
fn a_finished_upload_that_put_images_would_refuse_stores_nothing() {
    let s = Server::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = b"not an image, only text ".repeat(400);
    let file = file_of(tmp.path(), "notes.jpg", &text);
    let run = upload(
        &s,
        &file,
        json!({"path": "/notes.jpg"}),
        &["--chunk-size", "4000"],
    );
    assert!(!run.ok, "{:?}", run.out);
    assert_eq!(run.out["status"], 422);
    assert_eq!(run.header("pictor-result-code"), Some("10002"));
    let body: Value = serde_json::from_str(run.out["body"].as_str().expect("body")).expect("JSON");
    assert_code(&body, 10002);
    assert!(files_in(&s, "/").is_empty(), "nothing stored");
    assert_eq!(s.get(&s.url("/notes.jpg")).status(), 404);
    let url = run.out["url"].as_str().expect("url");
    assert_eq!(s.tus_head(url).0, 404, "the refused upload is deleted");

    // A name taken since the upload began: refused at its end, as PUT /images refuses it.
    let photo = corpus(PHOTO);
    let url = s.tus_create(photo.len() as u64, &[("path", "/taken.jpg")]);
    assert_eq!(s.tus_patch(&url, 0, photo[..1000].to_vec()).status(), 204);
    assert_code(&s.upload("/taken.jpg", corpus(PHOTO), ""), 0);
    let last = s.tus_patch(&url, 1000, photo[1000..].to_vec());
    assert_eq!(last.status(), 422);
    assert_eq!(
        header(&last, "pictor-result-code").as_deref(),
        Some("20010")
    );
    assert_code(&last.json::<Value>().expect("an envelope"), 20010);
    assert_eq!(files_in(&s, "/").len(), 1);
    // Taken already at creation: refused before any byte is sent.
    let early = s.tus_post(
        &photo.len().to_string(),
        &tus_metadata(&[("path", "/taken.jpg")]),
    );
    assert_eq!(early.status(), 422);
    assert_eq!(
        header(&early, "pictor-result-code").as_deref(),
        Some("20010")
    );
    let renamed = s.tus_create(
        photo.len() as u64,
        &[("path", "/taken.jpg"), ("autorename", "true")],
    );
    let done = s.tus_patch(&renamed, 0, photo.clone());
    assert_eq!(done.status(), 204);
    assert_eq!(
        header(&done, "pictor-file-path").as_deref(),
        Some("/taken(1).jpg")
    );
}

#[test]
fn requests_outside_the_protocol_are_refused_with_its_statuses() {
    let s = Server::start();
    let bytes = corpus(PHOTO);
    let create = |version: Option<&str>| {
        let mut req = s
            .http
            .post(s.uploads())
            .header("Authorization", &s.app.secret_key)
            .header("Upload-Length", "100")
            .header("Upload-Metadata", tus_metadata(&[("path", "/v.jpg")]));
        if let Some(v) = version {
            req = req.header("Tus-Resumable", v);
        }
        req.send().expect("POST")
    };
    for version in [None, Some("0.2.2")] {
        let refused = create(version);
        assert_eq!(refused.status(), 412, "{version:?}");
        assert_eq!(header(&refused, "tus-version").as_deref(), Some("1.0.0"));
        assert_eq!(
            header(&refused, "pictor-result-code").as_deref(),
            Some("52005")
        );
    }
    let url = s.tus_create(bytes.len() as u64, &[("path", "/v.jpg")]);
    let stale = s
        .http
        .patch(&url)
        .header("Authorization", &s.app.secret_key)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body(bytes[..100].to_vec())
        .send()
        .expect("PATCH");
    assert_eq!(stale.status(), 412, "a PATCH without Tus-Resumable");
    let json_body = s
        .tus("PATCH", &url)
        .header("Content-Type", "application/json")
        .header("Upload-Offset", "0")
        .body(bytes[..100].to_vec())
        .send()
        .expect("PATCH");
    assert_eq!(json_body.status(), 415);
    assert_eq!(s.tus_patch(&url, 0, bytes[..100].to_vec()).status(), 204);
    let behind = s.tus_patch(&url, 0, bytes[..100].to_vec());
    assert_eq!(behind.status(), 409);
    assert_eq!(header(&behind, "upload-offset").as_deref(), Some("100"));
    assert_eq!(
        header(&behind, "pictor-result-code").as_deref(),
        Some("52003")
    );
    let overridden = s
        .tus("POST", &url)
        .header("X-HTTP-Method-Override", "PATCH")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "100")
        .body(bytes[100..200].to_vec())
        .send()
        .expect("POST as PATCH");
    assert_eq!(overridden.status(), 204);
    let head = s.tus("HEAD", &url).send().expect("HEAD");
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "upload-offset").as_deref(), Some("200"));
    assert_eq!(
        header(&head, "upload-length"),
        Some(bytes.len().to_string())
    );
    assert_eq!(header(&head, "cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        header(&head, "upload-metadata"),
        Some(tus_metadata(&[("path", "/v.jpg")]))
    );
    let stranger = s
        .http
        .head(&url)
        .header("Tus-Resumable", "1.0.0")
        .header("Authorization", "wrong")
        .send()
        .expect("HEAD");
    assert_eq!(stranger.status(), 403);
    assert_eq!(
        header(&stranger, "pictor-result-code").as_deref(),
        Some("30004")
    );
    let unknown = format!("{}/{}", s.uploads(), "0".repeat(32));
    assert_eq!(s.tus_head(&unknown).0, 404);
    assert_eq!(s.tus_head(&format!("{}/not-an-id", s.uploads())).0, 404);
}

#[test]
fn pictor_check_keeps_the_chunks_of_unfinished_uploads() {
    let s = Server::start();
    let bytes = corpus(PHOTO);
    let url = s.tus_create(bytes.len() as u64, &[("path", "/kept.jpg")]);
    assert_eq!(s.tus_patch(&url, 0, bytes[..1000].to_vec()).status(), 204);
    let out = common::pictor()
        .args(["check", "--repair", "--data-dir"])
        .arg(&s.data_dir)
        .env("PICTOR_STORAGE_ORPHAN_GRACE_SECS", "0")
        .output()
        .expect("run pictor check");
    let report: Value = serde_json::from_slice(&out.stdout).expect("check prints JSON");
    assert!(out.status.success(), "{report}");
    assert_eq!(report["orphans"], json!([]), "{report}");
    assert_eq!(report["stored"], 1);
    assert_eq!(chunk_blobs(&s).len(), 1, "the chunk is kept");
    assert_eq!(
        s.tus_patch(&url, 1000, bytes[1000..].to_vec()).status(),
        204
    );
    let delivered = s.get(&s.url("/kept.jpg"));
    assert_eq!(delivered.bytes().expect("body").as_ref(), &bytes[..]);
}

#[test]
fn past_its_chunk_limit_an_upload_takes_only_its_last_request() {
    let s = Server::start_with(&[("PICTOR_LIMITS_MAX_UPLOAD_CHUNKS", "2")]);
    let bytes = corpus(PHOTO);
    let url = s.tus_create(bytes.len() as u64, &[("path", "/pieces.jpg")]);
    assert_eq!(s.tus_patch(&url, 0, bytes[..1000].to_vec()).status(), 204);
    assert_eq!(
        s.tus_patch(&url, 1000, bytes[1000..2000].to_vec()).status(),
        204
    );
    let third = s.tus_patch(&url, 2000, bytes[2000..3000].to_vec());
    assert_eq!(third.status(), 400);
    assert_eq!(
        header(&third, "pictor-result-code").as_deref(),
        Some("52008")
    );
    assert_eq!(s.tus_head(&url), (200, Some(2000)), "nothing kept");
    assert_eq!(chunk_blobs(&s).len(), 2);
    let last = s.tus_patch(&url, 2000, bytes[2000..].to_vec());
    assert_eq!(last.status(), 204, "the request that finishes it is taken");
    let delivered = s.get(&s.url("/pieces.jpg"));
    assert_eq!(delivered.bytes().expect("body").as_ref(), &bytes[..]);
}

#[test]
fn the_quota_and_the_default_operations_hold_for_resumable_uploads() {
    let s = Server::start();
    let photo = corpus(PHOTO);
    s.put_operation(
        "small",
        json!({"realtimeService": true, "data": [{"templateOperationId": "resize_max_fit",
               "option": {"width": 64, "height": 64}}]}),
    );
    let set = |body: Value| assert_code(&s.json(Method::PUT, "users", Some(body)), 0);
    set(json!({"quotaBytes": photo.len() * 3 / 2, "defaultOperationIds": ["small"]}));

    // Within the quota: stored, and the app's default operation is queued.
    let url = s.tus_create(photo.len() as u64, &[("path", "/q/first.jpg")]);
    let done = s.tus_patch(&url, 0, photo.clone());
    assert_eq!(done.status(), 204);
    let queue = header(&done, "pictor-queue-ids").expect("the default operation's task");
    let task = s.json(Method::GET, &format!("queues/{queue}"), None);
    assert_eq!(task["queue"]["operationId"], "small");

    // A second file cannot fit: refused at creation, before any byte.
    let over = s.tus_post(
        &photo.len().to_string(),
        &tus_metadata(&[("path", "/q/second.jpg")]),
    );
    assert_eq!(over.status(), 422);
    assert_eq!(
        header(&over, "pictor-result-code").as_deref(),
        Some("50001")
    );

    // Created while it fitted, refused at its end once the quota was lowered: nothing stored.
    set(json!({"quotaBytes": photo.len() * 3}));
    let url = s.tus_create(photo.len() as u64, &[("path", "/q/late.jpg")]);
    assert_eq!(s.tus_patch(&url, 0, photo[..1000].to_vec()).status(), 204);
    set(json!({"quotaBytes": photo.len() * 3 / 2}));
    let last = s.tus_patch(&url, 1000, photo[1000..].to_vec());
    assert_eq!(last.status(), 422);
    assert_eq!(
        header(&last, "pictor-result-code").as_deref(),
        Some("50001")
    );
    assert_eq!(s.tus_head(&url).0, 404, "the refused upload is deleted");
    let names: Vec<Value> = files_in(&s, "/q")
        .iter()
        .map(|f| f["name"].clone())
        .collect();
    assert!(
        !names.contains(&json!("late.jpg")),
        "nothing stored: {names:?}"
    );
}
