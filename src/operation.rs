//! Operation specs: the body of `PUT /operations/{operationId}` parsed into typed jobs, with
//! every default of the API guide filled in, validated (result codes 40003, 40004, 10001 with a
//! message naming the field), and shown back as the guide's `jobTemplate`.

use serde_json::{json, Map, Value};

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

/// One of the nine anchor positions of crops and watermarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gravity {
    /// Top left.
    NorthWest,
    /// Top centre.
    North,
    /// Top right.
    NorthEast,
    /// Middle left.
    West,
    /// Centre.
    Center,
    /// Middle right.
    East,
    /// Bottom left.
    SouthWest,
    /// Bottom centre.
    South,
    /// Bottom right.
    SouthEast,
}

impl Gravity {
    const ALL: [(&'static str, Gravity); 9] = [
        ("NorthWest", Gravity::NorthWest),
        ("North", Gravity::North),
        ("NorthEast", Gravity::NorthEast),
        ("West", Gravity::West),
        ("Center", Gravity::Center),
        ("East", Gravity::East),
        ("SouthWest", Gravity::SouthWest),
        ("South", Gravity::South),
        ("SouthEast", Gravity::SouthEast),
    ];

    fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map(|(_, g)| *g)
    }

    /// The guide's spelling.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, g)| *g == self)
            .map_or("Center", |(n, _)| n)
    }
}

/// How a resize fits the option's box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizeMode {
    /// The source's longer side is fitted.
    MaxFit,
    /// The source's shorter side is fitted.
    MinFit,
    /// Exactly width x height.
    Fix,
    /// The width is fitted.
    WidthFit,
    /// The height is fitted.
    HeightFit,
}

/// Whether a resize may enlarge or shrink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpDown {
    /// Never enlarge.
    DownOnly,
    /// Never shrink.
    UpOnly,
    /// Both.
    UpDownAll,
}

impl UpDown {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "downOnly" => Some(Self::DownOnly),
            "upOnly" => Some(Self::UpOnly),
            "upDownAll" => Some(Self::UpDownAll),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::DownOnly => "downOnly",
            Self::UpOnly => "upOnly",
            Self::UpDownAll => "upDownAll",
        }
    }
}

/// Output formats an operation may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetFormat {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// GIF.
    Gif,
    /// WebP.
    Webp,
}

impl Job {
    /// The fit of a resize job: mode, box width and height, up/down rule.
    pub fn fit(&self) -> Option<(ResizeMode, u32, u32, UpDown)> {
        match self {
            Job::Resize {
                mode,
                width,
                height,
                up_down,
                ..
            } => Some((*mode, *width, *height, *up_down)),
            _ => None,
        }
    }
}

impl TargetFormat {
    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().trim_start_matches('.') {
            "jpg" | "jpeg" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            "gif" => Some(Self::Gif),
            "webp" => Some(Self::Webp),
            _ => None,
        }
    }

    /// File extension of the format.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::Webp => "webp",
        }
    }

    /// The format of a source media type, when it can be written.
    pub fn of_media_type(content_type: &str) -> Option<Self> {
        match content_type {
            "image/jpeg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            "image/gif" => Some(Self::Gif),
            "image/webp" => Some(Self::Webp),
            _ => None,
        }
    }
}

/// One job of an operation, with every option resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// `resize_*`.
    Resize {
        /// Fit rule.
        mode: ResizeMode,
        /// Box width.
        width: u32,
        /// Box height.
        height: u32,
        /// Lossy quality, 1..100.
        quality: u8,
        /// Enlarge/shrink rule.
        up_down: UpDown,
        /// Keep every frame of an animation.
        keep_animation: bool,
        /// Keep the EXIF block.
        keep_exif: bool,
        /// Apply the EXIF orientation first.
        auto_orient: bool,
        /// Output format, when forced.
        target: Option<TargetFormat>,
    },
    /// `gray`.
    Gray {
        /// Keep every frame of an animation.
        keep_animation: bool,
    },
    /// `rectangle` crop.
    Rectangle {
        /// Anchor.
        gravity: Gravity,
        /// Horizontal offset.
        offset_x: i32,
        /// Vertical offset.
        offset_y: i32,
        /// Crop width.
        width: u32,
        /// Crop height.
        height: u32,
        /// Keep every frame of an animation.
        keep_animation: bool,
    },
    /// `circle` crop.
    Circle {
        /// Anchor.
        gravity: Gravity,
        /// Horizontal offset.
        offset_x: i32,
        /// Vertical offset.
        offset_y: i32,
        /// Radius.
        radius: u32,
    },
    /// `slice`.
    Slice {
        /// Pieces stacked top to bottom (`vertical`) or left to right.
        vertical: bool,
        /// Piece height (vertical) or width (horizontal); 0 leaves the image whole along that
        /// direction (one piece).
        size: u32,
        /// Keep every frame of an animation.
        keep_animation: bool,
    },
    /// `grid`.
    Grid {
        /// Pieces across.
        count_x: u32,
        /// Pieces down.
        count_y: u32,
    },
    /// `watermark`.
    Watermark {
        /// Anchor.
        gravity: Gravity,
        /// Horizontal offset.
        offset_x: i32,
        /// Vertical offset.
        offset_y: i32,
        /// Catalog path of the overlay image.
        image_path: String,
    },
}

/// The built-in templates: id, group (0 basic, 1 split, 2 composite) and job type.
const TEMPLATES: [(&str, u8, &str); 11] = [
    ("resize_max_fit", 0, "ResizeJob"),
    ("resize_min_fit", 0, "ResizeJob"),
    ("resize_fix", 0, "ResizeJob"),
    ("resize_width_fit", 0, "ResizeJob"),
    ("resize_height_fit", 0, "ResizeJob"),
    ("gray", 0, "GrayJob"),
    ("rectangle", 0, "RectangleCropJob"),
    ("slice", 1, "SliceCropJob"),
    ("grid", 1, "GridCropJob"),
    ("circle", 2, "CircleCropJob"),
    ("watermark", 2, "WatermarkJob"),
];

/// The template a name given on input stands for: the older guide's `resize_fixed` is
/// `resize_fix`; every other name stands for itself.
fn current_template_name(name: &str) -> &str {
    match name {
        "resize_fixed" => "resize_fix",
        other => other,
    }
}

/// A parsed operation.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationSpec {
    operation_id: String,
    description: String,
    realtime_service: bool,
    templates: Vec<&'static str>,
    jobs: Vec<Job>,
    /// `callbackUrl` of the split job (slice or grid); an operation has at most one.
    split_callback: Option<String>,
}

/// Reads the options of one job, naming fields as `data[i].option.<name>` in errors.
struct Options<'a> {
    map: &'a Map<String, Value>,
    at: String,
}

impl Options<'_> {
    fn field(&self, name: &str) -> String {
        format!("{}.{name}", self.at)
    }

    fn int(&self, name: &str) -> Result<Option<i64>, OperationError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .map(Some)
                .ok_or_else(|| {
                    OperationError::Invalid(format!("{} must be an integer", self.field(name)))
                }),
            Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| {
                OperationError::Parse(format!("{} must be an integer", self.field(name)))
            }),
            Some(_) => Err(OperationError::Parse(format!(
                "{} must be an integer",
                self.field(name)
            ))),
        }
    }

    fn positive(&self, name: &str, max: u32) -> Result<Option<u32>, OperationError> {
        match self.int(name)? {
            None => Ok(None),
            Some(v) if v >= 1 && v <= i64::from(max) => Ok(Some(v as u32)),
            Some(_) => Err(OperationError::Invalid(format!(
                "{} must be 1..{max}",
                self.field(name)
            ))),
        }
    }

    /// The lossy quality, a number 1..=100 that may carry a fraction (`80.5`), rounded half
    /// away from zero; a number in a string is read the same way. Anything else is 10001.
    fn quality(&self) -> Result<Option<u8>, OperationError> {
        let value = match self.map.get("quality") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            Some(_) => None,
        };
        value
            .map(f64::round)
            .filter(|q| (1.0..=100.0).contains(q))
            .map(|q| Some(q as u8))
            .ok_or_else(|| {
                OperationError::Invalid(format!(
                    "{} must be a number 1..100",
                    self.field("quality")
                ))
            })
    }

    /// The enlarge/shrink rule: `upDownSizeType` when given; else the older guide's
    /// `shrinkLargerOnly` (`true` never enlarges, `false` both enlarges and shrinks); else
    /// `downOnly`.
    fn up_down(&self) -> Result<UpDown, OperationError> {
        if let Some(s) = self.string("upDownSizeType")? {
            return UpDown::parse(s).ok_or_else(|| {
                OperationError::Invalid(format!(
                    "{} must be downOnly, upOnly or upDownAll",
                    self.field("upDownSizeType")
                ))
            });
        }
        Ok(match self.map.get("shrinkLargerOnly") {
            None | Some(Value::Null) => UpDown::DownOnly,
            Some(_) if self.bool("shrinkLargerOnly", true)? => UpDown::DownOnly,
            Some(_) => UpDown::UpDownAll,
        })
    }

    /// A size that may be absent or 0: the unused side of a one-sided resize, or a `sliceSize`
    /// that leaves the image whole along the slicing direction.
    fn optional_side(&self, name: &str) -> Result<u32, OperationError> {
        match self.int(name)? {
            None | Some(0) => Ok(0),
            Some(_) => Ok(self.positive(name, MAX_SIDE)?.unwrap_or(0)),
        }
    }

    fn required(&self, name: &str, max: u32) -> Result<u32, OperationError> {
        self.positive(name, max)?
            .ok_or_else(|| OperationError::Invalid(format!("{} is required", self.field(name))))
    }

    fn offset(&self, name: &str) -> Result<i32, OperationError> {
        match self.int(name)? {
            None => Ok(0),
            Some(v) => i32::try_from(v)
                .ok()
                .filter(|v| v.unsigned_abs() <= 100_000)
                .ok_or_else(|| {
                    OperationError::Invalid(format!("{} is out of range", self.field(name)))
                }),
        }
    }

    fn bool(&self, name: &str, default: bool) -> Result<bool, OperationError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(OperationError::Parse(format!(
                "{} must be a boolean",
                self.field(name)
            ))),
        }
    }

    fn string(&self, name: &str) -> Result<Option<&str>, OperationError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim())),
            Some(_) => Err(OperationError::Parse(format!(
                "{} must be a string",
                self.field(name)
            ))),
        }
    }

    fn gravity(&self) -> Result<Gravity, OperationError> {
        match self.string("gravity")? {
            None => Ok(Gravity::Center),
            Some(g) => Gravity::parse(g).ok_or_else(|| {
                OperationError::Invalid(format!(
                    "{} must be one of NorthWest, North, NorthEast, West, Center, East, \
                     SouthWest, South, SouthEast",
                    self.field("gravity")
                ))
            }),
        }
    }
}

/// Largest width, height, radius or piece size accepted in an option.
const MAX_SIDE: u32 = 100_000;

fn parse_job(template: &str, opts: &Options<'_>) -> Result<Job, OperationError> {
    let mode = match template {
        "resize_max_fit" => Some(ResizeMode::MaxFit),
        "resize_min_fit" => Some(ResizeMode::MinFit),
        "resize_fix" => Some(ResizeMode::Fix),
        "resize_width_fit" => Some(ResizeMode::WidthFit),
        "resize_height_fit" => Some(ResizeMode::HeightFit),
        _ => None,
    };
    if let Some(mode) = mode {
        let (width, height) = match mode {
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
        let target = match opts.string("targetExtension")? {
            None => None,
            Some(ext) => Some(TargetFormat::parse(ext).ok_or_else(|| {
                OperationError::Invalid(format!(
                    "{} must be jpg, jpeg, png, gif or webp",
                    opts.field("targetExtension")
                ))
            })?),
        };
        return Ok(Job::Resize {
            mode,
            width,
            height,
            quality,
            up_down,
            keep_animation: opts.bool("keepAnimation", true)?,
            keep_exif: opts.bool("keepExif", true)?,
            auto_orient: opts.bool("autoOrient", false)?,
            target,
        });
    }
    match template {
        "gray" => Ok(Job::Gray {
            keep_animation: opts.bool("keepAnimation", true)?,
        }),
        "rectangle" => Ok(Job::Rectangle {
            gravity: opts.gravity()?,
            offset_x: opts.offset("offsetX")?,
            offset_y: opts.offset("offsetY")?,
            width: opts.required("width", MAX_SIDE)?,
            height: opts.required("height", MAX_SIDE)?,
            keep_animation: opts.bool("keepAnimation", false)?,
        }),
        "circle" => Ok(Job::Circle {
            gravity: opts.gravity()?,
            offset_x: opts.offset("offsetX")?,
            offset_y: opts.offset("offsetY")?,
            radius: opts.required("radius", MAX_SIDE / 2)?,
        }),
        "slice" => {
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
        "grid" => Ok(Job::Grid {
            count_x: opts.required("countX", 100)?,
            count_y: opts.required("countY", 100)?,
        }),
        "watermark" => Ok(Job::Watermark {
            gravity: opts.gravity()?,
            offset_x: opts.offset("offsetX")?,
            offset_y: opts.offset("offsetY")?,
            image_path: opts
                .string("watermarkImagePath")?
                .ok_or_else(|| {
                    OperationError::Invalid(format!(
                        "{} is required",
                        opts.field("watermarkImagePath")
                    ))
                })?
                .to_owned(),
        }),
        other => Err(OperationError::UnknownTemplate(format!(
            "unknown templateOperationId `{other}`"
        ))),
    }
}

/// The option object of a job with every default filled in, as the guide shows it.
fn option_view(job: &Job) -> Value {
    match job {
        Job::Resize {
            mode,
            width,
            height,
            quality,
            up_down,
            keep_animation,
            keep_exif,
            auto_orient,
            target,
        } => json!({
            "resizeType": match mode {
                ResizeMode::MaxFit => "max_fit",
                ResizeMode::MinFit => "min_fit",
                ResizeMode::Fix => "fix",
                ResizeMode::WidthFit => "width_fit",
                ResizeMode::HeightFit => "height_fit",
            },
            "width": width,
            "height": height,
            "quality": quality,
            "shrinkLargerOnly": false,
            "upDownSizeType": up_down.name(),
            "keepAnimation": keep_animation,
            "keepExif": keep_exif,
            "autoOrient": auto_orient,
            "targetExtension": target.map(TargetFormat::extension),
        }),
        Job::Gray { keep_animation } => json!({ "keepAnimation": keep_animation }),
        Job::Rectangle {
            gravity,
            offset_x,
            offset_y,
            width,
            height,
            keep_animation,
        } => json!({
            "gravity": gravity.name(),
            "offsetX": offset_x,
            "offsetY": offset_y,
            "width": width,
            "height": height,
            "keepAnimation": keep_animation,
        }),
        Job::Circle {
            gravity,
            offset_x,
            offset_y,
            radius,
        } => json!({
            "gravity": gravity.name(),
            "offsetX": offset_x,
            "offsetY": offset_y,
            "radius": radius,
        }),
        Job::Slice {
            vertical,
            size,
            keep_animation,
        } => json!({
            "sliceCropType": if *vertical { "vertical" } else { "horizontal" },
            "sliceSize": size,
            "keepAnimation": keep_animation,
        }),
        Job::Grid { count_x, count_y } => json!({ "countX": count_x, "countY": count_y }),
        Job::Watermark {
            gravity,
            offset_x,
            offset_y,
            image_path,
        } => json!({
            "gravity": gravity.name(),
            "offsetX": offset_x,
            "offsetY": offset_y,
            "watermarkImagePath": image_path,
        }),
    }
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
        let top = Options {
            map: &root,
            at: "body".into(),
        };
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
        let mut templates: Vec<&'static str> = Vec::with_capacity(data.len());
        let mut last_group = 0u8;
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
            let name = current_template_name(name);
            let Some((template, group, _)) = TEMPLATES.iter().find(|(t, _, _)| *t == name) else {
                return Err(OperationError::UnknownTemplate(format!(
                    "data[{i}].templateOperationId `{name}` is not a template"
                )));
            };
            if templates.contains(template) {
                return Err(OperationError::Invalid(format!(
                    "data[{i}].templateOperationId `{name}` is used twice"
                )));
            }
            if *group < last_group {
                return Err(OperationError::Invalid(format!(
                    "data[{i}].templateOperationId `{name}`: jobs must be ordered basic \
                     (resize, gray, rectangle), then split (slice, grid), then composite \
                     (circle, watermark)"
                )));
            }
            if *group == 1 && last_group == 1 {
                return Err(OperationError::Invalid(format!(
                    "data[{i}].templateOperationId `{name}`: only one of slice and grid"
                )));
            }
            last_group = *group;
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
            let opts = Options {
                map,
                at: format!("data[{i}].option"),
            };
            jobs.push(parse_job(template, &opts)?);
            if *group == 1 {
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
    pub fn check_limits(&self, limits: &crate::imaging::Limits) -> Result<(), OperationError> {
        use crate::imaging::budget;
        for (i, job) in self.jobs.iter().enumerate() {
            let refused = |name: &str, e: crate::imaging::ImagingError| {
                OperationError::Invalid(format!("data[{i}].option.{name}: {e}"))
            };
            match job {
                Job::Resize {
                    mode,
                    width,
                    height,
                    ..
                } => {
                    let used: &[(&str, u32)] = match mode {
                        ResizeMode::WidthFit => &[("width", *width)],
                        ResizeMode::HeightFit => &[("height", *height)],
                        _ => &[("width", *width), ("height", *height)],
                    };
                    for &(name, side) in used {
                        budget::canvas(u64::from(side), 1, limits).map_err(|e| refused(name, e))?;
                    }
                    if *mode == ResizeMode::Fix {
                        budget::canvas(u64::from(*width), u64::from(*height), limits)
                            .map_err(|e| refused("width", e))?;
                    }
                }
                Job::Circle { radius, .. } => {
                    budget::circle(*radius, limits).map_err(|e| refused("radius", e))?;
                }
                Job::Grid { count_x, count_y } => {
                    budget::pieces(u64::from(*count_x) * u64::from(*count_y), limits)
                        .map_err(|e| refused("countX", e))?;
                }
                Job::Gray { .. }
                | Job::Rectangle { .. }
                | Job::Slice { .. }
                | Job::Watermark { .. } => {}
            }
        }
        Ok(())
    }

    /// The `callbackUrl` of the slice or grid job: where the results of tasks queued without a
    /// request callback are reported.
    pub fn callback_url(&self) -> Option<&str> {
        self.split_callback.as_deref()
    }

    /// The option view of one of the jobs, with the split job's `callbackUrl` when it has one.
    fn option_of(&self, job: &Job) -> Value {
        let mut view = option_view(job);
        if let (Value::Object(map), Some(url), Job::Slice { .. } | Job::Grid { .. }) =
            (&mut view, &self.split_callback, job)
        {
            map.insert("callbackUrl".into(), Value::String(url.clone()));
        }
        view
    }

    /// The operation's name.
    pub fn operation_id(&self) -> &str {
        &self.operation_id
    }

    /// Its description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether the real-time service may render it.
    pub fn realtime_service(&self) -> bool {
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
                        "templateOperationId": t,
                        "jobType": job_type(t),
                        "option": self.option_of(job),
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
            .map(|(t, job)| json!({ "templateOperationId": t, "option": self.option_of(job) }))
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
    pub fn multiple_outputs(&self) -> bool {
        self.jobs
            .iter()
            .any(|j| matches!(j, Job::Slice { .. } | Job::Grid { .. }))
    }

    /// Whether it can be served by the real-time service (slice and grid cannot).
    pub fn realtime_capable(&self) -> bool {
        !self.multiple_outputs()
    }

    /// The template of the first job, for metrics (`none` for an empty operation).
    pub fn first_template(&self) -> &'static str {
        self.templates.first().copied().unwrap_or("none")
    }

    /// The output format for a source of `content_type`: the resize job's target when set,
    /// else the source's format when it can be written, else (BMP, TIFF, AVIF) PNG when the
    /// operation cuts a circle and JPEG otherwise. The service renders to this format so the
    /// stored name is known before the render; the engine alone decides by the pixels.
    pub fn output_format(&self, content_type: &str) -> TargetFormat {
        self.jobs
            .iter()
            .find_map(|j| match j {
                Job::Resize { target, .. } => *target,
                _ => None,
            })
            .or_else(|| TargetFormat::of_media_type(content_type))
            .unwrap_or_else(|| {
                if self.jobs.iter().any(|j| matches!(j, Job::Circle { .. })) {
                    TargetFormat::Png
                } else {
                    TargetFormat::Jpeg
                }
            })
    }

    /// The imaging pipeline of this operation, with the watermark images it names.
    pub fn to_pipeline(
        &self,
        watermarks: &std::collections::HashMap<String, bytes::Bytes>,
    ) -> Result<crate::imaging::Pipeline, OperationError> {
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
        Ok(crate::imaging::Pipeline {
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

fn job_type(template: &str) -> &'static str {
    TEMPLATES
        .iter()
        .find(|(t, _, _)| *t == template)
        .map_or("Job", |(_, _, j)| j)
}

/// The names of the built-in templates.
pub fn template_names() -> impl Iterator<Item = &'static str> {
    TEMPLATES.iter().map(|(t, _, _)| *t)
}

/// The built-in templates with their default options, as `GET /operations?template=true`
/// lists them.
pub fn templates() -> Vec<Value> {
    TEMPLATES
        .iter()
        .map(|(t, _, job)| {
            let example = match *t {
                "rectangle" => json!({"width": 100, "height": 100}),
                "circle" => json!({"radius": 50}),
                "grid" => json!({"countX": 2, "countY": 2}),
                "watermark" => json!({"watermarkImagePath": "/watermark.png"}),
                t if t.starts_with("resize_") => json!({"width": 100, "height": 100}),
                _ => json!({}),
            };
            let body = json!({ "data": [{ "templateOperationId": t, "option": example }] });
            let option = OperationSpec::parse("template", body.to_string().as_bytes())
                .ok()
                .and_then(|s| s.jobs.first().map(option_view))
                .unwrap_or(Value::Null);
            json!({
                "operationId": t,
                "description": "",
                "realtimeService": true,
                "jobTemplate": [{ "templateOperationId": t, "jobType": job, "option": option }],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn slice_size_is_optional_and_defaults_to_zero() {
        let spec = parse(r#"{"data": [{"templateOperationId": "slice", "option": {}}]}"#)
            .expect("sliceSize is optional");
        let opt = &spec.job_template()[0]["option"];
        assert_eq!(opt["sliceSize"], 0);
        assert_eq!(opt["sliceCropType"], "vertical");
        let again = OperationSpec::parse("thumb", spec.canonical_json().as_bytes());
        assert_eq!(again.as_ref(), Ok(&spec));
        let err =
            parse(r#"{"data": [{"templateOperationId": "slice", "option": {"sliceSize": -1}}]}"#)
                .expect_err("negative");
        assert_eq!(err.result_code(), 10001);
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
