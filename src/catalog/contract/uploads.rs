//! The contract of resumable uploads: a bounded number per app, an offset that moves only by
//! compare and set, an upload that becomes a file in one transaction (or not at all), and
//! expired uploads listed for the sweep and deleted with their chunks.

use super::{app, dropped, file, put, sorted, with_app, APP};
use crate::catalog::{Advance, Catalog, CatalogError, OnConflict, Quota, Upload, UploadChunk};

/// An upload of `length` bytes of the test app, created at 1 and expiring at `expires_at`.
fn upload(id: &str, length: u64, expires_at: i64) -> Upload {
    Upload {
        id: id.to_owned(),
        app_key: APP.to_owned(),
        length,
        offset: 0,
        chunks: 0,
        metadata: format!("path {id}"),
        created_at: 1,
        expires_at,
    }
}

/// `bytes` bytes at `offset`, in a blob named after them.
fn chunk(offset: u64, bytes: u64) -> UploadChunk {
    UploadChunk {
        offset,
        bytes,
        blob_key: format!("chunk-{offset}-{bytes}"),
    }
}

async fn create(c: &dyn Catalog, u: &Upload) {
    assert!(
        c.create_upload(u, 100, 0).await.expect("create upload"),
        "{} is created",
        u.id
    );
}

pub(super) async fn uploads_are_bounded_per_app(c: &dyn Catalog) {
    with_app(c).await;
    c.create_app(&app("B", "other", 2)).await.expect("app");
    let now = 50;
    assert!(c
        .create_upload(&upload("u1", 10, 100), 2, now)
        .await
        .expect("create"));
    assert!(c
        .create_upload(&upload("u2", 10, 100), 2, now)
        .await
        .expect("create"));
    assert!(
        !c.create_upload(&upload("u3", 10, 100), 2, now)
            .await
            .expect("create"),
        "the app holds two"
    );
    assert_eq!(
        c.upload(APP, "u3").await.expect("read"),
        None,
        "not recorded"
    );
    let other = Upload {
        app_key: "B".to_owned(),
        ..upload("u4", 10, 100)
    };
    assert!(
        c.create_upload(&other, 2, now).await.expect("create"),
        "another app has its own bound"
    );
    assert!(
        c.create_upload(&upload("u5", 10, 100), 2, 100)
            .await
            .expect("create"),
        "uploads expired at `now` do not count"
    );
    let read = c.upload(APP, "u1").await.expect("read");
    assert_eq!(read, Some(upload("u1", 10, 100)));
    assert_eq!(
        c.upload("B", "u1").await.expect("read"),
        None,
        "an upload is found through its own app only"
    );
    assert_eq!(c.upload(APP, "nothing").await.expect("read"), None);
    assert!(c.upload_chunks(APP, "u1").await.expect("chunks").is_empty());
}

pub(super) async fn an_offset_moves_by_compare_and_set(c: &dyn Catalog) {
    with_app(c).await;
    create(c, &upload("u", 10, 100)).await;
    let first = c
        .append_upload_chunk(APP, "u", &chunk(0, 4), 200, 100)
        .await
        .expect("append");
    assert_eq!(first, Advance::Moved(4));
    for (stale, why) in [
        (chunk(0, 4), "the offset moved past 0"),
        (chunk(2, 2), "an offset inside the stored bytes"),
        (chunk(6, 2), "an offset past the stored bytes"),
        (chunk(4, 7), "past the length"),
        (chunk(4, 0), "no byte"),
    ] {
        let refused = c
            .append_upload_chunk(APP, "u", &stale, 300, 100)
            .await
            .expect("append");
        assert_eq!(refused, Advance::Stale(4), "{why}");
    }
    let read = c.upload(APP, "u").await.expect("read").expect("upload");
    assert_eq!(
        (read.offset, read.expires_at),
        (4, 200),
        "a refused chunk changes nothing"
    );
    // Two requests at one offset: one records its chunk, the other finds the offset moved.
    let (mine, rival) = (
        chunk(4, 3),
        UploadChunk {
            blob_key: "rival".to_owned(),
            ..chunk(4, 2)
        },
    );
    let (a, b) = tokio::join!(
        c.append_upload_chunk(APP, "u", &mine, 400, 100),
        c.append_upload_chunk(APP, "u", &rival, 400, 100),
    );
    let outcomes = [a.expect("append"), b.expect("append")];
    let won: Vec<&Advance> = outcomes
        .iter()
        .filter(|o| matches!(o, Advance::Moved(_)))
        .collect();
    assert_eq!(won.len(), 1, "exactly one wins: {outcomes:?}");
    let read = c.upload(APP, "u").await.expect("read").expect("upload");
    let chunks = c.upload_chunks(APP, "u").await.expect("chunks");
    assert_eq!(chunks.len(), 2, "{chunks:?}");
    assert_eq!(chunks[0], chunk(0, 4));
    assert_eq!(chunks[1].offset, 4);
    assert_eq!(
        read.offset,
        4 + chunks[1].bytes,
        "the offset is the end of the recorded chunks"
    );
    assert_eq!(read.expires_at, 400, "a recorded chunk moves the expiry");
    let loser = if chunks[1].blob_key == "rival" {
        outcomes[0]
    } else {
        outcomes[1]
    };
    assert_eq!(loser, Advance::Stale(read.offset));
    assert_eq!(read.chunks, 2, "the winner's chunk counts");
    let gone = c
        .append_upload_chunk(APP, "none", &chunk(0, 1), 1, 100)
        .await;
    assert!(matches!(gone, Err(CatalogError::NotFound(_))), "{gone:?}");
}

pub(super) async fn a_complete_upload_becomes_a_file_in_one_step(c: &dyn Catalog) {
    with_app(c).await;
    create(c, &upload("u", 10, 100)).await;
    c.append_upload_chunk(APP, "u", &chunk(0, 6), 100, 100)
        .await
        .expect("append");
    let f = file("/up/photo.jpg", 5, None);
    for (last, why) in [
        (chunk(0, 10), "not at the offset"),
        (chunk(6, 3), "short of the length"),
    ] {
        let refused = c
            .complete_upload(
                APP,
                "u",
                &last,
                f.clone(),
                OnConflict::Fail,
                Quota::default(),
            )
            .await
            .expect("complete");
        assert_eq!(refused, None, "{why}");
    }
    assert_eq!(c.file_by_path(APP, &f.path).await.expect("read"), None);

    // A refusal of the file leaves the upload as it was.
    let taken = put(c, file("/up/taken.jpg", 3, None)).await;
    let refused = c
        .complete_upload(
            APP,
            "u",
            &chunk(6, 4),
            file(&taken.path, 6, None),
            OnConflict::Fail,
            Quota::default(),
        )
        .await;
    assert!(
        matches!(refused, Err(CatalogError::FileExists(_))),
        "{refused:?}"
    );
    let kept = c.upload(APP, "u").await.expect("read").expect("kept");
    assert_eq!(kept.offset, 6);
    assert_eq!(c.upload_chunks(APP, "u").await.expect("chunks").len(), 1);
    assert!(dropped(c).await.is_empty(), "no blob dropped");

    let outcome = c
        .complete_upload(
            APP,
            "u",
            &chunk(6, 4),
            f.clone(),
            OnConflict::Fail,
            Quota::default(),
        )
        .await
        .expect("complete")
        .expect("completed");
    assert_eq!(outcome.file, f);
    assert_eq!(
        c.file_by_path(APP, &f.path).await.expect("read"),
        Some(f.clone()),
        "the file is recorded"
    );
    assert_eq!(c.upload(APP, "u").await.expect("read"), None, "gone");
    assert!(c.upload_chunks(APP, "u").await.expect("chunks").is_empty());
    assert_eq!(
        dropped(c).await,
        sorted(vec![chunk(0, 6).blob_key, chunk(6, 4).blob_key]),
        "every chunk, the last one included, is dropped"
    );
    let again = c
        .complete_upload(
            APP,
            "u",
            &chunk(6, 4),
            f,
            OnConflict::Overwrite,
            Quota::default(),
        )
        .await;
    assert!(matches!(again, Err(CatalogError::NotFound(_))), "{again:?}");

    // An overwrite replaces the file and drops its old bytes too.
    create(c, &upload("v", 3, 100)).await;
    let replaced = c
        .complete_upload(
            APP,
            "v",
            &chunk(0, 3),
            file(&taken.path, 9, None),
            OnConflict::Overwrite,
            Quota::default(),
        )
        .await
        .expect("complete")
        .expect("completed");
    assert!(replaced.overwritten);
    assert_eq!(replaced.file.id, taken.id, "the path keeps its id");
    assert!(dropped(c).await.contains(&taken.blob_key));
}

pub(super) async fn expired_uploads_are_listed_then_deleted(c: &dyn Catalog) {
    with_app(c).await;
    for (id, expires_at) in [("late", 30), ("early", 10), ("middle", 20)] {
        create(c, &upload(id, 10, expires_at)).await;
    }
    c.append_upload_chunk(APP, "early", &chunk(0, 2), 10, 100)
        .await
        .expect("append");
    c.append_upload_chunk(APP, "late", &chunk(0, 5), 30, 100)
        .await
        .expect("append");
    let ids = |uploads: Vec<Upload>| uploads.into_iter().map(|u| u.id).collect::<Vec<_>>();
    assert_eq!(
        ids(c.expired_uploads(20, 10).await.expect("expired")),
        ["early", "middle"],
        "expired at or before `now`, earliest first"
    );
    assert_eq!(
        ids(c.expired_uploads(100, 1).await.expect("expired")),
        ["early"],
        "limited"
    );
    assert!(c.expired_uploads(9, 10).await.expect("expired").is_empty());
    assert_eq!(
        c.upload_blob_keys().await.expect("keys"),
        sorted(vec![chunk(0, 2).blob_key, chunk(0, 5).blob_key])
    );

    let keys = c.delete_upload(APP, "early").await.expect("delete");
    assert_eq!(keys, [chunk(0, 2).blob_key]);
    assert_eq!(dropped(c).await, keys, "its chunks are dropped");
    assert_eq!(c.upload(APP, "early").await.expect("read"), None);
    assert_eq!(
        c.upload_blob_keys().await.expect("keys"),
        [chunk(0, 5).blob_key]
    );
    let again = c.delete_upload(APP, "early").await;
    assert!(matches!(again, Err(CatalogError::NotFound(_))), "{again:?}");
    let elsewhere = c.delete_upload("B", "late").await;
    assert!(
        matches!(elsewhere, Err(CatalogError::NotFound(_))),
        "another app's upload: {elsewhere:?}"
    );
    assert!(
        c.delete_upload(APP, "middle")
            .await
            .expect("delete")
            .is_empty(),
        "an upload without chunks"
    );
    assert_eq!(
        ids(c.expired_uploads(100, 10).await.expect("expired")),
        ["late"]
    );
}

pub(super) async fn an_upload_takes_a_bounded_number_of_chunks(c: &dyn Catalog) {
    with_app(c).await;
    create(c, &upload("u", 10, 100)).await;
    for offset in 0..2 {
        let moved = c
            .append_upload_chunk(APP, "u", &chunk(offset, 1), 100, 2)
            .await
            .expect("append");
        assert_eq!(moved, Advance::Moved(offset + 1));
    }
    let full = c
        .append_upload_chunk(APP, "u", &chunk(2, 1), 100, 2)
        .await
        .expect("append");
    assert_eq!(full, Advance::Full(2), "two chunks at most");
    let read = c.upload(APP, "u").await.expect("read").expect("upload");
    assert_eq!((read.offset, read.chunks), (2, 2));
    let stale = c
        .append_upload_chunk(APP, "u", &chunk(1, 1), 100, 2)
        .await
        .expect("append");
    assert_eq!(stale, Advance::Stale(2), "a stale offset is told first");
    let f = file("/whole.jpg", 3, None);
    let done = c
        .complete_upload(
            APP,
            "u",
            &chunk(2, 8),
            f.clone(),
            OnConflict::Fail,
            Quota::default(),
        )
        .await
        .expect("complete");
    assert_eq!(
        done.map(|o| o.file),
        Some(f),
        "the last chunk is taken whatever the count"
    );
}

pub(super) async fn a_complete_upload_is_held_to_the_quota(c: &dyn Catalog) {
    with_app(c).await;
    put(c, file("/a.jpg", 1, None)).await;
    create(c, &upload("u", 10, 100)).await;
    c.append_upload_chunk(APP, "u", &chunk(0, 4), 100, 100)
        .await
        .expect("append");
    let one_file = Quota {
        bytes: None,
        files: Some(1),
    };
    let f = file("/b.jpg", 2, None);
    let refused = c
        .complete_upload(
            APP,
            "u",
            &chunk(4, 6),
            f.clone(),
            OnConflict::Fail,
            one_file,
        )
        .await;
    assert!(
        matches!(refused, Err(CatalogError::QuotaExceeded)),
        "{refused:?}"
    );
    assert_eq!(c.file_by_path(APP, &f.path).await.expect("read"), None);
    let kept = c.upload(APP, "u").await.expect("read").expect("kept");
    assert_eq!(
        (kept.offset, kept.chunks),
        (4, 1),
        "the upload is as it was"
    );
    assert!(
        dropped(c).await.is_empty(),
        "nothing dropped: the caller holds the bytes"
    );
    assert_eq!(c.usage(APP).await.expect("usage").files, 1);
    let two_files = Quota {
        bytes: None,
        files: Some(2),
    };
    let done = c
        .complete_upload(
            APP,
            "u",
            &chunk(4, 6),
            f.clone(),
            OnConflict::Fail,
            two_files,
        )
        .await
        .expect("complete");
    assert_eq!(done.map(|o| o.file), Some(f));
    assert_eq!(
        c.usage(APP).await.expect("usage").files,
        2,
        "the file counts"
    );
}
