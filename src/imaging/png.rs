//! The ICC profile of a PNG source, read under its own small bound.
//!
//! An `iCCP` chunk is deflate-compressed, so a 1 KB file can hold a profile that inflates to
//! hundreds of megabytes, and the PNG decoder bounds it only by the allocation limit of the
//! whole image. The profile is therefore read by a header-only pass whose allocation limit
//! is [`Limits::max_icc_bytes`] (a larger profile is dropped, never inflated past that), and
//! the pixels are decoded from the file with its `iCCP` chunks taken out.

use super::{ImagingError, Limits};
use image::codecs::png::PngDecoder;
use image::ImageDecoder;
use std::borrow::Cow;
use std::io::Cursor;

const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// The byte ranges of every complete `iCCP` chunk (length, type, data and CRC) before the
/// image data. A file may carry more than one; the decoder reads the first it meets, so all of
/// them are taken out.
fn iccp_chunks(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut found = Vec::new();
    if !bytes.starts_with(SIGNATURE) {
        return found;
    }
    let mut pos = SIGNATURE.len();
    while let Some(head) = bytes.get(pos..pos + 8) {
        let Some(end) = usize::try_from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]))
            .ok()
            .and_then(|len| pos.checked_add(12)?.checked_add(len))
        else {
            break;
        };
        match &head[4..8] {
            b"iCCP" if end <= bytes.len() => found.push(pos..end),
            b"IDAT" | b"IEND" => break,
            _ => {}
        }
        pos = end;
    }
    found
}

/// The PNG to decode pixels from (without its `iCCP` chunks when it has any) and its ICC
/// profile when that inflates to at most `limits.max_icc_bytes`.
pub fn split_icc<'a>(bytes: &'a [u8], limits: &Limits) -> (Cow<'a, [u8]>, Option<Vec<u8>>) {
    let chunks = iccp_chunks(bytes);
    if chunks.is_empty() {
        return (Cow::Borrowed(bytes), None);
    }
    let icc = profile(bytes, limits).ok().flatten();
    let removed: usize = chunks.iter().map(ExactSizeIterator::len).sum();
    let mut rest = Vec::with_capacity(bytes.len() - removed);
    let mut from = 0;
    for chunk in chunks {
        rest.extend_from_slice(&bytes[from..chunk.start]);
        from = chunk.end;
    }
    rest.extend_from_slice(&bytes[from..]);
    (Cow::Owned(rest), icc)
}

/// Reads the header chunks only, allowing the decoder `limits.max_icc_bytes` of allocations:
/// a profile that inflates past it is dropped by the decoder.
fn profile(bytes: &[u8], limits: &Limits) -> Result<Option<Vec<u8>>, ImagingError> {
    let mut bound = image::Limits::default();
    bound.max_alloc = Some(limits.max_icc_bytes);
    let mut decoder = PngDecoder::with_limits(Cursor::new(bytes), bound)
        .map_err(|e| ImagingError::Corrupt(e.to_string()))?;
    Ok(super::budget::icc(
        decoder.icc_profile().ok().flatten(),
        limits,
    ))
}
