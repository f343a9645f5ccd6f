//! Operations endpoints: `/metrics` (Prometheus text), `/healthz` (the process answers) and
//! `/readyz` (the catalog answers).

use super::body::{self, Body};
use super::state::State;
use crate::context::Context;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};

/// `/metrics`, with the pending-task gauges read from the catalog and the request body
/// memory held read first.
pub async fn metrics(ctx: &State) -> Response<Body> {
    ctx.metrics
        .body_memory
        .set(i64::try_from(ctx.body_memory.held_bytes()).unwrap_or(i64::MAX));
    match ctx.catalog.pending_tasks().await {
        Ok((waiting, in_progress)) => {
            let gauge = &ctx.metrics.tasks_pending;
            gauge
                .with_label_values(&["W"])
                .set(i64::try_from(waiting).unwrap_or(i64::MAX));
            gauge
                .with_label_values(&["P"])
                .set(i64::try_from(in_progress).unwrap_or(i64::MAX));
        }
        Err(e) => tracing::error!(error = %e, "could not count the pending tasks"),
    }
    let mut resp = Response::new(body::full(ctx.metrics.render()));
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// `/healthz` and `/readyz`.
pub async fn health(ctx: &Context, path: &str) -> Response<Body> {
    if path == "/readyz" && ctx.catalog.app("").await.is_err() {
        return super::delivery::plain(StatusCode::SERVICE_UNAVAILABLE, "catalog unavailable\n");
    }
    super::delivery::plain(StatusCode::OK, "ok\n")
}
