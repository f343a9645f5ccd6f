//! `watermark`: an overlay image from the catalog drawn over the image, placed by gravity and
//! offsets.

use super::{Stage, Template};
use crate::imaging::Job;
use crate::operation::options::Options;
use crate::operation::OperationError;
use serde_json::{json, Value};

/// The `watermark` template.
pub(crate) struct Watermark;

impl Template for Watermark {
    fn name(&self) -> &'static str {
        "watermark"
    }

    fn job_type(&self) -> &'static str {
        "WatermarkJob"
    }

    fn stage(&self) -> Stage {
        Stage::Composite
    }

    fn parse(&self, opts: &Options<'_>) -> Result<Job, OperationError> {
        Ok(Job::Watermark {
            gravity: opts.gravity()?,
            offset_x: opts.offset("offsetX")?,
            offset_y: opts.offset("offsetY")?,
            image_path: opts.required_string("watermarkImagePath")?.to_owned(),
        })
    }

    fn view(&self, job: &Job) -> Value {
        let Job::Watermark {
            gravity,
            offset_x,
            offset_y,
            image_path,
        } = job
        else {
            return Value::Null;
        };
        json!({
            "gravity": gravity.name(),
            "offsetX": offset_x,
            "offsetY": offset_y,
            "watermarkImagePath": image_path,
        })
    }

    fn example(&self) -> Value {
        json!({"watermarkImagePath": "/watermark.png"})
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse;
    use super::*;

    #[test]
    fn image_path_is_required_and_trimmed() {
        let job = parse(
            &Watermark,
            json!({"watermarkImagePath": " /w.png ", "gravity": "SouthEast", "offsetX": -5}),
        )
        .expect("valid");
        assert_eq!(
            Watermark.view(&job),
            json!({"gravity": "SouthEast", "offsetX": -5, "offsetY": 0,
                   "watermarkImagePath": "/w.png"})
        );
        let err = parse(&Watermark, json!({"watermarkImagePath": "  "})).expect_err("blank");
        assert_eq!(
            err.to_string(),
            "data[0].option.watermarkImagePath is required"
        );
    }
}
