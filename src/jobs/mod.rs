//! The persistent task queue: what a task does ([`Work`], one serde-tagged enum whose tag is the
//! catalog's `queueType` column and whose content is its payload), the one place tasks are
//! built and queued ([`enqueue`]), the workers that run them under leases, the callback bodies
//! of `image` tasks, and the periodic maintenance sweep.

pub mod callback_body;
pub mod delete;
pub mod image;
pub mod maintenance;
pub mod worker;

use crate::catalog::{CatalogError, Task, TaskStatus};
use crate::clock::now_ms;
use crate::context::Context;
use serde::{Deserialize, Serialize};

pub use worker::spawn_workers;

/// Every `queueType` the workers run.
pub const QUEUE_TYPES: [&str; 2] = ["image", "delete"];

/// What a task does. Serialised adjacently tagged: the tag is the task's `queueType`, the
/// content its payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "queueType", content = "payload", rename_all = "lowercase")]
pub enum Work {
    /// Render an operation over a source file and store the results.
    Image(image::ImagePayload),
    /// Delete files and folders.
    Delete(delete::DeletePayload),
}

/// Why a stored task cannot be read back as [`Work`].
#[derive(Debug, thiserror::Error)]
#[error("task {id}: unreadable `{queue_type}` payload: {source}")]
pub struct BadPayload {
    /// The task's id.
    pub id: String,
    /// Its `queueType`.
    pub queue_type: String,
    /// The parse error.
    #[source]
    pub source: serde_json::Error,
}

impl Work {
    /// The `queueType` of this work.
    pub fn queue_type(&self) -> &'static str {
        match self {
            Self::Image(_) => QUEUE_TYPES[0],
            Self::Delete(_) => QUEUE_TYPES[1],
        }
    }

    /// The work of a stored task.
    pub fn of(task: &Task) -> Result<Self, BadPayload> {
        let bad = |source| BadPayload {
            id: task.id.clone(),
            queue_type: task.queue_type.clone(),
            source,
        };
        let payload: serde_json::Value = serde_json::from_str(&task.payload).map_err(bad)?;
        serde_json::from_value(serde_json::json!({
            "queueType": task.queue_type,
            "payload": payload,
        }))
        .map_err(bad)
    }

    /// The payload column of this work.
    fn payload(&self) -> Result<String, serde_json::Error> {
        match self {
            Self::Image(p) => serde_json::to_string(p),
            Self::Delete(p) => serde_json::to_string(p),
        }
    }
}

/// Builds a task for `work`, stores it in W and wakes a worker: the one place tasks are queued.
/// `operation_id` and `path` are what the task listing shows (empty for deletions).
pub async fn enqueue(
    ctx: &Context,
    app_key: &str,
    operation_id: &str,
    path: &str,
    work: &Work,
) -> Result<Task, CatalogError> {
    let payload = work.payload().map_err(CatalogError::backend)?;
    let task = Task {
        id: uuid::Uuid::new_v4().to_string(),
        app_key: app_key.to_owned(),
        queue_type: work.queue_type().to_owned(),
        status: TaskStatus::Waiting,
        try_count: 0,
        queued_at: now_ms(),
        operation_id: operation_id.to_owned(),
        path: path.to_owned(),
        payload,
        error: None,
    };
    ctx.catalog.enqueue_task(&task).await?;
    ctx.tasks_queued.notify_one();
    Ok(task)
}

/// How one attempt at a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Done.
    Done,
    /// Failed in a way another attempt may fix.
    Retry(String),
    /// Failed for good.
    Fail(String),
}

impl Attempt {
    /// Whether the task ends with this attempt after `tries` tries out of `max_tries`.
    pub fn is_final(&self, tries: u32, max_tries: u32) -> bool {
        match self {
            Self::Done | Self::Fail(_) => true,
            Self::Retry(_) => tries >= max_tries,
        }
    }

    /// The attempt's outcome for an error: another try when the error may pass, else a failure.
    pub fn failed(retryable: bool, message: String) -> Self {
        if retryable {
            Self::Retry(message)
        } else {
            Self::Fail(message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_round_trips_through_the_task_columns() {
        let works = [
            Work::Image(image::ImagePayload {
                source_id: "s".into(),
                operation_id: "thumb".into(),
                callback_url: Some("https://example.com/cb".into()),
                callback_id: "7".into(),
            }),
            Work::Delete(delete::DeletePayload {
                file_ids: vec!["f".into()],
                folder_ids: vec![],
                include_thumbnail: true,
            }),
        ];
        for work in works {
            let task = Task {
                id: "t".into(),
                app_key: "a".into(),
                queue_type: work.queue_type().into(),
                status: TaskStatus::Waiting,
                try_count: 0,
                queued_at: 0,
                operation_id: String::new(),
                path: String::new(),
                payload: work.payload().expect("payload"),
                error: None,
            };
            assert_eq!(Work::of(&task).expect("read back"), work);
        }
    }

    #[test]
    fn an_unknown_queue_type_or_payload_is_refused() {
        let mut task = Task {
            id: "t".into(),
            app_key: "a".into(),
            queue_type: "resize".into(),
            status: TaskStatus::Waiting,
            try_count: 0,
            queued_at: 0,
            operation_id: String::new(),
            path: String::new(),
            payload: "{}".into(),
            error: None,
        };
        assert!(Work::of(&task).is_err());
        task.queue_type = "delete".into();
        task.payload = "{\"file_ids\": 3}".into();
        let e = Work::of(&task).expect_err("bad payload");
        assert_eq!(e.queue_type, "delete");
    }
}
