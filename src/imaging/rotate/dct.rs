//! JPEG rotation. The lossless way: libjpeg-turbo moves the DCT coefficients (no decode, no
//! quantisation), keeping the source's subsampling, progressive or baseline coding and
//! entropy coding kind. It applies when the image's edges fall on whole MCUs for the
//! transform at hand ([`Turn::is_perfect`]); trimming the partial edge MCUs instead would drop
//! pixels, which a rotation must not do. Otherwise the image is decoded in its own colour
//! space (grey, YCbCr as RGB, or CMYK as stored), turned, and encoded again at
//! [`REENCODE_QUALITY`] with the source's subsampling (turned with the image).
//!
//! Either way the result carries the source's APPn and COM segments, except: APP0 and APP14
//! (JFIF and Adobe, which the encoder writes itself), the EXIF block (carried upright, see
//! [`super::super::exif_edit::upright`]) and an MPF index (its offsets point at images after
//! the end of the source's scan, which are not carried).

use super::{Rotated, Turn};
use crate::imaging::jpeg::{self, Segment};
use crate::imaging::{budget, codec, exif_edit, ImagingError, Limits};
use bytes::Bytes;
use image::{DynamicImage, GrayImage, ImageFormat, RgbImage, RgbaImage};
use turbojpeg::{
    Colorspace, Compressor, DecompressHeader, Decompressor, Image, PixelFormat, Subsamp, Transform,
    Transformer,
};

/// Quality of a JPEG that could not be rotated losslessly and was encoded again.
pub const REENCODE_QUALITY: u8 = 95;

/// Rotates a JPEG by `turn` after its EXIF orientation.
pub fn rotate(source: &[u8], turn: Turn, limits: &Limits) -> Result<Rotated, ImagingError> {
    let header = Decompressor::new()
        .and_then(|mut d| d.read_header(source))
        .map_err(corrupt)?;
    budget::source(header.width as u64, header.height as u64, limits)?;
    if scans(source) > jpeg::MAX_SCANS as usize {
        return Err(ImagingError::Corrupt(format!(
            "more than {} scans",
            jpeg::MAX_SCANS
        )));
    }
    let total = Turn::from_orientation(codec::orientation_of(source)).then(turn);
    let mcu = match header.subsamp {
        Subsamp::Unknown => (0, 0),
        known => (known.mcu_width(), known.mcu_height()),
    };
    let (body, lossless) = if total.is_perfect((header.width, header.height), mcu) {
        (transform(source, &header, total)?, true)
    } else {
        (reencode(source, &header, total)?, false)
    };
    let exif = jpeg::exif(source).map(|mut tiff| {
        exif_edit::upright(&mut tiff, total.swaps_axes());
        tiff
    });
    let bytes = with_markers(&body, source, exif.as_deref());
    let (width, height) = jpeg::dimensions(&bytes)?;
    Ok(Rotated {
        bytes: Bytes::from(bytes),
        format: ImageFormat::Jpeg,
        width,
        height,
        lossless,
    })
}

fn corrupt(e: turbojpeg::Error) -> ImagingError {
    ImagingError::Corrupt(e.to_string())
}

/// The scans of a JPEG, counted as the SOS markers from the first one on (the entropy-coded
/// data stuffs every 0xFF it holds, so it never looks like a marker); a marker-like pair in the
/// tables between scans only counts one too many.
fn scans(bytes: &[u8]) -> usize {
    let Some(first) = jpeg::header_segments(bytes)
        .find(|s| s.marker == 0xDA)
        .map(|s| s.end)
    else {
        return 0;
    };
    1 + bytes
        .get(first..)
        .unwrap_or_default()
        .windows(2)
        .filter(|w| w == &[0xFF, 0xDA])
        .count()
}

/// The lossless transform, without the source's markers (they are carried by
/// [`with_markers`]).
fn transform(
    source: &[u8],
    header: &DecompressHeader,
    turn: Turn,
) -> Result<Vec<u8>, ImagingError> {
    let mut t = Transform::op(turn.op());
    t.perfect = true;
    t.copy_none = true;
    t.optimize = true;
    t.progressive = header.is_progressive;
    t.arithmetic = header.is_arithmetic;
    Transformer::new()
        .and_then(|mut tj| tj.transform_to_vec(&t, source))
        .map_err(corrupt)
}

/// Decodes, turns and encodes again, in the source's colour space and subsampling.
fn reencode(source: &[u8], header: &DecompressHeader, turn: Turn) -> Result<Vec<u8>, ImagingError> {
    let (format, channels) = match header.colorspace {
        Colorspace::Gray => (PixelFormat::GRAY, 1),
        Colorspace::CMYK | Colorspace::YCCK => (PixelFormat::CMYK, 4),
        _ => (PixelFormat::RGB, 3),
    };
    let (w, h) = (header.width, header.height);
    let mut pixels = vec![0u8; w * h * channels];
    let mut dec = Decompressor::new().map_err(corrupt)?;
    dec.set_scan_limit(jpeg::MAX_SCANS).map_err(corrupt)?;
    dec.decompress(
        source,
        Image {
            pixels: pixels.as_mut_slice(),
            width: w,
            pitch: w * channels,
            height: h,
            format,
        },
    )
    .map_err(corrupt)?;
    let (w32, h32) = (
        u32::try_from(w).map_err(|_| size_mismatch())?,
        u32::try_from(h).map_err(|_| size_mismatch())?,
    );
    // CMYK travels as four unnamed channels: a turn only moves pixels.
    let img = match channels {
        1 => GrayImage::from_raw(w32, h32, pixels).map(DynamicImage::ImageLuma8),
        3 => RgbImage::from_raw(w32, h32, pixels).map(DynamicImage::ImageRgb8),
        _ => RgbaImage::from_raw(w32, h32, pixels).map(DynamicImage::ImageRgba8),
    }
    .ok_or_else(size_mismatch)?;
    let img = turn.apply(img);
    let fail = |e: turbojpeg::Error| ImagingError::Encode(e.to_string());
    let mut c = Compressor::new().map_err(fail)?;
    c.set_quality(i32::from(REENCODE_QUALITY)).map_err(fail)?;
    c.set_subsamp(turned_subsamp(header.subsamp, turn))
        .map_err(fail)?;
    c.set_optimize(true).map_err(fail)?;
    c.set_progressive(header.is_progressive).map_err(fail)?;
    let (tw, th) = (img.width() as usize, img.height() as usize);
    c.compress_to_vec(Image {
        pixels: img.as_bytes(),
        width: tw,
        pitch: tw * channels,
        height: th,
        format,
    })
    .map_err(fail)
}

fn size_mismatch() -> ImagingError {
    ImagingError::Corrupt("decoded size mismatch".into())
}

/// The subsampling of the turned image: its factors trade places with width and height; an
/// unusual one becomes none.
fn turned_subsamp(subsamp: Subsamp, turn: Turn) -> Subsamp {
    match (subsamp, turn.swaps_axes()) {
        (Subsamp::Unknown, _) => Subsamp::None,
        (Subsamp::Sub2x1, true) => Subsamp::Sub1x2,
        (Subsamp::Sub1x2, true) => Subsamp::Sub2x1,
        (Subsamp::Sub4x1, true) => Subsamp::Sub1x4,
        (Subsamp::Sub1x4, true) => Subsamp::Sub4x1,
        (same, _) => same,
    }
}

/// `body` (a JPEG the encoder wrote) with the source's segments inserted after its SOI and
/// leading APP0, in the source's order, the EXIF block replaced by `exif`.
fn with_markers(body: &[u8], source: &[u8], exif: Option<&[u8]>) -> Vec<u8> {
    let mut carried = Vec::new();
    for segment in jpeg::header_segments(source).filter(|s| s.end <= source.len()) {
        let Some(raw) = raw_segment(source, &segment) else {
            continue;
        };
        let is_exif = segment.marker == 0xE1 && segment.payload.starts_with(b"Exif\0\0");
        let is_mpf = segment.marker == 0xE2 && segment.payload.starts_with(b"MPF\0");
        match segment.marker {
            0xE1 if is_exif => {
                if let Some(exif) = exif.filter(|e| e.len() + 8 <= 0xFFFF) {
                    jpeg::push_segment(&mut carried, 0xE1, &[b"Exif\0\0".as_slice(), exif]);
                }
            }
            0xE0 | 0xEE => {}
            0xE2 if is_mpf => {}
            0xE1..=0xEF | 0xFE => carried.extend_from_slice(raw),
            _ => {}
        }
    }
    let at = jpeg::header_segments(body)
        .next()
        .filter(|s| s.marker == 0xE0)
        .map_or(2, |s| s.end)
        .min(body.len());
    let mut out = Vec::with_capacity(body.len() + carried.len());
    out.extend_from_slice(&body[..at]);
    out.extend_from_slice(&carried);
    out.extend_from_slice(&body[at..]);
    out
}

/// The whole segment (marker, length and payload) as it stands in `bytes`.
fn raw_segment<'a>(bytes: &'a [u8], segment: &Segment<'_>) -> Option<&'a [u8]> {
    let start = segment.end.checked_sub(segment.payload.len() + 4)?;
    bytes.get(start..segment.end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::rotate::{rotate as rotate_any, Flip, Rotation};

    /// A JPEG of `w` x `h` with a smooth gradient and a bright block near the top-left corner,
    /// 4:2:0, with an EXIF block of the given orientation and a comment.
    fn photo(w: u32, h: u32, orientation: Option<u16>) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| {
            let mark = x < w / 4 && y < h / 4;
            image::Rgb([
                if mark { 250 } else { (x * 200 / w) as u8 },
                (y * 200 / h) as u8,
                if mark { 20 } else { 120 },
            ])
        });
        let exif = orientation.map(|o| {
            let mut t = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
            t.extend_from_slice(&u32::from(o).to_le_bytes());
            t.extend_from_slice(&0u32.to_le_bytes());
            t
        });
        let body = jpeg::encode(img.as_raw(), w, h, 92, exif.as_deref(), None).expect("encode");
        let mut out = body[..2].to_vec();
        jpeg::push_segment(&mut out, 0xFE, &[b"a comment".as_slice()]);
        out.extend_from_slice(&body[2..]);
        out
    }

    fn decode(bytes: &[u8]) -> RgbImage {
        image::load_from_memory(bytes).expect("decodes").to_rgb8()
    }

    fn quarter() -> Rotation {
        Rotation::new(90, Flip::None).expect("rotation")
    }

    /// Largest difference of one channel between two images of one size.
    fn max_diff(a: &RgbImage, b: &RgbImage) -> u8 {
        assert_eq!(a.dimensions(), b.dimensions());
        a.as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    }

    fn mean_diff(a: &RgbImage, b: &RgbImage) -> f64 {
        assert_eq!(a.dimensions(), b.dimensions());
        let sum: u64 = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        sum as f64 / a.as_raw().len() as f64
    }

    #[test]
    fn four_lossless_quarter_turns_give_back_the_same_coefficients() {
        let limits = Limits::default();
        let source = photo(64, 48, None);
        let mut bytes = source.clone();
        for i in 0..4 {
            let r = rotate_any(&bytes, quarter(), &limits).expect("rotate");
            assert!(r.lossless, "whole MCUs: lossless");
            let expected = if i % 2 == 0 { (48, 64) } else { (64, 48) };
            assert_eq!((r.width, r.height), expected);
            bytes = r.bytes.to_vec();
        }
        assert_eq!(
            decode(&bytes).as_raw(),
            decode(&source).as_raw(),
            "identical pixels after a full turn"
        );
        let scan = |b: &[u8]| {
            let at = jpeg::header_segments(b)
                .find(|s| s.marker == 0xDA)
                .map(|s| s.end)
                .expect("a scan");
            b[at..].to_vec()
        };
        assert_eq!(
            scan(&bytes),
            scan(
                &rotate_any(
                    &rotate_any(&source, quarter(), &limits)
                        .expect("rotate")
                        .bytes,
                    Rotation::new(270, Flip::None).expect("rotation"),
                    &limits
                )
                .expect("rotate back")
                .bytes
            ),
            "the same entropy-coded data whichever way round"
        );
    }

    #[test]
    fn one_lossless_turn_matches_the_decoded_pixels_turned() {
        let limits = Limits::default();
        let source = photo(64, 48, None);
        let r = rotate_any(&source, quarter(), &limits).expect("rotate");
        let want = image::imageops::rotate90(&decode(&source));
        let got = decode(&r.bytes);
        assert!(
            max_diff(&got, &want) <= 4,
            "only IDCT rounding differs: {}",
            max_diff(&got, &want)
        );
    }

    #[test]
    fn a_partial_mcu_edge_is_encoded_again_keeping_every_pixel() {
        let limits = Limits::default();
        let source = photo(61, 37, None);
        let r = rotate_any(&source, quarter(), &limits).expect("rotate");
        assert!(!r.lossless, "37 rows is not a whole number of 16-row MCUs");
        assert_eq!((r.width, r.height), (37, 61), "no row or column dropped");
        let want = image::imageops::rotate90(&decode(&source));
        let got = decode(&r.bytes);
        let mean = mean_diff(&got, &want);
        assert!(mean < 1.5, "quality {REENCODE_QUALITY}: mean diff {mean}");
        let last_column_want: Vec<_> = (0..61).map(|y| want.get_pixel(36, y).0).collect();
        let last_column_got: Vec<_> = (0..61).map(|y| got.get_pixel(36, y).0).collect();
        let edge = last_column_want
            .iter()
            .zip(&last_column_got)
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)))
            .max()
            .unwrap_or(0);
        assert!(
            edge <= 24,
            "the edge the source's partial MCU held is kept: {edge}"
        );
    }

    #[test]
    fn a_cmyk_jpeg_encoded_again_keeps_its_colours() {
        let limits = Limits::default();
        let source = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/corpus/photos/photo_cmyk_swop-profile_500x333.jpg"
        ))
        .expect("corpus CMYK JPEG");
        let r = rotate_any(&source, quarter(), &limits).expect("rotate");
        assert!(!r.lossless, "333 rows: encoded again");
        assert_eq!((r.width, r.height), (333, 500));
        let header = turbojpeg::read_header(&r.bytes).expect("header");
        assert!(
            matches!(header.colorspace, Colorspace::YCCK | Colorspace::CMYK),
            "still CMYK: {:?}",
            header.colorspace
        );
        assert!(
            jpeg::icc(&r.bytes, &limits).is_some(),
            "the SWOP profile is carried"
        );
        let rgb = |b: &[u8]| {
            DynamicImage::ImageRgba8(codec::decode(b, &limits, None).expect("decode").image)
                .to_rgb8()
        };
        let want = image::imageops::rotate90(&rgb(&source));
        let mean = mean_diff(&rgb(&r.bytes), &want);
        assert!(
            mean < 2.0,
            "the same colours, not inverted: mean diff {mean}"
        );
    }

    #[test]
    fn the_exif_orientation_is_applied_first_and_reset() {
        let limits = Limits::default();
        // Stored 48x64, displayed turned a quarter clockwise (orientation 6): 64x48 as seen.
        let upright = photo(64, 48, None);
        let stored = {
            let turned = image::imageops::rotate270(&decode(&upright));
            let exif = {
                let mut t = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
                t.extend_from_slice(&6u32.to_le_bytes());
                t.extend_from_slice(&0u32.to_le_bytes());
                t
            };
            jpeg::encode(turned.as_raw(), 48, 64, 95, Some(&exif), None).expect("encode")
        };
        let r = rotate_any(&stored, quarter(), &limits).expect("rotate");
        assert_eq!(
            (r.width, r.height),
            (48, 64),
            "the displayed 64x48, a quarter turned"
        );
        assert_eq!(
            codec::orientation_of(&r.bytes),
            image::metadata::Orientation::NoTransforms,
            "the tag is reset"
        );
        let want = image::imageops::rotate90(&decode(&upright));
        let mean = mean_diff(&decode(&r.bytes), &want);
        assert!(mean < 3.0, "as displayed, then turned: mean diff {mean}");
    }

    #[test]
    fn segments_are_carried_and_exif_rewritten() {
        let limits = Limits::default();
        let source = photo(64, 48, Some(1));
        let r = rotate_any(&source, quarter(), &limits).expect("rotate");
        let markers: Vec<u8> = jpeg::segments(&r.bytes).map(|(m, _)| m).collect();
        assert!(
            markers.contains(&0xFE),
            "the comment is carried: {markers:x?}"
        );
        assert_eq!(
            markers.iter().filter(|m| **m == 0xE1).count(),
            1,
            "one EXIF block"
        );
        let exif = jpeg::exif(&r.bytes).expect("exif kept");
        assert_eq!(exif.len(), jpeg::exif(&source).expect("exif").len());
    }

    #[test]
    fn a_truncated_jpeg_is_refused() {
        let limits = Limits::default();
        let source = photo(64, 48, None);
        for cut in [source.len() / 2, source.len() - 40] {
            let r = rotate_any(&source[..cut], quarter(), &limits);
            assert!(
                matches!(r, Err(ImagingError::Corrupt(_))),
                "cut at {cut}: {:?}",
                r.map(|r| r.width)
            );
        }
    }

    #[test]
    fn the_pixel_limit_applies_before_anything_is_decoded() {
        let small = Limits {
            max_pixels: 64 * 48 - 1,
            ..Limits::default()
        };
        assert!(matches!(
            rotate_any(&photo(64, 48, None), quarter(), &small),
            Err(ImagingError::TooLarge { .. })
        ));
    }

    #[test]
    fn subsampling_turns_with_the_image() {
        let q = Turn::new(1, false);
        assert_eq!(turned_subsamp(Subsamp::Sub2x1, q), Subsamp::Sub1x2);
        assert_eq!(
            turned_subsamp(Subsamp::Sub2x1, Turn::new(2, false)),
            Subsamp::Sub2x1
        );
        assert_eq!(turned_subsamp(Subsamp::Sub2x2, q), Subsamp::Sub2x2);
        assert_eq!(turned_subsamp(Subsamp::Unknown, q), Subsamp::None);
    }
}
