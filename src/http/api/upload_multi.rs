//! Upload API, several files: `POST /images` as `multipart/form-data` with a `params` JSON part
//! and `files` parts; `.zip` archives are unpacked into the base path.

use super::envelope::{ApiError, Reply};
use super::images::on_conflict;
use super::operations::load_for_upload;
use super::params::{flex_bool, flex_list, json_body};
use super::upload_outcome::Outcome;
use super::Call;
use crate::ingest::zip::{self as zip_entries, Archive, Budget};
use crate::ingest::Item;
use crate::jobs::image;
use crate::paths;
use crate::result_code::ResultCode;
use crate::variant::pool::PoolError;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyDataStream;
use serde::Deserialize;

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
    #[serde(default, deserialize_with = "flex_list")]
    tags: Vec<String>,
}

/// One uploaded part: its name and its bytes, or why they were refused while reading.
struct Part {
    file_name: String,
    size: u64,
    data: Result<Bytes, ResultCode>,
}

/// A part ready to store: a plain file, or a measured archive read one entry at a time.
enum Upload {
    File(Item),
    Archive(Archive),
}

/// `POST /images`: stores several files, answering per file.
pub async fn upload(mut call: Call<'_>) -> Result<Reply, ApiError> {
    let (params, parts) = read_parts(&mut call).await?;
    let params: Params = json_body(&params)?;
    let basepath = paths::param(
        params.basepath.as_deref(),
        call.ctx.config.limits.max_path_bytes,
    )?
    .ok_or_else(|| ApiError::invalid("params.basepath is required"))?;
    let rule = on_conflict(
        params.overwrite.unwrap_or(false),
        params.autorename.unwrap_or(false),
    );
    if parts.is_empty() {
        return Err(ApiError::new(ResultCode::InvalidFiles));
    }
    let tags = super::tags::tag_list(&params.tags, &call.ctx.config.limits)?;
    let callback = image::callback_target(&call.ctx, params.callback_url.as_deref()).await?;
    let ops = load_for_upload(&call, &params.operation_ids).await?;
    let uploads = prepare(&call, &basepath, parts).await?;
    if uploads.iter().any(|u| matches!(u, Upload::Archive(_))) {
        // Room for one inflated entry (at most `limits.max_upload_bytes`) beside the body.
        let entry = call.ctx.config.limits.max_upload_bytes;
        call.hold(call.memory.bytes().saturating_add(entry))?;
    }
    let mut outcome = Outcome::default();
    for upload in uploads {
        match upload {
            Upload::File(item) => {
                outcome.store(&call, item, rule, &ops, &tags).await?;
            }
            Upload::Archive(mut archive) => {
                for index in 0..archive.len() {
                    let limits = call.ctx.config.limits.clone();
                    let base = basepath.clone();
                    let (back, item) = on_pool(&call, Turn::Waiting, move || {
                        let item = zip_entries::read_entry(&mut archive, index, &base, &limits);
                        (archive, item)
                    })
                    .await?;
                    archive = back;
                    if let Some(item) = item {
                        outcome.store(&call, item, rule, &ops, &tags).await?;
                    }
                }
            }
        }
    }
    Ok(outcome.finish(&call, callback.as_ref()).await)
}

/// Turns the parts into uploads. Every archive is measured against one budget for the whole
/// request before anything is stored: its entries and their inflated bytes, all archives
/// together, within `limits.max_items` (with the plain files) and `limits.max_inflated_bytes`.
async fn prepare(
    call: &Call<'_>,
    basepath: &str,
    parts: Vec<Part>,
) -> Result<Vec<Upload>, ApiError> {
    let limits = &call.ctx.config.limits;
    let plain = parts.iter().filter(|p| !is_zip(p)).count();
    let mut budget = Budget::new(
        limits.max_inflated_bytes,
        limits.max_items.saturating_sub(plain),
    );
    let mut uploads = Vec::with_capacity(parts.len());
    for part in parts {
        if !is_zip(&part) {
            let target = part_target(basepath, &part.file_name, limits.max_path_bytes);
            uploads.push(Upload::File(Item {
                display_path: target
                    .clone()
                    .unwrap_or_else(|_| paths::join(basepath, &part.file_name)),
                path: target,
                size: part.size,
                data: part.data,
            }));
            continue;
        }
        let zip_path = paths::join(basepath, &part.file_name);
        let bytes = match part.data {
            Ok(bytes) => bytes,
            Err(code) => {
                uploads.push(Upload::File(Item::failed(zip_path, part.size, code)));
                continue;
            }
        };
        let job_limits = limits.clone();
        let (left, measured) = on_pool(call, Turn::Admitted, move || {
            let mut budget = budget;
            let measured = zip_entries::measure(bytes, &mut budget, &job_limits);
            (budget, measured)
        })
        .await?;
        budget = left;
        match measured {
            Ok(Some(archive)) => uploads.push(Upload::Archive(archive)),
            Ok(None) => uploads.push(Upload::File(Item::failed(
                zip_path,
                part.size,
                ResultCode::InvalidFiles,
            ))),
            Err(overrun) => {
                tracing::info!(error = %overrun, "zip upload refused");
                return Err(ApiError::new(overrun.code()));
            }
        }
    }
    Ok(uploads)
}

/// When archive work waits for a render worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// Take a place in the pool or be refused at once, like a real-time render: measuring
    /// the archives of a new request.
    Admitted,
    /// Wait for a worker: reading the entries of archives already measured and admitted.
    Waiting,
}

/// Runs archive work on the render pool, which bounds the CPU that image work of any kind
/// takes. A request whose archives find the pool full is refused before anything is stored.
async fn on_pool<T, F>(call: &Call<'_>, turn: Turn, job: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let pool = &call.ctx.pool;
    let done = match turn {
        Turn::Admitted => pool.run(job).await,
        Turn::Waiting => pool.run_waiting(job).await,
    };
    done.map_err(|e| match e {
        PoolError::Overloaded => ApiError {
            code: ResultCode::Fail,
            message: Some("The server is busy; send the archive again later.".to_owned()),
        },
        PoolError::Aborted => {
            tracing::error!(error = %e, "zip extraction aborted");
            ApiError::new(ResultCode::Fail)
        }
    })
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
    paths::under(basepath, base_name, max_path_bytes)
}

fn is_zip(part: &Part) -> bool {
    let named = part.file_name.to_ascii_lowercase().ends_with(".zip");
    let signed = part
        .data
        .as_ref()
        .is_ok_and(|b| b.starts_with(b"PK\x03\x04"));
    named || signed
}

/// Reads every part of the multipart body, bounding each file and the whole body, and holding
/// what it keeps in the call's share of the request body memory.
async fn read_parts(call: &mut Call<'_>) -> Result<(Bytes, Vec<Part>), ApiError> {
    let content_type = call
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| ApiError::invalid("multipart/form-data with a boundary expected"))?;
    let limits = call.ctx.config.limits.clone();
    if call
        .body
        .announced()
        .is_some_and(|n| n > limits.max_request_bytes)
    {
        return Err(ApiError::new(ResultCode::UploadSizeLimit));
    }
    let constraints = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(limits.max_request_bytes));
    let mut multipart = multer::Multipart::with_constraints(
        BodyDataStream::new(&mut *call.body),
        boundary,
        constraints,
    );
    let mut params = None;
    // The first `params` part that is JSON is kept and later ones are skipped: a Python
    // `requests` client sends the content type it was given as a second `params` part.
    let mut params_parsed = false;
    let mut parts = Vec::new();
    // Bytes kept in memory: the `params` parts and the files read so far.
    let mut kept_bytes = 0u64;
    let memory = &mut call.memory;
    let ctx = &call.ctx;
    let mut hold = |n: u64| {
        kept_bytes += n;
        memory.cover(kept_bytes).map_err(|_| super::busy(ctx))
    };
    let multipart_error = |e: multer::Error| match e {
        multer::Error::StreamSizeExceeded { .. } => ApiError::new(ResultCode::UploadSizeLimit),
        other => ApiError::invalid(&other.to_string()),
    };
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("params") if !params_parsed => {
                let mut kept = BytesMut::new();
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    if (kept.len() + chunk.len()) as u64 > limits.max_params_bytes {
                        return Err(ApiError::invalid("params part too large"));
                    }
                    hold(chunk.len() as u64)?;
                    kept.extend_from_slice(&chunk);
                }
                params_parsed = crate::lenient_json::is_json(&kept);
                params = Some(kept.freeze());
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
                        hold(chunk.len() as u64)?;
                        buf.extend_from_slice(&chunk);
                    }
                }
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
            _ => while field.chunk().await.map_err(multipart_error)?.is_some() {},
        }
    }
    let params = params.ok_or_else(|| ApiError::invalid("params part is required"))?;
    Ok((params, parts))
}
