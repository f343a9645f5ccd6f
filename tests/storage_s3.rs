//! `pictor serve` and `pictor check` with the image bytes in an S3 bucket, under a key prefix,
//! configured the way an operator would: `PICTOR_STORAGE_URL=s3://bucket/prefix` and the
//! standard `AWS_*` variables. The server is SeaweedFS or the one `PICTOR_TEST_S3_ENDPOINT`
//! names (see `common/s3.rs`; skipped with a note when there is none). What the bucket holds is
//! listed with the harness's own signed requests.

mod common;

use common::{assert_result, corpus, create_app, dims, pictor, Server, S3};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";
const PREFIX: &str = "pictor/prod";

/// The variables that put a `pictor` process's bytes in `bucket` under [`PREFIX`].
fn s3_env(s3: &S3, bucket: &str) -> Vec<(&'static str, String)> {
    let mut env = s3.env();
    env.push(("PICTOR_STORAGE_URL", format!("s3://{bucket}/{PREFIX}")));
    env
}

fn as_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Waits (at most 30 s) until the bucket's keys under the prefix are `want`.
fn wait_for_keys(s3: &S3, bucket: &str, want: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut keys = s3.keys(bucket, &format!("{PREFIX}/"));
        keys.sort();
        if keys == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "bucket holds {keys:?}, expected {want:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs `pictor check [--repair]` on `data_dir` with `env`: its success and its report.
fn check(data_dir: &Path, env: &[(&'static str, String)], repair: bool) -> (bool, Value) {
    let mut cmd = pictor();
    cmd.args(["check", "--data-dir"]).arg(data_dir);
    if repair {
        cmd.arg("--repair");
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run pictor check");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check prints JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), report)
}

#[test]
fn originals_variants_and_deletions_live_in_the_bucket() {
    let Some(s3) = S3::get() else { return };
    let bucket = s3.bucket("serve");
    let mut env = s3_env(s3, &bucket);
    env.push(("PICTOR_STORAGE_RELEASE_DELAY_SECS", "1".to_owned()));
    let s = Server::start_with(&as_refs(&env));
    let photo = corpus(PHOTO);

    let file = s.upload_ok("/shop/photo.jpg", PHOTO);
    let originals = s3.keys(&bucket, "");
    assert_eq!(originals.len(), 1, "{originals:?}");
    let original = &originals[0];
    assert!(
        original.starts_with(&format!("{PREFIX}/{}/", s.app.container)),
        "{original} lies under the prefix, in the app's container"
    );

    let url = s.url("/shop/photo.jpg");
    let whole = s.get(&url);
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.bytes().expect("body").to_vec(), photo);
    let part = s
        .http
        .get(&url)
        .header("Range", "bytes=100-1099")
        .send()
        .expect("ranged GET");
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 100-1099/{}", photo.len()).as_str()
    );
    assert_eq!(part.bytes().expect("body").to_vec(), photo[100..1100]);

    let op = json!({"realtimeService": true, "data": [{"templateOperationId": "resize_max_fit",
                    "option": {"width": 200, "height": 200}}]});
    assert_result(&s.put_operation("fit200", op), 0);
    let variant = s.get(&format!("{url}?fit200"));
    assert_eq!(variant.status(), 200);
    assert_eq!(dims(&variant.bytes().expect("body")), (200, 150));
    // The result is stored as a P file, perhaps just after it was sent.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stored = s3.keys(&bucket, "");
    while stored.len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        stored = s3.keys(&bucket, "");
    }
    assert_eq!(stored.len(), 2, "the original and the result: {stored:?}");
    stored.retain(|k| k != original);

    let id = file["id"].as_str().expect("file id");
    let deleted = s.json(Method::DELETE, &format!("images/sync?fileId={id}"), None);
    assert_result(&deleted, 0);
    assert_eq!(s.get(&url).status(), 404);
    wait_for_keys(s3, &bucket, &stored);

    let listing = s.json(Method::GET, "folders?basepath=/shop", None);
    let result_id = listing["files"][0]["id"].as_str().expect("the P file");
    let deleted = s.json(
        Method::DELETE,
        &format!("images/sync?fileId={result_id}"),
        None,
    );
    assert_result(&deleted, 0);
    wait_for_keys(s3, &bucket, &[]);
}

#[test]
fn check_compares_the_catalog_with_the_bucket() {
    let Some(s3) = S3::get() else { return };
    let bucket = s3.bucket("check");
    let mut env = s3_env(s3, &bucket);
    env.push(("PICTOR_STORAGE_ORPHAN_GRACE_SECS", "0".to_owned()));
    // Every upload goes through the multipart path (one part each).
    env.push(("PICTOR_STORAGE_MULTIPART_THRESHOLD_BYTES", "1".to_owned()));
    let tmp = tempfile::tempdir().expect("tempdir");
    let data_dir = tmp.path().join("data");
    let app = create_app(&data_dir);
    let mut s = Server::spawn(&data_dir, app, &as_refs(&env));
    s.upload_ok("/shop/kept.jpg", PHOTO);
    s.upload_ok("/shop/lost.jpg", PHOTO);
    assert_eq!(s.terminate().code(), Some(0));

    let (clean, report) = check(&data_dir, &env, false);
    assert!(clean, "{report}");
    assert_eq!(report["files"], 2, "{report}");
    assert_eq!(report["stored"], 2, "{report}");

    let conn = rusqlite::Connection::open(data_dir.join("catalog.sqlite3")).expect("catalog");
    let lost: String = conn
        .query_row(
            "SELECT blob_key FROM files WHERE path = '/shop/lost.jpg'",
            [],
            |r| r.get(0),
        )
        .expect("file row");
    let object = |key: &str| format!("/{bucket}/{PREFIX}/{key}");
    let (status, _) = s3
        .request("DELETE", &object(&lost), &[], &[])
        .expect("lose the bytes");
    assert_eq!(status, 204);
    let orphan = format!("{}/ab/abcdef0123456789", s.app.container);
    let (status, _) = s3
        .request("PUT", &object(&orphan), &[], b"left by a crash")
        .expect("leave an orphan");
    assert_eq!(status, 200);

    let (clean, report) = check(&data_dir, &env, false);
    assert!(!clean, "problems give a failing status: {report}");
    assert_eq!(report["missing"][0]["path"], "/shop/lost.jpg", "{report}");
    assert_eq!(report["missing"][0]["blobKey"], lost.as_str(), "{report}");
    assert_eq!(report["orphans"], json!([orphan]), "{report}");

    let (_, repaired) = check(&data_dir, &env, true);
    assert_eq!(repaired["deleted"], 1, "{repaired}");
    let keys = s3.keys(&bucket, "");
    assert_eq!(
        keys.len(),
        1,
        "the orphan is deleted, the kept file stays: {keys:?}"
    );
    assert!(!keys.contains(&format!("{PREFIX}/{orphan}")));
}
