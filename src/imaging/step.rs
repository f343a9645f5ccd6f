//! The pixel step of each job: what [`apply`] does to one image for one [`Job`]. A new job
//! gets its arm here.

use super::job::{Job, ResizeMode, UpDown};
use super::{budget, codec, geometry, ops, ImagingError, Limits, Pipeline};
use image::RgbaImage;

/// The decoded overlay of a watermark job, `None` for other jobs.
pub(crate) fn watermark(
    job: &Job,
    pipeline: &Pipeline,
    limits: &Limits,
) -> Result<Option<RgbaImage>, ImagingError> {
    let Job::Watermark { image_path, .. } = job else {
        return Ok(None);
    };
    let bytes = pipeline.watermarks.get(image_path).ok_or_else(|| {
        ImagingError::InvalidParameter(format!("watermark {image_path} not given"))
    })?;
    Ok(Some(codec::decode(bytes, limits, None)?.image))
}

/// The size a resize job gives an image of `dims`, `None` when its up/down rule leaves the
/// image as it is; an output side over the limit is an error.
pub(crate) fn resize_target(
    dims: (u32, u32),
    (mode, width, height, up_down): (ResizeMode, u32, u32, UpDown),
    limits: &Limits,
) -> Result<Option<(u32, u32)>, ImagingError> {
    let target = geometry::resize_dims(dims.0, dims.1, mode, width, height, up_down);
    if let Some((w, h)) = target {
        budget::canvas(u64::from(w), u64::from(h), limits)?;
    }
    Ok(target)
}

/// Applies one job to one image; `mark` is the job's decoded watermark ([`watermark`]).
pub(crate) fn apply(
    mut img: RgbaImage,
    job: &Job,
    mark: Option<&RgbaImage>,
    limits: &Limits,
) -> Result<Vec<RgbaImage>, ImagingError> {
    let out = match job {
        Job::Resize { .. } => {
            let fit = job
                .fit()
                .ok_or_else(|| ImagingError::InvalidParameter("resize without a fit".into()))?;
            match resize_target(img.dimensions(), fit, limits)? {
                None => vec![img],
                Some((w, h)) => vec![ops::resize(&img, w, h)?],
            }
        }
        Job::Gray { .. } => {
            ops::gray(&mut img);
            vec![img]
        }
        Job::Rectangle {
            gravity,
            offset_x,
            offset_y,
            width,
            height,
            ..
        } => {
            let (x, y) = geometry::place(
                img.width(),
                img.height(),
                *width,
                *height,
                *gravity,
                *offset_x,
                *offset_y,
            );
            if let Some((_, _, w, h)) =
                geometry::clip(x, y, *width, *height, img.width(), img.height())
            {
                budget::canvas(u64::from(w), u64::from(h), limits)?;
            }
            vec![ops::rectangle(
                &img, *gravity, *offset_x, *offset_y, *width, *height,
            )?]
        }
        Job::Circle {
            gravity,
            offset_x,
            offset_y,
            radius,
        } => {
            budget::circle(*radius, limits)?;
            vec![ops::circle(&img, *gravity, *offset_x, *offset_y, *radius)?]
        }
        Job::Slice { vertical, size, .. } => {
            let (w, h) = img.dimensions();
            // A size of 0 leaves the image whole along the slicing direction: one piece.
            let size = match (*size, *vertical) {
                (0, true) => h,
                (0, false) => w,
                (size, _) => size,
            };
            budget::slice(img.dimensions(), *vertical, size, limits)?;
            ops::slice(&img, *vertical, size)?
        }
        Job::Grid { count_x, count_y } => {
            budget::grid(img.dimensions(), *count_x, *count_y, limits)?;
            ops::grid(&img, *count_x, *count_y)?
        }
        Job::Watermark {
            gravity,
            offset_x,
            offset_y,
            image_path,
        } => {
            let mark = mark.ok_or_else(|| {
                ImagingError::InvalidParameter(format!("watermark {image_path} not given"))
            })?;
            ops::watermark(&mut img, mark, *gravity, *offset_x, *offset_y);
            vec![img]
        }
    };
    Ok(out)
}
