//! The contract of usage and quota: the counts follow every call that writes files, a put
//! held to a quota is refused whole and drops only its own bytes, an overwrite counts the
//! difference, and puts racing against a quota stop exactly at it.

use super::{app, dropped, file, put, sorted, with_app, APP};
use crate::catalog::{Catalog, CatalogError, FileRecord, OnConflict, Quota, TrashTimes, Usage};
use futures_util::future::join_all;

/// A file of `bytes` bytes at `path` (uploaded, or produced from `source` by operation `w`),
/// its bytes under a fresh blob key as an upload's are.
fn sized(path: &str, bytes: u64, source: Option<&FileRecord>) -> FileRecord {
    FileRecord {
        bytes,
        blob_key: format!("blob-{}", uuid::Uuid::new_v4()),
        ..file(path, 1, source)
    }
}

/// The usage the catalog counts.
async fn usage(c: &dyn Catalog, app_key: &str) -> Usage {
    c.usage(app_key).await.expect("usage")
}

/// What the app's stored files add up to, read page by page.
async fn listed(c: &dyn Catalog, app_key: &str) -> Usage {
    let mut total = Usage::default();
    let mut after = String::new();
    loop {
        let page = c.files_after(app_key, &after, 100).await.expect("files");
        let Some(last) = page.last() else {
            return total;
        };
        after = last.path.clone();
        total.bytes += page.iter().map(|f| f.bytes).sum::<u64>();
        total.files += page.len() as u64;
    }
}

/// Checks that the counted usage is `expected` and what the stored files add up to.
async fn counted(c: &dyn Catalog, expected: (u64, u64), step: &str) {
    let expected = Usage {
        bytes: expected.0,
        files: expected.1,
    };
    assert_eq!(usage(c, APP).await, expected, "counted after {step}");
    assert_eq!(listed(c, APP).await, expected, "stored after {step}");
}

fn bytes_quota(bytes: u64) -> Quota {
    Quota {
        bytes: Some(bytes),
        files: None,
    }
}

pub(super) async fn usage_follows_every_write(c: &dyn Catalog) {
    with_app(c).await;
    c.create_app(&app("B", "other", 2)).await.expect("app");
    counted(c, (0, 0), "nothing").await;
    let source = put(c, sized("/a/s.jpg", 100, None)).await;
    counted(c, (100, 1), "an upload").await;
    put(c, sized("/a/s_w.jpg", 7, Some(&source))).await;
    put(c, sized("/b/t_w.jpg", 5, Some(&source))).await;
    counted(c, (112, 3), "produced files").await;
    c.put_file(APP, sized("/a/s.jpg", 40, None), OnConflict::Overwrite)
        .await
        .expect("overwrite");
    counted(c, (52, 3), "an overwrite by a smaller file").await;
    c.put_file(APP, sized("/a/s.jpg", 40, None), OnConflict::Overwrite)
        .await
        .expect("overwrite");
    counted(c, (52, 3), "an overwrite of the same size").await;
    c.put_file(APP, sized("/a/s.jpg", 9, None), OnConflict::Rename)
        .await
        .expect("rename");
    counted(c, (61, 4), "a renamed upload").await;
    c.put_file_within(
        APP,
        sized("/c/u.jpg", 3, None),
        OnConflict::Fail,
        Quota::default(),
    )
    .await
    .expect("put without a limit");
    counted(c, (64, 5), "a put without a limit").await;
    assert!(c
        .put_file(APP, sized("/c/u.jpg", 1000, None), OnConflict::Fail)
        .await
        .is_err());
    counted(c, (64, 5), "a refused name").await;

    let removed = c
        .delete_produced_by(APP, "w")
        .await
        .expect("delete produced");
    assert_eq!(removed.len(), 2);
    counted(c, (52, 3), "delete_produced_by").await;
    put(c, sized("/a/s_w.jpg", 6, Some(&source))).await;
    counted(c, (58, 4), "a produced file again").await;
    c.delete_file(APP, &source.id, true).await.expect("delete");
    counted(c, (12, 2), "delete_file with its produced files").await;
    let folder = c
        .folder_by_path(APP, "/c")
        .await
        .expect("read")
        .expect("/c");
    c.delete_folder(APP, &folder.id)
        .await
        .expect("delete folder");
    counted(c, (9, 1), "delete_folder").await;

    c.import_file(APP, &sized("/a/imported.jpg", 30, None))
        .await
        .expect("import");
    counted(c, (39, 2), "import_file").await;
    put_in(c, "B", sized("/elsewhere.jpg", 1000, None)).await;
    counted(c, (39, 2), "a write of another app").await;
    assert_eq!(
        usage(c, "B").await,
        Usage {
            bytes: 1000,
            files: 1
        }
    );
    let root = c.folder_by_path(APP, "/").await.expect("read").expect("/");
    c.delete_folder(APP, &root.id)
        .await
        .expect("empty the root");
    counted(c, (0, 0), "emptying the root").await;
    assert_eq!(usage(c, "nobody").await, Usage::default());
}

async fn put_in(c: &dyn Catalog, app_key: &str, f: FileRecord) {
    c.put_file(app_key, f, OnConflict::Fail).await.expect("put");
}

pub(super) async fn a_refused_put_changes_nothing_but_drops_its_bytes(c: &dyn Catalog) {
    with_app(c).await;
    let kept = put(c, sized("/kept.jpg", 60, None)).await;
    let root_before = c.folder_by_path(APP, "/").await.expect("read");
    let quota = bytes_quota(100);
    let over = sized("/new/deep/over.jpg", 41, None);
    let refused = c
        .put_file_within(APP, over.clone(), OnConflict::Fail, quota)
        .await;
    assert!(
        matches!(refused, Err(CatalogError::QuotaExceeded)),
        "{refused:?}"
    );
    assert!(!refused.as_ref().err().is_some_and(CatalogError::retryable));
    counted(c, (60, 1), "a refused put").await;
    assert!(
        c.folder_by_path(APP, "/new").await.expect("read").is_none(),
        "no folder of the refused put stays"
    );
    assert_eq!(c.folder_by_path(APP, "/").await.expect("read"), root_before);
    assert_eq!(
        dropped(c).await,
        [over.blob_key],
        "the refused bytes are dropped, no other"
    );
    let renamed = c
        .put_file_within(APP, sized("/kept.jpg", 41, None), OnConflict::Rename, quota)
        .await;
    assert!(matches!(renamed, Err(CatalogError::QuotaExceeded)));
    assert!(c
        .file_by_path(APP, "/kept(1).jpg")
        .await
        .expect("read")
        .is_none());
    let fits = c
        .put_file_within(
            APP,
            sized("/new/deep/fits.jpg", 40, None),
            OnConflict::Fail,
            quota,
        )
        .await
        .expect("exactly at the quota");
    assert_eq!(fits.file.path, "/new/deep/fits.jpg");
    counted(c, (100, 2), "a put up to the quota").await;
    let empty = c
        .put_file_within(APP, sized("/empty.jpg", 0, None), OnConflict::Fail, quota)
        .await;
    assert!(empty.is_ok(), "files are not limited: {empty:?}");

    let files = Quota {
        bytes: None,
        files: Some(3),
    };
    let fourth = c
        .put_file_within(APP, sized("/fourth.jpg", 1, None), OnConflict::Fail, files)
        .await;
    assert!(matches!(fourth, Err(CatalogError::QuotaExceeded)));
    counted(c, (100, 3), "a put over the file quota").await;
    assert_eq!(
        c.file_by_id(APP, &kept.id).await.expect("read"),
        Some(kept),
        "what was stored stays"
    );
}

pub(super) async fn an_overwrite_counts_the_difference(c: &dyn Catalog) {
    with_app(c).await;
    let first = put(c, sized("/p.jpg", 20, None)).await;
    let quota = Quota {
        bytes: Some(30),
        files: Some(1),
    };
    let grown = c
        .put_file_within(APP, sized("/p.jpg", 30, None), OnConflict::Overwrite, quota)
        .await
        .expect("10 more bytes fit, and no more files");
    assert!(grown.overwritten);
    assert_eq!(grown.file.id, first.id);
    counted(c, (30, 1), "an overwrite up to the quota").await;
    let too_big = sized("/p.jpg", 31, None);
    let refused = c
        .put_file_within(APP, too_big.clone(), OnConflict::Overwrite, quota)
        .await;
    assert!(matches!(refused, Err(CatalogError::QuotaExceeded)));
    let stored = c
        .file_by_path(APP, "/p.jpg")
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(
        (stored.bytes, stored.blob_key.as_str()),
        (30, grown.file.blob_key.as_str()),
        "the version before the refused one stays"
    );
    assert_eq!(
        dropped(c).await,
        sorted(vec![first.blob_key.clone(), too_big.blob_key.clone()]),
        "the replaced version and the refused bytes, not the kept version"
    );
    let lowered = bytes_quota(10);
    let smaller = c
        .put_file_within(
            APP,
            sized("/p.jpg", 25, None),
            OnConflict::Overwrite,
            lowered,
        )
        .await;
    assert!(
        smaller.is_ok(),
        "a shrinking overwrite passes a lowered quota: {smaller:?}"
    );
    counted(c, (25, 1), "a shrinking overwrite").await;
}

pub(super) async fn racing_puts_stop_exactly_at_the_quota(c: &dyn Catalog) {
    const RACERS: usize = 24;
    with_app(c).await;
    for i in 0..RACERS {
        c.create_folder(APP, &format!("/r{i}"), 1)
            .await
            .expect("folder");
    }
    let quota = Quota {
        bytes: Some(70),
        files: Some(10),
    };
    let attempts: Vec<FileRecord> = (0..RACERS)
        .map(|i| sized(&format!("/r{i}/x.jpg"), 10, None))
        .collect();
    let outcomes = join_all(
        attempts
            .iter()
            .map(|f| c.put_file_within(APP, f.clone(), OnConflict::Fail, quota)),
    )
    .await;
    let mut refused_keys = Vec::new();
    for (f, outcome) in attempts.iter().zip(&outcomes) {
        match outcome {
            Ok(_) => {}
            Err(CatalogError::QuotaExceeded) => refused_keys.push(f.blob_key.clone()),
            Err(e) => panic!("{}: {e}", f.path),
        }
    }
    assert_eq!(RACERS - refused_keys.len(), 7, "exactly the bytes allowed");
    counted(c, (70, 7), "racing puts").await;
    assert_eq!(dropped(c).await, sorted(refused_keys));
}

pub(super) async fn racing_puts_and_deletes_keep_usage_exact(c: &dyn Catalog) {
    const OLD: usize = 12;
    const NEW: usize = 24;
    with_app(c).await;
    let mut old = Vec::new();
    for i in 0..OLD {
        old.push(put(c, sized(&format!("/old/o{i}.jpg"), 10, None)).await);
    }
    let quota = bytes_quota(200);
    let puts = (0..NEW).map(|i| async move {
        let f = sized(&format!("/new{}/n{i}.jpg", i % 3), 15, None);
        c.put_file_within(APP, f, OnConflict::Fail, quota)
            .await
            .map(|_| ())
    });
    let deletes = old
        .iter()
        .map(|f| async move { c.delete_file(APP, &f.id, false).await.map(|_| ()) });
    let (put_outcomes, delete_outcomes) =
        futures_util::future::join(join_all(puts), join_all(deletes)).await;
    for outcome in &delete_outcomes {
        assert!(outcome.is_ok(), "{outcome:?}");
    }
    let stored = put_outcomes.iter().filter(|o| o.is_ok()).count() as u64;
    for outcome in &put_outcomes {
        assert!(
            matches!(outcome, Ok(()) | Err(CatalogError::QuotaExceeded)),
            "{outcome:?}"
        );
    }
    assert!(stored >= 5, "at least what fits beside the old files");
    counted(c, (stored * 15, stored), "racing puts and deletes").await;
    assert!(usage(c, APP).await.bytes <= 200, "never over the quota");
}

/// Files in the trash count until purged: trashing a file or a folder moves no count, a full
/// quota still refuses a new file, restoring moves none either, and purging uncounts them.
pub(super) async fn the_trash_counts_until_purged(c: &dyn Catalog) {
    with_app(c).await;
    let times = TrashTimes {
        deleted_at: 10,
        purge_at: 1_000,
    };
    let a = put(c, sized("/a.jpg", 100, None)).await;
    put(c, sized("/f/b.jpg", 50, None)).await;
    let t = put(c, sized("/a_w.jpg", 7, Some(&a))).await;
    assert_eq!(
        usage(c, APP).await,
        Usage {
            bytes: 157,
            files: 3
        }
    );
    c.trash_file(APP, &a.id, times).await.expect("trash file");
    let folder = c
        .folder_by_path(APP, "/f")
        .await
        .expect("read")
        .expect("folder");
    c.trash_folder(APP, &folder.id, times)
        .await
        .expect("trash folder");
    assert_eq!(listed(c, APP).await, Usage::default(), "nothing live");
    assert_eq!(
        usage(c, APP).await,
        Usage {
            bytes: 157,
            files: 3
        },
        "trashed files still count ({} produced from the trashed one included)",
        t.path
    );
    let refused = c
        .put_file_within(
            APP,
            sized("/c.jpg", 1, None),
            OnConflict::Fail,
            bytes_quota(157),
        )
        .await;
    assert!(
        matches!(refused, Err(CatalogError::QuotaExceeded)),
        "{refused:?}"
    );
    c.restore_trash(APP, std::slice::from_ref(&a.id), &[], 20)
        .await
        .expect("restore");
    assert_eq!(
        usage(c, APP).await,
        Usage {
            bytes: 157,
            files: 3
        },
        "restored"
    );
    assert_eq!(
        listed(c, APP).await,
        Usage {
            bytes: 107,
            files: 2
        }
    );
    c.purge_trash(APP, &[], std::slice::from_ref(&folder.id), 30)
        .await
        .expect("purge");
    assert_eq!(
        usage(c, APP).await,
        Usage {
            bytes: 107,
            files: 2
        },
        "purged"
    );
    c.put_file_within(
        APP,
        sized("/c.jpg", 50, None),
        OnConflict::Fail,
        bytes_quota(157),
    )
    .await
    .expect("room again after the purge");
}
