//! Rotation (extension): `PUT /images/{fileId}/rotation` with `{"degrees": 90, "flip":
//! "horizontal"}` rotates an uploaded original as it is displayed, clockwise, then mirrors it,
//! and stores the result as the file's new version (same id, new bytes and ETag).

use super::deletion::check_id;
use super::envelope::{ApiError, Reply};
use super::{views, Call};
use crate::imaging::rotate::{Flip, Rotation};
use crate::ingest::rotation::rotate_file;
use crate::result_code::ResultCode;
use serde::Deserialize;
use serde_json::json;

/// The file id of a `images/{fileId}/rotation` path below the app.
pub fn file_id(sub: &str) -> Option<&str> {
    sub.strip_prefix("images/")?
        .strip_suffix("/rotation")
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// A number given as a JSON number or as a string of digits.
#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Int(i64),
    Text(String),
}

/// A flip given as a name, or as `false` / `null` for none.
#[derive(Deserialize)]
#[serde(untagged)]
enum FlipValue {
    Bool(bool),
    Text(String),
}

#[derive(Deserialize)]
struct Request {
    degrees: Option<Number>,
    flip: Option<FlipValue>,
}

/// The rotation a request asks for; 10001 for anything but 0, 90, 180 or 270 degrees
/// (required) and a flip of `"horizontal"`, `"vertical"`, `"none"`, `false` or none, and for
/// 0 degrees without a flip.
fn rotation(request: &Request) -> Result<Rotation, ApiError> {
    let degrees = match &request.degrees {
        Some(Number::Int(n)) => u16::try_from(*n).ok(),
        Some(Number::Text(s)) => s.trim().parse::<u16>().ok(),
        None => return Err(ApiError::invalid("degrees is required")),
    };
    let flip = match &request.flip {
        None | Some(FlipValue::Bool(false)) => Flip::None,
        Some(FlipValue::Text(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Flip::None,
            "horizontal" => Flip::Horizontal,
            "vertical" => Flip::Vertical,
            _ => return Err(ApiError::invalid("flip is horizontal, vertical or none")),
        },
        Some(FlipValue::Bool(true)) => {
            return Err(ApiError::invalid("flip is horizontal, vertical or none"))
        }
    };
    degrees
        .and_then(|d| Rotation::new(d, flip))
        .ok_or_else(|| ApiError::invalid("degrees is 0 (with a flip), 90, 180 or 270"))
}

fn flip_name(flip: Flip) -> &'static str {
    match flip {
        Flip::None => "none",
        Flip::Horizontal => "horizontal",
        Flip::Vertical => "vertical",
    }
}

/// `PUT /images/{fileId}/rotation`: rotates an uploaded file and answers it as stored, with
/// what was done. The render pool runs the image work: a full pool answers -1 at once.
pub async fn rotate(mut call: Call<'_>) -> Result<Reply, ApiError> {
    let id = file_id(&call.rest)
        .ok_or_else(|| ApiError::invalid("fileId is required"))?
        .to_owned();
    check_id(&id)?;
    let request: Request = call.json().await?;
    let rotation = rotation(&request)?;
    let pool = &call.ctx.pool;
    let admission = pool.admit().map_err(|_| ApiError {
        code: ResultCode::Fail,
        message: Some(super::BUSY.to_owned()),
    })?;
    let rotated = rotate_file(&call.ctx, &call.app, &id, rotation, |job| async {
        pool.run_admitted(&admission, job).await.map_err(|e| {
            tracing::error!(error = %e, "rotation aborted");
            ResultCode::Fail
        })
    })
    .await?;
    let file = &rotated.outcome.file;
    call.ctx.l1.invalidate_source(&call.app.app_key, &file.path);
    Ok(Reply::ok(json!({
        "file": views::file(&call.ctx, &call.app, file, Vec::new()),
        "rotation": {
            "degrees": rotation.degrees(),
            "flip": flip_name(rotation.flip()),
            "lossless": rotated.lossless,
        },
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Rotation, ApiError> {
        let request: Request = serde_json::from_str(body).expect("JSON");
        rotation(&request)
    }

    #[test]
    fn the_path_names_one_file() {
        assert_eq!(file_id("images/abc/rotation"), Some("abc"));
        assert_eq!(file_id("images//rotation"), None);
        assert_eq!(file_id("images/a/b/rotation"), None);
        assert_eq!(file_id("images/abc"), None);
        assert_eq!(file_id("images/sync"), None);
    }

    #[test]
    fn degrees_and_flips_in_every_accepted_spelling() {
        let ok = |body: &str, degrees: u16, flip: Flip| {
            let r = parse(body).unwrap_or_else(|e| panic!("{body}: {e:?}"));
            assert_eq!((r.degrees(), r.flip()), (degrees, flip), "{body}");
        };
        ok(r#"{"degrees": 90}"#, 90, Flip::None);
        ok(r#"{"degrees": "270", "flip": null}"#, 270, Flip::None);
        ok(r#"{"degrees": 180, "flip": false}"#, 180, Flip::None);
        ok(
            r#"{"degrees": 0, "flip": "Horizontal"}"#,
            0,
            Flip::Horizontal,
        );
        ok(r#"{"degrees": 90, "flip": "vertical"}"#, 90, Flip::Vertical);
        for bad in [
            r#"{}"#,
            r#"{"flip": "horizontal"}"#,
            r#"{"degrees": 0}"#,
            r#"{"degrees": 0, "flip": "none"}"#,
            r#"{"degrees": 45}"#,
            r#"{"degrees": -90}"#,
            r#"{"degrees": 360}"#,
            r#"{"degrees": 65626}"#,
            r#"{"degrees": "ninety"}"#,
            r#"{"degrees": 90, "flip": true}"#,
            r#"{"degrees": 90, "flip": "diagonal"}"#,
        ] {
            let e = parse(bad).expect_err(bad);
            assert_eq!(e.code, ResultCode::InvalidParameters, "{bad}");
        }
    }
}
