//! `grid`: the image cut into countX x countY pieces.

use super::{LimitRefusal, Stage, Template};
use crate::imaging::{budget, Job, Limits};
use crate::operation::options::Options;
use crate::operation::OperationError;
use serde_json::{json, Value};

/// Most pieces across or down.
const MAX_COUNT: u32 = 100;

/// The `grid` template.
pub(crate) struct Grid;

impl Template for Grid {
    fn name(&self) -> &'static str {
        "grid"
    }

    fn job_type(&self) -> &'static str {
        "GridCropJob"
    }

    fn stage(&self) -> Stage {
        Stage::Split
    }

    fn parse(&self, opts: &Options<'_>) -> Result<Job, OperationError> {
        Ok(Job::Grid {
            count_x: opts.required("countX", MAX_COUNT)?,
            count_y: opts.required("countY", MAX_COUNT)?,
        })
    }

    fn view(&self, job: &Job) -> Value {
        match job {
            Job::Grid { count_x, count_y } => json!({ "countX": count_x, "countY": count_y }),
            _ => Value::Null,
        }
    }

    fn example(&self) -> Value {
        json!({"countX": 2, "countY": 2})
    }

    /// More than `max_pieces` pieces.
    fn check_limits(&self, job: &Job, limits: &Limits) -> Result<(), LimitRefusal> {
        match job {
            Job::Grid { count_x, count_y } => {
                budget::pieces(u64::from(*count_x) * u64::from(*count_y), limits)
                    .map_err(|e| ("countX", e))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse;
    use super::*;

    #[test]
    fn counts_are_required_and_pieces_bounded() {
        let job = parse(&Grid, json!({"countX": 100, "countY": "100"})).expect("valid");
        assert_eq!(Grid.view(&job), json!({"countX": 100, "countY": 100}));
        let few = Limits {
            max_pieces: 9_999,
            ..Limits::default()
        };
        assert_eq!(
            Grid.check_limits(&job, &few).map_err(|(f, _)| f),
            Err("countX")
        );
        let err = parse(&Grid, json!({"countX": 101, "countY": 1})).expect_err("too many");
        assert_eq!(err.to_string(), "data[0].option.countX must be 1..100");
    }
}
