//! `PATCH /uploads/{id}`: the next bytes of an upload, at the offset the client states, streamed
//! into storage as they arrive. The request that brings the last byte stores the file as
//! `PUT /images` would (same checks, same result codes, operations queued) and says which file
//! it stored in `Pictor-File-Id` and `Pictor-File-Path`. Before reading its body, a request
//! takes its share of the node's request body memory ([`resumable::request_memory`]); when
//! the node has none left it is refused with 503 and `Retry-After`, and the client sends it
//! again.

use super::answer::{Answer, Refusal, FILE_ID, FILE_PATH, QUEUE_IDS, RESULT_CODE, UPLOAD_OFFSET};
use super::{header, metadata, size};
use crate::catalog::Upload;
use crate::http::api::envelope::ApiError;
use crate::http::api::images::enqueue_all;
use crate::http::api::operations::load_for_upload;
use crate::http::api::{busy, Call};
use crate::ingest::resumable::checksum::Checksum;
use crate::ingest::resumable::{self, Received, ResumableError};
use crate::result_code::ResultCode;
use http::header::{HeaderName, CONTENT_TYPE};
use http::StatusCode;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

/// `Upload-Checksum`.
const UPLOAD_CHECKSUM: HeaderName = HeaderName::from_static("upload-checksum");

/// The only media type of a PATCH body.
const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

/// Characters escaped in `Pictor-File-Path` (non-ASCII bytes always are).
const PATH_ESCAPES: &AsciiSet = &CONTROLS.add(b'%').add(b' ').add(b'"').add(b',');

/// `PATCH /uploads/{id}`.
pub async fn append(mut call: Call<'_>, id: &str) -> Result<Answer, Refusal> {
    let media_type = header(&call.headers, &CONTENT_TYPE)
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if !media_type.is_some_and(|t| t.eq_ignore_ascii_case(OFFSET_OCTET_STREAM)) {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ResultCode::UploadContentType,
        ));
    }
    let offset = size(&call.headers, &UPLOAD_OFFSET)?
        .ok_or_else(|| ApiError::invalid("Upload-Offset is required"))?;
    let checksum = header(&call.headers, &UPLOAD_CHECKSUM)
        .map(Checksum::parse)
        .transpose()
        .map_err(|e| ApiError::invalid(&e.to_string()))?;
    let refuse = |e: ResumableError| Refusal::resumable(e, &call.ctx.config);
    let upload = resumable::find(&call.ctx, &call.app, id)
        .await
        .map_err(refuse)?;
    if offset != upload.offset {
        return Err(refuse(ResumableError::OffsetMismatch(Some(upload.offset))));
    }
    let announced = call.body.announced();
    let memory = resumable::request_memory(&call.ctx, &upload, announced);
    call.memory
        .cover(memory)
        .map_err(|_| Refusal::busy(busy(&call.ctx)))?;
    let body = futures_util::stream::unfold(&mut *call.body, |body| async move {
        body.data().await.map(|item| (item, body))
    });
    let received = resumable::receive(
        &call.ctx,
        &call.app,
        &upload,
        body,
        announced,
        checksum.as_ref(),
    )
    .await
    .map_err(refuse)?;
    if received.chunk.offset.saturating_add(received.chunk.bytes) == upload.length {
        return finish(&call, &upload, received).await;
    }
    let (offset, expires_at) = resumable::record(&call.ctx, &upload, &received)
        .await
        .map_err(refuse)?;
    Ok(Answer::new(StatusCode::NO_CONTENT)
        .header(UPLOAD_OFFSET, offset)
        .expires(expires_at))
}

/// Stores the file of an upload whose last bytes were `received`, then queues its operations.
async fn finish(call: &Call<'_>, upload: &Upload, received: Received) -> Result<Answer, Refusal> {
    let ctx = &call.ctx;
    let last = received.chunk;
    let request = match metadata::parse(&upload.metadata, &ctx.config.limits) {
        Ok(request) => request,
        Err(e) => {
            resumable::abandon(ctx, upload, Some(&last.blob_key)).await;
            return Err(Refusal::unaccepted(e));
        }
    };
    let ops = match load_for_upload(call, &request.operation_ids).await {
        Ok(ops) => ops,
        Err(e) if e.code == ResultCode::Fail => {
            crate::ingest::discard_unrecorded(ctx, &last.blob_key).await;
            return Err(e.into());
        }
        Err(e) => {
            resumable::abandon(ctx, upload, Some(&last.blob_key)).await;
            return Err(Refusal::unaccepted(e));
        }
    };
    let outcome = resumable::finish(
        ctx,
        &call.app,
        upload,
        last,
        &request.path,
        request.rule,
        request.tags,
    )
    .await
    .map_err(|e| Refusal::resumable(e, &ctx.config))?;
    let file = &outcome.file;
    if outcome.overwritten {
        ctx.l1.invalidate_source(&call.app.app_key, &file.path);
    }
    let queues = enqueue_all(call, file, &ops, None).await?;
    let queue_ids: Vec<&str> = queues
        .iter()
        .filter_map(|q| q["queueId"].as_str())
        .collect();
    let mut answer = Answer::new(StatusCode::NO_CONTENT)
        .header(UPLOAD_OFFSET, upload.length)
        .header(RESULT_CODE, ResultCode::Success.code())
        .header(FILE_ID, &file.id)
        .header(FILE_PATH, utf8_percent_encode(&file.path, PATH_ESCAPES));
    if !queue_ids.is_empty() {
        answer = answer.header(QUEUE_IDS, queue_ids.join(","));
    }
    Ok(answer)
}
