//! The resources every service shares: configuration, catalog, blob store, metrics, the
//! callback outbox, the task queue's wake-up and the public base URL. Services (`variant`,
//! `ingest`, `jobs`) build on it; it knows none of them.

use crate::callback::Callbacks;
use crate::catalog::{AppRecord, AppSettings, Catalog, CatalogError};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::result_code::ResultCode;
use crate::storage::BlobStore;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use std::sync::Arc;
use tokio::sync::Notify;

/// Characters escaped in a path segment of a delivery URL.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'[')
    .add(b']');

/// Shared state of a Pictor process.
pub struct Context {
    /// Effective configuration.
    pub config: Config,
    /// Metadata catalog.
    pub catalog: Arc<dyn Catalog>,
    /// Image bytes.
    pub blob: BlobStore,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Base of absolute delivery URLs, without a trailing slash.
    pub public_url: String,
    /// Wakes the task workers when a task is queued.
    pub tasks_queued: Notify,
    /// Outbox of result callbacks, and checks of callback URLs.
    pub callbacks: Callbacks,
}

impl Context {
    /// The absolute delivery URL of a file.
    pub fn file_url(&self, container: &str, path: &str) -> String {
        let mut url =
            String::with_capacity(self.public_url.len() + container.len() + path.len() + 8);
        url.push_str(&self.public_url);
        url.push('/');
        url.push_str(container);
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            url.push('/');
            url.extend(utf8_percent_encode(segment, SEGMENT));
        }
        url
    }

    /// Logs a catalog failure (the catalog counts its own); the API answers it with -1.
    pub fn catalog_failure(&self, e: &CatalogError) -> ResultCode {
        tracing::error!(error = %e, "catalog failure");
        ResultCode::Fail
    }

    /// Creates an app with fresh keys and a fresh container.
    pub async fn create_app(&self, name: &str) -> Result<AppRecord, CatalogError> {
        let app = AppRecord {
            app_key: Alphanumeric.sample_string(&mut rand::rng(), 20),
            secret_key: Alphanumeric.sample_string(&mut rand::rng(), 32),
            container: new_container_name(),
            name: name.to_owned(),
            realtime_service: true,
            created_at: crate::clock::now_ms(),
            settings: AppSettings::default(),
        };
        self.catalog.create_app(&app).await?;
        Ok(app)
    }
}

/// A random container name: eight lowercase letters.
fn new_container_name() -> String {
    let mut rng = rand::rng();
    (0..8)
        .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
        .collect()
}
