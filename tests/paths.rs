//! Path rules: name and path lengths, forbidden characters, `.`/`..` and empty segments, and
//! delivery paths that try to leave the container.

mod common;

use common::{assert_result, assert_result_for, corpus, Server};
use reqwest::Method;

const GIF: &str = "edge/tiny_10x10.gif";

fn upload_code(s: &Server, path: &str) -> i64 {
    let v = s.upload(path, corpus(GIF), "");
    v["header"]["resultCode"]
        .as_i64()
        .unwrap_or_else(|| panic!("resultCode in {v}"))
}

fn assert_nothing_stored(s: &Server) {
    let root = s.json(Method::GET, "folders?basepath=/", None);
    assert_eq!(root["paging"]["totalFileCount"], 0, "{root}");
    let folders: Vec<&str> = root["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert!(
        folders.iter().all(|f| *f == "valid"),
        "refused uploads created folders: {folders:?}"
    );
}

#[test]
fn name_length_is_1_to_255_characters() {
    let s = Server::start();
    let cases = [
        (format!("/valid/{}.gif", "n".repeat(252)), 11002),
        (format!("/{}/pic.gif", "d".repeat(256)), 11002),
    ];
    for (path, code) in &cases {
        let v = s.upload(path, corpus(GIF), "");
        assert_result_for(&v, *code, path);
    }
    // The bounds themselves are accepted.
    for path in [
        "/valid/b".to_owned(),
        "/valid/x/pic.gif".to_owned(),
        format!("/valid/{}.gif", "n".repeat(251)),
        format!("/valid/{}/pic.gif", "d".repeat(255)),
        // 254 characters but 754 bytes: the name limit counts characters.
        format!("/valid/{}.gif", "가".repeat(250)),
    ] {
        let v = s.upload(&path, corpus(GIF), "");
        assert_result_for(&v, 0, &path);
        assert_eq!(v["file"]["path"], path.as_str());
        assert_eq!(s.get(&s.url_of(&path)).status(), 200, "{path}");
    }
    let root = s.json(Method::GET, "folders?basepath=/", None);
    assert_eq!(root["paging"]["totalFolderCount"], 1, "only /valid: {root}");
}

#[test]
fn full_path_is_at_most_1024_bytes() {
    let s = Server::start();
    // "/valid" + 4 x ("/" + 200 chars) = 810 bytes, then a file name filling up to the limit.
    let mut base = "/valid".to_owned();
    for i in 0..4 {
        base.push('/');
        base.push_str(&format!("{i}").repeat(200));
    }
    let fill = 1024 - base.len() - 1 - 4;
    let exact = format!("{base}/{}.gif", "f".repeat(fill));
    assert_eq!(exact.len(), 1024);
    let v = s.upload(&exact, corpus(GIF), "");
    assert_result(&v, 0);
    assert_eq!(v["file"]["path"], exact.as_str());
    let over = format!("{base}/{}.gif", "f".repeat(fill + 1));
    assert_eq!(over.len(), 1025);
    assert_result(&s.upload(&over, corpus(GIF), ""), 11001);
    assert_eq!(s.get(&s.url_of(&over)).status(), 404);
    let far = format!("/{}", "abcdefghi/".repeat(120));
    assert_result(&s.upload(&format!("{far}x1.gif"), corpus(GIF), ""), 11001);
    // Multi-byte characters count as bytes in the full path.
    let korean = format!("/valid/{}/{}.gif", "가".repeat(200), "나".repeat(150));
    assert!(korean.len() > 1024);
    assert_result(&s.upload(&korean, corpus(GIF), ""), 11001);
}

#[test]
fn forbidden_characters_are_11050() {
    let s = Server::start();
    for c in [
        '~', '\\', ':', '?', '*', '"', '¦', '\u{0}', '\u{1}', '\t', '\n', '\u{1f}', '\u{7f}',
    ] {
        let path = format!("/valid/bad{c}name.gif");
        assert_eq!(upload_code(&s, &path), 11050, "name with {c:?}");
        let folder = format!("/bad{c}dir/ok.gif");
        assert_eq!(upload_code(&s, &folder), 11050, "folder with {c:?}");
    }
    assert_nothing_stored(&s);
}

#[test]
fn dot_segments_and_empty_segments() {
    let s = Server::start();
    for path in [
        "/valid/../x1.gif",
        "/../x1.gif",
        "/../../etc/passwd",
        "/valid/./x1.gif",
        "/./x1.gif",
        "/valid/sub/../../x1.gif",
        "/valid/..",
        "/valid/.",
    ] {
        assert_eq!(upload_code(&s, path), 11050, "{path}");
    }
    for path in ["/valid//x1.gif", "//x1.gif", "/valid/sub//x1.gif"] {
        assert_eq!(upload_code(&s, path), 11060, "{path}");
    }
    assert_nothing_stored(&s);
    // Names that merely contain dots are fine.
    for path in ["/valid/..dots..gif", "/valid/a.b.c.gif", "/valid/...."] {
        let v = s.upload(path, corpus(GIF), "");
        assert_result_for(&v, 0, path);
        assert_eq!(s.get(&s.url_of(path)).status(), 200, "{path}");
    }
}

#[test]
fn folder_api_applies_the_same_rules() {
    let s = Server::start();
    let long_name = format!("/valid/{}", "q".repeat(256));
    for (path, code) in [
        ("/valid/../up", 11050),
        ("/valid/./here", 11050),
        ("/valid//empty", 11060),
        ("/valid/bad?name", 11050),
        ("/valid/bad\u{0}name", 11050),
        (long_name.as_str(), 11002),
    ] {
        let v = s.mkdir(path);
        assert_result_for(&v, code, path);
    }
    let long = format!("/valid{}", "/abcdefghi".repeat(102));
    assert!(long.len() > 1024);
    assert_result(&s.mkdir(&long), 11001);
    assert_nothing_stored(&s);
}

#[test]
fn delivery_cannot_leave_the_container() {
    let s = Server::start();
    assert_result(&s.upload("/ok/a1.gif", corpus(GIF), ""), 0);
    let c = &s.app.container;
    let attempts = [
        format!("/{c}/ok/../../etc/passwd"),
        format!("/{c}/../catalog.sqlite3"),
        format!("/{c}/ok/%2e%2e/%2e%2e/etc/passwd"),
        format!("/{c}/%2e%2e/catalog.sqlite3"),
        format!("/{c}/ok/..%2f..%2fcatalog.sqlite3"),
        format!("/{c}/ok/%5c..%5c..%5ccatalog.sqlite3"),
        format!("/{c}/ok/a1.gif%00.png"),
        format!("/{c}/%2fetc%2fpasswd"),
        format!("/{c}//etc/passwd"),
        "/../../../../etc/passwd".to_owned(),
        "/catalog.sqlite3".to_owned(),
        "/blobs".to_owned(),
    ];
    for target in &attempts {
        let r = s.raw_get(target);
        assert!(
            r.status == 400 || r.status == 404,
            "{target}: status {} (expected 400 or 404)",
            r.status
        );
        assert!(
            !r.body.starts_with(b"SQLite format 3") && !r.body.starts_with(b"root:"),
            "{target} leaked a file"
        );
    }
    // The legitimate file is still served.
    let ok = s.raw_get(&format!("/{c}/ok/a1.gif"));
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, corpus(GIF));
}

#[test]
fn weird_names_stay_inside_the_data_dir() {
    let s = Server::start();
    for path in [
        "/valid/a%2F..%2F..%2Fx1.gif",
        "/valid/%2e%2e",
        "/valid/semi;colon.gif",
    ] {
        let v = s.upload(path, corpus(GIF), "");
        assert_result(&v, 0);
        assert_eq!(v["file"]["path"], path, "stored literally");
        let resp = s.get(&s.url_of(path));
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.bytes().expect("body").as_ref(), corpus(GIF).as_slice());
    }
    let parent = s.data_dir.parent().expect("tempdir");
    let entries: Vec<String> = std::fs::read_dir(parent)
        .expect("read tempdir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["data"], "nothing written beside the data dir");
}
