//! The process-wide context every handler and worker shares: configuration, catalog, blob
//! store, metrics, and the public base URL.

use crate::blob::{BlobError, BlobStore};
use crate::callback::Callbacks;
use crate::catalog::sqlite::SqliteCatalog;
use crate::catalog::{AppRecord, Catalog, CatalogError};
use crate::config::{Config, ConfigError};
use crate::metrics::Metrics;
use crate::render::Renderer;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Notify;

/// Why the process could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The catalog could not be opened.
    #[error("catalog: {0}")]
    Catalog(#[from] CatalogError),
    /// The blob store could not be opened.
    #[error("storage: {0}")]
    Blob(#[from] BlobError),
    /// Metrics could not be registered.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// A file or socket operation failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A transform failed.
    #[error("{0}")]
    Transform(#[from] crate::transform::TransformError),
    /// `pictor check` could not run.
    #[error("check: {0}")]
    Check(#[from] crate::check::CheckError),
    /// `pictor check` found problems it did not repair.
    #[error(
        "catalog and object store disagree: {missing} missing blob(s), {orphans} orphan(s) left"
    )]
    Inconsistent {
        /// Files whose bytes are missing.
        missing: usize,
        /// Orphans not deleted.
        orphans: usize,
    },
}

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
    /// Render pool, result cache and miss coalescing.
    pub renderer: Renderer,
    /// Outbox of result callbacks, and checks of callback URLs.
    pub callbacks: Callbacks,
    /// The `Cache-Control` value of delivered images.
    pub cache_control: http::HeaderValue,
}

impl Context {
    /// Opens the catalog and blob store named by `config`. `bound` is the listening address,
    /// used for URLs when `server.public_url` is empty.
    pub fn open(config: Config, bound: Option<SocketAddr>) -> Result<Self, StartError> {
        let data_dir = config.server.data_dir.clone();
        std::fs::create_dir_all(&data_dir)?;
        let catalog: Arc<dyn Catalog> = if config.catalog.url.is_empty() {
            Arc::new(SqliteCatalog::open(
                &data_dir.join("catalog.sqlite3"),
                config.catalog.readers,
            )?)
        } else if let Some(path) = config.catalog.url.strip_prefix("sqlite://") {
            Arc::new(SqliteCatalog::open(
                std::path::Path::new(path),
                config.catalog.readers,
            )?)
        } else {
            return Err(ConfigError::Invalid(format!(
                "catalog.url: unsupported catalog `{}`",
                config.catalog.url
            ))
            .into());
        };
        let blob = BlobStore::open(&config.storage.url, &data_dir.join("blobs"))?;
        let public_url = if config.server.public_url.is_empty() {
            let addr = bound.map_or_else(|| config.server.listen.clone(), |a| a.to_string());
            format!("http://{addr}")
        } else {
            config.server.public_url.trim_end_matches('/').to_owned()
        };
        let metrics = Metrics::new()?;
        let renderer = Renderer::new(&config.render, metrics.render_queue.clone());
        let callbacks = Callbacks::new(
            &config.callbacks,
            Arc::clone(&catalog),
            metrics.callback_failures.clone(),
        )
        .map_err(|e| StartError::Io(std::io::Error::other(e.to_string())))?;
        Ok(Self {
            catalog,
            blob,
            metrics,
            public_url,
            tasks_queued: Notify::new(),
            cache_control: http::HeaderValue::from_str(&format!(
                "public, max-age={}",
                config.delivery.cache_max_age_secs
            ))
            .map_err(|e| StartError::Io(std::io::Error::other(e.to_string())))?,
            renderer,
            callbacks,
            config,
        })
    }

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

    /// Creates an app with fresh keys and a fresh container.
    pub async fn create_app(&self, name: &str) -> Result<AppRecord, CatalogError> {
        let app = AppRecord {
            app_key: Alphanumeric.sample_string(&mut rand::rng(), 20),
            secret_key: Alphanumeric.sample_string(&mut rand::rng(), 32),
            container: new_container_name(),
            name: name.to_owned(),
            realtime_service: true,
            created_at: now_ms(),
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

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
