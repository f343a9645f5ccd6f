//! The size arithmetic of the engine in one place: every width, height and count that comes
//! from an option or a header is checked here, in `u64` (no overflow), before the buffer it
//! sizes is allocated. Each check is O(1).

use super::{ImagingError, Limits};

/// A source of `w` x `h` pixels as its decoder's header declares it: at most
/// [`Limits::max_pixels`].
pub fn source(w: u64, h: u64, limits: &Limits) -> Result<(), ImagingError> {
    let pixels = w.saturating_mul(h);
    if pixels > limits.max_pixels {
        return Err(ImagingError::TooLarge {
            pixels,
            limit: limits.max_pixels,
        });
    }
    Ok(())
}

/// An animation of `frames` frames on a `w` x `h` canvas: frames x canvas pixels at most
/// [`Limits::max_pixels`], the budget of one still image.
pub fn animation(frames: u32, w: u64, h: u64, limits: &Limits) -> Result<(), ImagingError> {
    source(w.saturating_mul(h), u64::from(frames), limits)
}

/// An image of `w` x `h` the engine is about to create: each side at most
/// [`Limits::max_output_side`] and at most [`Limits::max_pixels`] in all.
pub fn canvas(w: u64, h: u64, limits: &Limits) -> Result<(), ImagingError> {
    let side = u64::from(limits.max_output_side);
    if w > side || h > side || w.saturating_mul(h) > limits.max_pixels {
        return Err(ImagingError::OutputTooLarge {
            width: w,
            height: h,
            max_side: limits.max_output_side,
            max_pixels: limits.max_pixels,
        });
    }
    Ok(())
}

/// The diameter of a circle crop of radius `r`, once its square canvas passes [`canvas`].
pub fn circle(r: u32, limits: &Limits) -> Result<u32, ImagingError> {
    let d = u64::from(r) * 2;
    if d == 0 {
        return Err(ImagingError::InvalidParameter(
            "the radius must be positive".into(),
        ));
    }
    canvas(d, d, limits)?;
    u32::try_from(d).map_err(|_| ImagingError::InvalidParameter("radius out of range".into()))
}

/// A job that yields `pieces` images: at most [`Limits::max_pieces`].
pub fn pieces(pieces: u64, limits: &Limits) -> Result<(), ImagingError> {
    if pieces > u64::from(limits.max_pieces) {
        return Err(ImagingError::TooManyPieces {
            pieces,
            limit: limits.max_pieces,
        });
    }
    Ok(())
}

/// Slicing a `w` x `h` image into pieces `size` tall (vertical) or wide: the piece count and
/// the largest piece (the first) pass [`pieces`] and [`canvas`].
pub fn slice(
    (w, h): (u32, u32),
    vertical: bool,
    size: u32,
    limits: &Limits,
) -> Result<(), ImagingError> {
    if size == 0 {
        return Err(ImagingError::InvalidParameter(
            "sliceSize must be positive".into(),
        ));
    }
    let (along, across) = if vertical { (h, w) } else { (w, h) };
    pieces(u64::from(along.div_ceil(size)), limits)?;
    let piece = u64::from(size.min(along));
    if vertical {
        canvas(u64::from(across), piece, limits)
    } else {
        canvas(piece, u64::from(across), limits)
    }
}

/// Cutting a `w` x `h` image into a `count_x` x `count_y` grid: the piece count and the
/// largest piece pass [`pieces`] and [`canvas`].
pub fn grid(
    (w, h): (u32, u32),
    count_x: u32,
    count_y: u32,
    limits: &Limits,
) -> Result<(), ImagingError> {
    if count_x == 0 || count_y == 0 {
        return Err(ImagingError::InvalidParameter(
            "countX and countY must be positive".into(),
        ));
    }
    pieces(u64::from(count_x) * u64::from(count_y), limits)?;
    let pw = w.div_ceil(count_x).max(1);
    let ph = h.div_ceil(count_y).max(1);
    canvas(u64::from(pw.min(w)), u64::from(ph.min(h)), limits)
}

/// An ICC profile of `len` bytes is kept only up to [`Limits::max_icc_bytes`].
pub fn icc(profile: Option<Vec<u8>>, limits: &Limits) -> Option<Vec<u8>> {
    profile.filter(|p| u64::try_from(p.len()).is_ok_and(|n| n <= limits.max_icc_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked_without_overflow() {
        let limits = Limits::default();
        assert!(canvas(8192, 8192, &limits).is_ok());
        assert!(canvas(8193, 1, &limits).is_err());
        assert!(canvas(u64::MAX, u64::MAX, &limits).is_err());
        assert!(circle(u32::MAX, &limits).is_err());
        assert_eq!(circle(4096, &limits), Ok(8192));
        assert!(source(u64::MAX, 2, &limits).is_err());
        assert!(animation(u32::MAX, 100, 100, &limits).is_err());
        assert!(grid((100, 100), 100, 100, &limits).is_err());
        assert!(grid((100, 100), 10, 10, &limits).is_ok());
        assert!(slice((10, 5000), true, 1, &limits).is_err());
        assert!(slice((10, 5000), true, 5, &limits).is_ok());
        assert!(
            slice((9000, 10), true, 5, &limits).is_err(),
            "piece too wide"
        );
    }
}
