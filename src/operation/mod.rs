//! Operation specs: the body of `PUT /operations/{operationId}` parsed into typed jobs, with
//! every default of the API guide filled in, validated (result codes 40003, 40004, 10001 with a
//! message naming the field), and shown back as the guide's `jobTemplate`.

mod options;
mod templates;

use crate::imaging::{codec, Job, Limits, Pipeline, TargetFormat};
use options::Options;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use templates::{Stage, Template};

/// Why an operation body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperationError {
    /// The body or an option has the wrong JSON shape or type (40004).
    #[error("{0}")]
    Parse(String),
    /// A `templateOperationId` that does not exist (40003).
    #[error("{0}")]
    UnknownTemplate(String),
    /// A value outside its range, a missing required value, a repeated template, or groups out
    /// of order (10001).
    #[error("{0}")]
    Invalid(String),
}

impl OperationError {
    /// The API result code of this error.
    pub fn result_code(&self) -> i32 {
        match self {
            Self::Parse(_) => 40004,
            Self::UnknownTemplate(_) => 40003,
            Self::Invalid(_) => 10001,
        }
    }
}

/// A parsed operation.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationSpec {
    operation_id: String,
    description: String,
    realtime_service: bool,
    templates: Vec<&'static dyn Template>,
    jobs: Vec<Job>,
    /// `callbackUrl` of the split job (slice or grid); an operation has at most one.
    split_callback: Option<String>,
}

impl OperationSpec {
    /// Parses and validates an operation body for `operation_id`.
    pub fn parse(operation_id: &str, body: &[u8]) -> Result<Self, OperationError> {
        let id_ok = (1..=20).contains(&operation_id.len())
            && operation_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !id_ok {
            return Err(OperationError::Invalid(
                "operationId must be 1..20 letters, digits or '-'".into(),
            ));
        }
        let root: Value = crate::lenient_json::from_slice(body)
            .map_err(|e| OperationError::Parse(format!("body is not JSON: {e}")))?;
        let Value::Object(root) = root else {
            return Err(OperationError::Parse("body must be a JSON object".into()));
        };
        let top = Options::new(&root, "body".into());
        let description = top.string("description")?.unwrap_or("").to_owned();
        if description.chars().count() > 30 {
            return Err(OperationError::Invalid(
                "description must be at most 30 characters".into(),
            ));
        }
        let realtime_service = top.bool("realtimeService", true)?;
        top.bool("deleteThumbnail", false)?;
        let data = match root.get("data") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(_) => return Err(OperationError::Parse("data must be a list".into())),
        };
        if data.is_empty() {
            return Err(OperationError::UnknownTemplate(
                "data must list at least one job".into(),
            ));
        }
        let mut jobs = Vec::with_capacity(data.len());
        let mut templates: Vec<&'static dyn Template> = Vec::with_capacity(data.len());
        let mut last_stage = Stage::Basic;
        let mut split_callback = None;
        for (i, item) in data.iter().enumerate() {
            let Value::Object(item) = item else {
                return Err(OperationError::Parse(format!(
                    "data[{i}] must be an object"
                )));
            };
            let name = match item.get("templateOperationId") {
                Some(Value::String(s)) => s.as_str(),
                Some(_) => {
                    return Err(OperationError::Parse(format!(
                        "data[{i}].templateOperationId must be a string"
                    )))
                }
                None => {
                    return Err(OperationError::Invalid(format!(
                        "data[{i}].templateOperationId is required"
                    )))
                }
            };
            let name = templates::current_name(name);
            let Some(template) = templates::find(name) else {
                return Err(OperationError::UnknownTemplate(format!(
                    "data[{i}].templateOperationId `{name}` is not a template"
                )));
            };
            if templates.contains(&template) {
                return Err(OperationError::Invalid(format!(
                    "data[{i}].templateOperationId `{name}` is used twice"
                )));
            }
            let stage = template.stage();
            if stage < last_stage {
                return Err(OperationError::Invalid(format!(
                    "data[{i}].templateOperationId `{name}`: jobs must be ordered basic \
                     (resize, gray, rectangle), then split (slice, grid), then composite \
                     (circle, watermark)"
                )));
            }
            if stage == Stage::Split && last_stage == Stage::Split {
                return Err(OperationError::Invalid(format!(
                    "data[{i}].templateOperationId `{name}`: only one of slice and grid"
                )));
            }
            last_stage = stage;
            let empty = Map::new();
            let map = match item.get("option") {
                None | Some(Value::Null) => &empty,
                Some(Value::Object(m)) => m,
                Some(_) => {
                    return Err(OperationError::Parse(format!(
                        "data[{i}].option must be an object"
                    )))
                }
            };
            let opts = Options::new(map, format!("data[{i}].option"));
            jobs.push(template.parse(&opts)?);
            if stage == Stage::Split {
                split_callback = opts.string("callbackUrl")?.map(str::to_owned);
            }
            templates.push(template);
        }
        Ok(Self {
            operation_id: operation_id.to_owned(),
            description,
            realtime_service,
            templates,
            jobs,
            split_callback,
        })
    }

    /// Checks the sizes the options alone fix against the imaging limits (10001 naming the
    /// field): a resize box side or a circle diameter over `max_output_side`, a fixed resize
    /// or a circle over `max_pixels`, a grid of more than `max_pieces` pieces. What depends on
    /// the source is checked when it is rendered.
    pub(crate) fn check_limits(&self, limits: &Limits) -> Result<(), OperationError> {
        for (i, (template, job)) in self.templates.iter().zip(&self.jobs).enumerate() {
            template.check_limits(job, limits).map_err(|(name, e)| {
                OperationError::Invalid(format!("data[{i}].option.{name}: {e}"))
            })?;
        }
        Ok(())
    }

    /// The `callbackUrl` of the slice or grid job: where the results of tasks queued without a
    /// request callback are reported.
    pub(crate) fn callback_url(&self) -> Option<&str> {
        self.split_callback.as_deref()
    }

    /// The option view of one of the jobs, with the split job's `callbackUrl` when it has one.
    fn option_of(&self, template: &dyn Template, job: &Job) -> Value {
        let mut view = template.view(job);
        if let (Value::Object(map), Some(url), Stage::Split) =
            (&mut view, &self.split_callback, template.stage())
        {
            map.insert("callbackUrl".into(), Value::String(url.clone()));
        }
        view
    }

    /// The operation's name.
    pub(crate) fn operation_id(&self) -> &str {
        &self.operation_id
    }

    /// Its description.
    pub(crate) fn description(&self) -> &str {
        &self.description
    }

    /// Whether the real-time service may render it.
    pub(crate) fn realtime_service(&self) -> bool {
        self.realtime_service
    }

    /// The jobs in order.
    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// The guide's `jobTemplate` list, options completed with every default.
    pub fn job_template(&self) -> Value {
        Value::Array(
            self.templates
                .iter()
                .zip(&self.jobs)
                .map(|(t, job)| {
                    json!({
                        "templateOperationId": t.name(),
                        "jobType": t.job_type(),
                        "option": self.option_of(*t, job),
                    })
                })
                .collect(),
        )
    }

    /// The canonical body (defaults filled in) that [`OperationSpec::parse`] reads back.
    pub fn canonical_json(&self) -> String {
        let data: Vec<Value> = self
            .templates
            .iter()
            .zip(&self.jobs)
            .map(|(t, job)| {
                json!({ "templateOperationId": t.name(), "option": self.option_of(*t, job) })
            })
            .collect();
        json!({
            "description": self.description,
            "realtimeService": self.realtime_service,
            "data": data,
        })
        .to_string()
    }

    /// Catalog paths of the watermark images the operation uses.
    pub fn watermark_paths(&self) -> Vec<String> {
        self.jobs
            .iter()
            .filter_map(|j| match j {
                Job::Watermark { image_path, .. } => Some(image_path.clone()),
                _ => None,
            })
            .collect()
    }

    /// Whether the operation yields several images (slice, grid).
    pub(crate) fn multiple_outputs(&self) -> bool {
        self.templates.iter().any(|t| t.stage() == Stage::Split)
    }

    /// The piece number in the name of output `index` of `count` (as `paths::output_name` names it):
    /// outputs are numbered when the operation splits the image or the render yields several.
    pub(crate) fn output_index(&self, index: usize, count: usize) -> Option<usize> {
        (count > 1 || self.multiple_outputs()).then_some(index)
    }

    /// Whether it can be served by the real-time service (slice and grid cannot).
    pub(crate) fn realtime_capable(&self) -> bool {
        !self.multiple_outputs()
    }

    /// The template of the first job, for metrics (`none` for an empty operation).
    pub(crate) fn first_template(&self) -> &'static str {
        self.templates.first().map_or("none", |t| t.name())
    }

    /// The output format for a source of `content_type`, decided as the engine decides it
    /// ([`codec::output_format`]) from the resize job's target, the source's format and the
    /// jobs. The service renders to this format so the stored name is known before the
    /// render.
    pub(crate) fn output_format(&self, content_type: &str) -> TargetFormat {
        codec::output_format(
            self.forced_format(),
            TargetFormat::of_media_type(content_type),
            &self.jobs,
        )
    }

    /// The resize job's target format, when it sets one.
    fn forced_format(&self) -> Option<TargetFormat> {
        self.jobs.iter().find_map(|j| match j {
            Job::Resize { target, .. } => *target,
            _ => None,
        })
    }

    /// The imaging pipeline of this operation, with the watermark images it names.
    pub fn to_pipeline(
        &self,
        watermarks: &HashMap<String, bytes::Bytes>,
    ) -> Result<Pipeline, OperationError> {
        for path in self.watermark_paths() {
            if !watermarks.contains_key(&path) {
                return Err(OperationError::Invalid(format!(
                    "watermark image {path} is missing"
                )));
            }
        }
        let (target, quality, keep_exif, auto_orient) = self
            .jobs
            .iter()
            .find_map(|j| match j {
                Job::Resize {
                    target,
                    quality,
                    keep_exif,
                    auto_orient,
                    ..
                } => Some((*target, *quality, *keep_exif, *auto_orient)),
                _ => None,
            })
            .unwrap_or((None, 75, true, false));
        Ok(Pipeline {
            jobs: self.jobs.clone(),
            watermarks: watermarks.clone(),
            target,
            quality,
            keep_exif,
            auto_orient,
        })
    }

    /// The file extension of [`OperationSpec::output_format`].
    pub fn output_extension(&self, content_type: &str) -> String {
        self.output_format(content_type).extension().to_owned()
    }
}
/// The names of the built-in templates.
pub(crate) fn template_names() -> impl Iterator<Item = &'static str> {
    templates::ALL.iter().map(|t| t.name())
}

/// The built-in templates with their default options, as `GET /operations?template=true`
/// lists them.
pub(crate) fn templates() -> Vec<Value> {
    templates::ALL
        .iter()
        .map(|t| {
            let example = t.example();
            let option = match &example {
                Value::Object(map) => t
                    .parse(&Options::new(map, "data[0].option".into()))
                    .map_or(Value::Null, |job| t.view(&job)),
                _ => Value::Null,
            };
            json!({
                "operationId": t.name(),
                "description": "",
                "realtimeService": true,
                "jobTemplate": [{
                    "templateOperationId": t.name(),
                    "jobType": t.job_type(),
                    "option": option,
                }],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::UpDown;

    fn parse(body: &str) -> Result<OperationSpec, OperationError> {
        OperationSpec::parse("thumb", body.as_bytes())
    }

    #[test]
    fn defaults_are_filled_in() {
        let spec = parse(
            r#"{"data": [{"templateOperationId": "resize_max_fit",
                          "option": {"width": 100, "height": 100}}]}"#,
        )
        .expect("valid");
        assert!(spec.realtime_service());
        let view = spec.job_template();
        let opt = &view[0]["option"];
        assert_eq!(view[0]["jobType"], "ResizeJob");
        assert_eq!(opt["resizeType"], "max_fit");
        assert_eq!(opt["quality"], 75);
        assert_eq!(opt["upDownSizeType"], "downOnly");
        assert_eq!(opt["keepAnimation"], true);
        assert_eq!(opt["keepExif"], true);
        assert_eq!(opt["autoOrient"], false);
        let again = OperationSpec::parse("thumb", spec.canonical_json().as_bytes())
            .expect("canonical form parses");
        assert_eq!(again, spec);
    }

    #[test]
    fn errors_carry_codes_and_name_the_field() {
        let cases = [
            ("not json", 40004, "JSON"),
            (
                r#"{"data": [{"templateOperationId": "blur"}]}"#,
                40003,
                "blur",
            ),
            (r#"{"data": []}"#, 40003, "data"),
            (
                r#"{"data": [{"templateOperationId": "resize_fix", "option": {"width": 1, "height": 1, "quality": 101}}]}"#,
                10001,
                "data[0].option.quality",
            ),
            (
                r#"{"data": [{"templateOperationId": "resize_fix", "option": {"width": "x", "height": 1}}]}"#,
                40004,
                "data[0].option.width",
            ),
            (
                r#"{"data": [{"templateOperationId": "rectangle", "option": {"width": 10}}]}"#,
                10001,
                "data[0].option.height",
            ),
            (
                r#"{"data": [{"templateOperationId": "gray"}, {"templateOperationId": "gray"}]}"#,
                10001,
                "twice",
            ),
            (
                r#"{"data": [{"templateOperationId": "watermark", "option": {"watermarkImagePath": "/w.png"}}, {"templateOperationId": "gray"}]}"#,
                10001,
                "ordered",
            ),
            (
                r#"{"description": "0123456789012345678901234567890", "data": [{"templateOperationId": "gray"}]}"#,
                10001,
                "description",
            ),
            (
                r#"{"data": [{"templateOperationId": "circle", "option": {"radius": 5, "gravity": "Up"}}]}"#,
                10001,
                "gravity",
            ),
        ];
        for (body, code, needle) in cases {
            let err = parse(body).expect_err(body);
            assert_eq!(err.result_code(), code, "{body}: {err}");
            assert!(err.to_string().contains(needle), "{body}: {err}");
        }
        assert!(OperationSpec::parse("bad id!", br#"{"data": []}"#).is_err());
    }

    #[test]
    fn outputs_and_realtime() {
        let slice =
            parse(r#"{"data": [{"templateOperationId": "slice", "option": {"sliceSize": 10}}]}"#)
                .expect("valid");
        assert!(slice.multiple_outputs() && !slice.realtime_capable());
        let webp = parse(
            r#"{"data": [{"templateOperationId": "resize_fix",
                          "option": {"width": 1, "height": 1, "targetExtension": "webp"}}]}"#,
        )
        .expect("valid");
        assert_eq!(webp.output_extension("image/jpeg"), "webp");
        for one_sided in [
            r#"{"data": [{"templateOperationId": "resize_width_fit", "option": {"width": 10}}]}"#,
            r#"{"data": [{"templateOperationId": "resize_height_fit", "option": {"height": 10}}]}"#,
        ] {
            let spec = parse(one_sided).expect("valid");
            let again = OperationSpec::parse("thumb", spec.canonical_json().as_bytes());
            assert_eq!(again.as_ref(), Ok(&spec), "canonical form of {one_sided}");
        }
        let gray = parse(r#"{"data": [{"templateOperationId": "gray"}]}"#).expect("valid");
        assert_eq!(gray.output_extension("image/gif"), "gif");
        assert_eq!(gray.output_extension("image/bmp"), "jpg");
        let marks = parse(
            r#"{"data": [{"templateOperationId": "watermark", "option": {"watermarkImagePath": "/w.png"}}]}"#,
        )
        .expect("valid");
        assert_eq!(marks.watermark_paths(), ["/w.png"]);
    }

    #[test]
    fn split_callback_is_kept_and_shown() {
        let grid = parse(
            r#"{"data": [{"templateOperationId": "grid",
                          "option": {"countX": 2, "countY": 2, "callbackUrl": " http://h/cb "}}]}"#,
        )
        .expect("valid");
        assert_eq!(grid.callback_url(), Some("http://h/cb"));
        assert_eq!(
            grid.job_template()[0]["option"]["callbackUrl"],
            "http://h/cb"
        );
        let again = OperationSpec::parse("thumb", grid.canonical_json().as_bytes());
        assert_eq!(again.as_ref(), Ok(&grid));
        let plain =
            parse(r#"{"data": [{"templateOperationId": "slice", "option": {"sliceSize": 10}}]}"#)
                .expect("valid");
        assert_eq!(plain.callback_url(), None);
        assert!(plain.job_template()[0]["option"]
            .get("callbackUrl")
            .is_none());
    }

    #[test]
    fn quality_is_a_number_rounded_half_away_from_zero() {
        let quality = |q: &str| {
            parse(&format!(
                r#"{{"data": [{{"templateOperationId": "resize_fix",
                              "option": {{"width": 1, "height": 1, "quality": {q}}}}}]}}"#
            ))
            .map(|s| s.job_template()[0]["option"]["quality"].clone())
        };
        assert_eq!(quality("80.5"), Ok(json!(81)));
        assert_eq!(quality("80.4"), Ok(json!(80)));
        assert_eq!(quality("0.5"), Ok(json!(1)));
        assert_eq!(quality("100.4"), Ok(json!(100)));
        assert_eq!(quality(r#""72.5""#), Ok(json!(73)));
        for bad in ["0.4", "100.5", "-3", "1e300", r#""high""#, "true", "[80]"] {
            let err = quality(bad).expect_err(bad);
            assert_eq!(err.result_code(), 10001, "{bad}: {err}");
            assert!(
                err.to_string().contains("data[0].option.quality"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn older_names_are_read_and_answered_with_current_ones() {
        let spec = parse(
            r#"{"data": [{"templateOperationId": "resize_fixed",
                          "option": {"width": 10, "height": 20, "shrinkLargerOnly": false}}]}"#,
        )
        .expect("older template name");
        let view = &spec.job_template()[0];
        assert_eq!(view["templateOperationId"], "resize_fix");
        assert_eq!(view["option"]["resizeType"], "fix");
        assert_eq!(view["option"]["upDownSizeType"], "upDownAll");
        assert_eq!(view["option"]["shrinkLargerOnly"], false);
        let up_down = |opt: &str| {
            parse(&format!(
                r#"{{"data": [{{"templateOperationId": "resize_max_fit",
                              "option": {{"width": 10, "height": 10{opt}}}}}]}}"#
            ))
            .expect(opt)
            .jobs()[0]
                .fit()
                .map(|(_, _, _, u)| u)
        };
        assert_eq!(
            up_down(r#", "shrinkLargerOnly": true"#),
            Some(UpDown::DownOnly)
        );
        assert_eq!(
            up_down(r#", "shrinkLargerOnly": "false""#),
            Some(UpDown::UpDownAll)
        );
        assert_eq!(
            up_down(r#", "shrinkLargerOnly": false, "upDownSizeType": "downOnly""#),
            Some(UpDown::DownOnly),
            "an explicit upDownSizeType wins"
        );
        assert_eq!(
            up_down(r#", "shrinkLargerOnly": true, "upDownSizeType": "upOnly""#),
            Some(UpDown::UpOnly)
        );
        assert_eq!(up_down(""), Some(UpDown::DownOnly));
        assert!(!spec.canonical_json().contains("resize_fixed"));
    }

    #[test]
    fn every_template_is_listed_with_defaults() {
        let list = templates();
        assert_eq!(list.len(), 11);
        for t in &list {
            assert!(t["jobTemplate"][0]["option"].is_object(), "{t}");
        }
    }
}
