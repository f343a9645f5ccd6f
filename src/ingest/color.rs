//! The dominant colour of an upload ([`crate::imaging::dominant`]), computed on the render
//! pool: the CPU every kind of image work shares, bounded in threads and off the async runtime.

use crate::imaging;
use crate::variant::Variants;
use bytes::Bytes;

/// The dominant colour of `bytes` as `#rrggbb`, waiting for a worker of the render pool as
/// long as it takes (the upload is already admitted and holds its bytes); `None` when the
/// image has no opaque pixel or cannot be decoded (its upload still succeeds: the header
/// was read).
pub async fn dominant_color(ctx: &Variants, bytes: Bytes) -> Option<String> {
    let limits = imaging::Limits::from(&ctx.config.imaging);
    let computed = ctx
        .pool
        .run_waiting(move || imaging::dominant::dominant_color(&bytes, &limits))
        .await;
    match computed {
        Ok(Ok(colour)) => colour.map(hex),
        Ok(Err(e)) => {
            tracing::info!(error = %e, "no dominant colour for an upload");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "the dominant colour of an upload was not computed");
            None
        }
    }
}

/// `#rrggbb`, in lowercase.
pub fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn colours_are_written_as_six_hex_digits() {
        assert_eq!(super::hex([0, 0, 0]), "#000000");
        assert_eq!(super::hex([255, 16, 10]), "#ff100a");
    }
}
