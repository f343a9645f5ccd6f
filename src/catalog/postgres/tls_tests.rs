//! TLS to the server, on the throwaway cluster (which serves the certificate of
//! `tests/fixtures/postgres-tls`): a URL with `sslmode=require` connects the pool and the change
//! feed over TLS once the server's certificate checks out against `tls_ca_file` and the host;
//! an unknown authority, another host name or a file without certificates refuse the open;
//! other URLs connect without TLS.

use super::test_database::TestDatabase;
use super::tests::options;
use super::throwaway::{server_or_skip, skipped, tls_ca_file};
use super::*;
use crate::catalog::contract::app;
use crate::catalog::{Catalog, Change, FeedEvent};

/// `url` with one more query parameter.
fn with_param(url: &str, param: &str) -> String {
    let joint = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joint}{param}")
}

/// Whether the session of a connection of `catalog` runs over TLS.
async fn over_tls(catalog: &PgCatalog) -> bool {
    let client = catalog.client().await.expect("client");
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("read pg_stat_ssl")
        .get(0)
}

/// The error of an open that must fail, with its causes.
async fn refused(options: &PgOptions) -> String {
    let Err(e) = PgCatalog::open(options).await else {
        panic!("{} opened", options.url);
    };
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(" / ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_require_connects_over_verified_tls() {
    let test = "sslmode_require_connects_over_verified_tls";
    let Some(server) = server_or_skip(test) else {
        return;
    };
    let Some(ca) = tls_ca_file() else {
        skipped(
            test,
            "the server of PICTOR_TEST_POSTGRES_URL has no known certificate",
        );
        return;
    };
    let db = TestDatabase::create(&server, "").expect("create a test database");
    let plain = PgCatalog::open(&options(&db.url)).await.expect("open");
    assert!(!over_tls(&plain).await, "no TLS unless the URL asks for it");

    let url = with_param(&db.url, "sslmode=require");
    let tls = PgCatalog::open(&PgOptions {
        tls_ca_file: Some(ca.clone()),
        ..options(&url)
    })
    .await
    .expect("opens over TLS");
    assert!(over_tls(&tls).await, "the pool's connections use TLS");
    let mut feed = tls
        .subscribe_changes()
        .await
        .expect("subscribe")
        .expect("a feed");
    plain.create_app(&app("A", "cont", 1)).await.expect("app");
    plain
        .set_realtime_service("A", false)
        .await
        .expect("change");
    let event = tokio::time::timeout(Duration::from_secs(20), feed.recv())
        .await
        .expect("an event in time");
    assert_eq!(
        event,
        Some(FeedEvent::Change(Change::App {
            app_key: "A".to_owned()
        })),
        "the feed's connection uses TLS too"
    );

    let unknown = refused(&options(&url)).await;
    assert!(
        unknown.contains("UnknownIssuer"),
        "the built-in roots do not know the test authority: {unknown}"
    );
    let port = db
        .url
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .expect("a port")
        .to_owned();
    let other_host = format!(
        "postgres://postgres@db.example.test:{port}/postgres?hostaddr=127.0.0.1&sslmode=require"
    );
    let misnamed = refused(&PgOptions {
        tls_ca_file: Some(ca.clone()),
        ..options(&other_host)
    })
    .await;
    assert!(
        misnamed.contains("not valid for name"),
        "the certificate must name the host: {misnamed}"
    );
    let empty = tempfile::NamedTempFile::new().expect("temp file");
    let no_certificate = refused(&PgOptions {
        tls_ca_file: Some(empty.path().to_owned()),
        ..options(&url)
    })
    .await;
    assert!(
        no_certificate.contains("catalog.tls_ca_file"),
        "{no_certificate}"
    );
}
