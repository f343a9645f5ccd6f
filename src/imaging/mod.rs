//! The imaging engine: pure, synchronous code that turns source bytes and an operation's jobs
//! into encoded images. No I/O, no async, no HTTP: the caller passes watermark bytes in.

pub mod codec;
pub mod error;
pub mod geometry;
pub mod ops;

pub use error::ImagingError;

use crate::operation::{Job, TargetFormat};
use bytes::Bytes;
use image::RgbaImage;
use std::collections::HashMap;

/// What the engine accepts and produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest source, in pixels, checked from the header before decoding.
    pub max_pixels: u64,
    /// Most frames of an animated source.
    pub max_frames: u32,
    /// Largest output width or height.
    pub max_output_side: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_pixels: 100_000_000,
            max_frames: 1000,
            max_output_side: 8192,
        }
    }
}

/// An operation ready to run: its jobs, the watermark images they name, the forced output
/// format (else the source's) and the lossy quality.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Jobs in order.
    pub jobs: Vec<Job>,
    /// Watermark images by the path the jobs name.
    pub watermarks: HashMap<String, Bytes>,
    /// Output format; `None` keeps the source's (PNG when it cannot be written).
    pub target: Option<TargetFormat>,
    /// Quality of lossy output, 1..100.
    pub quality: u8,
}

/// One encoded output image.
#[derive(Debug, Clone)]
pub struct Output {
    /// Encoded bytes.
    pub bytes: Bytes,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Its format.
    pub format: TargetFormat,
}

impl Output {
    /// File extension of the output.
    pub fn extension(&self) -> &'static str {
        self.format.extension()
    }

    /// Media type of the output.
    pub fn content_type(&self) -> &'static str {
        match self.format {
            TargetFormat::Jpeg => "image/jpeg",
            TargetFormat::Png => "image/png",
            TargetFormat::Gif => "image/gif",
            TargetFormat::Webp => "image/webp",
        }
    }
}

/// Runs a pipeline over a source image. Slice and grid yield several outputs in reading order.
pub fn run(
    source: &[u8],
    pipeline: &Pipeline,
    limits: &Limits,
) -> Result<Vec<Output>, ImagingError> {
    let decoded = codec::decode(source, limits)?;
    let format = pipeline
        .target
        .or_else(|| codec::writable(decoded.format))
        .unwrap_or(TargetFormat::Png);
    let auto_orient = pipeline.jobs.iter().any(|j| {
        matches!(
            j,
            Job::Resize {
                auto_orient: true,
                ..
            }
        )
    });
    let mut image = image::DynamicImage::ImageRgba8(decoded.image);
    if auto_orient {
        image.apply_orientation(decoded.orientation);
    }
    let mut images = vec![image.into_rgba8()];
    for job in &pipeline.jobs {
        images = images
            .into_iter()
            .map(|img| apply(img, job, pipeline, limits))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
    }
    images
        .iter()
        .map(|img| {
            Ok(Output {
                bytes: Bytes::from(codec::encode(img, format, pipeline.quality)?),
                width: img.width(),
                height: img.height(),
                format,
            })
        })
        .collect()
}

fn apply(
    mut img: RgbaImage,
    job: &Job,
    pipeline: &Pipeline,
    limits: &Limits,
) -> Result<Vec<RgbaImage>, ImagingError> {
    let out = match job {
        Job::Resize {
            mode,
            width,
            height,
            up_down,
            ..
        } => {
            match geometry::resize_dims(img.width(), img.height(), *mode, *width, *height, *up_down)
            {
                None => vec![img],
                Some((w, h)) => {
                    if w > limits.max_output_side || h > limits.max_output_side {
                        return Err(ImagingError::InvalidParameter(format!(
                            "output {w}x{h} exceeds the {} pixel side limit",
                            limits.max_output_side
                        )));
                    }
                    vec![ops::resize(&img, w, h)?]
                }
            }
        }
        Job::Gray { .. } => {
            ops::gray(&mut img);
            vec![img]
        }
        Job::Rectangle {
            gravity,
            offset_x,
            offset_y,
            width,
            height,
            ..
        } => vec![ops::rectangle(
            &img, *gravity, *offset_x, *offset_y, *width, *height,
        )?],
        Job::Circle {
            gravity,
            offset_x,
            offset_y,
            radius,
        } => vec![ops::circle(&img, *gravity, *offset_x, *offset_y, *radius)?],
        Job::Slice { vertical, size, .. } => ops::slice(&img, *vertical, *size)?,
        Job::Grid { count_x, count_y } => ops::grid(&img, *count_x, *count_y)?,
        Job::Watermark {
            gravity,
            offset_x,
            offset_y,
            image_path,
        } => {
            let bytes = pipeline.watermarks.get(image_path).ok_or_else(|| {
                ImagingError::InvalidParameter(format!("watermark {image_path} not given"))
            })?;
            let mark = codec::decode(bytes, limits)?.image;
            ops::watermark(&mut img, &mark, *gravity, *offset_x, *offset_y);
            vec![img]
        }
    };
    Ok(out)
}
