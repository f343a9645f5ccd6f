//! libavif and dav1d are given the pixel limit themselves: an AVIF whose `ispe` box claims a
//! tiny image while its AV1 frame is large is refused before the decoder allocates the frame.
//!
//! The decoder allocates in C, out of sight of a Rust allocator, so this test measures the
//! process's peak resident set (`VmHWM`, reset through `/proc/self/clear_refs`). It is the only
//! test in this file, so no other test runs in the process while it measures.

mod common;

use common::corpus;
use pictor::imaging::{avif, ImagingError, Limits};

const MIB: u64 = 1024 * 1024;

/// A `VmHWM` or `VmRSS` line of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"));
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a number in {line:?}"));
    kib * 1024
}

#[test]
fn an_av1_frame_larger_than_its_ispe_is_refused_before_it_is_decoded() {
    // 2560x1600, 8-bit YUV 4:4:4: the decoded frame alone is 12 MB.
    let mut file = corpus("formats/avif_photo_olympus_2560x1600.avif");
    let ispe = file
        .windows(4)
        .position(|w| w == b"ispe")
        .expect("an ispe box");
    file[ispe + 8..ispe + 16].copy_from_slice(&[0, 0, 0, 16, 0, 0, 0, 16]);
    let limits = Limits {
        max_pixels: 100_000,
        ..Limits::default()
    };

    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak resident set");
    let before = status_bytes("VmHWM:");
    let outcome = avif::decode(&file, &limits);
    let grown = status_bytes("VmHWM:").saturating_sub(before);

    let err = outcome.expect_err("a frame over the pixel limit is refused");
    assert!(
        matches!(
            err,
            ImagingError::Corrupt(_) | ImagingError::TooLarge { .. }
        ),
        "{err}"
    );
    assert!(
        grown < 4 * MIB,
        "the peak resident set grew by {grown} bytes while refusing ({err})"
    );
}
