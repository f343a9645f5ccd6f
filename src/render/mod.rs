//! Rendering infrastructure: the bounded CPU pool, miss coalescing and the L1 cache.

pub mod cache;
pub mod pool;
pub mod refresh;
pub mod singleflight;

use crate::catalog::FileRecord;
use crate::config::RenderConfig;
use crate::produce::ProduceError;
use cache::{Variant, L1};
use pool::RenderPool;
use prometheus::IntGauge;
use singleflight::SingleFlight;
use std::sync::Arc;
use std::time::Duration;

/// What the delivery path and the task workers share for rendering.
pub struct Renderer {
    /// The bounded CPU pool every render runs on.
    pub pool: RenderPool,
    /// Rendered variants in memory.
    pub l1: L1,
    /// Renders in flight, by variant, so concurrent misses compute once.
    pub flight: SingleFlight<String, Result<Arc<Variant>, ProduceError>>,
    /// Renders again of stale produced files in flight, by (source, operation, stamp).
    pub refresh: SingleFlight<String, Result<Vec<FileRecord>, ProduceError>>,
}

impl Renderer {
    /// Builds the pool and the cache from the configuration; `queued` reports waiting renders.
    pub fn new(config: &RenderConfig, queued: IntGauge) -> Self {
        Self {
            pool: RenderPool::new(config.effective_workers(), config.queue, queued),
            l1: L1::new(
                config.l1_max_bytes,
                Duration::from_secs(config.l1_ttl_secs.max(1)),
            ),
            flight: SingleFlight::default(),
            refresh: SingleFlight::default(),
        }
    }
}
