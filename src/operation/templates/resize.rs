//! `resize_max_fit`, `resize_min_fit`, `resize_fix`, `resize_width_fit`, `resize_height_fit`:
//! one `ResizeJob` with a fit mode, so each is one line in the template list.

use super::{LimitRefusal, Stage, Template};
use crate::imaging::{budget, Job, Limits, ResizeMode};
use crate::operation::options::{Options, MAX_SIDE};
use crate::operation::OperationError;
use serde_json::{json, Value};

/// A resize template: its name and the fit mode it stands for.
pub(crate) struct Resize {
    name: &'static str,
    mode: ResizeMode,
}

impl Resize {
    /// The template `name`, fitting by `mode`.
    pub(crate) const fn new(name: &'static str, mode: ResizeMode) -> Self {
        Self { name, mode }
    }
}

/// The guide's `resizeType` of a fit mode.
fn resize_type(mode: ResizeMode) -> &'static str {
    match mode {
        ResizeMode::MaxFit => "max_fit",
        ResizeMode::MinFit => "min_fit",
        ResizeMode::Fix => "fix",
        ResizeMode::WidthFit => "width_fit",
        ResizeMode::HeightFit => "height_fit",
    }
}

impl Template for Resize {
    fn name(&self) -> &'static str {
        self.name
    }

    fn job_type(&self) -> &'static str {
        "ResizeJob"
    }

    fn stage(&self) -> Stage {
        Stage::Basic
    }

    fn parse(&self, opts: &Options<'_>) -> Result<Job, OperationError> {
        let (width, height) = match self.mode {
            ResizeMode::WidthFit => (
                opts.required("width", MAX_SIDE)?,
                opts.optional_side("height")?,
            ),
            ResizeMode::HeightFit => (
                opts.optional_side("width")?,
                opts.required("height", MAX_SIDE)?,
            ),
            _ => (
                opts.required("width", MAX_SIDE)?,
                opts.required("height", MAX_SIDE)?,
            ),
        };
        let quality = opts.quality()?.unwrap_or(75);
        let up_down = opts.up_down()?;
        let target = opts.target()?;
        Ok(Job::Resize {
            mode: self.mode,
            width,
            height,
            quality,
            up_down,
            keep_animation: opts.bool("keepAnimation", true)?,
            keep_exif: opts.bool("keepExif", true)?,
            auto_orient: opts.bool("autoOrient", false)?,
            target,
        })
    }

    fn view(&self, job: &Job) -> Value {
        let Job::Resize {
            mode,
            width,
            height,
            quality,
            up_down,
            keep_animation,
            keep_exif,
            auto_orient,
            target,
        } = job
        else {
            return Value::Null;
        };
        json!({
            "resizeType": resize_type(*mode),
            "width": width,
            "height": height,
            "quality": quality,
            "shrinkLargerOnly": false,
            "upDownSizeType": up_down.name(),
            "keepAnimation": keep_animation,
            "keepExif": keep_exif,
            "autoOrient": auto_orient,
            "targetExtension": target.map(|t| t.extension()),
        })
    }

    fn example(&self) -> Value {
        json!({"width": 100, "height": 100})
    }

    /// A box side the mode uses over `max_output_side`, or a fixed size over `max_pixels`.
    fn check_limits(&self, job: &Job, limits: &Limits) -> Result<(), LimitRefusal> {
        let Job::Resize {
            mode,
            width,
            height,
            ..
        } = job
        else {
            return Ok(());
        };
        let used: &[(&'static str, u32)] = match mode {
            ResizeMode::WidthFit => &[("width", *width)],
            ResizeMode::HeightFit => &[("height", *height)],
            _ => &[("width", *width), ("height", *height)],
        };
        for &(name, side) in used {
            budget::canvas(u64::from(side), 1, limits).map_err(|e| (name, e))?;
        }
        if *mode == ResizeMode::Fix {
            budget::canvas(u64::from(*width), u64::from(*height), limits)
                .map_err(|e| ("width", e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse;
    use super::*;
    use crate::imaging::{TargetFormat, UpDown};

    const FIT: Resize = Resize::new("resize_max_fit", ResizeMode::MaxFit);

    #[test]
    fn defaults_and_one_sided_boxes() {
        let job = parse(&FIT, json!({"width": 100, "height": 50})).expect("valid");
        let view = FIT.view(&job);
        assert_eq!(view["resizeType"], "max_fit");
        assert_eq!(view["quality"], 75);
        assert_eq!(view["upDownSizeType"], "downOnly");
        assert_eq!(view["keepAnimation"], true);
        assert_eq!(view["keepExif"], true);
        assert_eq!(view["autoOrient"], false);
        assert_eq!(view["targetExtension"], Value::Null);
        let width_fit = Resize::new("resize_width_fit", ResizeMode::WidthFit);
        let job = parse(&width_fit, json!({"width": 10})).expect("height is optional");
        assert_eq!(
            job.fit(),
            Some((ResizeMode::WidthFit, 10, 0, UpDown::DownOnly))
        );
        let err = parse(&FIT, json!({"width": 10})).expect_err("height is required");
        assert_eq!(err.to_string(), "data[0].option.height is required");
    }

    #[test]
    fn target_extension_is_read_in_any_case() {
        let job = parse(
            &FIT,
            json!({"width": 1, "height": 1, "targetExtension": ".WebP"}),
        )
        .expect("valid");
        assert!(matches!(
            job,
            Job::Resize {
                target: Some(TargetFormat::Webp),
                ..
            }
        ));
        let err = parse(
            &FIT,
            json!({"width": 1, "height": 1, "targetExtension": "bmp"}),
        )
        .expect_err("not writable");
        assert_eq!(err.result_code(), 10001);
    }

    #[test]
    fn limits_name_the_side_the_mode_uses() {
        let limits = Limits {
            max_output_side: 100,
            ..Limits::default()
        };
        let height_fit = Resize::new("resize_height_fit", ResizeMode::HeightFit);
        let tall = parse(&height_fit, json!({"width": 500, "height": 100})).expect("valid");
        assert!(
            height_fit.check_limits(&tall, &limits).is_ok(),
            "width unused"
        );
        let wide = parse(&FIT, json!({"width": 500, "height": 100})).expect("valid");
        assert_eq!(
            FIT.check_limits(&wide, &limits).map_err(|(f, _)| f),
            Err("width")
        );
    }
}
