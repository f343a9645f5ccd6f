//! Typed configuration: built-in defaults, then an optional TOML file, then `PICTOR_<SECTION>_<KEY>`
//! environment variables, then command-line flags. Every key is documented in
//! `config/pictor.toml`, which holds exactly the defaults.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A configuration that could not be read or is invalid. The message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file or an environment variable holds a value of the wrong type or an unknown key.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole configuration of a Pictor process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Listening socket, public URL, data directory and shutdown.
    pub server: ServerConfig,
    /// Where image bytes are kept.
    pub storage: StorageConfig,
    /// Where the metadata catalog is kept.
    pub catalog: CatalogConfig,
    /// Request and naming limits.
    pub limits: LimitsConfig,
    /// Delivery of originals and results.
    pub delivery: DeliveryConfig,
    /// Background task queue.
    pub tasks: TasksConfig,
    /// Rendering of operation results: CPU pool and result cache.
    pub render: RenderConfig,
    /// Limits of the imaging engine.
    pub imaging: ImagingConfig,
    /// Result callbacks.
    pub callbacks: CallbacksConfig,
    /// The trash of the photo-library extensions.
    pub trash: TrashConfig,
    /// The deletion history of the photo-library extensions.
    pub deletions: DeletionsConfig,
    /// Logging.
    pub log: LogConfig,
}

/// `[server]`: the listening socket and the process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// Base of the absolute delivery URLs written in API answers; empty means `http://<listen>`.
    pub public_url: String,
    /// Directory for the embedded catalog and the local blob store.
    pub data_dir: PathBuf,
    /// Seconds to let in-flight requests finish after SIGTERM/SIGINT.
    pub shutdown_grace_secs: u64,
    /// Address and port serving `/metrics` (and `/healthz`, `/readyz`) apart from `listen`;
    /// empty serves `/metrics` on `listen`.
    pub metrics_listen: String,
    /// Open connections at most; when reached, no connection is accepted until one closes.
    pub max_connections: usize,
    /// Seconds an HTTP/1 client has to send a complete request header; also how long a
    /// kept-alive connection may wait idle for its next request.
    pub header_read_timeout_secs: u64,
    /// Largest HTTP/1 request head (request line and headers), in bytes, and the most an
    /// HTTP/1 connection buffers while reading or writing; a larger head is answered 431.
    pub http1_max_head_bytes: usize,
    /// Window, in seconds, over which a client the server waits on must send
    /// `min_read_bytes_per_sec` (request bodies, the HTTP/2 preface, idle HTTP/2 connections).
    pub read_timeout_secs: u64,
    /// Bytes per second a client must send, averaged over `read_timeout_secs`.
    pub min_read_bytes_per_sec: u64,
    /// Window, in seconds, over which a client must read `min_write_bytes_per_sec` of its
    /// response while the server waits to write.
    pub write_timeout_secs: u64,
    /// Bytes per second a client must read, averaged over `write_timeout_secs`.
    pub min_write_bytes_per_sec: u64,
    /// Concurrent streams one HTTP/2 connection may open.
    pub http2_max_concurrent_streams: u32,
    /// Largest HTTP/2 header list a client may send, in bytes.
    pub http2_max_header_list_bytes: u32,
    /// Seconds between HTTP/2 keep-alive pings; 0 sends none.
    pub http2_keep_alive_interval_secs: u64,
    /// Seconds to wait for a ping's acknowledgement before closing the connection.
    pub http2_keep_alive_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            public_url: String::new(),
            data_dir: PathBuf::from("./data"),
            shutdown_grace_secs: 30,
            metrics_listen: String::new(),
            max_connections: 10_000,
            header_read_timeout_secs: 10,
            http1_max_head_bytes: 64 * 1024,
            read_timeout_secs: 30,
            min_read_bytes_per_sec: 256,
            write_timeout_secs: 30,
            min_write_bytes_per_sec: 256,
            http2_max_concurrent_streams: 100,
            http2_max_header_list_bytes: 16 * 1024,
            http2_keep_alive_interval_secs: 60,
            http2_keep_alive_timeout_secs: 20,
        }
    }
}

/// `[storage]`: the object store for image bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Object store URL: `file:///path`, `s3://bucket[/prefix]`, `gs://bucket[/prefix]` or
    /// `az://container[/prefix]`; empty means a local directory `<data_dir>/blobs`.
    pub url: String,
    /// Seconds the bytes of a replaced or deleted file stay stored (for readers that already
    /// looked them up) before the sweep deletes them; the sweep also runs this often (1..60 s).
    pub release_delay_secs: u64,
    /// Seconds a stored blob no file references must be old before `pictor check` calls it
    /// an orphan (younger ones may belong to an upload in flight).
    pub orphan_grace_secs: u64,
    /// S3 endpoint URL (an S3-compatible server); empty leaves `AWS_ENDPOINT_URL` or AWS.
    pub endpoint: String,
    /// S3 region; empty leaves `AWS_REGION` or `us-east-1`.
    pub region: String,
    /// S3 access key id; empty leaves `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// S3 secret access key; empty leaves `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// Whether a plain `http://` S3 endpoint may be used; empty leaves `AWS_ALLOW_HTTP`.
    pub allow_http: Switch,
    /// Address S3 buckets as `<bucket>.<endpoint host>` instead of path style.
    pub virtual_hosted_style: bool,
    /// Seconds to connect to a cloud store.
    pub connect_timeout_secs: u64,
    /// Seconds one request to a cloud store may take, body included (a streamed original too).
    pub request_timeout_secs: u64,
    /// Retries of a cloud store request that failed in a way another attempt may fix.
    pub max_retries: usize,
    /// Seconds after a request's first attempt past which no retry starts.
    pub retry_timeout_secs: u64,
    /// Objects larger than this many bytes are uploaded in parts.
    pub multipart_threshold_bytes: u64,
    /// Bytes of each part of a multipart upload but the last (5 MiB to 5 GiB).
    pub multipart_part_bytes: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            release_delay_secs: 30,
            orphan_grace_secs: 3600,
            endpoint: String::new(),
            region: String::new(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            allow_http: Switch::Unset,
            virtual_hosted_style: false,
            connect_timeout_secs: 5,
            request_timeout_secs: 120,
            max_retries: 3,
            retry_timeout_secs: 30,
            multipart_threshold_bytes: 16 * 1024 * 1024,
            multipart_part_bytes: 8 * 1024 * 1024,
        }
    }
}

/// A yes/no setting that may be left empty (`""`), so that another source decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "SwitchText", into = "SwitchText")]
pub enum Switch {
    /// Empty: not set here.
    #[default]
    Unset,
    /// `true`.
    On,
    /// `false`.
    Off,
}

impl Switch {
    /// The setting, when one is given.
    pub fn get(self) -> Option<bool> {
        match self {
            Self::Unset => None,
            Self::On => Some(true),
            Self::Off => Some(false),
        }
    }
}

/// How a [`Switch`] is written: a boolean, or a string (`""`, `"true"`, `"false"`).
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum SwitchText {
    /// `true` or `false`.
    Bool(bool),
    /// `""`, `"true"` or `"false"`.
    Text(String),
}

impl TryFrom<SwitchText> for Switch {
    type Error = String;

    fn try_from(text: SwitchText) -> Result<Self, String> {
        match text {
            SwitchText::Bool(true) => Ok(Self::On),
            SwitchText::Bool(false) => Ok(Self::Off),
            SwitchText::Text(t) => match t.as_str() {
                "" => Ok(Self::Unset),
                "true" => Ok(Self::On),
                "false" => Ok(Self::Off),
                other => Err(format!("expected true, false or \"\", got `{other}`")),
            },
        }
    }
}

impl From<Switch> for SwitchText {
    fn from(switch: Switch) -> Self {
        match switch.get() {
            Some(b) => Self::Bool(b),
            None => Self::Text(String::new()),
        }
    }
}

/// `[catalog]`: the metadata store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// Catalog URL: empty means the embedded SQLite file `<data_dir>/catalog.sqlite3`;
    /// `sqlite:///path` another SQLite file; `postgres://user[:password]@host[:port]/database`
    /// (or `postgresql://`) a PostgreSQL database that several nodes may share.
    pub url: String,
    /// Reader connections of the embedded catalog (at least 1); lookups run on them while
    /// changes run one at a time on the single writer connection.
    pub readers: usize,
    /// PostgreSQL: connections open at most; calls beyond wait for a free one.
    pub max_connections: usize,
    /// PostgreSQL: seconds to open a connection (unless the URL sets `connect_timeout`).
    pub connect_timeout_secs: u64,
    /// PostgreSQL: seconds one statement may run before the server cancels it.
    pub statement_timeout_secs: u64,
    /// PostgreSQL: seconds a call waits for a free connection before it fails (retryable).
    pub acquire_timeout_secs: u64,
    /// PostgreSQL: PEM file of the authorities that sign the server's certificate, for a URL
    /// with `sslmode=require`; empty: the Mozilla roots built in (`webpki-roots`).
    pub tls_ca_file: PathBuf,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            readers: 4,
            max_connections: 16,
            connect_timeout_secs: 5,
            statement_timeout_secs: 30,
            acquire_timeout_secs: 10,
            tls_ca_file: PathBuf::new(),
        }
    }
}

/// `[limits]`: sizes and counts accepted from clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest single uploaded file, in bytes (answer 11004 above it).
    pub max_upload_bytes: u64,
    /// Largest request body (a whole multipart upload), in bytes.
    pub max_request_bytes: u64,
    /// Largest full path, in bytes (answer 11001 above it).
    pub max_path_bytes: usize,
    /// Most items in one request: rows per page, files per upload, ids per deletion.
    pub max_items: usize,
    /// Most bytes all zip archives of one upload request may inflate to, counted as they are
    /// really inflated (answer 11004 above it, nothing of the request is stored).
    pub max_inflated_bytes: u64,
    /// Most distinct operation ids one request may name (answer 10001 above it).
    pub max_operation_ids: usize,
    /// Largest `params` part of a multipart upload, in bytes (answer 10001 above it).
    pub max_params_bytes: u64,
    /// Largest file a resumable (tus) upload may declare, in bytes (413 at creation above it).
    pub max_resumable_bytes: u64,
    /// Seconds an unfinished resumable upload lives after its creation or its last stored
    /// bytes; then it takes no more bytes and the sweep deletes it.
    pub resumable_expiry_secs: u64,
    /// Unfinished (unexpired) resumable uploads one app may hold at once (429 beyond).
    pub max_unfinished_uploads: u64,
    /// Requests (chunks) whose bytes one resumable upload may keep before its last one.
    pub max_upload_chunks: u64,
    /// Most tags one file may carry (answer 10001 above it).
    pub max_tags_per_file: usize,
    /// Longest tag, in characters (answer 10001 above it); at most 500, as tags are index keys.
    pub max_tag_chars: usize,
    /// Bytes the request bodies of all API calls of this node may hold in memory at once
    /// (buffered uploads and JSON bodies, the parts of streamed tus requests). A call that
    /// would take more is refused at once: -1 "busy", or 503 with `Retry-After` for tus.
    pub request_memory_bytes: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 50 * 1024 * 1024,
            max_request_bytes: 256 * 1024 * 1024,
            max_path_bytes: 1024,
            max_items: 10_000,
            max_inflated_bytes: 1024 * 1024 * 1024,
            max_operation_ids: 20,
            max_params_bytes: 64 * 1024,
            max_resumable_bytes: 1024 * 1024 * 1024,
            resumable_expiry_secs: 24 * 3600,
            max_unfinished_uploads: 100,
            max_upload_chunks: 10_000,
            max_tags_per_file: 32,
            max_tag_chars: 64,
            request_memory_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// The least `server.http1_max_head_bytes`: hyper reads into a buffer of at least 8 KiB.
const MIN_HTTP1_HEAD_BYTES: usize = 8 * 1024;

/// The highest `server.http1_max_head_bytes` (1 MiB).
const MAX_HTTP1_HEAD_BYTES: usize = 1024 * 1024;

/// The highest `limits.max_tag_chars`: a tag is a key of the catalog's tag index, whose entries
/// PostgreSQL bounds (4 bytes a character at most).
const MAX_TAG_CHARS: usize = 500;

/// `[delivery]`: how `GET /<container>/<path>` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// `Cache-Control: public, max-age=<this>` on delivered images.
    pub cache_max_age_secs: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            cache_max_age_secs: 86_400,
        }
    }
}

/// `[trash]`: how long the days of an app's `trashRetentionDays` last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrashConfig {
    /// Seconds in one day of trash retention and of `deletions.retention_days` (86400); only
    /// tests shorten it, to see the maintenance sweep purge.
    pub day_secs: u64,
}

impl Default for TrashConfig {
    fn default() -> Self {
        Self { day_secs: 86_400 }
    }
}

impl TrashConfig {
    /// Milliseconds in `days` days of retention.
    pub fn days_ms(&self, days: u64) -> i64 {
        i64::try_from(days.saturating_mul(self.day_secs).saturating_mul(1000)).unwrap_or(i64::MAX)
    }
}

/// `[deletions]`: the deletion history (`GET /deletions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeletionsConfig {
    /// Days an entry is kept before the maintenance sweep drops it (1..=3650).
    pub retention_days: u64,
}

impl Default for DeletionsConfig {
    fn default() -> Self {
        Self { retention_days: 14 }
    }
}

/// `[tasks]`: the persistent background task queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TasksConfig {
    /// Number of task workers.
    pub workers: usize,
    /// Milliseconds between polls of the queue when it is idle.
    pub poll_interval_ms: u64,
    /// Attempts before a task ends in F.
    pub max_tries: u32,
    /// Seconds a worker holds a task before another worker may take it over; the worker
    /// renews the lease every third of this while the task runs.
    pub lease_secs: u64,
    /// Hours a task that ended (D or F) stays queryable before the sweep deletes it.
    pub retention_hours: u64,
}

impl Default for TasksConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            poll_interval_ms: 500,
            max_tries: 3,
            lease_secs: 60,
            retention_hours: 168,
        }
    }
}

/// `[render]`: the CPU pool and the result cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RenderConfig {
    /// Concurrent renders; 0 means one per CPU core.
    pub workers: usize,
    /// Renders that may wait for a worker; beyond, requests get 503 with Retry-After.
    pub queue: usize,
    /// Requests that may wait for a render another node sharing the catalog has claimed; such
    /// a wait holds no place in the pool. Beyond, 503 with Retry-After.
    pub claim_waits: usize,
    /// Keep rendered results (in memory and as stored `P` files). Off renders every request.
    pub result_cache: bool,
    /// Bytes of rendered results kept in memory (L1).
    pub l1_max_bytes: u64,
    /// Seconds an in-memory result may be served before it is looked up again.
    pub l1_ttl_secs: u64,
    /// Bytes of source images (originals and watermarks) kept in memory for renders, by blob
    /// key; 0 reads every source from the object store.
    pub source_cache_bytes: u64,
    /// `Retry-After` seconds sent with 503 when the pool is full.
    pub retry_after_secs: u64,
    /// Nice value of the render threads (0..=19): renders give way to the threads that serve
    /// requests, so a busy pool does not delay cache hits and the next request's lookups.
    pub nice: i32,
}

impl Default for RenderConfig {
    fn default() -> Self {
        Self {
            workers: 0,
            queue: 64,
            claim_waits: 256,
            result_cache: true,
            l1_max_bytes: 256 * 1024 * 1024,
            l1_ttl_secs: 300,
            source_cache_bytes: 128 * 1024 * 1024,
            retry_after_secs: 1,
            nice: 10,
        }
    }
}

impl RenderConfig {
    /// The number of render workers, resolving 0 to the number of CPU cores.
    pub fn effective_workers(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        }
    }
}

/// `[imaging]`: what the imaging engine accepts and produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImagingConfig {
    /// Largest source image, in pixels (width x height), checked before decoding.
    pub max_pixels: u64,
    /// Most frames of an animated source.
    pub max_frames: u32,
    /// Largest output width or height.
    pub max_output_side: u32,
    /// Most images one render may produce (slice and grid pieces).
    pub max_pieces: u32,
    /// Largest ICC profile, in bytes, read from a source and carried into its outputs; a
    /// larger one is dropped (and never inflated past this size).
    pub max_icc_bytes: u64,
}

impl Default for ImagingConfig {
    fn default() -> Self {
        Self {
            max_pixels: 100_000_000,
            max_frames: 1000,
            max_output_side: 8192,
            max_pieces: 1000,
            max_icc_bytes: 4 * 1024 * 1024,
        }
    }
}

impl Default for crate::imaging::Limits {
    fn default() -> Self {
        Self::from(&ImagingConfig::default())
    }
}

impl From<&ImagingConfig> for crate::imaging::Limits {
    fn from(config: &ImagingConfig) -> Self {
        Self {
            max_pixels: config.max_pixels,
            max_frames: config.max_frames,
            max_output_side: config.max_output_side,
            max_pieces: config.max_pieces,
            max_icc_bytes: config.max_icc_bytes,
        }
    }
}

/// `[callbacks]`: POSTs of results to a client's `callbackUrl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallbacksConfig {
    /// Ports a callback URL may use (result code 11051 otherwise).
    pub allowed_ports: Vec<u16>,
    /// Seconds to wait for a receiver.
    pub timeout_secs: u64,
    /// Attempts per callback.
    pub max_tries: u32,
    /// Milliseconds before the second attempt, doubled for each further one.
    pub backoff_ms: u64,
    /// Whether callbacks may reach loopback, private, link-local and other internal addresses
    /// (off: such URLs get 11051, and names resolving to them are never connected to).
    pub allow_private_networks: bool,
    /// Milliseconds to wait for the name lookup of a callback host.
    pub resolve_timeout_ms: u64,
    /// Callback deliveries in flight at once, over all receivers.
    pub concurrency: usize,
    /// Callback deliveries in flight at once to one host and port.
    pub per_host_concurrency: usize,
    /// Callbacks waiting in the outbox at most; further ones are dropped and counted as failed.
    pub max_pending: u64,
}

impl Default for CallbacksConfig {
    fn default() -> Self {
        Self {
            allowed_ports: vec![80, 443],
            timeout_secs: 10,
            max_tries: 4,
            backoff_ms: 1000,
            allow_private_networks: false,
            resolve_timeout_ms: 2000,
            concurrency: 16,
            per_host_concurrency: 2,
            max_pending: 100_000,
        }
    }
}

/// `[log]`: diagnostics on stderr.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Log filter (`error`, `warn`, `info`, `debug`, or a `tracing` filter directive).
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
        }
    }
}

impl Config {
    /// Loads defaults, then `file` (if given), then `PICTOR_*` variables from `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str::<toml::Table>(&text)
                    .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))?
            }
            None => toml::Table::new(),
        };
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("PICTOR_") else {
                continue;
            };
            if NOT_CONFIG.iter().any(|p| name.starts_with(p)) {
                continue;
            }
            let Some((section, key)) = rest.split_once('_') else {
                return Err(ConfigError::Invalid(format!(
                    "environment variable {name}: expected PICTOR_<SECTION>_<KEY>"
                )));
            };
            let section = section.to_ascii_lowercase();
            let key = key.to_ascii_lowercase();
            let entry = table
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(section_table) = entry else {
                return Err(ConfigError::Invalid(format!(
                    "`{section}` is not a section"
                )));
            };
            section_table.insert(key, env_value(&value));
        }
        let text = toml::to_string(&table).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let config: Config =
            toml::from_str(&text).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError::Invalid(format!("{key}: {why}")));
        if !(0..=19).contains(&self.render.nice) {
            return bad("render.nice", "expected 0 to 19");
        }
        if self.server.listen.parse::<SocketAddr>().is_err() {
            return bad("server.listen", "expected an address like 127.0.0.1:8080");
        }
        let server = &self.server;
        if !(server.metrics_listen.is_empty()
            || server.metrics_listen.parse::<SocketAddr>().is_ok())
        {
            return bad(
                "server.metrics_listen",
                "expected empty or an address like 127.0.0.1:9090",
            );
        }
        if !(MIN_HTTP1_HEAD_BYTES..=MAX_HTTP1_HEAD_BYTES).contains(&server.http1_max_head_bytes) {
            return bad(
                "server.http1_max_head_bytes",
                &format!("expected {MIN_HTTP1_HEAD_BYTES} to {MAX_HTTP1_HEAD_BYTES}"),
            );
        }
        for (key, value) in [
            ("server.max_connections", server.max_connections as u64),
            (
                "server.header_read_timeout_secs",
                server.header_read_timeout_secs,
            ),
            ("server.read_timeout_secs", server.read_timeout_secs),
            ("server.write_timeout_secs", server.write_timeout_secs),
            (
                "server.http2_max_concurrent_streams",
                u64::from(server.http2_max_concurrent_streams),
            ),
            (
                "server.http2_max_header_list_bytes",
                u64::from(server.http2_max_header_list_bytes),
            ),
            (
                "server.http2_keep_alive_timeout_secs",
                server.http2_keep_alive_timeout_secs,
            ),
            (
                "catalog.max_connections",
                self.catalog.max_connections as u64,
            ),
            (
                "catalog.connect_timeout_secs",
                self.catalog.connect_timeout_secs,
            ),
            (
                "catalog.statement_timeout_secs",
                self.catalog.statement_timeout_secs,
            ),
            (
                "catalog.acquire_timeout_secs",
                self.catalog.acquire_timeout_secs,
            ),
        ] {
            if value == 0 {
                return bad(key, "must be greater than 0");
            }
        }
        let url = &self.server.public_url;
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return bad("server.public_url", "expected an http:// or https:// URL");
        }
        if self.limits.max_upload_bytes == 0 {
            return bad("limits.max_upload_bytes", "must be greater than 0");
        }
        if self.limits.max_request_bytes < self.limits.max_upload_bytes {
            return bad(
                "limits.max_request_bytes",
                "must be at least limits.max_upload_bytes",
            );
        }
        if self.limits.max_path_bytes < 2 {
            return bad("limits.max_path_bytes", "must be at least 2");
        }
        if self.limits.max_items == 0 {
            return bad("limits.max_items", "must be greater than 0");
        }
        for (key, value) in [
            (
                "limits.max_resumable_bytes",
                self.limits.max_resumable_bytes,
            ),
            (
                "limits.resumable_expiry_secs",
                self.limits.resumable_expiry_secs,
            ),
            (
                "limits.max_unfinished_uploads",
                self.limits.max_unfinished_uploads,
            ),
            ("limits.max_upload_chunks", self.limits.max_upload_chunks),
        ] {
            if value == 0 {
                return bad(key, "must be greater than 0");
            }
        }
        if !(1..=MAX_TAG_CHARS).contains(&self.limits.max_tag_chars) {
            return bad("limits.max_tag_chars", "expected 1 to 500");
        }
        if self.tasks.workers == 0 {
            return bad("tasks.workers", "must be greater than 0");
        }
        if self.imaging.max_pixels == 0 {
            return bad("imaging.max_pixels", "must be greater than 0");
        }
        if self.imaging.max_output_side == 0 {
            return bad("imaging.max_output_side", "must be greater than 0");
        }
        if self.imaging.max_frames == 0 {
            return bad("imaging.max_frames", "must be greater than 0");
        }
        if self.imaging.max_pieces == 0 {
            return bad("imaging.max_pieces", "must be greater than 0");
        }
        if self.tasks.max_tries == 0 {
            return bad("tasks.max_tries", "must be greater than 0");
        }
        if self.trash.day_secs == 0 {
            return bad("trash.day_secs", "must be greater than 0");
        }
        if !(1..=3650).contains(&self.deletions.retention_days) {
            return bad("deletions.retention_days", "expected 1 to 3650");
        }
        self.validate_storage()
    }

    /// Checks the bounds of the object store's client and uploads.
    fn validate_storage(&self) -> Result<(), ConfigError> {
        let storage = &self.storage;
        if storage.multipart_threshold_bytes == 0 {
            return Err(ConfigError::Invalid(
                "storage.multipart_threshold_bytes: must be greater than 0".to_owned(),
            ));
        }
        for (key, value, range) in [
            (
                "storage.connect_timeout_secs",
                storage.connect_timeout_secs,
                1..=300,
            ),
            (
                "storage.request_timeout_secs",
                storage.request_timeout_secs,
                1..=3600,
            ),
            (
                "storage.max_retries",
                u64::try_from(storage.max_retries).unwrap_or(u64::MAX),
                0..=10,
            ),
            (
                "storage.retry_timeout_secs",
                storage.retry_timeout_secs,
                1..=300,
            ),
            (
                "storage.multipart_part_bytes",
                storage.multipart_part_bytes,
                5 * 1024 * 1024..=5 * 1024 * 1024 * 1024,
            ),
        ] {
            if !range.contains(&value) {
                return Err(ConfigError::Invalid(format!(
                    "{key}: expected {} to {}",
                    range.start(),
                    range.end()
                )));
            }
        }
        Ok(())
    }

    /// The socket address serving `/metrics` alone, when one is set.
    pub fn metrics_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let text = &self.server.metrics_listen;
        if text.is_empty() {
            return Ok(None);
        }
        text.parse()
            .map(Some)
            .map_err(|_| ConfigError::Invalid(format!("server.metrics_listen: {text}")))
    }

    /// The socket address to listen on.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server
            .listen
            .parse()
            .map_err(|_| ConfigError::Invalid(format!("server.listen: {}", self.server.listen)))
    }
}

/// Variables named `PICTOR_...` that belong to the test suite, not to the configuration:
/// `PICTOR_TEST_*` name test servers, `PICTOR_REQUIRE_BACKENDS` makes their absence fail.
const NOT_CONFIG: [&str; 2] = ["PICTOR_TEST_", "PICTOR_REQUIRE_BACKENDS"];

/// Reads an environment value as a TOML scalar (number, boolean) when it is one, else a string.
fn env_value(raw: &str) -> toml::Value {
    match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => match t.remove("v") {
            Some(
                v @ (toml::Value::Integer(_)
                | toml::Value::Boolean(_)
                | toml::Value::Float(_)
                | toml::Value::Array(_)),
            ) => v,
            _ => toml::Value::String(raw.to_owned()),
        },
        Err(_) => toml::Value::String(raw.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn shipped_config_file_holds_exactly_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/pictor.toml");
        let loaded = Config::load(Some(&path), Vec::new()).expect("config/pictor.toml loads");
        assert_eq!(loaded, Config::default());
    }

    #[test]
    fn environment_overrides_defaults() {
        let c = Config::load(
            None,
            env(&[
                ("PICTOR_LIMITS_MAX_UPLOAD_BYTES", "1000"),
                ("PICTOR_SERVER_PUBLIC_URL", "http://img.example.test"),
                ("HOME", "/root"),
            ]),
        )
        .expect("valid");
        assert_eq!(c.limits.max_upload_bytes, 1000);
        assert_eq!(c.server.public_url, "http://img.example.test");
        assert_eq!(c.delivery.cache_max_age_secs, 86_400);
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = Config::load(None, env(&[("PICTOR_LIMITS_MAX_UPLOAD_BYTES", "abc")]))
            .expect_err("must fail");
        assert!(err.to_string().contains("max_upload_bytes"), "{err}");
    }

    #[test]
    fn unknown_key_names_the_key() {
        let err =
            Config::load(None, env(&[("PICTOR_SERVER_LISTEN_PORT", "1")])).expect_err("must fail");
        assert!(err.to_string().contains("listen_port"), "{err}");
    }

    #[test]
    fn bad_listen_address_is_refused() {
        let err =
            Config::load(None, env(&[("PICTOR_SERVER_LISTEN", "nowhere")])).expect_err("fails");
        assert!(err.to_string().contains("server.listen"), "{err}");
    }

    #[test]
    fn storage_settings_are_read_and_bounded() {
        let c = Config::load(
            None,
            env(&[
                ("PICTOR_STORAGE_URL", "s3://images/pictor"),
                ("PICTOR_STORAGE_ENDPOINT", "http://127.0.0.1:3900"),
                ("PICTOR_STORAGE_ALLOW_HTTP", "true"),
                ("PICTOR_STORAGE_MULTIPART_THRESHOLD_BYTES", "1"),
            ]),
        )
        .expect("valid");
        assert_eq!(c.storage.url, "s3://images/pictor");
        assert_eq!(c.storage.endpoint, "http://127.0.0.1:3900");
        assert_eq!(c.storage.allow_http.get(), Some(true));
        assert_eq!(c.storage.multipart_threshold_bytes, 1);
        let off = Config::load(None, env(&[("PICTOR_STORAGE_ALLOW_HTTP", "false")]));
        assert_eq!(off.expect("valid").storage.allow_http.get(), Some(false));
        assert_eq!(Config::default().storage.allow_http.get(), None);
        let err = Config::load(None, env(&[("PICTOR_STORAGE_ALLOW_HTTP", "maybe")]))
            .expect_err("not a switch");
        assert!(err.to_string().contains("maybe"), "{err}");
        let err = Config::load(
            None,
            env(&[("PICTOR_STORAGE_MULTIPART_PART_BYTES", "1024")]),
        )
        .expect_err("parts under 5 MiB");
        assert!(
            err.to_string().contains("storage.multipart_part_bytes"),
            "{err}"
        );
        let err = Config::load(None, env(&[("PICTOR_STORAGE_REQUEST_TIMEOUT_SECS", "0")]))
            .expect_err("no timeout");
        assert!(
            err.to_string().contains("storage.request_timeout_secs"),
            "{err}"
        );
    }

    #[test]
    fn test_suite_variables_are_not_configuration() {
        let c = Config::load(
            None,
            env(&[
                ("PICTOR_TEST_S3_ENDPOINT", "http://127.0.0.1:8333"),
                ("PICTOR_REQUIRE_BACKENDS", "1"),
            ]),
        )
        .expect("ignored");
        assert_eq!(c, Config::default());
    }

    #[test]
    fn postgres_pool_settings_must_be_positive() {
        let c = Config::load(None, env(&[("PICTOR_CATALOG_MAX_CONNECTIONS", "4")])).expect("valid");
        assert_eq!(c.catalog.max_connections, 4);
        for key in [
            "MAX_CONNECTIONS",
            "CONNECT_TIMEOUT_SECS",
            "STATEMENT_TIMEOUT_SECS",
            "ACQUIRE_TIMEOUT_SECS",
        ] {
            let var = format!("PICTOR_CATALOG_{key}");
            let err = Config::load(None, env(&[(&var, "0")])).expect_err("0 is refused");
            let named = format!("catalog.{}", key.to_ascii_lowercase());
            assert!(err.to_string().contains(&named), "{err}");
        }
    }

    #[test]
    fn a_render_nice_value_outside_the_kernel_range_is_refused() {
        let err = Config::load(None, env(&[("PICTOR_RENDER_NICE", "20")])).expect_err("fails");
        assert!(err.to_string().contains("render.nice"), "{err}");
        let ok = Config::load(None, env(&[("PICTOR_RENDER_NICE", "0")])).expect("0 is allowed");
        assert_eq!(ok.render.nice, 0);
    }
}
