//! Leaked bytes: pending blob deletions survive a crash, and `pictor check [--repair]` finds
//! missing and orphaned blobs.

mod common;

use common::{corpus, pictor, Server};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";
const OTHER: &str = "photos/photo_icc_adobe-rgb_rocket_640x427.jpg";

fn blob_key(data_dir: &Path, path: &str) -> String {
    let conn = rusqlite::Connection::open(data_dir.join("catalog.sqlite3")).expect("open");
    conn.query_row("SELECT blob_key FROM files WHERE path = ?1", [path], |r| {
        r.get(0)
    })
    .expect("file row")
}

fn check(data_dir: &Path, repair: bool) -> (bool, Value) {
    let mut cmd = pictor();
    cmd.args(["check", "--data-dir"]).arg(data_dir);
    if repair {
        cmd.arg("--repair");
    }
    let out = cmd.output().expect("run pictor check");
    let v: Value = serde_json::from_slice(&out.stdout).expect("check prints JSON");
    (out.status.success(), v)
}

#[test]
fn replaced_bytes_are_deleted_after_a_crash() {
    let mut s = Server::start();
    s.upload_ok("/shop/photo.jpg", PHOTO);
    let old = s
        .data_dir
        .join("blobs")
        .join(blob_key(&s.data_dir, "/shop/photo.jpg"));
    let v = s.upload("/shop/photo.jpg", corpus(OTHER), "overwrite=true");
    assert_eq!(v["header"]["resultCode"], 0, "{v}");
    s.child.kill().expect("kill -9");
    s.child.wait().expect("wait");
    assert!(old.exists(), "the replaced bytes outlive the crash");

    let s2 = Server::spawn(
        &s.data_dir.clone(),
        s.app.clone(),
        &[("PICTOR_STORAGE_RELEASE_DELAY_SECS", "1")],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while old.exists() {
        assert!(Instant::now() < deadline, "{} never deleted", old.display());
        std::thread::sleep(Duration::from_millis(100));
    }
    let got = s2.get(&s2.url("/shop/photo.jpg"));
    assert_eq!(got.bytes().expect("body").to_vec(), corpus(OTHER));
}

#[test]
fn check_reports_missing_and_orphaned_blobs_and_repairs_orphans() {
    let mut s = Server::start();
    s.upload_ok("/shop/kept.jpg", PHOTO);
    s.upload_ok("/shop/lost.jpg", PHOTO);
    assert_eq!(s.terminate().code(), Some(0));
    let blobs = s.data_dir.join("blobs");
    let lost = blob_key(&s.data_dir, "/shop/lost.jpg");
    std::fs::remove_file(blobs.join(&lost)).expect("lose the bytes");

    let old_orphan = format!("{}/ab/abcdef0123456789", s.app.container);
    let young_orphan = format!("{}/ab/fedcba9876543210", s.app.container);
    for key in [&old_orphan, &young_orphan] {
        let path = blobs.join(key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, b"left by a crash").expect("write");
    }
    let file = std::fs::File::options()
        .write(true)
        .open(blobs.join(&old_orphan))
        .expect("open");
    file.set_modified(SystemTime::now() - Duration::from_secs(2 * 3600))
        .expect("age the orphan");

    let (ok, report) = check(&s.data_dir, false);
    assert!(!ok, "problems give a failing status: {report}");
    assert_eq!(report["files"], 2, "{report}");
    assert_eq!(report["stored"], 3, "{report}");
    assert_eq!(report["missing"][0]["path"], "/shop/lost.jpg", "{report}");
    assert_eq!(report["missing"][0]["blobKey"], lost.as_str(), "{report}");
    assert_eq!(
        report["orphans"],
        serde_json::json!([old_orphan]),
        "{report}"
    );
    assert_eq!(report["deleted"], 0);
    assert!(
        blobs.join(&old_orphan).exists(),
        "a plain check deletes nothing"
    );

    let (_, repaired) = check(&s.data_dir, true);
    assert_eq!(repaired["deleted"], 1, "{repaired}");
    assert!(!blobs.join(&old_orphan).exists());
    assert!(
        blobs.join(&young_orphan).exists(),
        "young blobs may be uploads in flight"
    );
    assert_eq!(repaired["missing"].as_array().map(Vec::len), Some(1));
}
