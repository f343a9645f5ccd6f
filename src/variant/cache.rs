//! The in-memory tier (L1) of rendered variants: a moka cache weighted by bytes, keyed by a
//! hash of the request's raw path and query so that a hit costs no allocation. Entries are
//! dropped when their source, their operation or their app's settings change: at once for a
//! change made on this node, through the catalog's change feed for one made on another node
//! (see [`crate::variant::follow_changes`]); they also expire after a TTL, which bounds how
//! long a missed change could go unseen.

use crate::catalog::Change;
use bytes::Bytes;
use moka::future::Cache;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A rendered variant ready to be served.
#[derive(Debug)]
pub struct Variant {
    /// The raw `path?query` it answers, to rule out hash collisions.
    pub request: Box<str>,
    /// Owning app.
    pub app_key: String,
    /// Catalog path of the source file.
    pub source_path: String,
    /// Operation that made it.
    pub operation_id: String,
    /// Catalog paths of the watermark images it contains.
    pub watermarks: Vec<String>,
    /// Encoded image.
    pub body: Bytes,
    /// Media type.
    pub content_type: &'static str,
    /// `ETag` (quoted), derived from the source's and the operation's versions
    /// ([`super::key::etag`]), kept as shared bytes so a hit copies nothing.
    pub etag: Bytes,
    /// `Last-Modified` as an HTTP date.
    pub last_modified: Bytes,
    /// Last-Modified as a time, for `If-Modified-Since`.
    pub modified: SystemTime,
}

impl Variant {
    /// Whether this variant answers the raw `path` and `query`.
    pub fn answers(&self, path: &str, query: &str) -> bool {
        let r = self.request.as_bytes();
        r.len() == path.len() + 1 + query.len()
            && r.starts_with(path.as_bytes())
            && r[path.len()] == b'?'
            && r.ends_with(query.as_bytes())
    }
}

/// The L1 cache.
#[derive(Clone)]
pub struct L1 {
    /// Variants by request hash.
    cache: Cache<u64, Arc<Variant>>,
    /// Bumped by every invalidation, so a render that started before one is not cached.
    generation: Arc<AtomicU64>,
}

impl L1 {
    /// A cache holding at most `max_bytes` of variants, each for at most `ttl`.
    pub fn new(max_bytes: u64, ttl: Duration) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_, v: &Arc<Variant>| {
                u32::try_from(v.body.len() + v.request.len() + 256).unwrap_or(u32::MAX)
            })
            .time_to_live(ttl)
            .support_invalidation_closures()
            .build();
        Self {
            cache,
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The cached variant for a raw path and query.
    pub async fn get(&self, key: u64, path: &str, query: &str) -> Option<Arc<Variant>> {
        self.cache
            .get(&key)
            .await
            .filter(|v| v.answers(path, query))
    }

    /// The invalidation generation; read it before looking up what a variant is made of.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches a variant under `key`, unless an invalidation happened since `generation` was
    /// read (the variant may then be made of replaced parts).
    pub async fn insert(&self, key: u64, variant: Arc<Variant>, generation: u64) {
        if self.generation() != generation {
            return;
        }
        self.cache.insert(key, variant).await;
        if self.generation() != generation {
            self.cache.invalidate(&key).await;
        }
    }

    /// Drops every variant made from one file, as source or as watermark.
    pub fn invalidate_source(&self, app_key: &str, source_path: &str) {
        let (app, path) = (app_key.to_owned(), source_path.to_owned());
        self.invalidate(move |v| {
            v.app_key == app && (v.source_path == path || v.watermarks.contains(&path))
        });
    }

    /// Drops every variant of files below a folder, and every variant holding a watermark
    /// from below it (the folder was deleted or moved).
    pub fn invalidate_below(&self, app_key: &str, folder: &str) {
        let app = app_key.to_owned();
        let prefix = if folder == "/" {
            "/".to_owned()
        } else {
            format!("{folder}/")
        };
        self.invalidate(move |v| {
            v.app_key == app
                && (v.source_path.starts_with(&prefix)
                    || v.watermarks.iter().any(|w| w.starts_with(&prefix)))
        });
    }

    /// Drops every variant made by one operation.
    pub fn invalidate_operation(&self, app_key: &str, operation_id: &str) {
        let (app, op) = (app_key.to_owned(), operation_id.to_owned());
        self.invalidate(move |v| v.app_key == app && v.operation_id == op);
    }

    /// Drops every variant of an app.
    pub fn invalidate_app(&self, app_key: &str) {
        let app = app_key.to_owned();
        self.invalidate(move |v| v.app_key == app);
    }

    /// Drops what a change makes stale.
    pub fn apply(&self, change: &Change) {
        match change {
            Change::Source { app_key, path } => self.invalidate_source(app_key, path),
            Change::Below { app_key, folder } => self.invalidate_below(app_key, folder),
            Change::Operation {
                app_key,
                operation_id,
            } => self.invalidate_operation(app_key, operation_id),
            Change::App { app_key } => self.invalidate_app(app_key),
        }
    }

    /// Drops every variant (changes may have been missed).
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.cache.invalidate_all();
    }

    fn invalidate(&self, predicate: impl Fn(&Variant) -> bool + Send + Sync + 'static) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Err(e) = self.cache.invalidate_entries_if(move |_, v| predicate(v)) {
            tracing::warn!(error = %e, "cache invalidation refused; clearing the cache");
            self.cache.invalidate_all();
        }
    }

    /// Entries currently cached (approximate).
    pub fn len(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Whether the cache is empty (approximate).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(request: &str, app: &str, source: &str, op: &str) -> Arc<Variant> {
        Arc::new(Variant {
            request: request.into(),
            app_key: app.into(),
            source_path: source.into(),
            operation_id: op.into(),
            watermarks: vec!["/mark.png".into()],
            body: Bytes::from_static(b"img"),
            content_type: "image/jpeg",
            etag: Bytes::from_static(b"\"e\""),
            last_modified: Bytes::from_static(b"Tue, 24 Nov 2026 12:00:00 GMT"),
            modified: SystemTime::UNIX_EPOCH,
        })
    }

    #[tokio::test]
    async fn hits_verify_the_request_and_invalidation_is_targeted() {
        let l1 = L1::new(1 << 20, Duration::from_secs(60));
        let k1 = crate::variant::key::l1("/c/a.jpg", "small");
        let k2 = crate::variant::key::l1("/c/b.jpg", "small");
        let k3 = crate::variant::key::l1("/c/a.jpg", "big");
        l1.insert(
            k1,
            variant("/c/a.jpg?small", "app", "/a.jpg", "small"),
            l1.generation(),
        )
        .await;
        l1.insert(
            k2,
            variant("/c/b.jpg?small", "app", "/b.jpg", "small"),
            l1.generation(),
        )
        .await;
        l1.insert(
            k3,
            variant("/c/a.jpg?big", "app", "/a.jpg", "big"),
            l1.generation(),
        )
        .await;
        assert!(l1.get(k1, "/c/a.jpg", "small").await.is_some());
        assert!(
            l1.get(k1, "/c/a.jpg", "smalls").await.is_none(),
            "request verified"
        );

        l1.invalidate_operation("app", "big");
        l1.cache.run_pending_tasks().await;
        assert!(l1.get(k3, "/c/a.jpg", "big").await.is_none());
        assert!(l1.get(k1, "/c/a.jpg", "small").await.is_some());

        l1.invalidate_source("app", "/a.jpg");
        l1.cache.run_pending_tasks().await;
        assert!(l1.get(k1, "/c/a.jpg", "small").await.is_none());
        assert!(l1.get(k2, "/c/b.jpg", "small").await.is_some());

        l1.invalidate_source("app", "/mark.png");
        l1.cache.run_pending_tasks().await;
        assert!(
            l1.get(k2, "/c/b.jpg", "small").await.is_none(),
            "watermark change drops it"
        );
        l1.insert(
            k2,
            variant("/c/b.jpg?small", "app", "/b.jpg", "small"),
            l1.generation(),
        )
        .await;

        l1.invalidate_app("app");
        l1.cache.run_pending_tasks().await;
        assert!(l1.get(k2, "/c/b.jpg", "small").await.is_none());
    }

    #[tokio::test]
    async fn a_change_from_the_feed_drops_what_it_names_and_a_gap_drops_all() {
        let l1 = L1::new(1 << 20, Duration::from_secs(60));
        let put = |path: &'static str, app: &'static str, source: &'static str| {
            let l1 = l1.clone();
            async move {
                let (p, q) = path.split_once('?').expect("query");
                let k = crate::variant::key::l1(p, q);
                l1.insert(k, variant(path, app, source, q), l1.generation())
                    .await;
                k
            }
        };
        let a = put("/c/d/a.jpg?t", "app", "/d/a.jpg").await;
        let b = put("/c/e/b.jpg?t", "app", "/e/b.jpg").await;
        let other = put("/o/d/a.jpg?t", "other", "/d/a.jpg").await;
        let before = l1.generation();
        l1.apply(&Change::Below {
            app_key: "app".into(),
            folder: "/d".into(),
        });
        assert!(l1.generation() > before, "renders under way are not cached");
        l1.cache.run_pending_tasks().await;
        assert!(l1.get(a, "/c/d/a.jpg", "t").await.is_none());
        assert!(l1.get(b, "/c/e/b.jpg", "t").await.is_some());
        assert!(
            l1.get(other, "/o/d/a.jpg", "t").await.is_some(),
            "other app kept"
        );
        l1.apply(&Change::Operation {
            app_key: "other".into(),
            operation_id: "t".into(),
        });
        l1.cache.run_pending_tasks().await;
        assert!(l1.get(other, "/o/d/a.jpg", "t").await.is_none());
        assert!(l1.get(b, "/c/e/b.jpg", "t").await.is_some());
        let before = l1.generation();
        l1.invalidate_all();
        assert!(l1.generation() > before);
        l1.cache.run_pending_tasks().await;
        assert!(l1.get(b, "/c/e/b.jpg", "t").await.is_none());
    }

    #[tokio::test]
    async fn a_render_older_than_an_invalidation_is_not_cached() {
        let l1 = L1::new(1 << 20, Duration::from_secs(60));
        let k = crate::variant::key::l1("/c/a.jpg", "small");
        let before = l1.generation();
        l1.invalidate_operation("app", "small");
        l1.insert(
            k,
            variant("/c/a.jpg?small", "app", "/a.jpg", "small"),
            before,
        )
        .await;
        assert!(l1.get(k, "/c/a.jpg", "small").await.is_none());
        l1.insert(
            k,
            variant("/c/a.jpg?small", "app", "/a.jpg", "small"),
            l1.generation(),
        )
        .await;
        assert!(l1.get(k, "/c/a.jpg", "small").await.is_some());
    }
}
