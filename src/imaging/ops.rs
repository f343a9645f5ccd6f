//! The pixel operations of the templates, on RGBA images.

use super::geometry::{clip, place};
use super::job::Gravity;
use super::ImagingError;
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{imageops, ImageBuffer, Pixel, Rgba, RgbaImage};

/// Resizes with a Lanczos3 convolution: RGBA on premultiplied alpha, RGB as it is.
pub fn resize<P>(
    src: &ImageBuffer<P, Vec<u8>>,
    w: u32,
    h: u32,
) -> Result<ImageBuffer<P, Vec<u8>>, ImagingError>
where
    P: Pixel<Subpixel = u8>,
{
    if (w, h) == src.dimensions() {
        return Ok(src.clone());
    }
    let (pixel_type, alpha) = match P::CHANNEL_COUNT {
        3 => (PixelType::U8x3, false),
        4 => (PixelType::U8x4, true),
        n => {
            return Err(ImagingError::InvalidParameter(format!(
                "cannot resize {n}-channel pixels"
            )))
        }
    };
    let view = ImageRef::new(src.width(), src.height(), src.as_raw(), pixel_type)
        .map_err(|e| ImagingError::InvalidParameter(e.to_string()))?;
    let mut dst = Image::new(w, h, pixel_type);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .use_alpha(alpha);
    Resizer::new()
        .resize(&view, &mut dst, &options)
        .map_err(|e| ImagingError::InvalidParameter(e.to_string()))?;
    ImageBuffer::from_raw(w, h, dst.into_vec())
        .ok_or_else(|| ImagingError::InvalidParameter("resize buffer size".into()))
}

/// Gray scale (Rec. 601 luma): every pixel gets R = G = B; alpha is kept.
pub fn gray<P>(img: &mut ImageBuffer<P, Vec<u8>>)
where
    P: Pixel<Subpixel = u8>,
{
    let step = usize::from(P::CHANNEL_COUNT);
    if step < 3 {
        return;
    }
    for px in img.chunks_exact_mut(step) {
        let (r, g, b) = (u32::from(px[0]), u32::from(px[1]), u32::from(px[2]));
        let y = ((299 * r + 587 * g + 114 * b + 500) / 1000).min(255) as u8;
        px[..3].fill(y);
    }
}

/// Crops a `w` x `h` rectangle placed by gravity and offsets, clipped to the image.
pub fn rectangle(
    img: &RgbaImage,
    gravity: Gravity,
    dx: i32,
    dy: i32,
    w: u32,
    h: u32,
) -> Result<RgbaImage, ImagingError> {
    let (x, y) = place(img.width(), img.height(), w, h, gravity, dx, dy);
    let (x, y, w, h) = clip(x, y, w, h, img.width(), img.height())
        .ok_or_else(|| ImagingError::InvalidParameter("the crop lies outside the image".into()))?;
    Ok(imageops::crop_imm(img, x, y, w, h).to_image())
}

/// Crops a circle of radius `r` placed by gravity and offsets: a 2r x 2r image, transparent
/// outside the circle and where the circle leaves the image.
pub fn circle(
    img: &RgbaImage,
    gravity: Gravity,
    dx: i32,
    dy: i32,
    r: u32,
) -> Result<RgbaImage, ImagingError> {
    let d = r
        .checked_mul(2)
        .filter(|d| *d > 0)
        .ok_or_else(|| ImagingError::InvalidParameter("the radius must be positive".into()))?;
    let (x, y) = place(img.width(), img.height(), d, d, gravity, dx, dy);
    clip(x, y, d, d, img.width(), img.height()).ok_or_else(|| {
        ImagingError::InvalidParameter("the circle lies outside the image".into())
    })?;
    let mut out = RgbaImage::from_pixel(d, d, Rgba([0, 0, 0, 0]));
    let rf = f64::from(r);
    for oy in 0..d {
        for ox in 0..d {
            let (cx, cy) = (f64::from(ox) + 0.5 - rf, f64::from(oy) + 0.5 - rf);
            if cx * cx + cy * cy > rf * rf {
                continue;
            }
            let (sx, sy) = (x + i64::from(ox), y + i64::from(oy));
            if sx >= 0 && sy >= 0 && sx < i64::from(img.width()) && sy < i64::from(img.height()) {
                out.put_pixel(ox, oy, *img.get_pixel(sx as u32, sy as u32));
            }
        }
    }
    Ok(out)
}

/// Cuts the image into pieces `size` tall (vertical) or wide (horizontal); the last piece
/// takes the rest.
pub fn slice(img: &RgbaImage, vertical: bool, size: u32) -> Result<Vec<RgbaImage>, ImagingError> {
    if size == 0 {
        return Err(ImagingError::InvalidParameter(
            "sliceSize must be positive".into(),
        ));
    }
    let (w, h) = img.dimensions();
    let total = if vertical { h } else { w };
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < total {
        let len = size.min(total - start);
        let piece = if vertical {
            imageops::crop_imm(img, 0, start, w, len)
        } else {
            imageops::crop_imm(img, start, 0, len, h)
        };
        pieces.push(piece.to_image());
        start += len;
    }
    Ok(pieces)
}

/// Cuts the image into a grid of pieces of ceil(size / count), in reading order.
pub fn grid(img: &RgbaImage, count_x: u32, count_y: u32) -> Result<Vec<RgbaImage>, ImagingError> {
    if count_x == 0 || count_y == 0 {
        return Err(ImagingError::InvalidParameter(
            "countX and countY must be positive".into(),
        ));
    }
    let (w, h) = img.dimensions();
    let pw = w.div_ceil(count_x).max(1);
    let ph = h.div_ceil(count_y).max(1);
    let mut pieces = Vec::new();
    let mut y = 0;
    while y < h {
        let mut x = 0;
        while x < w {
            let piece = imageops::crop_imm(img, x, y, pw.min(w - x), ph.min(h - y));
            pieces.push(piece.to_image());
            x += pw;
        }
        y += ph;
    }
    Ok(pieces)
}

/// Composites `mark` over `img` at the gravity position, with alpha.
pub fn watermark(img: &mut RgbaImage, mark: &RgbaImage, gravity: Gravity, dx: i32, dy: i32) {
    let (x, y) = place(
        img.width(),
        img.height(),
        mark.width(),
        mark.height(),
        gravity,
        dx,
        dy,
    );
    imageops::overlay(img, mark, x, y);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quadrants() -> RgbaImage {
        RgbaImage::from_fn(100, 80, |x, y| match (x < 50, y < 40) {
            (true, true) => Rgba([255, 0, 0, 255]),
            (false, true) => Rgba([0, 255, 0, 255]),
            (true, false) => Rgba([0, 0, 255, 255]),
            (false, false) => Rgba([255, 255, 0, 255]),
        })
    }

    #[test]
    fn crops_by_gravity_and_clip() {
        let img = quadrants();
        let ne = rectangle(&img, Gravity::NorthEast, 0, 0, 20, 20).expect("crop");
        assert_eq!(ne.dimensions(), (20, 20));
        assert_eq!(ne.get_pixel(10, 10).0, [0, 255, 0, 255]);
        let sw = rectangle(&img, Gravity::SouthWest, 5, 5, 20, 20).expect("crop");
        assert_eq!(sw.get_pixel(0, 19).0, [0, 0, 255, 255]);
        let clipped = rectangle(&img, Gravity::NorthWest, -10, -10, 20, 20).expect("crop");
        assert_eq!(clipped.dimensions(), (10, 10));
        assert!(rectangle(&img, Gravity::NorthWest, 200, 0, 20, 20).is_err());
    }

    #[test]
    fn circle_is_transparent_in_the_corners() {
        let c = circle(&quadrants(), Gravity::Center, 0, 0, 20).expect("circle");
        assert_eq!(c.dimensions(), (40, 40));
        assert_eq!(c.get_pixel(0, 0).0[3], 0);
        assert_eq!(c.get_pixel(39, 39).0[3], 0);
        assert_eq!(c.get_pixel(20, 20).0[3], 255);
    }

    #[test]
    fn slices_and_grids() {
        let img = quadrants();
        let v = slice(&img, true, 30).expect("slice");
        assert_eq!(
            v.iter().map(|p| p.dimensions()).collect::<Vec<_>>(),
            [(100, 30), (100, 30), (100, 20)]
        );
        let g = grid(&img, 3, 3).expect("grid");
        assert_eq!(g.len(), 9);
        assert_eq!(g[0].dimensions(), (34, 27));
        assert_eq!(g[8].dimensions(), (32, 26));
        let few = grid(&RgbaImage::new(10, 10), 4, 1).expect("grid");
        assert_eq!(few.len(), 4, "ceil(10/4) = 3 gives 4 pieces");
        let fewer = grid(&RgbaImage::new(10, 10), 6, 1).expect("grid");
        assert_eq!(fewer.len(), 5, "ceil(10/6) = 2 gives only 5 pieces");
    }

    #[test]
    fn horizontal_slices_keep_the_height_and_the_last_takes_the_rest() {
        let img = RgbaImage::from_fn(100, 80, |x, y| {
            Rgba([x as u8, y as u8, (x * 7 + y * 13) as u8, 255])
        });
        let pieces = slice(&img, false, 30).expect("slice");
        assert_eq!(
            pieces.iter().map(|p| p.width()).collect::<Vec<_>>(),
            [30, 30, 30, 10]
        );
        assert!(pieces.iter().all(|p| p.height() == 80), "full height");
        let last = pieces.last().expect("a last piece");
        for y in 0..80 {
            for x in 0..10 {
                assert_eq!(
                    last.get_pixel(x, y),
                    img.get_pixel(90 + x, y),
                    "last piece ({x}, {y}) is source column {}",
                    90 + x
                );
            }
        }
    }

    #[test]
    fn gray_and_watermark() {
        let mut img = quadrants();
        gray(&mut img);
        assert!(img.pixels().all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2]));
        let mut base = RgbaImage::from_pixel(50, 50, Rgba([0, 0, 0, 255]));
        let mark = RgbaImage::from_pixel(10, 10, Rgba([255, 255, 255, 255]));
        watermark(&mut base, &mark, Gravity::SouthEast, 5, 5);
        assert_eq!(base.get_pixel(40, 40).0, [255, 255, 255, 255]);
        assert_eq!(base.get_pixel(46, 46).0, [0, 0, 0, 255]);
        assert_eq!(base.get_pixel(34, 34).0, [0, 0, 0, 255]);
    }
}
