//! Limits of the imaging engine against crafted inputs: output sizes from options checked
//! before the canvas is allocated, every decoder's own header checked against the pixel
//! limit, oversized ICC profiles dropped without being inflated, and a decoder panic turned
//! into a typed error.
//!
//! A tracking allocator records the largest single allocation made on the test's thread, so
//! "refused before allocating" is asserted, not assumed.

mod common;

use common::corpus;
use image::codecs::png::{PngDecoder, PngEncoder};
use image::{ExtendedColorType, ImageDecoder, ImageEncoder};
use pictor::imaging::{self, codec, ImagingError, Limits, Pipeline};
use pictor::operation::OperationSpec;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;
use std::io::Cursor;

/// The system allocator, noting the largest request made on each thread.
struct Tracking;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|c| {
        if size > c.get() {
            c.set(size);
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Tracking = Tracking;

const MIB: usize = 1024 * 1024;

/// Runs `f` and returns its result with the largest single allocation it made.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|c| c.set(0));
    let out = f();
    (out, LARGEST.with(Cell::get))
}

fn pipeline(body: serde_json::Value) -> Pipeline {
    OperationSpec::parse("test", body.to_string().as_bytes())
        .expect("valid operation")
        .to_pipeline(&HashMap::new())
        .expect("pipeline")
}

fn one_job(template: &str, option: serde_json::Value) -> Pipeline {
    pipeline(serde_json::json!({"data": [{"templateOperationId": template, "option": option}]}))
}

/// Runs a pipeline and returns its error and the largest allocation it made, which must stay
/// under `bound` bytes.
fn refused(source: &[u8], p: &Pipeline, limits: &Limits, bound: usize) -> ImagingError {
    let (result, largest) = largest_allocation(|| imaging::run(source, p, limits));
    let err = result.expect_err("refused");
    assert!(
        largest < bound,
        "largest allocation {largest} bytes before refusing ({err})"
    );
    err
}

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

#[test]
fn a_circle_over_the_side_limit_is_refused_before_its_canvas_is_allocated() {
    let err = refused(
        &corpus(PHOTO),
        &one_job("circle", serde_json::json!({"radius": 12000})),
        &Limits::default(),
        16 * MIB,
    );
    assert!(
        matches!(
            err,
            ImagingError::OutputTooLarge {
                width: 24000,
                height: 24000,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn resize_targets_are_checked_on_both_the_side_and_the_pixel_limit() {
    let source = corpus("edge/very_tall_50x8000.jpg");
    let up = one_job(
        "resize_width_fit",
        serde_json::json!({"width": 8000, "upDownSizeType": "upDownAll"}),
    );
    let err = refused(&source, &up, &Limits::default(), 16 * MIB);
    assert!(
        matches!(
            err,
            ImagingError::OutputTooLarge {
                width: 8000,
                height: 1_280_000,
                ..
            }
        ),
        "{err}"
    );
    let few_pixels = Limits {
        max_pixels: 1_000_000,
        ..Limits::default()
    };
    let fix = one_job(
        "resize_fix",
        serde_json::json!({"width": 2000, "height": 2000, "upDownSizeType": "upDownAll"}),
    );
    let err = refused(&corpus(PHOTO), &fix, &few_pixels, 4 * MIB);
    assert!(
        matches!(
            err,
            ImagingError::OutputTooLarge {
                width: 2000,
                height: 2000,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn slices_and_grids_are_bounded_in_pieces() {
    let tall = corpus("edge/very_tall_50x8000.jpg");
    let thin = one_job("slice", serde_json::json!({"sliceSize": 1}));
    let err = refused(&tall, &thin, &Limits::default(), 16 * MIB);
    assert_eq!(
        err,
        ImagingError::TooManyPieces {
            pieces: 8000,
            limit: 1000
        }
    );
    let fine = one_job("grid", serde_json::json!({"countX": 100, "countY": 100}));
    let err = refused(&corpus(PHOTO), &fine, &Limits::default(), 16 * MIB);
    assert_eq!(
        err,
        ImagingError::TooManyPieces {
            pieces: 10_000,
            limit: 1000
        }
    );
    let ok = imaging::run(
        &tall,
        &one_job("slice", serde_json::json!({"sliceSize": 10})),
        &Limits::default(),
    )
    .expect("800 pieces are within the limit");
    assert_eq!(ok.len(), 800);
    assert!(ok.iter().all(|o| (o.width, o.height) == (50, 10)));
}

/// A JPEG on which two header parsers disagree: a fill byte before the first marker makes a
/// parser that does not skip it read the next bytes as a length, which lands inside an APP1
/// segment holding a 16x16 SOF0; a decoder that reads markers correctly skips the APP1 and
/// finds the real SOF0, 65500x65500.
fn two_sof_jpeg() -> Vec<u8> {
    let small = imaging::jpeg::encode(&[128u8; 16 * 16 * 3], 16, 16, 80, None, None)
        .expect("encode a 16x16 JPEG");
    let mut body = small[2..].to_vec();
    let sof = body
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("an SOF0");
    body[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xDC, 0xFF, 0xDC]);
    let mut app1 = vec![0u8; 0xFFFF - 2];
    // The misreading parser jumps from offset 4 by 0xE1FF: to file offset 0xE1FF + 4.
    let fake = 0xE1FF + 4 - 7;
    app1[fake..fake + 11].copy_from_slice(&[
        0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x10, 0x00, 0x10, 0x03, 0x01,
    ]);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xFF, 0xE1, 0xFF, 0xFF];
    out.extend_from_slice(&app1);
    out.extend_from_slice(&body);
    out
}

#[test]
fn a_jpeg_is_checked_by_the_header_its_decoder_reads() {
    let jpeg = two_sof_jpeg();
    let (_, w, h) = codec::probe(&jpeg).expect("the container probe reads it");
    assert_eq!((w, h), (16, 16), "the probe sees the planted SOF");
    assert_eq!(
        imaging::jpeg::dimensions(&jpeg).expect("libjpeg-turbo reads it"),
        (65500, 65500),
        "libjpeg-turbo sees the real SOF"
    );
    let too_large = ImagingError::TooLarge {
        pixels: 65500 * 65500,
        limit: 100_000_000,
    };
    for p in [
        one_job("rectangle", serde_json::json!({"width": 8, "height": 8})),
        one_job("resize_fix", serde_json::json!({"width": 8, "height": 8})),
        one_job("gray", serde_json::json!({})),
    ] {
        let err = refused(&jpeg, &p, &Limits::default(), 16 * MIB);
        assert_eq!(err, too_large);
    }
    for denominator in [4, 8] {
        assert!(
            imaging::reduced::decode(&jpeg, denominator, 100_000_000).is_none(),
            "the reduced decoder refuses its own header's size"
        );
    }
}

/// A 1x1 PNG carrying an ICC profile of `len` bytes (compressed by the encoder).
fn png_with_icc(len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = PngEncoder::new(&mut out);
    encoder
        .set_icc_profile(vec![0u8; len])
        .expect("PNG takes a profile");
    encoder
        .write_image(&[10, 20, 30], 1, 1, ExtendedColorType::Rgb8)
        .expect("encode");
    out
}

fn icc_of_png(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut decoder = PngDecoder::new(Cursor::new(bytes)).expect("a PNG");
    decoder.icc_profile().expect("read")
}

#[test]
fn a_png_icc_bomb_is_dropped_without_being_inflated() {
    let bomb = png_with_icc(64 * MIB);
    assert!(bomb.len() < 256 * 1024, "{} bytes", bomb.len());
    let gray = one_job("gray", serde_json::json!({}));
    let (out, largest) =
        largest_allocation(|| imaging::run(&bomb, &gray, &Limits::default()).expect("rendered"));
    assert!(
        largest < 8 * MIB,
        "largest allocation {largest} bytes: the profile was inflated"
    );
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].width, out[0].height), (1, 1));
    assert_eq!(icc_of_png(&out[0].bytes), None, "profile dropped");

    let fine = png_with_icc(3000);
    let out = imaging::run(&fine, &gray, &Limits::default()).expect("rendered");
    assert_eq!(
        icc_of_png(&out[0].bytes).map(|p| p.len()),
        Some(3000),
        "a small profile is carried"
    );
}

#[test]
fn enlarged_animation_frames_are_bounded_together() {
    // 5 frames of 85x77 enlarged to 800x800 each: one frame fits 1,000,000 pixels, five
    // (3,200,000) do not; the render stops after the first output frame.
    let limits = Limits {
        max_pixels: 1_000_000,
        ..Limits::default()
    };
    let grow = one_job(
        "resize_fix",
        serde_json::json!({"width": 800, "height": 800, "upDownSizeType": "upDownAll",
                           "keepAnimation": true}),
    );
    let gif = corpus("animated/anim_gif_cogs_transparent_5frames_85x77.gif");
    let err = imaging::run(&gif, &grow, &limits).expect_err("five enlarged frames refused");
    assert!(matches!(err, ImagingError::TooLarge { .. }), "{err}");
    let fits = one_job(
        "resize_fix",
        serde_json::json!({"width": 400, "height": 400, "upDownSizeType": "upDownAll",
                           "keepAnimation": true}),
    );
    let out = imaging::run(&gif, &fits, &limits).expect("five 400x400 frames fit");
    assert_eq!((out[0].width, out[0].height), (400, 400));
}

#[test]
fn a_second_png_icc_chunk_is_not_inflated_either() {
    let bomb = png_with_icc(64 * MIB);
    let at = bomb
        .windows(4)
        .position(|w| w == b"iCCP")
        .expect("an iCCP chunk")
        - 4;
    let len = u32::from_be_bytes([bomb[at], bomb[at + 1], bomb[at + 2], bomb[at + 3]]) as usize;
    let chunk = bomb[at..at + 12 + len].to_vec();
    let mut twice = bomb[..at + 12 + len].to_vec();
    twice.extend_from_slice(&chunk);
    twice.extend_from_slice(&bomb[at + 12 + len..]);
    let gray = one_job("gray", serde_json::json!({}));
    let (out, largest) =
        largest_allocation(|| imaging::run(&twice, &gray, &Limits::default()).expect("rendered"));
    assert!(
        largest < 8 * MIB,
        "largest allocation {largest} bytes: a profile was inflated"
    );
    assert_eq!((out[0].width, out[0].height), (1, 1));
}

/// Writes `value` as a little-endian 24-bit field (WebP canvas sides minus one).
fn put_u24(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 3].copy_from_slice(&value.to_le_bytes()[..3]);
}

#[test]
fn headers_claiming_huge_canvases_are_refused_in_every_format() {
    let limits = Limits::default();
    let keep = one_job(
        "resize_max_fit",
        serde_json::json!({"width": 50, "height": 50, "targetExtension": "webp"}),
    );
    let gray = one_job("gray", serde_json::json!({}));

    let mut webp = corpus("animated/anim_webp_rotating-squares_9frames_80x80.webp");
    assert_eq!(&webp[12..16], b"VP8X");
    put_u24(&mut webp, 24, 16383);
    put_u24(&mut webp, 27, 16383);
    for p in [&keep, &gray] {
        let err = refused(&webp, p, &limits, 16 * MIB);
        assert!(matches!(err, ImagingError::TooLarge { .. }), "{err}");
    }

    let mut still = corpus("formats/webp_lossy_alpha_300x300.webp");
    assert_eq!(&still[12..16], b"VP8X");
    put_u24(&mut still, 24, 16383);
    put_u24(&mut still, 27, 16383);
    let err = refused(&still, &gray, &limits, 16 * MIB);
    assert!(matches!(err, ImagingError::TooLarge { .. }), "{err}");

    let mut gif = corpus("edge/tiny_10x10.gif");
    gif[6..10].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    let err = refused(&gif, &gray, &limits, 16 * MIB);
    assert!(matches!(err, ImagingError::TooLarge { .. }), "{err}");

    let mut avif = corpus("formats/avif_photo_olympus_2560x1600.avif");
    let ispe = avif
        .windows(4)
        .position(|w| w == b"ispe")
        .expect("an ispe box");
    avif[ispe + 8..ispe + 16].copy_from_slice(&[0, 0, 0xFF, 0xDC, 0, 0, 0xFF, 0xDC]);
    let err = refused(&avif, &gray, &limits, 16 * MIB);
    assert!(matches!(err, ImagingError::TooLarge { .. }), "{err}");

    let bomb = corpus("malformed/decompression_bomb_gif_frame_outside_screen.gif");
    let err = refused(&bomb, &keep, &limits, 64 * MIB);
    assert!(
        matches!(
            err,
            ImagingError::TooLarge { .. } | ImagingError::Corrupt(_)
        ),
        "{err}"
    );
}

/// An animated WebP that makes image-webp 0.2.4 panic with an index out of bounds while
/// reading a frame (found by mutation fuzzing of an animated WebP).
const PANICKING_WEBP: &[u8] = include_bytes!("fixtures/webp_anim_read_frame_panic.webp");

#[test]
fn a_decoder_panic_is_a_typed_error() {
    for p in [
        one_job(
            "resize_max_fit",
            serde_json::json!({"width": 50, "height": 50}),
        ),
        one_job(
            "resize_max_fit",
            serde_json::json!({"width": 50, "height": 50, "targetExtension": "gif"}),
        ),
        one_job("gray", serde_json::json!({})),
    ] {
        let err = imaging::run(PANICKING_WEBP, &p, &Limits::default())
            .expect_err("the damaged file is refused");
        assert!(
            matches!(&err, ImagingError::Panicked(m) | ImagingError::Corrupt(m) if !m.is_empty()),
            "{err}"
        );
    }
    let animated = one_job(
        "resize_max_fit",
        serde_json::json!({"width": 50, "height": 50}),
    );
    let err = imaging::run(PANICKING_WEBP, &animated, &Limits::default()).expect_err("refused");
    assert!(
        matches!(&err, ImagingError::Panicked(m) if m.contains("index out of bounds")),
        "the animated path reaches the panicking decoder: {err}"
    );
}
