//! Render claims of a catalog shared by several nodes (PostgreSQL), driven through the variant
//! service directly: a request waiting for another node's render of one variant does not hold
//! a place in this node's render pool, so other variants still render here; when the other
//! node lets its claim go without storing a result, the waiting request renders itself.
//!
//! The PostgreSQL server is the test server of `src/catalog/postgres/throwaway.rs`; without it
//! the test prints why it was skipped and passes, unless `PICTOR_REQUIRE_BACKENDS=1`.

#[path = "../src/catalog/postgres/test_database.rs"]
mod test_database;
#[path = "../src/catalog/postgres/throwaway.rs"]
mod throwaway;

use pictor::app::open_context;
use pictor::catalog::{OnConflict, OperationRecord};
use pictor::config::Config;
use pictor::operation::OperationSpec;
use pictor::variant::key;
use pictor::variant::Variants;
use std::sync::Arc;
use std::time::Duration;

/// A PNG of `w` x `h`.
fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 7]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

fn dims(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(bytes).expect("decode");
    (img.width(), img.height())
}

async fn operation(variants: &Variants, app_key: &str, id: &str, width: u32) -> OperationRecord {
    let body = format!(
        r#"{{"data":[{{"templateOperationId":"resize_width_fit","option":{{"width":{width}}}}}]}}"#
    );
    let spec = OperationSpec::parse(id, body.as_bytes()).expect("spec");
    let op = OperationRecord {
        operation_id: id.into(),
        description: String::new(),
        realtime_service: true,
        jobs: spec.canonical_json(),
        updated_at: 0,
        version: 0,
    };
    variants
        .catalog
        .put_operation(app_key, &op)
        .await
        .expect("put operation")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_on_another_node_does_not_hold_a_place_in_the_pool() {
    let Some(server) = throwaway::server_or_skip("render_claims") else {
        return;
    };
    let db = test_database::TestDatabase::create(&server, "").expect("create a test database");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::default();
    config.server.data_dir = dir.path().to_owned();
    config.catalog.url = db.url.clone();
    // One render at a time and no queue: a wait that held a place would refuse every other
    // render with 503.
    config.render.workers = 1;
    config.render.queue = 0;
    let ctx = Arc::new(open_context(config, None).await.expect("open"));
    let app = ctx.create_app("t").await.expect("app");
    let variants = Arc::new(Variants::new(ctx));
    pictor::ingest::store_upload(
        &variants,
        &app,
        "/a.png",
        png(256, 128).into(),
        OnConflict::Fail,
        Vec::new(),
    )
    .await
    .expect("upload");
    let slow = operation(&variants, &app.app_key, "w64", 64).await;
    operation(&variants, &app.app_key, "w32", 32).await;

    // Another node holds the render of `w64`.
    let source = variants
        .catalog
        .file_by_path(&app.app_key, "/a.png")
        .await
        .expect("lookup")
        .expect("source");
    let flight = key::flight(
        &app.app_key,
        "/a.png",
        "w64",
        &key::stamp(&source, &slow, &[]),
    );
    let now = pictor::clock::now_ms();
    let granted = variants
        .catalog
        .claim_render(&flight, "other-node", now, now + 60_000)
        .await
        .expect("claim");
    assert!(granted, "the claim is free");

    let raw = format!("/{}/a.png", app.container);
    let waiter = {
        let variants = Arc::clone(&variants);
        let (container, raw) = (app.container.clone(), raw.clone());
        tokio::spawn(async move { variants.resolve(&container, "/a.png", &raw, "w64").await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "w64 waits for the other node");

    let other = variants
        .resolve(&app.container, "/a.png", &raw, "w32")
        .await
        .expect("another variant renders while w64 waits");
    assert_eq!(dims(&other.body), (32, 16));
    assert!(!waiter.is_finished(), "w64 still waits");

    // The other node gives up without storing a result: the waiting request renders itself.
    variants
        .catalog
        .release_render(&flight, "other-node")
        .await
        .expect("release");
    let waited = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the wait ends soon after the claim is released")
        .expect("join")
        .expect("w64 renders here");
    assert_eq!(dims(&waited.body), (64, 32));
}
