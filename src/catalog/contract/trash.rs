//! The contract of the trash and of the deletion history: items moved out of the live tree
//! with their bytes still referenced, put back under the same ids (renamed when their path was
//! taken meanwhile, their folders made again), purged through the pending blob deletions, swept
//! by time; and one history entry per file for every way a file leaves the tree. The checks of
//! a shared catalog (what trashing announces) are in [`TRASH_SHARED_CHECKS`].

use super::shared::SharedCheck;
use super::{dropped, file, operation, put, sorted, with_app, Check, APP};
use crate::catalog::{
    Catalog, CatalogError, Change, Deletion, DeletionKind, FeedEvent, FileRecord, OnConflict,
    TrashItem, TrashTimes,
};
use std::time::Duration;

/// Every check of the trash and the deletion history, with its name.
pub(crate) const TRASH_CHECKS: &[(&str, Check)] = &[
    (
        "imported_deletions_keep_their_times_and_are_added_once",
        |c| Box::pin(imported_deletions_keep_their_times_and_are_added_once(c)),
    ),
    ("a_trashed_file_keeps_its_bytes_and_frees_its_path", |c| {
        Box::pin(a_trashed_file_keeps_its_bytes_and_frees_its_path(c))
    }),
    (
        "a_restore_gives_back_ids_or_renames_and_makes_parents",
        |c| Box::pin(a_restore_gives_back_ids_or_renames_and_makes_parents(c)),
    ),
    ("a_restore_is_all_or_nothing", |c| {
        Box::pin(a_restore_is_all_or_nothing(c))
    }),
    ("a_folder_goes_to_the_trash_and_back_whole", |c| {
        Box::pin(a_folder_goes_to_the_trash_and_back_whole(c))
    }),
    ("the_root_is_emptied_into_one_item_per_entry", |c| {
        Box::pin(the_root_is_emptied_into_one_item_per_entry(c))
    }),
    ("purges_drop_the_blobs_of_the_items_they_name", |c| {
        Box::pin(purges_drop_the_blobs_of_the_items_they_name(c))
    }),
    ("the_sweep_purges_by_time", |c| {
        Box::pin(the_sweep_purges_by_time(c))
    }),
    ("the_trash_lists_items_newest_first_page_by_page", |c| {
        Box::pin(the_trash_lists_items_newest_first_page_by_page(c))
    }),
    ("every_deletion_is_in_the_history_until_pruned", |c| {
        Box::pin(every_deletion_is_in_the_history_until_pruned(c))
    }),
    ("trash_rows_copy_as_given", |c| {
        Box::pin(trash_rows_copy_as_given(c))
    }),
];

/// Every check of what a shared catalog announces when entries go to the trash.
pub(crate) const TRASH_SHARED_CHECKS: &[(&str, SharedCheck)] =
    &[("trashing_reaches_the_feed_of_another_handle", |a, b| {
        Box::pin(trashing_reaches_the_feed_of_another_handle(a, b))
    })];

/// Trashed at `at`, purged at `at + 1000`.
fn times(at: i64) -> TrashTimes {
    TrashTimes {
        deleted_at: at,
        purge_at: at + 1000,
    }
}

/// The paths of the app's live files, sorted.
async fn live_paths(c: &dyn Catalog) -> Vec<String> {
    let files = c.files_after(APP, "", 1000).await.expect("files");
    sorted(files.into_iter().map(|f| f.path).collect())
}

/// Every item of the app's trash.
async fn items(c: &dyn Catalog) -> Vec<TrashItem> {
    let (items, total) = c.trash_items(APP, 1, 1000).await.expect("items");
    assert_eq!(total, items.len() as u64, "the total counts every item");
    items
}

/// The blob keys the catalog references.
async fn referenced(c: &dyn Catalog) -> Vec<String> {
    let refs = c.blob_references(i64::MAX).await.expect("references");
    sorted(refs.files.into_iter().map(|f| f.blob_key).collect())
}

async fn a_trashed_file_keeps_its_bytes_and_frees_its_path(c: &dyn Catalog) {
    with_app(c).await;
    let source = put(c, file("/a/x.jpg", 1, None)).await;
    let produced = put(c, file("/a/x_w.jpg", 2, Some(&source))).await;
    let other = put(c, file("/b/x_w.jpg", 3, Some(&source))).await;
    let sibling = put(c, file("/a/y.jpg", 4, None)).await;

    let item = c
        .trash_file(APP, &source.id, times(50))
        .await
        .expect("trash");
    assert_eq!(
        item,
        TrashItem {
            id: source.id.clone(),
            is_folder: false,
            path: "/a/x.jpg".to_owned(),
            bytes: 30,
            files: 3,
            deleted_at: 50,
            purge_at: 1050,
        },
        "the file and both files produced from it"
    );
    assert_eq!(items(c).await, vec![item], "one item, its products in it");
    assert_eq!(live_paths(c).await, ["/a/y.jpg"]);
    for gone in [&source, &produced, &other] {
        assert_eq!(c.file_by_id(APP, &gone.id).await.expect("read"), None);
        assert_eq!(c.stored_file(APP, &gone.path).await.expect("read"), None);
    }
    let listing = c.folder_stats(APP, "/a").await.expect("stats");
    assert_eq!(
        (listing.files, listing.bytes),
        (1, 10),
        "totals leave it out"
    );
    assert_eq!(
        c.folder_by_path(APP, "/a")
            .await
            .expect("read")
            .expect("a")
            .updated_at,
        50,
        "the folder lost entries"
    );
    assert!(dropped(c).await.is_empty(), "no blob is dropped");
    assert_eq!(
        referenced(c).await,
        sorted(vec![
            source.blob_key.clone(),
            produced.blob_key.clone(),
            other.blob_key.clone(),
            sibling.blob_key.clone(),
        ]),
        "trashed bytes stay referenced"
    );
    let again = put(c, file("/a/x.jpg", 60, None)).await;
    assert_eq!(again.path, "/a/x.jpg", "the path is free for a new upload");
    assert_ne!(again.id, source.id);
    assert!(matches!(
        c.trash_file(APP, &source.id, times(70)).await,
        Err(CatalogError::NotFound(_))
    ));
    assert!(matches!(
        c.trash_file("B", &sibling.id, times(70)).await,
        Err(CatalogError::NotFound(_))
    ));
}

async fn a_restore_gives_back_ids_or_renames_and_makes_parents(c: &dyn Catalog) {
    with_app(c).await;
    let source = put(c, file("/a/x.jpg", 1, None)).await;
    let produced = put(c, file("/a/x_w.jpg", 2, Some(&source))).await;
    c.trash_file(APP, &source.id, times(10))
        .await
        .expect("trash");
    let restored = c
        .restore_trash(APP, std::slice::from_ref(&source.id), &[], 20)
        .await
        .expect("restore");
    assert_eq!(restored.len(), 1);
    assert_eq!(
        (
            restored[0].path.as_str(),
            restored[0].renamed,
            restored[0].is_folder
        ),
        ("/a/x.jpg", false, false)
    );
    assert_eq!(
        c.file_by_path(APP, "/a/x.jpg").await.expect("read"),
        Some(source.clone()),
        "the same record: id, blob, ETag, times"
    );
    assert_eq!(
        c.file_by_id(APP, &produced.id).await.expect("read"),
        Some(produced.clone()),
        "its products come back with it"
    );
    assert!(items(c).await.is_empty());

    // Taken meanwhile: the first free name, for the file and its product alike.
    c.trash_file(APP, &source.id, times(30))
        .await
        .expect("trash");
    let newer = put(c, file("/a/x.jpg", 31, None)).await;
    put(c, file("/a/x(1).jpg", 32, None)).await;
    put(c, file("/a/x_w.jpg", 33, None)).await;
    let restored = c
        .restore_trash(APP, std::slice::from_ref(&source.id), &[], 40)
        .await
        .expect("restore");
    assert_eq!(
        (restored[0].path.as_str(), restored[0].renamed),
        ("/a/x(2).jpg", true)
    );
    let back = c
        .file_by_id(APP, &source.id)
        .await
        .expect("read")
        .expect("back");
    assert_eq!(
        (back.path.as_str(), back.etag.as_str()),
        ("/a/x(2).jpg", source.etag.as_str())
    );
    let product = c.file_by_id(APP, &produced.id).await.expect("read");
    assert_eq!(product.map(|p| p.path).as_deref(), Some("/a/x_w(1).jpg"));
    assert_eq!(
        c.file_by_path(APP, "/a/x.jpg").await.expect("read"),
        Some(newer),
        "the newer file keeps its path"
    );
    assert_eq!(
        c.folder_by_path(APP, "/a")
            .await
            .expect("read")
            .expect("a")
            .updated_at,
        40,
        "the folder gained entries"
    );

    // Parents deleted meanwhile are made again.
    let deep = put(c, file("/p/q/z.jpg", 50, None)).await;
    c.trash_file(APP, &deep.id, times(51)).await.expect("trash");
    let p = c.folder_by_path(APP, "/p").await.expect("read").expect("p");
    c.delete_folder(APP, &p.id).await.expect("delete");
    c.restore_trash(APP, std::slice::from_ref(&deep.id), &[], 60)
        .await
        .expect("restore");
    assert_eq!(
        c.file_by_path(APP, "/p/q/z.jpg").await.expect("read"),
        Some(deep)
    );
    let q = c
        .folder_by_path(APP, "/p/q")
        .await
        .expect("read")
        .expect("q");
    assert_eq!(q.updated_at, 60);
    assert_ne!(
        c.folder_by_path(APP, "/p")
            .await
            .expect("read")
            .map(|f| f.id),
        Some(p.id),
        "a new folder"
    );
}

async fn a_restore_is_all_or_nothing(c: &dyn Catalog) {
    with_app(c).await;
    let fine = put(c, file("/ok.jpg", 1, None)).await;
    let blocked = put(c, file("/m/n.jpg", 2, None)).await;
    c.trash_file(APP, &fine.id, times(10)).await.expect("trash");
    c.trash_file(APP, &blocked.id, times(10))
        .await
        .expect("trash");
    let m = c.folder_by_path(APP, "/m").await.expect("read").expect("m");
    c.delete_folder(APP, &m.id).await.expect("delete");
    put(c, file("/m", 11, None)).await;

    let both = [fine.id.clone(), blocked.id.clone()];
    let refused = c.restore_trash(APP, &both, &[], 20).await;
    assert!(
        matches!(refused, Err(CatalogError::NotAFolder(_))),
        "a file holds a parent's path: {refused:?}"
    );
    let unknown = [fine.id.clone(), "no-such-id".to_owned()];
    let refused = c.restore_trash(APP, &unknown, &[], 20).await;
    assert!(
        matches!(&refused, Err(CatalogError::NotFound(id)) if id == "no-such-id"),
        "{refused:?}"
    );
    let as_folder = c
        .restore_trash(APP, &[], std::slice::from_ref(&fine.id), 20)
        .await;
    assert!(
        matches!(as_folder, Err(CatalogError::NotFound(_))),
        "a file item is no folder item"
    );
    let other_app = c
        .restore_trash("B", std::slice::from_ref(&fine.id), &[], 20)
        .await;
    assert!(matches!(other_app, Err(CatalogError::NotFound(_))));
    assert_eq!(items(c).await.len(), 2, "nothing came back");
    assert_eq!(c.file_by_id(APP, &fine.id).await.expect("read"), None);
    c.restore_trash(APP, std::slice::from_ref(&fine.id), &[], 30)
        .await
        .expect("restore alone");
    assert_eq!(c.file_by_id(APP, &fine.id).await.expect("read"), Some(fine));
}

async fn a_folder_goes_to_the_trash_and_back_whole(c: &dyn Catalog) {
    with_app(c).await;
    let deep = put(c, file("/f/g/h.jpg", 1, None)).await;
    let top = put(c, file("/f/i.jpg", 2, None)).await;
    let elsewhere = put(c, file("/o/i_w.jpg", 3, Some(&top))).await;
    let outside = put(c, file("/f-x/j.jpg", 4, None)).await;
    c.create_folder(APP, "/f/empty", 5).await.expect("folder");
    let f = c.folder_by_path(APP, "/f").await.expect("read").expect("f");
    let g = c
        .folder_by_path(APP, "/f/g")
        .await
        .expect("read")
        .expect("g");

    let made = c.trash_folder(APP, &f.id, times(10)).await.expect("trash");
    assert_eq!(
        made,
        vec![TrashItem {
            id: f.id.clone(),
            is_folder: true,
            path: "/f".to_owned(),
            bytes: 30,
            files: 3,
            deleted_at: 10,
            purge_at: 1010,
        }]
    );
    assert_eq!(items(c).await, made, "one item for the whole folder");
    for gone in ["/f", "/f/g", "/f/empty"] {
        assert!(c.folder_by_path(APP, gone).await.expect("read").is_none());
    }
    assert_eq!(
        live_paths(c).await,
        ["/f-x/j.jpg"],
        "products elsewhere go too"
    );
    assert_eq!(
        c.folder_by_path(APP, "/")
            .await
            .expect("read")
            .expect("root")
            .updated_at,
        10
    );

    let restored = c
        .restore_trash(APP, &[], std::slice::from_ref(&f.id), 20)
        .await
        .expect("restore");
    assert_eq!(
        (
            restored[0].path.as_str(),
            restored[0].renamed,
            restored[0].is_folder
        ),
        ("/f", false, true)
    );
    assert_eq!(
        c.folder_by_path(APP, "/f").await.expect("read"),
        Some(f.clone())
    );
    assert_eq!(
        c.folder_by_path(APP, "/f/g").await.expect("read"),
        Some(g.clone())
    );
    assert!(c
        .folder_by_path(APP, "/f/empty")
        .await
        .expect("read")
        .is_some());
    for back in [&deep, &top, &elsewhere, &outside] {
        assert_eq!(
            c.file_by_id(APP, &back.id).await.expect("read").as_ref(),
            Some(back)
        );
    }

    // A folder made at the path meanwhile: the item comes back beside it, renamed.
    c.trash_folder(APP, &f.id, times(30)).await.expect("trash");
    c.create_folder(APP, "/f", 31).await.expect("a new /f");
    let restored = c
        .restore_trash(APP, &[], std::slice::from_ref(&f.id), 40)
        .await
        .expect("restore");
    assert_eq!(
        (restored[0].path.as_str(), restored[0].renamed),
        ("/f(1)", true)
    );
    let moved = c
        .file_by_id(APP, &deep.id)
        .await
        .expect("read")
        .expect("deep");
    assert_eq!(moved.path, "/f(1)/g/h.jpg", "what it holds follows it");
    assert_eq!(
        c.folder_by_id(APP, &g.id)
            .await
            .expect("read")
            .map(|g| g.path),
        Some("/f(1)/g".to_owned())
    );
    let product = c.file_by_id(APP, &elsewhere.id).await.expect("read");
    assert_eq!(product.map(|p| p.path).as_deref(), Some("/o/i_w.jpg"));
    assert!(matches!(
        c.trash_folder(APP, "no-such-id", times(50)).await,
        Err(CatalogError::NotFound(_))
    ));
}

async fn the_root_is_emptied_into_one_item_per_entry(c: &dyn Catalog) {
    with_app(c).await;
    let source = put(c, file("/s.jpg", 1, None)).await;
    put(c, file("/s_w.jpg", 2, Some(&source))).await;
    put(c, file("/d/t.jpg", 3, None)).await;
    c.create_folder(APP, "/e", 4).await.expect("folder");
    let root = c
        .folder_by_path(APP, "/")
        .await
        .expect("read")
        .expect("root");
    let made = c
        .trash_folder(APP, &root.id, times(10))
        .await
        .expect("trash the root");
    let summary: Vec<(&str, bool, u64)> = made
        .iter()
        .map(|i| (i.path.as_str(), i.is_folder, i.files))
        .collect();
    assert_eq!(
        summary,
        [("/s.jpg", false, 2), ("/d", true, 1), ("/e", true, 0)],
        "the product went with its source"
    );
    assert_eq!(
        c.folder_by_path(APP, "/")
            .await
            .expect("read")
            .map(|r| r.id),
        Some(root.id),
        "the root stays"
    );
    assert!(live_paths(c).await.is_empty());
    assert_eq!(items(c).await.len(), 3);
}

async fn purges_drop_the_blobs_of_the_items_they_name(c: &dyn Catalog) {
    with_app(c).await;
    let source = put(c, file("/a/x.jpg", 1, None)).await;
    let produced = put(c, file("/a/x_w.jpg", 2, Some(&source))).await;
    let kept = put(c, file("/a/k.jpg", 3, None)).await;
    let inside = put(c, file("/f/y.jpg", 4, None)).await;
    let f = c.folder_by_path(APP, "/f").await.expect("read").expect("f");
    c.trash_file(APP, &source.id, times(10))
        .await
        .expect("trash");
    c.trash_file(APP, &kept.id, times(11)).await.expect("trash");
    c.trash_folder(APP, &f.id, times(12)).await.expect("trash");

    let unknown = ["no-such-id".to_owned()];
    assert_eq!(
        c.purge_trash(APP, &unknown, &[], 20).await.expect("purge"),
        0
    );
    assert_eq!(
        c.purge_trash(APP, &[], std::slice::from_ref(&source.id), 20)
            .await
            .expect("purge"),
        0,
        "a file item is no folder item"
    );
    let named = [source.id.clone(), produced.id.clone()];
    let purged = c
        .purge_trash(APP, &named, std::slice::from_ref(&f.id), 20)
        .await
        .expect("purge");
    assert_eq!(purged, 2, "the product is no item of its own");
    assert_eq!(
        dropped(c).await,
        sorted(vec![
            source.blob_key.clone(),
            produced.blob_key.clone(),
            inside.blob_key.clone(),
        ])
    );
    let left: Vec<String> = items(c).await.into_iter().map(|i| i.id).collect();
    assert_eq!(left, std::slice::from_ref(&kept.id));
    assert!(!referenced(c).await.contains(&source.blob_key));
    assert!(referenced(c).await.contains(&kept.blob_key));
    assert!(matches!(
        c.restore_trash(APP, std::slice::from_ref(&source.id), &[], 30)
            .await,
        Err(CatalogError::NotFound(_))
    ));

    for i in 0..3 {
        let f = put(c, file(&format!("/many/{i}.jpg"), 40 + i, None)).await;
        c.trash_file(APP, &f.id, times(40 + i))
            .await
            .expect("trash");
    }
    assert_eq!(c.empty_trash("B", 10, 50).await.expect("empty"), 0);
    assert_eq!(c.empty_trash(APP, 2, 50).await.expect("empty"), 2);
    assert_eq!(c.empty_trash(APP, 2, 50).await.expect("empty"), 2);
    assert_eq!(c.empty_trash(APP, 2, 50).await.expect("empty"), 0);
    assert!(items(c).await.is_empty());
    assert!(dropped(c).await.contains(&kept.blob_key));
}

async fn the_sweep_purges_by_time(c: &dyn Catalog) {
    with_app(c).await;
    c.create_app(&super::app("B", "other", 1))
        .await
        .expect("app");
    let early = put(c, file("/early.jpg", 1, None)).await;
    let late = put(c, file("/late.jpg", 2, None)).await;
    c.create_folder(APP, "/empty", 3).await.expect("folder");
    let empty = c
        .folder_by_path(APP, "/empty")
        .await
        .expect("read")
        .expect("f");
    let b = c
        .put_file("B", file("/b.jpg", 4, None), OnConflict::Fail)
        .await
        .expect("put")
        .file;
    let at = |purge_at| TrashTimes {
        deleted_at: 10,
        purge_at,
    };
    c.trash_file(APP, &early.id, at(100)).await.expect("trash");
    c.trash_file(APP, &late.id, at(200)).await.expect("trash");
    c.trash_folder(APP, &empty.id, at(100))
        .await
        .expect("trash");
    c.trash_file("B", &b.id, at(150)).await.expect("trash");

    assert_eq!(c.purge_expired_trash(99, 10).await.expect("sweep"), 0);
    assert_eq!(c.purge_expired_trash(150, 10).await.expect("sweep"), 3);
    let left: Vec<String> = items(c).await.into_iter().map(|i| i.id).collect();
    assert_eq!(left, std::slice::from_ref(&late.id));
    assert_eq!(
        dropped(c).await,
        sorted(vec![early.blob_key, b.blob_key]),
        "every app's items due"
    );
    assert_eq!(c.purge_expired_trash(150, 10).await.expect("sweep"), 0);
    assert_eq!(c.purge_expired_trash(200, 10).await.expect("sweep"), 1);
    assert!(items(c).await.is_empty());
}

async fn the_trash_lists_items_newest_first_page_by_page(c: &dyn Catalog) {
    with_app(c).await;
    for (path, at) in [("/c.jpg", 20), ("/a.jpg", 10), ("/b.jpg", 10)] {
        let f = put(c, file(path, 1, None)).await;
        c.trash_file(APP, &f.id, times(at)).await.expect("trash");
    }
    let (first, total) = c.trash_items(APP, 1, 2).await.expect("page 1");
    let (second, _) = c.trash_items(APP, 2, 2).await.expect("page 2");
    assert_eq!(total, 3);
    let paths: Vec<&str> = first
        .iter()
        .chain(&second)
        .map(|i| i.path.as_str())
        .collect();
    assert_eq!(
        paths,
        ["/c.jpg", "/a.jpg", "/b.jpg"],
        "newest first, then by path"
    );
    assert!(c
        .trash_items("B", 1, 10)
        .await
        .expect("other app")
        .0
        .is_empty());
}

async fn imported_deletions_keep_their_times_and_are_added_once(c: &dyn Catalog) {
    with_app(c).await;
    let entry = |id: &str, path: &str, kind, at| Deletion {
        file_id: id.to_owned(),
        path: path.to_owned(),
        kind,
        deleted_at: at,
    };
    let old = vec![
        entry("f1", "/a.jpg", DeletionKind::Trash, 1_000),
        entry("f1", "/a.jpg", DeletionKind::Purge, 2_000),
        entry("f2", "/b.jpg", DeletionKind::Delete, 2_000),
    ];
    assert_eq!(c.import_deletions(APP, &old).await.expect("import"), 3);
    let (listed, total) = c.deletions(APP, i64::MIN, 1, 10).await.expect("history");
    assert_eq!(
        (listed.as_slice(), total),
        (old.as_slice(), 3),
        "as given, in order"
    );
    let more = vec![
        old[1].clone(),
        entry("f2", "/b.jpg", DeletionKind::Delete, 2_001),
    ];
    assert_eq!(
        c.import_deletions(APP, &more).await.expect("again"),
        1,
        "an entry already there is skipped"
    );
    let (listed, _) = c.deletions(APP, 2_001, 1, 10).await.expect("since");
    assert_eq!(listed, [more[1].clone()]);
    assert!(c
        .deletions("B", i64::MIN, 1, 10)
        .await
        .expect("B")
        .0
        .is_empty());
}

/// The `(path, kind, time)` of each history entry of the app since `since`, oldest first.
async fn history(c: &dyn Catalog, since: i64) -> Vec<(String, DeletionKind, i64)> {
    let (entries, total) = c.deletions(APP, since, 1, 1000).await.expect("history");
    assert_eq!(total, entries.len() as u64);
    entries
        .into_iter()
        .map(|d| (d.path, d.kind, d.deleted_at))
        .collect()
}

async fn every_deletion_is_in_the_history_until_pruned(c: &dyn Catalog) {
    with_app(c).await;
    let before = crate::clock::now_ms();
    let one = put(c, file("/one.jpg", 1, None)).await;
    let product = put(c, file("/one_w.jpg", 2, Some(&one))).await;
    c.delete_file(APP, &one.id, true).await.expect("delete");
    for path in ["/f/a.jpg", "/f/g/b.jpg"] {
        put(c, file(path, 3, None)).await;
    }
    let f = c.folder_by_path(APP, "/f").await.expect("read").expect("f");
    c.delete_folder(APP, &f.id).await.expect("delete folder");
    let source = put(c, file("/s.jpg", 4, None)).await;
    put(c, file("/s_w.jpg", 5, Some(&source))).await;
    c.put_operation(APP, &operation("w", 5)).await.expect("op");
    c.delete_produced_by(APP, "w")
        .await
        .expect("delete results");
    let replaced = put(c, file("/r.jpg", 6, None)).await;
    c.put_file(APP, file("/r.jpg", 7, None), OnConflict::Overwrite)
        .await
        .expect("replacing is no deletion");
    let after = crate::clock::now_ms();

    let deleted = history(c, i64::MIN).await;
    let paths: Vec<&str> = deleted.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(paths.len(), 5, "{deleted:?}");
    assert_eq!(&paths[..2], ["/one.jpg", "/one_w.jpg"]);
    assert_eq!(
        sorted(paths[2..4].iter().map(|p| p.to_string()).collect()),
        ["/f/a.jpg", "/f/g/b.jpg"]
    );
    assert_eq!(paths[4], "/s_w.jpg");
    for (path, kind, at) in &deleted {
        assert_eq!(*kind, DeletionKind::Delete, "{path}");
        assert!((before..=after).contains(at), "{path} at {at}");
    }
    let (entries, _) = c.deletions(APP, i64::MIN, 1, 1).await.expect("history");
    assert_eq!(entries[0].file_id, one.id);
    let (entries, _) = c.deletions(APP, i64::MIN, 2, 1).await.expect("history");
    assert_eq!(
        entries[0].file_id, product.id,
        "paged in the order recorded"
    );

    // Trash and purge, at the times given.
    let t = c
        .put_file(APP, file("/t.jpg", 8, None), OnConflict::Fail)
        .await
        .expect("put")
        .file;
    c.trash_file(APP, &t.id, times(after + 10))
        .await
        .expect("trash");
    c.trash_file(APP, &replaced.id, times(after + 20))
        .await
        .expect("trash");
    c.purge_trash(APP, std::slice::from_ref(&t.id), &[], after + 30)
        .await
        .expect("purge");
    assert_eq!(
        history(c, after + 1).await,
        [
            ("/t.jpg".to_owned(), DeletionKind::Trash, after + 10),
            ("/r.jpg".to_owned(), DeletionKind::Trash, after + 20),
            ("/t.jpg".to_owned(), DeletionKind::Purge, after + 30),
        ],
        "since is inclusive and filters older entries"
    );
    assert_eq!(history(c, after + 20).await.len(), 2);
    assert!(c
        .deletions("B", i64::MIN, 1, 10)
        .await
        .expect("other")
        .0
        .is_empty());

    assert_eq!(c.prune_deletions(after + 1, 2).await.expect("prune"), 2);
    assert_eq!(c.prune_deletions(after + 1, 10).await.expect("prune"), 3);
    assert_eq!(c.prune_deletions(after + 1, 10).await.expect("prune"), 0);
    assert_eq!(history(c, i64::MIN).await.len(), 3, "newer entries stay");
    assert_eq!(c.prune_deletions(after + 31, 10).await.expect("prune"), 3);
    assert!(history(c, i64::MIN).await.is_empty());
}

async fn trash_rows_copy_as_given(c: &dyn Catalog) {
    with_app(c).await;
    let source = put(c, file("/a/x.jpg", 1, None)).await;
    put(c, file("/a/x_w.jpg", 2, Some(&source))).await;
    for path in ["/f/g/h.jpg", "/f/i.jpg"] {
        put(c, file(path, 3, None)).await;
    }
    let f = c.folder_by_path(APP, "/f").await.expect("read").expect("f");
    c.trash_file(APP, &source.id, times(10))
        .await
        .expect("trash");
    c.trash_folder(APP, &f.id, times(11)).await.expect("trash");
    let listed = items(c).await;

    let mut files = Vec::new();
    let mut after = String::new();
    loop {
        let page = c.trashed_files_after(APP, &after, 2).await.expect("page");
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = last.file.id.clone();
        files.extend(page);
    }
    let mut folders = Vec::new();
    let mut after = String::new();
    loop {
        let page = c.trashed_folders_after(APP, &after, 2).await.expect("page");
        let Some(last) = page.last() else { break };
        after = last.folder.id.clone();
        folders.extend(page);
    }
    assert_eq!(files.len(), 4);
    assert_eq!(folders.len(), 2, "/f and /f/g");
    let ids: Vec<&str> = files.iter().map(|t| t.file.id.as_str()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "id order");
    assert!(c
        .trashed_files_after("B", "", 10)
        .await
        .expect("other")
        .is_empty());
    let top: &FileRecord = &files
        .iter()
        .find(|t| t.file.id == source.id)
        .expect("the source")
        .file;
    assert_eq!(top, &source, "whole records");

    // A copy elsewhere is the same rows: emptied, then stored again as read.
    c.empty_trash(APP, 100, 20).await.expect("empty");
    for t in &files {
        assert!(c.import_trashed_file(APP, t).await.expect("import"));
        assert!(!c.import_trashed_file(APP, t).await.expect("again"), "once");
    }
    for t in &folders {
        assert!(c.import_trashed_folder(APP, t).await.expect("import"));
        assert!(!c.import_trashed_folder(APP, t).await.expect("again"));
    }
    assert_eq!(items(c).await, listed);
    c.restore_trash(
        APP,
        std::slice::from_ref(&source.id),
        std::slice::from_ref(&f.id),
        30,
    )
    .await
    .expect("the copy restores");
    assert_eq!(
        c.file_by_id(APP, &source.id).await.expect("read"),
        Some(source)
    );
    assert!(c.folder_by_path(APP, "/f/g").await.expect("read").is_some());
}

/// How long a change may take to reach a feed in these checks.
const DELIVERY: Duration = Duration::from_secs(10);

async fn trashing_reaches_the_feed_of_another_handle(writer: &dyn Catalog, reader: &dyn Catalog) {
    let mut feed = reader
        .subscribe_changes()
        .await
        .expect("subscribe")
        .expect("a shared catalog has a change feed");
    with_app(writer).await;
    let source = put(writer, file("/a/b.jpg", 1, None)).await;
    put(writer, file("/a/b_w.jpg", 2, Some(&source))).await;
    let inner = put(writer, file("/x/y/z.jpg", 3, None)).await;
    put(writer, file("/o/z_w.jpg", 4, Some(&inner))).await;
    // A sentinel ends what the new entries may have announced.
    writer.set_realtime_service(APP, true).await.expect("flag");
    let sentinel = FeedEvent::Change(Change::App {
        app_key: APP.to_owned(),
    });
    while next(&mut feed).await != sentinel {}

    writer
        .trash_file(APP, &source.id, times(10))
        .await
        .expect("trash");
    let x = writer
        .folder_by_path(APP, "/x")
        .await
        .expect("read")
        .expect("x");
    writer
        .trash_folder(APP, &x.id, times(11))
        .await
        .expect("trash");
    let source_change = |path: &str| {
        FeedEvent::Change(Change::Source {
            app_key: APP.to_owned(),
            path: path.to_owned(),
        })
    };
    let mut expected = vec![
        source_change("/a/b.jpg"),
        source_change("/a/b_w.jpg"),
        FeedEvent::Change(Change::Below {
            app_key: APP.to_owned(),
            folder: "/x".to_owned(),
        }),
        source_change("/o/z_w.jpg"),
    ];
    while !expected.is_empty() {
        let event = next(&mut feed).await;
        let at = expected
            .iter()
            .position(|e| *e == event)
            .unwrap_or_else(|| panic!("{event:?} arrived; expected {expected:?}"));
        expected.remove(at);
    }
}

/// The next event of a feed, within [`DELIVERY`].
async fn next(feed: &mut crate::catalog::ChangeFeed) -> FeedEvent {
    tokio::time::timeout(DELIVERY, feed.recv())
        .await
        .expect("an event in time")
        .expect("the feed stays open")
}
