//! `GET`/`HEAD /<container>/<path>`: delivery of stored files with validators, conditional
//! requests and byte ranges.

use super::body::{self, Body};
use super::conditional::{self, RangeRequest};
use crate::catalog::FileRecord;
use crate::context::Context;
use crate::paths;
use crate::realtime::{self, RealtimeError};
use crate::render::cache::Variant;
use crate::render::refresh;
use crate::result_code::ResultCode;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Answers a delivery request.
pub async fn handle<B>(ctx: &Arc<Context>, req: &Request<B>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut resp = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    let raw = req.uri().path();
    let operation_query = req.uri().query().filter(|q| realtime::names_operation(q));
    if let Some(query) = operation_query {
        return realtime(ctx, req, raw, query).await;
    }
    let Ok(decoded) = percent_encoding::percent_decode_str(raw).decode_utf8() else {
        return plain(StatusCode::BAD_REQUEST, "path is not valid UTF-8\n");
    };
    let trimmed = decoded.trim_start_matches('/');
    let Some((container, rest)) = trimmed.split_once('/') else {
        return not_found();
    };
    let path = match paths::normalize(rest, ctx.config.limits.max_path_bytes) {
        Ok(path) => path,
        // No file can have a path over the limit.
        Err(ResultCode::PathLengthLimit) => return not_found(),
        Err(_) => return plain(StatusCode::BAD_REQUEST, "invalid path\n"),
    };
    let app = match ctx.catalog.app_by_container(container).await {
        Ok(Some(app)) => app,
        Ok(None) => return not_found(),
        Err(e) => {
            ctx.metrics.catalog_errors.inc();
            tracing::error!(error = %e, path = %raw, "catalog lookup failed");
            return unavailable();
        }
    };
    let stored = match ctx.catalog.stored_file(&app.app_key, &path).await {
        Ok(Some(stored)) => stored,
        Ok(None) => return not_found(),
        Err(e) => {
            ctx.metrics.catalog_errors.inc();
            tracing::error!(error = %e, path = %raw, "catalog lookup failed");
            return unavailable();
        }
    };
    // A produced file made from older versions is rendered again before its validators are
    // compared, so a conditional or HEAD request sees the current ETag.
    match refresh::current(ctx, &app, stored).await {
        Ok(file) => serve_file(ctx, req, &file).await,
        Err(e) => realtime_error(ctx, raw, &e),
    }
}

/// Serves a file's bytes with its validators, honouring conditional and range headers.
async fn serve_file<B>(ctx: &Context, req: &Request<B>, file: &FileRecord) -> Response<Body> {
    let etag = format!("\"{}\"", file.etag);
    let modified =
        SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(file.updated_at).unwrap_or(0));
    let headers = req.headers();
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());

    let unchanged = match text(header::IF_NONE_MATCH) {
        Some(inm) => conditional::none_match(inm, &etag),
        None => text(header::IF_MODIFIED_SINCE)
            .is_some_and(|ims| conditional::not_modified_since(ims, modified)),
    };
    let mut builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::LAST_MODIFIED, httpdate::fmt_http_date(modified))
        .header(header::CACHE_CONTROL, ctx.cache_control.clone());
    if unchanged {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(body::empty())
            .unwrap_or_else(|_| internal_error());
    }
    builder = builder
        .header(header::CONTENT_TYPE, &file.content_type)
        .header(header::ACCEPT_RANGES, "bytes");

    let len = file.bytes;
    let range_allowed =
        text(header::IF_RANGE).is_none_or(|ir| conditional::if_range_matches(ir, &etag, modified));
    let range = match text(header::RANGE) {
        Some(r) if range_allowed => conditional::parse_range(r, len),
        _ => RangeRequest::Full,
    };
    let (status, span) = match range {
        RangeRequest::Full => (StatusCode::OK, None),
        RangeRequest::Partial(span) => {
            builder = builder.header(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{len}", span.start, span.end - 1),
            );
            (StatusCode::PARTIAL_CONTENT, Some(span))
        }
        RangeRequest::Unsatisfiable => {
            return builder
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                .body(body::empty())
                .unwrap_or_else(|_| internal_error());
        }
    };
    let body_len = span.as_ref().map_or(len, |s| s.end - s.start);
    builder = builder
        .status(status)
        .header(header::CONTENT_LENGTH, body_len);
    if req.method() == Method::HEAD {
        return builder
            .body(body::empty())
            .unwrap_or_else(|_| internal_error());
    }
    match ctx.blob.stream(&file.blob_key, span).await {
        Ok(stream) => {
            ctx.metrics.bytes_out.inc_by(body_len);
            builder
                .body(body::stream(stream))
                .unwrap_or_else(|_| internal_error())
        }
        Err(e) => {
            ctx.metrics.blob_errors.inc();
            tracing::error!(
                error = %e,
                path = %req.uri().path(),
                key = %file.blob_key,
                "blob read failed"
            );
            unavailable()
        }
    }
}

/// Answers `GET /<container>/<path>?<operationId>` from L1, L2 or a render.
async fn realtime<B>(
    ctx: &Arc<Context>,
    req: &Request<B>,
    raw_path: &str,
    query: &str,
) -> Response<Body> {
    let caching = ctx.config.render.result_cache;
    let mut key = 0;
    if caching {
        let (k, hit) = realtime::cached(ctx, raw_path, query).await;
        if let Some(variant) = hit {
            return serve_variant(ctx, req, &variant);
        }
        key = k;
    }
    let generation = ctx.renderer.l1.generation();
    match realtime::variant(ctx, raw_path, query).await {
        Ok(variant) => {
            let resp = serve_variant(ctx, req, &variant);
            if caching {
                ctx.renderer.l1.insert(key, variant, generation).await;
            }
            resp
        }
        Err(e) => realtime_error(ctx, raw_path, &e),
    }
}

/// The status and the generic body of a real-time failure. The reason (which may name
/// catalog, blob or imaging internals) is only logged, never sent to the anonymous client.
fn public_answer(e: &RealtimeError) -> (StatusCode, &'static str) {
    match e {
        RealtimeError::NotFound(_) => (StatusCode::NOT_FOUND, NOT_FOUND),
        RealtimeError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden\n"),
        RealtimeError::Overloaded | RealtimeError::Storage(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
        }
        RealtimeError::Unprocessable(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "image cannot be processed\n",
        ),
    }
}

fn realtime_error(ctx: &Context, raw_path: &str, e: &RealtimeError) -> Response<Body> {
    match e {
        RealtimeError::Storage(_) => {
            tracing::error!(error = %e, path = %raw_path, "real-time render failed");
        }
        RealtimeError::Unprocessable(_) => {
            tracing::warn!(error = %e, path = %raw_path, "real-time render refused");
        }
        _ => tracing::debug!(error = %e, path = %raw_path, "real-time request refused"),
    }
    let (status, text) = public_answer(e);
    let mut resp = plain(status, text);
    let headers = resp.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if matches!(e, RealtimeError::Overloaded) {
        ctx.metrics.render_overload.inc();
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from(ctx.config.render.retry_after_secs),
        );
    }
    resp
}

/// Serves an in-memory variant with its validators, honouring conditional and range headers.
fn serve_variant<B>(ctx: &Context, req: &Request<B>, v: &Variant) -> Response<Body> {
    let headers = req.headers();
    let text = |name: header::HeaderName| headers.get(name).and_then(|h| h.to_str().ok());
    let etag = v.etag.to_str().unwrap_or("");
    let unchanged = match text(header::IF_NONE_MATCH) {
        Some(inm) => conditional::none_match(inm, etag),
        None => text(header::IF_MODIFIED_SINCE)
            .is_some_and(|ims| conditional::not_modified_since(ims, v.modified)),
    };
    let mut resp = Response::new(body::empty());
    let h = resp.headers_mut();
    h.insert(header::ETAG, v.etag.clone());
    h.insert(header::LAST_MODIFIED, v.last_modified.clone());
    h.insert(header::CACHE_CONTROL, ctx.cache_control.clone());
    if unchanged {
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        return resp;
    }
    h.insert(header::CONTENT_TYPE, v.content_type.clone());
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let len = v.body.len() as u64;
    let range_allowed =
        text(header::IF_RANGE).is_none_or(|ir| conditional::if_range_matches(ir, etag, v.modified));
    let range = match text(header::RANGE) {
        Some(r) if range_allowed => conditional::parse_range(r, len),
        _ => RangeRequest::Full,
    };
    let body_bytes = match range {
        RangeRequest::Full => v.body.clone(),
        RangeRequest::Partial(span) => {
            if let Ok(value) =
                HeaderValue::from_str(&format!("bytes {}-{}/{len}", span.start, span.end - 1))
            {
                resp.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
            let (start, end) = (
                usize::try_from(span.start).unwrap_or(0),
                usize::try_from(span.end).unwrap_or(0),
            );
            v.body.slice(start..end)
        }
        RangeRequest::Unsatisfiable => {
            *resp.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{len}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return resp;
        }
    };
    let body_len = body_bytes.len() as u64;
    if req.method() == Method::HEAD {
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
        return resp;
    }
    ctx.metrics.bytes_out.inc_by(body_len);
    *resp.body_mut() = body::full(body_bytes);
    resp
}

/// The body of every 404.
const NOT_FOUND: &str = "not found\n";
/// The body of every 503: the cause is logged, not shown.
const UNAVAILABLE: &str = "service unavailable\n";

fn not_found() -> Response<Body> {
    plain(StatusCode::NOT_FOUND, NOT_FOUND)
}

/// A storage failure, as the client sees it: generic, and never cached.
fn unavailable() -> Response<Body> {
    let mut resp = plain(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A short plain-text answer.
pub fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut resp = Response::new(body::full(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn internal_error() -> Response<Body> {
    plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_time_failures_answer_without_their_reason() {
        let cases = [
            (
                RealtimeError::Storage("blob not found: /data/blobs/c/ab/abcdef".into()),
                503,
                "service unavailable\n",
            ),
            (RealtimeError::Overloaded, 503, "service unavailable\n"),
            (
                RealtimeError::Unprocessable("corrupt image: TurboJPEG error".into()),
                422,
                "image cannot be processed\n",
            ),
            (
                RealtimeError::NotFound("unknown operation"),
                404,
                "not found\n",
            ),
            (
                RealtimeError::Forbidden("real-time service is off for this app"),
                403,
                "forbidden\n",
            ),
        ];
        for (e, status, text) in cases {
            assert_eq!(
                public_answer(&e),
                (StatusCode::from_u16(status).expect("status"), text)
            );
        }
    }
}
