//! Animated GIF and WebP sources.
//!
//! [`inspect`] counts a source's frames from its container (GIF blocks, WebP chunks) without
//! decoding any, and refuses more than [`Limits::max_frames`]. [`keeps`] says whether a
//! pipeline keeps the animation; [`run`] then streams it: each frame is decoded (composited
//! onto the full canvas, RGBA), put through every job and encoded before the next is decoded,
//! so memory holds the canvas, one frame in flight and the output, never all frames.
//!
//! Work is bounded by a pixel budget: an animation is processed only when frames x canvas
//! pixels is at most [`Limits::max_pixels`], the budget of one still image
//! ([`ImagingError::TooLarge`] otherwise, with the total as `pixels`). The canvas is checked
//! as the container header gives it and again as the decoder reads it, before any frame is
//! decoded.

use super::job::{Job, TargetFormat};
use super::{codec, ImagingError, Limits, Output, Pipeline};
use bytes::Bytes;
use image::codecs::gif::{GifDecoder, GifEncoder, Repeat as GifRepeat};
use image::codecs::webp::WebPDecoder;
use image::metadata::Orientation;
use image::{AnimationDecoder, DynamicImage, Frames, ImageDecoder, ImageFormat, RgbaImage};
use std::io::Cursor;

/// How often an animation plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Over and over.
    Forever,
    /// This many times in all (at least once).
    Plays(u32),
}

/// An animated (or animatable) source, from its container alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// GIF or WebP.
    pub format: ImageFormat,
    /// Frames it holds.
    pub frames: u32,
    /// How often it plays.
    pub repeat: Repeat,
}

/// The frames and loop count of a GIF or WebP source, counted without decoding; `None` for
/// other formats. Refuses more frames than `limits.max_frames`.
///
/// A GIF's loop count is its NETSCAPE2.0 (or ANIMEXTS1.0) extension: 0 plays forever, n
/// repeats n times after the first play; without the extension a GIF plays once, as browsers
/// show it.
pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<Option<Source>, ImagingError> {
    let source = if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        let (frames, repeat) = gif_info(bytes);
        Source {
            format: ImageFormat::Gif,
            frames,
            repeat,
        }
    } else if let Some(info) = super::webp::inspect(bytes) {
        Source {
            format: ImageFormat::WebP,
            frames: info.frames,
            repeat: match info.loop_count {
                0 => Repeat::Forever,
                n => Repeat::Plays(u32::from(n)),
            },
        }
    } else {
        return Ok(None);
    };
    if source.frames > limits.max_frames {
        return Err(ImagingError::TooManyFrames {
            frames: source.frames,
            limit: limits.max_frames,
        });
    }
    Ok(Some(source))
}

/// Whether a pipeline writing `format` keeps an animation: the output is GIF or WebP, every
/// job that has a keepAnimation option says true, and no job splits or composites the image:
/// slice, grid, circle crop and watermark work on the first frame, as the service does.
pub fn keeps(pipeline: &Pipeline, format: TargetFormat) -> bool {
    matches!(format, TargetFormat::Gif | TargetFormat::Webp)
        && pipeline.jobs.iter().all(|job| match job {
            Job::Resize { keep_animation, .. }
            | Job::Gray { keep_animation }
            | Job::Rectangle { keep_animation, .. } => *keep_animation,
            Job::Circle { .. } | Job::Watermark { .. } | Job::Slice { .. } | Job::Grid { .. } => {
                false
            }
        })
}

/// Runs the pipeline over every frame of an animated source and encodes an animation of
/// `format` (GIF or WebP) with the source's frame delays and loop count.
pub fn run(
    bytes: &[u8],
    source: &Source,
    pipeline: &Pipeline,
    limits: &Limits,
    format: TargetFormat,
) -> Result<Output, ImagingError> {
    let decoded = open(bytes, source, limits)?;
    let marks = pipeline
        .jobs
        .iter()
        .map(|job| super::step::watermark(job, pipeline, limits))
        .collect::<Result<Vec<_>, _>>()?;
    let orientation = if pipeline.auto_orient {
        decoded.orientation
    } else {
        Orientation::NoTransforms
    };
    let mut exif = decoded.exif.filter(|_| pipeline.keep_exif);
    if pipeline.auto_orient {
        if let Some(tiff) = exif.as_mut() {
            super::jpeg::reset_orientation(tiff);
        }
    }
    let each = |img: RgbaImage| -> Result<RgbaImage, ImagingError> {
        let mut img = if orientation == Orientation::NoTransforms {
            img
        } else {
            let mut dynamic = DynamicImage::ImageRgba8(img);
            dynamic.apply_orientation(orientation);
            dynamic.into_rgba8()
        };
        for (job, mark) in pipeline.jobs.iter().zip(&marks) {
            let mut out = super::step::apply(img, job, mark.as_ref(), limits)?;
            img = match (out.pop(), out.is_empty()) {
                (Some(one), true) => one,
                _ => {
                    return Err(ImagingError::InvalidParameter(
                        "a job that splits the image cannot keep an animation".into(),
                    ))
                }
            };
        }
        Ok(img)
    };
    let icc = super::budget::icc(decoded.icc, limits);
    let encoding = Encoding {
        format,
        quality: codec::is_lossy(source.format, bytes).then_some(pipeline.quality),
        exif: exif.as_deref(),
        icc: icc.as_deref(),
    };
    stream(
        decoded.frames,
        decoded.canvas,
        source,
        limits,
        encoding,
        each,
    )
}

/// How [`stream`] writes an animation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Encoding<'a> {
    /// GIF or WebP.
    pub format: TargetFormat,
    /// WebP frames: lossy at this quality (1..100), else lossless.
    pub quality: Option<u8>,
    /// EXIF block carried into a WebP animation.
    pub exif: Option<&'a [u8]>,
    /// ICC profile carried into a WebP animation.
    pub icc: Option<&'a [u8]>,
}

/// Puts every frame through `each` and encodes the results as an animation with the source's
/// frame delays and loop count. The frames `each` returns must all have one size; once the
/// first is known, all of that size must fit the pixel limit together, before the second is
/// made (`each` may enlarge them).
pub(crate) fn stream(
    frames: Frames<'_>,
    (w, h): (u32, u32),
    source: &Source,
    limits: &Limits,
    encoding: Encoding<'_>,
    mut each: impl FnMut(RgbaImage) -> Result<RgbaImage, ImagingError>,
) -> Result<Output, ImagingError> {
    let total = u64::from(source.frames) * u64::from(w) * u64::from(h);
    let check_output = |img: &RgbaImage, first: bool| {
        if first {
            let (w, h) = img.dimensions();
            super::budget::animation(source.frames, u64::from(w), u64::from(h), limits)?;
        }
        Ok::<(), ImagingError>(())
    };
    let no_frames = || ImagingError::Corrupt("the animation has no frames".into());
    let mut size = None;
    let encoded = match encoding.format {
        TargetFormat::Webp => {
            let mut anim = super::webp::Animation::new(encoding.quality);
            for_each_frame(frames, limits, total, |img, ms| {
                let img = each(img)?;
                check_output(&img, size.is_none())?;
                size = Some(img.dimensions());
                anim.push(&img, ms)
            })?;
            if size.is_none() {
                return Err(no_frames());
            }
            let loop_count = match source.repeat {
                Repeat::Forever => 0,
                Repeat::Plays(n) => u16::try_from(n).unwrap_or(u16::MAX),
            };
            anim.finish(loop_count, encoding.exif, encoding.icc)?
        }
        _ => {
            let mut out = Vec::new();
            {
                let mut encoder = GifEncoder::new_with_speed(&mut out, 10);
                let repeat = match source.repeat {
                    Repeat::Forever => Some(GifRepeat::Infinite),
                    Repeat::Plays(n) if n > 1 => {
                        Some(GifRepeat::Finite(u16::try_from(n - 1).unwrap_or(u16::MAX)))
                    }
                    Repeat::Plays(_) => None,
                };
                if let Some(repeat) = repeat {
                    encoder.set_repeat(repeat).map_err(encode_error)?;
                }
                for_each_frame(frames, limits, total, |img, ms| {
                    let img = each(img)?;
                    check_output(&img, size.is_none())?;
                    size = Some(img.dimensions());
                    let delay = image::Delay::from_numer_denom_ms(ms, 1);
                    encoder
                        .encode_frame(image::Frame::from_parts(img, 0, 0, delay))
                        .map_err(encode_error)
                })?;
            }
            out
        }
    };
    let (width, height) = size.ok_or_else(no_frames)?;
    Ok(Output {
        bytes: Bytes::from(encoded),
        width,
        height,
        format: encoding.format,
    })
}

/// A source's frame iterator and the metadata read before it.
pub(crate) struct Decoded<'a> {
    /// The frames, decoded one at a time, composited onto the canvas.
    pub frames: Frames<'a>,
    /// The canvas size, as the decoder read it.
    pub canvas: (u32, u32),
    /// The EXIF orientation (WebP only).
    pub orientation: Orientation,
    /// The EXIF block (WebP only).
    pub exif: Option<Vec<u8>>,
    /// The ICC profile (WebP only), unchecked against `max_icc_bytes`.
    pub icc: Option<Vec<u8>>,
}

/// Opens an animated source for decoding: frames x canvas pixels are checked against the
/// limit as the container header gives the canvas and again as the decoder reads it, before
/// any frame is decoded.
pub(crate) fn open<'a>(
    bytes: &'a [u8],
    source: &Source,
    limits: &Limits,
) -> Result<Decoded<'a>, ImagingError> {
    let (_, w, h) = codec::probe(bytes)?;
    super::budget::animation(source.frames, u64::from(w), u64::from(h), limits)?;
    let decoded = decode(bytes, source.format, limits)?;
    let (w, h) = decoded.canvas;
    super::budget::animation(source.frames, u64::from(w), u64::from(h), limits)?;
    Ok(decoded)
}

fn decode<'a>(
    bytes: &'a [u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<Decoded<'a>, ImagingError> {
    let corrupt = |e: image::ImageError| ImagingError::Corrupt(e.to_string());
    if format == ImageFormat::WebP {
        let mut decoder = WebPDecoder::new(Cursor::new(bytes)).map_err(corrupt)?;
        decoder
            .set_limits(codec::image_limits(limits))
            .map_err(corrupt)?;
        let exif = decoder.exif_metadata().ok().flatten();
        let icc = decoder.icc_profile().ok().flatten();
        let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
        return Ok(Decoded {
            canvas: decoder.dimensions(),
            frames: decoder.into_frames(),
            orientation,
            exif,
            icc,
        });
    }
    let mut decoder = GifDecoder::new(Cursor::new(bytes)).map_err(corrupt)?;
    decoder
        .set_limits(codec::image_limits(limits))
        .map_err(corrupt)?;
    Ok(Decoded {
        canvas: decoder.dimensions(),
        frames: decoder.into_frames(),
        orientation: Orientation::NoTransforms,
        exif: None,
        icc: None,
    })
}

/// Feeds each decoded frame and its delay in milliseconds to `f`, refusing more than
/// `limits.max_frames` frames even when the container count was wrong. `total` is the
/// animation's pixel count, reported when the decoder hits its allocation limit.
fn for_each_frame(
    frames: Frames<'_>,
    limits: &Limits,
    total: u64,
    mut f: impl FnMut(RgbaImage, u32) -> Result<(), ImagingError>,
) -> Result<(), ImagingError> {
    for (i, frame) in frames.enumerate() {
        let seen = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if seen > limits.max_frames {
            return Err(ImagingError::TooManyFrames {
                frames: seen,
                limit: limits.max_frames,
            });
        }
        let frame = frame.map_err(|e| match e {
            image::ImageError::Limits(_) => ImagingError::TooLarge {
                pixels: total,
                limit: limits.max_pixels,
            },
            other => ImagingError::Corrupt(other.to_string()),
        })?;
        let (numer, denom) = frame.delay().numer_denom_ms();
        let ms = numer.checked_div(denom).unwrap_or(0);
        f(frame.into_buffer(), ms)?;
    }
    Ok(())
}

fn encode_error(e: image::ImageError) -> ImagingError {
    ImagingError::Encode(e.to_string())
}

/// Frames (image descriptors) and loop count of a GIF, from its block structure alone: no
/// LZW data is decoded. A malformed block ends the walk with what was counted.
fn gif_info(bytes: &[u8]) -> (u32, Repeat) {
    let mut frames = 0u32;
    let mut repeat = Repeat::Plays(1);
    let Some(&screen) = bytes.get(10) else {
        return (frames, repeat);
    };
    let mut pos = 13 + color_table_len(screen);
    loop {
        match bytes.get(pos) {
            Some(0x2C) => {
                frames = frames.saturating_add(1);
                let Some(&packed) = bytes.get(pos + 9) else {
                    break;
                };
                // Descriptor, local colour table, LZW minimum code size, then data blocks.
                pos += 10 + color_table_len(packed) + 1;
            }
            Some(0x21) => {
                let label = bytes.get(pos + 1).copied();
                pos += 2;
                let app = bytes.get(pos + 1..pos + 12);
                if label == Some(0xFF)
                    && bytes.get(pos) == Some(&11)
                    && matches!(app, Some(b"NETSCAPE2.0" | b"ANIMEXTS1.0"))
                {
                    if let Some([3, 1, lo, hi]) = bytes.get(pos + 12..pos + 16) {
                        repeat = match u16::from_le_bytes([*lo, *hi]) {
                            0 => Repeat::Forever,
                            n => Repeat::Plays(u32::from(n) + 1),
                        };
                    }
                }
            }
            _ => break,
        }
        match skip_sub_blocks(bytes, pos) {
            Some(next) => pos = next,
            None => break,
        }
    }
    (frames, repeat)
}

fn color_table_len(packed: u8) -> usize {
    if packed & 0x80 == 0 {
        0
    } else {
        3 << ((packed & 0x07) + 1)
    }
}

/// The position after a run of GIF data sub-blocks ending with the zero-length one.
fn skip_sub_blocks(bytes: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = usize::from(*bytes.get(pos)?);
        pos += 1;
        if len == 0 {
            return Some(pos);
        }
        pos += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2x1 GIF with a global table and the given blocks after the screen descriptor.
    fn gif(blocks: &[u8]) -> Vec<u8> {
        let mut g = b"GIF89a\x02\x00\x01\x00\x80\x00\x00".to_vec();
        g.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
        g.extend_from_slice(blocks);
        g
    }

    const FRAME: &[u8] = &[
        0x2C, 0, 0, 0, 0, 2, 0, 1, 0, 0, // descriptor, no local table
        2, 2, 0x4C, 0x01, 0, // LZW code size, one data block, terminator
    ];

    #[test]
    fn counts_gif_frames_and_reads_the_loop_count() {
        let netscape = |n: u16| {
            let mut b = vec![0x21, 0xFF, 11];
            b.extend_from_slice(b"NETSCAPE2.0");
            b.extend_from_slice(&[3, 1]);
            b.extend_from_slice(&n.to_le_bytes());
            b.push(0);
            b
        };
        let gce = [0x21, 0xF9, 4, 0, 10, 0, 0, 0];
        let mut blocks = netscape(0);
        for _ in 0..3 {
            blocks.extend_from_slice(&gce);
            blocks.extend_from_slice(FRAME);
        }
        blocks.push(0x3B);
        assert_eq!(gif_info(&gif(&blocks)), (3, Repeat::Forever));
        let mut twice = netscape(1);
        twice.extend_from_slice(FRAME);
        assert_eq!(gif_info(&gif(&twice)), (1, Repeat::Plays(2)));
        assert_eq!(gif_info(&gif(FRAME)), (1, Repeat::Plays(1)));
        let cut = gif(&blocks);
        for len in 0..cut.len() {
            let (frames, _) = gif_info(&cut[..len]);
            assert!(frames <= 3);
        }
    }

    #[test]
    fn refuses_more_frames_than_the_limit() {
        let mut blocks = Vec::new();
        for _ in 0..5 {
            blocks.extend_from_slice(FRAME);
        }
        let limits = Limits {
            max_frames: 4,
            ..Limits::default()
        };
        assert_eq!(
            inspect(&gif(&blocks), &limits),
            Err(ImagingError::TooManyFrames {
                frames: 5,
                limit: 4
            })
        );
        assert_eq!(inspect(b"\xFF\xD8\xFF", &limits), Ok(None));
    }
}
