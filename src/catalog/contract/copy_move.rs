//! The contract of copies and moves (`copy_entries`, `move_entries`): shared bytes and their
//! release, ids, paths below moved folders, merges, conflicts that change nothing, refusals,
//! folder times and what a move announces to other nodes.

use super::shared::expect;
use super::{dropped, file, folder_time, operation, put, sorted, with_app, APP};
use crate::catalog::{
    Catalog, CatalogError, Change, DeletionKind, FeedEvent, FileRecord, ListQuery, OnConflict,
    Quota, Refusal, SortKey, Transfer, Transferred, TrashTimes,
};

/// The time copies and moves in these checks are made at.
const NOW: i64 = 1_000;

/// A request for the files and folders at these paths (their ids are looked up).
async fn request(
    c: &dyn Catalog,
    files: &[&str],
    folders: &[&str],
    target: &str,
    on_conflict: OnConflict,
) -> Transfer {
    let mut file_ids = Vec::new();
    for path in files {
        let found = c.file_by_path(APP, path).await.expect("read");
        file_ids.push(found.unwrap_or_else(|| panic!("no file at {path}")).id);
    }
    let mut folder_ids = Vec::new();
    for path in folders {
        let found = c.folder_by_path(APP, path).await.expect("read");
        folder_ids.push(found.unwrap_or_else(|| panic!("no folder at {path}")).id);
    }
    Transfer {
        file_ids,
        folder_ids,
        target: target.to_owned(),
        on_conflict,
        max_entries: 100,
        max_path_bytes: 1024,
        quota: Quota::default(),
        now: NOW,
    }
}

async fn copy(c: &dyn Catalog, files: &[&str], folders: &[&str], target: &str) -> Transferred {
    let req = request(c, files, folders, target, OnConflict::Fail).await;
    c.copy_entries(APP, &req).await.expect("copy")
}

async fn move_to(c: &dyn Catalog, files: &[&str], folders: &[&str], target: &str) -> Transferred {
    let req = request(c, files, folders, target, OnConflict::Fail).await;
    c.move_entries(APP, &req).await.expect("move")
}

async fn at(c: &dyn Catalog, path: &str) -> Option<FileRecord> {
    c.file_by_path(APP, path).await.expect("read")
}

fn paths_of(files: &[FileRecord]) -> Vec<&str> {
    files.iter().map(|f| f.path.as_str()).collect()
}

fn source(path: &str) -> Change {
    Change::Source {
        app_key: APP.to_owned(),
        path: path.to_owned(),
    }
}

fn below(folder: &str) -> Change {
    Change::Below {
        app_key: APP.to_owned(),
        folder: folder.to_owned(),
    }
}

/// Every path of the app, folders and files, in byte order.
async fn tree(c: &dyn Catalog) -> Vec<String> {
    let mut all: Vec<String> = c
        .folders_after(APP, "", 1000)
        .await
        .expect("folders")
        .into_iter()
        .map(|f| match f.path.as_str() {
            "/" => f.path,
            path => format!("{path}/"),
        })
        .collect();
    all.extend(
        c.files_after(APP, "", 1000)
            .await
            .expect("files")
            .into_iter()
            .map(|f| f.path),
    );
    all.sort();
    all
}

pub(super) async fn a_copy_is_a_new_file_on_the_same_bytes(c: &dyn Catalog) {
    with_app(c).await;
    let original = put(c, file("/a/x.jpg", 10, None)).await;
    let done = copy(c, &["/a/x.jpg"], &[], "/b/c").await;
    assert_eq!(done.files.len(), 1);
    let made = &done.files[0];
    assert_ne!(made.id, original.id, "a copy has an id of its own");
    assert_eq!(
        *made,
        FileRecord {
            id: made.id.clone(),
            path: "/b/c/x.jpg".to_owned(),
            created_at: NOW,
            updated_at: NOW,
            ..original.clone()
        },
        "the same blob key, ETag and facts, new now"
    );
    assert_eq!(at(c, "/b/c/x.jpg").await.as_ref(), Some(made));
    assert_eq!(at(c, "/a/x.jpg").await, Some(original.clone()), "kept");
    assert!(done.folders.is_empty() && done.changes.is_empty());
    assert_eq!(folder_time(c, "/b/c").await, NOW, "the target was made");
    assert_eq!(folder_time(c, "/b").await, NOW);
    assert_eq!(
        folder_time(c, "/a").await,
        10,
        "the source folder is unchanged"
    );
    let refs = c.blob_references(0).await.expect("references");
    let keys: Vec<&str> = refs.files.iter().map(|r| r.blob_key.as_str()).collect();
    assert_eq!(keys, [original.blob_key.as_str(); 2], "two files, one blob");
}

pub(super) async fn a_shared_blob_is_dropped_with_its_last_reference(c: &dyn Catalog) {
    with_app(c).await;
    let original = put(c, file("/a/x.jpg", 10, None)).await;
    let first = copy(c, &["/a/x.jpg"], &[], "/b").await.files.remove(0);
    let second = copy(c, &["/b/x.jpg"], &[], "/c").await.files.remove(0);
    let key = original.blob_key.clone();

    let version = file("/a/x.jpg", 15, None);
    let rotated = c
        .replace_file_version(
            APP,
            FileRecord {
                id: original.id.clone(),
                ..version
            },
            &key,
        )
        .await
        .expect("a new version of the original")
        .expect("made from the version read");
    assert_eq!(rotated.orphaned_blobs, vec![key.clone()]);
    assert!(dropped(c).await.is_empty(), "the copies still use it");
    assert_eq!(
        at(c, "/b/x.jpg").await.map(|f| f.blob_key),
        Some(key.clone())
    );
    c.delete_file(APP, &original.id, false)
        .await
        .expect("delete the original");
    assert_eq!(
        dropped(c).await,
        vec![rotated.file.blob_key],
        "its own new version goes; two copies still use the shared key"
    );
    c.forget_dropped_blobs(&dropped(c).await)
        .await
        .expect("forget");
    let over = c
        .put_file(APP, file("/b/x.jpg", 20, None), OnConflict::Overwrite)
        .await
        .expect("overwrite a copy");
    assert_eq!(over.file.id, first.id);
    assert!(dropped(c).await.is_empty(), "the other copy still uses it");
    assert_eq!(
        at(c, "/c/x.jpg").await.map(|f| f.blob_key),
        Some(key.clone())
    );

    let before = crate::clock::now_ms();
    c.delete_file(APP, &second.id, false)
        .await
        .expect("delete the last reference");
    assert_eq!(
        dropped(c).await,
        vec![key.clone()],
        "the last reference went"
    );
    assert!(
        c.dropped_blobs(before, 10)
            .await
            .expect("dropped")
            .is_empty(),
        "the delay counts from the last drop"
    );
    c.forget_dropped_blobs(std::slice::from_ref(&key))
        .await
        .expect("forget");
    assert!(dropped(c).await.is_empty());

    // A key pending deletion that a file names again (here an import) is not handed out while
    // that file lasts, and waits again from its next drop.
    let gone = put(c, file("/g.jpg", 30, None)).await;
    c.delete_file(APP, &gone.id, false).await.expect("delete");
    assert_eq!(dropped(c).await, vec![gone.blob_key.clone()]);
    let again = FileRecord {
        id: uuid::Uuid::new_v4().to_string(),
        path: "/again.jpg".to_owned(),
        ..gone.clone()
    };
    c.import_file(APP, &again).await.expect("import");
    assert!(dropped(c).await.is_empty(), "referenced again");
    let before = crate::clock::now_ms();
    c.delete_file(APP, &again.id, false).await.expect("delete");
    assert!(
        c.dropped_blobs(before, 10)
            .await
            .expect("dropped")
            .is_empty(),
        "the delay counts from the later drop"
    );
    assert_eq!(dropped(c).await, vec![gone.blob_key]);
}

pub(super) async fn a_move_keeps_the_id_and_takes_the_new_path(c: &dyn Catalog) {
    with_app(c).await;
    let original = put(c, file("/a/x.jpg", 10, None)).await;
    put(c, file("/a/y.jpg", 10, None)).await;
    c.put_operation(APP, &operation("w", 10))
        .await
        .expect("operation");
    let product = put(c, file("/a/x_w.jpg", 11, Some(&original))).await;
    let done = move_to(c, &["/a/x.jpg"], &[], "/b").await;
    let moved = FileRecord {
        path: "/b/x.jpg".to_owned(),
        ..original.clone()
    };
    assert_eq!(done.files, vec![moved.clone()], "same id, times and bytes");
    assert_eq!(done.changes, vec![source("/a/x.jpg")]);
    assert_eq!(at(c, "/a/x.jpg").await, None);
    assert_eq!(
        c.file_by_id(APP, &original.id).await.expect("read"),
        Some(moved)
    );
    assert_eq!(folder_time(c, "/a").await, NOW, "the source lost an entry");
    assert_eq!(folder_time(c, "/b").await, NOW, "the target gained one");
    let stored = c
        .stored_file(APP, "/a/x_w.jpg")
        .await
        .expect("read")
        .expect("the product stays where it is");
    assert_eq!(stored.file, product);
    assert_eq!(
        stored.source.map(|s| s.path),
        Some("/b/x.jpg".to_owned()),
        "still made from the moved file"
    );
    assert!(dropped(c).await.is_empty(), "a move drops no bytes");

    let again = move_to(c, &["/b/x.jpg"], &[], "/b").await;
    assert_eq!(paths_of(&again.files), ["/b/x.jpg"], "already there");
    assert!(again.changes.is_empty());
}

pub(super) async fn a_folder_move_takes_everything_below_along(c: &dyn Catalog) {
    with_app(c).await;
    let top = put(c, file("/a/b/c.jpg", 10, None)).await;
    let deep = put(c, file("/a/b/d/e.jpg", 10, None)).await;
    let product = put(c, file("/a/b/c_w.jpg", 10, Some(&top))).await;
    c.create_folder(APP, "/a/b/d/empty", 10)
        .await
        .expect("folder");
    for kept in ["/a/bb/k.jpg", "/a/b-x/k.jpg", "/a/b0.jpg"] {
        put(c, file(kept, 10, None)).await;
    }
    let b = c
        .folder_by_path(APP, "/a/b")
        .await
        .expect("read")
        .expect("b");
    let d = c
        .folder_by_path(APP, "/a/b/d")
        .await
        .expect("read")
        .expect("d");
    let before = tree(c).await;

    let done = move_to(c, &[], &["/a/b"], "/x").await;
    assert_eq!(done.changes, vec![below("/a/b")]);
    let folders: Vec<(&str, &str)> = done
        .folders
        .iter()
        .map(|f| (f.id.as_str(), f.path.as_str()))
        .collect();
    assert_eq!(
        folders[..2],
        [(b.id.as_str(), "/x/b"), (d.id.as_str(), "/x/b/d")]
    );
    assert_eq!(done.folders.len(), 3, "the empty folder too");
    assert_eq!(
        sorted(
            paths_of(&done.files)
                .iter()
                .map(|p| p.to_string())
                .collect()
        ),
        ["/x/b/c.jpg", "/x/b/c_w.jpg", "/x/b/d/e.jpg"],
        "produced files move along"
    );
    for (old, new) in [
        (&top, "/x/b/c.jpg"),
        (&deep, "/x/b/d/e.jpg"),
        (&product, "/x/b/c_w.jpg"),
    ] {
        let now = c
            .file_by_id(APP, &old.id)
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(now.path, new, "{} keeps its id", old.path);
        assert_eq!(now.blob_key, old.blob_key);
    }
    let moved = c
        .folder_by_path(APP, "/x/b")
        .await
        .expect("read")
        .expect("b");
    assert_eq!((moved.id, moved.updated_at), (b.id, b.updated_at));
    let expected: Vec<String> = before
        .iter()
        .map(|p| match p.strip_prefix("/a/b/") {
            Some(rest) => format!("/x/b/{rest}"),
            None => p.clone(),
        })
        .chain(["/x/".to_owned()])
        .collect();
    assert_eq!(
        tree(c).await,
        sorted(expected),
        "every path below, nothing else"
    );
    let listing = c
        .list(
            APP,
            "/x/b/d",
            &ListQuery {
                created_by: None,
                name: None,
                page: 1,
                rows: 10,
                sort: SortKey::Name,
                descending: false,
            },
        )
        .await
        .expect("list");
    assert_eq!(
        (listing.total_files, listing.total_folders),
        (1, 1),
        "parents rewritten too"
    );
    assert_eq!(folder_time(c, "/a").await, NOW);
    assert_eq!(folder_time(c, "/x").await, NOW);
    let stored = c
        .stored_file(APP, "/x/b/c_w.jpg")
        .await
        .expect("read")
        .expect("moved product");
    assert_eq!(stored.source.map(|s| s.id), Some(top.id));
}

pub(super) async fn a_folder_copy_takes_uploaded_files_only(c: &dyn Catalog) {
    with_app(c).await;
    let top = put(c, file("/s/d/a.jpg", 10, None)).await;
    let product = put(c, file("/s/d/a_w.jpg", 10, Some(&top))).await;
    put(c, file("/s/d/e/b.jpg", 10, None)).await;
    let d = c
        .folder_by_path(APP, "/s/d")
        .await
        .expect("read")
        .expect("d");
    let done = copy(c, &[], &["/s/d"], "/t").await;
    assert_eq!(
        paths_of(&done.files),
        ["/t/d/a.jpg", "/t/d/e/b.jpg"],
        "below a folder, uploaded files only"
    );
    assert_eq!(done.folders.len(), 2);
    assert_ne!(done.folders[0].id, d.id, "copied folders get new ids");
    assert_eq!(done.folders[0].updated_at, NOW);
    assert_eq!(at(c, "/t/d/a_w.jpg").await, None);
    let stats = c.folder_stats(APP, "/t").await.expect("stats");
    assert_eq!((stats.files, stats.folders), (2, 2));

    let named = copy(c, &["/s/d/a_w.jpg"], &[], "/p").await.files.remove(0);
    assert_eq!(
        (
            &named.source_id,
            &named.variant,
            named.created_by,
            &named.operation_id
        ),
        (
            &product.source_id,
            &product.variant,
            product.created_by,
            &product.operation_id
        ),
        "a named product is copied as a product of the same source"
    );
    assert_eq!(at(c, "/s/d/a_w.jpg").await, Some(product), "sources stay");
}

pub(super) async fn conflicts_refuse_the_whole_request(c: &dyn Catalog) {
    with_app(c).await;
    put(c, file("/a/free.jpg", 10, None)).await;
    put(c, file("/a/taken.jpg", 10, None)).await;
    put(c, file("/t/taken.jpg", 10, None)).await;
    put(c, file("/s/d/free.jpg", 10, None)).await;
    put(c, file("/s/d/deep/taken.jpg", 10, None)).await;
    put(c, file("/t/d/deep/taken.jpg", 10, None)).await;
    c.create_folder(APP, "/t/folder.jpg", 10)
        .await
        .expect("folder");
    put(c, file("/a/folder.jpg", 10, None)).await;
    let before = tree(c).await;
    let times = (folder_time(c, "/a").await, folder_time(c, "/t").await);
    for (files, folders) in [
        (&["/a/free.jpg", "/a/taken.jpg"][..], &[][..]),
        (&["/a/free.jpg"][..], &["/s/d"][..]),
        (&["/a/folder.jpg"][..], &[][..]),
    ] {
        for overwrite in [false, true] {
            let rule = if overwrite {
                OnConflict::Overwrite
            } else {
                OnConflict::Fail
            };
            let req = request(c, files, folders, "/t", rule).await;
            let conflicts = !overwrite || files.contains(&"/a/folder.jpg");
            if !conflicts {
                continue;
            }
            for outcome in [
                c.copy_entries(APP, &req).await,
                c.move_entries(APP, &req).await,
            ] {
                assert!(
                    matches!(outcome, Err(CatalogError::FileExists(_))),
                    "{files:?} {folders:?}: {outcome:?}"
                );
            }
            assert_eq!(tree(c).await, before, "nothing changed");
        }
    }
    let same_name = request(
        c,
        &["/a/taken.jpg", "/t/taken.jpg"],
        &[],
        "/t/new",
        OnConflict::Fail,
    )
    .await;
    for outcome in [
        c.copy_entries(APP, &same_name).await,
        c.move_entries(APP, &same_name).await,
    ] {
        assert!(
            matches!(outcome, Err(CatalogError::FileExists(_))),
            "{outcome:?}"
        );
    }
    assert_eq!(tree(c).await, before, "not even the target was made");
    assert_eq!(
        (folder_time(c, "/a").await, folder_time(c, "/t").await),
        times,
        "no folder time moved"
    );
    assert!(dropped(c).await.is_empty());
}

pub(super) async fn overwrite_and_rename_resolve_conflicts(c: &dyn Catalog) {
    with_app(c).await;
    let mine = put(
        c,
        FileRecord {
            dominant_color: Some("#102030".to_owned()),
            ..file("/a/x.jpg", 10, None)
        },
    )
    .await;
    let theirs = put(
        c,
        FileRecord {
            dominant_color: Some("#ffffff".to_owned()),
            ..file("/t/x.jpg", 11, None)
        },
    )
    .await;
    put(c, file("/t/x(1).jpg", 12, None)).await;

    let req = request(c, &["/a/x.jpg"], &[], "/t", OnConflict::Rename).await;
    let renamed = c
        .copy_entries(APP, &req)
        .await
        .expect("copy")
        .files
        .remove(0);
    assert_eq!(renamed.path, "/t/x(2).jpg", "the first free name");
    assert_eq!(renamed.blob_key, mine.blob_key);

    let req = request(c, &["/a/x.jpg"], &[], "/t", OnConflict::Overwrite).await;
    let done = c.copy_entries(APP, &req).await.expect("copy");
    let over = &done.files[0];
    assert_eq!(
        (over.id.as_str(), over.path.as_str(), over.created_at),
        (theirs.id.as_str(), "/t/x.jpg", theirs.created_at),
        "the replaced file's id, path and creation time"
    );
    assert_eq!(
        (over.blob_key.as_str(), over.updated_at),
        (mine.blob_key.as_str(), NOW)
    );
    let stored = c
        .file_by_id(APP, &theirs.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(
        stored.dominant_color, mine.dominant_color,
        "the new bytes' colour is stored"
    );
    assert_eq!(done.changes, vec![source("/t/x.jpg")]);
    assert_eq!(dropped(c).await, vec![theirs.blob_key.clone()]);

    // A move over a file: the file keeps the replaced one's id; products follow it.
    let product = put(c, file("/a/x_w.jpg", 13, Some(&mine))).await;
    let other = put(c, file("/u/x.jpg", 14, None)).await;
    let req = request(c, &["/a/x.jpg"], &[], "/u", OnConflict::Overwrite).await;
    let done = c.move_entries(APP, &req).await.expect("move");
    assert_eq!(done.files[0].id, other.id);
    assert_eq!(done.files[0].blob_key, mine.blob_key);
    assert_eq!(
        sorted(done.changes.iter().map(|ch| format!("{ch:?}")).collect()),
        sorted(vec![
            format!("{:?}", source("/a/x.jpg")),
            format!("{:?}", source("/u/x.jpg"))
        ])
    );
    assert_eq!(c.file_by_id(APP, &mine.id).await.expect("read"), None);
    let moved_product = c
        .file_by_id(APP, &product.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(moved_product.source_id, Some(other.id.clone()));
    assert!(dropped(c).await.contains(&other.blob_key));
    assert!(!dropped(c).await.contains(&mine.blob_key), "still used");
    let (history, _) = c.deletions(APP, i64::MIN, 1, 100).await.expect("history");
    let listed: Vec<_> = history
        .iter()
        .map(|d| (d.file_id.as_str(), d.path.as_str(), d.kind))
        .collect();
    assert_eq!(
        listed,
        [(mine.id.as_str(), "/a/x.jpg", DeletionKind::Delete)],
        "the moved file's own id is gone, and only it"
    );
}

pub(super) async fn folders_merge_into_folders_already_there(c: &dyn Catalog) {
    with_app(c).await;
    put(c, file("/s/d/a.jpg", 10, None)).await;
    put(c, file("/s/d/e/b.jpg", 10, None)).await;
    put(c, file("/s/d/f/g.jpg", 10, None)).await;
    put(c, file("/t/d/a.jpg", 10, None)).await;
    put(c, file("/t/d/e/c.jpg", 10, None)).await;
    let there = c
        .folder_by_path(APP, "/t/d")
        .await
        .expect("read")
        .expect("d");
    let e_there = c
        .folder_by_path(APP, "/t/d/e")
        .await
        .expect("read")
        .expect("e");
    let f_source = c
        .folder_by_path(APP, "/s/d/f")
        .await
        .expect("read")
        .expect("f");

    let req = request(c, &[], &["/s/d"], "/t", OnConflict::Rename).await;
    let done = c.move_entries(APP, &req).await.expect("move");
    assert_eq!(done.folders[0].id, there.id, "merged into the folder there");
    assert_eq!(
        sorted(
            paths_of(&done.files)
                .iter()
                .map(|p| p.to_string())
                .collect()
        ),
        ["/t/d/a(1).jpg", "/t/d/e/b.jpg", "/t/d/f/g.jpg"]
    );
    assert_eq!(
        c.folder_by_path(APP, "/t/d/e")
            .await
            .expect("read")
            .map(|f| f.id),
        Some(e_there.id),
        "merged below too"
    );
    assert_eq!(
        c.folder_by_path(APP, "/t/d/f")
            .await
            .expect("read")
            .map(|f| f.id),
        Some(f_source.id),
        "a folder new there moves as it is"
    );
    assert_eq!(c.folder_by_path(APP, "/s/d").await.expect("read"), None);
    assert_eq!(
        tree(c).await,
        [
            "/",
            "/s/",
            "/t/",
            "/t/d/",
            "/t/d/a(1).jpg",
            "/t/d/a.jpg",
            "/t/d/e/",
            "/t/d/e/b.jpg",
            "/t/d/e/c.jpg",
            "/t/d/f/",
            "/t/d/f/g.jpg"
        ]
        .map(str::to_owned)
    );
    assert_eq!(folder_time(c, "/t/d").await, NOW, "gained entries");
    assert_eq!(folder_time(c, "/t").await, 10, "gained none");
}

pub(super) async fn refusals_change_nothing(c: &dyn Catalog) {
    with_app(c).await;
    put(c, file("/a/b/c.jpg", 10, None)).await;
    put(c, file("/x/b/z.jpg", 10, None)).await;
    put(c, file("/f.jpg", 10, None)).await;
    let before = tree(c).await;
    let refusal = |outcome: Result<Transferred, CatalogError>| match outcome {
        Err(CatalogError::Refused(why)) => why,
        other => panic!("not refused: {other:?}"),
    };
    for target in ["/a", "/a/b", "/a/b/c"] {
        let req = request(c, &[], &["/a"], target, OnConflict::Overwrite).await;
        assert!(matches!(
            refusal(c.move_entries(APP, &req).await),
            Refusal::IntoItself { .. }
        ));
        assert!(matches!(
            refusal(c.copy_entries(APP, &req).await),
            Refusal::IntoItself { .. }
        ));
    }
    let req = request(c, &[], &["/x/b"], "/", OnConflict::Overwrite).await;
    c.create_folder(APP, "/x/b/b", 10).await.expect("folder");
    let onto_holder = request(c, &[], &["/x/b/b"], "/x", OnConflict::Overwrite).await;
    assert!(matches!(
        refusal(c.move_entries(APP, &onto_holder).await),
        Refusal::IntoItself { .. }
    ));
    let root = request(c, &[], &["/"], "/x", OnConflict::Overwrite).await;
    assert_eq!(refusal(c.move_entries(APP, &root).await), Refusal::Root);
    let overlap = request(c, &["/a/b/c.jpg"], &["/a"], "/x", OnConflict::Overwrite).await;
    assert!(matches!(
        refusal(c.move_entries(APP, &overlap).await),
        Refusal::Overlap(_)
    ));
    let mut few = req.clone();
    few.max_entries = 1;
    assert_eq!(
        refusal(c.copy_entries(APP, &few).await),
        Refusal::TooMany(1)
    );
    let mut short = req.clone();
    short.max_path_bytes = 6;
    assert!(matches!(
        refusal(c.move_entries(APP, &short).await),
        Refusal::PathTooLong(_)
    ));
    let mut unknown = req.clone();
    unknown.file_ids.push("no-such-id".to_owned());
    assert!(matches!(
        c.move_entries(APP, &unknown).await,
        Err(CatalogError::NotFound(id)) if id == "no-such-id"
    ));
    let mut below_a_file = req.clone();
    below_a_file.target = "/f.jpg/in".to_owned();
    assert!(matches!(
        c.copy_entries(APP, &below_a_file).await,
        Err(CatalogError::NotAFolder(_))
    ));
    let mut other_app = req.clone();
    other_app.target = "/elsewhere".to_owned();
    assert!(matches!(
        c.move_entries("B", &other_app).await,
        Err(CatalogError::NotFound(_))
    ));
    let mut expected = before;
    expected.push("/x/b/b/".to_owned());
    expected.sort();
    assert_eq!(tree(c).await, expected, "nothing changed");
    let fine = c.move_entries(APP, &req).await.expect("/x/b to the root");
    assert_eq!(fine.folders[0].path, "/b");
}

pub(super) async fn copies_count_against_the_quota(c: &dyn Catalog) {
    with_app(c).await;
    put(c, file("/a/x.jpg", 10, None)).await;
    put(c, file("/a/y.jpg", 10, None)).await;
    let before = tree(c).await;
    let used = c.usage(APP).await.expect("usage");
    assert_eq!((used.bytes, used.files), (20, 2));
    for quota in [
        Quota {
            bytes: Some(39),
            files: None,
        },
        Quota {
            bytes: None,
            files: Some(3),
        },
    ] {
        let mut req = request(c, &["/a/x.jpg", "/a/y.jpg"], &[], "/b", OnConflict::Fail).await;
        req.quota = quota;
        assert!(
            matches!(
                c.copy_entries(APP, &req).await,
                Err(CatalogError::QuotaExceeded)
            ),
            "{quota:?}"
        );
        assert_eq!(tree(c).await, before, "nothing changed");
        assert_eq!(c.usage(APP).await.expect("usage"), used);
    }
    let mut req = request(c, &[], &["/a"], "/b", OnConflict::Fail).await;
    req.quota = Quota {
        bytes: Some(40),
        files: Some(4),
    };
    c.copy_entries(APP, &req)
        .await
        .expect("exactly at the quota");
    let used = c.usage(APP).await.expect("usage");
    assert_eq!((used.bytes, used.files), (40, 4), "copies count as files");
    let mut moved = request(c, &[], &["/b/a"], "/c", OnConflict::Fail).await;
    moved.quota = Quota {
        bytes: Some(1),
        files: Some(1),
    };
    c.move_entries(APP, &moved)
        .await
        .expect("a move grows nothing, even over the quota");
    assert_eq!(c.usage(APP).await.expect("usage"), used);
}

pub(super) async fn a_trashed_file_keeps_the_shared_blob(c: &dyn Catalog) {
    with_app(c).await;
    let original = put(c, file("/a/x.jpg", 10, None)).await;
    let copied = copy(c, &["/a/x.jpg"], &[], "/b").await.files.remove(0);
    let times = TrashTimes {
        deleted_at: NOW,
        purge_at: NOW + 1,
    };
    c.trash_file(APP, &original.id, times)
        .await
        .expect("trash the original");
    c.delete_file(APP, &copied.id, false)
        .await
        .expect("delete the copy");
    assert!(
        dropped(c).await.is_empty(),
        "the file in the trash still references the bytes"
    );
    c.purge_trash(APP, std::slice::from_ref(&original.id), &[], NOW + 2)
        .await
        .expect("purge");
    assert_eq!(dropped(c).await, vec![original.blob_key]);
}

/// A moved file and a moved folder are announced as a deletion at their old paths, a replaced
/// file as a replacement; a refused move announces nothing.
pub(super) async fn moves_reach_the_feed_of_another_handle(
    writer: &dyn Catalog,
    reader: &dyn Catalog,
) {
    let mut feed = reader
        .subscribe_changes()
        .await
        .expect("subscribe")
        .expect("a shared catalog has a change feed");
    with_app(writer).await;
    put(writer, file("/a/x.jpg", 1, None)).await;
    put(writer, file("/a/y.jpg", 1, None)).await;
    put(writer, file("/d/z.jpg", 1, None)).await;
    put(writer, file("/t/y.jpg", 1, None)).await;
    writer
        .set_realtime_service(APP, true)
        .await
        .expect("realtime");
    let sentinel = FeedEvent::Change(Change::App {
        app_key: APP.to_owned(),
    });
    loop {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), feed.recv())
            .await
            .expect("the sentinel arrives")
            .expect("the feed stays open");
        if event == sentinel {
            break;
        }
    }
    move_to(writer, &["/a/x.jpg"], &[], "/t").await;
    expect(&mut feed, "a moved file", &[source("/a/x.jpg")]).await;
    move_to(writer, &[], &["/d"], "/t").await;
    expect(&mut feed, "a moved folder", &[below("/d")]).await;
    let req = request(writer, &["/a/y.jpg"], &[], "/t", OnConflict::Overwrite).await;
    writer.copy_entries(APP, &req).await.expect("copy over");
    expect(
        &mut feed,
        "a file replaced by a copy",
        &[source("/t/y.jpg")],
    )
    .await;
    let refused = request(writer, &["/a/y.jpg"], &[], "/t", OnConflict::Fail).await;
    assert!(writer.move_entries(APP, &refused).await.is_err());
    move_to(writer, &["/t/x.jpg"], &[], "/a").await;
    expect(&mut feed, "after a refused move", &[source("/t/x.jpg")]).await;
}
