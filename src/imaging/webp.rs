//! WebP output and WebP source inspection.
//!
//! Lossy frames are encoded by libwebp (the `webp` crate) at the pipeline's quality, with the
//! alpha channel kept (compressed losslessly in an `ALPH` chunk); lossless frames by `image`'s
//! VP8L encoder. The RIFF container is assembled here, so an extended (`VP8X`) file can carry
//! the source's ICC profile (`ICCP`) and EXIF block (`EXIF`), and an animation is written as
//! full-canvas `ANMF` frames with their own durations and the source's loop count.
//!
//! [`inspect`] walks a source's chunk headers only: frame count, loop count and whether it is
//! lossy, without decoding a pixel.

use super::ImagingError;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbaImage};

/// Largest width or height a WebP bitstream can hold.
const MAX_SIDE: u32 = 16383;
/// Largest value of the 24-bit fields (frame duration).
const MAX_U24: u32 = 0xFF_FFFF;

/// `VP8X` flag: an ICC profile follows.
const FLAG_ICC: u8 = 0x20;
/// `VP8X` flag: some pixels are not opaque.
const FLAG_ALPHA: u8 = 0x10;
/// `VP8X` flag: an EXIF block follows the image data.
const FLAG_EXIF: u8 = 0x08;
/// `VP8X` flag: the file is an animation.
const FLAG_ANIMATION: u8 = 0x02;
/// `ANMF` flags: do not blend with the previous canvas, do not dispose.
const ANMF_NO_BLEND: u8 = 0x02;

/// What a WebP file's chunk headers tell, without decoding pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// Frames: the `ANMF` chunks of an animation, else 1.
    pub frames: u32,
    /// Loop count of an animation from its `ANIM` chunk; 0 plays forever.
    pub loop_count: u16,
    /// Whether any frame is a lossy (`VP8 `) bitstream rather than a lossless (`VP8L`) one.
    pub lossy: bool,
}

/// Walks the chunk headers of a WebP file; `None` when the bytes are not a WebP RIFF file.
pub fn inspect(bytes: &[u8]) -> Option<Info> {
    let body = riff_body(bytes)?;
    let mut frames = 0u32;
    let mut loop_count = 0u16;
    let mut lossy = false;
    for (id, payload) in chunks(body) {
        match &id {
            b"ANIM" => {
                if let Some(l) = payload.get(4..6) {
                    loop_count = u16::from_le_bytes([l[0], l[1]]);
                }
            }
            b"ANMF" => {
                frames = frames.saturating_add(1);
                let inner = payload.get(16..).unwrap_or_default();
                lossy |= chunks(inner).any(|(id, _)| &id == b"VP8 ");
            }
            b"VP8 " => lossy = true,
            _ => {}
        }
    }
    Some(Info {
        frames: frames.max(1),
        loop_count,
        lossy,
    })
}

/// Encodes one image as a WebP file: lossy at `quality` (1..100) when given, else lossless.
/// With an EXIF block or an ICC profile the file is an extended one that carries them.
pub fn encode(
    img: &RgbaImage,
    quality: Option<u8>,
    exif: Option<&[u8]>,
    icc: Option<&[u8]>,
) -> Result<Vec<u8>, ImagingError> {
    let file = encode_file(img, quality)?;
    if exif.is_none() && icc.is_none() {
        return Ok(file);
    }
    let image = image_chunks(&file)?;
    let mut flags = 0;
    if !super::codec::is_opaque(img) {
        flags |= FLAG_ALPHA;
    }
    let mut out = start_extended(flags, img.width(), img.height(), exif, icc)?;
    out.extend_from_slice(image);
    finish(out, exif)
}

/// An animated WebP built frame by frame. Every frame covers the whole canvas and replaces
/// it (no blending, no disposal), so composited source frames play back exactly.
#[derive(Debug)]
pub struct Animation {
    quality: Option<u8>,
    frames: Vec<u8>,
    size: Option<(u32, u32)>,
    alpha: bool,
}

impl Animation {
    /// A new animation whose frames are lossy at `quality` (1..100) when given, else lossless.
    pub fn new(quality: Option<u8>) -> Self {
        Self {
            quality,
            frames: Vec::new(),
            size: None,
            alpha: false,
        }
    }

    /// Encodes and appends a frame shown for `duration_ms`; every frame must have the size
    /// of the first.
    pub fn push(&mut self, img: &RgbaImage, duration_ms: u32) -> Result<(), ImagingError> {
        let (w, h) = img.dimensions();
        match self.size {
            None => self.size = Some((w, h)),
            Some(size) if size != (w, h) => {
                return Err(ImagingError::Encode(format!(
                    "animation frame {w}x{h} differs from the canvas {}x{}",
                    size.0, size.1
                )))
            }
            Some(_) => {}
        }
        let file = encode_file(img, self.quality)?;
        let image = image_chunks(&file)?;
        self.alpha |= !super::codec::is_opaque(img);
        let mut header = [0u8; 16];
        // X and Y offsets (bytes 0..6) stay 0: the frame covers the canvas.
        header[6..9].copy_from_slice(&u24(w - 1));
        header[9..12].copy_from_slice(&u24(h - 1));
        header[12..15].copy_from_slice(&u24(duration_ms.min(MAX_U24)));
        header[15] = ANMF_NO_BLEND;
        push_chunk_header(&mut self.frames, b"ANMF", header.len() + image.len())?;
        self.frames.extend_from_slice(&header);
        self.frames.extend_from_slice(image);
        pad(&mut self.frames, image.len());
        Ok(())
    }

    /// The animated WebP file: `loop_count` 0 plays forever; EXIF and ICC are carried when
    /// given.
    pub fn finish(
        self,
        loop_count: u16,
        exif: Option<&[u8]>,
        icc: Option<&[u8]>,
    ) -> Result<Vec<u8>, ImagingError> {
        let (w, h) = self
            .size
            .ok_or_else(|| ImagingError::Encode("an animation needs at least one frame".into()))?;
        let mut flags = FLAG_ANIMATION;
        if self.alpha {
            flags |= FLAG_ALPHA;
        }
        let mut out = start_extended(flags, w, h, exif, icc)?;
        out.reserve(self.frames.len() + exif.map_or(0, <[u8]>::len) + 16);
        let mut anim = [0u8; 6];
        // Background colour (bytes 0..4) transparent: a hint only, every frame is opaque
        // over the whole canvas or carries its own alpha.
        anim[4..6].copy_from_slice(&loop_count.to_le_bytes());
        push_chunk(&mut out, b"ANIM", &anim)?;
        out.extend_from_slice(&self.frames);
        finish(out, exif)
    }
}

/// A plain (simple-format) WebP file of one image.
fn encode_file(img: &RgbaImage, quality: Option<u8>) -> Result<Vec<u8>, ImagingError> {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(ImagingError::Encode(format!(
            "{w}x{h} does not fit WebP (1 to {MAX_SIDE} pixels a side)"
        )));
    }
    match quality {
        Some(q) => {
            let mut config = ::webp::WebPConfig::new()
                .map_err(|()| ImagingError::Encode("libwebp configuration failed".into()))?;
            config.lossless = 0;
            config.quality = f32::from(q.clamp(1, 100));
            config.alpha_compression = 1;
            config.alpha_quality = 100;
            let memory = ::webp::Encoder::from_rgba(img.as_raw(), w, h)
                .encode_advanced(&config)
                .map_err(|e| ImagingError::Encode(format!("libwebp: {e:?}")))?;
            Ok(memory.to_vec())
        }
        None => {
            let mut out = Vec::with_capacity(img.as_raw().len() / 4 + 1024);
            WebPEncoder::new_lossless(&mut out)
                .write_image(img.as_raw(), w, h, ExtendedColorType::Rgba8)
                .map_err(|e| ImagingError::Encode(e.to_string()))?;
            Ok(out)
        }
    }
}

/// The image data chunks (`ALPH`, `VP8 `, `VP8L`, with their headers) of an encoded file:
/// contiguous, after any `VP8X` header.
fn image_chunks(file: &[u8]) -> Result<&[u8], ImagingError> {
    let body = riff_body(file).ok_or_else(|| ImagingError::Encode("not a WebP file".into()))?;
    let mut pos = 0;
    let mut start = None;
    let mut end = 0;
    for (id, payload) in chunks(body) {
        let next = pos + 8 + payload.len() + payload.len() % 2;
        if matches!(&id, b"ALPH" | b"VP8 " | b"VP8L") {
            start.get_or_insert(pos);
            end = next.min(body.len());
        }
        pos = next;
    }
    match start {
        Some(start) if start < end => Ok(&body[start..end]),
        _ => Err(ImagingError::Encode(
            "the encoder wrote no image data".into(),
        )),
    }
}

/// A RIFF header (its size patched by [`finish`]), the `VP8X` chunk and the ICC profile.
fn start_extended(
    mut flags: u8,
    w: u32,
    h: u32,
    exif: Option<&[u8]>,
    icc: Option<&[u8]>,
) -> Result<Vec<u8>, ImagingError> {
    if icc.is_some() {
        flags |= FLAG_ICC;
    }
    if exif.is_some() {
        flags |= FLAG_EXIF;
    }
    let mut out = Vec::with_capacity(64 + icc.map_or(0, <[u8]>::len));
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let mut vp8x = [0u8; 10];
    vp8x[0] = flags;
    vp8x[4..7].copy_from_slice(&u24(w.saturating_sub(1)));
    vp8x[7..10].copy_from_slice(&u24(h.saturating_sub(1)));
    push_chunk(&mut out, b"VP8X", &vp8x)?;
    if let Some(icc) = icc {
        push_chunk(&mut out, b"ICCP", icc)?;
    }
    Ok(out)
}

/// Appends the EXIF block and writes the RIFF size.
fn finish(mut out: Vec<u8>, exif: Option<&[u8]>) -> Result<Vec<u8>, ImagingError> {
    if let Some(exif) = exif {
        push_chunk(&mut out, b"EXIF", exif)?;
    }
    let size = u32::try_from(out.len() - 8)
        .map_err(|_| ImagingError::Encode("WebP file over 4 GiB".into()))?;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Ok(out)
}

fn push_chunk(out: &mut Vec<u8>, id: &[u8; 4], payload: &[u8]) -> Result<(), ImagingError> {
    push_chunk_header(out, id, payload.len())?;
    out.extend_from_slice(payload);
    pad(out, payload.len());
    Ok(())
}

fn push_chunk_header(out: &mut Vec<u8>, id: &[u8; 4], len: usize) -> Result<(), ImagingError> {
    let len = u32::try_from(len)
        .ok()
        .filter(|l| *l < u32::MAX - 16)
        .ok_or_else(|| ImagingError::Encode("WebP chunk over 4 GiB".into()))?;
    out.extend_from_slice(id);
    out.extend_from_slice(&len.to_le_bytes());
    Ok(())
}

/// RIFF chunks are padded to an even size.
fn pad(out: &mut Vec<u8>, len: usize) {
    if len % 2 == 1 {
        out.push(0);
    }
}

fn u24(v: u32) -> [u8; 3] {
    let [a, b, c, _] = v.min(MAX_U24).to_le_bytes();
    [a, b, c]
}

/// The chunks after `RIFF <size> WEBP`, bounded by the RIFF size and the data present.
fn riff_body(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return None;
    }
    let size = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    let end = usize::try_from(size)
        .map_or(bytes.len(), |s| s.saturating_add(8))
        .min(bytes.len());
    bytes.get(12..end)
}

/// Iterates RIFF chunks as (fourcc, payload); a chunk cut short yields what is there and ends
/// the walk.
fn chunks(body: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let header = body.get(pos..pos.checked_add(8)?)?;
        let id = [header[0], header[1], header[2], header[3]];
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let start = pos + 8;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .unwrap_or(usize::MAX);
        let payload = &body[start..end.min(body.len())];
        pos = if end >= body.len() {
            body.len()
        } else {
            end + (end - start) % 2
        };
        Some((id, payload))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{AnimationDecoder, ImageDecoder, Rgba};
    use std::io::Cursor;

    fn pattern(w: u32, h: u32, alpha: u8) -> RgbaImage {
        RgbaImage::from_fn(w, h, |x, y| {
            Rgba([(x * 255 / w) as u8, (y * 255 / h) as u8, 128, alpha])
        })
    }

    #[test]
    fn carries_exif_and_icc_in_an_extended_file() {
        let exif = b"II*\0\x08\0\0\0\0\0\0\0\0\0".to_vec();
        let icc = vec![9u8; 301];
        for quality in [Some(80), None] {
            let file =
                encode(&pattern(33, 21, 255), quality, Some(&exif), Some(&icc)).expect("encode");
            let mut dec =
                image::codecs::webp::WebPDecoder::new(Cursor::new(&file)).expect("decodes");
            assert_eq!(dec.dimensions(), (33, 21));
            assert_eq!(dec.exif_metadata().expect("exif"), Some(exif.clone()));
            assert_eq!(dec.icc_profile().expect("icc"), Some(icc.clone()));
            let info = inspect(&file).expect("webp");
            assert_eq!((info.frames, info.lossy), (1, quality.is_some()));
        }
    }

    #[test]
    fn animation_round_trips_durations_and_loop_count() {
        let mut anim = Animation::new(Some(90));
        anim.push(&pattern(20, 10, 255), 70).expect("frame");
        anim.push(&pattern(20, 10, 0), 1230).expect("frame");
        assert!(
            anim.push(&pattern(10, 10, 255), 10).is_err(),
            "size mismatch"
        );
        let file = anim.finish(3, None, None).expect("finish");
        let info = inspect(&file).expect("webp");
        assert_eq!(
            info,
            Info {
                frames: 2,
                loop_count: 3,
                lossy: true
            }
        );
        let dec = image::codecs::webp::WebPDecoder::new(Cursor::new(&file)).expect("decodes");
        let frames = dec.into_frames().collect_frames().expect("frames");
        let delays: Vec<_> = frames.iter().map(|f| f.delay().numer_denom_ms()).collect();
        assert_eq!(delays, [(70, 1), (1230, 1)]);
        assert_eq!(frames[1].buffer().get_pixel(5, 5).0[3], 0, "alpha kept");
    }

    #[test]
    fn inspect_survives_garbage() {
        assert_eq!(inspect(b"RIFF"), None);
        let mut file = b"RIFF\xff\xff\xff\xffWEBPANMF\xff\xff\xff\xffxx".to_vec();
        assert_eq!(inspect(&file).map(|i| i.frames), Some(1));
        file.truncate(13);
        assert_eq!(inspect(&file).map(|i| i.frames), Some(1));
    }
}
