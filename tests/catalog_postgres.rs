//! `pictor serve` on a PostgreSQL catalog, end to end: an app made with
//! `pictor app create --catalog-url`, an upload through the API, its delivery, the folder's
//! listing and `pictor app list`, on a fresh database of the test server (see
//! `src/catalog/postgres/throwaway.rs`: `PICTOR_TEST_POSTGRES_URL`, else a throwaway cluster;
//! skipped with one line when neither is there, failed when `PICTOR_REQUIRE_BACKENDS=1`).

mod common;
#[path = "../src/catalog/postgres/test_database.rs"]
mod test_database;
#[path = "../src/catalog/postgres/throwaway.rs"]
mod throwaway;

use common::{assert_code, corpus, names, pictor, AppKeys, Server};
use reqwest::Method;
use serde_json::Value;
use std::path::Path;

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

/// Runs `pictor app ARGS --catalog-url URL --data-dir DIR` and returns its standard output.
fn app_command(args: &[&str], url: &str, data_dir: &Path) -> String {
    let out = pictor()
        .arg("app")
        .args(args)
        .args(["--catalog-url", url, "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("run pictor app");
    assert!(out.status.success(), "pictor app {args:?} failed: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

#[test]
fn a_server_on_postgres_uploads_delivers_lists_and_shares_its_apps() {
    let Some(server) = throwaway::server_or_skip(
        "a_server_on_postgres_uploads_delivers_lists_and_shares_its_apps",
    ) else {
        return;
    };
    let db = test_database::TestDatabase::create(&server, "").expect("create a test database");
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");

    let created = app_command(&["create", "--name", "pg-shop"], &db.url, &data);
    let keys = AppKeys::from_json(&serde_json::from_str(created.trim()).expect("one JSON object"));
    let s = Server::spawn(&data, keys.clone(), &[("PICTOR_CATALOG_URL", &db.url)]);

    let jpeg = corpus(PHOTO);
    let uploaded = s.upload("/pg/photo.jpg", jpeg.clone(), "");
    assert_code(&uploaded, 0);
    let delivered = s.get(&s.url("/pg/photo.jpg"));
    assert_eq!(delivered.status(), 200);
    assert_eq!(
        delivered.headers()["content-type"].to_str().expect("ascii"),
        "image/jpeg"
    );
    assert_eq!(delivered.bytes().expect("body").to_vec(), jpeg);

    let listing = s.json(Method::GET, "folders?basepath=/pg", None);
    assert_code(&listing, 0);
    assert_eq!(names(&listing, "files"), ["photo.jpg"]);
    assert_eq!(listing["files"][0]["id"], uploaded["file"]["id"]);
    let root = s.json(Method::GET, "folders?basepath=/", None);
    assert_eq!(names(&root, "folders"), ["pg"]);

    // The catalog is the database, not a file of the data directory: another data
    // directory sees the same apps.
    assert!(!data.join("catalog.sqlite3").exists());
    let elsewhere = tmp.path().join("elsewhere");
    let listed: Value =
        serde_json::from_str(&app_command(&["list"], &db.url, &elsewhere)).expect("JSON");
    let apps = listed.as_array().expect("an array");
    assert_eq!(apps.len(), 1, "{listed}");
    assert_eq!(apps[0]["appKey"], keys.app_key.as_str());
    assert_eq!(apps[0]["container"], keys.container.as_str());
    assert_eq!(apps[0]["name"], "pg-shop");
}

/// The sessions of the app `pictor` on the database at `url`: how many use TLS, how many not.
fn pictor_sessions(url: &str) -> (i64, i64) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        let row = client
            .query_one(
                "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl)
                 FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
                 WHERE a.datname = current_database() AND a.application_name = 'pictor'",
                &[],
            )
            .await
            .expect("read the sessions");
        (row.get(0), row.get(1))
    })
}

#[test]
fn a_server_reaches_postgres_over_tls_when_the_url_requires_it() {
    let test = "a_server_reaches_postgres_over_tls_when_the_url_requires_it";
    let Some(server) = throwaway::server_or_skip(test) else {
        return;
    };
    let Some(ca) = throwaway::tls_ca_file() else {
        throwaway::skipped(
            test,
            "the server of PICTOR_TEST_POSTGRES_URL has no known certificate",
        );
        return;
    };
    let db = test_database::TestDatabase::create(&server, "").expect("create a test database");
    let url = format!("{}?sslmode=require", db.url);
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");

    // The built-in roots do not know the test authority: nothing starts.
    let unknown = pictor()
        .args(["app", "create", "--catalog-url", &url, "--data-dir"])
        .arg(&data)
        .output()
        .expect("run pictor app");
    assert!(!unknown.status.success(), "{unknown:?}");
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(err.contains("UnknownIssuer"), "{err}");

    let created = pictor()
        .env("PICTOR_CATALOG_TLS_CA_FILE", &ca)
        .args(["app", "create", "--catalog-url", &url, "--data-dir"])
        .arg(&data)
        .output()
        .expect("run pictor app");
    assert!(created.status.success(), "{created:?}");
    let keys =
        AppKeys::from_json(&serde_json::from_slice(&created.stdout).expect("one JSON object"));
    let ca_text = ca.to_string_lossy().into_owned();
    let s = Server::spawn(
        &data,
        keys,
        &[
            ("PICTOR_CATALOG_URL", &url),
            ("PICTOR_CATALOG_TLS_CA_FILE", &ca_text),
        ],
    );
    let jpeg = corpus(PHOTO);
    assert_code(&s.upload("/tls/photo.jpg", jpeg.clone(), ""), 0);
    let delivered = s.get(&s.url("/tls/photo.jpg"));
    assert_eq!(delivered.bytes().expect("body").to_vec(), jpeg);
    let (tls, plain) = pictor_sessions(&db.url);
    assert!(tls >= 2, "the pool's and the change feed's sessions: {tls}");
    assert_eq!(plain, 0, "none without TLS");
}
