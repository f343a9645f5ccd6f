//! The contract of copying a whole catalog: reads in key order, page by page, and records
//! stored exactly as given (`pictor migrate`).

use super::{app, file, operation, put, task, with_app, APP};
use crate::catalog::{Catalog, CatalogError, Folder, OperationRecord, TaskRecord, TaskStatus};

/// Reads every page of `read` (`after`, `limit` = 2), each page starting after the last key
/// of the one before.
async fn every_page<T, F, Fut>(read: F, key: fn(&T) -> String) -> Vec<T>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Vec<T>>,
{
    let mut all = Vec::new();
    let mut after = String::new();
    loop {
        let page = read(after.clone()).await;
        assert!(page.len() <= 2, "a page holds at most `limit` entries");
        let Some(last) = page.last() else {
            return all;
        };
        after = key(last);
        all.extend(page);
    }
}

pub(super) async fn a_tree_reads_page_by_page_in_path_order(c: &dyn Catalog) {
    with_app(c).await;
    c.create_app(&app("B", "other", 2)).await.expect("app");
    for path in ["/a/b", "/a-b", "/B", "/a b"] {
        c.create_folder(APP, path, 3).await.expect("folder");
    }
    c.create_folder("B", "/elsewhere", 3).await.expect("folder");
    let source = put(
        c,
        crate::catalog::FileRecord {
            tags: vec!["t".into()],
            dominant_color: Some("#123456".into()),
            ..file("/a/b/s.jpg", 4, None)
        },
    )
    .await;
    put(c, file("/a/b/s_w.jpg", 5, Some(&source))).await;
    put(c, file("/Z.jpg", 6, None)).await;
    put(c, file("/a b/t.jpg", 7, None)).await;

    let folders = every_page(
        |after| async move {
            c.folders_after(APP, &after, 2)
                .await
                .expect("folders after")
        },
        |f: &Folder| f.path.clone(),
    )
    .await;
    let paths: Vec<&str> = folders.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/", "/B", "/a", "/a b", "/a-b", "/a/b"],
        "byte order, parents first, this app only"
    );
    let root = c.folder_by_path(APP, "/").await.expect("read");
    assert_eq!(root.as_ref(), folders.first(), "whole records");

    let files = every_page(
        |after| async move { c.files_after(APP, &after, 2).await.expect("files after") },
        |f: &crate::catalog::FileRecord| f.path.clone(),
    )
    .await;
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/Z.jpg", "/a b/t.jpg", "/a/b/s.jpg", "/a/b/s_w.jpg"],
        "uploaded and produced files, in byte order"
    );
    assert_eq!(files[2], source, "whole records, tags and colour included");
    assert!(c.files_after("B", "", 10).await.expect("files").is_empty());
}

pub(super) async fn records_are_imported_as_given(c: &dyn Catalog) {
    with_app(c).await;
    let root = Folder {
        id: "root-id".into(),
        path: "/".into(),
        updated_at: 70,
    };
    c.import_folder(APP, &root).await.expect("import the root");
    assert_eq!(
        c.folder_by_path(APP, "/").await.expect("read"),
        Some(root.clone()),
        "the root an app was created with takes the copied id and time"
    );
    let shop = Folder {
        id: "shop-id".into(),
        path: "/shop".into(),
        updated_at: 50,
    };
    c.import_folder(APP, &shop).await.expect("import");
    assert_eq!(
        c.folder_by_id(APP, "shop-id").await.expect("read"),
        Some(shop.clone())
    );
    assert_eq!(
        c.folder_by_path(APP, "/").await.expect("read"),
        Some(root),
        "an imported folder moves no other folder"
    );
    let orphan = Folder {
        id: "deep-id".into(),
        path: "/missing/deep".into(),
        updated_at: 1,
    };
    assert!(matches!(
        c.import_folder(APP, &orphan).await,
        Err(CatalogError::NotFound(p)) if p == "/missing"
    ));

    let made = crate::catalog::FileRecord {
        id: "file-id".into(),
        created_at: 10,
        updated_at: 20,
        tags: vec!["beach".into(), "sea".into()],
        dominant_color: Some("#0a1b2c".into()),
        ..file("/shop/a.jpg", 0, None)
    };
    c.import_file(APP, &made).await.expect("import file");
    let produced = crate::catalog::FileRecord {
        variant: "etag-0:7".into(),
        ..file("/shop/a_w.jpg", 30, Some(&made))
    };
    c.import_file(APP, &produced).await.expect("import file");
    assert_eq!(
        c.file_by_path(APP, "/shop/a.jpg").await.expect("read"),
        Some(made.clone()),
        "id, times, blob key, ETag, tags and colour as given"
    );
    assert_eq!(
        c.file_by_id(APP, &produced.id).await.expect("read"),
        Some(produced.clone()),
        "origin fields as given"
    );
    assert_eq!(
        c.folder_by_path(APP, "/shop").await.expect("read"),
        Some(shop),
        "an imported file moves no folder"
    );
    assert!(
        c.dropped_blobs(i64::MAX, 10)
            .await
            .expect("dropped")
            .is_empty(),
        "nothing dropped"
    );
    assert!(matches!(
        c.import_file(APP, &made).await,
        Err(CatalogError::FileExists(p)) if p == "/shop/a.jpg"
    ));
    assert!(matches!(
        c.import_file(APP, &file("/shop", 1, None)).await,
        Err(CatalogError::FolderExists(_))
    ));
    assert!(matches!(
        c.import_file(APP, &file("/nowhere/x.jpg", 1, None)).await,
        Err(CatalogError::NotFound(p)) if p == "/nowhere"
    ));
    let over_a_file = Folder {
        id: "x".into(),
        path: "/shop/a.jpg".into(),
        updated_at: 1,
    };
    assert!(matches!(
        c.import_folder(APP, &over_a_file).await,
        Err(CatalogError::NotAFolder(_))
    ));
}

pub(super) async fn imported_operations_keep_their_versions(c: &dyn Catalog) {
    with_app(c).await;
    let thumb = OperationRecord {
        version: 5,
        ..operation("thumb", 40)
    };
    c.import_operation(APP, &thumb).await.expect("import");
    assert_eq!(
        c.operation(APP, "thumb").await.expect("read"),
        Some(thumb.clone())
    );
    let again = OperationRecord {
        version: 4,
        description: "older".into(),
        ..operation("thumb", 41)
    };
    c.import_operation(APP, &again).await.expect("replace");
    assert_eq!(
        c.operation(APP, "thumb").await.expect("read"),
        Some(again),
        "stored as given"
    );
    let next = c
        .put_operation(APP, &operation("thumb", 50))
        .await
        .expect("put");
    assert_eq!(next.version, 6, "after the highest version ever given");

    c.import_operation_version(APP, "gone", 7)
        .await
        .expect("import version");
    c.import_operation_version(APP, "gone", 3)
        .await
        .expect("never lowers");
    assert_eq!(
        c.operation(APP, "gone").await.expect("read"),
        None,
        "no operation stored"
    );
    let versions = every_page(
        |after| async move {
            c.operation_versions(APP, &after, 2)
                .await
                .expect("versions")
        },
        |v: &(String, i64)| v.0.clone(),
    )
    .await;
    assert_eq!(versions, [("gone".into(), 7), ("thumb".into(), 6)]);
    let reborn = c
        .put_operation(APP, &operation("gone", 60))
        .await
        .expect("put");
    assert_eq!(
        reborn.version, 8,
        "a deleted name's versions are not given again"
    );
    assert!(c
        .operation_versions("B", "", 10)
        .await
        .expect("versions")
        .is_empty());
}

pub(super) async fn imported_tasks_keep_their_state(c: &dyn Catalog) {
    let waiting = TaskRecord {
        task: task("t1", APP, 10),
        finished_at: None,
    };
    let done = TaskRecord {
        task: crate::catalog::Task {
            status: TaskStatus::Done,
            try_count: 2,
            error: Some("first attempt failed".into()),
            ..task("t2", "B", 11)
        },
        finished_at: Some(50),
    };
    let running = TaskRecord {
        task: crate::catalog::Task {
            status: TaskStatus::InProgress,
            try_count: 1,
            ..task("t3", APP, 12)
        },
        finished_at: None,
    };
    for record in [&running, &done, &waiting] {
        c.import_task(record).await.expect("import");
    }
    assert!(c.import_task(&waiting).await.is_err(), "ids are unique");
    let all = every_page(
        |after| async move { c.tasks_after(&after, 2).await.expect("tasks after") },
        |t: &TaskRecord| t.task.id.clone(),
    )
    .await;
    assert_eq!(all, [waiting.clone(), done.clone(), running.clone()]);
    assert_eq!(
        c.task("B", "t2").await.expect("read"),
        Some(done.task.clone())
    );
    assert_eq!(c.pending_tasks().await.expect("pending"), (1, 1));

    let claimed = c.claim_task(1000).await.expect("claim").expect("a task");
    assert_eq!(claimed.task.id, "t1", "a waiting task keeps waiting");
    assert!(c.claim_task(1000).await.expect("claim").is_none());
    assert!(
        c.expire_task_leases(5, 3).await.expect("expire").is_empty(),
        "a task in progress comes with its lease expired"
    );
    let again = c.claim_task(1000).await.expect("claim").expect("t3 again");
    assert_eq!((again.task.id.as_str(), again.task.try_count), ("t3", 2));
    assert_eq!(
        c.prune_tasks(50, 10).await.expect("prune"),
        0,
        "ended at 50"
    );
    assert_eq!(c.prune_tasks(51, 10).await.expect("prune"), 1);
}
