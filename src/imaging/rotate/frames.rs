//! GIF (still or animated) and animated WebP: every frame decoded onto the full canvas, turned
//! and encoded again, one frame in memory at a time, with the source's delays and loop count
//! ([`crate::imaging::animation::stream`]). WebP frames are written losslessly; a GIF frame is
//! exact when it holds at most 256 colours (a GIF frame always does, unless its frames blend
//! into more), else quantised, and the result says it was not lossless.

use super::{Rotated, Turn};
use crate::imaging::animation::{self, Encoding};
use crate::imaging::{budget, exif_edit, ImagingError, Limits, TargetFormat};
use image::{DynamicImage, ImageFormat, RgbaImage};
use std::collections::HashSet;

/// Whether a WebP source holds more than one frame (more than `limits.max_frames` is refused).
pub fn is_animated(source: &[u8], limits: &Limits) -> Result<bool, ImagingError> {
    Ok(animation::inspect(source, limits)?.is_some_and(|a| a.frames > 1))
}

/// Rotates every frame of a GIF or WebP animation by `turn` after its EXIF orientation.
pub fn rotate(source: &[u8], turn: Turn, limits: &Limits) -> Result<Rotated, ImagingError> {
    let anim = animation::inspect(source, limits)?.ok_or(ImagingError::Unsupported)?;
    let decoded = animation::open(source, &anim, limits)?;
    let total = Turn::from_orientation(decoded.orientation).then(turn);
    let exif = decoded.exif.map(|mut tiff| {
        exif_edit::upright(&mut tiff, total.swaps_axes());
        tiff
    });
    let icc = budget::icc(decoded.icc, limits);
    let format = match anim.format {
        ImageFormat::Gif => TargetFormat::Gif,
        _ => TargetFormat::Webp,
    };
    let encoding = Encoding {
        format,
        quality: None,
        exif: exif.as_deref(),
        icc: icc.as_deref(),
    };
    let mut exact = true;
    let out = animation::stream(
        decoded.frames,
        decoded.canvas,
        &anim,
        limits,
        encoding,
        |frame| {
            let frame = total.apply(DynamicImage::ImageRgba8(frame)).into_rgba8();
            if format == TargetFormat::Gif && exact {
                exact = fits_palette(&frame);
            }
            Ok(frame)
        },
    )?;
    Ok(Rotated {
        bytes: out.bytes,
        format: anim.format,
        width: out.width,
        height: out.height,
        lossless: exact,
    })
}

/// Whether the GIF encoder keeps every pixel of `img`: fully transparent or opaque pixels
/// only, in at most 256 colours (every transparent pixel counting as one).
fn fits_palette(img: &RgbaImage) -> bool {
    let mut colours = HashSet::with_capacity(257);
    for p in img.pixels() {
        let key = match p.0 {
            [_, _, _, 0] => [0, 0, 0, 0],
            [r, g, b, 255] => [r, g, b, 255],
            _ => return false,
        };
        if colours.insert(key) && colours.len() > 256 {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::rotate::{rotate as rotate_any, Flip, Rotation};
    use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
    use image::{AnimationDecoder, Delay, Frame, Rgba};
    use std::io::Cursor;

    /// A 3-frame looping GIF of 7x4 with a transparent corner, delays 30, 40, 50 ms.
    fn gif() -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = GifEncoder::new(&mut out);
            enc.set_repeat(Repeat::Infinite).expect("repeat");
            for i in 0..3u8 {
                let img = RgbaImage::from_fn(7, 4, |x, y| {
                    if x == 0 && y == 0 {
                        Rgba([0, 0, 0, 0])
                    } else {
                        Rgba([x as u8 * 30 + i, y as u8 * 50, i * 80, 255])
                    }
                });
                let delay = Delay::from_numer_denom_ms(30 + u32::from(i) * 10, 1);
                enc.encode_frame(Frame::from_parts(img, 0, 0, delay))
                    .expect("frame");
            }
        }
        out
    }

    fn frames(bytes: &[u8]) -> Vec<(RgbaImage, (u32, u32))> {
        GifDecoder::new(Cursor::new(bytes))
            .expect("gif")
            .into_frames()
            .collect_frames()
            .expect("frames")
            .into_iter()
            .map(|f| {
                let delay = f.delay().numer_denom_ms();
                (f.into_buffer(), delay)
            })
            .collect()
    }

    #[test]
    fn every_gif_frame_turns_and_keeps_its_delay() {
        let source = gif();
        let r = rotate_any(
            &source,
            Rotation::new(270, Flip::None).expect("rotation"),
            &Limits::default(),
        )
        .expect("rotate");
        assert!(r.lossless, "few colours: exact");
        assert_eq!((r.width, r.height, r.format), (4, 7, ImageFormat::Gif));
        let before = frames(&source);
        let after = frames(&r.bytes);
        assert_eq!(after.len(), 3);
        for ((src, d0), (got, d1)) in before.iter().zip(&after) {
            assert_eq!(d0, d1, "delay kept");
            assert_eq!(
                got,
                &image::imageops::rotate270(src),
                "frame turned exactly"
            );
        }
        assert_eq!(
            animation::inspect(&r.bytes, &Limits::default())
                .expect("inspect")
                .map(|a| a.repeat),
            Some(animation::Repeat::Forever),
            "loop count kept"
        );
    }

    #[test]
    fn too_many_frames_are_refused() {
        let limits = Limits {
            max_frames: 2,
            ..Limits::default()
        };
        assert!(matches!(
            rotate_any(
                &gif(),
                Rotation::new(90, Flip::None).expect("rotation"),
                &limits
            ),
            Err(ImagingError::TooManyFrames { .. })
        ));
    }

    #[test]
    fn palettes_over_256_colours_are_not_exact() {
        let few = RgbaImage::from_fn(16, 16, |x, y| Rgba([x as u8, y as u8, 0, 255]));
        assert!(fits_palette(&few));
        let many = RgbaImage::from_fn(17, 16, |x, y| Rgba([x as u8, y as u8, 0, 255]));
        assert!(!fits_palette(&many));
        let translucent = RgbaImage::from_pixel(2, 2, Rgba([1, 2, 3, 128]));
        assert!(!fits_palette(&translucent));
    }
}
