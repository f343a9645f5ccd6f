//! Size and position arithmetic: resize fits and gravity placement.

use super::job::{Gravity, ResizeMode, UpDown};

/// The output size of a resize of a `w` x `h` source, or `None` when the up/down rule says
/// to leave the image as it is.
pub fn resize_dims(
    w: u32,
    h: u32,
    mode: ResizeMode,
    box_w: u32,
    box_h: u32,
    up_down: UpDown,
) -> Option<(u32, u32)> {
    let (w64, h64) = (f64::from(w), f64::from(h));
    let scaled = |scale: f64| {
        (
            ((w64 * scale).round() as u32).max(1),
            ((h64 * scale).round() as u32).max(1),
        )
    };
    let landscape = w >= h;
    let (nw, nh) = match mode {
        ResizeMode::Fix => (box_w.max(1), box_h.max(1)),
        ResizeMode::WidthFit => scaled(f64::from(box_w) / w64),
        ResizeMode::HeightFit => scaled(f64::from(box_h) / h64),
        ResizeMode::MaxFit if landscape => scaled(f64::from(box_w) / w64),
        ResizeMode::MaxFit => scaled(f64::from(box_h) / h64),
        ResizeMode::MinFit if landscape => scaled(f64::from(box_h) / h64),
        ResizeMode::MinFit => scaled(f64::from(box_w) / w64),
    };
    let enlarges = nw > w || nh > h;
    let shrinks = nw < w || nh < h;
    match up_down {
        UpDown::DownOnly if enlarges => None,
        UpDown::UpOnly if shrinks => None,
        _ => Some((nw, nh)),
    }
}

/// The top-left corner of a `w` x `h` box placed in a `canvas_w` x `canvas_h` canvas by
/// gravity and offsets, ImageMagick style: from an edge a positive offset moves inward, on a
/// centred axis it moves right or down.
pub fn place(
    canvas_w: u32,
    canvas_h: u32,
    w: u32,
    h: u32,
    gravity: Gravity,
    dx: i32,
    dy: i32,
) -> (i64, i64) {
    let (cw, ch, w, h) = (
        i64::from(canvas_w),
        i64::from(canvas_h),
        i64::from(w),
        i64::from(h),
    );
    let (dx, dy) = (i64::from(dx), i64::from(dy));
    let x = match gravity {
        Gravity::NorthWest | Gravity::West | Gravity::SouthWest => dx,
        Gravity::North | Gravity::Center | Gravity::South => (cw - w) / 2 + dx,
        Gravity::NorthEast | Gravity::East | Gravity::SouthEast => cw - w - dx,
    };
    let y = match gravity {
        Gravity::NorthWest | Gravity::North | Gravity::NorthEast => dy,
        Gravity::West | Gravity::Center | Gravity::East => (ch - h) / 2 + dy,
        Gravity::SouthWest | Gravity::South | Gravity::SouthEast => ch - h - dy,
    };
    (x, y)
}

/// The part of the box at (`x`, `y`) of size `w` x `h` inside a `cw` x `ch` canvas, as
/// (x, y, w, h), or `None` when they do not overlap.
pub fn clip(x: i64, y: i64, w: u32, h: u32, cw: u32, ch: u32) -> Option<(u32, u32, u32, u32)> {
    let x0 = x.max(0);
    let y0 = y.max(0);
    let x1 = (x + i64::from(w)).min(i64::from(cw));
    let y1 = (y + i64::from(h)).min(i64::from(ch));
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    Some((x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_of_the_console_guide() {
        let cases = [
            (ResizeMode::MaxFit, (200, 150)),
            (ResizeMode::MinFit, (133, 100)),
            (ResizeMode::Fix, (200, 100)),
            (ResizeMode::WidthFit, (200, 150)),
            (ResizeMode::HeightFit, (133, 100)),
        ];
        for (mode, want) in cases {
            assert_eq!(
                resize_dims(400, 300, mode, 200, 100, UpDown::DownOnly),
                Some(want),
                "{mode:?}"
            );
        }
        assert_eq!(
            resize_dims(300, 400, ResizeMode::MaxFit, 100, 100, UpDown::DownOnly),
            Some((75, 100)),
            "portrait fits its height"
        );
        assert_eq!(
            resize_dims(100, 50, ResizeMode::MaxFit, 200, 200, UpDown::DownOnly),
            None
        );
        assert_eq!(
            resize_dims(100, 50, ResizeMode::MaxFit, 200, 200, UpDown::UpDownAll),
            Some((200, 100))
        );
        assert_eq!(
            resize_dims(400, 300, ResizeMode::MaxFit, 200, 200, UpDown::UpOnly),
            None
        );
        assert_eq!(
            resize_dims(8000, 50, ResizeMode::MaxFit, 100, 100, UpDown::DownOnly),
            Some((100, 1)),
            "never a 0-pixel side"
        );
    }

    #[test]
    fn gravity_follows_imagemagick() {
        assert_eq!(place(100, 80, 10, 10, Gravity::NorthWest, 5, 5), (5, 5));
        assert_eq!(place(100, 80, 10, 10, Gravity::SouthEast, 5, 5), (85, 65));
        assert_eq!(place(100, 80, 10, 10, Gravity::Center, 5, -5), (50, 30));
        assert_eq!(place(100, 80, 10, 10, Gravity::East, 0, 0), (90, 35));
        assert_eq!(clip(-5, -5, 10, 10, 100, 80), Some((0, 0, 5, 5)));
        assert_eq!(clip(100, 0, 10, 10, 100, 80), None);
    }
}
