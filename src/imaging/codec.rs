//! Decoding with the pixel limit checked from the header first, and encoding to JPEG, PNG,
//! GIF and WebP.

use super::{ImagingError, Limits};
use crate::operation::TargetFormat;
use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
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
}

/// Decodes `bytes`, refusing images whose header declares more than `limits.max_pixels`.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded, ImagingError> {
    if bytes.is_empty() {
        return Err(ImagingError::Unsupported);
    }
    let format = image::guess_format(bytes).map_err(|_| ImagingError::Unsupported)?;
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
    let size = imagesize::blob_size(bytes)
        .map_err(|e| ImagingError::Corrupt(format!("unreadable header: {e:?}")))?;
    let pixels = (size.width as u64).saturating_mul(size.height as u64);
    if pixels > limits.max_pixels {
        return Err(ImagingError::TooLarge {
            pixels,
            limit: limits.max_pixels,
        });
    }
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut guard = image::Limits::default();
    let side = u32::try_from(limits.max_pixels.min(u64::from(u32::MAX))).unwrap_or(u32::MAX);
    guard.max_image_width = Some(side);
    guard.max_image_height = Some(side);
    guard.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    reader.limits(guard);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| ImagingError::Corrupt(e.to_string()))?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > limits.max_pixels {
        return Err(ImagingError::TooLarge {
            pixels: u64::from(w) * u64::from(h),
            limit: limits.max_pixels,
        });
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder)
        .map_err(|e| match e {
            image::ImageError::Limits(_) => ImagingError::TooLarge {
                pixels,
                limit: limits.max_pixels,
            },
            other => ImagingError::Corrupt(other.to_string()),
        })?
        .into_rgba8();
    Ok(Decoded {
        image,
        format,
        orientation,
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

/// Encodes an image; JPEG output is flattened onto white and uses `quality`.
pub fn encode(img: &RgbaImage, format: TargetFormat, quality: u8) -> Result<Vec<u8>, ImagingError> {
    let mut out = Vec::with_capacity((img.width() * img.height()) as usize / 4 + 1024);
    let enc = |e: image::ImageError| ImagingError::Encode(e.to_string());
    let (w, h) = img.dimensions();
    match format {
        TargetFormat::Jpeg => {
            let rgb = flatten(img);
            JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
                .write_image(&rgb, w, h, ExtendedColorType::Rgb8)
                .map_err(enc)?;
        }
        TargetFormat::Png => {
            if img.pixels().all(|p| p.0[3] == 255) {
                let rgb = flatten(img);
                PngEncoder::new(&mut out)
                    .write_image(&rgb, w, h, ExtendedColorType::Rgb8)
                    .map_err(enc)?;
            } else {
                PngEncoder::new(&mut out)
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
            WebPEncoder::new_lossless(&mut out)
                .write_image(img.as_raw(), w, h, ExtendedColorType::Rgba8)
                .map_err(enc)?;
        }
    }
    Ok(out)
}

/// RGB bytes of an RGBA image composited over white.
fn flatten(img: &RgbaImage) -> Vec<u8> {
    let mut rgb = Vec::with_capacity((img.width() * img.height() * 3) as usize);
    for p in img.pixels() {
        let [r, g, b, a] = p.0;
        let a = u16::from(a);
        let over = |c: u8| ((u16::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        rgb.extend_from_slice(&[over(r), over(g), over(b)]);
    }
    rgb
}
