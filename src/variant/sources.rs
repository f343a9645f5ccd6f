//! Source bytes in memory: the originals (and watermark images) renders read, keyed by their
//! blob key. Blob keys are never reused (every version of a file gets a fresh key), so an entry
//! can never be stale and needs no invalidation; an overwritten or deleted original's entry is
//! simply never asked for again and ages out. Concurrent misses for one key read it once.
//! With the bytes in a remote object store this saves a GET per render of a popular original.

use crate::storage::{BlobError, BlobStore};
use bytes::Bytes;
use moka::future::Cache;
use std::sync::Arc;

/// The bounded cache of source bytes.
#[derive(Clone)]
pub struct Sources {
    /// Bytes by blob key; `None` when `render.source_cache_bytes` is 0.
    cache: Option<Cache<String, Bytes>>,
}

impl Sources {
    /// A cache holding at most `max_bytes` of sources (0: no cache, every read goes to the
    /// store).
    pub fn new(max_bytes: u64) -> Self {
        let cache = (max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|k: &String, v: &Bytes| {
                    u32::try_from(v.len() + k.len() + 64).unwrap_or(u32::MAX)
                })
                .build()
        });
        Self { cache }
    }

    /// The bytes of the blob `key`: from memory, else read from `blob` once for every
    /// concurrent caller and kept. A failed read is not kept; its error is shared by the
    /// callers that waited for it.
    pub async fn read(&self, blob: &BlobStore, key: &str) -> Result<Bytes, Arc<BlobError>> {
        let Some(cache) = &self.cache else {
            return blob.read(key).await.map_err(Arc::new);
        };
        cache.try_get_with_by_ref(key, blob.read(key)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{ClientSettings, MultipartSettings, S3Settings, Settings};
    use prometheus::IntCounter;
    use std::time::Duration;

    fn store(dir: &std::path::Path) -> (BlobStore, IntCounter) {
        let failures = IntCounter::new("failures", "test").expect("counter");
        let settings = Settings {
            url: String::new(),
            default_dir: dir.to_owned(),
            s3: S3Settings::default(),
            client: ClientSettings {
                connect_timeout: Duration::from_secs(5),
                request_timeout: Duration::from_secs(30),
                max_retries: 0,
                retry_timeout: Duration::from_secs(1),
            },
            multipart: MultipartSettings {
                threshold: 1 << 20,
                part_size: 1 << 20,
            },
        };
        let blob = BlobStore::open(&settings, failures.clone()).expect("open");
        (blob, failures)
    }

    #[tokio::test]
    async fn a_source_is_read_from_the_store_once_and_a_failure_is_not_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (blob, failures) = store(dir.path());
        let key = BlobStore::new_key("abcdefgh");
        let sources = Sources::new(1 << 20);
        let missing = sources.read(&blob, &key).await;
        assert!(
            matches!(
                missing.as_ref().map_err(|e| e.as_ref()),
                Err(BlobError::NotFound(_))
            ),
            "{missing:?}"
        );
        assert_eq!(failures.get(), 1, "the store counted the lost blob");

        blob.put(&key, Bytes::from_static(b"original"))
            .await
            .expect("put");
        assert_eq!(
            sources.read(&blob, &key).await.expect("read"),
            &b"original"[..]
        );
        blob.delete(&key).await.expect("delete");
        assert_eq!(
            sources.read(&blob, &key).await.expect("from memory"),
            &b"original"[..],
            "a blob key names the same bytes forever, so memory answers"
        );
        assert_eq!(failures.get(), 1, "no further read reached the store");

        let uncached = Sources::new(0);
        assert!(
            uncached.read(&blob, &key).await.is_err(),
            "0: every read goes to the store"
        );
    }
}
