//! `HEAD /uploads/{id}` (its offset, length, metadata and expiry) and `DELETE /uploads/{id}`
//! (tus termination).

use super::answer::{Answer, Refusal, UPLOAD_LENGTH, UPLOAD_METADATA, UPLOAD_OFFSET};
use crate::http::api::Call;
use crate::ingest::resumable;
use http::StatusCode;

/// `HEAD /uploads/{id}`: the bytes stored so far, which is where the client resumes.
pub async fn head(call: Call<'_>, id: &str) -> Result<Answer, Refusal> {
    let upload = resumable::find(&call.ctx, &call.app, id)
        .await
        .map_err(|e| Refusal::resumable(e, &call.ctx.config))?;
    let mut answer = Answer::new(StatusCode::OK)
        .header(UPLOAD_OFFSET, upload.offset)
        .header(UPLOAD_LENGTH, upload.length)
        .expires(upload.expires_at);
    if !upload.metadata.is_empty() {
        answer = answer.header(UPLOAD_METADATA, &upload.metadata);
    }
    Ok(answer)
}

/// `DELETE /uploads/{id}`: the upload and its stored bytes are dropped.
pub async fn terminate(call: Call<'_>, id: &str) -> Result<Answer, Refusal> {
    resumable::terminate(&call.ctx, &call.app, id)
        .await
        .map_err(|e| Refusal::resumable(e, &call.ctx.config))?;
    Ok(Answer::new(StatusCode::NO_CONTENT))
}
