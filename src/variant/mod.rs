//! Variants: the results of an operation over an uploaded file, as delivery and the task queue
//! see them. [`Variants`] holds the machinery: the bounded render pool, the L1 memory cache and
//! the single flights that make concurrent misses render once. `resolve` answers
//! `?<operationId>` (L1 -> stored `P` file -> render), `refresh` renders a stale stored `P` file
//! again, and `produce` renders an operation and stores its outputs for both.

pub mod cache;
pub mod key;
pub mod pool;
pub mod produce;
pub mod refresh;
pub mod resolve;
pub mod singleflight;
pub mod sources;

use crate::catalog::{ChangeFeed, FeedEvent, FileRecord};
use crate::context::Context;
use cache::{Variant, L1};
use pool::RenderPool;
use produce::ProduceError;
use singleflight::SingleFlight;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The variant service: the shared resources plus the render pool, the result cache and the
/// single flights. It dereferences to its [`Context`].
pub struct Variants {
    /// The shared resources.
    pub ctx: Arc<Context>,
    /// The bounded CPU pool every render runs on.
    pub pool: RenderPool,
    /// Rendered variants in memory.
    pub l1: L1,
    /// Renders in flight, by variant, so concurrent misses compute once.
    pub flight: SingleFlight<String, Result<Arc<Variant>, ProduceError>>,
    /// Renders again of stale produced files in flight, by (source, operation, stamp).
    pub refresh: SingleFlight<String, Result<Vec<FileRecord>, ProduceError>>,
    /// Source bytes in memory, by blob key.
    pub sources: sources::Sources,
    /// This process's name in render claims (see [`crate::catalog::Catalog::claim_render`]).
    pub node: String,
    /// Places for renders that look for, or wait on, another node's result
    /// (`render.claim_waits`): a wait holds one of these, not a place in the pool, so waits on
    /// other nodes never keep this node from rendering, and the renders in flight stay bounded.
    pub claim_waits: Arc<Semaphore>,
}

impl Variants {
    /// Builds the pool and the cache from the context's `[render]` configuration.
    pub fn new(ctx: Arc<Context>) -> Self {
        let config = &ctx.config.render;
        Self {
            pool: RenderPool::new(
                config.effective_workers(),
                config.queue,
                ctx.metrics.render_queue.clone(),
                config.nice,
            ),
            l1: L1::new(
                config.l1_max_bytes,
                Duration::from_secs(config.l1_ttl_secs.max(1)),
            ),
            sources: sources::Sources::new(config.source_cache_bytes),
            flight: SingleFlight::default(),
            refresh: SingleFlight::default(),
            node: uuid::Uuid::new_v4().simple().to_string(),
            claim_waits: Arc::new(Semaphore::new(config.claim_waits)),
            ctx,
        }
    }
}

impl Deref for Variants {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.ctx
    }
}

/// Applies the changes other nodes commit to this node's L1 until `shutdown` turns true: each
/// change drops what it names, a gap in the feed drops everything. Subscribe before serving
/// (the L1 is empty then), so no change committed while this node serves is missed.
pub async fn follow_changes(
    variants: Arc<Variants>,
    mut feed: ChangeFeed,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            event = feed.recv() => match event {
                Some(FeedEvent::Change(change)) => variants.l1.apply(&change),
                Some(FeedEvent::Gap) => variants.l1.invalidate_all(),
                None => {
                    tracing::error!("the change feed ended: variants cached here expire only by their TTL");
                    variants.l1.invalidate_all();
                    return;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}
