//! Zip archives in a multipart upload share one budget per request: the bytes all archives
//! really inflate to, and their entries together with the plain files. An overrun refuses the
//! whole request before anything is stored, and memory stays bounded while measuring.

mod common;

use common::{assert_result, corpus, Server};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Write;

const GIF: &str = "edge/tiny_10x10.gif";

/// An archive of `entries` entries of `each` zero bytes, deflated.
fn zeros_archive(entries: usize, each: usize) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let chunk = vec![0u8; 1 << 20];
    for i in 0..entries {
        zip.start_file(format!("zeros{i}.bmp"), opts)
            .expect("entry");
        let mut left = each;
        while left > 0 {
            let n = left.min(chunk.len());
            zip.write_all(&chunk[..n]).expect("write");
            left -= n;
        }
    }
    zip.finish().expect("zip").into_inner()
}

fn archive_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (name, bytes) in files {
        zip.start_file(*name, opts).expect("entry");
        zip.write_all(bytes).expect("write");
    }
    zip.finish().expect("zip").into_inner()
}

/// Peak resident memory of a process, in KiB (`VmHWM`).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc status")
}

fn total_files(s: &Server) -> Value {
    let root = s.json(Method::GET, "properties?path=/", None);
    root["folder"]["totalFileCount"].clone()
}

fn upload_form(basepath: &str, files: Vec<(String, Vec<u8>)>) -> Form {
    let mut form = Form::new().text("params", json!({ "basepath": basepath }).to_string());
    for (name, bytes) in files {
        form = form.part("files", Part::bytes(bytes).file_name(name));
    }
    form
}

#[test]
fn a_zip_bomb_over_many_archives_is_refused_with_bounded_memory() {
    let s = Server::start();
    let bomb = zeros_archive(6, 50_000_000);
    assert!(bomb.len() < 1_000_000, "3 GB of zeros deflate small");
    let mut files = vec![
        ("first.gif".to_owned(), corpus(GIF)),
        (
            "good.zip".to_owned(),
            archive_of(&[("inside.gif", corpus(GIF))]),
        ),
    ];
    files.extend((0..10).map(|i| (format!("bomb{i}.zip"), bomb.clone())));
    let v = s.multipart(upload_form("/bomb", files));
    assert_result(&v, 11004);
    let peak_mib = peak_rss_kib(s.child.id()) / 1024;
    assert!(
        peak_mib < 400,
        "server peak RSS {peak_mib} MiB while measuring 3 GB of archives"
    );
    assert_eq!(
        total_files(&s),
        0,
        "nothing of the refused request is stored"
    );
    assert_eq!(s.get(&s.url("/bomb/first.gif")).status(), 404);
    assert_eq!(s.get(&s.url("/bomb/inside.gif")).status(), 404);
}

#[test]
fn the_inflate_budget_is_shared_by_the_archives_of_a_request() {
    let s = Server::start_with(&[("PICTOR_LIMITS_MAX_INFLATED_BYTES", "10000000")]);
    let one = zeros_archive(1, 6_000_000);
    let v = s.multipart(upload_form("/one", vec![("a.zip".to_owned(), one.clone())]));
    assert_result(&v, 2);
    assert_eq!(v["errors"][0]["error"]["resultCode"], 10002, "zeros: {v}");
    let v = s.multipart(upload_form(
        "/two",
        vec![("a.zip".to_owned(), one.clone()), ("b.zip".to_owned(), one)],
    ));
    assert_result(&v, 11004);
}

#[test]
fn entries_are_counted_across_archives_with_the_plain_files() {
    let s = Server::start_with(&[("PICTOR_LIMITS_MAX_ITEMS", "4")]);
    let two = archive_of(&[("x1.gif", corpus(GIF)), ("x2.gif", corpus(GIF))]);
    let fits = vec![
        ("a.zip".to_owned(), two.clone()),
        ("p1.gif".to_owned(), corpus(GIF)),
        ("p2.gif".to_owned(), corpus(GIF)),
    ];
    assert_result(&s.multipart(upload_form("/fits", fits)), 0);
    assert_eq!(total_files(&s), 4);
    let over = vec![
        ("a.zip".to_owned(), two.clone()),
        ("b.zip".to_owned(), two),
        ("p1.gif".to_owned(), corpus(GIF)),
    ];
    assert_result(&s.multipart(upload_form("/over", over)), 11003);
    assert_eq!(
        total_files(&s),
        4,
        "nothing of the refused request is stored"
    );
}
