//! Prometheus metrics, all prefixed `pictor_`, rendered in the text format at `/metrics`.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The process's metrics.
#[derive(Clone)]
pub struct Metrics {
    /// Registry that `/metrics` renders.
    registry: Registry,
    /// Requests by route class (`delivery`, `api`, `metrics`, `health`) and result
    /// (HTTP status for delivery, `resultCode` for the API).
    pub requests: IntCounterVec,
    /// Request latency by route class.
    pub latency: HistogramVec,
    /// Request body bytes read.
    pub bytes_in: IntCounter,
    /// Response body bytes announced.
    pub bytes_out: IntCounter,
    /// Catalog failures.
    pub catalog_errors: IntCounter,
    /// Blob store failures.
    pub blob_errors: IntCounter,
    /// Tasks finished, by queue type and final status.
    pub tasks: IntCounterVec,
    /// Result-cache lookups by tier (`l1` memory, `l2` stored file) and outcome (`hit`, `miss`).
    pub cache: IntCounterVec,
    /// Render time by template of the operation's first job.
    pub render_seconds: HistogramVec,
    /// Renders waiting for a worker of the pool.
    pub render_queue: IntGauge,
    /// Renders refused because the pool was full.
    pub render_overload: IntCounter,
    /// Callbacks that failed every attempt.
    pub callback_failures: IntCounter,
    /// Bytes of request bodies that API calls hold in memory, read at each scrape.
    pub body_memory: IntGauge,
    /// API calls refused because request bodies held all of `limits.request_memory_bytes`.
    pub body_memory_refusals: IntCounter,
    /// Tasks not finished, by status (`W`, `P`), read from the catalog at each scrape.
    pub tasks_pending: IntGaugeVec,
    /// Children of the vectors above for the delivery hot path, resolved once so a cache hit
    /// neither hashes labels nor formats a status code.
    pub hot: HotCounters,
}

/// Pre-resolved counters of the delivery hot path.
#[derive(Clone)]
pub struct HotCounters {
    /// `pictor_http_requests_total{route="delivery",result="200"}`.
    pub delivery_ok: IntCounter,
    /// `pictor_http_requests_total{route="delivery",result="304"}`.
    pub delivery_not_modified: IntCounter,
    /// `pictor_http_request_duration_seconds{route="delivery"}`.
    pub delivery_latency: Histogram,
    /// `pictor_cache_requests_total{tier="l1",result="hit"}`.
    pub l1_hit: IntCounter,
    /// `pictor_cache_requests_total{tier="l1",result="miss"}`.
    pub l1_miss: IntCounter,
    /// `pictor_cache_requests_total{tier="l2",result="hit"}`.
    pub l2_hit: IntCounter,
    /// `pictor_cache_requests_total{tier="l2",result="miss"}`.
    pub l2_miss: IntCounter,
}

impl Metrics {
    /// Creates and registers every metric; the task and render series of the given task types
    /// and templates exist from the start, at zero.
    pub fn new(task_types: &[&str], templates: &[&str]) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "pictor_http_requests_total",
                "HTTP requests by route class and result",
            ),
            &["route", "result"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "pictor_http_request_duration_seconds",
                "HTTP request latency by route class",
            )
            .buckets(vec![
                0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["route"],
        )?;
        let bytes_in = IntCounter::new(
            "pictor_http_bytes_received_total",
            "Request body bytes received",
        )?;
        let bytes_out =
            IntCounter::new("pictor_http_bytes_sent_total", "Response body bytes sent")?;
        let catalog_errors =
            IntCounter::new("pictor_catalog_errors_total", "Catalog backend failures")?;
        let blob_errors = IntCounter::new("pictor_blob_errors_total", "Blob store failures")?;
        let tasks = IntCounterVec::new(
            Opts::new(
                "pictor_tasks_total",
                "Tasks finished by type and final status",
            ),
            &["queue_type", "status"],
        )?;
        let cache = IntCounterVec::new(
            Opts::new(
                "pictor_cache_requests_total",
                "Result-cache lookups by tier and outcome",
            ),
            &["tier", "result"],
        )?;
        let render_seconds = HistogramVec::new(
            HistogramOpts::new("pictor_render_seconds", "Render time by template").buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
            ]),
            &["template"],
        )?;
        let render_queue =
            IntGauge::new("pictor_render_queue_depth", "Renders waiting for a worker")?;
        let render_overload = IntCounter::new(
            "pictor_render_overload_total",
            "Renders refused because the pool was full",
        )?;
        let callback_failures = IntCounter::new(
            "pictor_callback_failures_total",
            "Callbacks that failed every attempt",
        )?;
        let body_memory = IntGauge::new(
            "pictor_request_body_memory_bytes",
            "Bytes of request bodies that API calls hold in memory",
        )?;
        let body_memory_refusals = IntCounter::new(
            "pictor_request_body_memory_refusals_total",
            "API calls refused because request bodies held all the memory allowed",
        )?;
        let tasks_pending = IntGaugeVec::new(
            Opts::new(
                "pictor_tasks_pending",
                "Tasks waiting (W) or in progress (P), over every app",
            ),
            &["status"],
        )?;
        registry.register(Box::new(tasks_pending.clone()))?;
        registry.register(Box::new(cache.clone()))?;
        registry.register(Box::new(render_seconds.clone()))?;
        registry.register(Box::new(render_queue.clone()))?;
        registry.register(Box::new(render_overload.clone()))?;
        registry.register(Box::new(callback_failures.clone()))?;
        registry.register(Box::new(body_memory.clone()))?;
        registry.register(Box::new(body_memory_refusals.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(bytes_in.clone()))?;
        registry.register(Box::new(bytes_out.clone()))?;
        registry.register(Box::new(catalog_errors.clone()))?;
        registry.register(Box::new(blob_errors.clone()))?;
        registry.register(Box::new(tasks.clone()))?;
        // Task and render series exist from the start, at zero: a rate or an alert on them
        // reads 0 rather than no data.
        for queue_type in task_types {
            for status in ["D", "F"] {
                tasks.with_label_values(&[queue_type, status]);
            }
        }
        for template in templates {
            render_seconds.with_label_values(&[template]);
        }
        let hot = HotCounters {
            delivery_ok: requests.with_label_values(&["delivery", "200"]),
            delivery_not_modified: requests.with_label_values(&["delivery", "304"]),
            delivery_latency: latency.with_label_values(&["delivery"]),
            l1_hit: cache.with_label_values(&["l1", "hit"]),
            l1_miss: cache.with_label_values(&["l1", "miss"]),
            l2_hit: cache.with_label_values(&["l2", "hit"]),
            l2_miss: cache.with_label_values(&["l2", "miss"]),
        };
        Ok(Self {
            registry,
            requests,
            latency,
            bytes_in,
            bytes_out,
            catalog_errors,
            blob_errors,
            tasks,
            cache,
            render_seconds,
            render_queue,
            render_overload,
            callback_failures,
            body_memory,
            body_memory_refusals,
            tasks_pending,
            hot,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .is_err()
        {
            out.clear();
        }
        out
    }
}
