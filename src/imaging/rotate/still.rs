//! Still images in lossless formats (and WebP written losslessly): decoded in their own pixel
//! type, turned, encoded again in their format. PNG keeps its bit depth, alpha, ICC profile
//! and EXIF block (palette images come back as true colour, pixel for pixel); WebP becomes
//! lossless VP8L with its ICC profile and EXIF block, so a lossy source keeps the pixels it
//! decodes to and loses nothing more; BMP and TIFF are written uncompressed, without metadata.

use super::{Rotated, Turn};
use crate::imaging::{codec, exif_edit, ImagingError, Limits};
use bytes::Bytes;
use image::codecs::bmp::BmpEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::tiff::TiffEncoder;
use image::{DynamicImage, ImageEncoder, ImageFormat};
use std::io::Cursor;

/// Rotates a PNG, still WebP, BMP or TIFF by `turn` after its EXIF orientation.
pub fn rotate(
    source: &[u8],
    format: ImageFormat,
    turn: Turn,
    limits: &Limits,
) -> Result<Rotated, ImagingError> {
    let native = codec::decode_native(source, format, limits)?;
    let total = Turn::from_orientation(native.orientation).then(turn);
    let img = total.apply(native.image);
    let exif = native.exif.map(|mut tiff| {
        exif_edit::upright(&mut tiff, total.swaps_axes());
        tiff
    });
    let (icc, exif) = (native.icc.as_deref(), exif.as_deref());
    let (width, height) = (img.width(), img.height());
    let bytes = match format {
        ImageFormat::Png => png(&img, icc, exif)?,
        ImageFormat::WebP => crate::imaging::webp::encode(&img.to_rgba8(), None, exif, icc)?,
        ImageFormat::Bmp => bmp(&img)?,
        ImageFormat::Tiff => tiff(img)?,
        _ => return Err(ImagingError::Unsupported),
    };
    Ok(Rotated {
        bytes: Bytes::from(bytes),
        format,
        width,
        height,
        lossless: true,
    })
}

fn encode_error(e: image::ImageError) -> ImagingError {
    ImagingError::Encode(e.to_string())
}

fn png(
    img: &DynamicImage,
    icc: Option<&[u8]>,
    exif: Option<&[u8]>,
) -> Result<Vec<u8>, ImagingError> {
    let mut out = Vec::with_capacity(img.as_bytes().len() / 2 + 1024);
    let mut encoder =
        PngEncoder::new_with_quality(&mut out, CompressionType::Default, FilterType::Adaptive);
    if let Some(icc) = icc {
        encoder
            .set_icc_profile(icc.to_vec())
            .map_err(|e| ImagingError::Encode(e.to_string()))?;
    }
    if let Some(exif) = exif {
        encoder
            .set_exif_metadata(exif.to_vec())
            .map_err(|e| ImagingError::Encode(e.to_string()))?;
    }
    img.write_with_encoder(encoder).map_err(encode_error)?;
    Ok(out)
}

fn bmp(img: &DynamicImage) -> Result<Vec<u8>, ImagingError> {
    let mut out = Vec::with_capacity(img.as_bytes().len() + 1024);
    let (w, h) = (img.width(), img.height());
    let encoder = BmpEncoder::new(&mut out);
    match img {
        DynamicImage::ImageRgba8(rgba) => encoder
            .write_image(rgba.as_raw(), w, h, image::ExtendedColorType::Rgba8)
            .map_err(encode_error)?,
        other => {
            let rgb = other.to_rgb8();
            encoder
                .write_image(rgb.as_raw(), w, h, image::ExtendedColorType::Rgb8)
                .map_err(encode_error)?;
        }
    }
    Ok(out)
}

/// TIFF in the source's pixel type where the encoder writes it; grey with alpha becomes RGBA
/// of the same depth.
fn tiff(img: DynamicImage) -> Result<Vec<u8>, ImagingError> {
    let img = match img {
        DynamicImage::ImageLumaA8(_) => DynamicImage::ImageRgba8(img.to_rgba8()),
        DynamicImage::ImageLumaA16(_) => DynamicImage::ImageRgba16(img.to_rgba16()),
        other => other,
    };
    let mut out = Cursor::new(Vec::with_capacity(img.as_bytes().len() + 1024));
    img.write_with_encoder(TiffEncoder::new(&mut out))
        .map_err(encode_error)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use crate::imaging::rotate::{rotate, Flip, Rotation};
    use crate::imaging::Limits;
    use image::{DynamicImage, ImageBuffer, ImageFormat, Rgba, RgbaImage};
    use std::io::Cursor;

    /// Every pixel different, alpha included.
    fn pattern(w: u32, h: u32) -> RgbaImage {
        RgbaImage::from_fn(w, h, |x, y| {
            Rgba([
                (x * 7) as u8,
                (y * 11) as u8,
                (x * y) as u8,
                (255 - x) as u8,
            ])
        })
    }

    fn encoded(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).expect("encode");
        out.into_inner()
    }

    /// The pixel at (x, y) after a clockwise quarter turn of a `h`-row image is the source's
    /// pixel at (y, h - 1 - x).
    fn turned_by_hand(src: &RgbaImage) -> RgbaImage {
        let (w, h) = src.dimensions();
        RgbaImage::from_fn(h, w, |x, y| *src.get_pixel(y, h - 1 - x))
    }

    #[test]
    fn a_png_quarter_turn_is_pixel_exact() {
        let src = pattern(23, 14);
        let bytes = encoded(&DynamicImage::ImageRgba8(src.clone()), ImageFormat::Png);
        let r = rotate(
            &bytes,
            Rotation::new(90, Flip::None).expect("rotation"),
            &Limits::default(),
        )
        .expect("rotate");
        assert!(r.lossless);
        assert_eq!((r.width, r.height, r.format), (14, 23, ImageFormat::Png));
        let got = image::load_from_memory(&r.bytes)
            .expect("decode")
            .to_rgba8();
        assert_eq!(got, turned_by_hand(&src));
    }

    #[test]
    fn sixteen_bits_stay_sixteen_bits() {
        let src: ImageBuffer<Rgba<u16>, Vec<u16>> = ImageBuffer::from_fn(5, 3, |x, y| {
            image::Rgba([x as u16 * 4099, y as u16 * 13001, 65535, 65535 - x as u16])
        });
        let bytes = encoded(&DynamicImage::ImageRgba16(src.clone()), ImageFormat::Png);
        let r = rotate(
            &bytes,
            Rotation::new(180, Flip::None).expect("rotation"),
            &Limits::default(),
        )
        .expect("rotate");
        let got = image::load_from_memory(&r.bytes).expect("decode");
        let DynamicImage::ImageRgba16(got) = got else {
            panic!("not 16-bit RGBA: {:?}", got.color());
        };
        assert_eq!(got, image::imageops::rotate180(&src));
    }

    #[test]
    fn webp_bmp_and_tiff_keep_their_format_and_pixels() {
        let src = pattern(9, 6);
        let opaque = DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(src.clone()).to_rgb8());
        for (img, format) in [
            (DynamicImage::ImageRgba8(src.clone()), ImageFormat::WebP),
            (opaque.clone(), ImageFormat::Bmp),
            (DynamicImage::ImageRgba8(src.clone()), ImageFormat::Tiff),
        ] {
            let bytes = encoded(&img, format);
            let r = rotate(
                &bytes,
                Rotation::new(0, Flip::Vertical).expect("rotation"),
                &Limits::default(),
            )
            .expect("rotate");
            assert_eq!(r.format, format);
            assert_eq!(image::guess_format(&r.bytes).ok(), Some(format));
            let got = image::load_from_memory(&r.bytes)
                .expect("decode")
                .to_rgba8();
            assert_eq!(
                got,
                image::imageops::flip_vertical(&img.to_rgba8()),
                "{format:?}"
            );
        }
    }
}
