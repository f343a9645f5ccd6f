//! The HTTP front doors: one hyper server routes `/image/v2.0/appkeys/...` to the management
//! API, `/metrics`, `/healthz` and `/readyz` to operations endpoints, and everything else to
//! delivery. Only this module knows about HTTP.

pub mod api;
pub mod body;
pub mod conditional;
pub mod connection;
pub mod delivery;
pub mod ops;
pub mod state;
pub mod timed_io;

use body::Body;
use http::StatusCode;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
pub use state::State;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use timed_io::{InFlight, TimedIo};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Prefix of every management API path.
pub const API_PREFIX: &str = "/image/v2.0/appkeys/";

/// The class of a route, the `route` label of request metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    /// Delivery of files.
    Delivery,
    /// Management API.
    Api,
    /// `/metrics`.
    Metrics,
    /// `/healthz`, `/readyz`.
    Health,
}

impl RouteClass {
    fn of(path: &str) -> Self {
        if path.starts_with(API_PREFIX) {
            Self::Api
        } else if path == "/metrics" {
            Self::Metrics
        } else if path == "/healthz" || path == "/readyz" {
            Self::Health
        } else {
            Self::Delivery
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Delivery => "delivery",
            Self::Api => "api",
            Self::Metrics => "metrics",
            Self::Health => "health",
        }
    }
}

/// Which listener a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// The main listener; `metrics` tells whether it serves `/metrics`.
    Main {
        /// `/metrics` is served here (no separate metrics listener).
        metrics: bool,
    },
    /// The separate metrics listener: `/metrics`, `/healthz` and `/readyz` only.
    Metrics,
}

impl Door {
    fn serves(self, class: RouteClass) -> bool {
        match (self, class) {
            (Self::Main { metrics }, RouteClass::Metrics) => metrics,
            (Self::Main { .. }, _) => true,
            (Self::Metrics, class) => matches!(class, RouteClass::Metrics | RouteClass::Health),
        }
    }
}

/// The outcome label of a request, set by handlers that know better than the HTTP status
/// (the API answers 200 with a `resultCode`).
#[derive(Debug, Clone, Copy)]
pub struct ResultLabel(pub i32);

/// Routes one request and records its metrics.
pub async fn handle(ctx: Arc<State>, door: Door, req: Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let class = RouteClass::of(req.uri().path());
    let resp = match class {
        _ if !door.serves(class) => delivery::plain(StatusCode::NOT_FOUND, "not found\n"),
        RouteClass::Api => api::handle(&ctx, req).await,
        RouteClass::Metrics => ops::metrics(&ctx).await,
        RouteClass::Health => ops::health(&ctx, req.uri().path()).await,
        RouteClass::Delivery => delivery::handle(&ctx, &req).await,
    };
    let elapsed = started.elapsed().as_secs_f64();
    let hot = &ctx.metrics.hot;
    let code = match resp.extensions().get::<ResultLabel>() {
        Some(ResultLabel(code)) => i64::from(*code),
        None => i64::from(resp.status().as_u16()),
    };
    match (class, code) {
        (RouteClass::Delivery, 200) => hot.delivery_ok.inc(),
        (RouteClass::Delivery, 304) => hot.delivery_not_modified.inc(),
        _ => {
            let mut buf = [0u8; 20];
            ctx.metrics
                .requests
                .with_label_values(&[class.label(), decimal(code, &mut buf)])
                .inc();
        }
    }
    if matches!(class, RouteClass::Delivery) {
        hot.delivery_latency.observe(elapsed);
    } else {
        ctx.metrics
            .latency
            .with_label_values(&[class.label()])
            .observe(elapsed);
    }
    resp
}

/// Writes `n` in decimal into `buf` without allocating.
fn decimal(n: i64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// Serves connections from `listener` until `shutdown` resolves, then stops accepting and
/// waits up to `server.shutdown_grace_secs` for in-flight requests to finish.
///
/// At most `server.max_connections` connections are open at once: when that many are, the
/// loop stops accepting (new connections wait in the kernel's backlog) until one closes.
/// Closing the oldest idle connection instead would let a flood of new sockets evict real
/// clients; the read, write and header timeouts already bound how long a stalled connection
/// holds its place.
pub async fn serve(
    ctx: Arc<State>,
    listener: TcpListener,
    door: Door,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let cfg = &ctx.config.server;
    let graceful = GracefulShutdown::new();
    let builder = connection::builder(cfg);
    let (read_rule, write_rule) = (
        connection::read_progress(cfg),
        connection::write_progress(cfg),
    );
    let slots = Arc::new(Semaphore::new(cfg.max_connections));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let in_flight = Arc::new(InFlight::default());
                let io = TimedIo::new(stream, read_rule, write_rule, Arc::clone(&in_flight));
                let ctx = Arc::clone(&ctx);
                let service = service_fn(move |req| {
                    let ctx = Arc::clone(&ctx);
                    let guard = in_flight.enter();
                    async move {
                        let resp = handle(ctx, door, req).await;
                        drop(guard);
                        Ok::<_, Infallible>(resp)
                    }
                });
                let conn = builder.serve_connection(TokioIo::new(io), service).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    drop(slot);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let grace = Duration::from_secs(cfg.shutdown_grace_secs);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown grace period over; closing remaining connections");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimal_writes_any_code() {
        let mut buf = [0u8; 20];
        assert_eq!(super::decimal(0, &mut buf), "0");
        assert_eq!(super::decimal(200, &mut buf), "200");
        assert_eq!(super::decimal(-1, &mut buf), "-1");
        assert_eq!(super::decimal(40003, &mut buf), "40003");
        assert_eq!(
            super::decimal(i64::MIN, &mut buf),
            i64::MIN.to_string().as_str()
        );
    }
}
