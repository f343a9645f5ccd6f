//! `gray`: the image in shades of gray.

use super::{Stage, Template};
use crate::imaging::Job;
use crate::operation::options::Options;
use crate::operation::OperationError;
use serde_json::{json, Value};

/// The `gray` template.
pub(crate) struct Gray;

impl Template for Gray {
    fn name(&self) -> &'static str {
        "gray"
    }

    fn job_type(&self) -> &'static str {
        "GrayJob"
    }

    fn stage(&self) -> Stage {
        Stage::Basic
    }

    fn parse(&self, opts: &Options<'_>) -> Result<Job, OperationError> {
        Ok(Job::Gray {
            keep_animation: opts.bool("keepAnimation", true)?,
        })
    }

    fn view(&self, job: &Job) -> Value {
        match job {
            Job::Gray { keep_animation } => json!({ "keepAnimation": keep_animation }),
            _ => Value::Null,
        }
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
    fn keeps_animation_unless_told() {
        let job = parse(&Gray, json!({})).expect("no option needed");
        assert_eq!(Gray.view(&job), json!({"keepAnimation": true}));
        let still = parse(&Gray, json!({"keepAnimation": "false"})).expect("valid");
        assert_eq!(
            still,
            Job::Gray {
                keep_animation: false
            }
        );
        let err = parse(&Gray, json!({"keepAnimation": 1})).expect_err("not a boolean");
        assert_eq!(err.result_code(), 40004);
    }
}
