//! The fast path of the commonest render, a JPEG thumbnail of a JPEG photo: decode to three
//! channels at a DCT scale, resize without alpha bookkeeping, encode without a flatten pass.
//! Taken when the source is a YCbCr or grayscale JPEG, every job is a resize or gray, and the
//! output is JPEG; anything else goes through the general RGBA pipeline.

use super::job::{Job, TargetFormat};
use super::{codec, jpeg, ops, ImagingError, Limits, Output, Pipeline};
use bytes::Bytes;
use image::{DynamicImage, ImageFormat, RgbImage};

/// Whether the pipeline's jobs and output allow the fast path for a source of `format`.
pub fn eligible(format: ImageFormat, pipeline: &Pipeline) -> bool {
    format == ImageFormat::Jpeg
        && matches!(pipeline.target, None | Some(TargetFormat::Jpeg))
        && pipeline
            .jobs
            .iter()
            .all(|j| matches!(j, Job::Resize { .. } | Job::Gray { .. }))
}

/// Runs the pipeline on the fast path. `None` when the JPEG turns out to need the general one
/// (CMYK colours).
pub fn run(
    source: &[u8],
    pipeline: &Pipeline,
    limits: &Limits,
    min_size: Option<(u32, u32)>,
) -> Option<Result<Output, ImagingError>> {
    let (w, h) = match jpeg::dimensions(source) {
        Ok(d) => d,
        Err(e) => return Some(Err(e)),
    };
    if let Err(e) = super::budget::source(u64::from(w), u64::from(h), limits) {
        return Some(Err(e));
    }
    let factor = match min_size {
        Some((mw, mh)) => jpeg::shrink_factor(w, h, mw, mh),
        None => turbojpeg::ScalingFactor::ONE,
    };
    let reduced = match (factor.num(), factor.denom()) {
        (1, denom @ (4 | 8)) => super::reduced::decode(source, denom, limits.max_pixels),
        _ => None,
    };
    let img = match reduced.map_or_else(
        || jpeg::decode_rgb(source, factor, limits),
        |img| Ok(Some(img)),
    ) {
        Ok(Some(img)) => img,
        Ok(None) => return None,
        Err(e) => return Some(Err(e)),
    };
    Some(finish(source, img, pipeline, limits))
}

fn finish(
    source: &[u8],
    img: RgbImage,
    pipeline: &Pipeline,
    limits: &Limits,
) -> Result<Output, ImagingError> {
    let mut img = img;
    if pipeline.auto_orient {
        let orientation = codec::orientation_of(source);
        if orientation != image::metadata::Orientation::NoTransforms {
            let mut dynamic = DynamicImage::ImageRgb8(img);
            dynamic.apply_orientation(orientation);
            img = dynamic.into_rgb8();
        }
    }
    for job in &pipeline.jobs {
        if let Some(fit) = job.fit() {
            if let Some((w, h)) = super::step::resize_target(img.dimensions(), fit, limits)? {
                img = ops::resize(&img, w, h)?;
            }
        } else if matches!(job, Job::Gray { .. }) {
            ops::gray(&mut img);
        } else {
            return Err(ImagingError::InvalidParameter(
                "job outside the fast path".into(),
            ));
        }
    }
    let mut exif = if pipeline.keep_exif {
        jpeg::exif(source)
    } else {
        None
    };
    if pipeline.auto_orient {
        if let Some(tiff) = exif.as_mut() {
            jpeg::reset_orientation(tiff);
        }
    }
    let icc = jpeg::icc(source, limits);
    let (w, h) = img.dimensions();
    let bytes = jpeg::encode(
        img.as_raw(),
        w,
        h,
        pipeline.quality,
        exif.as_deref(),
        icc.as_deref(),
    )?;
    Ok(Output {
        bytes: Bytes::from(bytes),
        width: w,
        height: h,
        format: TargetFormat::Jpeg,
    })
}
