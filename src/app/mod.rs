//! The composition root: opens the resources named by the configuration, builds the services
//! on them and runs the commands of the binary (`serve`, `check`, `migrate`, `transform`, `app`,
//! `app quota`). It may
//! import every other module; no other module imports it.

pub mod check;
pub mod migrate;
pub mod quota;
pub mod server;
mod storage_settings;
pub mod transform;

use crate::callback::Callbacks;
use crate::catalog::counted::Counted;
use crate::catalog::postgres::{PgCatalog, PgOptions};
use crate::catalog::sqlite::SqliteCatalog;
use crate::catalog::{AppRecord, Catalog, CatalogError};
use crate::config::{CatalogConfig, Config, ConfigError};
use crate::context::Context;
use crate::metrics::Metrics;
use crate::storage::{BlobError, BlobStore};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
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
    /// The callback client could not be built.
    #[error("callbacks: {0}")]
    Callbacks(#[from] reqwest::Error),
    /// Metrics could not be registered.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// A file or socket operation failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A transform failed.
    #[error("{0}")]
    Transform(#[from] transform::TransformError),
    /// `pictor check` could not run.
    #[error("check: {0}")]
    Check(#[from] check::CheckError),
    /// `pictor app quota` could not run.
    #[error("app quota: {0}")]
    Quota(#[from] quota::QuotaError),
    /// `pictor migrate` could not run to its end.
    #[error("migrate: {0}")]
    Migrate(#[from] migrate::MigrateError),
    /// `pictor migrate` found the target differing from the source.
    #[error("the target differs from the source in {0} place(s); see the report")]
    MigrationMismatch(u64),
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

/// The embedded catalog's file name in a data directory.
pub const CATALOG_FILE: &str = "catalog.sqlite3";
/// The local blob store's directory name in a data directory.
pub const BLOB_DIR: &str = "blobs";

/// The SQLite file `config` names as catalog: `catalog.url` empty (the embedded default,
/// [`CATALOG_FILE`] in `server.data_dir`) or `sqlite:///path`; `None` for other catalogs.
pub fn sqlite_catalog_path(config: &Config) -> Option<PathBuf> {
    let url = &config.catalog.url;
    if url.is_empty() {
        Some(config.server.data_dir.join(CATALOG_FILE))
    } else {
        url.strip_prefix("sqlite://").map(PathBuf::from)
    }
}

/// The local directory `config` names as blob store (`storage.url` empty: [`BLOB_DIR`] in
/// `server.data_dir`), or `None` for other stores.
pub fn local_blob_dir(config: &Config) -> Option<PathBuf> {
    BlobStore::local_dir(&config.storage.url, &config.server.data_dir.join(BLOB_DIR))
}

/// Opens the catalog and blob store named by `config` and the shared resources around them.
/// `bound` is the listening address, used for URLs when `server.public_url` is empty.
pub async fn open_context(
    config: Config,
    bound: Option<SocketAddr>,
) -> Result<Context, StartError> {
    let data_dir = config.server.data_dir.clone();
    std::fs::create_dir_all(&data_dir)?;
    let templates: Vec<&str> = crate::operation::template_names().collect();
    let metrics = Metrics::new(&crate::jobs::QUEUE_TYPES, &templates)?;
    let backend = open_catalog(&config).await?;
    let catalog: Arc<dyn Catalog> = Arc::new(Counted::new(backend, metrics.catalog_errors.clone()));
    let blob = BlobStore::open(
        &storage_settings::from_config(&config)?,
        metrics.blob_errors.clone(),
    )?;
    let public_url = if config.server.public_url.is_empty() {
        let addr = bound.map_or_else(|| config.server.listen.clone(), |a| a.to_string());
        format!("http://{addr}")
    } else {
        config.server.public_url.trim_end_matches('/').to_owned()
    };
    let callbacks = Callbacks::new(
        &config.callbacks,
        Arc::clone(&catalog),
        metrics.callback_failures.clone(),
    )?;
    Ok(Context {
        catalog,
        blob,
        metrics,
        public_url,
        tasks_queued: Notify::new(),
        callbacks,
        config,
    })
}

/// Opens the catalog `catalog.url` names: the embedded SQLite file when empty, another SQLite
/// file for `sqlite://`, a PostgreSQL database for `postgres://` or `postgresql://`.
async fn open_catalog(config: &Config) -> Result<Arc<dyn Catalog>, StartError> {
    let url = config.catalog.url.as_str();
    if let Some(path) = sqlite_catalog_path(config) {
        return Ok(Arc::new(SqliteCatalog::open(
            &path,
            config.catalog.readers,
        )?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(
            PgCatalog::open(&pg_options(&config.catalog)).await?,
        ));
    }
    // Only the scheme is shown: the rest may hold a password.
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    Err(ConfigError::Invalid(format!(
        "catalog.url: unsupported catalog scheme `{scheme}` (expected sqlite:// or postgres://)"
    ))
    .into())
}

/// The PostgreSQL settings of the `[catalog]` section.
fn pg_options(catalog: &CatalogConfig) -> PgOptions {
    PgOptions {
        url: catalog.url.clone(),
        max_connections: catalog.max_connections,
        connect_timeout: Duration::from_secs(catalog.connect_timeout_secs),
        statement_timeout: Duration::from_secs(catalog.statement_timeout_secs),
        acquire_timeout: Duration::from_secs(catalog.acquire_timeout_secs),
        tls_ca_file: (!catalog.tls_ca_file.as_os_str().is_empty())
            .then(|| catalog.tls_ca_file.clone()),
    }
}

/// The JSON object printed for an app by `pictor app create`, `pictor app list` and the first
/// start of `pictor serve`: its keys, container, name and real-time flag.
pub fn app_json(app: &AppRecord) -> serde_json::Value {
    serde_json::json!({
        "appKey": app.app_key,
        "secretKey": app.secret_key,
        "container": app.container,
        "name": app.name,
        "realtimeService": app.realtime_service,
    })
}
