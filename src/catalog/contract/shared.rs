//! The contract of a catalog that several nodes share: its change feed and its render claims,
//! checked through two handles on one store. A backend without a feed (`subscribe_changes`
//! answers `None`) is used by one process only: it announces nothing and grants every claim,
//! and these checks are not run on it; run on a backend, they fail when it has no feed.

use super::{file, operation, put, with_app, APP};
use crate::catalog::{Catalog, Change, ChangeFeed, FeedEvent, OnConflict};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A check of the contract, run on two handles on one fresh store.
pub(crate) type SharedCheck =
    for<'a> fn(&'a dyn Catalog, &'a dyn Catalog) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Every check of a shared catalog, with its name.
pub(crate) const SHARED_CHECKS: &[(&str, SharedCheck)] = &[
    ("each_change_reaches_the_feed_of_another_handle", |a, b| {
        Box::pin(each_change_reaches_the_feed_of_another_handle(a, b))
    }),
    (
        "a_render_claim_holds_until_it_lapses_or_is_released",
        |a, b| Box::pin(a_render_claim_holds_until_it_lapses_or_is_released(a, b)),
    ),
    ("a_replaced_version_reaches_the_feed", |a, b| {
        Box::pin(super::rotation::a_replaced_version_reaches_the_feed(a, b))
    }),
    ("moves_reach_the_feed_of_another_handle", |a, b| {
        Box::pin(super::copy_move::moves_reach_the_feed_of_another_handle(
            a, b,
        ))
    }),
];

/// How long a change may take to reach a feed in these checks.
pub(super) const DELIVERY: Duration = Duration::from_secs(10);

/// Reads the next events of `feed`: exactly the changes `expected`, in any order, within
/// [`DELIVERY`]; a gap fails (nothing was lost on a healthy connection).
pub(super) async fn expect(feed: &mut ChangeFeed, what: &str, expected: &[Change]) {
    let mut missing = expected.to_vec();
    while !missing.is_empty() {
        let event = tokio::time::timeout(DELIVERY, feed.recv())
            .await
            .unwrap_or_else(|_| {
                panic!("{what}: no change within {DELIVERY:?}; {missing:?} missing")
            })
            .expect("the feed stays open");
        let FeedEvent::Change(change) = event else {
            panic!("{what}: a gap on a healthy feed");
        };
        let Some(at) = missing.iter().position(|m| *m == change) else {
            panic!("{what}: {change:?} arrived; expected {missing:?}");
        };
        missing.remove(at);
    }
}

fn source(path: &str) -> Change {
    Change::Source {
        app_key: APP.to_owned(),
        path: path.to_owned(),
    }
}

async fn each_change_reaches_the_feed_of_another_handle(
    writer: &dyn Catalog,
    reader: &dyn Catalog,
) {
    let mut feed = reader
        .subscribe_changes()
        .await
        .expect("subscribe")
        .expect("a shared catalog has a change feed");
    // Made before anything is announced: new entries make no variant stale.
    with_app(writer).await;
    let original = put(writer, file("/a/b.jpg", 1, None)).await;
    put(writer, file("/a/p.jpg", 2, Some(&original))).await;
    let folder = writer.create_folder(APP, "/x/y", 3).await.expect("folder");
    put(writer, file("/x/y/z.jpg", 4, None)).await;
    writer
        .put_operation(APP, &operation("t", 5))
        .await
        .expect("operation");
    // The new entries may have been announced too; a sentinel ends what they sent.
    writer
        .set_realtime_service(APP, true)
        .await
        .expect("realtime");
    let sentinel = Change::App {
        app_key: APP.to_owned(),
    };
    loop {
        let event = tokio::time::timeout(DELIVERY, feed.recv())
            .await
            .expect("the sentinel arrives")
            .expect("the feed stays open");
        if event == FeedEvent::Change(sentinel.clone()) {
            break;
        }
    }

    let replaced = writer
        .put_file(APP, file("/a/b.jpg", 6, None), OnConflict::Overwrite)
        .await
        .expect("overwrite");
    assert!(replaced.overwritten);
    expect(&mut feed, "a replaced file", &[source("/a/b.jpg")]).await;

    writer
        .delete_file(APP, &original.id, true)
        .await
        .expect("delete the file and its products");
    expect(
        &mut feed,
        "a deleted file and its products",
        &[source("/a/b.jpg"), source("/a/p.jpg")],
    )
    .await;

    let top = writer
        .folder_by_path(APP, "/x")
        .await
        .expect("read")
        .expect("the parent was made");
    assert_ne!(top.id, folder.id);
    writer.delete_folder(APP, &top.id).await.expect("delete");
    let below = Change::Below {
        app_key: APP.to_owned(),
        folder: "/x".to_owned(),
    };
    expect(&mut feed, "a deleted folder", &[below]).await;

    let op = Change::Operation {
        app_key: APP.to_owned(),
        operation_id: "t".to_owned(),
    };
    writer
        .put_operation(APP, &operation("t", 7))
        .await
        .expect("replace");
    expect(&mut feed, "a replaced operation", std::slice::from_ref(&op)).await;
    writer.delete_operation(APP, "t").await.expect("delete");
    expect(&mut feed, "a deleted operation", &[op]).await;

    writer
        .set_realtime_service(APP, false)
        .await
        .expect("realtime");
    expect(&mut feed, "an app's real-time flag", &[sentinel]).await;

    // A call refused changes nothing and announces nothing: the next change is the next event.
    assert!(writer.delete_operation(APP, "t").await.is_err());
    writer
        .put_operation(APP, &operation("u", 8))
        .await
        .expect("operation");
    let next = Change::Operation {
        app_key: APP.to_owned(),
        operation_id: "u".to_owned(),
    };
    expect(&mut feed, "after a refused call", &[next]).await;
}

/// Whether `node` grants `holder` the claim on key `k` at `now` until `until`.
async fn claim(node: &dyn Catalog, holder: &str, now: i64, until: i64) -> bool {
    node.claim_render("k", holder, now, until)
        .await
        .expect("claim")
}

async fn a_render_claim_holds_until_it_lapses_or_is_released(a: &dyn Catalog, b: &dyn Catalog) {
    if a.subscribe_changes().await.expect("subscribe").is_none() {
        return;
    }
    assert!(claim(a, "A", 1000, 2000).await, "a free key is granted");
    assert!(
        !claim(b, "B", 1500, 2500).await,
        "refused while A's claim lasts"
    );
    assert!(
        claim(a, "A", 1600, 3000).await,
        "the holder extends its claim"
    );
    assert!(!claim(b, "B", 2500, 3500).await, "the extension holds");
    assert!(
        b.claim_render("other", "B", 2500, 3500)
            .await
            .expect("claim"),
        "keys are claimed apart"
    );
    assert!(
        claim(b, "B", 3000, 4000).await,
        "granted once A's claim lapsed"
    );
    assert!(!claim(a, "A", 3100, 4100).await, "now B holds it");

    b.release_render("k", "A").await.expect("release");
    assert!(!claim(a, "A", 3200, 4200).await, "only the holder releases");
    b.release_render("k", "B").await.expect("release");
    assert!(claim(a, "A", 3300, 4300).await, "granted after the release");
    a.release_render("never", "A")
        .await
        .expect("releasing no claim is no error");
}
