//! Decoding with the pixel limit checked from the header first, and encoding to JPEG, PNG,
//! GIF and WebP (lossy or lossless, see [`Carry::lossy_source`]).

use super::job::{Job, TargetFormat};
use super::{budget, ImagingError, Limits};
use image::codecs::gif::GifEncoder;
use image::codecs::png::PngEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageFormat, RgbaImage};
use std::io::Cursor;

/// A decoded source image.
pub struct Decoded {
    /// Pixels, RGBA.
    pub image: RgbaImage,
    /// The format it was stored in.
    pub format: ImageFormat,
    /// Its EXIF orientation.
    pub orientation: Orientation,
    /// Its EXIF block (TIFF data), if any.
    pub exif: Option<Vec<u8>>,
    /// Its ICC profile, if any.
    pub icc: Option<Vec<u8>>,
}

/// The format of an image Pictor accepts (JPEG, PNG, GIF, WebP, BMP, TIFF, AVIF), from its
/// signature; `None` for anything else. An AVIF is an `ftyp` box with an AVIF brand among
/// its brands, as libavif reads it.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    let starts = |sig: &[u8]| bytes.starts_with(sig);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some(ImageFormat::Gif)
    } else if bytes.len() >= 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some(ImageFormat::WebP)
    } else if starts(b"BM") && bytes.len() >= 26 {
        Some(ImageFormat::Bmp)
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Some(ImageFormat::Tiff)
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" && super::avif::sniff(bytes) {
        Some(ImageFormat::Avif)
    } else {
        None
    }
}

/// The format and stored dimensions of an image, from its header only.
pub fn probe(bytes: &[u8]) -> Result<(ImageFormat, u32, u32), ImagingError> {
    let format = sniff(bytes).ok_or(ImagingError::Unsupported)?;
    let size = imagesize::blob_size(bytes)
        .map_err(|e| ImagingError::Corrupt(format!("unreadable header: {e:?}")))?;
    let w = u32::try_from(size.width).unwrap_or(u32::MAX);
    let h = u32::try_from(size.height).unwrap_or(u32::MAX);
    Ok((format, w, h))
}

/// The EXIF orientation of an image, from its EXIF block.
pub fn orientation_of(bytes: &[u8]) -> Orientation {
    exif::Reader::new()
        .read_from_container(&mut Cursor::new(bytes))
        .ok()
        .and_then(|e| {
            e.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
                .and_then(|f| f.value.get_uint(0))
        })
        .and_then(|v| u8::try_from(v).ok())
        .and_then(Orientation::from_exif)
        .unwrap_or(Orientation::NoTransforms)
}

/// Decodes `bytes`, refusing images whose header declares more than `limits.max_pixels`:
/// the container header first, then the header of the decoder that decodes it (they can
/// disagree on a crafted file), before that decoder allocates. An ICC profile over
/// `limits.max_icc_bytes` is dropped.
/// `min_size` is the smallest size the pipeline needs: a JPEG is then decoded at 1/2, 1/4 or
/// 1/8 scale in the DCT domain when that still leaves at least that size. Of an animation
/// only the first frame is decoded; an AVIF's metadata is not read (see [`super::avif`]).
pub fn decode(
    bytes: &[u8],
    limits: &Limits,
    min_size: Option<(u32, u32)>,
) -> Result<Decoded, ImagingError> {
    let (format, w, h) = probe(bytes)?;
    budget::source(u64::from(w), u64::from(h), limits)?;
    if format == ImageFormat::Jpeg {
        let (w, h) = super::jpeg::dimensions(bytes)?;
        budget::source(u64::from(w), u64::from(h), limits)?;
        let factor = match min_size {
            Some((mw, mh)) => super::jpeg::shrink_factor(w, h, mw, mh),
            None => turbojpeg::ScalingFactor::ONE,
        };
        return Ok(Decoded {
            image: super::jpeg::decode(bytes, factor, limits)?,
            format,
            orientation: orientation_of(bytes),
            exif: super::jpeg::exif(bytes),
            icc: super::jpeg::icc(bytes, limits),
        });
    }
    if format == ImageFormat::Avif {
        return Ok(Decoded {
            image: super::avif::decode(bytes, limits)?,
            format,
            orientation: Orientation::NoTransforms,
            exif: None,
            icc: None,
        });
    }
    decode_other(bytes, format, limits)
}

/// The `image` crate limits matching ours: sides and allocations bounded by the pixel limit.
pub(crate) fn image_limits(limits: &Limits) -> image::Limits {
    let mut guard = image::Limits::default();
    let side = u32::try_from(limits.max_pixels.min(u64::from(u32::MAX))).unwrap_or(u32::MAX);
    guard.max_image_width = Some(side);
    guard.max_image_height = Some(side);
    guard.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    guard
}

fn decode_other(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<Decoded, ImagingError> {
    let native = decode_native(bytes, format, limits)?;
    Ok(Decoded {
        image: native.image.into_rgba8(),
        format,
        orientation: native.orientation,
        exif: native.exif,
        icc: native.icc,
    })
}

/// A still image decoded in its own pixel type (8 or 16 bits a sample, grey or colour, with
/// or without alpha), with its metadata.
pub(crate) struct Native {
    /// Pixels as the file holds them (a palette expanded).
    pub image: DynamicImage,
    /// Its EXIF orientation.
    pub orientation: Orientation,
    /// Its EXIF block (TIFF data), if any.
    pub exif: Option<Vec<u8>>,
    /// Its ICC profile, if any and at most `limits.max_icc_bytes` long.
    pub icc: Option<Vec<u8>>,
}

/// Decodes a PNG, GIF (first frame), WebP (first frame), BMP or TIFF through `image`,
/// refusing more than `limits.max_pixels` as the decoder's header declares it before it
/// allocates.
pub(crate) fn decode_native(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<Native, ImagingError> {
    if !matches!(
        format,
        ImageFormat::Jpeg
            | ImageFormat::Png
            | ImageFormat::Gif
            | ImageFormat::WebP
            | ImageFormat::Bmp
            | ImageFormat::Tiff
    ) {
        return Err(ImagingError::Unsupported);
    }
    let (bytes, png_icc) = match format {
        ImageFormat::Png => super::png::split_icc(bytes, limits),
        _ => (std::borrow::Cow::Borrowed(bytes), None),
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes.as_ref()), format);
    reader.limits(image_limits(limits));
    let mut decoder = reader.into_decoder().map_err(|e| match e {
        image::ImageError::Limits(_) => ImagingError::TooLarge {
            pixels: u64::MAX,
            limit: limits.max_pixels,
        },
        other => ImagingError::Corrupt(other.to_string()),
    })?;
    let (w, h) = decoder.dimensions();
    budget::source(u64::from(w), u64::from(h), limits)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let icc = match format {
        ImageFormat::Png => png_icc,
        _ => budget::icc(decoder.icc_profile().ok().flatten(), limits),
    };
    let exif = decoder.exif_metadata().ok().flatten();
    let pixels = u64::from(w) * u64::from(h);
    let image = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        image::ImageError::Limits(_) => ImagingError::TooLarge {
            pixels,
            limit: limits.max_pixels,
        },
        other => ImagingError::Corrupt(other.to_string()),
    })?;
    Ok(Native {
        image,
        orientation,
        exif,
        icc,
    })
}

/// Whether a source is lossy-compressed: JPEG, AVIF, and WebP with a lossy (VP8) frame.
/// PNG, GIF, BMP, TIFF and lossless WebP are not.
pub fn is_lossy(format: ImageFormat, bytes: &[u8]) -> bool {
    match format {
        ImageFormat::Jpeg | ImageFormat::Avif => true,
        ImageFormat::WebP => super::webp::inspect(bytes).is_some_and(|info| info.lossy),
        _ => false,
    }
}

/// Whether every pixel is fully opaque.
pub fn is_opaque(img: &RgbaImage) -> bool {
    img.pixels().all(|p| p.0[3] == 255)
}

/// The output format of an operation: `forced` (the resize job's target) when set, else the
/// source's format when it can be written (`source`, see [`writable`]), else (BMP, TIFF,
/// AVIF) PNG when the jobs cut a circle and JPEG otherwise. It depends on the jobs and the
/// source format only, never on the pixels, so a result's name is known before it is
/// rendered.
pub fn output_format(
    forced: Option<TargetFormat>,
    source: Option<TargetFormat>,
    jobs: &[Job],
) -> TargetFormat {
    forced.or(source).unwrap_or_else(|| {
        if jobs.iter().any(|j| matches!(j, Job::Circle { .. })) {
            TargetFormat::Png
        } else {
            TargetFormat::Jpeg
        }
    })
}

/// The writable format of a source format, if any.
pub fn writable(format: ImageFormat) -> Option<TargetFormat> {
    match format {
        ImageFormat::Jpeg => Some(TargetFormat::Jpeg),
        ImageFormat::Png => Some(TargetFormat::Png),
        ImageFormat::Gif => Some(TargetFormat::Gif),
        ImageFormat::WebP => Some(TargetFormat::Webp),
        _ => None,
    }
}

/// What is carried from the source into an output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Carry<'a> {
    /// EXIF block (TIFF data) to write, JPEG and WebP.
    pub exif: Option<&'a [u8]>,
    /// ICC profile to write, JPEG, PNG and WebP.
    pub icc: Option<&'a [u8]>,
    /// The source was lossy ([`is_lossy`]): WebP output is then lossy at `quality`, with
    /// its alpha kept; else lossless.
    pub lossy_source: bool,
}

/// Encodes an image; JPEG output is flattened onto white and uses `quality`, and so does
/// WebP output of a lossy source (keeping alpha).
pub fn encode(
    img: &RgbaImage,
    format: TargetFormat,
    quality: u8,
    carry: Carry<'_>,
) -> Result<Vec<u8>, ImagingError> {
    let mut out = Vec::with_capacity(img.as_raw().len() / 16 + 1024);
    let enc = |e: image::ImageError| ImagingError::Encode(e.to_string());
    let (w, h) = img.dimensions();
    match format {
        TargetFormat::Jpeg => {
            let rgb = flatten(img);
            return super::jpeg::encode(&rgb, w, h, quality, carry.exif, carry.icc);
        }
        TargetFormat::Png => {
            let mut encoder = PngEncoder::new(&mut out);
            if let Some(icc) = carry.icc {
                let _ = encoder.set_icc_profile(icc.to_vec());
            }
            if is_opaque(img) {
                let rgb = flatten(img);
                encoder
                    .write_image(&rgb, w, h, ExtendedColorType::Rgb8)
                    .map_err(enc)?;
            } else {
                encoder
                    .write_image(img.as_raw(), w, h, ExtendedColorType::Rgba8)
                    .map_err(enc)?;
            }
        }
        TargetFormat::Gif => {
            let mut encoder = GifEncoder::new_with_speed(&mut out, 10);
            encoder
                .encode(img.as_raw(), w, h, ExtendedColorType::Rgba8)
                .map_err(enc)?;
        }
        TargetFormat::Webp => {
            let quality = carry.lossy_source.then_some(quality);
            return super::webp::encode(img, quality, carry.exif, carry.icc);
        }
    }
    Ok(out)
}

/// RGB bytes of an RGBA image composited over white.
fn flatten(img: &RgbaImage) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(img.as_raw().len() / 4 * 3);
    for p in img.pixels() {
        let [r, g, b, a] = p.0;
        let a = u16::from(a);
        let over = |c: u8| ((u16::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        rgb.extend_from_slice(&[over(r), over(g), over(b)]);
    }
    rgb
}
