//! Upload API, single file: `PUT /images?path=&overwrite=&autorename=&tags=` with the raw
//! bytes.

use super::envelope::{ApiError, Reply};
use super::operations::load_for_upload;
use super::{views, Call};
use crate::catalog::OnConflict;
use crate::jobs::image;
use crate::paths;
use crate::result_code::ResultCode;
use serde_json::json;

/// Chooses the conflict rule from the two flags of the API.
pub fn on_conflict(overwrite: bool, autorename: bool) -> OnConflict {
    if overwrite {
        OnConflict::Overwrite
    } else if autorename {
        OnConflict::Rename
    } else {
        OnConflict::Fail
    }
}

/// `PUT /images`: stores one file, with the comma-separated `tags` when given.
pub async fn upload(mut call: Call<'_>) -> Result<Reply, ApiError> {
    let path = paths::param(
        call.query.get("path"),
        call.ctx.config.limits.max_path_bytes,
    )?
    .ok_or_else(|| ApiError::invalid("path is required"))?;
    if path == "/" {
        return Err(ApiError::new(ResultCode::FilenameEmpty));
    }
    let rule = on_conflict(
        call.query.bool("overwrite", false)?,
        call.query.bool("autorename", false)?,
    );
    let tags = super::tags::tag_list(&call.query.list("tags"), &call.ctx.config.limits)?;
    let ops = load_for_upload(&call, &call.query.list("operationIds")).await?;
    let limit = call.ctx.config.limits.max_upload_bytes;
    let bytes = call.read_body(limit, ResultCode::UploadSizeLimit).await?;
    if bytes.is_empty() {
        return Err(ApiError::new(ResultCode::InvalidFiles));
    }
    let outcome = call.store_upload(&path, bytes, rule, tags).await?;
    let queues = enqueue_all(&call, &outcome.file, &ops, None).await?;
    Ok(Reply::ok(json!({
        "file": views::file(&call.ctx, &call.app, &outcome.file, queues)
    })))
}

/// Queues the operations' tasks for a stored file; returns their queue views.
pub async fn enqueue_all(
    call: &Call<'_>,
    file: &crate::catalog::FileRecord,
    ops: &[(
        crate::catalog::OperationRecord,
        crate::operation::OperationSpec,
    )],
    callback: Option<&crate::callback::CallbackTarget>,
) -> Result<Vec<serde_json::Value>, ApiError> {
    let mut queues = Vec::with_capacity(ops.len());
    for (op, spec) in ops {
        let task = image::enqueue_image(&call.ctx, &call.app, file, op, spec, callback).await?;
        queues.push(views::queue(&call.ctx, &call.app, &task));
    }
    Ok(queues)
}
