//! Rotating and mirroring a stored image in place of the original, with as little loss as its
//! format allows. The image is first laid out as it is displayed (its EXIF orientation
//! applied, the tag reset to 1), then turned as asked: one combined [`Turn`] of the stored
//! pixels.
//!
//! - JPEG ([`dct`]): libjpeg-turbo's lossless transform of the DCT coefficients when the
//!   image's edges fall on whole MCUs for that transform; otherwise decoded, turned and
//!   encoded again at quality [`dct::REENCODE_QUALITY`] (the answer says it was not lossless).
//! - PNG, BMP, TIFF and still WebP ([`still`]): decoded and encoded again losslessly (WebP as
//!   lossless VP8L, whatever the source's compression).
//! - GIF and animated WebP ([`frames`]): every frame turned, delays and loop count kept.
//! - AVIF and anything else: [`ImagingError::Unsupported`].
//!
//! The source's pixel count is checked against the limits before anything is decoded or
//! transformed.

mod dct;
mod frames;
mod still;
mod turn;

pub use turn::Turn;

use super::{codec, guard, ImagingError, Limits};
use bytes::Bytes;
use image::ImageFormat;

/// A mirror applied after the rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flip {
    /// No mirror.
    None,
    /// Left and right trade places.
    Horizontal,
    /// Top and bottom trade places.
    Vertical,
}

/// A rotation as asked: clockwise by a multiple of 90 degrees, then a mirror. Never the
/// identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    degrees: u16,
    flip: Flip,
}

impl Rotation {
    /// Clockwise by `degrees` (0, 90, 180 or 270), then `flip`; `None` for any other angle, and
    /// for 0 degrees without a flip, which would change nothing.
    pub fn new(degrees: u16, flip: Flip) -> Option<Self> {
        let valid = matches!(degrees, 90 | 180 | 270) || (degrees == 0 && flip != Flip::None);
        valid.then_some(Self { degrees, flip })
    }

    /// The clockwise angle.
    pub fn degrees(self) -> u16 {
        self.degrees
    }

    /// The mirror after it.
    pub fn flip(self) -> Flip {
        self.flip
    }

    /// The rotation as a turn of the displayed image.
    pub fn turn(self) -> Turn {
        let rotation = Turn::new(u8::try_from(self.degrees / 90).unwrap_or(0), false);
        match self.flip {
            Flip::None => rotation,
            Flip::Horizontal => rotation.then(Turn::new(0, true)),
            Flip::Vertical => rotation.then(Turn::new(2, true)),
        }
    }
}

/// A rotated image, encoded in the format of its source.
#[derive(Debug, Clone)]
pub struct Rotated {
    /// The encoded image.
    pub bytes: Bytes,
    /// Its format (the source's).
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Whether every pixel of the displayed source is kept exactly: false only when a JPEG had
    /// to be encoded again, or a GIF frame had more than 256 colours.
    pub lossless: bool,
}

/// Rotates `source` as displayed (its EXIF orientation applied first) by `rotation`. A source
/// over `limits.max_pixels` (or, animated, over `max_frames` or frames x pixels over
/// `max_pixels`) is refused before it is decoded; a panic of a codec is caught and returned
/// as [`ImagingError::Panicked`].
pub fn rotate(source: &[u8], rotation: Rotation, limits: &Limits) -> Result<Rotated, ImagingError> {
    guard::catch(|| {
        let format = codec::sniff(source).ok_or(ImagingError::Unsupported)?;
        let turn = rotation.turn();
        match format {
            ImageFormat::Jpeg => dct::rotate(source, turn, limits),
            ImageFormat::Gif => frames::rotate(source, turn, limits),
            ImageFormat::WebP if frames::is_animated(source, limits)? => {
                frames::rotate(source, turn, limits)
            }
            ImageFormat::Png | ImageFormat::WebP | ImageFormat::Bmp | ImageFormat::Tiff => {
                still::rotate(source, format, turn, limits)
            }
            _ => Err(ImagingError::Unsupported),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_quarter_turns_and_real_flips_are_rotations() {
        for degrees in [90, 180, 270] {
            assert!(Rotation::new(degrees, Flip::None).is_some());
        }
        for degrees in [1, 45, 360, 450, u16::MAX] {
            assert_eq!(Rotation::new(degrees, Flip::Horizontal), None, "{degrees}");
        }
        assert_eq!(Rotation::new(0, Flip::None), None, "nothing to do");
        assert!(Rotation::new(0, Flip::Vertical).is_some());
    }

    #[test]
    fn flips_come_after_the_rotation() {
        let turn = |d, f| Rotation::new(d, f).map(Rotation::turn);
        assert_eq!(turn(90, Flip::None), Some(Turn::new(1, false)));
        assert_eq!(turn(0, Flip::Horizontal), Some(Turn::new(0, true)));
        assert_eq!(
            turn(0, Flip::Vertical),
            Some(Turn::new(2, true)),
            "a vertical mirror is a half turn and a horizontal one"
        );
        assert_eq!(
            turn(90, Flip::Vertical),
            Some(Turn::new(3, true)),
            "turned clockwise, then top and bottom swapped: the anti-diagonal mirror"
        );
        assert_eq!(turn(270, Flip::Horizontal), Some(Turn::new(3, true)));
    }

    #[test]
    fn avif_and_unknown_bytes_are_unsupported() {
        let limits = Limits::default();
        let r = Rotation::new(90, Flip::None).expect("rotation");
        assert_eq!(
            rotate(b"not an image", r, &limits).map(|_| ()),
            Err(ImagingError::Unsupported)
        );
        let avif = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/corpus/formats/avif_photo_olympus_2560x1600.avif"
        ))
        .expect("corpus AVIF");
        assert_eq!(
            rotate(&avif, r, &limits).map(|_| ()),
            Err(ImagingError::Unsupported)
        );
    }
}
