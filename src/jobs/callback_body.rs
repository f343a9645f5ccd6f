//! Callback bodies of `image` tasks, as the API guide's "Request Result Callback Body" shows
//! them: the outcome of a render, and the failure of a task whose source file or operation was
//! gone before it ran.

use super::image::ImagePayload;
use super::Attempt;
use crate::callback::CallbackTarget;
use crate::catalog::{AppRecord, FileRecord, OperationRecord, Task};
use crate::context::Context;
use crate::paths;
use crate::result_code::{header, ResultCode};
use crate::variant::produce::ProduceError;
use serde_json::{json, Value};

/// The callback target a payload names, if any.
pub fn target(payload: &ImagePayload) -> Option<CallbackTarget> {
    payload.callback_url.as_ref().map(|url| CallbackTarget {
        url: url.clone(),
        id: payload.callback_id.clone(),
    })
}

/// The `url`, `name` and `path` of a file.
fn file_ref(ctx: &Context, app: &AppRecord, file: &FileRecord) -> Value {
    json!({
        "url": ctx.file_url(&app.container, &file.path),
        "name": paths::name(&file.path),
        "path": file.path,
    })
}

/// The body reporting the result of a render: its files, or the error.
pub fn result_body(
    ctx: &Context,
    id: &str,
    queue_id: &str,
    app: &AppRecord,
    source: &FileRecord,
    op: &OperationRecord,
    result: &Result<Vec<(FileRecord, bool)>, ProduceError>,
) -> Value {
    match result {
        Ok(files) => json!({
            "header": header(ResultCode::Success, ResultCode::Success.message()),
            "id": id,
            "queueId": queue_id,
            "overwritten": files.iter().any(|(_, overwritten)| *overwritten),
            "operationId": op.operation_id,
            "sourceFile": file_ref(ctx, app, source),
            "resultFiles": files.iter().map(|(f, _)| file_ref(ctx, app, f)).collect::<Vec<_>>(),
        }),
        Err(e) => {
            json!({
                "header": failure_header(e.result_code(), &e.to_string()),
                "id": id,
                "queueId": queue_id,
                "overwritten": false,
                "operationId": op.operation_id,
                "sourceFile": file_ref(ctx, app, source),
            })
        }
    }
}

/// The header of a failure body. A failed operation (40001 in task errors) is reported with
/// the guide's code and message, 500201 and `Operation fail. ` exactly; other failures (the
/// catalog or the store, a name held by an uploaded file) keep their code, with the detail
/// after the table's message.
fn failure_header(code: ResultCode, detail: &str) -> Value {
    match code {
        ResultCode::OperationFail => header(
            ResultCode::CallbackOperationFail,
            ResultCode::CallbackOperationFail.message(),
        ),
        other => header(other, &format!("{} {detail}", other.message())),
    }
}

/// Sends the failure callback of a task that ends without a result (its app, source file or
/// operation no longer exists, the catalog kept failing, or every attempt died with its
/// worker), when its payload names a callback. `sourceFile` is the source when it still
/// exists, `null` otherwise; the result code is 500201 (`Operation fail. `) for missing inputs
/// and -1 when the catalog failed on every try.
pub async fn report_without_result(
    ctx: &Context,
    task: &Task,
    payload: &ImagePayload,
    why: &Attempt,
) {
    let Some(target) = target(payload) else {
        return;
    };
    let (code, detail) = match why {
        Attempt::Done => return,
        Attempt::Fail(msg) => (ResultCode::OperationFail, msg.as_str()),
        Attempt::Retry(msg) => (ResultCode::Fail, msg.as_str()),
    };
    let app = ctx.catalog.app(&task.app_key).await.ok().flatten();
    let source_ref = match &app {
        Some(app) => ctx
            .catalog
            .file_by_id(&app.app_key, &payload.source_id)
            .await
            .ok()
            .flatten()
            .map_or(Value::Null, |source| file_ref(ctx, app, &source)),
        None => Value::Null,
    };
    let body = json!({
        "header": failure_header(code, detail),
        "id": payload.callback_id,
        "queueId": task.id,
        "overwritten": false,
        "operationId": payload.operation_id,
        "sourceFile": source_ref,
    });
    ctx.callbacks.send(&target, body).await;
}
