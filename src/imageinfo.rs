//! What the catalog records about an uploaded image, read from its header and EXIF block only:
//! the sniffed media type, width and height, the shooting date and the GPS position. No pixel is
//! decoded here, so a 100-megapixel upload costs the same as a thumbnail.

use crate::imaging::codec;
use chrono::NaiveDateTime;
use std::io::Cursor;

/// Facts about an image taken from its header.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageInfo {
    /// Media type sniffed from the content (never from the name).
    pub content_type: &'static str,
    /// Width in pixels as stored.
    pub width: u32,
    /// Height in pixels as stored.
    pub height: u32,
    /// EXIF DateTimeOriginal, when present and valid.
    pub taken_at: Option<NaiveDateTime>,
    /// EXIF GPS latitude and longitude in degrees, when present.
    pub gps: Option<(f64, f64)>,
}

/// Sniffs the media type of `bytes` from its signature ([`codec::sniff`]). `None` when it is
/// no format Pictor accepts.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    codec::sniff(bytes).map(|format| format.to_mime_type())
}

/// Reads the header facts of an image. `None` when the bytes are not an image Pictor accepts.
pub fn inspect(bytes: &[u8]) -> Option<ImageInfo> {
    let content_type = sniff(bytes)?;
    let size = imagesize::blob_size(bytes).ok()?;
    let width = u32::try_from(size.width).ok()?;
    let height = u32::try_from(size.height).ok()?;
    if width == 0 || height == 0 {
        return None;
    }
    let (taken_at, gps) = match exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) {
        Ok(exif) => (taken_at(&exif), gps(&exif)),
        Err(_) => (None, None),
    };
    Some(ImageInfo {
        content_type,
        width,
        height,
        taken_at,
        gps,
    })
}

fn taken_at(exif: &exif::Exif) -> Option<NaiveDateTime> {
    let field = exif
        .get_field(exif::Tag::DateTimeOriginal, exif::In::PRIMARY)
        .or_else(|| exif.get_field(exif::Tag::DateTime, exif::In::PRIMARY))?;
    let exif::Value::Ascii(ref parts) = field.value else {
        return None;
    };
    let text = std::str::from_utf8(parts.first()?).ok()?;
    NaiveDateTime::parse_from_str(text.trim(), "%Y:%m:%d %H:%M:%S").ok()
}

fn gps(exif: &exif::Exif) -> Option<(f64, f64)> {
    let lat = degrees(
        exif,
        exif::Tag::GPSLatitude,
        exif::Tag::GPSLatitudeRef,
        b'S',
    )?;
    let lng = degrees(
        exif,
        exif::Tag::GPSLongitude,
        exif::Tag::GPSLongitudeRef,
        b'W',
    )?;
    Some((lat, lng))
}

fn degrees(exif: &exif::Exif, tag: exif::Tag, ref_tag: exif::Tag, negative: u8) -> Option<f64> {
    let field = exif.get_field(tag, exif::In::PRIMARY)?;
    let exif::Value::Rational(ref r) = field.value else {
        return None;
    };
    let part = |i: usize| r.get(i).map(|x| x.to_f64()).filter(|v| v.is_finite());
    let value = part(0)? + part(1).unwrap_or(0.0) / 60.0 + part(2).unwrap_or(0.0) / 3600.0;
    let sign = match exif.get_field(ref_tag, exif::In::PRIMARY).map(|f| &f.value) {
        Some(exif::Value::Ascii(v)) if v.first().and_then(|s| s.first()) == Some(&negative) => -1.0,
        _ => 1.0,
    };
    Some(sign * value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn corpus(rel: &str) -> Vec<u8> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        assert!(dir.is_dir(), "test corpus missing at {}", dir.display());
        std::fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    #[test]
    fn sniffs_formats_by_content() {
        let cases = [
            ("formats/bmp_24bit_bird_192x144.bmp", "image/bmp", 192, 144),
            ("formats/gif_still_photo_800x533.gif", "image/gif", 800, 533),
            ("formats/webp_lossless_300x300.webp", "image/webp", 300, 300),
            (
                "formats/tiff_rgb_uncompressed_mandrill_512x512.tiff",
                "image/tiff",
                512,
                512,
            ),
            (
                "formats/avif_photo_olympus_2560x1600.avif",
                "image/avif",
                2560,
                1600,
            ),
            ("malformed/png_data_named.jpg", "image/png", 451, 300),
        ];
        for (rel, ct, w, h) in cases {
            let info = inspect(&corpus(rel)).unwrap_or_else(|| panic!("{rel} not recognised"));
            assert_eq!(
                (info.content_type, info.width, info.height),
                (ct, w, h),
                "{rel}"
            );
        }
        assert!(inspect(&corpus("malformed/text_file_named.jpg")).is_none());
        assert!(inspect(&corpus("malformed/zero_bytes.jpg")).is_none());
    }

    #[test]
    fn reads_exif_date_and_gps() {
        let info = inspect(&corpus("photos/photo_small_nikon-p6000_gps_640x480.jpg"))
            .expect("jpeg is recognised");
        assert!(info.taken_at.is_some());
        let (lat, lng) = info.gps.expect("gps block present");
        assert!((-90.0..=90.0).contains(&lat) && lat != 0.0, "lat {lat}");
        assert!((-180.0..=180.0).contains(&lng) && lng != 0.0, "lng {lng}");
        let plain = inspect(&corpus("formats/bmp_24bit_bird_192x144.bmp")).expect("bmp");
        assert_eq!((plain.taken_at, plain.gps), (None, None));
    }

    #[test]
    fn sniffs_what_the_engine_decodes() {
        for rel in [
            "formats/avif_photo_olympus_2560x1600.avif",
            "formats/bmp_24bit_bird_192x144.bmp",
            "formats/gif_still_photo_800x533.gif",
            "formats/png_16bit_rgb_monkey_149x227.png",
            "formats/tiff_rgb_uncompressed_mandrill_512x512.tiff",
            "formats/webp_lossy_tree_1024x772.webp",
            "photos/photo_small_nikon-p6000_gps_640x480.jpg",
        ] {
            let bytes = corpus(rel);
            let (format, _, _) = codec::probe(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
            assert_eq!(sniff(&bytes), Some(format.to_mime_type()), "{rel}");
        }
        // A HEIF image (brands mif1, heic) is not an AVIF: the engine cannot decode it.
        let mut heif = Vec::new();
        heif.extend_from_slice(&24u32.to_be_bytes());
        heif.extend_from_slice(b"ftypmif1\0\0\0\0mif1heic");
        heif.extend_from_slice(&[0; 32]);
        assert!(codec::probe(&heif).is_err());
        assert_eq!(sniff(&heif), None);
        // An AVIF whose major brand is not `avif` still lists it among its compatible brands.
        let mut avif = Vec::new();
        avif.extend_from_slice(&28u32.to_be_bytes());
        avif.extend_from_slice(b"ftypmiaf\0\0\0\0miafmif1avif");
        avif.extend_from_slice(&[0; 32]);
        assert_eq!(codec::sniff(&avif), Some(image::ImageFormat::Avif));
        assert_eq!(sniff(&avif), Some("image/avif"));
    }
}
