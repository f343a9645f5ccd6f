//! Tags of files: the lists clients send (the `tags` query parameter of `PUT /images`, the
//! `tags` field of a multipart upload's `params`, the body of `PUT /images/{fileId}/tags`)
//! checked against `limits.max_tags_per_file` and `limits.max_tag_chars`, and
//! `PUT /images/{fileId}/tags`, which replaces a file's tags.

use super::envelope::{ApiError, Reply};
use super::{views, Call};
use crate::catalog::search::tag_set;
use crate::catalog::CatalogError;
use crate::config::LimitsConfig;
use crate::result_code::ResultCode;
use serde::Deserialize;
use serde_json::json;

/// A 10001 whose message says what is wrong with the tags.
fn refused(why: &str) -> ApiError {
    let code = ResultCode::InvalidParameters;
    ApiError {
        code,
        message: Some(format!("{} tags: {why}", code.message())),
    }
}

/// One tag as stored: trimmed; `None` when nothing is left. A tag holding a comma (the
/// separator of the query form) or a control character, or longer than `max_chars`
/// characters, is refused.
pub fn tag(raw: &str, max_chars: usize) -> Result<Option<String>, ApiError> {
    let tag = raw.trim();
    if tag.is_empty() {
        return Ok(None);
    }
    if tag.chars().any(|c| c == ',' || c.is_control()) {
        return Err(refused("a tag may not hold a comma or a control character"));
    }
    if tag.chars().count() > max_chars {
        return Err(refused(&format!(
            "a tag is longer than {max_chars} characters"
        )));
    }
    Ok(Some(tag.to_owned()))
}

/// A file's tags from a client's list: each as [`tag`] makes it (empty ones dropped), as a
/// set in byte order, at most `limits.max_tags_per_file` of them.
pub fn tag_list(raw: &[String], limits: &LimitsConfig) -> Result<Vec<String>, ApiError> {
    let mut tags = Vec::with_capacity(raw.len().min(limits.max_tags_per_file));
    for item in raw {
        if let Some(t) = tag(item, limits.max_tag_chars)? {
            tags.push(t);
        }
    }
    let tags = tag_set(&tags);
    if tags.len() > limits.max_tags_per_file {
        return Err(refused(&format!(
            "more than {} tags",
            limits.max_tags_per_file
        )));
    }
    Ok(tags)
}

/// The body of `PUT /images/{fileId}/tags`.
#[derive(Deserialize)]
struct TagsBody {
    tags: Option<Vec<String>>,
}

/// The file id of a `images/{fileId}/tags` path.
pub fn tags_path_id(sub: &str) -> Option<&str> {
    sub.strip_prefix("images/")?
        .strip_suffix("/tags")
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// `PUT /images/{fileId}/tags {"tags": [...]}`: replaces the file's tags (an empty list
/// removes them); answers the file. 20001 when the app has no file with that id.
pub async fn put(mut call: Call<'_>) -> Result<Reply, ApiError> {
    let id = tags_path_id(&call.rest)
        .ok_or(ApiError::new(ResultCode::NotFound))?
        .to_owned();
    let body: TagsBody = call.json().await?;
    let raw = body.tags.ok_or_else(|| refused("a list is required"))?;
    let tags = tag_list(&raw, &call.ctx.config.limits)?;
    match call
        .ctx
        .catalog
        .set_tags(&call.app.app_key, &id, &tags)
        .await
    {
        Ok(file) => Ok(Reply::ok(json!({
            "file": views::file(&call.ctx, &call.app, &file, Vec::new())
        }))),
        Err(CatalogError::NotFound(_)) => Err(ApiError::new(ResultCode::FolderNotExists)),
        Err(e) => Err(call.catalog_error(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LimitsConfig {
        LimitsConfig {
            max_tags_per_file: 3,
            max_tag_chars: 5,
            ..LimitsConfig::default()
        }
    }

    fn list(raw: &[&str]) -> Result<Vec<String>, String> {
        let raw: Vec<String> = raw.iter().map(|s| (*s).to_owned()).collect();
        tag_list(&raw, &limits()).map_err(|e| e.message.unwrap_or_default())
    }

    #[test]
    fn tags_are_trimmed_deduplicated_and_sorted() {
        assert_eq!(
            list(&[" sea ", "", "beach", "sea", "  "]),
            Ok(vec!["beach".into(), "sea".into()])
        );
        assert_eq!(list(&[]), Ok(Vec::new()));
        assert_eq!(
            list(&["사진사진사"]),
            Ok(vec!["사진사진사".into()]),
            "characters, not bytes"
        );
    }

    #[test]
    fn bad_tags_are_refused_with_the_reason() {
        let refused = |raw: &[&str], why: &str| {
            let msg = list(raw).expect_err("refused");
            assert!(msg.starts_with("parameter is invalid. tags: "), "{msg}");
            assert!(msg.contains(why), "{msg}");
        };
        refused(&["a,b"], "comma");
        refused(&["a\tb"], "control");
        refused(&["sixsix"], "longer than 5");
        refused(&["a", "b", "c", "d"], "more than 3");
        assert_eq!(
            list(&["a", "b", "c", "a"]).map(|t| t.len()),
            Ok(3),
            "repeats count once"
        );
    }

    #[test]
    fn the_tags_path_names_one_file() {
        assert_eq!(tags_path_id("images/abc/tags"), Some("abc"));
        assert_eq!(tags_path_id("images//tags"), None);
        assert_eq!(tags_path_id("images/a/b/tags"), None);
        assert_eq!(tags_path_id("images/abc"), None);
    }
}
