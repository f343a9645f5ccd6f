//! `POST /uploads` (tus creation): checks what the upload asks for as `PUT /images` checks its
//! query (path, flags, operations, a free name unless it may replace or rename), then creates
//! the upload and answers 201 with its `Location`.

use super::answer::{Answer, Refusal, UPLOAD_LENGTH, UPLOAD_METADATA};
use super::{header, metadata, size};
use crate::catalog::OnConflict;
use crate::http::api::envelope::ApiError;
use crate::http::api::operations::load_requested;
use crate::http::api::Call;
use crate::http::API_PREFIX;
use crate::ingest::resumable;
use crate::result_code::ResultCode;
use http::header::{HeaderName, LOCATION};
use http::StatusCode;

/// `Upload-Defer-Length`, of the creation-defer-length extension Pictor does not offer.
const UPLOAD_DEFER_LENGTH: HeaderName = HeaderName::from_static("upload-defer-length");

/// `POST /uploads`.
pub async fn create(call: Call<'_>) -> Result<Answer, Refusal> {
    if call.headers.contains_key(UPLOAD_DEFER_LENGTH) {
        return Err(ApiError::invalid("Upload-Defer-Length is not supported").into());
    }
    let length = size(&call.headers, &UPLOAD_LENGTH)?
        .ok_or_else(|| ApiError::invalid("Upload-Length is required"))?;
    resumable::check_length(&call.ctx, length)
        .map_err(|e| Refusal::resumable(e, &call.ctx.config))?;
    let raw = header(&call.headers, &UPLOAD_METADATA).unwrap_or_default();
    let request = metadata::parse(raw, &call.ctx.config.limits)?;
    // The operations it names must exist now; the app's defaults are read when it finishes.
    load_requested(&call, &request.operation_ids).await?;
    if request.rule == OnConflict::Fail {
        let taken = call
            .ctx
            .catalog
            .file_by_path(&call.app.app_key, &request.path)
            .await
            .map_err(|e| call.catalog_error(&e))?;
        if taken.is_some() {
            return Err(Refusal::unaccepted(ApiError::new(
                ResultCode::FileDuplicatedName,
            )));
        }
    }
    let upload = resumable::create(&call.ctx, &call.app, length, raw, request.rule)
        .await
        .map_err(|e| Refusal::resumable(e, &call.ctx.config))?;
    let location = format!("{API_PREFIX}{}/uploads/{}", call.app.app_key, upload.id);
    Ok(Answer::new(StatusCode::CREATED)
        .header(LOCATION, location)
        .expires(upload.expires_at))
}
