//! `rectangle`: a crop of width x height placed by gravity and offsets.

use super::{Stage, Template};
use crate::imaging::Job;
use crate::operation::options::{Options, MAX_SIDE};
use crate::operation::OperationError;
use serde_json::{json, Value};

/// The `rectangle` template.
pub(crate) struct Rectangle;

impl Template for Rectangle {
    fn name(&self) -> &'static str {
        "rectangle"
    }

    fn job_type(&self) -> &'static str {
        "RectangleCropJob"
    }

    fn stage(&self) -> Stage {
        Stage::Basic
    }

    fn parse(&self, opts: &Options<'_>) -> Result<Job, OperationError> {
        Ok(Job::Rectangle {
            gravity: opts.gravity()?,
            offset_x: opts.offset("offsetX")?,
            offset_y: opts.offset("offsetY")?,
            width: opts.required("width", MAX_SIDE)?,
            height: opts.required("height", MAX_SIDE)?,
            keep_animation: opts.bool("keepAnimation", false)?,
        })
    }

    fn view(&self, job: &Job) -> Value {
        let Job::Rectangle {
            gravity,
            offset_x,
            offset_y,
            width,
            height,
            keep_animation,
        } = job
        else {
            return Value::Null;
        };
        json!({
            "gravity": gravity.name(),
            "offsetX": offset_x,
            "offsetY": offset_y,
            "width": width,
            "height": height,
            "keepAnimation": keep_animation,
        })
    }

    fn example(&self) -> Value {
        json!({"width": 100, "height": 100})
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse;
    use super::*;

    #[test]
    fn centred_still_crop_by_default() {
        let job = parse(&Rectangle, json!({"width": 10, "height": 20})).expect("valid");
        assert_eq!(
            Rectangle.view(&job),
            json!({"gravity": "Center", "offsetX": 0, "offsetY": 0,
                   "width": 10, "height": 20, "keepAnimation": false})
        );
        let err = parse(&Rectangle, json!({"width": 10, "height": 100_001})).expect_err("big");
        assert_eq!(err.to_string(), "data[0].option.height must be 1..100000");
    }
}
