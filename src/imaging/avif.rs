//! AVIF sources through libavif with the dav1d AV1 decoder (both built from bundled source).
//!
//! Only the pixels are read: libavif's safe wrapper exposes neither the EXIF and ICC items nor
//! the `irot`/`imir` transforms, so those are not applied or carried, and the YUV to RGB
//! conversion keeps the source's colour primaries and transfer (right for sRGB, the usual
//! case). Of an image sequence (`avis`) only the first frame is decoded. Higher bit depths are
//! reduced to 8 bits a channel; an alpha plane is kept, unpremultiplied.

use super::{ImagingError, Limits};
use image::RgbaImage;

/// Whether the bytes start an AVIF file (an `ftyp` box with an AVIF brand), however the
/// brands are ordered.
pub fn sniff(bytes: &[u8]) -> bool {
    libavif::is_avif(bytes)
}

/// Decodes the primary image to RGBA. The caller checks the pixel limit on the header's
/// `ispe` size first; the decoded size is checked again before the RGB conversion allocates.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<RgbaImage, ImagingError> {
    let yuv = libavif::decode(bytes).map_err(|e| ImagingError::Corrupt(format!("AVIF: {e}")))?;
    let (w, h) = (yuv.width(), yuv.height());
    let pixels = u64::from(w) * u64::from(h);
    if pixels > limits.max_pixels {
        return Err(ImagingError::TooLarge {
            pixels,
            limit: limits.max_pixels,
        });
    }
    if pixels == 0 {
        return Err(ImagingError::Corrupt("AVIF: empty image".into()));
    }
    let rgba = libavif::RgbPixels::from(&yuv);
    drop(yuv);
    RgbaImage::from_raw(w, h, rgba.to_vec())
        .ok_or_else(|| ImagingError::Corrupt("AVIF: decoded size mismatch".into()))
}
