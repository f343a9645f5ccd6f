//! The imaging engine: pure, synchronous code that turns source bytes and an operation's jobs
//! into encoded images. No I/O, no async, no HTTP: the caller passes watermark bytes in.

pub mod animation;
pub mod avif;
pub mod codec;
pub mod error;
pub mod geometry;
pub mod jpeg;
pub mod ops;
pub mod reduced;
mod rgb;
pub mod webp;

pub use error::ImagingError;

use crate::operation::{Job, ResizeMode, TargetFormat, UpDown};
use bytes::Bytes;
use image::RgbaImage;
use std::collections::HashMap;

/// What the engine accepts and produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest source, in pixels, checked from the header before decoding.
    pub max_pixels: u64,
    /// Most frames of an animated source, counted from its container before decoding. An
    /// animation kept frame by frame also gets at most `max_pixels` pixels over all its
    /// frames.
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
    /// Output format; `None` keeps the source's, and a source format that cannot be written
    /// (BMP, TIFF, AVIF) falls back to PNG when the output has alpha, else JPEG.
    pub target: Option<TargetFormat>,
    /// Quality of lossy output, 1..100.
    pub quality: u8,
    /// Keep the source's EXIF block in JPEG output.
    pub keep_exif: bool,
    /// Apply the EXIF orientation before the jobs.
    pub auto_orient: bool,
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
///
/// An animated GIF or WebP source (more than [`Limits::max_frames`] frames is refused) keeps
/// its animation when the output is GIF or WebP and the jobs allow it
/// ([`animation::keeps`]); otherwise only its first frame is used.
pub fn run(
    source: &[u8],
    pipeline: &Pipeline,
    limits: &Limits,
) -> Result<Vec<Output>, ImagingError> {
    let outputs = render(source, pipeline, limits)?;
    if let Some(o) = outputs
        .iter()
        .find(|o| o.width > limits.max_output_side || o.height > limits.max_output_side)
    {
        return Err(ImagingError::InvalidParameter(format!(
            "output {}x{} exceeds the {} pixel side limit",
            o.width, o.height, limits.max_output_side
        )));
    }
    Ok(outputs)
}

fn render(
    source: &[u8],
    pipeline: &Pipeline,
    limits: &Limits,
) -> Result<Vec<Output>, ImagingError> {
    if let Some(anim) = animation::inspect(source, limits)?.filter(|a| a.frames > 1) {
        let format = pipeline.target.or_else(|| codec::writable(anim.format));
        if let Some(format) = format.filter(|f| animation::keeps(pipeline, *f)) {
            return Ok(vec![animation::run(
                source, &anim, pipeline, limits, format,
            )?]);
        }
    }
    let (format, w, h) = codec::probe(source)?;
    let min_size = shrink_hint(source, (w, h), pipeline);
    if rgb::eligible(format, pipeline) {
        if let Some(out) = rgb::run(source, pipeline, limits, min_size) {
            return out.map(|o| vec![o]);
        }
    }
    let decoded = codec::decode(source, limits, min_size)?;
    let target = pipeline.target.or_else(|| codec::writable(decoded.format));
    let mut image = image::DynamicImage::ImageRgba8(decoded.image);
    if pipeline.auto_orient {
        image.apply_orientation(decoded.orientation);
    }
    let mut exif = decoded.exif.filter(|_| pipeline.keep_exif);
    if pipeline.auto_orient {
        if let Some(tiff) = exif.as_mut() {
            jpeg::reset_orientation(tiff);
        }
    }
    let carry = codec::Carry {
        exif: exif.as_deref(),
        icc: decoded.icc.as_deref(),
        lossy_source: codec::is_lossy(decoded.format, source),
    };
    let mut images = vec![image.into_rgba8()];
    for job in &pipeline.jobs {
        let mark = watermark(job, pipeline, limits)?;
        images = images
            .into_iter()
            .map(|img| apply(img, job, mark.as_ref(), limits))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
    }
    let format = target.unwrap_or_else(|| codec::fallback(images.iter()));
    images
        .iter()
        .map(|img| {
            Ok(Output {
                bytes: Bytes::from(codec::encode(img, format, pipeline.quality, carry)?),
                width: img.width(),
                height: img.height(),
                format,
            })
        })
        .collect()
}

/// The smallest decoded size the first resize needs (twice its output per axis), when the
/// jobs before it do not depend on full resolution.
fn shrink_hint(
    source: &[u8],
    (mut w, mut h): (u32, u32),
    pipeline: &Pipeline,
) -> Option<(u32, u32)> {
    let Some(Job::Resize {
        mode,
        width,
        height,
        up_down,
        ..
    }) = pipeline
        .jobs
        .iter()
        .find(|j| !matches!(j, Job::Gray { .. }))
    else {
        return None;
    };
    let swaps = pipeline.auto_orient
        && matches!(
            codec::orientation_of(source),
            image::metadata::Orientation::Rotate90
                | image::metadata::Orientation::Rotate270
                | image::metadata::Orientation::Rotate90FlipH
                | image::metadata::Orientation::Rotate270FlipH
        );
    if swaps {
        std::mem::swap(&mut w, &mut h);
    }
    geometry::resize_dims(w, h, *mode, *width, *height, *up_down).map(|(tw, th)| {
        let (mw, mh) = (tw.saturating_mul(2), th.saturating_mul(2));
        if swaps {
            (mh, mw)
        } else {
            (mw, mh)
        }
    })
}

/// The decoded overlay of a watermark job, `None` for other jobs.
fn watermark(
    job: &Job,
    pipeline: &Pipeline,
    limits: &Limits,
) -> Result<Option<RgbaImage>, ImagingError> {
    let Job::Watermark { image_path, .. } = job else {
        return Ok(None);
    };
    let bytes = pipeline.watermarks.get(image_path).ok_or_else(|| {
        ImagingError::InvalidParameter(format!("watermark {image_path} not given"))
    })?;
    Ok(Some(codec::decode(bytes, limits, None)?.image))
}

/// The size a resize job gives an image of `dims`, `None` when its up/down rule leaves the
/// image as it is; an output side over the limit is an error.
fn resize_target(
    dims: (u32, u32),
    (mode, width, height, up_down): (ResizeMode, u32, u32, UpDown),
    limits: &Limits,
) -> Result<Option<(u32, u32)>, ImagingError> {
    let target = geometry::resize_dims(dims.0, dims.1, mode, width, height, up_down);
    if let Some((w, h)) = target {
        if w > limits.max_output_side || h > limits.max_output_side {
            return Err(ImagingError::InvalidParameter(format!(
                "output {w}x{h} exceeds the {} pixel side limit",
                limits.max_output_side
            )));
        }
    }
    Ok(target)
}

/// Applies one job to one image; `mark` is the job's decoded watermark ([`watermark`]).
fn apply(
    mut img: RgbaImage,
    job: &Job,
    mark: Option<&RgbaImage>,
    limits: &Limits,
) -> Result<Vec<RgbaImage>, ImagingError> {
    let out = match job {
        Job::Resize { .. } => {
            let fit = job
                .fit()
                .ok_or_else(|| ImagingError::InvalidParameter("resize without a fit".into()))?;
            match resize_target(img.dimensions(), fit, limits)? {
                None => vec![img],
                Some((w, h)) => vec![ops::resize(&img, w, h)?],
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
            let mark = mark.ok_or_else(|| {
                ImagingError::InvalidParameter(format!("watermark {image_path} not given"))
            })?;
            ops::watermark(&mut img, mark, *gravity, *offset_x, *offset_y);
            vec![img]
        }
    };
    Ok(out)
}
