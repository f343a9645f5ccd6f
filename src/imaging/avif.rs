//! AVIF sources through libavif with the dav1d AV1 decoder (both built from bundled source).
//!
//! This is the crate's one module with `unsafe` code: it calls libavif's C API directly, because
//! the decoder's own size limit (`imageSizeLimit`, which libavif also hands to dav1d as its
//! frame size limit) can only be set there. With it set from [`Limits::max_pixels`], an AV1
//! stream whose frame is larger than its `ispe` box claims is refused by the decoder before it
//! allocates the frame, rather than decoded first and refused after.
//!
//! Only the pixels are read: the EXIF and ICC items and the `irot`/`imir` transforms are not
//! applied or carried, and the YUV to RGB conversion keeps the source's colour primaries and
//! transfer (right for sRGB, the usual case). Of an image sequence (`avis`) only the first frame
//! is decoded. Higher bit depths are reduced to 8 bits a channel; an alpha plane is kept,
//! unpremultiplied.

#![allow(unsafe_code)]

use super::{ImagingError, Limits};
use image::RgbaImage;
use libavif_sys as sys;
use std::ffi::CStr;
use std::ptr::NonNull;

/// Whether the bytes start an AVIF file (an `ftyp` box with an AVIF brand), however the
/// brands are ordered.
pub fn sniff(bytes: &[u8]) -> bool {
    let data = sys::avifROData {
        data: bytes.as_ptr(),
        size: bytes.len(),
    };
    // SAFETY: `data` points at `bytes`, which outlives the call; libavif only reads `size`
    // bytes from it and keeps no reference.
    unsafe { sys::avifPeekCompatibleFileType(&data) != 0 }
}

/// Decodes the primary image to RGBA. The caller checks the pixel limit on the header's
/// `ispe` size first; libavif and dav1d are given the same limit for the sizes they read
/// themselves, and the decoded size is checked again before the RGB buffer is allocated.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<RgbaImage, ImagingError> {
    let decoder = Decoder::new(limits)?;
    let image = Image::new()?;
    // SAFETY: both pointers come from libavif's constructors and are live (owned by the guards
    // above); `bytes` outlives the call and libavif keeps no reference to it once it returns.
    let result = unsafe {
        sys::avifDecoderReadMemory(
            decoder.0.as_ptr(),
            image.0.as_ptr(),
            bytes.as_ptr(),
            bytes.len(),
        )
    };
    check(result)?;
    drop(decoder);

    // SAFETY: `image` is live and was filled by a successful read.
    let (w, h) = unsafe { ((*image.0.as_ptr()).width, (*image.0.as_ptr()).height) };
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
    let row_bytes = w
        .checked_mul(4)
        .ok_or_else(|| ImagingError::Corrupt("AVIF: row too long".into()))?;
    let len = usize::try_from(pixels * 4)
        .map_err(|_| ImagingError::Corrupt("AVIF: image too large".into()))?;
    let mut out = vec![0u8; len];

    let mut rgb = sys::avifRGBImage::default();
    // SAFETY: `rgb` is a valid (zeroed) struct and `image` is live; this only fills fields.
    unsafe { sys::avifRGBImageSetDefaults(&mut rgb, image.0.as_ptr()) };
    rgb.format = sys::AVIF_RGB_FORMAT_RGBA;
    rgb.depth = 8;
    rgb.maxThreads = 1;
    rgb.pixels = out.as_mut_ptr();
    rgb.rowBytes = row_bytes;
    // SAFETY: `rgb` describes `out` exactly (w x h RGBA, 8 bits, `row_bytes` a row), which
    // stays alive and unmoved for the call; libavif writes only inside it.
    check(unsafe { sys::avifImageYUVToRGB(image.0.as_ptr(), &mut rgb) })?;
    RgbaImage::from_raw(w, h, out)
        .ok_or_else(|| ImagingError::Corrupt("AVIF: decoded size mismatch".into()))
}

/// A libavif decoder, destroyed on drop.
struct Decoder(NonNull<sys::avifDecoder>);

impl Decoder {
    /// A decoder that refuses, while parsing and inside dav1d, any image over `max_pixels`
    /// (libavif cannot raise its limit above its own default of 16384 x 16384) and any
    /// sequence of more than `max_frames` images.
    fn new(limits: &Limits) -> Result<Self, ImagingError> {
        // SAFETY: a plain constructor; a null result is handled below.
        let raw = unsafe { sys::avifDecoderCreate() };
        let decoder = NonNull::new(raw)
            .map(Self)
            .ok_or_else(|| ImagingError::Corrupt("AVIF: decoder could not be created".into()))?;
        let size_limit = u32::try_from(limits.max_pixels)
            .unwrap_or(u32::MAX)
            .clamp(1, sys::AVIF_DEFAULT_IMAGE_SIZE_LIMIT);
        // SAFETY: the decoder is live and not shared; these are plain fields libavif reads when
        // decoding starts.
        unsafe {
            let d = &mut *decoder.0.as_ptr();
            d.imageSizeLimit = size_limit;
            d.imageCountLimit = limits.max_frames.max(1);
            d.maxThreads = 1;
            d.ignoreExif = 1;
            d.ignoreXMP = 1;
        }
        Ok(decoder)
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: the pointer came from avifDecoderCreate and is destroyed only here.
        unsafe { sys::avifDecoderDestroy(self.0.as_ptr()) }
    }
}

/// A libavif image, destroyed (with its planes) on drop.
struct Image(NonNull<sys::avifImage>);

impl Image {
    fn new() -> Result<Self, ImagingError> {
        // SAFETY: a plain constructor; a null result is handled below.
        let raw = unsafe { sys::avifImageCreateEmpty() };
        NonNull::new(raw)
            .map(Self)
            .ok_or_else(|| ImagingError::Corrupt("AVIF: image could not be created".into()))
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        // SAFETY: the pointer came from avifImageCreateEmpty and is destroyed only here.
        unsafe { sys::avifImageDestroy(self.0.as_ptr()) }
    }
}

/// A libavif result as an error, with libavif's own wording.
fn check(result: sys::avifResult) -> Result<(), ImagingError> {
    if result == sys::AVIF_RESULT_OK {
        return Ok(());
    }
    // SAFETY: avifResultToString returns a pointer to a static, NUL-terminated string for
    // every value (an "unknown" string for values it does not know).
    let text = unsafe { CStr::from_ptr(sys::avifResultToString(result)) };
    Err(ImagingError::Corrupt(format!(
        "AVIF: {}",
        text.to_string_lossy()
    )))
}
