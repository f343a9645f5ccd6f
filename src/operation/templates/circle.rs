//! `circle`: a disc of the image, transparent outside, placed by gravity and offsets.

use super::{LimitRefusal, Stage, Template};
use crate::imaging::{budget, Job, Limits};
use crate::operation::options::{Options, MAX_SIDE};
use crate::operation::OperationError;
use serde_json::{json, Value};

/// The `circle` template.
pub(crate) struct Circle;

impl Template for Circle {
    fn name(&self) -> &'static str {
        "circle"
    }

    fn job_type(&self) -> &'static str {
        "CircleCropJob"
    }

    fn stage(&self) -> Stage {
        Stage::Composite
    }

    fn parse(&self, opts: &Options<'_>) -> Result<Job, OperationError> {
        Ok(Job::Circle {
            gravity: opts.gravity()?,
            offset_x: opts.offset("offsetX")?,
            offset_y: opts.offset("offsetY")?,
            radius: opts.required("radius", MAX_SIDE / 2)?,
        })
    }

    fn view(&self, job: &Job) -> Value {
        let Job::Circle {
            gravity,
            offset_x,
            offset_y,
            radius,
        } = job
        else {
            return Value::Null;
        };
        json!({
            "gravity": gravity.name(),
            "offsetX": offset_x,
            "offsetY": offset_y,
            "radius": radius,
        })
    }

    fn example(&self) -> Value {
        json!({"radius": 50})
    }

    /// A diameter over `max_output_side` or a square of it over `max_pixels`.
    fn check_limits(&self, job: &Job, limits: &Limits) -> Result<(), LimitRefusal> {
        match job {
            Job::Circle { radius, .. } => budget::circle(*radius, limits)
                .map(|_| ())
                .map_err(|e| ("radius", e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse;
    use super::*;

    #[test]
    fn radius_is_required_and_bounded() {
        let job = parse(&Circle, json!({"radius": 60, "gravity": "north"})).expect("valid");
        assert_eq!(Circle.view(&job)["gravity"], "North");
        let small = Limits {
            max_output_side: 100,
            ..Limits::default()
        };
        assert_eq!(
            Circle.check_limits(&job, &small).map_err(|(f, _)| f),
            Err("radius")
        );
        let err = parse(&Circle, json!({})).expect_err("required");
        assert_eq!(err.to_string(), "data[0].option.radius is required");
        let err = parse(&Circle, json!({"radius": 50_001})).expect_err("too big");
        assert_eq!(err.result_code(), 10001);
    }
}
