//! Resumable uploads over tus 1.0.0 (core, creation, termination, expiration, checksum) at
//! `/image/v2.0/appkeys/{appKey}/uploads`: `POST` creates an upload, and
//! `/uploads/{uploadId}` answers `HEAD` (its offset), `PATCH` (its next bytes; the last ones
//! store the file as `PUT /images` would) and `DELETE`. `OPTIONS` on either tells what the
//! server supports. A client that cannot send PATCH or DELETE may POST with
//! `X-HTTP-Method-Override`.
//!
//! Unlike the rest of the API these answer with real HTTP statuses, as tus clients expect
//! ([`answer`]); authentication is the API's own `Authorization` header. The work is done by
//! [`crate::ingest::resumable`]; this module reads and writes the protocol's headers.

mod answer;
mod create;
pub mod metadata;
mod patch;
mod status;

use super::request_body::RequestBody;
use super::{authenticate, Call};
use crate::http::body::Body;
use crate::http::state::State;
use answer::{Answer, Refusal, TUS_RESUMABLE, VERSION};
use http::request::Parts;
use http::{HeaderMap, Method, Response};
use std::sync::Arc;

/// A tus request, by what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tus {
    /// `OPTIONS`: what the server supports.
    Options,
    /// A request about uploads, made by an app.
    Call(TusCall),
}

/// A tus request about uploads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TusCall {
    /// `POST /uploads`: a new upload.
    Create,
    /// `HEAD /uploads/{id}`: its offset.
    Status(String),
    /// `PATCH /uploads/{id}`: its next bytes.
    Append(String),
    /// `DELETE /uploads/{id}`: the upload dropped.
    Terminate(String),
}

/// `X-HTTP-Method-Override`.
const METHOD_OVERRIDE: &str = "x-http-method-override";

/// The tus request `method` (or, for a POST, the method of its `X-HTTP-Method-Override`)
/// makes on `sub`, the path below the app; `None` for any other request.
pub fn route(method: &Method, headers: &HeaderMap, sub: &str) -> Option<Tus> {
    let id = match sub.strip_prefix("uploads") {
        Some("") => None,
        Some(rest) => Some(rest.strip_prefix('/').filter(|id| !id.contains('/'))?),
        None => return None,
    };
    let overridden = match headers.get(METHOD_OVERRIDE) {
        Some(v) if method == Method::POST => v.to_str().ok()?.trim().to_ascii_uppercase(),
        _ => method.as_str().to_owned(),
    };
    let call = match (overridden.as_str(), id) {
        ("OPTIONS", _) => return Some(Tus::Options),
        ("POST", None) => TusCall::Create,
        ("HEAD", Some(id)) => TusCall::Status(id.to_owned()),
        ("PATCH", Some(id)) => TusCall::Append(id.to_owned()),
        ("DELETE", Some(id)) => TusCall::Terminate(id.to_owned()),
        _ => return None,
    };
    Some(Tus::Call(call))
}

/// Answers one tus request of the app `app_key`.
pub async fn handle(
    ctx: &Arc<State>,
    tus: Tus,
    parts: Parts,
    app_key: &str,
    body: &mut RequestBody,
) -> Response<Body> {
    match tus {
        Tus::Options => answer::options(&ctx.config),
        Tus::Call(call) => {
            let head = matches!(call, TusCall::Status(_));
            answer::write(serve(ctx, call, parts, app_key, body).await, head)
        }
    }
}

/// Checks the version and the caller, then runs the request.
async fn serve(
    ctx: &Arc<State>,
    tus: TusCall,
    parts: Parts,
    app_key: &str,
    body: &mut RequestBody,
) -> Result<Answer, Refusal> {
    let version = parts.headers.get(TUS_RESUMABLE).map(|v| v.as_bytes());
    if version != Some(VERSION.as_bytes()) {
        return Err(Refusal::version());
    }
    let app = authenticate(ctx, app_key, &parts.headers).await?;
    let call = Call {
        ctx: Arc::clone(ctx),
        app,
        query: super::params::Query::parse(None),
        headers: parts.headers,
        body,
        memory: ctx.body_memory.share(),
        rest: String::new(),
    };
    match tus {
        TusCall::Create => create::create(call).await,
        TusCall::Status(id) => status::head(call, &id).await,
        TusCall::Append(id) => patch::append(call, &id).await,
        TusCall::Terminate(id) => status::terminate(call, &id).await,
    }
}

/// A header as text, when present and readable.
fn header<'h>(headers: &'h HeaderMap, name: &http::header::HeaderName) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// A header holding a size (a non-negative decimal integer); `Ok(None)` when absent.
fn size(headers: &HeaderMap, name: &http::header::HeaderName) -> Result<Option<u64>, Refusal> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse().ok())
            .map(Some)
            .ok_or_else(|| Refusal::from(super::envelope::ApiError::invalid("not a size header"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, http::HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn routes_the_tus_requests_only() {
        let none = HeaderMap::new();
        let id = "0123456789abcdef0123456789abcdef";
        let at = format!("uploads/{id}");
        let call = |c: TusCall| Some(Tus::Call(c));
        assert_eq!(
            route(&Method::POST, &none, "uploads"),
            call(TusCall::Create)
        );
        assert_eq!(
            route(&Method::OPTIONS, &none, "uploads"),
            Some(Tus::Options)
        );
        assert_eq!(route(&Method::OPTIONS, &none, &at), Some(Tus::Options));
        assert_eq!(
            route(&Method::HEAD, &none, &at),
            call(TusCall::Status(id.into()))
        );
        assert_eq!(
            route(&Method::PATCH, &none, &at),
            call(TusCall::Append(id.into()))
        );
        assert_eq!(
            route(&Method::DELETE, &none, &at),
            call(TusCall::Terminate(id.into()))
        );
        let patch = headers(&[("x-http-method-override", "patch")]);
        assert_eq!(
            route(&Method::POST, &patch, &at),
            call(TusCall::Append(id.into()))
        );
        assert_eq!(
            route(&Method::PUT, &patch, &at),
            None,
            "only a POST is overridden"
        );
        for (method, sub) in [
            (Method::GET, at.as_str()),
            (Method::POST, at.as_str()),
            (Method::PATCH, "uploads"),
            (Method::POST, "uploadsx"),
            (Method::HEAD, "uploads/a/b"),
            (Method::PUT, "images"),
        ] {
            assert_eq!(route(&method, &none, sub), None, "{method} {sub}");
        }
    }

    #[test]
    fn sizes_are_decimal_digits() {
        let name = http::header::HeaderName::from_static("upload-length");
        let read = |v: &'static str| size(&headers(&[("upload-length", v)]), &name).ok();
        assert_eq!(read("1024"), Some(Some(1024)));
        assert_eq!(read(" 7 "), Some(Some(7)));
        for bad in ["-1", "+5", "1e3", "", "18446744073709551616"] {
            assert_eq!(read(bad), None, "{bad}");
        }
        assert_eq!(size(&HeaderMap::new(), &name).ok(), Some(None));
    }
}
