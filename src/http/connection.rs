//! How one accepted connection is served: the hyper builder with its header-read timeout and
//! HTTP/2 limits, and the progress rules of [`TimedIo`](super::timed_io::TimedIo).

use super::timed_io::Progress;
use crate::config::ServerConfig;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use std::time::Duration;

/// The connection builder for `cfg`: HTTP/1 with a header-read timeout (which in hyper 1 also
/// bounds the idle wait for the next request on a kept-alive connection), a bounded read
/// buffer (`server.http1_max_head_bytes`: the largest request head, answered 431 beyond, and
/// the most a connection buffers while reading or writing) and half-closed reads
/// (so a connection waiting for a slow render is not read from, and so not judged by the read
/// progress rule), HTTP/2 with bounded streams, header lists and keep-alive pings.
pub fn builder(cfg: &ServerConfig) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(cfg.header_read_timeout_secs))
        .max_buf_size(cfg.http1_max_head_bytes)
        .half_close(true);
    let interval = match cfg.http2_keep_alive_interval_secs {
        0 => None,
        secs => Some(Duration::from_secs(secs)),
    };
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(cfg.http2_max_concurrent_streams)
        .max_header_list_size(cfg.http2_max_header_list_bytes)
        .keep_alive_interval(interval)
        .keep_alive_timeout(Duration::from_secs(cfg.http2_keep_alive_timeout_secs));
    builder
}

/// The progress a client must make while the server waits to read from it.
pub fn read_progress(cfg: &ServerConfig) -> Progress {
    Progress::new(
        Duration::from_secs(cfg.read_timeout_secs),
        cfg.min_read_bytes_per_sec,
    )
}

/// The progress a client must make reading its response while the server waits to write.
pub fn write_progress(cfg: &ServerConfig) -> Progress {
    Progress::new(
        Duration::from_secs(cfg.write_timeout_secs),
        cfg.min_write_bytes_per_sec,
    )
}
