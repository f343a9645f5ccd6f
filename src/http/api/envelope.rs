//! The management API's answer: always HTTP 200 with a JSON object whose `header` carries
//! `isSuccessful`, `resultCode` and `resultMessage`.

use crate::http::body::{self, Body};
use crate::http::ResultLabel;
use crate::result_code::{header, ResultCode};
use http::header::{HeaderValue, CONTENT_TYPE};
use http::Response;
use serde_json::{json, Map, Value};

/// A failed API call: its result code and the message to show.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The result code.
    pub code: ResultCode,
    /// The message; the table's when not set.
    pub message: Option<String>,
}

impl ApiError {
    /// The table's message for `code`.
    pub fn new(code: ResultCode) -> Self {
        Self {
            code,
            message: None,
        }
    }

    /// The table's message with its placeholder filled by `detail`.
    pub fn with_detail(code: ResultCode, detail: &str) -> Self {
        Self {
            code,
            message: Some(code.message_with(detail)),
        }
    }

    /// A missing or out-of-range parameter; `why` is logged for the operator.
    pub fn invalid(why: &str) -> Self {
        tracing::debug!(reason = why, "invalid parameter");
        Self::new(ResultCode::InvalidParameters)
    }
}

impl From<ResultCode> for ApiError {
    fn from(code: ResultCode) -> Self {
        Self::new(code)
    }
}

/// A successful (or partially successful) API answer: a header code and the body fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Header code: 0, or 1/2 for multi-file uploads.
    pub code: ResultCode,
    /// Fields written beside `header`.
    pub fields: Map<String, Value>,
}

impl Reply {
    /// A success carrying `fields` (a JSON object; anything else adds nothing).
    pub fn ok(fields: Value) -> Self {
        Self::with_code(ResultCode::Success, fields)
    }

    /// An answer with header `code` carrying `fields`.
    pub fn with_code(code: ResultCode, fields: Value) -> Self {
        let fields = match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Self { code, fields }
    }
}

/// Writes an API outcome as the HTTP 200 JSON answer.
pub fn respond(outcome: Result<Reply, ApiError>) -> Response<Body> {
    let (code, value) = match outcome {
        Ok(reply) => {
            let mut map = Map::with_capacity(reply.fields.len() + 1);
            map.insert("header".into(), header(reply.code, reply.code.message()));
            map.extend(reply.fields);
            (reply.code, Value::Object(map))
        }
        Err(err) => {
            let message = err.message.as_deref().unwrap_or(err.code.message());
            (err.code, json!({ "header": header(err.code, message) }))
        }
    };
    let bytes = serde_json::to_vec(&value).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = Response::new(body::full(bytes));
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    resp.extensions_mut().insert(ResultLabel(code.code()));
    resp
}
