//! The imaging engine: pure, synchronous code that turns source bytes and an operation's jobs
//! into encoded images. No I/O, no async, no HTTP: the caller passes watermark bytes in.

pub(crate) mod animation;
pub mod avif;
pub(crate) mod budget;
pub mod codec;
pub mod dominant;
pub mod error;
pub mod exif_edit;
pub(crate) mod geometry;
mod guard;
mod job;
pub mod jpeg;
pub mod ops;
mod png;
pub mod reduced;
mod rgb;
pub mod rotate;
mod step;
pub mod webp;

pub use error::ImagingError;
pub use job::{Gravity, Job, ResizeMode, TargetFormat, UpDown};

use bytes::Bytes;
use std::collections::HashMap;

/// What the engine accepts and produces. Its defaults and its reading from the `[imaging]`
/// configuration live with that configuration.
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
    /// Most images one render may produce (slice and grid pieces).
    pub max_pieces: u32,
    /// Largest ICC profile read from a source and carried into its outputs; a larger one is
    /// dropped.
    pub max_icc_bytes: u64,
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
    /// (BMP, TIFF, AVIF) falls back to PNG when the jobs cut a circle, else JPEG
    /// ([`codec::output_format`]).
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
    pub(crate) fn extension(&self) -> &'static str {
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
///
/// Every size an option or a header gives is checked against `limits` before the buffer it
/// sizes is allocated ([`budget`]); a panic of a decoder or encoder on a malformed input is
/// caught here and returned as [`ImagingError::Panicked`].
pub fn run(
    source: &[u8],
    pipeline: &Pipeline,
    limits: &Limits,
) -> Result<Vec<Output>, ImagingError> {
    let outputs = guard::catch(|| render(source, pipeline, limits))?;
    for o in &outputs {
        budget::canvas(u64::from(o.width), u64::from(o.height), limits)?;
    }
    Ok(outputs)
}

fn render(
    source: &[u8],
    pipeline: &Pipeline,
    limits: &Limits,
) -> Result<Vec<Output>, ImagingError> {
    if let Some(anim) = animation::inspect(source, limits)?.filter(|a| a.frames > 1) {
        let format = codec::output_format(
            pipeline.target,
            codec::writable(anim.format),
            &pipeline.jobs,
        );
        if animation::keeps(pipeline, format) {
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
    let format = codec::output_format(
        pipeline.target,
        codec::writable(decoded.format),
        &pipeline.jobs,
    );
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
        let mark = step::watermark(job, pipeline, limits)?;
        images = images
            .into_iter()
            .map(|img| step::apply(img, job, mark.as_ref(), limits))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
    }
    for img in &images {
        budget::canvas(u64::from(img.width()), u64::from(img.height()), limits)?;
    }
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
