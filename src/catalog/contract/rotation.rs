//! The contract of replacing a file's version only while it still holds the one the new
//! version was made from (`replace_file_version`, used by rotation).

use super::shared::{expect, DELIVERY};
use super::{dropped, file, folder_time, operation, put, with_app, APP};
use crate::catalog::{Catalog, CatalogError, Change, FeedEvent, FileRecord, OnConflict};

/// The new version of `f`, as a rotation makes it: new bytes, the sides swapped, a new time.
fn turned(f: &FileRecord, at: i64) -> FileRecord {
    FileRecord {
        id: f.id.clone(),
        path: "/ignored/elsewhere.jpg".to_owned(),
        bytes: f.bytes + 1,
        blob_key: format!("blob-turned-{at}"),
        etag: format!("etag-turned-{at}"),
        content_type: "image/png".to_owned(),
        width: f.height,
        height: f.width,
        taken_at: f.taken_at,
        lat: f.lat,
        lng: Some(2.5),
        created_at: at,
        updated_at: at,
        ..file("/ignored.jpg", at, None)
    }
}

pub(super) async fn a_version_replaces_only_the_version_it_was_made_from(c: &dyn Catalog) {
    with_app(c).await;
    let source = put(c, file("/a/x.jpg", 10, None)).await;
    c.put_operation(APP, &operation("w", 10))
        .await
        .expect("operation");
    let produced = put(c, file("/a/x_w.jpg", 11, Some(&source))).await;
    let folder_before = folder_time(c, "/a").await;

    let new = turned(&source, 20);
    let outcome = c
        .replace_file_version(APP, new.clone(), &source.blob_key)
        .await
        .expect("replace")
        .expect("the version it was made from is current");
    assert!(outcome.overwritten);
    assert_eq!(outcome.orphaned_blobs, vec![source.blob_key.clone()]);
    let want = FileRecord {
        bytes: new.bytes,
        blob_key: new.blob_key.clone(),
        etag: new.etag.clone(),
        content_type: new.content_type.clone(),
        width: source.height,
        height: source.width,
        lng: Some(2.5),
        updated_at: 20,
        ..source.clone()
    };
    assert_eq!(
        outcome.file, want,
        "id, path, origin and creation time stay"
    );
    assert_eq!(
        c.file_by_id(APP, &source.id).await.expect("read"),
        Some(want.clone())
    );
    assert_eq!(dropped(c).await, vec![source.blob_key.clone()]);
    assert_eq!(
        c.produced_from(APP, &source.id).await.expect("produced"),
        vec![produced],
        "the files produced from it stay"
    );
    assert_eq!(
        folder_time(c, "/a").await,
        folder_before,
        "no entry was added or removed"
    );

    let stale = c
        .replace_file_version(APP, turned(&source, 30), &source.blob_key)
        .await
        .expect("refused, not failed");
    assert_eq!(stale, None, "made from a version that is gone");
    assert_eq!(
        c.file_by_id(APP, &source.id).await.expect("read"),
        Some(want.clone()),
        "nothing changed"
    );
    assert_eq!(dropped(c).await, vec![source.blob_key.clone()]);

    let overwritten = c
        .put_file(APP, file("/a/x.jpg", 40, None), OnConflict::Overwrite)
        .await
        .expect("overwrite")
        .file;
    assert_eq!(
        c.replace_file_version(APP, turned(&want, 50), &want.blob_key)
            .await
            .expect("refused"),
        None,
        "an upload in between wins"
    );
    assert_eq!(
        c.file_by_id(APP, &source.id).await.expect("read"),
        Some(overwritten)
    );

    let p = c
        .file_by_path(APP, "/a/x_w.jpg")
        .await
        .expect("read")
        .expect("produced");
    let replaced = c
        .replace_file_version(APP, turned(&p, 60), &p.blob_key)
        .await
        .expect("replace")
        .expect("current")
        .file;
    assert_eq!(
        (
            replaced.created_by,
            replaced.operation_id,
            replaced.source_id,
            replaced.variant
        ),
        (p.created_by, p.operation_id, p.source_id, p.variant),
        "a produced file keeps its origin"
    );
}

pub(super) async fn a_deleted_file_stays_deleted(c: &dyn Catalog) {
    with_app(c).await;
    let f = put(c, file("/y.jpg", 10, None)).await;
    let unknown = FileRecord {
        id: "no-such-id".to_owned(),
        ..turned(&f, 20)
    };
    assert!(matches!(
        c.replace_file_version(APP, unknown, &f.blob_key).await,
        Err(CatalogError::NotFound(_))
    ));
    assert!(matches!(
        c.replace_file_version("other-app", turned(&f, 20), &f.blob_key)
            .await,
        Err(CatalogError::NotFound(_))
    ));
    c.delete_file(APP, &f.id, false).await.expect("delete");
    assert!(matches!(
        c.replace_file_version(APP, turned(&f, 30), &f.blob_key)
            .await,
        Err(CatalogError::NotFound(_))
    ));
    assert_eq!(c.file_by_path(APP, "/y.jpg").await.expect("read"), None);
    assert_eq!(c.file_by_id(APP, &f.id).await.expect("read"), None);
}

/// A replaced version reaches the change feed of another handle as a change of its source
/// path.
pub(super) async fn a_replaced_version_reaches_the_feed(
    writer: &dyn Catalog,
    reader: &dyn Catalog,
) {
    let mut feed = reader
        .subscribe_changes()
        .await
        .expect("subscribe")
        .expect("a shared catalog has a change feed");
    with_app(writer).await;
    let f = put(writer, file("/r/z.jpg", 1, None)).await;
    // A new entry may be announced too; the app's change after it ends what it sent.
    writer
        .set_realtime_service(APP, true)
        .await
        .expect("realtime");
    let sentinel = FeedEvent::Change(Change::App {
        app_key: APP.to_owned(),
    });
    while tokio::time::timeout(DELIVERY, feed.recv())
        .await
        .expect("the sentinel arrives")
        .expect("the feed stays open")
        != sentinel
    {}
    writer
        .replace_file_version(APP, turned(&f, 2), &f.blob_key)
        .await
        .expect("replace")
        .expect("current");
    let want = Change::Source {
        app_key: APP.to_owned(),
        path: "/r/z.jpg".to_owned(),
    };
    expect(&mut feed, "a replaced version", &[want]).await;
}
