//! The jobs the engine runs, with every option resolved, and the geometry and format values
//! they use. The names of the values (`NorthWest`, `downOnly`, `jpg`) are the API guide's.

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

    /// The gravity a name stands for, in any letter case.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map(|(_, g)| *g)
    }

    /// The guide's spelling.
    pub(crate) fn name(self) -> &'static str {
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
    /// The rule a guide name stands for.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "downOnly" => Some(Self::DownOnly),
            "upOnly" => Some(Self::UpOnly),
            "upDownAll" => Some(Self::UpDownAll),
            _ => None,
        }
    }

    /// The guide's spelling.
    pub(crate) fn name(self) -> &'static str {
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

impl TargetFormat {
    /// The format an extension names (`jpg`, `.PNG`, ...).
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().trim_start_matches('.') {
            "jpg" | "jpeg" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            "gif" => Some(Self::Gif),
            "webp" => Some(Self::Webp),
            _ => None,
        }
    }

    /// File extension of the format.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::Webp => "webp",
        }
    }

    /// The format of a source media type, when it can be written.
    pub(crate) fn of_media_type(content_type: &str) -> Option<Self> {
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

impl Job {
    /// The fit of a resize job: mode, box width and height, up/down rule.
    pub(crate) fn fit(&self) -> Option<(ResizeMode, u32, u32, UpDown)> {
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
