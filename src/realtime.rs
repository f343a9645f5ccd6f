//! The real-time service: `GET /<container>/<path>?<operationId>` answered from the L1 memory
//! cache, else the stored `P` file (L2), else a render, coalescing concurrent misses.

use crate::catalog::{AppRecord, CreatedBy, FileRecord, OperationRecord};
use crate::context::Context;
use crate::operation::OperationSpec;
use crate::paths;
use crate::produce::{self, ProduceError};
use crate::render::cache::{Variant, L1};
use bytes::Bytes;
use http::HeaderValue;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Why a real-time request cannot be answered with an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RealtimeError {
    /// No such container, file or operation (404).
    #[error("{0}")]
    NotFound(&'static str),
    /// The app's or the operation's real-time service is off (403).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The render pool is full (503).
    #[error("render pool overloaded")]
    Overloaded,
    /// The source image cannot be processed (422).
    #[error("{0}")]
    Unprocessable(String),
    /// The catalog or the blob store failed, or a render died outside the imaging guard (503).
    #[error("{0}")]
    Storage(String),
}

impl From<ProduceError> for RealtimeError {
    fn from(e: ProduceError) -> Self {
        match e {
            ProduceError::Overloaded => Self::Overloaded,
            ProduceError::Missing(_) => Self::NotFound("watermark image not found"),
            ProduceError::Imaging(m) => Self::Unprocessable(m),
            ProduceError::Storage(m) | ProduceError::NameTaken(m) => Self::Storage(m),
        }
    }
}

/// Whether a raw query string names an operation (a bare item); other queries, such as a
/// cache-busting `?v=2`, leave the original to be served.
pub fn names_operation(raw_query: &str) -> bool {
    raw_query
        .split('&')
        .any(|item| !item.is_empty() && !item.contains('='))
}

/// The operation id named by a raw query string: its first `&`-separated item without `=`.
pub fn operation_of(raw_query: &str) -> Option<String> {
    raw_query
        .split('&')
        .find(|item| !item.is_empty() && !item.contains('='))
        .map(|item| {
            percent_encoding::percent_decode_str(item)
                .decode_utf8_lossy()
                .into_owned()
        })
}

fn storage(ctx: &Context, e: impl std::fmt::Display) -> RealtimeError {
    ctx.metrics.catalog_errors.inc();
    RealtimeError::Storage(e.to_string())
}

/// Answers a real-time request whose L1 lookup missed.
pub async fn variant(
    ctx: &Arc<Context>,
    raw_path: &str,
    raw_query: &str,
) -> Result<Arc<Variant>, RealtimeError> {
    let decoded = percent_encoding::percent_decode_str(raw_path)
        .decode_utf8()
        .map_err(|_| RealtimeError::NotFound("not found"))?;
    let (container, rest) = decoded
        .trim_start_matches('/')
        .split_once('/')
        .ok_or(RealtimeError::NotFound("not found"))?;
    let path = paths::normalize(rest, ctx.config.limits.max_path_bytes)
        .map_err(|_| RealtimeError::NotFound("not found"))?;
    let op_id = operation_of(raw_query).ok_or(RealtimeError::NotFound("unknown operation"))?;
    let app = ctx
        .catalog
        .app_by_container(container)
        .await
        .map_err(|e| storage(ctx, e))?
        .ok_or(RealtimeError::NotFound("not found"))?;
    if !app.realtime_service {
        return Err(RealtimeError::Forbidden(
            "real-time service is off for this app",
        ));
    }
    let op = ctx
        .catalog
        .operation(&app.app_key, &op_id)
        .await
        .map_err(|e| storage(ctx, e))?
        .ok_or(RealtimeError::NotFound("unknown operation"))?;
    if !op.realtime_service {
        return Err(RealtimeError::Forbidden(
            "real-time service is off for this operation",
        ));
    }
    let spec = OperationSpec::parse(&op.operation_id, op.jobs.as_bytes())
        .map_err(|e| RealtimeError::Unprocessable(e.to_string()))?;
    if !spec.realtime_capable() {
        return Err(RealtimeError::NotFound(
            "slice and grid operations are not available in real time",
        ));
    }
    let source = ctx
        .catalog
        .file_by_path(&app.app_key, &path)
        .await
        .map_err(|e| storage(ctx, e))?
        .ok_or(RealtimeError::NotFound("not found"))?;
    if source.created_by != CreatedBy::User {
        // Results are never sources: a result of a result would be stored in turn, so
        // anonymous URLs could add files without end.
        return Err(RealtimeError::NotFound("a stored result is not a source"));
    }

    let marks = produce::watermark_files(ctx, &app, &spec).await?;
    let stamp = produce::variant_stamp(&source, &op, &marks);
    let request: Box<str> = format!("{raw_path}?{raw_query}").into();
    let caching = ctx.config.render.result_cache;
    if caching {
        if let Some(v) =
            stored_variant(ctx, &app, &source, &op, &spec, &stamp, &marks, &request).await?
        {
            ctx.metrics.hot.l2_hit.inc();
            return Ok(v);
        }
        ctx.metrics.hot.l2_miss.inc();
    }
    let flight_key = format!(
        "{}\n{}\n{}\n{stamp}",
        app.app_key, source.path, op.operation_id
    );
    let ctx2 = Arc::clone(ctx);
    // The leader's render and store run as a task of their own, so a client that hangs up
    // does not throw the finished render away; the place taken in the render pool first bounds
    // how many such tasks exist.
    ctx.renderer
        .flight
        .run(&flight_key, move || {
            let admission = ctx2.renderer.pool.admit();
            async move {
                let admission = admission.map_err(|_| ProduceError::Overloaded)?;
                if caching {
                    // A render that finished between this request's L2 miss and its joining
                    // the flight has stored the result: serve it instead of rendering again.
                    let again =
                        stored_variant(&ctx2, &app, &source, &op, &spec, &stamp, &marks, &request)
                            .await
                            .map_err(|e| ProduceError::Storage(e.to_string()))?;
                    if let Some(v) = again {
                        return Ok(v);
                    }
                }
                let urgency = produce::Urgency::Request(&admission);
                let outputs = produce::render(&ctx2, &source, &spec, &marks, urgency).await?;
                let first = outputs
                    .into_iter()
                    .next()
                    .ok_or_else(|| ProduceError::Imaging("no output".into()))?;
                if caching {
                    let stored = std::slice::from_ref(&first);
                    match produce::store_outputs(&ctx2, &app, &source, &op, &stamp, stored).await {
                        Ok(_) | Err(ProduceError::NameTaken(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(Arc::new(make_variant(
                    request,
                    &app,
                    &source,
                    &op,
                    &stamp,
                    &marks,
                    first.bytes,
                    first.content_type,
                )))
            }
        })
        .await
        .map_err(|e| RealtimeError::Storage(e.to_string()))?
        .map_err(RealtimeError::from)
}

/// The stored `P` file of this variant, when it was made from the current versions.
#[allow(clippy::too_many_arguments)]
async fn stored_variant(
    ctx: &Context,
    app: &AppRecord,
    source: &FileRecord,
    op: &OperationRecord,
    spec: &OperationSpec,
    stamp: &str,
    marks: &[(String, FileRecord)],
    request: &str,
) -> Result<Option<Arc<Variant>>, RealtimeError> {
    let ext = spec.output_extension(&source.content_type);
    let path = produce::output_path(&source.path, &op.operation_id, &ext, None);
    let Some(file) = ctx
        .catalog
        .file_by_path(&app.app_key, &path)
        .await
        .map_err(|e| storage(ctx, e))?
    else {
        return Ok(None);
    };
    if file.variant != stamp {
        return Ok(None);
    }
    let bytes = match ctx.blob.read(&file.blob_key).await {
        Ok(bytes) => bytes,
        Err(_) => return Ok(None),
    };
    let content_type = crate::imageinfo::sniff(&bytes).unwrap_or("application/octet-stream");
    Ok(Some(Arc::new(make_variant(
        request.into(),
        app,
        source,
        op,
        stamp,
        marks,
        bytes,
        content_type,
    ))))
}

/// Builds a cache entry with its validators: the ETag combines the source's content hash with
/// the operation's name and the stamp (operation and watermark versions), so a new original,
/// an edited operation or a changed watermark changes it.
#[allow(clippy::too_many_arguments)]
fn make_variant(
    request: Box<str>,
    app: &AppRecord,
    source: &FileRecord,
    op: &OperationRecord,
    stamp: &str,
    marks: &[(String, FileRecord)],
    body: Bytes,
    content_type: &str,
) -> Variant {
    let op_hash = xxhash_rust::xxh3::xxh3_64(format!("{}\n{stamp}", op.operation_id).as_bytes());
    let etag = format!("\"{}-{op_hash:016x}\"", source.etag);
    let modified_ms = source.updated_at.max(op.updated_at);
    let modified =
        SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(modified_ms).unwrap_or(0));
    Variant {
        request,
        app_key: app.app_key.clone(),
        source_path: source.path.clone(),
        operation_id: op.operation_id.clone(),
        watermarks: marks.iter().map(|(_, f)| f.path.clone()).collect(),
        body,
        content_type: HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\"")),
        last_modified: HeaderValue::from_str(&httpdate::fmt_http_date(modified))
            .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")),
        modified,
    }
}

/// Looks a request up in L1, counting the outcome.
pub async fn cached(ctx: &Context, raw_path: &str, raw_query: &str) -> (u64, Option<Arc<Variant>>) {
    let key = L1::key(raw_path, raw_query);
    let hit = ctx.renderer.l1.get(key, raw_path, raw_query).await;
    if hit.is_some() {
        ctx.metrics.hot.l1_hit.inc();
    } else {
        ctx.metrics.hot.l1_miss.inc();
    }
    (key, hit)
}

#[cfg(test)]
mod tests {
    #[test]
    fn operation_is_the_bare_query_item() {
        assert_eq!(super::operation_of("small400").as_deref(), Some("small400"));
        assert_eq!(super::operation_of("v=2&thumb").as_deref(), Some("thumb"));
        assert_eq!(super::operation_of("v=2"), None);
        assert_eq!(super::operation_of(""), None);
        assert!(super::names_operation("v=2&thumb"));
        assert!(!super::names_operation("v=2"));
        assert!(!super::names_operation("&"));
    }
}
