//! JPEG through libjpeg-turbo: decoding with DCT-domain downscaling (shrink-on-load), CMYK
//! conversion, encoding, and the APP1 (EXIF) and APP2 (ICC) segments carried across.

pub use super::exif_edit::reset_orientation;
use super::{budget, ImagingError, Limits};
use image::{RgbImage, RgbaImage};
use turbojpeg::{Colorspace, Compressor, Decompressor, Image, PixelFormat, ScalingFactor, Subsamp};

/// Width and height a JPEG header declares.
pub fn dimensions(bytes: &[u8]) -> Result<(u32, u32), ImagingError> {
    let header = turbojpeg::read_header(bytes).map_err(|e| ImagingError::Corrupt(e.to_string()))?;
    Ok((clamp_u32(header.width), clamp_u32(header.height)))
}

fn clamp_u32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// The smallest DCT scaling libjpeg-turbo offers below 1 (1/8, 1/4, 1/2, then 5/8, 3/4, 7/8)
/// that keeps the decoded image at least `min_w` x `min_h` (twice the final size), so the final
/// Lanczos resize still has two source pixels per output pixel. A shortfall under 1%
/// (rounding: a 2040 px photo at 1/2 is 1020 px, for a 512 px thumbnail) is accepted; it costs
/// no visible quality and halves the decode. The eighths between 1/2 and 1 serve the sizes just
/// past a power of two (a 1920 px photo into 512 px decodes at 5/8, 1200 px, not at full size).
pub fn shrink_factor(w: u32, h: u32, min_w: u32, min_h: u32) -> ScalingFactor {
    let enough = |scaled: usize, min: u32| scaled as u64 * 100 >= u64::from(min) * 99;
    for factor in [
        ScalingFactor::ONE_EIGHTH,
        ScalingFactor::ONE_QUARTER,
        ScalingFactor::ONE_HALF,
        ScalingFactor::new(5, 8),
        ScalingFactor::new(3, 4),
        ScalingFactor::new(7, 8),
    ] {
        if enough(factor.scale(w as usize), min_w) && enough(factor.scale(h as usize), min_h) {
            return factor;
        }
    }
    ScalingFactor::ONE
}

/// Decodes a JPEG to RGBA, downscaled in the DCT domain by `factor`. The size libjpeg-turbo
/// reads from the header is checked against `limits.max_pixels` before anything is allocated.
pub fn decode(
    bytes: &[u8],
    factor: ScalingFactor,
    limits: &Limits,
) -> Result<RgbaImage, ImagingError> {
    let corrupt = |e: turbojpeg::Error| ImagingError::Corrupt(e.to_string());
    let mut dec = Decompressor::new().map_err(corrupt)?;
    let header = dec.read_header(bytes).map_err(corrupt)?;
    budget::source(header.width as u64, header.height as u64, limits)?;
    dec.set_scaling_factor(factor).map_err(corrupt)?;
    dec.set_scan_limit(MAX_SCANS).map_err(corrupt)?;
    let scaled = header.scaled(factor);
    let (w, h) = (scaled.width, scaled.height);
    let cmyk = matches!(header.colorspace, Colorspace::CMYK | Colorspace::YCCK);
    let mut pixels = vec![0u8; w * h * 4];
    let format = if cmyk {
        PixelFormat::CMYK
    } else {
        PixelFormat::RGBA
    };
    dec.decompress(
        bytes,
        Image {
            pixels: pixels.as_mut_slice(),
            width: w,
            pitch: w * 4,
            height: h,
            format,
        },
    )
    .map_err(corrupt)?;
    if cmyk {
        cmyk_to_rgba(&mut pixels, adobe_inverted(bytes));
    }
    RgbaImage::from_raw(clamp_u32(w), clamp_u32(h), pixels)
        .ok_or_else(|| ImagingError::Corrupt("decoded size mismatch".into()))
}

/// Decodes a YCbCr or grayscale JPEG to RGB, downscaled in the DCT domain by `factor`;
/// `None` for CMYK, which needs the RGBA path's colour conversion. The header's size is
/// checked against `limits.max_pixels` first.
pub fn decode_rgb(
    bytes: &[u8],
    factor: ScalingFactor,
    limits: &Limits,
) -> Result<Option<RgbImage>, ImagingError> {
    let corrupt = |e: turbojpeg::Error| ImagingError::Corrupt(e.to_string());
    let mut dec = Decompressor::new().map_err(corrupt)?;
    let header = dec.read_header(bytes).map_err(corrupt)?;
    budget::source(header.width as u64, header.height as u64, limits)?;
    if matches!(header.colorspace, Colorspace::CMYK | Colorspace::YCCK) {
        return Ok(None);
    }
    dec.set_scaling_factor(factor).map_err(corrupt)?;
    dec.set_scan_limit(MAX_SCANS).map_err(corrupt)?;
    let scaled = header.scaled(factor);
    let (w, h) = (scaled.width, scaled.height);
    let mut pixels = vec![0u8; w * h * 3];
    dec.decompress(
        bytes,
        Image {
            pixels: pixels.as_mut_slice(),
            width: w,
            pitch: w * 3,
            height: h,
            format: PixelFormat::RGB,
        },
    )
    .map_err(corrupt)?;
    RgbImage::from_raw(clamp_u32(w), clamp_u32(h), pixels)
        .map(Some)
        .ok_or_else(|| ImagingError::Corrupt("decoded size mismatch".into()))
}

/// Most progressive scans a JPEG may have: real encoders write about ten, a file with
/// thousands only burns CPU.
pub(crate) const MAX_SCANS: u32 = 500;

/// Whether the JPEG carries an Adobe APP14 segment (its CMYK values are stored inverted).
fn adobe_inverted(bytes: &[u8]) -> bool {
    segments(bytes).any(|(marker, payload)| marker == 0xEE && payload.starts_with(b"Adobe"))
}

/// Converts CMYK (inverted when Adobe-written) to RGB in place.
fn cmyk_to_rgba(pixels: &mut [u8], inverted: bool) {
    for px in pixels.chunks_exact_mut(4) {
        let [mut c, mut m, mut y, mut k] = [px[0], px[1], px[2], px[3]];
        if !inverted {
            c = 255 - c;
            m = 255 - m;
            y = 255 - y;
            k = 255 - k;
        }
        let mul = |a: u8, b: u8| ((u16::from(a) * u16::from(b) + 127) / 255) as u8;
        px[0] = mul(c, k);
        px[1] = mul(m, k);
        px[2] = mul(y, k);
        px[3] = 255;
    }
}

/// Iterates the marker segments before the scan: (marker, payload).
pub fn segments(bytes: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    header_segments(bytes)
        .take_while(|s| s.marker != 0xDA)
        .map(|s| (s.marker, s.payload))
}

/// A marker segment of a JPEG header.
pub struct Segment<'a> {
    /// The marker byte after 0xFF.
    pub marker: u8,
    /// The payload after the length, cut short where the file is.
    pub payload: &'a [u8],
    /// Where the next segment (or, after SOS, the entropy-coded data) starts; past the end of
    /// the file when the segment is cut short.
    pub end: usize,
}

/// Iterates the marker segments of a JPEG up to and including the first SOS; stops at EOI or
/// at anything that is no segment.
pub fn header_segments(bytes: &[u8]) -> impl Iterator<Item = Segment<'_>> {
    let mut pos = 2usize;
    let mut done = bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8;
    std::iter::from_fn(move || {
        while !done && pos + 4 <= bytes.len() {
            if bytes[pos] != 0xFF {
                break;
            }
            let marker = bytes[pos + 1];
            if marker == 0xFF {
                pos += 1;
                continue;
            }
            if marker == 0xD9 {
                break;
            }
            let len = usize::from(u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]));
            let start = pos + 4;
            let end = pos + 2 + len;
            pos = end;
            if len < 2 {
                break;
            }
            done = marker == 0xDA;
            let payload = &bytes[start..end.min(bytes.len()).max(start)];
            return Some(Segment {
                marker,
                payload,
                end,
            });
        }
        done = true;
        None
    })
}

/// The EXIF block (TIFF data after `Exif\0\0`) of a JPEG, if any.
pub fn exif(bytes: &[u8]) -> Option<Vec<u8>> {
    segments(bytes)
        .find(|(m, p)| *m == 0xE1 && p.starts_with(b"Exif\0\0"))
        .map(|(_, p)| p[6..].to_vec())
}

/// The ICC profile of a JPEG, reassembled from its APP2 chunks, if any and if it is at most
/// `limits.max_icc_bytes` long (measured before it is assembled).
pub fn icc(bytes: &[u8], limits: &Limits) -> Option<Vec<u8>> {
    let mut chunks: Vec<(u8, &[u8])> = segments(bytes)
        .filter(|(m, p)| *m == 0xE2 && p.starts_with(b"ICC_PROFILE\0") && p.len() > 14)
        .map(|(_, p)| (p[12], &p[14..]))
        .collect();
    let total: u64 = chunks.iter().map(|(_, d)| d.len() as u64).sum();
    if chunks.is_empty() || total > limits.max_icc_bytes {
        return None;
    }
    chunks.sort_by_key(|(seq, _)| *seq);
    Some(
        chunks
            .into_iter()
            .flat_map(|(_, d)| d.iter().copied())
            .collect(),
    )
}

/// Encodes RGB pixels as a baseline 4:2:0 JPEG, with optional EXIF and ICC segments.
pub fn encode(
    rgb: &[u8],
    width: u32,
    height: u32,
    quality: u8,
    exif: Option<&[u8]>,
    icc: Option<&[u8]>,
) -> Result<Vec<u8>, ImagingError> {
    let fail = |e: turbojpeg::Error| ImagingError::Encode(e.to_string());
    let mut c = Compressor::new().map_err(fail)?;
    c.set_quality(i32::from(quality.clamp(1, 100)))
        .map_err(fail)?;
    c.set_subsamp(Subsamp::Sub2x2).map_err(fail)?;
    let (w, h) = (width as usize, height as usize);
    let body = c
        .compress_to_vec(Image {
            pixels: rgb,
            width: w,
            pitch: w * 3,
            height: h,
            format: PixelFormat::RGB,
        })
        .map_err(fail)?;
    if exif.is_none() && icc.is_none() {
        return Ok(body);
    }
    let mut out = Vec::with_capacity(body.len() + 70_000);
    out.extend_from_slice(&body[..2]);
    if let Some(exif) = exif.filter(|e| e.len() + 8 <= 0xFFFF) {
        push_segment(&mut out, 0xE1, &[b"Exif\0\0".as_slice(), exif]);
    }
    if let Some(icc) = icc {
        let parts: Vec<&[u8]> = icc.chunks(0xFFFF - 16).collect();
        let count = u8::try_from(parts.len()).unwrap_or(u8::MAX);
        for (i, part) in parts.iter().enumerate().take(255) {
            let seq = [u8::try_from(i + 1).unwrap_or(u8::MAX), count];
            push_segment(&mut out, 0xE2, &[b"ICC_PROFILE\0".as_slice(), &seq, part]);
        }
    }
    out.extend_from_slice(&body[2..]);
    Ok(out)
}

/// Appends a marker segment made of `parts` (its length must fit the 16-bit field).
pub(crate) fn push_segment(out: &mut Vec<u8>, marker: u8, parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|p| p.len()).sum::<usize>() + 2;
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    for p in parts {
        out.extend_from_slice(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_keeps_twice_the_target() {
        assert_eq!(
            shrink_factor(4032, 3024, 600, 450),
            ScalingFactor::ONE_QUARTER
        );
        assert_eq!(
            shrink_factor(4032, 3024, 400, 300),
            ScalingFactor::ONE_EIGHTH
        );
        assert_eq!(shrink_factor(1920, 1200, 600, 375), ScalingFactor::ONE_HALF);
        assert_eq!(shrink_factor(640, 480, 600, 450), ScalingFactor::ONE);
        assert_eq!(
            shrink_factor(2040, 1275, 1024, 640),
            ScalingFactor::ONE_HALF,
            "a rounding shortfall under 1% still shrinks"
        );
        assert_eq!(
            shrink_factor(2000, 1250, 1024, 640),
            ScalingFactor::new(5, 8)
        );
        assert_eq!(
            shrink_factor(1920, 1200, 1024, 640),
            ScalingFactor::new(5, 8),
            "1200 px, not a full decode"
        );
        assert_eq!(
            shrink_factor(1200, 900, 1024, 768),
            ScalingFactor::new(7, 8)
        );
        assert_eq!(shrink_factor(1100, 800, 1024, 768), ScalingFactor::ONE);
    }

    #[test]
    fn segments_round_trip() {
        let rgb = vec![128u8; 16 * 16 * 3];
        let exif = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0\0\0\0\0".to_vec();
        let icc = vec![7u8; 70_000];
        let jpeg = encode(&rgb, 16, 16, 80, Some(&exif), Some(&icc)).expect("encode");
        assert_eq!(super::exif(&jpeg).as_deref(), Some(exif.as_slice()));
        let limits = Limits::default();
        assert_eq!(super::icc(&jpeg, &limits).as_deref(), Some(icc.as_slice()));
        let small = Limits {
            max_icc_bytes: 69_999,
            ..Limits::default()
        };
        assert_eq!(super::icc(&jpeg, &small), None, "over the ICC limit");
        let mut t = exif.clone();
        reset_orientation(&mut t);
        assert_eq!(&t[18..20], &[1, 0]);
        let img = decode(&jpeg, ScalingFactor::ONE, &limits).expect("decode");
        assert_eq!(img.dimensions(), (16, 16));
    }
}
