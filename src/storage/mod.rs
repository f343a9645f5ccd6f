//! The blob store: image bytes in an `object_store`: a local directory by default, or an S3,
//! Google Cloud Storage or Azure bucket, named by a URL (see [`Settings`]).
//!
//! Keys are never reused: every version of every file gets a fresh key, so a write can never
//! be seen half-done (local writes go to a temporary file and are renamed into place; objects
//! above the multipart threshold become visible only when their last part is in, and a failed
//! multipart upload is aborted), and an overwrite is a catalog pointer swap, not a rewrite of
//! bytes a reader may be streaming. Local writes are durable when `put` returns: the file and
//! its directories are fsynced.
//!
//! The store counts its own failures (see [`BlobStore::open`]), so callers only log them.

mod multipart;
mod open;
mod settings;
mod url;

pub use settings::{ClientSettings, MultipartSettings, S3Settings, Settings};

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use prometheus::IntCounter;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A blob store failure.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No object under the key.
    #[error("blob not found: {0}")]
    NotFound(String),
    /// The store URL is not supported or malformed.
    #[error("unsupported storage url `{url}`: {reason}")]
    UnsupportedUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it, and what was expected.
        reason: String,
    },
    /// The local directory could not be created.
    #[error("cannot create the blob directory {}: {source}", dir.display())]
    Directory {
        /// The directory.
        dir: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The client of a cloud store could not be built (a missing or invalid setting).
    #[error("cannot open the object store `{url}`: {source}")]
    Open {
        /// The URL as configured.
        url: String,
        /// What `object_store` reported.
        #[source]
        source: object_store::Error,
    },
    /// The store failed.
    #[error("blob store: {0}")]
    Store(#[source] object_store::Error),
}

impl From<object_store::Error> for BlobError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { path, .. } => Self::NotFound(path),
            other => Self::Store(other),
        }
    }
}

/// An object found in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    /// Its key.
    pub key: String,
    /// Last change, in milliseconds since the Unix epoch.
    pub modified_at: i64,
}

/// A stream of an object's bytes.
pub type BlobStream = BoxStream<'static, Result<Bytes, BlobError>>;

/// The object store holding every file's bytes.
#[derive(Clone)]
pub struct BlobStore {
    /// The backend, rooted at the URL's key prefix; local disk unless configured otherwise.
    store: Arc<dyn ObjectStore>,
    /// When objects are uploaded in parts.
    multipart: MultipartSettings,
    /// Incremented once per failed call (see [`BlobStore::open`]).
    failures: IntCounter,
}

impl BlobStore {
    /// Opens the store named by `settings.url` (empty for the local directory
    /// `settings.default_dir`). Nothing is sent to a cloud store yet: a wrong bucket or
    /// credentials show on the first call.
    ///
    /// Every call that fails adds one to `failures`, once: a failed `put` or `list`, a
    /// `read` or a `stream` that fails to open or fails midway. Reads and streams ask only for
    /// keys the catalog references (dropped keys are kept a release delay for readers that
    /// already looked them up), so a missing object there is a lost blob: it is counted. A
    /// missing object is no failure of `delete`, which then succeeds: the object is gone
    /// either way.
    pub fn open(settings: &Settings, failures: IntCounter) -> Result<Self, BlobError> {
        Ok(Self {
            store: open::backend(settings)?,
            multipart: settings.multipart,
            failures,
        })
    }

    /// The local directory `url` names (empty: `default_dir`; `file:///path`), or `None` when
    /// it names no local directory.
    pub fn local_dir(url: &str, default_dir: &Path) -> Option<PathBuf> {
        match url::parse(url, default_dir) {
            Ok(url::Backend::Local(dir)) => Some(dir),
            _ => None,
        }
    }

    /// Counts `r` if it failed, and passes it on.
    fn count<T>(&self, r: Result<T, BlobError>) -> Result<T, BlobError> {
        if r.is_err() {
            self.failures.inc();
        }
        r
    }

    /// A fresh, never-used key for a new version of a file of `container`.
    pub fn new_key(container: &str) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        format!("{container}/{}/{id}", &id[..2])
    }

    /// Stores `bytes` under `key`, atomically: in one request, or in parts above the
    /// multipart threshold (aborted if any part fails).
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        let location = ObjectPath::from(key);
        let put = if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > self.multipart.threshold {
            multipart::put(
                self.store.as_ref(),
                &location,
                bytes,
                self.multipart.part_size,
            )
            .await
        } else {
            self.store
                .put(&location, PutPayload::from_bytes(bytes))
                .await
                .map(drop)
        };
        self.count(put.map_err(BlobError::from))
    }

    /// Streams an object, or the byte range of it.
    pub async fn stream(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<BlobStream, BlobError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let opened = self.store.get_opts(&ObjectPath::from(key), options).await;
        let result = self.count(opened.map_err(BlobError::from))?;
        let failures = self.failures.clone();
        Ok(result
            .into_stream()
            .map(move |r| {
                r.map_err(|e| {
                    failures.inc();
                    BlobError::from(e)
                })
            })
            .boxed())
    }

    /// Reads a whole object into memory.
    pub async fn read(&self, key: &str) -> Result<Bytes, BlobError> {
        let read = async {
            let result = self.store.get(&ObjectPath::from(key)).await?;
            result.bytes().await
        };
        self.count(read.await.map_err(BlobError::from))
    }

    /// Every object of the store with its last change, in milliseconds since the epoch.
    pub async fn list(&self) -> Result<Vec<StoredBlob>, BlobError> {
        let listed = async {
            let mut listing = self.store.list(None);
            let mut blobs = Vec::new();
            while let Some(meta) = listing.next().await {
                let meta = meta?;
                blobs.push(StoredBlob {
                    key: meta.location.to_string(),
                    modified_at: meta.last_modified.timestamp_millis(),
                });
            }
            Ok::<_, BlobError>(blobs)
        };
        self.count(listed.await)
    }

    /// Whether an object is stored under `key`.
    pub async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        match self.store.head(&ObjectPath::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => self.count(Err(e.into())),
        }
    }

    /// Stores the bytes of `source` under `key`, atomically, and returns how many there were.
    /// At most about three `part_bytes` of them are held at once: an object shorter than
    /// `part_bytes` is one put; a longer one is a multipart upload of `part_bytes` parts, two
    /// in flight at a time. A failure of `source` is not counted here (its own store counts
    /// it); the upload is then abandoned and nothing is stored.
    pub async fn put_stream(
        &self,
        key: &str,
        mut source: BoxStream<'_, Result<Bytes, BlobError>>,
        part_bytes: usize,
    ) -> Result<u64, BlobError> {
        let path = ObjectPath::from(key);
        let mut first = Vec::new();
        let mut held = 0usize;
        while held < part_bytes {
            let Some(chunk) = source.next().await else {
                let put = self.store.put(&path, first.into_iter().collect()).await;
                return self.count(put.map(|_| held as u64).map_err(BlobError::from));
            };
            let chunk = chunk?;
            held += chunk.len();
            first.push(chunk);
        }
        let upload = self.store.put_multipart(&path).await;
        let mut writer = WriteMultipart::new_with_chunk_size(
            self.count(upload.map_err(BlobError::from))?,
            part_bytes,
        );
        let mut total = 0u64;
        for chunk in first {
            total += chunk.len() as u64;
            writer.put(chunk);
        }
        while let Some(chunk) = source.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    abandon(writer).await;
                    return Err(e);
                }
            };
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                abandon(writer).await;
                return self.count(Err(e.into()));
            }
            total += chunk.len() as u64;
            writer.put(chunk);
        }
        let finished = writer.finish().await;
        self.count(finished.map(|_| total).map_err(BlobError::from))
    }

    /// Deletes an object; a missing object is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => self.count(Err(e.into())),
        }
    }
}

/// Parts of one multipart upload in flight at a time.
const PARTS_IN_FLIGHT: usize = 2;

/// The most bytes [`BlobStore::put_stream`] holds at once with parts of `part_bytes`: the
/// parts in flight and the one being filled, which may overrun by one frame of the source.
pub fn put_stream_memory(part_bytes: u64) -> u64 {
    part_bytes
        .saturating_mul(PARTS_IN_FLIGHT as u64 + 1)
        .saturating_add(STREAM_FRAME_BYTES)
}

/// Allowance for the one frame of a source stream that may overrun a part: larger than the
/// frames hyper and the object stores produce.
const STREAM_FRAME_BYTES: u64 = 1024 * 1024;

/// Gives up a multipart upload after a failure: its parts are deleted as far as the store
/// allows (a store that cannot is cleaned by its own expiry of unfinished uploads).
async fn abandon(writer: WriteMultipart) {
    if let Err(e) = writer.abort().await {
        tracing::warn!(error = %e, "could not abort an unfinished upload");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;
    use std::path::Path;
    use std::time::Duration;

    fn counter() -> IntCounter {
        IntCounter::new("failures", "test").expect("counter")
    }

    /// The local store in `dir`, uploading objects over `threshold` bytes in 4 KiB parts.
    fn local(url: &str, dir: &Path, threshold: u64) -> Settings {
        Settings {
            url: url.to_owned(),
            default_dir: dir.to_owned(),
            s3: S3Settings::default(),
            client: ClientSettings {
                connect_timeout: Duration::from_secs(5),
                request_timeout: Duration::from_secs(30),
                max_retries: 0,
                retry_timeout: Duration::from_secs(1),
            },
            multipart: MultipartSettings {
                threshold,
                part_size: 4096,
            },
        }
    }

    #[tokio::test]
    async fn put_read_range_delete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::open(&local("", dir.path(), 1 << 20), counter()).expect("open");
        let key = BlobStore::new_key("abcdefgh");
        assert_ne!(key, BlobStore::new_key("abcdefgh"));
        store
            .put(&key, Bytes::from_static(b"0123456789"))
            .await
            .expect("put");
        assert_eq!(store.read(&key).await.expect("read"), &b"0123456789"[..]);
        let part: Vec<Bytes> = store
            .stream(&key, Some(2..5))
            .await
            .expect("stream")
            .try_collect()
            .await
            .expect("collect");
        assert_eq!(part.concat(), b"234");
        store.delete(&key).await.expect("delete");
        assert!(matches!(
            store.read(&key).await,
            Err(BlobError::NotFound(_))
        ));
        store.delete(&key).await.expect("deleting twice is fine");
        let refused = BlobStore::open(&local("ftp://x", dir.path(), 1), counter()).map(drop);
        assert!(
            matches!(refused, Err(BlobError::UnsupportedUrl { .. })),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn a_file_url_names_the_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = dir.path().join("elsewhere");
        let url = format!("file://{}", blobs.display());
        let store = BlobStore::open(&local(&url, dir.path(), 1 << 20), counter()).expect("open");
        store
            .put("c/ab/key", Bytes::from_static(b"bytes"))
            .await
            .expect("put");
        assert_eq!(
            std::fs::read(blobs.join("c/ab/key")).expect("stored there"),
            b"bytes"
        );
    }

    #[tokio::test]
    async fn objects_above_the_threshold_go_up_in_parts_and_read_back_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let failures = counter();
        let store = BlobStore::open(&local("", dir.path(), 5000), failures.clone()).expect("open");
        let bytes: Bytes = (0..=255u8).cycle().take(10_000).collect::<Vec<u8>>().into();
        store.put("c/ab/big", bytes.clone()).await.expect("put");
        assert_eq!(store.read("c/ab/big").await.expect("read"), bytes);
        let keys: Vec<String> = store
            .list()
            .await
            .expect("list")
            .into_iter()
            .map(|b| b.key)
            .collect();
        assert_eq!(keys, ["c/ab/big"], "no staging file is left");
        // A file where the key's directory must be: the upload cannot even start.
        std::fs::write(dir.path().join("blocked"), b"not a directory").expect("blocker");
        let put = store.put("blocked/00/big", bytes).await;
        assert!(matches!(put, Err(BlobError::Store(_))), "{put:?}");
        assert_eq!(failures.get(), 1, "a failed multipart put counts once");
    }

    #[tokio::test]
    async fn each_failed_call_is_counted_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let failures = counter();
        let store =
            BlobStore::open(&local("", dir.path(), 1 << 20), failures.clone()).expect("open");
        let key = BlobStore::new_key("abcdefgh");
        store
            .put(&key, Bytes::from_static(b"bytes"))
            .await
            .expect("put");
        assert_eq!(store.read(&key).await.expect("read"), &b"bytes"[..]);
        store.delete(&key).await.expect("delete");
        store
            .delete(&key)
            .await
            .expect("deleting a missing object is fine");
        assert_eq!(failures.get(), 0, "no call failed");
        let missing = store.read(&key).await;
        assert!(
            matches!(missing, Err(BlobError::NotFound(_))),
            "{missing:?}"
        );
        assert_eq!(failures.get(), 1, "a referenced blob that is gone is lost");
        // A file where the key's directory must be: the directory cannot be written.
        std::fs::write(dir.path().join("blocked"), b"not a directory").expect("blocker");
        let put = store
            .put("blocked/00/key", Bytes::from_static(b"bytes"))
            .await;
        assert!(matches!(put, Err(BlobError::Store(_))), "{put:?}");
        assert_eq!(failures.get(), 2);
        let lost = store.stream(&key, None).await;
        assert!(matches!(lost, Err(BlobError::NotFound(_))));
        assert_eq!(failures.get(), 3);
    }

    /// A stream of `pieces`, then `failure` if given.
    fn pieces(pieces: &[&'static [u8]], failure: Option<BlobError>) -> BlobStream {
        let mut items: Vec<Result<Bytes, BlobError>> =
            pieces.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        items.extend(failure.map(Err));
        futures_util::stream::iter(items).boxed()
    }

    #[tokio::test]
    async fn streams_are_stored_whole_in_one_put_or_in_parts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let failures = counter();
        let store =
            BlobStore::open(&local("", dir.path(), 1 << 20), failures.clone()).expect("open");
        let parts: &[&'static [u8]] = &[b"012", b"3456", b"789", b"abcdefgh"];
        for part_bytes in [4, 5, 1000] {
            let key = BlobStore::new_key("abcdefgh");
            assert!(!store.exists(&key).await.expect("head"));
            let n = store
                .put_stream(&key, pieces(parts, None), part_bytes)
                .await
                .expect("put stream");
            assert_eq!(n, 18, "part size {part_bytes}");
            assert_eq!(
                store.read(&key).await.expect("read"),
                &b"0123456789abcdefgh"[..],
                "part size {part_bytes}"
            );
            assert!(store.exists(&key).await.expect("head"));
        }
        let empty = BlobStore::new_key("abcdefgh");
        let n = store
            .put_stream(&empty, pieces(&[], None), 4)
            .await
            .expect("empty");
        assert_eq!(n, 0);
        assert!(store.read(&empty).await.expect("read").is_empty());
        assert_eq!(failures.get(), 0);
    }

    #[tokio::test]
    async fn a_source_that_fails_stores_nothing_and_is_not_counted_here() {
        let dir = tempfile::tempdir().expect("tempdir");
        let failures = counter();
        let store =
            BlobStore::open(&local("", dir.path(), 1 << 20), failures.clone()).expect("open");
        for part_bytes in [2, 1000] {
            let key = BlobStore::new_key("abcdefgh");
            let broken = pieces(
                &[b"012", b"345", b"678"],
                Some(BlobError::NotFound("source gone".into())),
            );
            let put = store.put_stream(&key, broken, part_bytes).await;
            assert!(
                matches!(&put, Err(BlobError::NotFound(m)) if m == "source gone"),
                "{put:?}"
            );
            assert!(
                !store.exists(&key).await.expect("head"),
                "nothing stored (part size {part_bytes})"
            );
        }
        assert_eq!(failures.get(), 0, "the source counts its own failures");
    }

    #[test]
    fn local_writes_are_fsynced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::open(&local("", dir.path(), 1 << 20), counter()).expect("open");
        let described = format!("{:?}", store.store);
        assert!(described.contains("fsync: true"), "{described}");
    }
}
