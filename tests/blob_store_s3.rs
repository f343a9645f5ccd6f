//! The blob store on a real S3 server (a throwaway SeaweedFS, or the server
//! `PICTOR_TEST_S3_ENDPOINT` names; skipped with a note when there is neither, see
//! `common/s3.rs`): puts, whole and ranged reads, listing and deletion, keys under a URL prefix,
//! multipart uploads, refused credentials and missing objects, each failure counted once.
//! What the server holds is checked with the harness's own signed requests.

mod common;

use bytes::Bytes;
use common::S3;
use futures_util::TryStreamExt;
use pictor::storage::{
    BlobError, BlobStore, ClientSettings, MultipartSettings, S3Settings, Settings,
};
use prometheus::IntCounter;
use std::path::PathBuf;
use std::time::Duration;

const MIB: usize = 1024 * 1024;

/// Settings for `url` on `s3` signed with `secret`, uploading objects over `threshold` bytes
/// in parts of 5 MiB.
fn settings(s3: &S3, url: &str, secret: &str, threshold: u64) -> Settings {
    Settings {
        url: url.to_owned(),
        default_dir: PathBuf::from("/nonexistent"),
        s3: S3Settings {
            endpoint: Some(s3.endpoint.clone()),
            region: Some(s3.region.clone()),
            access_key_id: Some(s3.access_key.clone()),
            secret_access_key: Some(secret.to_owned()),
            allow_http: Some(true),
            virtual_hosted_style: false,
        },
        client: ClientSettings {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            max_retries: 1,
            retry_timeout: Duration::from_secs(10),
        },
        multipart: MultipartSettings {
            threshold,
            part_size: 5 * MIB,
        },
    }
}

/// A store on `url` and its failure counter.
fn open(s3: &S3, url: &str, threshold: u64) -> (BlobStore, IntCounter) {
    let failures = IntCounter::new("blob_failures", "test").expect("counter");
    let store = BlobStore::open(
        &settings(s3, url, &s3.secret_key, threshold),
        failures.clone(),
    )
    .expect("open the S3 store");
    (store, failures)
}

async fn collect(store: &BlobStore, key: &str, range: Option<std::ops::Range<u64>>) -> Vec<u8> {
    let parts: Vec<Bytes> = store
        .stream(key, range)
        .await
        .expect("stream opens")
        .try_collect()
        .await
        .expect("stream reads to its end");
    parts.concat()
}

/// Bytes that differ from part to part, so parts joined out of order would show.
fn pattern(len: usize) -> Bytes {
    (0..len)
        .map(|i| u8::try_from((i / 7919 + i) % 251).expect("< 251"))
        .collect::<Vec<u8>>()
        .into()
}

#[tokio::test]
async fn put_read_range_list_delete() {
    let Some(s3) = S3::get() else { return };
    let bucket = s3.bucket("roundtrip");
    let (store, failures) = open(s3, &format!("s3://{bucket}"), 16 * MIB as u64);
    let key = BlobStore::new_key("abcdefgh");
    store
        .put(&key, Bytes::from_static(b"0123456789"))
        .await
        .expect("put");
    assert_eq!(
        s3.keys(&bucket, ""),
        std::slice::from_ref(&key),
        "one object, under its key"
    );
    assert_eq!(store.read(&key).await.expect("read"), &b"0123456789"[..]);
    assert_eq!(collect(&store, &key, None).await, b"0123456789");
    assert_eq!(collect(&store, &key, Some(2..5)).await, b"234");
    let listed = store.list().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].key, key);
    let age_ms = pictor::clock::now_ms() - listed[0].modified_at;
    assert!(
        (-60_000..60_000).contains(&age_ms),
        "modified {age_ms} ms ago"
    );

    store.delete(&key).await.expect("delete");
    assert!(s3.keys(&bucket, "").is_empty(), "the object is gone");
    store
        .delete(&key)
        .await
        .expect("deleting a missing object is fine");
    assert_eq!(failures.get(), 0, "no call failed");
}

#[tokio::test]
async fn keys_live_under_the_url_prefix() {
    let Some(s3) = S3::get() else { return };
    let bucket = s3.bucket("prefix");
    let (store, failures) = open(s3, &format!("s3://{bucket}/pictor/prod/"), 16 * MIB as u64);
    store
        .put("c/ab/key", Bytes::from_static(b"bytes"))
        .await
        .expect("put");
    assert_eq!(s3.keys(&bucket, ""), ["pictor/prod/c/ab/key"]);
    let listed: Vec<String> = store
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|b| b.key)
        .collect();
    assert_eq!(
        listed,
        ["c/ab/key"],
        "keys are read back without the prefix"
    );
    assert_eq!(store.read("c/ab/key").await.expect("read"), &b"bytes"[..]);
    store.delete("c/ab/key").await.expect("delete");
    assert!(s3.keys(&bucket, "").is_empty());
    assert_eq!(failures.get(), 0);
}

#[tokio::test]
async fn objects_above_the_threshold_go_up_in_parts() {
    let Some(s3) = S3::get() else { return };
    let bucket = s3.bucket("multipart");
    let (store, failures) = open(s3, &format!("s3://{bucket}"), MIB as u64);
    let bytes = pattern(11 * MIB + 12_345);
    store.put("c/ab/big", bytes.clone()).await.expect("put");
    assert_eq!(s3.keys(&bucket, ""), ["c/ab/big"]);
    let (status, uploads) = s3
        .request("GET", &format!("/{bucket}"), &[("uploads", "")], &[])
        .expect("list multipart uploads");
    assert_eq!(status, 200);
    assert!(
        !String::from_utf8_lossy(&uploads).contains("<UploadId>"),
        "no upload is left open"
    );
    assert_eq!(store.read("c/ab/big").await.expect("read"), bytes);
    let across = (5 * MIB - 10) as u64..(5 * MIB + 10) as u64;
    let start = usize::try_from(across.start).expect("fits");
    let end = usize::try_from(across.end).expect("fits");
    assert_eq!(
        collect(&store, "c/ab/big", Some(across)).await,
        &bytes[start..end],
        "a range across a part boundary"
    );
    assert_eq!(failures.get(), 0);
}

#[tokio::test]
async fn wrong_credentials_are_refused_and_counted() {
    let Some(s3) = S3::get() else { return };
    let bucket = s3.bucket("credentials");
    let impostor = s3.with_secret("not-the-secret");
    let (status, _) = impostor
        .request("GET", &format!("/{bucket}"), &[("list-type", "2")], &[])
        .expect("the server answers");
    assert_eq!(status, 403, "the server checks signatures");

    let failures = IntCounter::new("blob_failures", "test").expect("counter");
    let store = BlobStore::open(
        &settings(s3, &format!("s3://{bucket}"), "not-the-secret", MIB as u64),
        failures.clone(),
    )
    .expect("opening sends nothing");
    let put = store.put("c/ab/key", Bytes::from_static(b"bytes")).await;
    assert!(matches!(put, Err(BlobError::Store(_))), "{put:?}");
    assert_eq!(failures.get(), 1);
    let big = store.put("c/ab/big", pattern(2 * MIB)).await;
    assert!(matches!(big, Err(BlobError::Store(_))), "{big:?}");
    assert_eq!(failures.get(), 2);
    assert!(store.list().await.is_err());
    assert_eq!(failures.get(), 3);
    let read = store.read("c/ab/key").await;
    assert!(read.is_err(), "{read:?}");
    assert_eq!(failures.get(), 4, "each failed call counts once");
    assert!(s3.keys(&bucket, "").is_empty(), "nothing was written");
}

#[tokio::test]
async fn a_missing_object_is_not_found_and_counted() {
    let Some(s3) = S3::get() else { return };
    let bucket = s3.bucket("missing");
    let (store, failures) = open(s3, &format!("s3://{bucket}"), 16 * MIB as u64);
    let read = store.read("c/ab/never").await;
    assert!(matches!(read, Err(BlobError::NotFound(_))), "{read:?}");
    assert_eq!(failures.get(), 1, "a referenced blob that is gone is lost");
    let stream = store.stream("c/ab/never", Some(0..4)).await.map(drop);
    assert!(matches!(stream, Err(BlobError::NotFound(_))), "{stream:?}");
    assert_eq!(failures.get(), 2);
    store
        .delete("c/ab/never")
        .await
        .expect("a missing object is no failure of delete");
    assert_eq!(failures.get(), 2);
}
