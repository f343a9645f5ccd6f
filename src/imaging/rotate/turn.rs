//! The eight ways to lay an image on its grid (the symmetries of a rectangle): a clockwise
//! quarter-turn count, then an optional horizontal mirror. Requested rotations, EXIF
//! orientations and libjpeg-turbo's lossless transforms are all one of them, so they compose
//! into the single transform applied to the stored pixels.

use image::metadata::Orientation;
use image::DynamicImage;
use turbojpeg::TransformOp;

/// Turn clockwise by `quarters` x 90 degrees, then mirror left to right when `mirror`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Turn {
    quarters: u8,
    mirror: bool,
}

impl Turn {
    /// Leaves the image as it is.
    pub const NONE: Turn = Turn::new(0, false);

    /// `quarters` clockwise quarter turns (taken modulo 4), then a mirror when `mirror`.
    pub const fn new(quarters: u8, mirror: bool) -> Self {
        Self {
            quarters: quarters % 4,
            mirror,
        }
    }

    /// What displaying an image with this EXIF orientation does to its stored pixels.
    pub fn from_orientation(orientation: Orientation) -> Self {
        match orientation {
            Orientation::NoTransforms => Self::new(0, false),
            Orientation::FlipHorizontal => Self::new(0, true),
            Orientation::Rotate180 => Self::new(2, false),
            Orientation::FlipVertical => Self::new(2, true),
            Orientation::Rotate90FlipH => Self::new(1, true),
            Orientation::Rotate90 => Self::new(1, false),
            Orientation::Rotate270FlipH => Self::new(3, true),
            Orientation::Rotate270 => Self::new(3, false),
        }
    }

    /// This turn followed by `next`, as one turn. A mirror reverses the sense of the turns
    /// after it: mirroring then turning clockwise is turning counter-clockwise then mirroring.
    pub fn then(self, next: Turn) -> Turn {
        let next_quarters = if self.mirror {
            4 - next.quarters
        } else {
            next.quarters
        };
        Turn::new(self.quarters + next_quarters, self.mirror != next.mirror)
    }

    /// Whether width and height trade places.
    pub fn swaps_axes(self) -> bool {
        self.quarters % 2 == 1
    }

    /// Whether the image stays as it is.
    pub fn is_identity(self) -> bool {
        self == Self::NONE
    }

    /// Lays out `img` this way, in its own pixel type.
    pub fn apply(self, img: DynamicImage) -> DynamicImage {
        let img = match self.quarters {
            1 => img.rotate90(),
            2 => img.rotate180(),
            3 => img.rotate270(),
            _ => img,
        };
        if self.mirror {
            img.fliph()
        } else {
            img
        }
    }

    /// libjpeg-turbo's lossless transform that does the same.
    pub fn op(self) -> TransformOp {
        match (self.quarters, self.mirror) {
            (1, false) => TransformOp::Rot90,
            (2, false) => TransformOp::Rot180,
            (3, false) => TransformOp::Rot270,
            (0, true) => TransformOp::Hflip,
            (1, true) => TransformOp::Transpose,
            (2, true) => TransformOp::Vflip,
            (3, true) => TransformOp::Transverse,
            _ => TransformOp::None,
        }
    }

    /// Whether libjpeg-turbo's lossless transform keeps every pixel of a `width` x `height`
    /// JPEG whose MCU (minimum coded unit) is `mcu_w` x `mcu_h`: a partial MCU at the right
    /// or bottom edge can only stay where it is, so the transforms that would move it to the
    /// top or left are imperfect.
    pub fn is_perfect(
        self,
        (width, height): (usize, usize),
        (mcu_w, mcu_h): (usize, usize),
    ) -> bool {
        let right_whole = mcu_w > 0 && width % mcu_w == 0;
        let bottom_whole = mcu_h > 0 && height % mcu_h == 0;
        match self.op() {
            TransformOp::Hflip | TransformOp::Rot270 => right_whole,
            TransformOp::Vflip | TransformOp::Rot90 => bottom_whole,
            TransformOp::Rot180 | TransformOp::Transverse => right_whole && bottom_whole,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    const ALL: [Orientation; 8] = [
        Orientation::NoTransforms,
        Orientation::FlipHorizontal,
        Orientation::Rotate180,
        Orientation::FlipVertical,
        Orientation::Rotate90FlipH,
        Orientation::Rotate90,
        Orientation::Rotate270FlipH,
        Orientation::Rotate270,
    ];

    /// A 3x2 image whose every pixel differs.
    fn asymmetric() -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(3, 2, |x, y| {
            Rgb([x as u8, y as u8, (x * 10 + y) as u8])
        }))
    }

    fn oriented(o: Orientation) -> DynamicImage {
        let mut img = asymmetric();
        img.apply_orientation(o);
        img
    }

    #[test]
    fn each_orientation_is_the_turn_image_applies() {
        for o in ALL {
            let turn = Turn::from_orientation(o);
            let ours = turn.apply(asymmetric());
            assert_eq!(ours.to_rgb8(), oriented(o).to_rgb8(), "{o:?}");
            assert_eq!(
                turn.swaps_axes(),
                ours.width() != asymmetric().width(),
                "{o:?}"
            );
        }
    }

    #[test]
    fn composing_turns_is_applying_them_in_order() {
        for a in ALL {
            for b in ALL {
                let (ta, tb) = (Turn::from_orientation(a), Turn::from_orientation(b));
                let one_after_other = tb.apply(ta.apply(asymmetric()));
                let composed = ta.then(tb).apply(asymmetric());
                assert_eq!(
                    composed.to_rgb8(),
                    one_after_other.to_rgb8(),
                    "{a:?} then {b:?}"
                );
            }
        }
        let quarter = Turn::new(1, false);
        assert!(quarter
            .then(quarter)
            .then(quarter)
            .then(quarter)
            .is_identity());
        let mirror = Turn::new(0, true);
        assert!(mirror.then(mirror).is_identity());
    }

    #[test]
    fn lossless_transforms_are_perfect_only_with_whole_edge_units() {
        let mcu = (16, 16);
        assert!(
            Turn::new(1, false).is_perfect((33, 32), mcu),
            "bottom whole"
        );
        assert!(!Turn::new(1, false).is_perfect((32, 33), mcu));
        assert!(Turn::new(3, false).is_perfect((32, 33), mcu), "right whole");
        assert!(!Turn::new(3, false).is_perfect((33, 32), mcu));
        assert!(!Turn::new(2, false).is_perfect((32, 33), mcu));
        assert!(Turn::new(2, false).is_perfect((32, 48), mcu));
        assert!(Turn::new(1, true).is_perfect((33, 33), mcu), "transpose");
        assert!(Turn::NONE.is_perfect((33, 33), mcu));
        assert!(!Turn::new(3, true).is_perfect((33, 32), mcu));
    }
}
