//! Rendering operation results: the bounded CPU pool, miss coalescing and the L1 cache.

pub mod cache;
pub mod pool;
pub mod singleflight;
