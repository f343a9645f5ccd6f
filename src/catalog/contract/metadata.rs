//! The contract of tags, the search across folders and the stored dominant colour: tags are a
//! set kept with their file (set, replaced, kept by an overwrite that names none, deleted with
//! the file by every deletion), searches filter and page in one stable order, and the colour
//! is stored and read back with the file.

use super::{app, file, put, with_app, APP};
use crate::catalog::{
    Catalog, CatalogError, CreatedBy, FileRecord, FileSearch, OnConflict, Quota, Transfer,
    TrashTimes,
};

/// Every check of this file, with its name.
pub(crate) const METADATA_CHECKS: &[(&str, super::Check)] = &[
    ("tags_are_a_set_shown_wherever_the_file_is", |c| {
        Box::pin(tags_are_a_set_shown_wherever_the_file_is(c))
    }),
    ("set_tags_replaces_them_and_changes_nothing_else", |c| {
        Box::pin(set_tags_replaces_them_and_changes_nothing_else(c))
    }),
    ("an_overwrite_keeps_the_tags_unless_it_names_some", |c| {
        Box::pin(an_overwrite_keeps_the_tags_unless_it_names_some(c))
    }),
    ("tags_go_with_their_file", |c| {
        Box::pin(tags_go_with_their_file(c))
    }),
    ("the_dominant_colour_is_stored_with_the_file", |c| {
        Box::pin(the_dominant_colour_is_stored_with_the_file(c))
    }),
    ("searches_filter_by_each_criterion", |c| {
        Box::pin(searches_filter_by_each_criterion(c))
    }),
    ("tags_and_colour_survive_the_trash_copies_and_moves", |c| {
        Box::pin(tags_and_colour_survive_the_trash_copies_and_moves(c))
    }),
    ("searches_page_in_a_stable_order", |c| {
        Box::pin(searches_page_in_a_stable_order(c))
    }),
];

/// `tags` as owned strings.
fn tags(tags: &[&str]) -> Vec<String> {
    tags.iter().map(|t| (*t).to_owned()).collect()
}

/// An uploaded file at `path`, changed at `at`, with `tags`.
fn tagged(path: &str, at: i64, with: &[&str]) -> FileRecord {
    FileRecord {
        tags: tags(with),
        ..file(path, at, None)
    }
}

/// The paths of a search's page, and its total.
async fn search(c: &dyn Catalog, q: FileSearch) -> (Vec<String>, u64) {
    let q = FileSearch {
        page: if q.page == 0 { 1 } else { q.page },
        rows: if q.rows == 0 { 100 } else { q.rows },
        ..q
    };
    let page = c.search_files(APP, &q).await.expect("search");
    let paths = page.files.into_iter().map(|f| f.path).collect();
    (paths, page.total)
}

/// The tags of the file with `id`, as read back.
async fn tags_of(c: &dyn Catalog, id: &str) -> Vec<String> {
    c.file_by_id(APP, id)
        .await
        .expect("read")
        .expect("the file")
        .tags
}

async fn tags_are_a_set_shown_wherever_the_file_is(c: &dyn Catalog) {
    with_app(c).await;
    let stored = put(c, tagged("/a/x.jpg", 10, &["sea", "beach", "sea", "Sea"])).await;
    assert_eq!(stored.tags, ["Sea", "beach", "sea"], "a set, in byte order");
    let produced = put(
        c,
        FileRecord {
            tags: tags(&["thumb"]),
            ..file("/a/x_w.jpg", 11, Some(&stored))
        },
    )
    .await;
    let by_path = c.file_by_path(APP, "/a/x.jpg").await.expect("read");
    assert_eq!(by_path.as_ref(), Some(&stored), "the whole record");
    assert_eq!(tags_of(c, &stored.id).await, stored.tags);
    let listing = c
        .list(
            APP,
            "/a",
            &crate::catalog::ListQuery {
                created_by: None,
                name: None,
                page: 1,
                rows: 10,
                sort: crate::catalog::SortKey::Name,
                descending: false,
            },
        )
        .await
        .expect("list");
    assert_eq!(listing.files, [stored.clone(), produced.clone()]);
    let below = c
        .files_below(APP, "/a", CreatedBy::User, 10)
        .await
        .expect("below");
    assert_eq!(below, std::slice::from_ref(&stored));
    let with_source = c
        .stored_file(APP, "/a/x_w.jpg")
        .await
        .expect("read")
        .expect("the produced file");
    assert_eq!(with_source.file.tags, ["thumb"]);
    assert_eq!(
        with_source.source.as_ref(),
        Some(&stored),
        "its source's tags too"
    );
    let from = c.produced_from(APP, &stored.id).await.expect("produced");
    assert_eq!(from, [produced]);
    let all = c.files_after(APP, "", 10).await.expect("files after");
    assert_eq!(all[0], stored, "a copy reads the tags");
}

async fn set_tags_replaces_them_and_changes_nothing_else(c: &dyn Catalog) {
    with_app(c).await;
    c.create_app(&app("B", "other", 1)).await.expect("app");
    let stored = put(c, tagged("/f/x.jpg", 10, &["one"])).await;
    let folder_before = c.folder_by_path(APP, "/f").await.expect("read");
    let changed = c
        .set_tags(APP, &stored.id, &tags(&["two", "three", "two"]))
        .await
        .expect("set tags");
    assert_eq!(
        changed.tags,
        ["three", "two"],
        "a set, replacing the old one"
    );
    assert_eq!(
        changed,
        FileRecord {
            tags: changed.tags.clone(),
            ..stored.clone()
        },
        "nothing else of the file changes, not even its time"
    );
    assert_eq!(
        c.file_by_id(APP, &stored.id).await.expect("read"),
        Some(changed)
    );
    assert_eq!(
        c.folder_by_path(APP, "/f").await.expect("read"),
        folder_before,
        "its folder does not change"
    );
    let cleared = c.set_tags(APP, &stored.id, &[]).await.expect("clear");
    assert!(cleared.tags.is_empty());
    assert!(tags_of(c, &stored.id).await.is_empty());
    assert!(matches!(
        c.set_tags(APP, "no-such-id", &tags(&["x"])).await,
        Err(CatalogError::NotFound(_))
    ));
    assert!(
        matches!(
            c.set_tags("B", &stored.id, &tags(&["x"])).await,
            Err(CatalogError::NotFound(_))
        ),
        "another app's file is not found"
    );
    assert!(tags_of(c, &stored.id).await.is_empty());
}

async fn an_overwrite_keeps_the_tags_unless_it_names_some(c: &dyn Catalog) {
    with_app(c).await;
    let first = put(c, tagged("/o/x.jpg", 10, &["kept"])).await;
    let replaced = c
        .put_file(APP, file("/o/x.jpg", 20, None), OnConflict::Overwrite)
        .await
        .expect("overwrite");
    assert!(replaced.overwritten);
    assert_eq!(
        replaced.file.tags,
        ["kept"],
        "no tags named: the old ones stay"
    );
    assert_eq!(tags_of(c, &first.id).await, ["kept"]);
    let retagged = c
        .put_file(
            APP,
            tagged("/o/x.jpg", 30, &["new", "fresh"]),
            OnConflict::Overwrite,
        )
        .await
        .expect("overwrite");
    assert_eq!(
        retagged.file.tags,
        ["fresh", "new"],
        "tags named: they replace"
    );
    assert_eq!(tags_of(c, &first.id).await, ["fresh", "new"]);
    let renamed = c
        .put_file(APP, file("/o/x.jpg", 40, None), OnConflict::Rename)
        .await
        .expect("rename");
    assert_eq!(renamed.file.path, "/o/x(1).jpg");
    assert!(renamed.file.tags.is_empty(), "a new file takes no tags");
    assert_eq!(tags_of(c, &first.id).await, ["fresh", "new"]);
}

async fn tags_go_with_their_file(c: &dyn Catalog) {
    with_app(c).await;
    let single = put(c, tagged("/d/one.jpg", 10, &["gone"])).await;
    let source = put(c, tagged("/d/src.jpg", 11, &["src"])).await;
    let produced = put(
        c,
        FileRecord {
            tags: tags(&["gone"]),
            ..file("/d/src_w.jpg", 12, Some(&source))
        },
    )
    .await;
    let deep = put(c, tagged("/d/sub/deep.jpg", 13, &["gone"])).await;
    let by_op = put(
        c,
        FileRecord {
            tags: tags(&["gone"]),
            ..file("/e/other_w.jpg", 14, Some(&single))
        },
    )
    .await;
    let gone = || FileSearch {
        tag: Some("gone".into()),
        ..FileSearch::default()
    };
    assert_eq!(search(c, gone()).await.1, 4);

    c.delete_file(APP, &single.id, false).await.expect("delete");
    c.delete_file(APP, &source.id, true).await.expect("delete");
    let sub = c
        .folder_by_path(APP, "/d/sub")
        .await
        .expect("read")
        .expect("folder");
    c.delete_folder(APP, &sub.id).await.expect("delete folder");
    assert_eq!(
        search(c, gone()).await,
        (vec!["/e/other_w.jpg".to_owned()], 1),
        "deleted with a file, with the files produced from it, with a folder"
    );
    c.delete_produced_by(APP, "w")
        .await
        .expect("delete produced");
    assert_eq!(search(c, gone()).await, (Vec::new(), 0));

    // A file stored again under a deleted file's id finds none of its tags left behind.
    for old in [&single, &source, &produced, &deep, &by_op] {
        let again = FileRecord {
            id: old.id.clone(),
            ..file(&format!("/again{}", old.path), 20, None)
        };
        put(c, again).await;
        assert!(
            tags_of(c, &old.id).await.is_empty(),
            "tags of {} were deleted with it",
            old.path
        );
    }
}

async fn the_dominant_colour_is_stored_with_the_file(c: &dyn Catalog) {
    with_app(c).await;
    let coloured = put(
        c,
        FileRecord {
            dominant_color: Some("#1a2b3c".into()),
            ..file("/c/x.png", 10, None)
        },
    )
    .await;
    assert_eq!(coloured.dominant_color.as_deref(), Some("#1a2b3c"));
    let read = c
        .file_by_path(APP, "/c/x.png")
        .await
        .expect("read")
        .expect("file");
    assert_eq!(read.dominant_color.as_deref(), Some("#1a2b3c"));
    let produced = put(c, file("/c/x_w.png", 11, Some(&coloured))).await;
    assert_eq!(produced.dominant_color, None, "as given: none");
    let with_source = c
        .stored_file(APP, "/c/x_w.png")
        .await
        .expect("read")
        .expect("file");
    assert_eq!(
        with_source.source.and_then(|s| s.dominant_color).as_deref(),
        Some("#1a2b3c")
    );
    let over = c
        .put_file(
            APP,
            FileRecord {
                dominant_color: Some("#ffffff".into()),
                ..file("/c/x.png", 20, None)
            },
            OnConflict::Overwrite,
        )
        .await
        .expect("overwrite");
    assert_eq!(over.file.dominant_color.as_deref(), Some("#ffffff"));
    assert_eq!(
        c.file_by_id(APP, &coloured.id)
            .await
            .expect("read")
            .and_then(|f| f.dominant_color)
            .as_deref(),
        Some("#ffffff"),
        "the new version's colour"
    );
    c.put_file(APP, file("/c/x.png", 30, None), OnConflict::Overwrite)
        .await
        .expect("overwrite");
    assert_eq!(
        c.file_by_id(APP, &coloured.id)
            .await
            .expect("read")
            .and_then(|f| f.dominant_color),
        None,
        "a version without a colour has none"
    );
}

/// Files for the searches: two apps, nested folders, both kinds, times 10 to 70.
async fn search_fixture(c: &dyn Catalog) {
    with_app(c).await;
    c.create_app(&app("B", "other", 1)).await.expect("app");
    let src = put(c, tagged("/a/src.jpg", 10, &["sea", "summer"])).await;
    put(c, tagged("/a/b/deep.jpg", 20, &["sea"])).await;
    put(
        c,
        FileRecord {
            tags: tags(&["sea"]),
            ..file("/a/src_w.jpg", 30, Some(&src))
        },
    )
    .await;
    put(c, tagged("/a-b/side.jpg", 40, &["sea"])).await;
    put(c, tagged("/a.x", 50, &["summer"])).await;
    put(c, tagged("/top.jpg", 60, &[])).await;
    c.put_file(
        "B",
        tagged("/a/b/theirs.jpg", 70, &["sea"]),
        OnConflict::Fail,
    )
    .await
    .expect("put in B");
}

fn owned(paths: &[&str]) -> Vec<String> {
    paths.iter().map(|p| (*p).to_owned()).collect()
}

async fn searches_filter_by_each_criterion(c: &dyn Catalog) {
    search_fixture(c).await;
    let all = search(c, FileSearch::default()).await;
    assert_eq!(
        all,
        (
            owned(&[
                "/top.jpg",
                "/a.x",
                "/a-b/side.jpg",
                "/a/src_w.jpg",
                "/a/b/deep.jpg",
                "/a/src.jpg"
            ]),
            6
        ),
        "every file of the app, newest first, no other app's"
    );
    let by_tag = |tag: &str| FileSearch {
        tag: Some(tag.into()),
        ..FileSearch::default()
    };
    assert_eq!(
        search(c, by_tag("sea")).await,
        (
            owned(&[
                "/a-b/side.jpg",
                "/a/src_w.jpg",
                "/a/b/deep.jpg",
                "/a/src.jpg"
            ]),
            4
        )
    );
    assert_eq!(
        search(c, by_tag("Sea")).await.1,
        0,
        "tags are case-sensitive"
    );
    assert_eq!(
        search(c, by_tag("se")).await.1,
        0,
        "a whole tag, not a part"
    );
    let made = |by| FileSearch {
        created_by: Some(by),
        ..FileSearch::default()
    };
    assert_eq!(
        search(c, made(CreatedBy::Operation)).await,
        (owned(&["/a/src_w.jpg"]), 1)
    );
    assert_eq!(search(c, made(CreatedBy::User)).await.1, 5);
    let window = FileSearch {
        updated_from: Some(20),
        updated_to: Some(50),
        ..FileSearch::default()
    };
    assert_eq!(
        search(c, window).await,
        (
            owned(&["/a-b/side.jpg", "/a/src_w.jpg", "/a/b/deep.jpg"]),
            3
        ),
        "from is inclusive, to exclusive"
    );
    let below = |folder: &str| FileSearch {
        below: Some(folder.into()),
        ..FileSearch::default()
    };
    assert_eq!(
        search(c, below("/a")).await,
        (owned(&["/a/src_w.jpg", "/a/b/deep.jpg", "/a/src.jpg"]), 3),
        "strictly below at any depth; /a-b and /a.x are not below /a"
    );
    assert_eq!(
        search(c, below("/")).await.1,
        6,
        "below the root: everything"
    );
    assert_eq!(search(c, below("/a/b/deep.jpg")).await.1, 0);
    let every = FileSearch {
        tag: Some("sea".into()),
        created_by: Some(CreatedBy::User),
        updated_from: Some(15),
        updated_to: Some(61),
        below: Some("/a".into()),
        ..FileSearch::default()
    };
    assert_eq!(
        search(c, every).await,
        (owned(&["/a/b/deep.jpg"]), 1),
        "every filter holds at once"
    );
}

async fn searches_page_in_a_stable_order(c: &dyn Catalog) {
    with_app(c).await;
    for (path, at) in [
        ("/p/c.jpg", 5),
        ("/p/a.jpg", 5),
        ("/p/b.jpg", 5),
        ("/q/z.jpg", 9),
        ("/p/d.jpg", 1),
    ] {
        put(c, tagged(path, at, &["t"])).await;
    }
    let page = |page, rows| FileSearch {
        tag: Some("t".into()),
        page,
        rows,
        ..FileSearch::default()
    };
    let expected = owned(&["/q/z.jpg", "/p/a.jpg", "/p/b.jpg", "/p/c.jpg", "/p/d.jpg"]);
    assert_eq!(
        search(c, page(1, 10)).await,
        (expected.clone(), 5),
        "newest first, equal times by path"
    );
    let mut walked = Vec::new();
    for n in 1..=3 {
        let (paths, total) = search(c, page(n, 2)).await;
        assert_eq!(total, 5, "the total counts every page");
        assert!(paths.len() <= 2);
        walked.extend(paths);
    }
    assert_eq!(walked, expected, "pages neither overlap nor skip");
    assert_eq!(search(c, page(4, 2)).await, (Vec::new(), 5), "past the end");
}

/// A trashed file keeps its tags and colour until it is restored (its tags come back and are
/// searchable again); a copy carries them, a move keeps them; a purged file's are gone.
async fn tags_and_colour_survive_the_trash_copies_and_moves(c: &dyn Catalog) {
    with_app(c).await;
    let a = put(
        c,
        FileRecord {
            dominant_color: Some("#102030".to_owned()),
            ..tagged("/a/x.jpg", 5, &["sea", "sun"])
        },
    )
    .await;
    let times = TrashTimes {
        deleted_at: 10,
        purge_at: 1_000,
    };
    c.trash_file(APP, &a.id, times).await.expect("trash");
    let found = |tag: &'static str| async move {
        search(
            c,
            FileSearch {
                tag: Some(tag.to_owned()),
                ..FileSearch::default()
            },
        )
        .await
    };
    assert_eq!(found("sea").await.1, 0, "a trashed file is not found");
    c.restore_trash(APP, std::slice::from_ref(&a.id), &[], 20)
        .await
        .expect("restore");
    let back = c
        .file_by_id(APP, &a.id)
        .await
        .expect("read")
        .expect("restored");
    assert_eq!(back.tags, tags(&["sea", "sun"]), "tags restored");
    assert_eq!(
        back.dominant_color.as_deref(),
        Some("#102030"),
        "colour restored"
    );
    assert_eq!(found("sea").await, (vec!["/a/x.jpg".to_owned()], 1));

    let transfer = |target: &str| Transfer {
        file_ids: vec![a.id.clone()],
        folder_ids: Vec::new(),
        target: target.to_owned(),
        on_conflict: OnConflict::Fail,
        max_entries: 100,
        max_path_bytes: 1024,
        quota: Quota::default(),
        now: 30,
    };
    let copied = c.copy_entries(APP, &transfer("/b")).await.expect("copy");
    let copy = c
        .file_by_path(APP, "/b/x.jpg")
        .await
        .expect("read")
        .expect("copied");
    assert_ne!(copy.id, a.id);
    assert_eq!(copied.files.len(), 1);
    assert_eq!(
        (copy.tags.clone(), copy.dominant_color.clone()),
        (tags(&["sea", "sun"]), Some("#102030".to_owned())),
        "a copy carries tags and colour"
    );
    c.move_entries(APP, &transfer("/c")).await.expect("move");
    let moved = c
        .file_by_id(APP, &a.id)
        .await
        .expect("read")
        .expect("moved");
    assert_eq!(moved.path, "/c/x.jpg");
    assert_eq!(moved.tags, tags(&["sea", "sun"]), "a move keeps tags");
    assert_eq!(found("sun").await.1, 2, "the copy and the moved file");

    c.trash_file(APP, &copy.id, times)
        .await
        .expect("trash copy");
    c.purge_trash(APP, std::slice::from_ref(&copy.id), &[], 40)
        .await
        .expect("purge");
    assert_eq!(found("sun").await, (vec!["/c/x.jpg".to_owned()], 1));
}
