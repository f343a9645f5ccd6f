//! The management API under `/image/v2.0/appkeys/{appKey}/...`, one file per section of the
//! API guide, and one per extension (`rotation`). Every answer is HTTP 200 with the `header`
//! envelope.

pub mod body_memory;
pub mod copy_move;
pub mod deletion;
pub mod deletions;
pub mod envelope;
pub mod folders;
pub mod images;
pub mod operations;
pub mod paging;
pub mod params;
pub mod queues;
pub mod request_body;
pub mod rotation;
pub mod search;
pub mod tags;
pub mod trash;
pub mod tus;
pub mod upload_multi;
pub mod upload_outcome;
pub mod users;
pub mod views;

use super::body::Body;
use super::API_PREFIX;
use crate::catalog::AppRecord;
use crate::http::state::State;
use crate::result_code::ResultCode;
use body_memory::Share;
use bytes::Bytes;
use envelope::{respond, ApiError, Reply};
use http::header::{HeaderValue, CONNECTION};
use http::{HeaderMap, Method, Request, Response};
use hyper::body::Incoming;
use params::Query;
use request_body::RequestBody;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The message of a call refused because request bodies hold all the memory allowed.
pub const BUSY: &str = "The server is busy; send the request again later.";

/// The refusal of a call that request bodies left no memory for, counted.
pub fn busy(ctx: &State) -> ApiError {
    ctx.metrics.body_memory_refusals.inc();
    ApiError {
        code: ResultCode::Fail,
        message: Some(BUSY.to_owned()),
    }
}

/// Largest JSON body accepted by the non-upload endpoints.
const MAX_JSON_BODY: u64 = 1024 * 1024;

/// One authenticated API call, handed to a section handler.
pub struct Call<'a> {
    /// Shared state.
    pub ctx: Arc<State>,
    /// The app named by the path, whose secret the caller presented.
    pub app: AppRecord,
    /// Query-string parameters.
    pub query: Query,
    /// Request headers.
    pub headers: HeaderMap,
    /// The request body; what the handler leaves unread is drained after it returns.
    pub body: &'a mut RequestBody,
    /// The call's share of the node's request body memory, for the bytes of the body it
    /// keeps; given back when the call ends.
    pub memory: Share,
    /// Path below the app (`queues/<id>` keeps its id here).
    pub rest: String,
}

impl Call<'_> {
    /// Reads the whole body, refusing more than `limit` bytes with `over`, and -1 ("busy")
    /// when the node's request body memory has no room for it. Nothing beyond `limit` is
    /// kept; the dispatcher drains the rest before answering.
    pub async fn read_body(&mut self, limit: u64, over: ResultCode) -> Result<Bytes, ApiError> {
        let announced = self.body.announced();
        if announced.is_some_and(|n| n > limit) {
            return Err(ApiError::new(over));
        }
        let capacity = announced.unwrap_or(0).min(limit);
        self.hold(capacity)?;
        let mut kept = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
        while let Some(data) = self.body.data().await {
            let data = data.map_err(|_| ApiError::invalid("request body could not be read"))?;
            let total = (kept.len() + data.len()) as u64;
            if total > limit {
                return Err(ApiError::new(over));
            }
            self.hold(total)?;
            kept.extend_from_slice(&data);
        }
        Ok(Bytes::from(kept))
    }

    /// Makes the call's share of the node's request body memory cover `bytes` in all, before
    /// they are kept; -1 ("busy") when the node has no room for them.
    pub fn hold(&mut self, bytes: u64) -> Result<(), ApiError> {
        self.memory.cover(bytes).map_err(|_| busy(&self.ctx))
    }

    /// Reads a small JSON body and parses it into `T`.
    pub async fn json<T: for<'de> serde::Deserialize<'de>>(&mut self) -> Result<T, ApiError> {
        let bytes = self
            .read_body(MAX_JSON_BODY, ResultCode::InvalidParameters)
            .await?;
        params::json_body(&bytes)
    }

    /// Stores an upload of this app with `tags` ([`crate::ingest::store_upload`]); a replaced
    /// original drops the variants made from it from L1.
    pub async fn store_upload(
        &self,
        path: &str,
        bytes: Bytes,
        rule: crate::catalog::OnConflict,
        tags: Vec<String>,
    ) -> Result<crate::catalog::PutOutcome, ResultCode> {
        let outcome =
            crate::ingest::store_upload(&self.ctx, &self.app, path, bytes, rule, tags).await?;
        if outcome.overwritten {
            self.ctx.l1.invalidate_source(&self.app.app_key, path);
        }
        Ok(outcome)
    }

    /// Answers a catalog failure with -1 (the catalog counts its own failures).
    pub fn catalog_error(&self, e: &crate::catalog::CatalogError) -> ApiError {
        ApiError::new(self.ctx.catalog_failure(e))
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
    Rotate,
    ListTrash,
    RestoreTrash,
    PurgeTrash,
    ListDeletions,
    CopyImages,
    MoveImages,
    GetFile,
    SearchFiles,
    PutTags,
}

fn is_operation_path(sub: &str) -> bool {
    sub.strip_prefix("operations/")
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

fn route(method: &Method, sub: &str, query: &Query) -> Option<Route> {
    let r = match (method.as_str(), sub) {
        ("POST", "folders") => Route::CreateFolder,
        ("GET", "folders") => Route::ListFolder,
        ("GET", "properties") => Route::Properties,
        ("GET", "properties/simple") => Route::PropertiesSimple,
        ("PUT", "images") => Route::UploadOne,
        ("POST", "images") => Route::UploadMany,
        ("DELETE", "images/sync") => Route::DeleteSync,
        ("DELETE", "images/async") => Route::DeleteAsync,
        ("POST", "images/copy") => Route::CopyImages,
        ("POST", "images/move") => Route::MoveImages,
        ("GET", "users") => Route::GetUser,
        ("PUT", "users") => Route::PutUser,
        ("GET", q) if q.starts_with("queues/") && q.len() > "queues/".len() => Route::GetQueue,
        ("GET", "operations") => Route::ListOperations,
        ("POST", "operations-exec") => Route::ExecOperations,
        ("PUT", o) if is_operation_path(o) => Route::PutOperation,
        ("GET", o) if is_operation_path(o) => Route::GetOperation,
        ("DELETE", o) if is_operation_path(o) => Route::DeleteOperation,
        ("PUT", r) if rotation::file_id(r).is_some() => Route::Rotate,
        ("GET", "trash") => Route::ListTrash,
        ("POST", "trash/restore") => Route::RestoreTrash,
        ("DELETE", "trash") => Route::PurgeTrash,
        ("GET", "deletions") => Route::ListDeletions,
        ("GET", "images") if search::is_search(query) => Route::SearchFiles,
        ("GET", f) if search::file_path_id(f).is_some() => Route::GetFile,
        ("PUT", t) if tags::tags_path_id(t).is_some() => Route::PutTags,
        _ => return None,
    };
    Some(r)
}

/// Answers one management API request. Whatever the outcome, the unread rest of the body
/// is read and dropped first (up to `limits.max_request_bytes`), so that a client still
/// sending its body reads the answer; a larger body is answered with `Connection: close`.
pub async fn handle(ctx: &Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let (parts, incoming) = req.into_parts();
    let progress = crate::http::connection::read_progress(&ctx.config.server);
    let mut body = RequestBody::new(incoming, &parts.headers, progress);
    let (app_key, sub) = app_and_rest(parts.uri.path());
    let (app_key, sub) = (app_key.to_owned(), sub.to_owned());
    let mut resp = match tus::route(&parts.method, &parts.headers, &sub) {
        Some(call) => tus::handle(ctx, call, parts, &app_key, &mut body).await,
        None => respond(dispatch(ctx, parts, &app_key, &sub, &mut body).await),
    };
    let complete = body.drain(ctx.config.limits.max_request_bytes).await;
    ctx.metrics.bytes_in.inc_by(body.bytes_read());
    if !complete {
        resp.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// The app key of an API path and the path below it (`folders`, `queues/<id>`), without a
/// trailing slash.
fn app_and_rest(path: &str) -> (&str, &str) {
    let rest = path.strip_prefix(API_PREFIX).unwrap_or_default();
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    rest.split_once('/').unwrap_or((rest, ""))
}

async fn dispatch(
    ctx: &Arc<State>,
    parts: http::request::Parts,
    app_key: &str,
    sub: &str,
    body: &mut RequestBody,
) -> Result<Reply, ApiError> {
    let query = Query::parse(parts.uri.query());
    let route = route(&parts.method, sub, &query).ok_or(ApiError::new(ResultCode::NotFound))?;
    let app = authenticate(ctx, app_key, &parts.headers).await?;
    let call = Call {
        ctx: Arc::clone(ctx),
        app,
        query,
        headers: parts.headers,
        body,
        memory: ctx.body_memory.share(),
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
        Route::Rotate => rotation::rotate(call).await,
        Route::ListTrash => trash::list(call).await,
        Route::RestoreTrash => trash::restore(call).await,
        Route::PurgeTrash => trash::purge(call).await,
        Route::ListDeletions => deletions::list(call).await,
        Route::CopyImages => copy_move::copy(call).await,
        Route::MoveImages => copy_move::move_entries(call).await,
        Route::GetFile => search::get(call).await,
        Route::SearchFiles => search::search(call).await,
        Route::PutTags => tags::put(call).await,
    }
}

/// Finds the app of the path and checks the `Authorization` secret in constant time.
async fn authenticate(
    ctx: &Arc<State>,
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
        Err(e) => return Err(ApiError::new(ctx.catalog_failure(&e))),
    };
    if bool::from(app.secret_key.as_bytes().ct_eq(presented)) {
        Ok(app)
    } else {
        Err(denied())
    }
}
