//! Photo-library metadata over real HTTP: tags on uploads (raw and multipart) and
//! `PUT /images/{fileId}/tags`, `GET /images/{fileId}`, the search `GET /images` with each
//! filter and its paging, the `dominantColor` and `ratio` of file objects checked against the
//! images themselves, and the codes bad inputs answer.

mod common;
#[path = "../src/catalog/postgres/test_database.rs"]
mod test_database;
#[path = "../src/catalog/postgres/throwaway.rs"]
mod throwaway;

use common::{assert_code, assert_result, corpus, encode_query, pictor, AppKeys, Server};
use image::{ImageFormat, Rgba, RgbaImage};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A PNG of `w` x `h` pixels of `colour`, with the first `rows` rows of `other` over it.
fn png(w: u32, h: u32, colour: [u8; 4], other: [u8; 4], rows: u32) -> Vec<u8> {
    let mut img = RgbaImage::from_pixel(w, h, Rgba(colour));
    for y in 0..rows.min(h) {
        for x in 0..w {
            img.put_pixel(x, y, Rgba(other));
        }
    }
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), ImageFormat::Png)
        .expect("encode a PNG");
    out
}

/// A one-colour opaque PNG.
fn solid(w: u32, h: u32, [r, g, b]: [u8; 3]) -> Vec<u8> {
    png(w, h, [r, g, b, 255], [r, g, b, 255], 0)
}

fn str_list(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x.as_str().expect("a string").to_owned())
        .collect()
}

fn id_of(file: &Value) -> String {
    file["id"].as_str().expect("an id").to_owned()
}

/// Uploads bytes and returns the answer's file, asserting success.
fn put_ok(s: &Server, path: &str, bytes: Vec<u8>, extra: &str) -> Value {
    let v = s.upload(path, bytes, extra);
    assert_code(&v, 0);
    v["file"].clone()
}

/// `GET /images?<query>`.
fn search(s: &Server, query: &str) -> Value {
    s.json(Method::GET, &format!("images?{query}"), None)
}

/// The paths of a search answer, after asserting success.
fn found(v: &Value) -> Vec<String> {
    assert_code(v, 0);
    v["files"]
        .as_array()
        .unwrap_or_else(|| panic!("files in {v}"))
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_owned())
        .collect()
}

fn put_tags(s: &Server, id: &str, body: Value) -> Value {
    s.json(Method::PUT, &format!("images/{id}/tags"), Some(body))
}

#[test]
fn uploads_carry_tags_raw_and_multipart() {
    let s = Server::start();
    let raw = put_ok(
        &s,
        "/t/raw.png",
        solid(4, 4, [1, 2, 3]),
        "tags=sea,%20beach%20,sea,,",
    );
    assert_eq!(
        str_list(&raw["tags"]),
        ["beach", "sea"],
        "trimmed, once each, sorted"
    );

    let form = Form::new()
        .text(
            "params",
            r#"{"basepath": "/t/multi", "tags": ["summer", "2024"]}"#,
        )
        .part(
            "files",
            Part::bytes(solid(4, 4, [9, 9, 9])).file_name("one.png"),
        )
        .part(
            "files",
            Part::bytes(corpus("edge/tiny_10x10.gif")).file_name("two.gif"),
        );
    let v = s.multipart(form);
    assert_code(&v, 0);
    for file in v["successes"].as_array().expect("successes") {
        assert_eq!(str_list(&file["tags"]), ["2024", "summer"], "{file}");
    }
    let form = Form::new()
        .text("params", r#"{"basepath": "/t/text", "tags": "a, b"}"#)
        .part(
            "files",
            Part::bytes(solid(4, 4, [9, 9, 9])).file_name("x.png"),
        );
    let v = s.multipart(form);
    assert_code(&v, 0);
    assert_eq!(
        str_list(&v["successes"][0]["tags"]),
        ["a", "b"],
        "a comma string"
    );

    let listed = s.json(Method::GET, "folders?basepath=/t/multi", None);
    assert_code(&listed, 0);
    for file in listed["files"].as_array().expect("files") {
        assert_eq!(
            str_list(&file["tags"]),
            ["2024", "summer"],
            "listings show tags"
        );
    }
    let plain = put_ok(&s, "/t/plain.png", solid(4, 4, [1, 1, 1]), "");
    assert_eq!(plain["tags"], json!([]), "no tags: an empty list");
}

#[test]
fn bad_tags_are_refused_before_anything_is_stored() {
    let s = Server::start_with(&[
        ("PICTOR_LIMITS_MAX_TAGS_PER_FILE", "2"),
        ("PICTOR_LIMITS_MAX_TAG_CHARS", "8"),
    ]);
    for extra in ["tags=a,b,c", "tags=ninechars", "tags=a%09b"] {
        let v = s.upload("/bad/x.png", solid(4, 4, [5, 5, 5]), extra);
        assert_code(&v, 10001);
        let message = v["header"]["resultMessage"].as_str().expect("message");
        assert!(
            message.starts_with("parameter is invalid. tags: "),
            "{message}"
        );
    }
    let listed = s.json(Method::GET, "properties?path=/", None);
    assert_eq!(
        listed["folder"]["totalFileCount"], 0,
        "nothing stored: {listed}"
    );
    let form = Form::new()
        .text("params", r#"{"basepath": "/bad", "tags": ["x", "y", "z"]}"#)
        .part(
            "files",
            Part::bytes(solid(4, 4, [9, 9, 9])).file_name("one.png"),
        );
    assert_code(&s.multipart(form), 10001);
    let form = Form::new()
        .text("params", r#"{"basepath": "/bad", "tags": [1, 2]}"#)
        .part(
            "files",
            Part::bytes(solid(4, 4, [9, 9, 9])).file_name("one.png"),
        );
    assert_result(&s.multipart(form), 10001);
    let ok = put_ok(&s, "/bad/ok.png", solid(4, 4, [5, 5, 5]), "tags=a,b,a");
    assert_eq!(
        str_list(&ok["tags"]),
        ["a", "b"],
        "a repeated tag counts once"
    );
}

#[test]
fn put_tags_replaces_them_and_get_by_id_shows_the_file() {
    let s = Server::start();
    let file = put_ok(&s, "/g/a.png", solid(6, 3, [0, 128, 255]), "tags=old");
    let id = id_of(&file);

    let v = put_tags(&s, &id, json!({"tags": ["two", "one", "two"]}));
    assert_code(&v, 0);
    assert_eq!(str_list(&v["file"]["tags"]), ["one", "two"]);
    assert_eq!(
        v["file"]["updatedAt"], file["updatedAt"],
        "tags do not move updatedAt"
    );

    let got = s.json(Method::GET, &format!("images/{id}"), None);
    assert_result(&got, 0);
    let listed = s.json(Method::GET, "folders?basepath=/g", None);
    assert_eq!(
        got["file"], listed["files"][0],
        "the same file object as a listing's"
    );
    assert_eq!(got["file"]["path"], "/g/a.png");
    assert_eq!(str_list(&got["file"]["tags"]), ["one", "two"]);
    assert_eq!(got["file"]["queues"], json!([]));

    let cleared = put_tags(&s, &id, json!({"tags": []}));
    assert_code(&cleared, 0);
    assert_eq!(cleared["file"]["tags"], json!([]));

    let unknown = "9cf11176-045c-4708-8dbd-35633f029a91";
    assert_result(
        &s.json(Method::GET, &format!("images/{unknown}"), None),
        20001,
    );
    assert_result(&put_tags(&s, unknown, json!({"tags": ["x"]})), 20001);
    assert_code(&put_tags(&s, &id, json!({})), 10001);
    assert_result(&put_tags(&s, &id, json!({"tags": "x"})), 10001);
    assert_code(&put_tags(&s, &id, json!({"tags": ["a,b"]})), 10001);
    let other = Server::start();
    assert_result(
        &other.json(Method::GET, &format!("images/{id}"), None),
        20001,
    );

    // Routes that existed keep their answers.
    assert_result(&s.json(Method::GET, "images/sync", None), 404);
    assert_result(&s.json(Method::GET, "images", None), 404);
    assert_result(&s.json(Method::GET, "images?unrelated=1", None), 404);
    let unauthenticated = s
        .http
        .get(s.api("images"))
        .send()
        .expect("GET")
        .json::<Value>()
        .expect("json");
    assert_result(&unauthenticated, 404);
}

#[test]
fn an_overwrite_keeps_the_tags_unless_it_names_some() {
    let s = Server::start();
    let first = put_ok(&s, "/o/x.png", solid(4, 4, [1, 1, 1]), "tags=kept");
    let again = put_ok(&s, "/o/x.png", solid(4, 4, [2, 2, 2]), "overwrite=true");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(str_list(&again["tags"]), ["kept"]);
    assert_eq!(
        again["imageProperty"]["dominantColor"], "#020202",
        "the new bytes' colour"
    );
    let third = put_ok(
        &s,
        "/o/x.png",
        solid(4, 4, [3, 3, 3]),
        "overwrite=true&tags=new",
    );
    assert_eq!(str_list(&third["tags"]), ["new"]);
    let got = s.json(Method::GET, &format!("images/{}", id_of(&first)), None);
    assert_eq!(str_list(&got["file"]["tags"]), ["new"]);
}

#[test]
fn dominant_colour_and_ratio_come_from_the_image() {
    let s = Server::start();
    let red = put_ok(&s, "/c/red.png", solid(40, 30, [0x12, 0x34, 0x56]), "");
    assert_eq!(
        red["imageProperty"]["dominantColor"], "#123456",
        "exactly its colour"
    );
    assert_eq!(red["imageProperty"]["ratio"], json!(1.3333));

    // 20 rows of green over 30 rows of red: red holds the majority.
    let two = png(10, 50, [200, 0, 0, 255], [0, 200, 0, 255], 20);
    let two = put_ok(&s, "/c/two.png", two, "");
    assert_eq!(two["imageProperty"]["dominantColor"], "#c80000");
    assert_eq!(two["imageProperty"]["ratio"], json!(0.2));

    let clear = put_ok(&s, "/c/clear.png", png(8, 8, [0, 0, 0, 0], [0; 4], 0), "");
    assert_eq!(
        clear["imageProperty"]["dominantColor"],
        Value::Null,
        "no opaque pixel: no colour"
    );

    // A corpus image small enough to be read whole: the reference is computed here from
    // another decoder's pixels.
    let rel = "formats/png_palette_8bit_290x442.png";
    let palette = put_ok(&s, "/c/palette.png", corpus(rel), "");
    let expected = reference_colour(&corpus(rel));
    assert_eq!(
        palette["imageProperty"]["dominantColor"],
        format!("#{:02x}{:02x}{:02x}", expected[0], expected[1], expected[2])
    );
    assert_eq!(
        palette["imageProperty"]["ratio"],
        json!(0.6561),
        "290 / 442"
    );

    let gif = put_ok(
        &s,
        "/c/photo.gif",
        corpus("formats/gif_still_photo_800x533.gif"),
        "",
    );
    assert_eq!(gif["imageProperty"]["ratio"], json!(1.5009), "800 / 533");
    let tall = put_ok(&s, "/c/tall.jpg", corpus("edge/very_tall_50x8000.jpg"), "");
    assert_eq!(tall["imageProperty"]["ratio"], json!(0.0063), "50 / 8000");

    // A camera JPEG, read at 1/8 scale: its colour is one of the photo's most frequent.
    let photo = put_ok(
        &s,
        "/c/sky.jpg",
        corpus("orientation/camera_canon-a85_orientation_8_stored-portrait_1704x2272.jpg"),
        "",
    );
    let hex = photo["imageProperty"]["dominantColor"]
        .as_str()
        .expect("a colour");
    let got = parse_hex(hex);
    let sky = reference_colour(&corpus(
        "orientation/camera_canon-a85_orientation_8_stored-portrait_1704x2272.jpg",
    ));
    for c in 0..3 {
        assert!(got[c].abs_diff(sky[c]) <= 4, "{hex} against {sky:?}");
    }
    assert_eq!(photo["imageProperty"]["ratio"], json!(0.75), "1704 / 2272");

    let listed = s.json(Method::GET, "folders?basepath=/c", None);
    let listed_red = listed["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["name"] == "red.png")
        .expect("red.png listed");
    assert_eq!(listed_red["imageProperty"], red["imageProperty"]);
}

/// `#rrggbb` as three channels.
fn parse_hex(hex: &str) -> [u8; 3] {
    assert!(hex.len() == 7 && hex.starts_with('#'), "{hex}");
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits");
    [channel(1), channel(3), channel(5)]
}

/// The dominant colour as defined (fullest 4-bit bucket, mean within it, transparent pixels
/// left out) over a full-size decode by the `image` crate.
fn reference_colour(bytes: &[u8]) -> [u8; 3] {
    let img = image::load_from_memory(bytes).expect("decode").into_rgba8();
    let mut buckets = vec![[0u64; 4]; 4096];
    for p in img.pixels().filter(|p| p.0[3] > 0) {
        let [r, g, b, _] = p.0;
        let i = usize::from(r >> 4) * 256 + usize::from(g >> 4) * 16 + usize::from(b >> 4);
        buckets[i][0] += 1;
        buckets[i][1] += u64::from(r);
        buckets[i][2] += u64::from(g);
        buckets[i][3] += u64::from(b);
    }
    let most = buckets.iter().map(|b| b[0]).max().expect("buckets");
    let [n, r, g, b] = *buckets
        .iter()
        .find(|b| b[0] == most)
        .expect("the fullest bucket");
    let mean = |sum: u64| u8::try_from((sum + n / 2) / n).expect("a channel");
    [mean(r), mean(g), mean(b)]
}

/// Waits until a search finds `want` files (a produced file is stored by a task).
fn wait_for(s: &Server, query: &str, want: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = search(s, query);
        if found(&v).len() == want {
            return v;
        }
        assert!(Instant::now() < deadline, "{query}: still {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn searches_filter_by_each_criterion_and_page() {
    check_searches(&Server::start());
}

#[test]
fn searches_on_a_postgres_catalog() {
    let Some(server) = throwaway::server_or_skip("searches_on_a_postgres_catalog") else {
        return;
    };
    let db = test_database::TestDatabase::create(&server, "").expect("create a test database");
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let out = pictor()
        .args([
            "app",
            "create",
            "--name",
            "pg",
            "--catalog-url",
            &db.url,
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .expect("run pictor app create");
    assert!(out.status.success(), "{out:?}");
    let keys = AppKeys::from_json(&serde_json::from_slice(&out.stdout).expect("one JSON object"));
    let s = Server::spawn(&data, keys, &[("PICTOR_CATALOG_URL", &db.url)]);
    check_searches(&s);
    let file = put_ok(&s, "/pg/x.png", solid(4, 4, [7, 8, 9]), "tags=b,a");
    assert_eq!(str_list(&file["tags"]), ["a", "b"]);
    assert_eq!(file["imageProperty"]["dominantColor"], "#070809");
    let v = put_tags(&s, &id_of(&file), json!({"tags": ["c"]}));
    assert_eq!(str_list(&v["file"]["tags"]), ["c"]);
}

/// Files in several folders, one produced by a task, searched with each filter, paged, and
/// asked with bad inputs.
fn check_searches(s: &Server) {
    let thumb = s.put_operation(
        "thumb",
        json!({"realtimeService": true, "data": [{"templateOperationId": "resize_max_fit",
               "option": {"width": 4, "height": 4}}]}),
    );
    assert_code(&thumb, 0);
    let first = put_ok(
        s,
        "/s/a/one.png",
        solid(8, 8, [10, 10, 10]),
        "tags=sea,summer",
    );
    put_ok(
        s,
        "/s/a/deep/two.png",
        solid(8, 8, [20, 20, 20]),
        "tags=sea",
    );
    put_ok(s, "/s/a-b/three.png", solid(8, 8, [30, 30, 30]), "tags=sea");
    // A second later, so that a time bound falls between the uploads.
    std::thread::sleep(Duration::from_millis(1100));
    let late = put_ok(
        s,
        "/s/late.png",
        solid(8, 8, [40, 40, 40]),
        "tags=summer&operationIds=thumb",
    );

    // The produced file appears once its task ran; produced files have no colour.
    let produced = wait_for(s, "createdBy=P", 1);
    assert_eq!(found(&produced), ["/s/late_thumb.png"]);
    assert_eq!(produced["files"][0]["createdBy"], "P");
    assert_eq!(
        produced["files"][0]["imageProperty"]["dominantColor"],
        Value::Null
    );
    assert_eq!(
        produced["paging"],
        json!({"page": 1, "rows": 100, "totalCount": 1})
    );

    let by_tag = search(s, "tag=sea");
    assert_eq!(
        found(&by_tag),
        ["/s/a-b/three.png", "/s/a/deep/two.png", "/s/a/one.png"],
        "newest first"
    );
    assert_eq!(by_tag["paging"]["totalCount"], 3);
    assert_eq!(
        found(&search(s, "tag=summer")),
        ["/s/late.png", "/s/a/one.png"]
    );
    assert_eq!(
        found(&search(s, "tag=%20summer%20")),
        ["/s/late.png", "/s/a/one.png"]
    );
    assert!(
        found(&search(s, "tag=Sea")).is_empty(),
        "tags are case-sensitive"
    );
    assert_eq!(search(s, "createdBy=U")["paging"]["totalCount"], 4);
    assert_eq!(
        found(&search(s, "basepath=/s/a")),
        ["/s/a/deep/two.png", "/s/a/one.png"],
        "below /s/a at any depth, not /s/a-b"
    );
    assert_eq!(
        found(&search(s, "basepath=/s/a&tag=summer")),
        ["/s/a/one.png"],
        "filters combine"
    );

    // `late` was updated at least a second after the others: its updatedAt (whole seconds,
    // the guide's form) bounds them. `from` is inclusive, `to` exclusive.
    let at = late["updatedAt"].as_str().expect("updatedAt");
    let early = first["updatedAt"].as_str().expect("updatedAt");
    assert_ne!(at, early);
    let from = format!("createdBy=U&from={}", encode_query(at).replace('+', "%2B"));
    assert_eq!(found(&search(s, &from)), ["/s/late.png"]);
    let to = format!("createdBy=U&to={}", at.replace('+', "%2B"));
    assert_eq!(search(s, &to)["paging"]["totalCount"], 3);
    let unencoded_plus = format!("createdBy=U&from={at}");
    assert_eq!(
        found(&search(s, &unencoded_plus)),
        ["/s/late.png"],
        "a `+` sent unencoded reads as a space and is taken as `+`"
    );
    let iso = chrono::DateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S%z")
        .expect("the guide's form")
        .to_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert_eq!(
        found(&search(s, &format!("createdBy=U&from={iso}"))),
        ["/s/late.png"],
        "RFC 3339 in UTC"
    );

    // Paging: rows per page, totalCount over all pages, pages in one order.
    let mut walked = Vec::new();
    for page in 1..=3 {
        let v = search(s, &format!("createdBy=U&rows=2&page={page}"));
        assert_eq!(
            v["paging"],
            json!({"page": page, "rows": 2, "totalCount": 4})
        );
        walked.extend(found(&v));
    }
    assert_eq!(
        walked,
        [
            "/s/late.png",
            "/s/a-b/three.png",
            "/s/a/deep/two.png",
            "/s/a/one.png"
        ]
    );
    let everything = search(s, "page=1");
    assert_eq!(
        everything["paging"]["totalCount"], 5,
        "every file, both kinds"
    );

    // Bad inputs.
    for (query, code) in [
        ("createdBy=X", 10001),
        ("from=yesterday", 10001),
        ("to=2016-02-26", 10001),
        (
            "from=2016-02-27T00:00:00%2B0900&to=2016-02-26T00:00:00%2B0900",
            10001,
        ),
        ("tag=a,b", 10001),
        ("page=0", 10001),
        ("rows=0", 10001),
        ("rows=10001", 11003),
        ("basepath=/nowhere", 20001),
        ("basepath=/s/../x", 11050),
    ] {
        let v = search(s, query);
        assert_eq!(v["header"]["resultCode"], code, "{query}: {v}");
    }
    let long_tag = format!("tag={}", "x".repeat(65));
    assert_code(&search(s, &long_tag), 10001);
}
