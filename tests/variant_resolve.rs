//! The resolve steps of the variant service, driven directly (no HTTP): L1, the stored `P`
//! file (L2), the single flight, the render and the store, over a real catalog and object store
//! in a temporary directory.

use pictor::app::open_context;
use pictor::catalog::{AppRecord, CreatedBy, OnConflict, OperationRecord};
use pictor::config::Config;
use pictor::operation::OperationSpec;
use pictor::variant::key;
use pictor::variant::produce::ProduceError;
use pictor::variant::resolve::RealtimeError;
use pictor::variant::Variants;
use std::sync::Arc;

struct Fixture {
    _dir: tempfile::TempDir,
    variants: Arc<Variants>,
    app: AppRecord,
}

/// A PNG of `w` x `h` whose colour depends on `seed`.
fn png(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x as u8).wrapping_add(seed), y as u8, seed])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::default();
    config.server.data_dir = dir.path().to_owned();
    let ctx = Arc::new(open_context(config, None).await.expect("open"));
    let app = ctx.create_app("t").await.expect("app");
    let variants = Arc::new(Variants::new(ctx));
    Fixture {
        _dir: dir,
        variants,
        app,
    }
}

impl Fixture {
    async fn upload(&self, path: &str, bytes: Vec<u8>) {
        pictor::ingest::store_upload(
            &self.variants,
            &self.app,
            path,
            bytes.into(),
            OnConflict::Overwrite,
            Vec::new(),
        )
        .await
        .expect("upload");
    }

    async fn operation(&self, id: &str, body: &str, realtime: bool) -> OperationRecord {
        let spec = OperationSpec::parse(id, body.as_bytes()).expect("spec");
        let op = OperationRecord {
            operation_id: id.into(),
            description: String::new(),
            realtime_service: realtime,
            jobs: spec.canonical_json(),
            updated_at: 0,
            version: 0,
        };
        self.variants
            .catalog
            .put_operation(&self.app.app_key, &op)
            .await
            .expect("put operation")
    }

    async fn resolve(
        &self,
        path: &str,
        op: &str,
    ) -> Result<Arc<pictor::variant::cache::Variant>, RealtimeError> {
        let raw = format!("/{}{path}", self.app.container);
        self.variants
            .resolve(&self.app.container, path, &raw, op)
            .await
    }

    fn renders(&self, template: &str) -> u64 {
        self.variants
            .metrics
            .render_seconds
            .with_label_values(&[template])
            .get_sample_count()
    }
}

const WIDTH64: &str =
    r#"{"data":[{"templateOperationId":"resize_width_fit","option":{"width":64}}]}"#;

fn dims(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(bytes).expect("decode");
    (img.width(), img.height())
}

#[tokio::test]
async fn a_miss_renders_stores_the_p_file_and_fills_l1() {
    let f = fixture().await;
    f.upload("/a.png", png(256, 128, 1)).await;
    let op = f.operation("w64", WIDTH64, true).await;
    let v = f.resolve("/a.png", "w64").await.expect("variant");
    assert_eq!(dims(&v.body), (64, 32));
    assert_eq!(f.renders("resize_width_fit"), 1);

    let raw = format!("/{}/a.png", f.app.container);
    let hit = f.variants.cached(&raw, "w64").await.expect("L1 hit");
    assert!(Arc::ptr_eq(&hit, &v), "L1 holds the rendered variant");
    assert!(f.variants.cached(&raw, "w65").await.is_none());

    let stored = f
        .variants
        .catalog
        .file_by_path(&f.app.app_key, "/a_w64.png")
        .await
        .expect("lookup")
        .expect("the P file is stored");
    assert_eq!(stored.created_by, CreatedBy::Operation);
    let source = f
        .variants
        .catalog
        .file_by_path(&f.app.app_key, "/a.png")
        .await
        .expect("lookup")
        .expect("source");
    assert_eq!(stored.variant, key::stamp(&source, &op, &[]));
    assert_eq!(
        &v.etag[..],
        key::etag(&source, "w64", &stored.variant).as_bytes()
    );
}

#[tokio::test]
async fn the_stored_file_answers_when_l1_has_forgotten() {
    let f = fixture().await;
    f.upload("/a.png", png(256, 128, 1)).await;
    f.operation("w64", WIDTH64, true).await;
    let first = f.resolve("/a.png", "w64").await.expect("variant");
    f.variants.l1.invalidate_app(&f.app.app_key);
    let again = f.resolve("/a.png", "w64").await.expect("variant");
    assert_eq!(f.renders("resize_width_fit"), 1, "no second render");
    assert_eq!(f.variants.metrics.hot.l2_hit.get(), 1);
    assert_eq!(again.etag, first.etag);
    assert_eq!(again.body, first.body);
}

#[tokio::test]
async fn concurrent_misses_share_one_render() {
    let f = fixture().await;
    f.upload("/a.png", png(512, 256, 2)).await;
    f.operation("w64", WIDTH64, true).await;
    let f = Arc::new(f);
    let waits: Vec<_> = (0..8)
        .map(|_| {
            let f = Arc::clone(&f);
            tokio::spawn(async move { f.resolve("/a.png", "w64").await })
        })
        .collect();
    let mut bodies = Vec::new();
    for w in waits {
        bodies.push(w.await.expect("join").expect("variant").body.clone());
    }
    assert!(bodies.windows(2).all(|p| p[0] == p[1]));
    assert_eq!(f.renders("resize_width_fit"), 1);
}

#[tokio::test]
async fn a_new_original_makes_a_new_variant() {
    let f = fixture().await;
    f.upload("/a.png", png(256, 128, 1)).await;
    f.operation("w64", WIDTH64, true).await;
    let old = f.resolve("/a.png", "w64").await.expect("variant");
    f.upload("/a.png", png(128, 128, 9)).await;
    f.variants.l1.invalidate_source(&f.app.app_key, "/a.png");
    let new = f.resolve("/a.png", "w64").await.expect("variant");
    assert_eq!(dims(&new.body), (64, 64));
    assert_ne!(new.etag, old.etag);
    assert_eq!(
        f.renders("resize_width_fit"),
        2,
        "the stale P file was not served"
    );
}

#[tokio::test]
async fn refusals_name_their_kind() {
    let f = fixture().await;
    f.upload("/a.png", png(64, 64, 1)).await;
    f.operation("w64", WIDTH64, true).await;
    f.operation("off", WIDTH64, false).await;
    let raw = "/nope/a.png";
    let unknown_container = f.variants.resolve("nope", "/a.png", raw, "w64").await;
    assert!(matches!(unknown_container, Err(RealtimeError::NotFound(_))));
    assert!(matches!(
        f.resolve("/a.png", "missing").await,
        Err(RealtimeError::NotFound(_))
    ));
    assert!(matches!(
        f.resolve("/a.png", "off").await,
        Err(RealtimeError::Forbidden(_))
    ));
    f.resolve("/a.png", "w64").await.expect("variant");
    assert!(
        matches!(
            f.resolve("/a_w64.png", "w64").await,
            Err(RealtimeError::NotFound(_))
        ),
        "a result is not a source"
    );
    let mut truncated = png(300, 300, 3);
    truncated.truncate(truncated.len() / 2);
    f.upload("/broken.png", truncated).await;
    assert!(matches!(
        f.resolve("/broken.png", "w64").await,
        Err(RealtimeError::Produce(ProduceError::Imaging(_)))
    ));
}
