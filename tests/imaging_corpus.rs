//! The imaging engine over the real test corpus: geometry of every resize mode, orientation,
//! formats, metadata, malformed files, and thumbnail quality against a full-resolution
//! reference.

mod common;

use common::{corpus, mean_abs_diff};
use pictor::imaging::{self, codec, ops, ImagingError, Limits, Pipeline};
use pictor::operation::OperationSpec;
use std::collections::HashMap;

fn pipeline(body: serde_json::Value) -> Pipeline {
    OperationSpec::parse("test", body.to_string().as_bytes())
        .expect("valid operation")
        .to_pipeline(&HashMap::new())
        .expect("pipeline")
}

fn resize(template: &str, w: u32, h: u32, up_down: &str) -> Pipeline {
    pipeline(
        serde_json::json!({"data": [{"templateOperationId": template,
        "option": {"width": w, "height": h, "upDownSizeType": up_down}}]}),
    )
}

fn run(file: &str, p: &Pipeline) -> Result<Vec<imaging::Output>, ImagingError> {
    imaging::run(&corpus(file), p, &Limits::default())
}

fn decoded(out: &imaging::Output) -> image::RgbaImage {
    image::load_from_memory(&out.bytes)
        .expect("output decodes")
        .to_rgba8()
}

#[test]
fn every_resize_mode_and_up_down_rule() {
    let photo = "photos/photo_4mp_olympus-em1_forest_2560x1600.jpg";
    let cases = [
        ("resize_max_fit", 400, 300, "downOnly", (400, 250)),
        ("resize_min_fit", 400, 300, "downOnly", (480, 300)),
        ("resize_fix", 400, 300, "downOnly", (400, 300)),
        ("resize_width_fit", 400, 300, "downOnly", (400, 250)),
        ("resize_height_fit", 400, 300, "downOnly", (480, 300)),
        ("resize_max_fit", 5000, 5000, "downOnly", (2560, 1600)),
        ("resize_max_fit", 5000, 5000, "upDownAll", (5000, 3125)),
        ("resize_max_fit", 400, 400, "upOnly", (2560, 1600)),
        ("resize_max_fit", 3000, 3000, "upOnly", (3000, 1875)),
    ];
    for (template, w, h, rule, want) in cases {
        let out = run(photo, &resize(template, w, h, rule)).expect(template);
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].width, out[0].height),
            want,
            "{template} {w}x{h} {rule}"
        );
        assert_eq!(decoded(&out[0]).dimensions(), want, "{template} decoded");
        assert_eq!(out[0].content_type(), "image/jpeg");
    }
    let portrait = run(
        "photos/photo_portrait_canon-ixus40_1704x2272.jpg",
        &resize("resize_max_fit", 300, 300, "downOnly"),
    )
    .expect("portrait");
    assert_eq!((portrait[0].width, portrait[0].height), (225, 300));
    for (file, want) in [
        ("edge/very_wide_8000x50.jpg", (100, 1)),
        ("edge/very_tall_50x8000.jpg", (1, 100)),
    ] {
        let out = run(file, &resize("resize_max_fit", 100, 100, "downOnly")).expect(file);
        assert_eq!((out[0].width, out[0].height), want, "{file}");
    }
}

#[test]
fn auto_orient_on_all_eight_orientations() {
    let p = pipeline(
        serde_json::json!({"data": [{"templateOperationId": "resize_max_fit",
        "option": {"width": 360, "height": 360, "autoOrient": true}}]}),
    );
    let reference =
        decoded(&run("orientation/landscape_exif_orientation_1.jpg", &p).expect("1")[0]);
    assert_eq!(reference.dimensions(), (360, 240));
    for n in 1..=8 {
        let file = format!("orientation/landscape_exif_orientation_{n}.jpg");
        let out = run(&file, &p).expect(&file);
        let img = decoded(&out[0]);
        assert_eq!(img.dimensions(), (360, 240), "{file}");
        let diff = mean_abs_diff(&img, &reference);
        assert!(
            diff < 20.0,
            "{file} differs from the upright reference by {diff}"
        );
        let orientation = codec::orientation_of(&out[0].bytes);
        assert_eq!(
            orientation,
            image::metadata::Orientation::NoTransforms,
            "{file}"
        );
    }
    let p_off = pipeline(
        serde_json::json!({"data": [{"templateOperationId": "resize_max_fit",
        "option": {"width": 360, "height": 360}}]}),
    );
    let raw = decoded(&run("orientation/landscape_exif_orientation_6.jpg", &p_off).expect("6")[0]);
    assert_eq!(
        raw.dimensions(),
        (240, 360),
        "without autoOrient the stored layout stays"
    );
}

/// How close a gray output must be to the gray conversion of its source.
#[derive(Debug, Clone, Copy)]
struct GrayTolerance {
    /// The widest spread allowed between one pixel's R, G and B.
    max_spread: u8,
    /// The largest mean absolute difference allowed between the output's level and the source's
    /// Rec. 601 luma.
    max_mean_luma_diff: f64,
}

/// Lossless outputs (PNG, GIF, lossless WebP): R = G = B, levels off by rounding only.
const LOSSLESS: GrayTolerance = GrayTolerance {
    max_spread: 0,
    max_mean_luma_diff: 0.5,
};

/// Lossy WebP: its chroma planes leave R, G and B a level or so apart (1 measured); its
/// compression moves levels (at most 2.8 measured over the corpus).
const LOSSY_WEBP: GrayTolerance = GrayTolerance {
    max_spread: 3,
    max_mean_luma_diff: 4.0,
};

/// JPEG: a gray image is written with R = G = B; its compression moves levels (at most 5.3
/// measured, on the high-detail mandrill).
const JPEG: GrayTolerance = GrayTolerance {
    max_spread: 0,
    max_mean_luma_diff: 8.0,
};

#[test]
fn every_readable_format_decodes_and_keeps_its_format() {
    let gray = pipeline(serde_json::json!({"data": [{"templateOperationId": "gray"}]}));
    let cases = [
        (
            "formats/bmp_24bit_bird_192x144.bmp",
            "image/jpeg",
            (192, 144),
            JPEG,
        ),
        (
            "formats/gif_still_photo_800x533.gif",
            "image/gif",
            (800, 533),
            LOSSLESS,
        ),
        (
            "formats/png_16bit_rgb_monkey_149x227.png",
            "image/png",
            (149, 227),
            LOSSLESS,
        ),
        (
            "formats/png_interlaced_adam7_rgba_162x150.png",
            "image/png",
            (162, 150),
            LOSSLESS,
        ),
        (
            "formats/png_palette_8bit_290x442.png",
            "image/png",
            (290, 442),
            LOSSLESS,
        ),
        (
            "formats/tiff_rgb_uncompressed_mandrill_512x512.tiff",
            "image/jpeg",
            (512, 512),
            JPEG,
        ),
        (
            "formats/webp_lossless_300x300.webp",
            "image/webp",
            (300, 300),
            LOSSLESS,
        ),
        (
            "formats/webp_lossy_alpha_300x300.webp",
            "image/webp",
            (300, 300),
            LOSSY_WEBP,
        ),
        (
            "formats/webp_lossy_tree_1024x772.webp",
            "image/webp",
            (1024, 772),
            LOSSY_WEBP,
        ),
        (
            "photos/photo_grayscale_2560x1600.jpg",
            "image/jpeg",
            (2560, 1600),
            JPEG,
        ),
        (
            "photos/photo_progressive_sony-nex3n_2560x1600.jpg",
            "image/jpeg",
            (2560, 1600),
            JPEG,
        ),
        (
            "malformed/png_data_named.jpg",
            "image/png",
            (451, 300),
            LOSSLESS,
        ),
    ];
    for (file, content_type, dims, tolerance) in cases {
        let out = run(file, &gray).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(out[0].content_type(), content_type, "{file}");
        let img = decoded(&out[0]);
        assert_eq!(img.dimensions(), dims, "{file}");
        if let Err(why) = check_gray(&img, &decoded_source(file), tolerance) {
            panic!("{file}: the output is not the gray of its source: {why}");
        }
    }
}

#[test]
fn the_gray_check_refuses_colour_and_wrong_levels() {
    let file = "formats/webp_lossy_tree_1024x772.webp";
    let source = decoded_source(file);
    let same_size = run(file, &resize("resize_fix", 1024, 772, "downOnly")).expect("resize");
    assert_eq!(same_size[0].content_type(), "image/webp");
    let colour = decoded(&same_size[0]);
    let err = check_gray(&colour, &source, LOSSY_WEBP).expect_err("a colour WebP is not gray");
    assert!(err.contains("apart"), "refused for its colour: {err}");

    let gray = pipeline(serde_json::json!({"data": [{"templateOperationId": "gray"}]}));
    let mut inverted = decoded(&run(file, &gray).expect("gray")[0]);
    check_gray(&inverted, &source, LOSSY_WEBP).expect("the gray output passes");
    for p in inverted.pixels_mut() {
        for c in &mut p.0[..3] {
            *c = 255 - *c;
        }
    }
    let err = check_gray(&inverted, &source, LOSSY_WEBP).expect_err("inverted levels");
    assert!(err.contains("luma"), "refused for its levels: {err}");
}

/// A corpus file decoded by `image`, independently of the engine under test.
fn decoded_source(file: &str) -> image::RgbaImage {
    image::load_from_memory(&corpus(file))
        .unwrap_or_else(|e| panic!("{file} decodes: {e}"))
        .to_rgba8()
}

/// Checks `out` against the gray conversion of `source` (images of equal size) over the pixels
/// the source does not leave fully transparent, whose colour lossy encoders need not keep.
fn check_gray(
    out: &image::RgbaImage,
    source: &image::RgbaImage,
    tolerance: GrayTolerance,
) -> Result<(), String> {
    assert_eq!(
        out.dimensions(),
        source.dimensions(),
        "images of equal size"
    );
    let mut max_spread = 0;
    let mut total = 0.0;
    let mut counted = 0u32;
    for (o, s) in out.pixels().zip(source.pixels()) {
        if s.0[3] == 0 {
            continue;
        }
        let [r, g, b, _] = o.0;
        max_spread = max_spread.max(r.max(g).max(b) - r.min(g).min(b));
        let [sr, sg, sb, _] = s.0.map(f64::from);
        let luma = 0.299 * sr + 0.587 * sg + 0.114 * sb;
        total += (f64::from(g) - luma).abs();
        counted += 1;
    }
    assert!(counted > 0, "the source has visible pixels");
    let mean_luma_diff = total / f64::from(counted);
    if max_spread > tolerance.max_spread {
        return Err(format!(
            "R, G and B up to {max_spread} apart (at most {} allowed)",
            tolerance.max_spread
        ));
    }
    if mean_luma_diff > tolerance.max_mean_luma_diff {
        return Err(format!(
            "levels {mean_luma_diff:.2} from the source's luma on average (at most {} allowed)",
            tolerance.max_mean_luma_diff
        ));
    }
    Ok(())
}

/// A predicate on the error a file must give.
type ErrorCheck = fn(&ImagingError) -> bool;

#[test]
fn malformed_files_give_typed_errors() {
    let p = resize("resize_max_fit", 100, 100, "downOnly");
    let cases: [(&str, ErrorCheck); 6] = [
        ("malformed/zero_bytes.jpg", |e| {
            matches!(e, ImagingError::Unsupported)
        }),
        ("malformed/text_file_named.jpg", |e| {
            matches!(e, ImagingError::Unsupported)
        }),
        ("malformed/truncated_png_first10000bytes.png", |e| {
            matches!(e, ImagingError::Corrupt(_))
        }),
        ("malformed/decompression_bomb_png_65536x65536.png", |e| {
            matches!(e, ImagingError::TooLarge { .. })
        }),
        (
            "malformed/decompression_bomb_gif_frame_outside_screen.gif",
            |e| matches!(e, ImagingError::TooLarge { .. } | ImagingError::Corrupt(_)),
        ),
        ("malformed/truncated_jpeg_first10000bytes.jpg", |e| {
            matches!(e, ImagingError::Corrupt(_))
        }),
    ];
    for (file, expected) in cases {
        let started = std::time::Instant::now();
        match run(file, &p) {
            Err(e) => assert!(expected(&e), "{file}: unexpected error {e:?}"),
            Ok(_) => panic!("{file} must be refused"),
        }
        assert!(started.elapsed().as_secs() < 10, "{file} took too long");
    }
    let damaged = run("malformed/corrupt_huffman_data_640x480.jpg", &p);
    if let Ok(out) = damaged {
        assert_eq!(
            (out[0].width, out[0].height),
            (100, 75),
            "best-effort decode"
        );
    }
}

#[test]
fn pixel_limit_and_output_cap_are_configurable() {
    let small = Limits {
        max_pixels: 1_000_000,
        ..Limits::default()
    };
    let p = resize("resize_max_fit", 100, 100, "downOnly");
    let err = imaging::run(
        &corpus("photos/photo_4mp_olympus-em1_forest_2560x1600.jpg"),
        &p,
        &small,
    )
    .expect_err("over the limit");
    assert_eq!(
        err,
        ImagingError::TooLarge {
            pixels: 2560 * 1600,
            limit: 1_000_000
        }
    );
    let huge = resize("resize_fix", 9000, 100, "upDownAll");
    assert!(matches!(
        run("edge/tiny_10x10.gif", &huge),
        Err(ImagingError::OutputTooLarge { .. })
    ));
}

#[test]
fn metadata_is_kept_or_dropped_as_asked() {
    let keep = resize("resize_max_fit", 200, 200, "downOnly");
    let out = run("photos/photo_icc_adobe-rgb_rocket_640x427.jpg", &keep).expect("icc");
    let icc_in = pictor::imaging::jpeg::icc(
        &corpus("photos/photo_icc_adobe-rgb_rocket_640x427.jpg"),
        &Limits::default(),
    );
    assert!(icc_in.is_some());
    assert_eq!(
        pictor::imaging::jpeg::icc(&out[0].bytes, &Limits::default()),
        icc_in,
        "ICC profile kept"
    );

    let photo = "photos/photo_small_nikon-p6000_gps_640x480.jpg";
    let with = run(photo, &keep).expect("exif");
    assert!(
        pictor::imaging::jpeg::exif(&with[0].bytes).is_some(),
        "keepExif defaults to true"
    );
    let drop = pipeline(
        serde_json::json!({"data": [{"templateOperationId": "resize_max_fit",
        "option": {"width": 200, "height": 200, "keepExif": false}}]}),
    );
    let without = run(photo, &drop).expect("no exif");
    assert!(pictor::imaging::jpeg::exif(&without[0].bytes).is_none());
}

#[test]
fn cmyk_jpeg_colours_match_an_independent_decoder() {
    let p = resize("resize_fix", 250, 167, "downOnly");
    let out = run("photos/photo_cmyk_swop-profile_500x333.jpg", &p).expect("cmyk");
    let ours = decoded(&out[0]);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cmyk_reference_250x167.png");
    let reference = image::open(&path).expect("reference fixture").to_rgba8();
    let diff = mean_abs_diff(&ours, &reference);
    assert!(
        diff < 8.0,
        "CMYK decode differs from the reference by {diff} per channel"
    );
    let mut inverted = reference.clone();
    for p in inverted.pixels_mut() {
        for c in &mut p.0[..3] {
            *c = 255 - *c;
        }
    }
    assert!(mean_abs_diff(&ours, &inverted) > 40.0, "not a negative");
}

/// Mean SSIM over 8x8 windows of the luma of two equal-size images.
fn ssim(a: &image::RgbaImage, b: &image::RgbaImage) -> f64 {
    let luma = |img: &image::RgbaImage| -> Vec<f64> {
        img.pixels()
            .map(|p| {
                0.299 * f64::from(p.0[0]) + 0.587 * f64::from(p.0[1]) + 0.114 * f64::from(p.0[2])
            })
            .collect()
    };
    let (la, lb) = (luma(a), luma(b));
    let (w, h) = (a.width() as usize, a.height() as usize);
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let mut total = 0.0;
    let mut windows = 0.0;
    for y in (0..h.saturating_sub(7)).step_by(4) {
        for x in (0..w.saturating_sub(7)).step_by(4) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for dy in 0..8 {
                for dx in 0..8 {
                    let i = (y + dy) * w + x + dx;
                    sa += la[i];
                    sb += lb[i];
                    saa += la[i] * la[i];
                    sbb += lb[i] * lb[i];
                    sab += la[i] * lb[i];
                }
            }
            let n = 64.0;
            let (ma, mb) = (sa / n, sb / n);
            let (va, vb, cov) = (saa / n - ma * ma, sbb / n - mb * mb, sab / n - ma * mb);
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            windows += 1.0;
        }
    }
    total / windows
}

#[test]
fn shrink_on_load_keeps_quality() {
    let width_300 = serde_json::json!({"data": [{"templateOperationId": "resize_width_fit",
        "option": {"width": 300, "quality": 95}}]});
    let fit_512 = serde_json::json!({"data": [{"templateOperationId": "resize_max_fit",
        "option": {"width": 512, "height": 512, "quality": 95}}]});
    for (file, op) in [
        ("photos/photo_12mp_olympus-ep3_4032x3024.jpg", &width_300),
        (
            "photos/photo_progressive_sony-nex3n_2560x1600.jpg",
            &width_300,
        ),
        ("../bench/photos/02_BytheWater.jpg", &fit_512),
    ] {
        let bytes = corpus(file);
        let p = pipeline(op.clone());
        let out = imaging::run(&bytes, &p, &Limits::default()).expect(file);
        let thumb = decoded(&out[0]);
        let full = codec::decode(&bytes, &Limits::default(), None)
            .expect("full decode")
            .image;
        let reference = ops::resize(&full, thumb.width(), thumb.height()).expect("reference");
        let score = ssim(&thumb, &reference);
        assert!(score >= 0.98, "{file}: SSIM {score}");
    }
}

#[test]
fn jobs_chain_in_order() {
    let p = pipeline(serde_json::json!({"data": [
        {"templateOperationId": "resize_fix", "option": {"width": 200, "height": 100}},
        {"templateOperationId": "gray"},
        {"templateOperationId": "grid", "option": {"countX": 2, "countY": 2}}]}));
    let out = run("photos/photo_small_nikon-p6000_gps_640x480.jpg", &p).expect("chain");
    assert_eq!(out.len(), 4);
    for o in &out {
        assert_eq!((o.width, o.height), (100, 50));
    }
}

#[test]
fn outputs_over_the_side_limit_are_refused_for_every_job() {
    let limits = Limits {
        max_output_side: 100,
        ..Limits::default()
    };
    let bytes = corpus("photos/photo_small_nikon-p6000_gps_640x480.jpg");
    for body in [
        serde_json::json!({"data": [{"templateOperationId": "gray"}]}),
        serde_json::json!({"data": [{"templateOperationId": "resize_width_fit",
            "option": {"width": 200}}]}),
        serde_json::json!({"data": [{"templateOperationId": "rectangle",
            "option": {"width": 300, "height": 50}}]}),
    ] {
        let err = imaging::run(&bytes, &pipeline(body.clone()), &limits)
            .expect_err("over the side limit");
        assert!(
            matches!(err, pictor::imaging::ImagingError::OutputTooLarge { .. }),
            "{body}: {err}"
        );
    }
    let small = serde_json::json!({"data": [{"templateOperationId": "resize_width_fit",
        "option": {"width": 100}}]});
    let out = imaging::run(&bytes, &pipeline(small), &limits).expect("within the limit");
    assert_eq!((out[0].width, out[0].height), (100, 75));
}
