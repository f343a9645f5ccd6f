//! The catalog contract as tests: each check takes a fresh, empty `&dyn Catalog` and holds it
//! to the rules the trait's doc comments state. Every backend runs every check
//! ([`CHECKS`]); the SQLite catalog does in `sqlite::tests`. The checks of copying a whole
//! catalog are in [`copy`], those of replacing a file's version in [`rotation`], those of
//! usage and quota in [`quota`], those of copies and moves of entries in [`copy_move`], those
//! of resumable uploads in [`uploads`]. The checks of a catalog that several nodes share (its change
//! feed and render claims, through two handles on one store) are in [`shared`]
//! ([`SHARED_CHECKS`]). The checks of the trash and the deletion history are in [`trash`]
//! ([`TRASH_CHECKS`], [`TRASH_SHARED_CHECKS`]); those of tags, the search and the dominant
//! colour in [`metadata`] ([`METADATA_CHECKS`]).

mod copy;
mod copy_move;
mod metadata;
mod quota;
mod rotation;
mod shared;
mod trash;
mod uploads;

pub(crate) use metadata::METADATA_CHECKS;
pub(crate) use shared::SHARED_CHECKS;
pub(crate) use trash::{TRASH_CHECKS, TRASH_SHARED_CHECKS};

use super::{
    AppRecord, AppSettings, CallbackOutcome, Catalog, CatalogError, CreatedBy, FileRecord,
    ListQuery, NewCallback, OnConflict, OperationRecord, SortKey, Task, TaskStatus,
};
use std::future::Future;
use std::pin::Pin;

/// A check of the contract, run on a fresh catalog.
pub(crate) type Check = for<'a> fn(&'a dyn Catalog) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Every check, with its name.
pub(crate) const CHECKS: &[(&str, Check)] = &[
    ("apps_and_their_root_folders", |c| {
        Box::pin(apps_and_their_root_folders(c))
    }),
    ("folders_are_created_with_their_parents", |c| {
        Box::pin(folders_are_created_with_their_parents(c))
    }),
    ("a_put_file_refuses_fails_or_overwrites", |c| {
        Box::pin(a_put_file_refuses_fails_or_overwrites(c))
    }),
    ("a_rename_takes_the_first_free_name", |c| {
        Box::pin(a_rename_takes_the_first_free_name(c))
    }),
    ("a_folder_changes_when_an_entry_is_added_or_removed", |c| {
        Box::pin(a_folder_changes_when_an_entry_is_added_or_removed(c))
    }),
    ("an_overwrite_keeps_the_files_produced_from_it", |c| {
        Box::pin(an_overwrite_keeps_the_files_produced_from_it(c))
    }),
    ("listings_filter_sort_and_page", |c| {
        Box::pin(listings_filter_sort_and_page(c))
    }),
    ("below_a_folder_means_its_subtree_only", |c| {
        Box::pin(below_a_folder_means_its_subtree_only(c))
    }),
    ("deleting_a_file_drops_its_blobs", |c| {
        Box::pin(deleting_a_file_drops_its_blobs(c))
    }),
    ("deleting_a_folder_drops_its_subtree_only", |c| {
        Box::pin(deleting_a_folder_drops_its_subtree_only(c))
    }),
    ("operations_are_versioned_listed_and_deleted", |c| {
        Box::pin(operations_are_versioned_listed_and_deleted(c))
    }),
    ("a_busy_tenant_does_not_starve_the_others", |c| {
        Box::pin(a_busy_tenant_does_not_starve_the_others(c))
    }),
    ("a_worker_that_lost_its_lease_cannot_finish_the_task", |c| {
        Box::pin(a_worker_that_lost_its_lease_cannot_finish_the_task(c))
    }),
    ("a_renewed_lease_is_not_taken_over", |c| {
        Box::pin(a_renewed_lease_is_not_taken_over(c))
    }),
    ("an_expired_task_out_of_tries_fails", |c| {
        Box::pin(an_expired_task_out_of_tries_fails(c))
    }),
    ("a_failed_attempt_waits_again_and_counts", |c| {
        Box::pin(a_failed_attempt_waits_again_and_counts(c))
    }),
    ("finished_tasks_are_pruned_after_retention_only", |c| {
        Box::pin(finished_tasks_are_pruned_after_retention_only(c))
    }),
    ("the_outbox_is_bounded_and_leased", |c| {
        Box::pin(the_outbox_is_bounded_and_leased(c))
    }),
    ("dropped_blobs_wait_until_forgotten", |c| {
        Box::pin(dropped_blobs_wait_until_forgotten(c))
    }),
    ("a_tree_reads_page_by_page_in_path_order", |c| {
        Box::pin(copy::a_tree_reads_page_by_page_in_path_order(c))
    }),
    ("records_are_imported_as_given", |c| {
        Box::pin(copy::records_are_imported_as_given(c))
    }),
    ("imported_operations_keep_their_versions", |c| {
        Box::pin(copy::imported_operations_keep_their_versions(c))
    }),
    ("imported_tasks_keep_their_state", |c| {
        Box::pin(copy::imported_tasks_keep_their_state(c))
    }),
    (
        "a_version_replaces_only_the_version_it_was_made_from",
        |c| Box::pin(rotation::a_version_replaces_only_the_version_it_was_made_from(c)),
    ),
    ("a_deleted_file_stays_deleted", |c| {
        Box::pin(rotation::a_deleted_file_stays_deleted(c))
    }),
    // --- quota ---
    ("usage_follows_every_write", |c| {
        Box::pin(quota::usage_follows_every_write(c))
    }),
    ("a_refused_put_changes_nothing_but_drops_its_bytes", |c| {
        Box::pin(quota::a_refused_put_changes_nothing_but_drops_its_bytes(c))
    }),
    ("an_overwrite_counts_the_difference", |c| {
        Box::pin(quota::an_overwrite_counts_the_difference(c))
    }),
    ("racing_puts_stop_exactly_at_the_quota", |c| {
        Box::pin(quota::racing_puts_stop_exactly_at_the_quota(c))
    }),
    ("racing_puts_and_deletes_keep_usage_exact", |c| {
        Box::pin(quota::racing_puts_and_deletes_keep_usage_exact(c))
    }),
    ("the_trash_counts_until_purged", |c| {
        Box::pin(quota::the_trash_counts_until_purged(c))
    }),
    ("a_copy_is_a_new_file_on_the_same_bytes", |c| {
        Box::pin(copy_move::a_copy_is_a_new_file_on_the_same_bytes(c))
    }),
    ("a_shared_blob_is_dropped_with_its_last_reference", |c| {
        Box::pin(copy_move::a_shared_blob_is_dropped_with_its_last_reference(
            c,
        ))
    }),
    ("a_move_keeps_the_id_and_takes_the_new_path", |c| {
        Box::pin(copy_move::a_move_keeps_the_id_and_takes_the_new_path(c))
    }),
    ("a_folder_move_takes_everything_below_along", |c| {
        Box::pin(copy_move::a_folder_move_takes_everything_below_along(c))
    }),
    ("a_folder_copy_takes_uploaded_files_only", |c| {
        Box::pin(copy_move::a_folder_copy_takes_uploaded_files_only(c))
    }),
    ("conflicts_refuse_the_whole_request", |c| {
        Box::pin(copy_move::conflicts_refuse_the_whole_request(c))
    }),
    ("overwrite_and_rename_resolve_conflicts", |c| {
        Box::pin(copy_move::overwrite_and_rename_resolve_conflicts(c))
    }),
    ("folders_merge_into_folders_already_there", |c| {
        Box::pin(copy_move::folders_merge_into_folders_already_there(c))
    }),
    ("refusals_change_nothing", |c| {
        Box::pin(copy_move::refusals_change_nothing(c))
    }),
    ("copies_count_against_the_quota", |c| {
        Box::pin(copy_move::copies_count_against_the_quota(c))
    }),
    ("a_trashed_file_keeps_the_shared_blob", |c| {
        Box::pin(copy_move::a_trashed_file_keeps_the_shared_blob(c))
    }),
    ("uploads_are_bounded_per_app", |c| {
        Box::pin(uploads::uploads_are_bounded_per_app(c))
    }),
    ("an_offset_moves_by_compare_and_set", |c| {
        Box::pin(uploads::an_offset_moves_by_compare_and_set(c))
    }),
    ("a_complete_upload_becomes_a_file_in_one_step", |c| {
        Box::pin(uploads::a_complete_upload_becomes_a_file_in_one_step(c))
    }),
    ("expired_uploads_are_listed_then_deleted", |c| {
        Box::pin(uploads::expired_uploads_are_listed_then_deleted(c))
    }),
    ("an_upload_takes_a_bounded_number_of_chunks", |c| {
        Box::pin(uploads::an_upload_takes_a_bounded_number_of_chunks(c))
    }),
    ("a_complete_upload_is_held_to_the_quota", |c| {
        Box::pin(uploads::a_complete_upload_is_held_to_the_quota(c))
    }),
];

const APP: &str = "A";

/// An app with keys and a name made from `key`.
pub(crate) fn app(key: &str, container: &str, created_at: i64) -> AppRecord {
    AppRecord {
        app_key: key.to_owned(),
        secret_key: format!("secret-{key}"),
        container: container.to_owned(),
        name: format!("app {key}"),
        realtime_service: true,
        created_at,
        settings: AppSettings::default(),
    }
}

async fn with_app(c: &dyn Catalog) {
    c.create_app(&app(APP, "cont", 1))
        .await
        .expect("create app");
}

/// An uploaded file (or, with a source, a file produced from it by operation `w`).
fn file(path: &str, at: i64, source: Option<&FileRecord>) -> FileRecord {
    FileRecord {
        id: uuid::Uuid::new_v4().to_string(),
        path: path.to_owned(),
        bytes: 10,
        created_by: if source.is_some() {
            CreatedBy::Operation
        } else {
            CreatedBy::User
        },
        operation_id: if source.is_some() { "w" } else { "" }.to_owned(),
        source_id: source.map(|s| s.id.clone()),
        variant: source.map(|s| format!("{}:1", s.etag)).unwrap_or_default(),
        blob_key: format!("blob-{path}-{at}"),
        etag: format!("etag-{at}"),
        content_type: "image/jpeg".to_owned(),
        width: 3,
        height: 2,
        taken_at: Some(5),
        lat: Some(1.5),
        lng: None,
        created_at: at,
        updated_at: at,
        tags: Vec::new(),
        dominant_color: None,
    }
}

async fn put(c: &dyn Catalog, f: FileRecord) -> FileRecord {
    c.put_file(APP, f, OnConflict::Fail)
        .await
        .expect("put")
        .file
}

/// A waiting image task of `app`, queued at `queued_at`.
pub(crate) fn task(id: &str, app: &str, queued_at: i64) -> Task {
    Task {
        id: id.to_owned(),
        app_key: app.to_owned(),
        queue_type: "image".to_owned(),
        status: TaskStatus::Waiting,
        try_count: 0,
        queued_at,
        operation_id: "op".to_owned(),
        path: String::new(),
        payload: "{}".to_owned(),
        error: None,
    }
}

fn operation(id: &str, at: i64) -> OperationRecord {
    OperationRecord {
        operation_id: id.to_owned(),
        description: format!("about {id}"),
        realtime_service: true,
        jobs: "[]".to_owned(),
        updated_at: at,
        version: 0,
    }
}

async fn folder_time(c: &dyn Catalog, path: &str) -> i64 {
    c.folder_by_path(APP, path)
        .await
        .expect("read")
        .expect("folder")
        .updated_at
}

/// Runs a change stamped with the current time and returns the bounds of that time.
async fn timed<F: Future>(change: F) -> (i64, i64) {
    let before = crate::clock::now_ms();
    change.await;
    (before, crate::clock::now_ms())
}

async fn dropped(c: &dyn Catalog) -> Vec<String> {
    let mut keys = c.dropped_blobs(i64::MAX, 1000).await.expect("dropped");
    keys.sort();
    keys
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn apps_and_their_root_folders(c: &dyn Catalog) {
    c.create_app(&app("B", "second", 20)).await.expect("create");
    c.create_app(&app("A", "first", 10)).await.expect("create");
    let keys: Vec<String> = c
        .apps()
        .await
        .expect("apps")
        .into_iter()
        .map(|a| a.app_key)
        .collect();
    assert_eq!(keys, ["A", "B"], "oldest first");
    assert_eq!(
        c.app("B").await.expect("read"),
        Some(app("B", "second", 20))
    );
    let by_container = c.app_by_container("first").await.expect("read");
    assert_eq!(by_container.map(|a| a.app_key).as_deref(), Some("A"));
    assert_eq!(c.app("Z").await.expect("read"), None);
    assert!(
        c.create_app(&app("C", "first", 30)).await.is_err(),
        "containers are unique"
    );
    let root = c
        .folder_by_path("A", "/")
        .await
        .expect("read")
        .expect("root");
    assert_eq!((root.path.as_str(), root.updated_at), ("/", 10));
    let by_id = c.folder_by_id("A", &root.id).await.expect("read");
    assert_eq!(by_id, Some(root.clone()));
    assert_eq!(
        c.folder_by_id("B", &root.id).await.expect("read"),
        None,
        "per app"
    );
    c.set_realtime_service("A", false).await.expect("set");
    assert!(
        !c.app("A")
            .await
            .expect("read")
            .expect("app")
            .realtime_service
    );
    assert!(matches!(
        c.set_realtime_service("Z", true).await,
        Err(CatalogError::NotFound(_))
    ));
    app_settings_are_kept(c).await;
}

/// Settings start at their defaults, are stored with a new app and replaced whole.
async fn app_settings_are_kept(c: &dyn Catalog) {
    let read =
        |key: &'static str| async move { c.app(key).await.expect("read").expect("app").settings };
    assert_eq!(read("A").await, AppSettings::default());
    let settings = AppSettings {
        trash_retention_days: 30,
        quota_bytes: Some(u64::MAX),
        quota_files: Some(0),
        default_operation_ids: vec!["thumb".to_owned(), "w-2".to_owned()],
    };
    c.set_app_settings("A", &settings).await.expect("set");
    let mut expected = settings.clone();
    expected.quota_bytes = Some(i64::MAX as u64);
    assert_eq!(read("A").await, expected, "stored, the quota capped");
    assert_eq!(read("B").await, AppSettings::default(), "per app");
    let by_container = c.app_by_container("first").await.expect("read");
    assert_eq!(by_container.map(|a| a.settings), Some(expected.clone()));
    c.set_app_settings("A", &AppSettings::default())
        .await
        .expect("reset");
    assert_eq!(read("A").await, AppSettings::default(), "replaced whole");
    let mut with_settings = app("D", "fourth", 40);
    with_settings.settings = expected.clone();
    c.create_app(&with_settings).await.expect("create");
    assert_eq!(read("D").await, expected, "created with its settings");
    assert!(matches!(
        c.set_app_settings("Z", &settings).await,
        Err(CatalogError::NotFound(_))
    ));
}

async fn folders_are_created_with_their_parents(c: &dyn Catalog) {
    with_app(c).await;
    let deep = c.create_folder(APP, "/a/b/c", 5).await.expect("create");
    assert_eq!((deep.path.as_str(), deep.updated_at), ("/a/b/c", 5));
    for path in ["/a", "/a/b"] {
        assert!(
            c.folder_by_path(APP, path).await.expect("read").is_some(),
            "{path}"
        );
    }
    assert!(matches!(
        c.create_folder(APP, "/a/b", 6).await,
        Err(CatalogError::FolderExists(p)) if p == "/a/b"
    ));
    put(c, file("/a/x.jpg", 7, None)).await;
    assert!(matches!(
        c.create_folder(APP, "/a/x.jpg/y", 8).await,
        Err(CatalogError::NotAFolder(p)) if p == "/a/x.jpg"
    ));
    assert!(matches!(
        c.put_file(APP, file("/a/x.jpg/z.jpg", 8, None), OnConflict::Fail)
            .await,
        Err(CatalogError::NotAFolder(_))
    ));
    let f = put(c, file("/p/q/r.jpg", 9, None)).await;
    assert_eq!(
        c.file_by_id(APP, &f.id).await.expect("read"),
        Some(f.clone())
    );
    assert_eq!(
        c.file_by_path(APP, "/p/q/r.jpg").await.expect("read"),
        Some(f)
    );
    assert!(
        c.folder_by_path(APP, "/p/q").await.expect("read").is_some(),
        "parents of a file"
    );
}

async fn a_put_file_refuses_fails_or_overwrites(c: &dyn Catalog) {
    with_app(c).await;
    c.create_folder(APP, "/d", 2).await.expect("folder");
    assert!(matches!(
        c.put_file(APP, file("/d", 3, None), OnConflict::Overwrite)
            .await,
        Err(CatalogError::FolderExists(_))
    ));
    let first = put(c, file("/x.jpg", 10, None)).await;
    assert!(matches!(
        c.put_file(APP, file("/x.jpg", 11, None), OnConflict::Fail).await,
        Err(CatalogError::FileExists(p)) if p == "/x.jpg"
    ));
    assert!(dropped(c).await.is_empty(), "a refused put drops nothing");
    let second = file("/x.jpg", 20, None);
    let out = c
        .put_file(APP, second.clone(), OnConflict::Overwrite)
        .await
        .expect("overwrite");
    assert!(out.overwritten);
    assert_eq!(out.orphaned_blobs, vec![first.blob_key.clone()]);
    assert_eq!(
        (out.file.id.as_str(), out.file.created_at),
        (first.id.as_str(), 10)
    );
    assert_eq!(
        (out.file.etag.as_str(), out.file.updated_at),
        ("etag-20", 20)
    );
    let stored = c.file_by_path(APP, "/x.jpg").await.expect("read");
    assert_eq!(stored, Some(out.file));
    assert_eq!(
        dropped(c).await,
        vec![first.blob_key],
        "recorded as dropped"
    );
    let fresh = c
        .put_file(APP, file("/y.jpg", 30, None), OnConflict::Overwrite)
        .await
        .expect("put");
    assert!(!fresh.overwritten && fresh.orphaned_blobs.is_empty());
}

async fn a_rename_takes_the_first_free_name(c: &dyn Catalog) {
    with_app(c).await;
    put(c, file("/f/photo.jpg", 1, None)).await;
    c.create_folder(APP, "/f/photo(1).jpg", 2)
        .await
        .expect("folder");
    let mut paths = Vec::new();
    for at in 3..6 {
        let out = c
            .put_file(APP, file("/f/photo.jpg", at, None), OnConflict::Rename)
            .await
            .expect("rename");
        assert!(!out.overwritten && out.orphaned_blobs.is_empty());
        paths.push(out.file.path);
    }
    assert_eq!(
        paths,
        ["/f/photo(2).jpg", "/f/photo(3).jpg", "/f/photo(4).jpg"]
    );
    assert_eq!(
        folder_time(c, "/f").await,
        5,
        "a renamed file is a new entry"
    );
    let free = c
        .put_file(APP, file("/f/other", 6, None), OnConflict::Rename)
        .await
        .expect("free");
    assert_eq!(free.file.path, "/f/other", "a free path is kept");
}

async fn a_folder_changes_when_an_entry_is_added_or_removed(c: &dyn Catalog) {
    with_app(c).await;
    c.create_folder(APP, "/a", 10).await.expect("folder");
    assert_eq!(folder_time(c, "/").await, 10, "a subfolder created");
    c.create_folder(APP, "/a/b", 15).await.expect("folder");
    assert_eq!(folder_time(c, "/a").await, 15, "a subfolder created");
    assert_eq!(folder_time(c, "/").await, 10, "the immediate parent only");
    let up = put(c, file("/a/x.jpg", 20, None)).await;
    assert_eq!(folder_time(c, "/a").await, 20, "a file uploaded");
    let over = c
        .put_file(APP, file("/a/x.jpg", 30, None), OnConflict::Overwrite)
        .await
        .expect("overwrite");
    assert_eq!(
        folder_time(c, "/a").await,
        20,
        "a replaced file is no new entry"
    );
    c.put_file(
        APP,
        file("/a/x_w.jpg", 40, Some(&over.file)),
        OnConflict::Overwrite,
    )
    .await
    .expect("produced");
    assert_eq!(folder_time(c, "/a").await, 40, "a produced file stored");
    put(c, file("/a/old.jpg", 35, None)).await;
    assert_eq!(folder_time(c, "/a").await, 40, "never moves backwards");
    let (lo, hi) = timed(async {
        c.delete_file(APP, &up.id, true).await.expect("delete");
    })
    .await;
    let t = folder_time(c, "/a").await;
    assert!((lo..=hi).contains(&t), "a file deleted: {t} in {lo}..={hi}");
    assert_eq!(folder_time(c, "/").await, 10);
    let b = c
        .folder_by_path(APP, "/a/b")
        .await
        .expect("read")
        .expect("b");
    let (lo, hi) = timed(async {
        c.delete_folder(APP, &b.id).await.expect("delete");
    })
    .await;
    let t = folder_time(c, "/a").await;
    assert!((lo..=hi).contains(&t), "a subfolder deleted: {t}");
    assert_eq!(folder_time(c, "/").await, 10);
    let a = c.folder_by_path(APP, "/a").await.expect("read").expect("a");
    let (lo, hi) = timed(async {
        c.delete_folder(APP, &a.id).await.expect("delete");
    })
    .await;
    let t = folder_time(c, "/").await;
    assert!(
        (lo..=hi).contains(&t),
        "a folder deleted from the root: {t}"
    );
}

async fn an_overwrite_keeps_the_files_produced_from_it(c: &dyn Catalog) {
    with_app(c).await;
    let source = put(c, file("/x.jpg", 10, None)).await;
    c.put_operation(APP, &operation("w", 10))
        .await
        .expect("operation");
    let produced = file("/x_w.jpg", 11, Some(&source));
    put(c, produced.clone()).await;
    let over = c
        .put_file(APP, file("/x.jpg", 20, None), OnConflict::Overwrite)
        .await
        .expect("overwrite");
    assert_eq!(over.orphaned_blobs, vec![source.blob_key.clone()]);
    let stored = c
        .stored_file(APP, "/x_w.jpg")
        .await
        .expect("read")
        .expect("the produced file stays");
    assert_eq!(stored.file, produced);
    let now = stored.source.expect("its source");
    assert_eq!(
        (now.id, now.etag),
        (source.id.clone(), "etag-20".to_owned())
    );
    assert_eq!(stored.operation.expect("its operation").operation_id, "w");
    let upload = c
        .stored_file(APP, "/x.jpg")
        .await
        .expect("read")
        .expect("upload");
    assert_eq!((upload.source, upload.operation), (None, None));
    let from = c.produced_from(APP, &source.id).await.expect("produced");
    assert_eq!(from, vec![produced]);
    c.delete_operation(APP, "w")
        .await
        .expect("delete operation");
    let orphan = c
        .stored_file(APP, "/x_w.jpg")
        .await
        .expect("read")
        .expect("kept");
    assert!(orphan.operation.is_none() && orphan.source.is_some());
    assert_eq!(c.stored_file(APP, "/none.jpg").await.expect("read"), None);
}

async fn listings_filter_sort_and_page(c: &dyn Catalog) {
    with_app(c).await;
    for (name, at) in [("b", 30), ("a", 40), ("c", 20)] {
        c.create_folder(APP, &format!("/l/{name}dir"), at)
            .await
            .expect("folder");
    }
    let source = put(c, file("/l/m.jpg", 50, None)).await;
    put(c, file("/l/k.jpg", 60, None)).await;
    put(c, file("/l/z.jpg", 10, None)).await;
    put(c, file("/l/m_w.jpg", 70, Some(&source))).await;
    put(c, file("/l/adir/deep.jpg", 5, None)).await;
    let query = |sort, descending, page, rows| ListQuery {
        created_by: None,
        name: None,
        page,
        rows,
        sort,
        descending,
    };
    let names = |l: &super::Listing| {
        let folders: Vec<String> = l.folders.iter().map(|f| f.path.clone()).collect();
        let files: Vec<String> = l.files.iter().map(|f| f.path.clone()).collect();
        (folders, files)
    };
    let all = c
        .list(APP, "/l", &query(SortKey::Name, false, 1, 10))
        .await
        .expect("list");
    assert_eq!((all.total_folders, all.total_files), (3, 4));
    assert_eq!(
        names(&all),
        (
            vec!["/l/adir".into(), "/l/bdir".into(), "/l/cdir".into()],
            vec![
                "/l/k.jpg".into(),
                "/l/m.jpg".into(),
                "/l/m_w.jpg".into(),
                "/l/z.jpg".into()
            ]
        )
    );
    let page2 = c
        .list(APP, "/l", &query(SortKey::Name, true, 2, 2))
        .await
        .expect("list");
    assert_eq!(
        (page2.total_folders, page2.total_files),
        (3, 4),
        "totals of all pages"
    );
    assert_eq!(
        names(&page2),
        (
            vec!["/l/adir".into()],
            vec!["/l/m.jpg".into(), "/l/k.jpg".into()]
        )
    );
    let by_date = c
        .list(APP, "/l", &query(SortKey::Date, false, 1, 10))
        .await
        .expect("list");
    assert_eq!(
        names(&by_date),
        (
            vec!["/l/cdir".into(), "/l/bdir".into(), "/l/adir".into()],
            vec![
                "/l/z.jpg".into(),
                "/l/m.jpg".into(),
                "/l/k.jpg".into(),
                "/l/m_w.jpg".into()
            ]
        )
    );
    let filtered = ListQuery {
        created_by: Some(CreatedBy::User),
        name: Some("m".into()),
        ..query(SortKey::Name, false, 1, 10)
    };
    let only = c.list(APP, "/l", &filtered).await.expect("list");
    assert_eq!((only.total_folders, only.total_files), (0, 1));
    assert_eq!(names(&only).1, vec!["/l/m.jpg".to_owned()]);
    let dir = ListQuery {
        name: Some("dir".into()),
        ..query(SortKey::Name, false, 1, 10)
    };
    assert_eq!(
        c.list(APP, "/l", &dir).await.expect("list").total_folders,
        3
    );
    let case = ListQuery {
        name: Some("M".into()),
        ..query(SortKey::Name, false, 1, 10)
    };
    assert_eq!(
        c.list(APP, "/l", &case).await.expect("list").total_files,
        0,
        "case-sensitive"
    );
    let past = c
        .list(APP, "/l", &query(SortKey::Name, false, 9, 10))
        .await
        .expect("list");
    assert!(past.folders.is_empty() && past.files.is_empty());
    assert_eq!(past.total_files, 4);
}

async fn below_a_folder_means_its_subtree_only(c: &dyn Catalog) {
    with_app(c).await;
    for path in [
        "/f/a.jpg",
        "/f/g/b.jpg",
        "/f-x",
        "/f.x",
        "/f0",
        "/e.jpg",
        "/f-x2/c.jpg",
    ] {
        put(c, file(path, 1, None)).await;
    }
    let source = c
        .file_by_path(APP, "/f/a.jpg")
        .await
        .expect("read")
        .expect("a");
    put(c, file("/f/a_w.jpg", 2, Some(&source))).await;
    let paths = |files: Vec<FileRecord>| files.into_iter().map(|f| f.path).collect::<Vec<_>>();
    let users = c
        .files_below(APP, "/f", CreatedBy::User, 100)
        .await
        .expect("below");
    assert_eq!(paths(users), ["/f/a.jpg", "/f/g/b.jpg"]);
    let produced = c
        .files_below(APP, "/f", CreatedBy::Operation, 100)
        .await
        .expect("below");
    assert_eq!(paths(produced), ["/f/a_w.jpg"]);
    let limited = c
        .files_below(APP, "/", CreatedBy::User, 3)
        .await
        .expect("below");
    assert_eq!(
        paths(limited),
        ["/e.jpg", "/f-x", "/f-x2/c.jpg"],
        "path order, limited"
    );
    let stats = c.folder_stats(APP, "/f").await.expect("stats");
    assert_eq!((stats.files, stats.folders, stats.bytes), (3, 1, 30));
    let root = c.folder_stats(APP, "/").await.expect("stats");
    assert_eq!((root.files, root.folders, root.bytes), (8, 3, 80));
}

async fn deleting_a_file_drops_its_blobs(c: &dyn Catalog) {
    with_app(c).await;
    let source = put(c, file("/s.jpg", 1, None)).await;
    let one = put(c, file("/s_a.jpg", 2, Some(&source))).await;
    let two = put(c, file("/d/s_b.jpg", 3, Some(&source))).await;
    let keys = c.delete_file(APP, &source.id, true).await.expect("delete");
    assert_eq!(keys[0], source.blob_key, "the file's own key first");
    assert_eq!(
        sorted(keys),
        sorted(vec![
            source.blob_key.clone(),
            one.blob_key.clone(),
            two.blob_key.clone()
        ])
    );
    assert_eq!(
        dropped(c).await,
        sorted(vec![source.blob_key, one.blob_key, two.blob_key])
    );
    assert!(c
        .file_by_path(APP, "/d/s_b.jpg")
        .await
        .expect("read")
        .is_none());
    let kept_source = put(c, file("/t.jpg", 4, None)).await;
    let kept = put(c, file("/t_a.jpg", 5, Some(&kept_source))).await;
    let keys = c
        .delete_file(APP, &kept_source.id, false)
        .await
        .expect("delete");
    assert_eq!(keys, vec![kept_source.blob_key]);
    assert_eq!(
        c.file_by_id(APP, &kept.id).await.expect("read"),
        Some(kept.clone())
    );
    assert!(matches!(
        c.delete_file(APP, &kept_source.id, false).await,
        Err(CatalogError::NotFound(_))
    ));
    assert!(matches!(
        c.delete_file("B", &kept.id, false).await,
        Err(CatalogError::NotFound(_))
    ));
}

async fn deleting_a_folder_drops_its_subtree_only(c: &dyn Catalog) {
    with_app(c).await;
    for path in ["/f/a.jpg", "/f/g/b.jpg", "/f-x/c.jpg", "/f.x", "/f0"] {
        put(c, file(path, 1, None)).await;
    }
    c.create_folder(APP, "/f/empty", 1).await.expect("folder");
    let f = c.folder_by_path(APP, "/f").await.expect("read").expect("f");
    let keys = c.delete_folder(APP, &f.id).await.expect("delete");
    assert_eq!(
        sorted(keys.clone()),
        ["blob-/f/a.jpg-1", "blob-/f/g/b.jpg-1"]
    );
    assert_eq!(dropped(c).await, sorted(keys));
    for gone in ["/f", "/f/g", "/f/empty"] {
        assert!(
            c.folder_by_path(APP, gone).await.expect("read").is_none(),
            "{gone}"
        );
    }
    for kept in ["/f-x/c.jpg", "/f.x", "/f0"] {
        assert!(
            c.file_by_path(APP, kept).await.expect("read").is_some(),
            "{kept}"
        );
    }
    assert!(c.folder_by_path(APP, "/f-x").await.expect("read").is_some());
    let root = c
        .folder_by_path(APP, "/")
        .await
        .expect("read")
        .expect("root");
    let keys = c.delete_folder(APP, &root.id).await.expect("delete root");
    assert_eq!(keys.len(), 3);
    assert_eq!(
        c.folder_by_path(APP, "/")
            .await
            .expect("read")
            .map(|r| r.id),
        Some(root.id)
    );
    let stats = c.folder_stats(APP, "/").await.expect("stats");
    assert_eq!((stats.files, stats.folders), (0, 0), "the root is emptied");
    assert!(matches!(
        c.delete_folder(APP, &f.id).await,
        Err(CatalogError::NotFound(_))
    ));
}

async fn operations_are_versioned_listed_and_deleted(c: &dyn Catalog) {
    with_app(c).await;
    let first = c
        .put_operation(APP, &operation("w", 10))
        .await
        .expect("put");
    assert_eq!(first.version, 1);
    let second = c
        .put_operation(APP, &operation("w", 20))
        .await
        .expect("put");
    assert_eq!(second.version, 2);
    assert_eq!(c.operation(APP, "w").await.expect("read"), Some(second));
    c.delete_operation(APP, "w").await.expect("delete");
    assert_eq!(c.operation(APP, "w").await.expect("read"), None);
    assert!(matches!(
        c.delete_operation(APP, "w").await,
        Err(CatalogError::NotFound(_))
    ));
    let again = c
        .put_operation(APP, &operation("w", 30))
        .await
        .expect("put");
    assert_eq!(
        again.version, 3,
        "a re-created operation never repeats a version"
    );
    assert_eq!(
        c.put_operation("B", &operation("w", 1))
            .await
            .expect("put")
            .version,
        1
    );
    for (id, at) in [("wide", 5), ("thumb", 50), ("x", 40)] {
        c.put_operation(APP, &operation(id, at)).await.expect("put");
    }
    let ids = |(ops, total): (Vec<OperationRecord>, u64)| {
        (
            ops.into_iter().map(|o| o.operation_id).collect::<Vec<_>>(),
            total,
        )
    };
    let all = c
        .list_operations(APP, "", 1, 10, SortKey::Name, false)
        .await
        .expect("list");
    assert_eq!(
        ids(all),
        (
            vec!["thumb".into(), "w".into(), "wide".into(), "x".into()],
            4
        )
    );
    let w = c
        .list_operations(APP, "w", 1, 10, SortKey::Date, true)
        .await
        .expect("list");
    assert_eq!(ids(w), (vec!["w".into(), "wide".into()], 2));
    let page = c
        .list_operations(APP, "", 2, 3, SortKey::Date, false)
        .await
        .expect("list");
    assert_eq!(ids(page), (vec!["thumb".into()], 4));
    let source = put(c, file("/s.jpg", 1, None)).await;
    let made = put(c, file("/out/s_w.jpg", 2, Some(&source))).await;
    let other = FileRecord {
        operation_id: "thumb".into(),
        ..file("/s_t.jpg", 3, Some(&source))
    };
    put(c, other.clone()).await;
    let keys = c
        .delete_produced_by(APP, "w")
        .await
        .expect("delete produced");
    assert_eq!(keys, vec![made.blob_key.clone()]);
    assert_eq!(dropped(c).await, vec![made.blob_key]);
    assert_eq!(
        c.produced_from(APP, &source.id).await.expect("read"),
        vec![other]
    );
    assert!(
        c.file_by_id(APP, &source.id).await.expect("read").is_some(),
        "uploads stay"
    );
}

async fn a_busy_tenant_does_not_starve_the_others(c: &dyn Catalog) {
    for i in 0..50 {
        c.enqueue_task(&task(&format!("a{i}"), "A", 1000 + i))
            .await
            .expect("enqueue");
    }
    c.enqueue_task(&task("b0", "B", 5000))
        .await
        .expect("enqueue");
    let mut claimed = Vec::new();
    for _ in 0..2 {
        let t = c.claim_task(70_000).await.expect("claim").expect("a task");
        claimed.push(t.task.app_key);
    }
    assert!(claimed.contains(&"B".to_owned()), "claimed {claimed:?}");
    let next = c.claim_task(70_000).await.expect("claim").expect("a task");
    assert_eq!(next.task.id, "a1", "A's tasks keep their order");
    assert_eq!(c.pending_tasks().await.expect("pending"), (48, 3));
}

async fn a_worker_that_lost_its_lease_cannot_finish_the_task(c: &dyn Catalog) {
    c.enqueue_task(&task("t", "A", 1)).await.expect("enqueue");
    let first = c.claim_task(20).await.expect("claim").expect("task");
    assert_eq!(
        (first.task.status, first.task.try_count),
        (TaskStatus::InProgress, 1)
    );
    assert!(c
        .expire_task_leases(30, 3)
        .await
        .expect("expire")
        .is_empty());
    let second = c.claim_task(90).await.expect("claim").expect("taken over");
    assert_eq!(second.task.try_count, 2);
    assert_ne!(first.lease, second.lease);
    assert!(
        !c.renew_task(&first, 200).await.expect("renew"),
        "lease lost"
    );
    assert!(c
        .finish_task(&second, TaskStatus::Done, None, 40)
        .await
        .expect("finish"));
    let late = c
        .finish_task(&first, TaskStatus::Waiting, Some("late"), 50)
        .await
        .expect("finish");
    assert!(!late, "a finish without the lease changes nothing");
    let t = c.task("A", "t").await.expect("read").expect("task");
    assert_eq!(
        t.status,
        TaskStatus::Done,
        "a stale finish must not flip D back to W"
    );
    assert_eq!(t.error, None);
    assert_eq!(
        c.task("B", "t").await.expect("read"),
        None,
        "tasks belong to their app"
    );
}

async fn a_renewed_lease_is_not_taken_over(c: &dyn Catalog) {
    c.enqueue_task(&task("t", "A", 1)).await.expect("enqueue");
    let claimed = c.claim_task(100).await.expect("claim").expect("task");
    assert!(c.renew_task(&claimed, 500).await.expect("renew"));
    assert!(c
        .expire_task_leases(200, 3)
        .await
        .expect("expire")
        .is_empty());
    assert!(
        c.claim_task(900).await.expect("claim").is_none(),
        "still held"
    );
    assert!(c
        .finish_task(&claimed, TaskStatus::Done, None, 300)
        .await
        .expect("finish"));
    assert!(
        !c.renew_task(&claimed, 900).await.expect("renew"),
        "a finished task"
    );
}

async fn an_expired_task_out_of_tries_fails(c: &dyn Catalog) {
    c.enqueue_task(&task("t", "A", 1)).await.expect("enqueue");
    for round in 1..=3 {
        let claimed = c.claim_task(10).await.expect("claim").expect("task");
        assert_eq!(claimed.task.try_count, round);
        let failed = c.expire_task_leases(20, 3).await.expect("expire");
        assert_eq!(failed.len(), usize::from(round == 3), "round {round}");
    }
    assert!(c.claim_task(10).await.expect("claim").is_none());
    let t = c.task("A", "t").await.expect("read").expect("task");
    assert_eq!((t.status, t.try_count), (TaskStatus::Failed, 3));
    assert!(t.error.is_some());
    assert_eq!(
        c.prune_tasks(20, 10).await.expect("prune"),
        0,
        "finished at 20"
    );
    assert_eq!(c.prune_tasks(21, 10).await.expect("prune"), 1);
}

async fn a_failed_attempt_waits_again_and_counts(c: &dyn Catalog) {
    c.enqueue_task(&task("t", "A", 1)).await.expect("enqueue");
    let first = c.claim_task(100).await.expect("claim").expect("task");
    assert!(c
        .finish_task(&first, TaskStatus::Waiting, Some("boom"), 5)
        .await
        .expect("finish"));
    let t = c.task("A", "t").await.expect("read").expect("task");
    assert_eq!(
        (t.status, t.try_count, t.error.as_deref()),
        (TaskStatus::Waiting, 1, Some("boom"))
    );
    assert_eq!(
        c.prune_tasks(i64::MAX, 10).await.expect("prune"),
        0,
        "waiting is kept"
    );
    let again = c.claim_task(100).await.expect("claim").expect("again");
    assert_eq!(again.task.try_count, 2);
    assert!(c
        .finish_task(&again, TaskStatus::Failed, Some("final"), 6)
        .await
        .expect("finish"));
    assert_eq!(c.pending_tasks().await.expect("pending"), (0, 0));
}

async fn finished_tasks_are_pruned_after_retention_only(c: &dyn Catalog) {
    for (id, queued) in [("old", 1), ("new", 2), ("waiting", 3)] {
        c.enqueue_task(&task(id, "A", queued))
            .await
            .expect("enqueue");
    }
    let old = c.claim_task(1_000_000).await.expect("claim").expect("old");
    c.finish_task(&old, TaskStatus::Done, None, 100)
        .await
        .expect("finish");
    let new = c.claim_task(1_000_000).await.expect("claim").expect("new");
    c.finish_task(&new, TaskStatus::Failed, Some("x"), 300)
        .await
        .expect("finish");
    assert_eq!(c.prune_tasks(200, 10).await.expect("prune"), 1);
    assert!(c.task("A", "old").await.expect("read").is_none());
    assert!(c.task("A", "new").await.expect("read").is_some());
    assert_eq!(c.prune_tasks(i64::MAX, 10).await.expect("prune"), 1);
    let waiting = c.task("A", "waiting").await.expect("read").expect("kept");
    assert_eq!(waiting.status, TaskStatus::Waiting);
}

async fn the_outbox_is_bounded_and_leased(c: &dyn Catalog) {
    let callback = |url: &str, at: i64| NewCallback {
        url: url.to_owned(),
        body: format!("{{\"at\":{at}}}"),
        max_tries: 3,
        backoff_ms: 100,
        created_at: at,
    };
    assert!(c
        .add_callback(&callback("http://127.0.0.1/b", 20), 2)
        .await
        .expect("add"));
    assert!(c
        .add_callback(&callback("http://127.0.0.1/a", 10), 2)
        .await
        .expect("add"));
    assert!(
        !c.add_callback(&callback("http://127.0.0.1/c", 5), 2)
            .await
            .expect("add"),
        "full"
    );
    assert!(
        c.claim_callbacks(9, 1000, 10)
            .await
            .expect("claim")
            .is_empty(),
        "none due"
    );
    let claimed = c.claim_callbacks(20, 1000, 1).await.expect("claim");
    assert_eq!(claimed.len(), 1, "limited");
    let a = &claimed[0];
    assert_eq!(
        (a.url.as_str(), a.body.as_str()),
        ("http://127.0.0.1/a", "{\"at\":10}")
    );
    assert_eq!(
        (a.attempts, a.max_tries, a.backoff_ms, a.lease_until),
        (0, 3, 100, 1000)
    );
    let rest = c.claim_callbacks(20, 1000, 10).await.expect("claim");
    assert_eq!(rest.len(), 1, "a leased callback is not claimed again");
    let b = rest[0].clone();
    c.finish_callback(a, CallbackOutcome::Retry(50))
        .await
        .expect("retry");
    c.finish_callback(&b, CallbackOutcome::Postpone(60))
        .await
        .expect("postpone");
    let due = c.claim_callbacks(60, 2000, 10).await.expect("claim");
    let summary: Vec<(String, u32)> = due.iter().map(|p| (p.url.clone(), p.attempts)).collect();
    assert_eq!(
        summary,
        [
            ("http://127.0.0.1/a".to_owned(), 1),
            ("http://127.0.0.1/b".to_owned(), 0)
        ],
        "retry counts an attempt, postpone does not; oldest due first"
    );
    c.finish_callback(a, CallbackOutcome::Remove)
        .await
        .expect("stale");
    assert!(
        c.claim_callbacks(60, 3000, 10)
            .await
            .expect("claim")
            .is_empty(),
        "still leased"
    );
    for p in &due {
        c.finish_callback(p, CallbackOutcome::Remove)
            .await
            .expect("remove");
    }
    assert!(c
        .claim_callbacks(i64::MAX - 1, i64::MAX, 10)
        .await
        .expect("claim")
        .is_empty());
    assert!(
        c.add_callback(&callback("http://127.0.0.1/c", 5), 2)
            .await
            .expect("add"),
        "room"
    );
}

async fn dropped_blobs_wait_until_forgotten(c: &dyn Catalog) {
    with_app(c).await;
    let a = put(c, file("/a.jpg", 1, None)).await;
    let b = put(c, file("/b.jpg", 1, None)).await;
    let before = crate::clock::now_ms();
    c.delete_file(APP, &a.id, false).await.expect("delete");
    c.delete_file(APP, &b.id, false).await.expect("delete");
    let after = crate::clock::now_ms();
    assert!(
        c.dropped_blobs(before, 10)
            .await
            .expect("dropped")
            .is_empty(),
        "too recent"
    );
    assert_eq!(
        c.dropped_blobs(after + 1, 1).await.expect("dropped").len(),
        1,
        "limited"
    );
    let kept = put(c, file("/k.jpg", 2, None)).await;
    let refs = c.blob_references(before).await.expect("refs");
    let files: Vec<(String, String, String)> = refs
        .files
        .into_iter()
        .map(|r| (r.app_key, r.path, r.blob_key))
        .collect();
    assert_eq!(
        files,
        [(APP.to_owned(), kept.path.clone(), kept.blob_key.clone())]
    );
    assert_eq!(
        sorted(refs.recently_dropped),
        sorted(vec![a.blob_key.clone(), b.blob_key.clone()])
    );
    assert!(c
        .blob_references(after + 1)
        .await
        .expect("refs")
        .recently_dropped
        .is_empty());
    c.forget_dropped_blobs(std::slice::from_ref(&a.blob_key))
        .await
        .expect("forget");
    assert_eq!(dropped(c).await, vec![b.blob_key]);
}
