//! The built-in templates, one file each, and [`ALL`], the one list of them. A new template
//! is a new file here implementing [`Template`] plus one line in [`ALL`] (and, when it needs
//! new pixel work, a [`Job`] variant with its step in `imaging`).

mod circle;
mod gray;
mod grid;
mod rectangle;
mod resize;
mod slice;
mod watermark;

use super::options::Options;
use super::OperationError;
use crate::imaging::{ImagingError, Job, Limits, ResizeMode};
use serde_json::Value;

/// Where a template may stand in an operation: basic jobs first, then at most one split job,
/// then composite jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    /// Resize, gray, rectangle.
    Basic,
    /// Slice, grid: one image in, several out.
    Split,
    /// Circle, watermark.
    Composite,
}

/// An option whose value breaks an imaging limit: the option's name and the refusal.
pub(crate) type LimitRefusal = (&'static str, ImagingError);

/// One built-in template: how its options are read into a [`Job`] and shown back.
pub(crate) trait Template: Sync {
    /// Its `templateOperationId`.
    fn name(&self) -> &'static str;
    /// The guide's `jobType`.
    fn job_type(&self) -> &'static str;
    /// Where it may stand in an operation.
    fn stage(&self) -> Stage;
    /// Reads its options, every default filled in.
    fn parse(&self, opts: &Options<'_>) -> Result<Job, OperationError>;
    /// The option object of a job it parsed, with every default, as the guide shows it.
    fn view(&self, job: &Job) -> Value;
    /// The options of its entry in the template listing.
    fn example(&self) -> Value;
    /// Checks the sizes its options alone fix against the imaging limits; what depends on the
    /// source is checked when it is rendered.
    fn check_limits(&self, _job: &Job, _limits: &Limits) -> Result<(), LimitRefusal> {
        Ok(())
    }
}

impl std::fmt::Debug for dyn Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for dyn Template {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

/// The built-in templates, in the order the template listing shows them.
pub(crate) const ALL: &[&dyn Template] = &[
    &resize::Resize::new("resize_max_fit", ResizeMode::MaxFit),
    &resize::Resize::new("resize_min_fit", ResizeMode::MinFit),
    &resize::Resize::new("resize_fix", ResizeMode::Fix),
    &resize::Resize::new("resize_width_fit", ResizeMode::WidthFit),
    &resize::Resize::new("resize_height_fit", ResizeMode::HeightFit),
    &gray::Gray,
    &rectangle::Rectangle,
    &slice::Slice,
    &grid::Grid,
    &circle::Circle,
    &watermark::Watermark,
];

/// The template a name given on input stands for: the older guide's `resize_fixed` is
/// `resize_fix`; every other name stands for itself.
pub(crate) fn current_name(name: &str) -> &str {
    match name {
        "resize_fixed" => "resize_fix",
        other => other,
    }
}

/// The template named `name` (a current name, see [`current_name`]).
pub(crate) fn find(name: &str) -> Option<&'static dyn Template> {
    ALL.iter().copied().find(|t| t.name() == name)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::Map;

    /// Parses `option` with `template`, fields named as the first job's.
    pub(crate) fn parse(template: &dyn Template, option: Value) -> Result<Job, OperationError> {
        let map = match option {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        template.parse(&Options::new(&map, "data[0].option".into()))
    }

    #[test]
    fn every_template_reads_back_its_own_view() {
        for t in ALL {
            let name = t.name();
            let job = parse(*t, t.example()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let view = t.view(&job);
            assert!(view.is_object(), "{}: {view}", t.name());
            assert_eq!(parse(*t, view).as_ref(), Ok(&job), "{}", t.name());
        }
    }

    #[test]
    fn names_and_job_types_are_listed_once_in_stage_groups() {
        let names: Vec<_> = ALL.iter().map(|t| t.name()).collect();
        for (i, name) in names.iter().enumerate() {
            assert!(!names[i + 1..].contains(name), "{name} twice");
            assert_eq!(find(name).map(|t| t.name()), Some(*name));
        }
        assert_eq!(
            find(current_name("resize_fixed")).map(|t| t.name()),
            Some("resize_fix")
        );
        assert!(find("resize_fixed").is_none());
        let stage = |n: &str| find(n).map(|t| t.stage());
        assert_eq!(stage("gray"), Some(Stage::Basic));
        assert_eq!(stage("grid"), Some(Stage::Split));
        assert_eq!(stage("watermark"), Some(Stage::Composite));
        assert_eq!(
            find("rectangle").map(|t| t.job_type()),
            Some("RectangleCropJob")
        );
        assert_eq!(names.len(), 11);
    }
}
