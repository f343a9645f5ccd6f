//! Upload API, several files: `POST /images` as `multipart/form-data` with a `params` JSON part
//! and `files` parts; `.zip` archives are unpacked into the base path.

use super::envelope::{ApiError, Reply};
use super::images::{enqueue_all, on_conflict};
use super::params::{flex_bool, flex_list, json_body};
use super::{views, Call};
use crate::callback::CallbackTarget;
use crate::catalog::OnConflict;
use crate::catalog::OperationRecord;
use crate::ingest;
use crate::operation::OperationSpec;
use crate::paths;
use crate::produce;
use crate::result_code::ResultCode;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyDataStream;
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::Read;

#[derive(Deserialize)]
struct Params {
    basepath: Option<String>,
    #[serde(default, deserialize_with = "flex_bool")]
    overwrite: Option<bool>,
    #[serde(default, deserialize_with = "flex_bool")]
    autorename: Option<bool>,
    #[serde(default, rename = "operationIds", deserialize_with = "flex_list")]
    operation_ids: Vec<String>,
    #[serde(rename = "callbackUrl")]
    callback_url: Option<String>,
}

/// One uploaded part: its name and its bytes, or why they were refused while reading.
struct Part {
    file_name: String,
    size: u64,
    data: Result<Bytes, ResultCode>,
}

/// One file to store, after zip archives are expanded.
struct Item {
    path: Result<String, ResultCode>,
    display_path: String,
    size: u64,
    data: Result<Bytes, ResultCode>,
}

/// `POST /images`: stores several files, answering per file.
pub async fn upload(mut call: Call) -> Result<Reply, ApiError> {
    let (params, parts) = read_parts(&mut call).await?;
    let params: Params = json_body(&params)?;
    let raw_base = params
        .basepath
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid("params.basepath is required"))?;
    let limits = &call.ctx.config.limits;
    let basepath = paths::normalize(raw_base, limits.max_path_bytes)?;
    let rule = on_conflict(
        params.overwrite.unwrap_or(false),
        params.autorename.unwrap_or(false),
    );
    if parts.is_empty() {
        return Err(ApiError::new(ResultCode::InvalidFiles));
    }
    let callback = produce::callback_target(&call.ctx, params.callback_url.as_deref()).await?;
    let ops = produce::load_operations(&call.ctx, &call.app, &params.operation_ids).await?;
    let mut items = Vec::with_capacity(parts.len());
    for part in parts {
        if is_zip(&part) {
            items.extend(unzip(&call, &basepath, part).await);
        } else {
            let target = part_target(&basepath, &part.file_name, limits.max_path_bytes);
            items.push(Item {
                display_path: target
                    .clone()
                    .unwrap_or_else(|_| paths::join(&basepath, &part.file_name)),
                path: target,
                size: part.size,
                data: part.data,
            });
        }
    }
    if items.len() > limits.max_items {
        return Err(ApiError::new(ResultCode::FileCountLimit));
    }
    store_items(&call, items, rule, &ops, callback.as_ref()).await
}

async fn store_items(
    call: &Call,
    items: Vec<Item>,
    rule: OnConflict,
    ops: &[(OperationRecord, OperationSpec)],
    callback: Option<&CallbackTarget>,
) -> Result<Reply, ApiError> {
    let mut successes: Vec<Value> = Vec::new();
    let mut errors: Vec<Value> = Vec::new();
    let mut success_files: Vec<Value> = Vec::new();
    let mut fail_files: Vec<Value> = Vec::new();
    for item in items {
        let stored = match (item.path, item.data) {
            (Ok(path), Ok(bytes)) if !bytes.is_empty() => {
                ingest::store_upload(&call.ctx, &call.app, &path, bytes, rule).await
            }
            (Ok(_), Ok(_)) => Err(ResultCode::InvalidFiles),
            (Err(code), _) | (_, Err(code)) => Err(code),
        };
        match stored {
            Ok(outcome) => {
                let f = &outcome.file;
                let queues = enqueue_all(call, f, ops, callback).await?;
                successes.push(views::file(&call.ctx, &call.app, f, queues));
                success_files.push(json!({
                    "id": f.id,
                    "name": paths::name(&f.path),
                    "path": f.path,
                    "url": call.ctx.file_url(&call.app.container, &f.path),
                    "width": f.width,
                    "height": f.height,
                    "sizeByte": f.bytes,
                    "overwritten": outcome.overwritten,
                    "updatedAt": views::time(f.updated_at),
                }));
            }
            Err(code) => {
                errors.push(json!({
                    "path": item.display_path,
                    "bytes": item.size,
                    "error": { "resultCode": code.code(), "resultMessage": code.message() },
                }));
                fail_files.push(json!({
                    "name": paths::name(&item.display_path),
                    "path": item.display_path,
                    "sizeByte": item.size,
                    "resultCode": code.code(),
                    "resultMessage": code.message(),
                }));
            }
        }
    }
    let code = match (successes.is_empty(), errors.is_empty()) {
        (_, true) => ResultCode::Success,
        (false, false) => ResultCode::PartialSuccess,
        (true, false) => ResultCode::UploadAllFail,
    };
    if let Some(target) = callback {
        call.ctx
            .callbacks
            .send(
                target,
                json!({
                    "header": super::envelope::header(code, code.message()),
                    "id": target.id,
                    "successFiles": success_files,
                    "failFiles": fail_files,
                }),
            )
            .await;
    }
    Ok(Reply::with_code(
        code,
        json!({ "errors": errors, "successes": successes }),
    ))
}

/// The catalog path of an uploaded part: its base name under the base path.
fn part_target(
    basepath: &str,
    file_name: &str,
    max_path_bytes: usize,
) -> Result<String, ResultCode> {
    let base_name = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(file_name)
        .trim();
    paths::check_name(base_name)?;
    paths::normalize(&paths::join(basepath, base_name), max_path_bytes)
}

fn is_zip(part: &Part) -> bool {
    let named = part.file_name.to_ascii_lowercase().ends_with(".zip");
    let signed = part
        .data
        .as_ref()
        .is_ok_and(|b| b.starts_with(b"PK\x03\x04"));
    named || signed
}

/// Reads every part of the multipart body, bounding each file and the whole body.
async fn read_parts(call: &mut Call) -> Result<(Bytes, Vec<Part>), ApiError> {
    let content_type = call
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| ApiError::invalid("multipart/form-data with a boundary expected"))?;
    let limits = call.ctx.config.limits.clone();
    let announced = call
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limits.max_request_bytes) {
        return Err(ApiError::new(ResultCode::UploadSizeLimit));
    }
    let body = call.take_body()?;
    let constraints = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(limits.max_request_bytes));
    let mut multipart =
        multer::Multipart::with_constraints(BodyDataStream::new(body), boundary, constraints);
    let mut params = None;
    let mut parts = Vec::new();
    let mut received = 0u64;
    let multipart_error = |e: multer::Error| match e {
        multer::Error::StreamSizeExceeded { .. } => ApiError::new(ResultCode::UploadSizeLimit),
        other => ApiError::invalid(&other.to_string()),
    };
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("params") => {
                let bytes = field.bytes().await.map_err(multipart_error)?;
                received += bytes.len() as u64;
                params = Some(bytes);
            }
            Some("files") | Some("file") => {
                if parts.len() >= limits.max_items {
                    return Err(ApiError::new(ResultCode::FileCountLimit));
                }
                let file_name = field.file_name().unwrap_or_default().to_owned();
                let mut buf = BytesMut::new();
                let mut size = 0u64;
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    size += chunk.len() as u64;
                    if size <= limits.max_upload_bytes || file_name.ends_with(".zip") {
                        buf.extend_from_slice(&chunk);
                    }
                }
                received += size;
                let too_big = size > limits.max_upload_bytes && !file_name.ends_with(".zip");
                parts.push(Part {
                    file_name,
                    size,
                    data: if too_big {
                        Err(ResultCode::UploadSizeLimit)
                    } else {
                        Ok(buf.freeze())
                    },
                });
            }
            _ => {
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    received += chunk.len() as u64;
                }
            }
        }
    }
    call.ctx.metrics.bytes_in.inc_by(received);
    let params = params.ok_or_else(|| ApiError::invalid("params part is required"))?;
    Ok((params, parts))
}

/// Expands a zip archive into items under the base path, one entry at a time.
async fn unzip(call: &Call, basepath: &str, part: Part) -> Vec<Item> {
    let zip_path = paths::join(basepath, &part.file_name);
    let bytes = match part.data {
        Ok(bytes) => bytes,
        Err(code) => return vec![failed(zip_path, part.size, code)],
    };
    let limits = call.ctx.config.limits.clone();
    let base = basepath.to_owned();
    let size = part.size;
    let task = tokio::task::spawn_blocking(move || {
        extract(&bytes, &base, &limits).unwrap_or_else(|code| vec![failed(zip_path, size, code)])
    });
    task.await.unwrap_or_default()
}

fn failed(path: String, size: u64, code: ResultCode) -> Item {
    Item {
        path: Err(code),
        display_path: path,
        size,
        data: Err(code),
    }
}

/// Reads a zip archive's file entries. Each entry is bounded by the upload limit and all of
/// them together by the request limit, so a compression bomb cannot exhaust memory.
fn extract(
    bytes: &[u8],
    basepath: &str,
    limits: &crate::config::LimitsConfig,
) -> Result<Vec<Item>, ResultCode> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|_| ResultCode::InvalidFiles)?;
    if archive.len() > limits.max_items {
        return Err(ResultCode::FileCountLimit);
    }
    let mut items = Vec::new();
    let mut total = 0u64;
    for i in 0..archive.len() {
        let Ok(mut entry) = archive.by_index(i) else {
            items.push(failed(
                format!("{basepath}#{i}"),
                0,
                ResultCode::InvalidFiles,
            ));
            continue;
        };
        if entry.is_dir() {
            continue;
        }
        let declared = entry.size();
        let raw_name = entry.name().to_owned();
        let display = paths::join(basepath, raw_name.trim_start_matches('/'));
        let Some(relative) = entry
            .enclosed_name()
            .and_then(|p| p.to_str().map(str::to_owned))
        else {
            items.push(failed(display, declared, ResultCode::InvalidFilename));
            continue;
        };
        let target = paths::normalize(&paths::join(basepath, &relative), limits.max_path_bytes);
        if declared > limits.max_upload_bytes {
            items.push(failed(display, declared, ResultCode::UploadSizeLimit));
            continue;
        }
        let mut data = Vec::with_capacity(usize::try_from(declared).unwrap_or(0).min(1 << 24));
        let read = (&mut entry)
            .take(limits.max_upload_bytes + 1)
            .read_to_end(&mut data);
        let size = data.len() as u64;
        total += size;
        let data = match read {
            Err(_) => Err(ResultCode::InvalidFiles),
            Ok(_) if size > limits.max_upload_bytes => Err(ResultCode::UploadSizeLimit),
            Ok(_) if total > limits.max_request_bytes => Err(ResultCode::UploadSizeLimit),
            Ok(_) => Ok(Bytes::from(data)),
        };
        items.push(Item {
            display_path: target.clone().unwrap_or(display),
            path: target,
            size,
            data,
        });
    }
    Ok(items)
}
