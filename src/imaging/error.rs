//! The imaging engine's error type.

/// Why an image could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImagingError {
    /// The bytes are not an image format Pictor reads.
    #[error("unsupported image format")]
    Unsupported,
    /// The image is truncated or corrupt.
    #[error("corrupt image: {0}")]
    Corrupt(String),
    /// The image has more pixels than allowed.
    #[error("image too large: {pixels} pixels, limit {limit}")]
    TooLarge {
        /// Pixels the header declares.
        pixels: u64,
        /// The configured limit.
        limit: u64,
    },
    /// An animated source has more frames than allowed.
    #[error("too many frames: {frames}, limit {limit}")]
    TooManyFrames {
        /// Frames the source holds.
        frames: u32,
        /// The configured limit.
        limit: u32,
    },
    /// An option does not fit this image (a crop outside it, a zero size).
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// An output (or an intermediate image) would exceed the side or pixel limit; refused
    /// before it is allocated.
    #[error("output {width}x{height} exceeds the limits ({max_side} pixels a side, {max_pixels} pixels)")]
    OutputTooLarge {
        /// Width the job asks for.
        width: u64,
        /// Height the job asks for.
        height: u64,
        /// The configured side limit.
        max_side: u32,
        /// The configured pixel limit.
        max_pixels: u64,
    },
    /// A slice or grid would produce more images than allowed.
    #[error("too many pieces: {pieces}, limit {limit}")]
    TooManyPieces {
        /// Pieces the job would produce.
        pieces: u64,
        /// The configured limit.
        limit: u32,
    },
    /// A decoder or encoder panicked on this input; the panic was caught at the engine's
    /// boundary and turned into this error.
    #[error("image processing failed on a malformed input: {0}")]
    Panicked(String),
    /// The output could not be encoded.
    #[error("encoding failed: {0}")]
    Encode(String),
}
