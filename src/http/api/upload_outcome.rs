//! The per-file answer of a multipart upload, built one stored item at a time, and its
//! result callback.

use super::envelope::{ApiError, Reply};
use super::images::enqueue_all;
use super::{views, Call};
use crate::callback::CallbackTarget;
use crate::catalog::{OnConflict, OperationRecord};
use crate::ingest::Item;
use crate::operation::OperationSpec;
use crate::paths;
use crate::result_code::ResultCode;
use serde_json::{json, Value};

/// What a multipart upload stored and refused so far.
#[derive(Default)]
pub struct Outcome {
    successes: Vec<Value>,
    errors: Vec<Value>,
    success_files: Vec<Value>,
    fail_files: Vec<Value>,
}

impl Outcome {
    /// Stores one item with `tags` (queueing the operations' tasks for it) and records how it
    /// went; the item's bytes are dropped when this returns. The request's `callbackUrl` receives only
    /// the upload-result body of [`Outcome::finish`]: the tasks report to their operation's own
    /// `callbackUrl` (slice and grid) when it has one, and to nobody otherwise.
    pub async fn store(
        &mut self,
        call: &Call<'_>,
        item: Item,
        rule: OnConflict,
        ops: &[(OperationRecord, OperationSpec)],
        tags: &[String],
    ) -> Result<(), ApiError> {
        let stored = match (item.path, item.data) {
            (Ok(path), Ok(bytes)) if !bytes.is_empty() => {
                call.store_upload(&path, bytes, rule, tags.to_vec()).await
            }
            (Ok(_), Ok(_)) => Err(ResultCode::InvalidFiles),
            (Err(code), _) | (_, Err(code)) => Err(code),
        };
        match stored {
            Ok(outcome) => {
                let f = &outcome.file;
                let queues = enqueue_all(call, f, ops, None).await?;
                self.successes
                    .push(views::file(&call.ctx, &call.app, f, queues));
                self.success_files.push(json!({
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
                self.errors.push(json!({
                    "path": item.display_path,
                    "bytes": item.size,
                    "error": { "resultCode": code.code(), "resultMessage": code.message() },
                }));
                self.fail_files.push(json!({
                    "name": paths::name(&item.display_path),
                    "path": item.display_path,
                    "sizeByte": item.size,
                    "resultCode": code.code(),
                    "resultMessage": code.message(),
                }));
            }
        }
        Ok(())
    }

    /// The answer (0, 1 or 2 by how many items were stored), after sending the callback.
    pub async fn finish(self, call: &Call<'_>, callback: Option<&CallbackTarget>) -> Reply {
        let code = match (self.successes.is_empty(), self.errors.is_empty()) {
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
                        "header": crate::result_code::header(code, code.message()),
                        "id": target.id,
                        "successFiles": self.success_files,
                        "failFiles": self.fail_files,
                    }),
                )
                .await;
        }
        Reply::with_code(
            code,
            json!({ "errors": self.errors, "successes": self.successes }),
        )
    }
}
