//! The PostgreSQL catalog as several nodes share it: the contract of shared catalogs (change
//! feed, render claims) through two catalogs on one database, and what is PostgreSQL's own: a
//! feed outlives its connection, a receiver that falls behind or an unreadable announcement
//! gets a gap, and claims that lapsed long ago are removed.

use super::changes::subscribe;
use super::claims::PRUNE_LIMIT;
use super::tests::{catalog, options};
use super::*;
use crate::catalog::contract::{app, SHARED_CHECKS, TRASH_SHARED_CHECKS};
use crate::catalog::{Catalog, Change, ChangeFeed, FeedEvent};
use std::time::Instant;

/// How long an event may take to arrive (a lost connection is found at once, connecting again
/// takes a few tries at most).
const WAIT: Duration = Duration::from_secs(20);

/// The next event of a feed.
async fn next(feed: &mut ChangeFeed) -> FeedEvent {
    tokio::time::timeout(WAIT, feed.recv())
        .await
        .expect("an event in time")
        .expect("the feed stays open")
}

/// The change of app `A`'s settings.
fn app_a() -> FeedEvent {
    FeedEvent::Change(Change::App {
        app_key: "A".to_owned(),
    })
}

/// The server processes of this database listening for changes.
async fn listeners(catalog: &PgCatalog) -> Vec<i32> {
    let client = catalog.client().await.expect("client");
    let rows = client
        .query(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND query = 'LISTEN pictor_changes'",
            &[],
        )
        .await
        .expect("read the sessions");
    rows.iter().map(|row| row.get(0)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_catalog_keeps_the_contract_of_shared_catalogs() {
    let test = "the_postgres_catalog_keeps_the_contract_of_shared_catalogs";
    for (name, check) in SHARED_CHECKS.iter().chain(TRASH_SHARED_CHECKS) {
        eprintln!("shared contract check: {name}");
        let Some((db, first)) = catalog(test).await else {
            return;
        };
        let second = PgCatalog::open(&options(&db.url)).await.expect("open");
        check(&first, &second).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_outlives_its_connection() {
    let Some((db, writer)) = catalog("a_feed_outlives_its_connection").await else {
        return;
    };
    let reader = PgCatalog::open(&options(&db.url)).await.expect("open");
    writer.create_app(&app("A", "cont", 1)).await.expect("app");
    let mut feed = reader
        .subscribe_changes()
        .await
        .expect("subscribe")
        .expect("PostgreSQL has a feed");
    let before = listeners(&writer).await;
    assert_eq!(before.len(), 1, "one connection listens: {before:?}");
    writer
        .client()
        .await
        .expect("client")
        .execute("SELECT pg_terminate_backend($1)", &[&before[0]])
        .await
        .expect("terminate the listening connection");
    let killed = Instant::now();
    assert_eq!(next(&mut feed).await, FeedEvent::Gap, "changes may be lost");
    eprintln!(
        "gap {} ms after the connection was killed",
        killed.elapsed().as_millis()
    );
    let after = listeners(&writer).await;
    assert_eq!(after.len(), 1, "listening again: {after:?}");
    assert_ne!(after, before, "on a new connection");
    writer
        .set_realtime_service("A", false)
        .await
        .expect("change");
    assert_eq!(next(&mut feed).await, app_a(), "changes arrive again");

    drop(feed);
    let deadline = Instant::now() + WAIT;
    while !listeners(&writer).await.is_empty() {
        assert!(Instant::now() < deadline, "a dropped feed stops listening");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_falls_behind_or_cannot_read_a_change_gets_a_gap() {
    let test = "a_feed_that_falls_behind_or_cannot_read_a_change_gets_a_gap";
    let Some((_db, catalog)) = catalog(test).await else {
        return;
    };
    catalog.create_app(&app("A", "cont", 1)).await.expect("app");
    let mut feed = subscribe(&catalog, 2).await.expect("subscribe");
    for on in [false, true, false, true, false] {
        catalog.set_realtime_service("A", on).await.expect("change");
    }
    // Time for all five to reach the feed, which holds two.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(next(&mut feed).await, app_a());
    assert_eq!(next(&mut feed).await, app_a());
    assert_eq!(next(&mut feed).await, FeedEvent::Gap, "the three dropped");
    catalog
        .set_realtime_service("A", true)
        .await
        .expect("change");
    assert_eq!(next(&mut feed).await, app_a(), "room again");

    catalog
        .client()
        .await
        .expect("client")
        .execute("SELECT pg_notify('pictor_changes', 'not a change')", &[])
        .await
        .expect("notify");
    assert_eq!(next(&mut feed).await, FeedEvent::Gap, "unreadable");
    catalog
        .set_realtime_service("A", false)
        .await
        .expect("change");
    assert_eq!(next(&mut feed).await, app_a());
}

#[tokio::test]
async fn claims_that_lapsed_long_ago_are_removed() {
    let Some((_db, catalog)) = catalog("claims_that_lapsed_long_ago_are_removed").await else {
        return;
    };
    let count = || async {
        let client = catalog.client().await.expect("client");
        let row = client
            .query_one("SELECT COUNT(*) FROM render_claims", &[])
            .await
            .expect("count");
        row.get::<_, i64>(0)
    };
    const OLD: usize = 40;
    for i in 0..OLD {
        assert!(catalog
            .claim_render(&format!("old{i}"), "A", 0, 1_000)
            .await
            .expect("claim"));
    }
    // Lapses only 10 s before the claims below: kept.
    assert!(catalog
        .claim_render("recent", "A", 50_000, 990_000)
        .await
        .expect("claim"));
    assert_eq!(count().await, OLD as i64 + 1);
    let rounds = OLD.div_ceil(PRUNE_LIMIT);
    for i in 0..rounds {
        assert!(catalog
            .claim_render(&format!("new{i}"), "B", 1_000_000, 1_010_000)
            .await
            .expect("claim"));
    }
    assert_eq!(
        count().await,
        rounds as i64 + 1,
        "the old claims are gone, the recent one and the new ones stay"
    );
    assert!(
        !catalog
            .claim_render("recent", "B", 989_000, 999_000)
            .await
            .expect("claim"),
        "the recent claim still holds before it lapses"
    );
}
