//! The answers of the tus endpoints: real HTTP statuses and tus headers, unlike the rest of the
//! API. Every answer carries `Tus-Resumable: 1.0.0` and `Cache-Control: no-store`; a refusal
//! also carries its result code in `Pictor-Result-Code` and, except to HEAD, the API's JSON
//! envelope. Request metrics count them by result code, as the rest of the API (0 for a
//! success).

use crate::config::Config;
use crate::http::api::envelope::{respond, ApiError};
use crate::http::body::{self, Body};
use crate::http::ResultLabel;
use crate::ingest::resumable::checksum::ALGORITHMS;
use crate::ingest::resumable::ResumableError;
use crate::result_code::ResultCode;
use http::header::{HeaderName, HeaderValue, CACHE_CONTROL, RETRY_AFTER};
use http::{HeaderMap, Response, StatusCode};

/// The protocol version spoken.
pub const VERSION: &str = "1.0.0";

/// The extensions of tus 1.0.0 Pictor implements.
const EXTENSIONS: &str = "creation,termination,expiration,checksum";

/// `Tus-Resumable`.
pub const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
/// `Upload-Offset`.
pub const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
/// `Upload-Length`.
pub const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
/// `Upload-Metadata`.
pub const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
/// `Upload-Expires`.
pub const UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
/// `Pictor-Result-Code`: the result code of the answer (0 for a finished upload).
pub const RESULT_CODE: HeaderName = HeaderName::from_static("pictor-result-code");
/// `Pictor-File-Id`: the id of the file a finished upload stored.
pub const FILE_ID: HeaderName = HeaderName::from_static("pictor-file-id");
/// `Pictor-File-Path`: its path (after an automatic rename), percent-encoded UTF-8.
pub const FILE_PATH: HeaderName = HeaderName::from_static("pictor-file-path");
/// `Pictor-Queue-Ids`: the tasks its `operationIds` queued, comma-separated.
pub const QUEUE_IDS: HeaderName = HeaderName::from_static("pictor-queue-ids");
/// Seconds a client refused for want of request body memory is told to wait.
const BUSY_RETRY_AFTER_SECS: &str = "1";
const TUS_VERSION: HeaderName = HeaderName::from_static("tus-version");
const TUS_EXTENSION: HeaderName = HeaderName::from_static("tus-extension");
const TUS_MAX_SIZE: HeaderName = HeaderName::from_static("tus-max-size");
const TUS_CHECKSUM_ALGORITHM: HeaderName = HeaderName::from_static("tus-checksum-algorithm");

/// A successful answer: a status and its headers, no body.
#[derive(Debug)]
pub struct Answer {
    /// 200, 201 or 204.
    status: StatusCode,
    /// Headers besides those of every answer.
    headers: HeaderMap,
}

impl Answer {
    /// An answer with `status`.
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            headers: HeaderMap::new(),
        }
    }

    /// Adds a header; a value that is no valid header value is left out.
    pub fn header(mut self, name: HeaderName, value: impl ToString) -> Self {
        if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
            self.headers.insert(name, value);
        }
        self
    }

    /// Adds `Upload-Expires` for a time in milliseconds since the epoch.
    pub fn expires(self, at_ms: i64) -> Self {
        self.header(UPLOAD_EXPIRES, http_date(at_ms))
    }
}

/// The HTTP date of a time in milliseconds since the epoch.
fn http_date(at_ms: i64) -> String {
    let secs = u64::try_from(at_ms / 1000).unwrap_or(0);
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// A refused request: its status, its code and message, and headers that tell the client more.
#[derive(Debug)]
pub struct Refusal {
    /// The HTTP status.
    status: StatusCode,
    /// The result code and message of the envelope.
    error: ApiError,
    /// Headers besides those of every answer.
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Refusal {
    /// A refusal with `status` and the table's message for `code`.
    pub fn new(status: StatusCode, code: ResultCode) -> Self {
        Self::of(status, ApiError::new(code))
    }

    /// A refusal with `status` for `error`.
    pub fn of(status: StatusCode, error: ApiError) -> Self {
        Self {
            status,
            error,
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    fn with(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
        }
        self
    }

    /// A request without `Tus-Resumable: 1.0.0`: 412, with the versions spoken.
    pub fn version() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            ResultCode::TusVersionUnsupported,
        )
        .with(TUS_VERSION, VERSION)
    }

    /// The node's request body memory has no room for the request (`error` says so): 503,
    /// with `Retry-After`.
    pub fn busy(error: ApiError) -> Self {
        Self::of(StatusCode::SERVICE_UNAVAILABLE, error).with(RETRY_AFTER, BUSY_RETRY_AFTER_SECS)
    }

    /// The finished file is refused (`PUT /images` refuses it with `error`): 422.
    pub fn unaccepted(error: ApiError) -> Self {
        Self::of(StatusCode::UNPROCESSABLE_ENTITY, error)
    }

    /// A refusal of resumable uploads, for a server configured as `config`.
    pub fn resumable(e: ResumableError, config: &Config) -> Self {
        let (status, code) = match &e {
            ResumableError::NotFound => (StatusCode::NOT_FOUND, ResultCode::UploadNotFound),
            ResumableError::Expired => (StatusCode::GONE, ResultCode::UploadExpired),
            ResumableError::OffsetMismatch(offset) => {
                let refusal = Self::new(StatusCode::CONFLICT, ResultCode::UploadOffsetMismatch);
                return match offset {
                    Some(o) => refusal.with(UPLOAD_OFFSET, &o.to_string()),
                    None => refusal,
                };
            }
            ResumableError::ChecksumMismatch => {
                (checksum_mismatch(), ResultCode::UploadChecksumMismatch)
            }
            ResumableError::TooMany => {
                (StatusCode::TOO_MANY_REQUESTS, ResultCode::UploadCountLimit)
            }
            ResumableError::TooManyChunks => {
                (StatusCode::BAD_REQUEST, ResultCode::UploadChunkLimit)
            }
            ResumableError::TooLarge => {
                return Self::new(StatusCode::PAYLOAD_TOO_LARGE, ResultCode::UploadSizeLimit)
                    .with(TUS_MAX_SIZE, &config.limits.max_resumable_bytes.to_string());
            }
            ResumableError::Interrupted(_) => {
                (StatusCode::BAD_REQUEST, ResultCode::InvalidParameters)
            }
            ResumableError::Invalid(code) => (StatusCode::BAD_REQUEST, *code),
            ResumableError::Unaccepted(code) => (StatusCode::UNPROCESSABLE_ENTITY, *code),
            ResumableError::Storage(_) => {
                tracing::error!(error = %e, "resumable upload failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ResultCode::StorageUploadFailed,
                )
            }
            ResumableError::Catalog(_) | ResumableError::Inconsistent(_) => {
                tracing::error!(error = %e, "resumable upload failed");
                (StatusCode::INTERNAL_SERVER_ERROR, ResultCode::Fail)
            }
            ResumableError::Failed(code) => (StatusCode::INTERNAL_SERVER_ERROR, *code),
        };
        Self::new(status, code)
    }
}

/// 460, the status tus gives a checksum mismatch.
fn checksum_mismatch() -> StatusCode {
    StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST)
}

impl From<ApiError> for Refusal {
    /// A refusal of the rest of the API: a wrong secret is 403, an internal failure 500,
    /// anything else a bad request.
    fn from(error: ApiError) -> Self {
        let status = match error.code {
            ResultCode::InvalidAppkey => StatusCode::FORBIDDEN,
            ResultCode::Fail | ResultCode::StorageUploadFailed => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::of(status, error)
    }
}

/// Writes an outcome; the answer to a HEAD request has no body.
pub fn write(outcome: Result<Answer, Refusal>, head: bool) -> Response<Body> {
    let mut resp = match outcome {
        Ok(answer) => {
            let mut resp = Response::new(body::empty());
            *resp.status_mut() = answer.status;
            resp.headers_mut().extend(answer.headers);
            resp.extensions_mut()
                .insert(ResultLabel(ResultCode::Success.code()));
            resp
        }
        Err(refusal) => {
            let code = refusal.error.code.code();
            let mut resp = respond(Err(refusal.error));
            if head {
                *resp.body_mut() = body::empty();
            }
            *resp.status_mut() = refusal.status;
            resp.headers_mut().extend(refusal.headers);
            resp.headers_mut()
                .insert(RESULT_CODE, HeaderValue::from(code));
            resp
        }
    };
    let headers = resp.headers_mut();
    headers.insert(TUS_RESUMABLE, HeaderValue::from_static(VERSION));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The answer to OPTIONS: what the server supports (no authentication needed).
pub fn options(config: &Config) -> Response<Body> {
    let answer = Answer::new(StatusCode::NO_CONTENT)
        .header(TUS_VERSION, VERSION)
        .header(TUS_EXTENSION, EXTENSIONS)
        .header(TUS_MAX_SIZE, config.limits.max_resumable_bytes)
        .header(TUS_CHECKSUM_ALGORITHM, ALGORITHMS);
    write(Ok(answer), false)
}
