//! `GET`/`HEAD /<container>/<path>[?<operationId>]`, as one pipeline:
//! method check -> L1 (operation requests) -> decode the path once -> resolve a
//! [`Representation`] (a variant, or a stored file kept current) -> one responder for
//! conditional requests, byte ranges and `HEAD`.

use super::body::{self, Body};
use super::conditional::{self, RangeRequest};
use super::state::State;
use crate::catalog::FileRecord;
use crate::paths;
use crate::result_code::ResultCode;
use crate::variant::cache::Variant;
use crate::variant::produce::ProduceError;
use crate::variant::refresh;
use crate::variant::resolve::{self, RealtimeError};
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Answers a delivery request.
pub async fn handle<B>(state: &Arc<State>, req: &Request<B>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut resp = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    let raw_path = req.uri().path();
    let operation = req.uri().query().filter(|q| resolve::names_operation(q));
    if let Some(query) = operation {
        if let Some(variant) = state.cached(raw_path, query).await {
            return respond(state, req, &Representation::of_variant(&variant)).await;
        }
    }
    let (container, path) = match decode(raw_path, state.config.limits.max_path_bytes) {
        Ok(target) => target,
        Err(bad) => return bad.response(),
    };
    match operation {
        Some(query) => match state
            .variants
            .resolve(&container, &path, raw_path, query)
            .await
        {
            Ok(variant) => respond(state, req, &Representation::of_variant(&variant)).await,
            Err(e) => failure(state, raw_path, &e),
        },
        None => match stored_file(state, &container, &path).await {
            Ok(file) => respond(state, req, &Representation::of_file(&file)).await,
            Err(e) => failure(state, raw_path, &e),
        },
    }
}

/// Why a raw path names no file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadPath {
    /// Not UTF-8 once percent-decoded, or not a valid path (400).
    Invalid(&'static str),
    /// No container, or longer than any stored path can be (404).
    NoSuchFile,
}

impl BadPath {
    fn response(self) -> Response<Body> {
        match self {
            Self::Invalid(text) => plain(StatusCode::BAD_REQUEST, text),
            Self::NoSuchFile => not_found(),
        }
    }
}

/// Decodes a raw request path into its container and normalised catalog path, once for both
/// kinds of request.
fn decode(raw_path: &str, max_path_bytes: usize) -> Result<(String, String), BadPath> {
    let Ok(decoded) = percent_encoding::percent_decode_str(raw_path).decode_utf8() else {
        return Err(BadPath::Invalid("path is not valid UTF-8\n"));
    };
    let Some((container, rest)) = decoded.trim_start_matches('/').split_once('/') else {
        return Err(BadPath::NoSuchFile);
    };
    match paths::normalize(rest, max_path_bytes) {
        Ok(path) => Ok((container.to_owned(), path)),
        Err(ResultCode::PathLengthLimit) => Err(BadPath::NoSuchFile),
        Err(_) => Err(BadPath::Invalid("invalid path\n")),
    }
}

/// A stored file by its name. A produced file made from older versions is rendered again
/// before its validators are compared, so a conditional or `HEAD` request sees the current
/// `ETag`.
async fn stored_file(
    state: &Arc<State>,
    container: &str,
    path: &str,
) -> Result<FileRecord, RealtimeError> {
    let app = state
        .catalog
        .app_by_container(container)
        .await?
        .ok_or(RealtimeError::NotFound("not found"))?;
    let stored = state
        .catalog
        .stored_file(&app.app_key, path)
        .await?
        .ok_or(RealtimeError::NotFound("not found"))?;
    refresh::current(&state.variants, &app, stored).await
}

/// Where the bytes of a representation are.
enum Content<'a> {
    /// In memory (a variant).
    Memory(&'a Bytes),
    /// In the object store, under this key.
    Stored(&'a str),
}

/// One image as the responder sees it: validators, type, length and where its bytes are.
struct Representation<'a> {
    etag: HeaderValue,
    last_modified: HeaderValue,
    modified: SystemTime,
    content_type: HeaderValue,
    len: u64,
    content: Content<'a>,
}

impl<'a> Representation<'a> {
    /// A variant: its header values share the variant's bytes, so a hit copies nothing.
    fn of_variant(v: &'a Variant) -> Self {
        Self {
            etag: HeaderValue::from_maybe_shared(v.etag.clone())
                .unwrap_or(HeaderValue::from_static("\"0\"")),
            last_modified: HeaderValue::from_maybe_shared(v.last_modified.clone())
                .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")),
            modified: v.modified,
            content_type: HeaderValue::from_static(v.content_type),
            len: v.body.len() as u64,
            content: Content::Memory(&v.body),
        }
    }

    /// A stored file: its content hash is its `ETag`, its last change `Last-Modified`.
    fn of_file(file: &'a FileRecord) -> Self {
        let modified = SystemTime::UNIX_EPOCH
            + Duration::from_millis(u64::try_from(file.updated_at).unwrap_or(0));
        Self {
            etag: HeaderValue::from_str(&format!("\"{}\"", file.etag))
                .unwrap_or(HeaderValue::from_static("\"0\"")),
            last_modified: HeaderValue::from_str(&httpdate::fmt_http_date(modified))
                .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")),
            modified,
            content_type: HeaderValue::from_str(&file.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            len: file.bytes,
            content: Content::Stored(&file.blob_key),
        }
    }
}

/// The one responder: `If-None-Match` / `If-Modified-Since` (304), `If-Range` and `Range`
/// (206, 416), `HEAD` without a body, then the bytes.
async fn respond<B>(state: &State, req: &Request<B>, rep: &Representation<'_>) -> Response<Body> {
    let headers = req.headers();
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let etag = rep.etag.to_str().unwrap_or("");
    let unchanged = match text(header::IF_NONE_MATCH) {
        Some(inm) => conditional::none_match(inm, etag),
        None => text(header::IF_MODIFIED_SINCE)
            .is_some_and(|ims| conditional::not_modified_since(ims, rep.modified)),
    };
    let mut resp = Response::new(body::empty());
    let h = resp.headers_mut();
    h.insert(header::ETAG, rep.etag.clone());
    h.insert(header::LAST_MODIFIED, rep.last_modified.clone());
    h.insert(header::CACHE_CONTROL, state.cache_control.clone());
    if unchanged {
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        return resp;
    }
    h.insert(header::CONTENT_TYPE, rep.content_type.clone());
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let len = rep.len;
    let range_allowed = text(header::IF_RANGE)
        .is_none_or(|ir| conditional::if_range_matches(ir, etag, rep.modified));
    let range = match text(header::RANGE) {
        Some(r) if range_allowed => conditional::parse_range(r, len),
        _ => RangeRequest::Full,
    };
    let span: Option<Range<u64>> = match range {
        RangeRequest::Full => None,
        RangeRequest::Partial(span) => {
            if let Ok(value) =
                HeaderValue::from_str(&format!("bytes {}-{}/{len}", span.start, span.end - 1))
            {
                h.insert(header::CONTENT_RANGE, value);
            }
            Some(span)
        }
        RangeRequest::Unsatisfiable => {
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{len}")) {
                h.insert(header::CONTENT_RANGE, value);
            }
            *resp.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            return resp;
        }
    };
    if span.is_some() {
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    let h = resp.headers_mut();
    let body_len = span.as_ref().map_or(len, |s| s.end - s.start);
    if req.method() == Method::HEAD {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
        return resp;
    }
    match &rep.content {
        Content::Memory(bytes) => {
            let part = match span {
                Some(s) => bytes.slice(
                    usize::try_from(s.start).unwrap_or(0)..usize::try_from(s.end).unwrap_or(0),
                ),
                None => Bytes::clone(bytes),
            };
            *resp.body_mut() = body::full(part);
        }
        Content::Stored(key) => match state.blob.stream(key, span).await {
            Ok(stream) => {
                h.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
                *resp.body_mut() = body::stream(stream);
            }
            Err(e) => {
                tracing::error!(error = %e, path = %req.uri().path(), key = %key,
                    "blob read failed");
                return unavailable();
            }
        },
    }
    state.metrics.bytes_out.inc_by(body_len);
    resp
}

/// The status and the generic body of a failure. The reason (which may name catalog, blob or
/// imaging internals) is only logged, never sent to the anonymous client.
fn public_answer(e: &RealtimeError) -> (StatusCode, &'static str) {
    match e {
        RealtimeError::NotFound(_) | RealtimeError::Produce(ProduceError::Missing(_)) => {
            (StatusCode::NOT_FOUND, NOT_FOUND)
        }
        RealtimeError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden\n"),
        RealtimeError::Produce(p) => match p {
            ProduceError::Imaging(_) | ProduceError::Operation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "image cannot be processed\n",
            ),
            ProduceError::Aborted => (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"),
            _ => (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE),
        },
    }
}

/// Answers a failure: logged by kind, generic to the client, never cached; an overloaded
/// pool adds `Retry-After`.
fn failure(state: &State, raw_path: &str, e: &RealtimeError) -> Response<Body> {
    let (status, text) = public_answer(e);
    match status {
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::INTERNAL_SERVER_ERROR => {
            tracing::error!(error = %e, path = %raw_path, "delivery failed");
        }
        StatusCode::UNPROCESSABLE_ENTITY => {
            tracing::warn!(error = %e, path = %raw_path, "real-time render refused");
        }
        _ => tracing::debug!(error = %e, path = %raw_path, "delivery refused"),
    }
    let mut resp = plain(status, text);
    let headers = resp.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if matches!(e, RealtimeError::Produce(ProduceError::Overloaded)) {
        state.metrics.render_overload.inc();
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from(state.config.render.retry_after_secs),
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CatalogError;
    use crate::imaging::ImagingError;

    #[test]
    fn failures_answer_by_kind_without_their_reason() {
        let catalog = ProduceError::from(CatalogError::backend("disk I/O error at /data/c"));
        let cases = [
            (RealtimeError::Produce(catalog), 503, UNAVAILABLE),
            (
                RealtimeError::Produce(ProduceError::Overloaded),
                503,
                UNAVAILABLE,
            ),
            (
                RealtimeError::Produce(ProduceError::Imaging(ImagingError::Panicked(
                    "webp".into(),
                ))),
                422,
                "image cannot be processed\n",
            ),
            (
                RealtimeError::Produce(ProduceError::Aborted),
                500,
                "internal error\n",
            ),
            (
                RealtimeError::Produce(ProduceError::Missing("/mark.png".into())),
                404,
                NOT_FOUND,
            ),
            (RealtimeError::NotFound("unknown operation"), 404, NOT_FOUND),
            (
                RealtimeError::Forbidden("real-time service is off for this app"),
                403,
                "forbidden\n",
            ),
        ];
        for (e, status, text) in cases {
            assert_eq!(
                public_answer(&e),
                (StatusCode::from_u16(status).expect("status"), text),
                "{e}"
            );
        }
    }

    #[test]
    fn a_path_is_decoded_once_with_one_outcome_per_defect() {
        assert_eq!(
            decode("/c/a%20b/x.jpg", 1024).expect("decoded"),
            ("c".to_owned(), "/a b/x.jpg".to_owned())
        );
        let status =
            |raw: &str, max: usize| decode(raw, max).expect_err("refused").response().status();
        assert_eq!(status("/c/%FF.jpg", 1024), StatusCode::BAD_REQUEST);
        assert_eq!(status("/c/a/../../b.jpg", 1024), StatusCode::BAD_REQUEST);
        assert_eq!(status("/nocontainer", 1024), StatusCode::NOT_FOUND);
        assert_eq!(status("/c/aaaaaaaaaa.jpg", 8), StatusCode::NOT_FOUND);
    }
}
