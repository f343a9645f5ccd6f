//! Image Operation API: create or modify, list, get and delete operations, and run them over
//! files and folders (`POST /operations-exec`).

use super::envelope::{ApiError, Reply};
use super::params::{flex_bool, flex_list, json_body};
use super::{views, Call};
use crate::catalog::{AppRecord, OperationRecord, SortKey};
use crate::clock::now_ms;
use crate::http::state::State;
use crate::jobs::image;
use crate::operation::OperationSpec;
use crate::paths;
use crate::result_code::ResultCode;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// Largest operation body accepted.
const MAX_OPERATION_BODY: u64 = 256 * 1024;

/// The operation id of `operations/<id>`.
fn path_id(call: &Call<'_>) -> Result<String, ApiError> {
    let id = call.rest.strip_prefix("operations/").unwrap_or_default();
    check_operation_id(id)?;
    Ok(id.to_owned())
}

/// An operation id: 1..20 letters, digits or `-`.
pub fn check_operation_id(id: &str) -> Result<(), ApiError> {
    let ok =
        (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "operationId must be 1..20 letters, digits or '-'",
        ))
    }
}

/// The operation ids a request names, each once in the order first given. More than `max`
/// distinct ids, or a malformed one, is an invalid parameter (10001): the limit is about
/// operations, not about the files and folders that 11003 counts.
pub fn distinct_operation_ids(raw: &[String], max: usize) -> Result<Vec<String>, ApiError> {
    let mut ids: Vec<String> = Vec::new();
    for id in raw {
        if ids.contains(id) {
            continue;
        }
        check_operation_id(id)?;
        if ids.len() == max {
            return Err(ApiError::invalid("too many operationIds"));
        }
        ids.push(id.clone());
    }
    Ok(ids)
}

/// Loads the operations a request names, each once, within `limits.max_operation_ids`.
pub async fn load_requested(
    call: &Call<'_>,
    raw: &[String],
) -> Result<Vec<(OperationRecord, OperationSpec)>, ApiError> {
    let ids = distinct_operation_ids(raw, call.ctx.config.limits.max_operation_ids)?;
    Ok(image::load_operations(&call.ctx, &call.app, &ids).await?)
}

/// The operations an upload runs: those it names (as [`load_requested`]), then the app's
/// default operations it does not name ([`image::default_operations`]), each once.
pub async fn load_for_upload(
    call: &Call<'_>,
    raw: &[String],
) -> Result<Vec<(OperationRecord, OperationSpec)>, ApiError> {
    let mut ops = load_requested(call, raw).await?;
    let defaults = image::default_operations(&call.ctx, &call.app, &ops).await?;
    ops.extend(defaults);
    Ok(ops)
}

/// The JSON view of an operation.
pub fn operation_view(app: &AppRecord, op: &OperationRecord) -> Value {
    let spec = OperationSpec::parse(&op.operation_id, op.jobs.as_bytes()).ok();
    json!({
        "appKey": app.app_key,
        "operationId": op.operation_id,
        "description": op.description,
        "realtimeService": op.realtime_service,
        "updatedAt": views::time(op.updated_at),
        "jobTemplate": spec.map_or(Value::Array(Vec::new()), |s| s.job_template()),
    })
}

#[derive(Deserialize)]
struct PutFlags {
    #[serde(default, rename = "deleteThumbnail", deserialize_with = "flex_bool")]
    delete_thumbnail: Option<bool>,
}

/// `PUT /operations/{operationId}`.
pub async fn put(mut call: Call<'_>) -> Result<Reply, ApiError> {
    let id = path_id(&call)?;
    let mut body = call
        .read_body(MAX_OPERATION_BODY, ResultCode::InvalidParameters)
        .await?;
    if lacks_data(&body) {
        let stored = call
            .ctx
            .catalog
            .operation(&call.app.app_key, &id)
            .await
            .map_err(|e| call.catalog_error(&e))?;
        if let Some(merged) = stored.and_then(|op| with_stored_jobs(&body, &op)) {
            body = merged.into();
        }
    }
    let limits = crate::imaging::Limits::from(&call.ctx.config.imaging);
    let spec = OperationSpec::parse(&id, &body)
        .and_then(|spec| spec.check_limits(&limits).map(|()| spec))
        .map_err(|e| {
            let code =
                ResultCode::from_code(e.result_code()).unwrap_or(ResultCode::InvalidParameters);
            ApiError {
                code,
                message: Some(format!("{} {e}", code.message())),
            }
        })?;
    image::callback_target(&call.ctx, spec.callback_url()).await?;
    let flags: PutFlags = json_body(&body)?;
    let delete_thumbnail =
        flags.delete_thumbnail.unwrap_or(false) || call.query.bool("deleteThumbnail", false)?;
    let record = OperationRecord {
        operation_id: id.clone(),
        description: spec.description().to_owned(),
        realtime_service: spec.realtime_service(),
        jobs: spec.canonical_json(),
        updated_at: now_ms(),
        version: 0,
    };
    let key = call.app.app_key.clone();
    let stored = call
        .ctx
        .catalog
        .put_operation(&key, &record)
        .await
        .map_err(|e| call.catalog_error(&e))?;
    call.ctx.l1.invalidate_operation(&key, &id);
    if delete_thumbnail {
        delete_results(&call.ctx, &key, &id)
            .await
            .map_err(|e| call.catalog_error(&e))?;
    }
    Ok(Reply::ok(
        json!({ "operation": operation_view(&call.app, &stored) }),
    ))
}

/// Whether a PUT body is a JSON object without `data` (absent or null).
fn lacks_data(body: &[u8]) -> bool {
    crate::lenient_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.as_object()
                .map(|m| m.get("data").is_none_or(Value::is_null))
        })
        .unwrap_or(false)
}

/// A body without `data` modifies only the fields it gives: the stored operation's jobs are
/// kept, and so are its description and realtimeService unless the body names them. `None`
/// when the body is not a JSON object (parsing it reports the error).
fn with_stored_jobs(body: &[u8], stored: &OperationRecord) -> Option<Vec<u8>> {
    let Value::Object(mut fields) = crate::lenient_json::from_slice::<Value>(body).ok()? else {
        return None;
    };
    let Value::Object(mut canonical) = serde_json::from_str::<Value>(&stored.jobs).ok()? else {
        return None;
    };
    fields.insert("data".into(), canonical.remove("data")?);
    let kept = [
        ("description", Value::String(stored.description.clone())),
        ("realtimeService", Value::Bool(stored.realtime_service)),
    ];
    for (name, value) in kept {
        if fields.get(name).is_none_or(Value::is_null) {
            fields.insert(name.into(), value);
        }
    }
    serde_json::to_vec(&Value::Object(fields)).ok()
}

async fn delete_results(
    ctx: &Arc<State>,
    app_key: &str,
    operation_id: &str,
) -> Result<(), crate::catalog::CatalogError> {
    ctx.catalog
        .delete_produced_by(app_key, operation_id)
        .await?;
    Ok(())
}

/// `GET /operations`.
pub async fn list(call: Call<'_>) -> Result<Reply, ApiError> {
    let q = &call.query;
    let prefix = q.get("name").unwrap_or("").trim().to_owned();
    if !prefix.is_empty() {
        check_operation_id(&prefix)?;
    }
    let page = q.int("page", 1, 1..=u32::MAX)?;
    let rows = super::paging::rows(q, 20, call.ctx.config.limits.max_items)?;
    let (sort, descending) = match q.get("sort").map(str::trim) {
        None | Some("") | Some("date:desc") => (SortKey::Date, true),
        Some("date:asc") | Some("date") => (SortKey::Date, false),
        Some("name:asc") | Some("name") => (SortKey::Name, false),
        Some("name:desc") => (SortKey::Name, true),
        Some(_) => return Err(ApiError::invalid("sort")),
    };
    if q.bool("template", false)? {
        let mut templates: Vec<Value> = crate::operation::templates()
            .into_iter()
            .filter(|t| {
                t.get("operationId")
                    .and_then(Value::as_str)
                    .is_some_and(|id| id.starts_with(&prefix))
            })
            .map(|mut t| {
                if let Value::Object(map) = &mut t {
                    map.insert("appKey".into(), Value::String(call.app.app_key.clone()));
                    // The built-in templates have not changed since the app was created.
                    map.insert(
                        "updatedAt".into(),
                        Value::String(views::time(call.app.created_at)),
                    );
                }
                t
            })
            .collect();
        let total = templates.len();
        let start = usize::try_from(u64::from(page - 1) * u64::from(rows)).unwrap_or(usize::MAX);
        let page_items: Vec<Value> = templates
            .drain(..)
            .skip(start)
            .take(rows as usize)
            .collect();
        return Ok(Reply::ok(json!({
            "paging": { "page": page, "rows": rows, "totalCount": total },
            "operations": page_items,
        })));
    }
    let (ops, total) = call
        .ctx
        .catalog
        .list_operations(&call.app.app_key, &prefix, page, rows, sort, descending)
        .await
        .map_err(|e| call.catalog_error(&e))?;
    let views: Vec<Value> = ops.iter().map(|op| operation_view(&call.app, op)).collect();
    Ok(Reply::ok(json!({
        "paging": { "page": page, "rows": rows, "totalCount": total },
        "operations": views,
    })))
}

/// `GET /operations/{operationId}`.
pub async fn get(call: Call<'_>) -> Result<Reply, ApiError> {
    let id = path_id(&call)?;
    let op = call
        .ctx
        .catalog
        .operation(&call.app.app_key, &id)
        .await
        .map_err(|e| call.catalog_error(&e))?
        .ok_or_else(|| ApiError::invalid("no such operation"))?;
    Ok(Reply::ok(
        json!({ "operation": operation_view(&call.app, &op) }),
    ))
}

/// `DELETE /operations/{operationId}?deleteThumbnail=`.
pub async fn delete(call: Call<'_>) -> Result<Reply, ApiError> {
    let id = path_id(&call)?;
    let delete_thumbnail = call.query.bool("deleteThumbnail", false)?;
    let key = call.app.app_key.clone();
    match call.ctx.catalog.delete_operation(&key, &id).await {
        Ok(()) => {}
        Err(crate::catalog::CatalogError::NotFound(_)) => {
            return Err(ApiError::invalid("no such operation"))
        }
        Err(e) => return Err(call.catalog_error(&e)),
    }
    call.ctx.l1.invalidate_operation(&key, &id);
    if delete_thumbnail {
        delete_results(&call.ctx, &key, &id)
            .await
            .map_err(|e| call.catalog_error(&e))?;
    }
    Ok(Reply::ok(json!({})))
}

#[derive(Deserialize)]
struct ExecBody {
    basepath: Option<String>,
    #[serde(default, deserialize_with = "flex_list")]
    filepaths: Vec<String>,
    #[serde(default, rename = "operationIds", deserialize_with = "flex_list")]
    operation_ids: Vec<String>,
    #[serde(rename = "callbackUrl")]
    callback_url: Option<String>,
}

/// `POST /operations-exec`: queues one `image` task per file and operation.
pub async fn exec(mut call: Call<'_>) -> Result<Reply, ApiError> {
    let body: ExecBody = call.json().await?;
    let limits = call.ctx.config.limits.clone();
    let basepath = paths::param(body.basepath.as_deref(), limits.max_path_bytes)?
        .ok_or_else(|| ApiError::invalid("basepath is required"))?;
    if body.filepaths.is_empty() {
        return Err(ApiError::invalid("filepaths is required"));
    }
    if body.operation_ids.is_empty() {
        return Err(ApiError::invalid("operationIds is required"));
    }
    if body.filepaths.len() > limits.max_items {
        return Err(ApiError::new(ResultCode::FileCountLimit));
    }
    let callback = image::callback_target(&call.ctx, body.callback_url.as_deref()).await?;
    let ops = load_requested(&call, &body.operation_ids).await?;
    let mut sources = Vec::new();
    for raw in &body.filepaths {
        let joined = if raw.starts_with('/') {
            raw.clone()
        } else {
            paths::join(&basepath, raw)
        };
        let path = paths::normalize(&joined, limits.max_path_bytes)?;
        let found = image::sources_at(&call.ctx, &call.app, &path)
            .await
            .map_err(ApiError::from)?;
        sources.extend(found);
        if sources.len() > limits.max_items {
            return Err(ApiError::new(ResultCode::FileCountLimit));
        }
    }
    if sources.is_empty() {
        return Err(ApiError::new(ResultCode::FolderNotExists));
    }
    let mut queues = Vec::new();
    for source in &sources {
        for (op, spec) in &ops {
            let task =
                image::enqueue_image(&call.ctx, &call.app, source, op, spec, callback.as_ref())
                    .await?;
            queues.push(views::queue(&call.ctx, &call.app, &task));
        }
    }
    let views: Vec<Value> = ops
        .iter()
        .map(|(op, _)| operation_view(&call.app, op))
        .collect();
    Ok(Reply::ok(json!({
        "paging": { "page": 1, "rows": views.len(), "totalCount": views.len() },
        "operations": views,
        "queues": queues,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn operation_ids_are_kept_once_in_first_order() {
        let raw = ids(&["b", "a", "b", "c", "a", "b"]);
        assert_eq!(distinct_operation_ids(&raw, 3), Ok(ids(&["b", "a", "c"])));
    }

    #[test]
    fn repeated_ids_do_not_count_against_the_limit() {
        let raw: Vec<String> = std::iter::repeat_n("thumb".to_owned(), 10_000).collect();
        assert_eq!(distinct_operation_ids(&raw, 1), Ok(ids(&["thumb"])));
    }

    #[test]
    fn more_distinct_ids_than_the_limit_are_refused() {
        let raw: Vec<String> = (0..21).map(|i| format!("op{i}")).collect();
        let err = distinct_operation_ids(&raw, 20).expect_err("21 ids");
        assert_eq!(err.code, ResultCode::InvalidParameters);
        assert!(distinct_operation_ids(&raw[..20], 20).is_ok());
    }

    #[test]
    fn malformed_ids_are_refused() {
        let err = distinct_operation_ids(&ids(&["ok", "not/valid"]), 20).expect_err("slash");
        assert_eq!(err.code, ResultCode::InvalidParameters);
    }
}
