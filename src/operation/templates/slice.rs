//! `slice`: the image cut into strips of `sliceSize`, stacked vertically or horizontally.

use super::{Stage, Template};
use crate::imaging::Job;
use crate::operation::options::Options;
use crate::operation::OperationError;
use serde_json::{json, Value};

/// The `slice` template.
pub(crate) struct Slice;

impl Template for Slice {
    fn name(&self) -> &'static str {
        "slice"
    }

    fn job_type(&self) -> &'static str {
        "SliceCropJob"
    }

    fn stage(&self) -> Stage {
        Stage::Split
    }

    fn parse(&self, opts: &Options<'_>) -> Result<Job, OperationError> {
        let vertical = match opts.string("sliceCropType")? {
            None | Some("vertical") => true,
            Some("horizontal") => false,
            Some(_) => {
                return Err(OperationError::Invalid(format!(
                    "{} must be vertical or horizontal",
                    opts.field("sliceCropType")
                )))
            }
        };
        Ok(Job::Slice {
            vertical,
            size: opts.optional_side("sliceSize")?,
            keep_animation: opts.bool("keepAnimation", true)?,
        })
    }

    fn view(&self, job: &Job) -> Value {
        let Job::Slice {
            vertical,
            size,
            keep_animation,
        } = job
        else {
            return Value::Null;
        };
        json!({
            "sliceCropType": if *vertical { "vertical" } else { "horizontal" },
            "sliceSize": size,
            "keepAnimation": keep_animation,
        })
    }

    fn example(&self) -> Value {
        json!({})
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse;
    use super::*;

    #[test]
    fn slice_size_is_optional_and_defaults_to_zero() {
        let job = parse(&Slice, json!({})).expect("sliceSize is optional");
        let view = Slice.view(&job);
        assert_eq!(view["sliceSize"], 0);
        assert_eq!(view["sliceCropType"], "vertical");
        let err = parse(&Slice, json!({"sliceSize": -1})).expect_err("negative");
        assert_eq!(err.result_code(), 10001);
        let err = parse(&Slice, json!({"sliceCropType": "diagonal"})).expect_err("unknown");
        assert!(err.to_string().contains("sliceCropType"), "{err}");
    }
}
