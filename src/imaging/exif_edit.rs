//! EXIF blocks (the TIFF data after `Exif\0\0`) edited in place: values are overwritten where
//! they stand, so the block keeps its length and every offset in it stays valid. A block that
//! is cut short or malformed is left as it is wherever the edit would reach outside it.

/// The EXIF tag of the orientation, in IFD0.
const ORIENTATION: u16 = 0x0112;
/// IFD0 tags of the image's width and height.
const IMAGE_WIDTH: u16 = 0x0100;
const IMAGE_HEIGHT: u16 = 0x0101;
/// IFD0 tag pointing at the Exif sub-IFD.
const EXIF_IFD: u16 = 0x8769;
/// Exif sub-IFD tags of the valid image width and height.
const PIXEL_X: u16 = 0xA002;
const PIXEL_Y: u16 = 0xA003;

/// A TIFF block with its byte order.
struct Tiff<'a> {
    data: &'a mut [u8],
    big_endian: bool,
}

impl<'a> Tiff<'a> {
    fn new(data: &'a mut [u8]) -> Option<Self> {
        let big_endian = match data.get(..2)? {
            b"MM" => true,
            b"II" => false,
            _ => return None,
        };
        Some(Self { data, big_endian })
    }

    fn u16_at(&self, at: usize) -> Option<u16> {
        let s = self.data.get(at..at.checked_add(2)?)?;
        let b = [s[0], s[1]];
        Some(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let s = self.data.get(at..at.checked_add(4)?)?;
        let b = [s[0], s[1], s[2], s[3]];
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// Where IFD0 starts.
    fn ifd0(&self) -> Option<usize> {
        usize::try_from(self.u32_at(4)?).ok()
    }

    /// The offset of the entry for `tag` in the IFD at `ifd`.
    fn entry(&self, ifd: usize, tag: u16) -> Option<usize> {
        let count = usize::from(self.u16_at(ifd)?);
        (0..count)
            .map(|i| ifd + 2 + i * 12)
            .find(|&entry| self.u16_at(entry) == Some(tag))
    }

    /// Swaps the values of two single-valued entries of the same type in the IFD at `ifd`
    /// (a value of four bytes or less is stored in the entry itself).
    fn swap_values(&mut self, ifd: usize, a: u16, b: u16) {
        let (Some(ea), Some(eb)) = (self.entry(ifd, a), self.entry(ifd, b)) else {
            return;
        };
        let same_kind = self.u16_at(ea + 2) == self.u16_at(eb + 2)
            && self.u32_at(ea + 4) == Some(1)
            && self.u32_at(eb + 4) == Some(1);
        if !same_kind || self.data.len() < ea.max(eb) + 12 {
            return;
        }
        for i in 8..12 {
            self.data.swap(ea + i, eb + i);
        }
    }
}

/// Rewrites the EXIF Orientation tag of a TIFF block to 1 (top-left), in place.
pub fn reset_orientation(tiff: &mut [u8]) {
    let Some(t) = Tiff::new(tiff) else {
        return;
    };
    let Some(entry) = t.ifd0().and_then(|ifd| t.entry(ifd, ORIENTATION)) else {
        return;
    };
    let value = if t.big_endian { [0, 1] } else { [1, 0] };
    if let Some(slot) = t.data.get_mut(entry + 8..entry + 10) {
        slot.copy_from_slice(&value);
    }
}

/// Makes the EXIF block of an image that was just turned upright tell the truth: Orientation
/// 1; the embedded thumbnail (IFD1) unlinked, since it still shows the old orientation (its
/// bytes stay, unreferenced); and, when the turn swapped width and height (`swapped`), the
/// width and height tags of IFD0 and the Exif sub-IFD swapped too.
pub fn upright(tiff: &mut [u8], swapped: bool) {
    reset_orientation(tiff);
    let Some(mut t) = Tiff::new(tiff) else {
        return;
    };
    let Some(ifd0) = t.ifd0() else {
        return;
    };
    if let Some(count) = t.u16_at(ifd0) {
        let next = ifd0 + 2 + usize::from(count) * 12;
        if let Some(link) = t.data.get_mut(next..next + 4) {
            link.fill(0);
        }
    }
    if !swapped {
        return;
    }
    t.swap_values(ifd0, IMAGE_WIDTH, IMAGE_HEIGHT);
    let exif_ifd = t
        .entry(ifd0, EXIF_IFD)
        .and_then(|entry| t.u32_at(entry + 8))
        .and_then(|offset| usize::try_from(offset).ok());
    if let Some(exif_ifd) = exif_ifd {
        t.swap_values(exif_ifd, PIXEL_X, PIXEL_Y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian TIFF block: IFD0 with Orientation 6, width 40 and height 30 (SHORT),
    /// a pointer to an Exif sub-IFD with PixelX 40 and PixelY 30 (LONG), and a link to IFD1.
    fn block() -> Vec<u8> {
        let mut t = b"II*\0\x08\0\0\0".to_vec();
        let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, value: u32| {
            t.extend_from_slice(&tag.to_le_bytes());
            t.extend_from_slice(&kind.to_le_bytes());
            t.extend_from_slice(&1u32.to_le_bytes());
            t.extend_from_slice(&value.to_le_bytes());
        };
        // IFD0 at 8: 4 entries (2 + 48 bytes), next-IFD link at 58, Exif IFD at 62.
        t.extend_from_slice(&4u16.to_le_bytes());
        entry(&mut t, IMAGE_WIDTH, 3, 40);
        entry(&mut t, IMAGE_HEIGHT, 3, 30);
        entry(&mut t, ORIENTATION, 3, 6);
        entry(&mut t, EXIF_IFD, 4, 62);
        t.extend_from_slice(&100u32.to_le_bytes());
        t.extend_from_slice(&2u16.to_le_bytes());
        entry(&mut t, PIXEL_X, 4, 40);
        entry(&mut t, PIXEL_Y, 4, 30);
        t.extend_from_slice(&0u32.to_le_bytes());
        t
    }

    fn value(t: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([t[at], t[at + 1], t[at + 2], t[at + 3]])
    }

    #[test]
    fn upright_resets_unlinks_and_swaps_in_place() {
        let mut t = block();
        let len = t.len();
        upright(&mut t, true);
        assert_eq!(t.len(), len, "same length");
        assert_eq!(value(&t, 10 + 24 + 8), 1, "orientation 1");
        assert_eq!(value(&t, 58), 0, "thumbnail unlinked");
        assert_eq!(
            (value(&t, 10 + 8), value(&t, 22 + 8)),
            (30, 40),
            "IFD0 sides swapped"
        );
        assert_eq!(
            (value(&t, 64 + 8), value(&t, 76 + 8)),
            (30, 40),
            "Exif sides swapped"
        );

        let mut kept = block();
        upright(&mut kept, false);
        assert_eq!(value(&kept, 10 + 8), 40, "no swap without a quarter turn");
        assert_eq!(value(&kept, 64 + 8), 40);
    }

    #[test]
    fn cut_or_foreign_blocks_are_left_alone() {
        let whole = block();
        for len in 0..whole.len() {
            let mut cut = whole[..len].to_vec();
            upright(&mut cut, true);
            assert_eq!(cut.len(), len);
        }
        let mut foreign = b"XX*\0\x08\0\0\0\0\0".to_vec();
        let before = foreign.clone();
        upright(&mut foreign, true);
        assert_eq!(foreign, before);
    }
}
