//! `Upload-Metadata`: comma-separated pairs of a key and a base64 value (tus 1.0.0, creation
//! extension). Pictor reads `path` (required), `overwrite`, `autorename`, `operationIds` and
//! `tags` (both comma-separated), the parameters of `PUT /images`; other keys (a client's
//! `filename`, `filetype`, ...) are kept with the upload and otherwise ignored.

use crate::catalog::OnConflict;
use crate::config::LimitsConfig;
use crate::http::api::envelope::ApiError;
use crate::http::api::images::on_conflict;
use crate::http::api::params::parse_bool;
use crate::http::api::tags::tag_list;
use crate::paths;
use crate::result_code::ResultCode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use std::collections::HashMap;

/// Most bytes of an `Upload-Metadata` header (a path of `limits.max_path_bytes` is 1,368
/// bytes in base64).
pub const MAX_METADATA_BYTES: usize = 4096;

/// Standard base64, with or without its padding.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What a resumable upload asks for, as `PUT /images` takes it in its query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRequest {
    /// The normalised path of the file.
    pub path: String,
    /// What to do when the path is taken (`overwrite`, `autorename`).
    pub rule: OnConflict,
    /// Operations to run on the stored file.
    pub operation_ids: Vec<String>,
    /// Tags of the stored file.
    pub tags: Vec<String>,
}

/// Reads the pairs of an `Upload-Metadata` value. A key is one or more characters other than
/// spaces and commas, given once; its value, when present, base64 of UTF-8 text.
fn pairs(raw: &str) -> Result<HashMap<&str, String>, ApiError> {
    let mut pairs = HashMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
        let bytes = BASE64
            .decode(value.trim())
            .map_err(|_| ApiError::invalid("Upload-Metadata value is not base64"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| ApiError::invalid("Upload-Metadata value is not UTF-8"))?;
        if pairs.insert(key, text).is_some() {
            return Err(ApiError::invalid("Upload-Metadata repeats a key"));
        }
    }
    Ok(pairs)
}

/// Parses an `Upload-Metadata` value into what the upload asks for; refusals carry the codes
/// `PUT /images` answers for the same parameters, under the same `limits` (10001, 11001,
/// 11050, 11060, ...).
pub fn parse(raw: &str, limits: &LimitsConfig) -> Result<UploadRequest, ApiError> {
    if raw.len() > MAX_METADATA_BYTES {
        return Err(ApiError::invalid("Upload-Metadata is too long"));
    }
    let pairs = pairs(raw)?;
    let path = paths::param(pairs.get("path").map(String::as_str), limits.max_path_bytes)?
        .ok_or_else(|| ApiError::invalid("Upload-Metadata has no path"))?;
    if path == "/" {
        return Err(ApiError::new(ResultCode::FilenameEmpty));
    }
    let flag = |name: &str| match pairs.get(name) {
        None => Ok(false),
        Some(v) => parse_bool(v.trim()).ok_or_else(|| ApiError::invalid(name)),
    };
    let rule = on_conflict(flag("overwrite")?, flag("autorename")?);
    let list = |name: &str| -> Vec<String> {
        pairs
            .get(name)
            .map(|items| {
                items
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(UploadRequest {
        path,
        rule,
        operation_ids: list("operationIds"),
        tags: tag_list(&list("tags"), limits)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_path_bytes: usize) -> LimitsConfig {
        LimitsConfig {
            max_path_bytes,
            ..LimitsConfig::default()
        }
    }

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn reads_the_parameters_of_put_images() {
        let raw = format!(
            "filename {},path {},overwrite {},operationIds {},tags {}, is_private",
            b64("a.jpg"),
            b64("/photos/2024/사진.jpg"),
            b64("true"),
            b64("thumb, small,"),
            b64("Beach, 2024 ,beach"),
        );
        let request = parse(&raw, &limits(1024)).expect("valid");
        assert_eq!(
            request,
            UploadRequest {
                path: "/photos/2024/사진.jpg".to_owned(),
                rule: OnConflict::Overwrite,
                operation_ids: vec!["thumb".to_owned(), "small".to_owned()],
                tags: vec!["2024".to_owned(), "Beach".to_owned(), "beach".to_owned()],
            }
        );
        let unpadded = format!("path {}", b64("/ab.png").trim_end_matches('='));
        let renamed = format!("{unpadded},autorename {}", b64("TRUE"));
        assert_eq!(
            parse(&renamed, &limits(1024)).expect("valid").rule,
            OnConflict::Rename
        );
        assert_eq!(
            parse(&unpadded, &limits(1024)).expect("valid").rule,
            OnConflict::Fail
        );
    }

    #[test]
    fn refuses_what_put_images_refuses() {
        let code = |raw: &str| parse(raw, &limits(1024)).map(drop).map_err(|e| e.code);
        let bad = ResultCode::InvalidParameters;
        assert_eq!(code(""), Err(bad), "no path");
        assert_eq!(
            code(&format!("path {}", b64("/"))),
            Err(ResultCode::FilenameEmpty)
        );
        assert_eq!(
            code(&format!("path {}", b64("/a/../b.jpg"))),
            Err(ResultCode::InvalidFilename)
        );
        assert_eq!(code("path !!!"), Err(bad), "not base64");
        assert_eq!(
            code(&format!("path {}", b64("/a.jpg,x"))),
            Ok(()),
            "commas inside a value"
        );
        let twice = format!("path {0},path {0}", b64("/a.jpg"));
        assert_eq!(code(&twice), Err(bad), "a repeated key");
        let maybe = format!("path {},overwrite {}", b64("/a.jpg"), b64("yes"));
        assert_eq!(code(&maybe), Err(bad));
        let long = format!("path {}", b64(&format!("/{}", "a".repeat(2000))));
        assert_eq!(
            parse(&long, &limits(4096)).map_err(|e| e.code),
            Err(ResultCode::FilenameLengthLimit)
        );
        assert_eq!(
            parse(&long, &limits(1024)).map_err(|e| e.code),
            Err(ResultCode::PathLengthLimit)
        );
        let many = format!("path {},tags {}", b64("/a.jpg"), b64(&"t,".repeat(1000)));
        assert_eq!(code(&many), Ok(()), "a repeated tag counts once");
        let tags: Vec<String> = (0..40).map(|i| format!("t{i}")).collect();
        let many = format!("path {},tags {}", b64("/a.jpg"), b64(&tags.join(",")));
        assert_eq!(code(&many), Err(bad), "more tags than a file may carry");
        let huge = format!("path {},pad {}", b64("/a.jpg"), b64(&"x".repeat(4000)));
        assert_eq!(code(&huge), Err(bad), "over {MAX_METADATA_BYTES} bytes");
    }
}
