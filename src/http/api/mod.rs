//! The management API under `/image/v2.0/appkeys/{appKey}/...`, one file per section of the
//! API guide. Every answer is HTTP 200 with the `header` envelope.

pub mod deletion;
pub mod envelope;
pub mod folders;
pub mod images;
pub mod operations;
pub mod params;
pub mod queues;
pub mod upload_multi;
pub mod users;
pub mod views;

use super::body::Body;
use super::API_PREFIX;
use crate::catalog::AppRecord;
use crate::context::Context;
use crate::ingest::catalog_failure;
use crate::result_code::ResultCode;
use bytes::Bytes;
use envelope::{respond, ApiError, Reply};
use http::{HeaderMap, Method, Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use params::Query;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Largest JSON body accepted by the non-upload endpoints.
const MAX_JSON_BODY: u64 = 1024 * 1024;

/// One authenticated API call, handed to a section handler.
pub struct Call {
    /// Shared state.
    pub ctx: Arc<Context>,
    /// The app named by the path, whose secret the caller presented.
    pub app: AppRecord,
    /// Query-string parameters.
    pub query: Query,
    /// Request headers.
    pub headers: HeaderMap,
    /// The request body, until a handler takes it.
    pub body: Option<Incoming>,
    /// Path below the app (`queues/<id>` keeps its id here).
    pub rest: String,
}

impl Call {
    /// Reads the whole body, refusing more than `limit` bytes with `over`. An oversized body is
    /// still read and discarded, up to `limits.max_request_bytes`, so that the client, which is
    /// still sending, gets the answer instead of a reset connection; nothing of it is kept.
    pub async fn read_body(&mut self, limit: u64, over: ResultCode) -> Result<Bytes, ApiError> {
        let announced = self
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let drain_cap = self.ctx.config.limits.max_request_bytes;
        let mut body = self.take_body()?;
        if announced.is_some_and(|n| n > limit) {
            if announced.is_some_and(|n| n <= drain_cap) {
                discard(&mut body, drain_cap).await;
            }
            return Err(ApiError::new(over));
        }
        let capacity = announced.unwrap_or(0).min(limit);
        let mut kept = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
        let mut seen: u64 = 0;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return Err(ApiError::invalid("request body could not be read"));
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            seen += data.len() as u64;
            if seen > limit {
                if seen <= drain_cap {
                    discard(&mut body, drain_cap - seen).await;
                }
                return Err(ApiError::new(over));
            }
            kept.extend_from_slice(&data);
        }
        self.ctx.metrics.bytes_in.inc_by(seen);
        Ok(Bytes::from(kept))
    }

    /// Reads a small JSON body and parses it into `T`.
    pub async fn json<T: for<'de> serde::Deserialize<'de>>(&mut self) -> Result<T, ApiError> {
        let bytes = self
            .read_body(MAX_JSON_BODY, ResultCode::InvalidParameters)
            .await?;
        params::json_body(&bytes)
    }

    /// Takes the unread body (it can be taken once).
    pub fn take_body(&mut self) -> Result<Incoming, ApiError> {
        self.body
            .take()
            .ok_or_else(|| ApiError::invalid("request body already read"))
    }

    /// Answers a catalog failure with -1, counting it.
    pub fn catalog_error(&self, e: &crate::catalog::CatalogError) -> ApiError {
        ApiError::new(catalog_failure(&self.ctx, e))
    }
}

/// The handler of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    CreateFolder,
    ListFolder,
    Properties,
    PropertiesSimple,
    UploadOne,
    UploadMany,
    DeleteSync,
    DeleteAsync,
    GetUser,
    PutUser,
    GetQueue,
    PutOperation,
    ListOperations,
    GetOperation,
    DeleteOperation,
    ExecOperations,
}

fn is_operation_path(sub: &str) -> bool {
    sub.strip_prefix("operations/")
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

fn route(method: &Method, sub: &str) -> Option<Route> {
    let r = match (method.as_str(), sub) {
        ("POST", "folders") => Route::CreateFolder,
        ("GET", "folders") => Route::ListFolder,
        ("GET", "properties") => Route::Properties,
        ("GET", "properties/simple") => Route::PropertiesSimple,
        ("PUT", "images") => Route::UploadOne,
        ("POST", "images") => Route::UploadMany,
        ("DELETE", "images/sync") => Route::DeleteSync,
        ("DELETE", "images/async") => Route::DeleteAsync,
        ("GET", "users") => Route::GetUser,
        ("PUT", "users") => Route::PutUser,
        ("GET", q) if q.starts_with("queues/") && q.len() > "queues/".len() => Route::GetQueue,
        ("GET", "operations") => Route::ListOperations,
        ("POST", "operations-exec") => Route::ExecOperations,
        ("PUT", o) if is_operation_path(o) => Route::PutOperation,
        ("GET", o) if is_operation_path(o) => Route::GetOperation,
        ("DELETE", o) if is_operation_path(o) => Route::DeleteOperation,
        _ => return None,
    };
    Some(r)
}

/// Answers one management API request.
pub async fn handle(ctx: &Arc<Context>, req: Request<Incoming>) -> Response<Body> {
    respond(dispatch(ctx, req).await)
}

async fn dispatch(ctx: &Arc<Context>, req: Request<Incoming>) -> Result<Reply, ApiError> {
    let (parts, body) = req.into_parts();
    let rest = parts
        .uri
        .path()
        .strip_prefix(API_PREFIX)
        .unwrap_or_default();
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (app_key, sub) = rest.split_once('/').unwrap_or((rest, ""));
    let route = route(&parts.method, sub).ok_or(ApiError::new(ResultCode::NotFound))?;
    let app = authenticate(ctx, app_key, &parts.headers).await?;
    let call = Call {
        ctx: Arc::clone(ctx),
        app,
        query: Query::parse(parts.uri.query()),
        headers: parts.headers,
        body: Some(body),
        rest: sub.to_owned(),
    };
    match route {
        Route::CreateFolder => folders::create(call).await,
        Route::ListFolder => folders::list(call).await,
        Route::Properties => folders::properties(call, true).await,
        Route::PropertiesSimple => folders::properties(call, false).await,
        Route::UploadOne => images::upload(call).await,
        Route::UploadMany => upload_multi::upload(call).await,
        Route::DeleteSync => deletion::delete_sync(call).await,
        Route::DeleteAsync => deletion::delete_async(call).await,
        Route::GetUser => users::get(call).await,
        Route::PutUser => users::put(call).await,
        Route::GetQueue => queues::get(call).await,
        Route::PutOperation => operations::put(call).await,
        Route::ListOperations => operations::list(call).await,
        Route::GetOperation => operations::get(call).await,
        Route::DeleteOperation => operations::delete(call).await,
        Route::ExecOperations => operations::exec(call).await,
    }
}

/// Finds the app of the path and checks the `Authorization` secret in constant time.
async fn authenticate(
    ctx: &Arc<Context>,
    app_key: &str,
    headers: &HeaderMap,
) -> Result<AppRecord, ApiError> {
    let denied = || ApiError::new(ResultCode::InvalidAppkey);
    let presented = headers
        .get(http::header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .ok_or_else(denied)?;
    if app_key.is_empty() {
        return Err(denied());
    }
    let app = match ctx.catalog.app(app_key).await {
        Ok(Some(app)) => app,
        Ok(None) => return Err(denied()),
        Err(e) => return Err(ApiError::new(catalog_failure(ctx, &e))),
    };
    if bool::from(app.secret_key.as_bytes().ct_eq(presented)) {
        Ok(app)
    } else {
        Err(denied())
    }
}

/// Reads and drops up to `cap` more bytes of `body`.
async fn discard(body: &mut Incoming, cap: u64) {
    let mut left = cap;
    while let Some(Ok(frame)) = body.frame().await {
        let Ok(data) = frame.into_data() else {
            continue;
        };
        match left.checked_sub(data.len() as u64) {
            Some(rest) => left = rest,
            None => return,
        }
    }
}
