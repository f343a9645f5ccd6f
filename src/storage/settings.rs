//! What opening a blob store needs: its URL, the S3 connection settings that override the
//! standard `AWS_*` variables, the bounds of the HTTP client, and when to upload in parts.
//! Plain data: the composition root fills it from the configuration.

use std::path::PathBuf;
use std::time::Duration;

/// Everything [`super::BlobStore::open`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `file:///path`, `s3://bucket[/prefix]`, `gs://bucket[/prefix]`,
    /// `az://container[/prefix]`, or empty for the local directory `default_dir`.
    pub url: String,
    /// The local directory used when `url` is empty.
    pub default_dir: PathBuf,
    /// S3 connection settings; each one set here wins over its `AWS_*` variable.
    pub s3: S3Settings,
    /// Timeouts and retries of the HTTP client of a cloud store.
    pub client: ClientSettings,
    /// When and how large objects are uploaded in parts.
    pub multipart: MultipartSettings,
}

/// S3 settings that override the standard variables (`AWS_ENDPOINT_URL`, `AWS_REGION`,
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`); `None` leaves the
/// variable (or the S3 default) in force. They apply to `s3://` URLs only.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct S3Settings {
    /// Endpoint URL of an S3-compatible server (`http://127.0.0.1:3900`).
    pub endpoint: Option<String>,
    /// Region the requests are signed for.
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Whether a plain `http://` endpoint may be used.
    pub allow_http: Option<bool>,
    /// Address the bucket as `<bucket>.<endpoint host>` instead of `<endpoint>/<bucket>`
    /// (path style, which S3-compatible servers expect).
    pub virtual_hosted_style: bool,
}

impl S3Settings {
    /// Whether any setting that only an `s3://` store can use is given.
    pub fn any_set(&self) -> bool {
        self.endpoint.is_some()
            || self.region.is_some()
            || self.access_key_id.is_some()
            || self.secret_access_key.is_some()
            || self.allow_http.is_some()
            || self.virtual_hosted_style
    }
}

/// Bounds of the HTTP client of a cloud store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time one request may take, from connecting to the end of its body (a streamed read
    /// included).
    pub request_timeout: Duration,
    /// Retries of a request that failed in a way another attempt may fix.
    pub max_retries: usize,
    /// Time after the first attempt past which no retry starts.
    pub retry_timeout: Duration,
}

/// When and how an object is uploaded in parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultipartSettings {
    /// Objects larger than this many bytes are uploaded in parts.
    pub threshold: u64,
    /// Bytes of each part but the last.
    pub part_size: usize,
}
