//! The imaging engine's formats over the real corpus: animations kept frame by frame (GIF and
//! WebP), the frame and pixel limits of animations, lossy WebP output, AVIF input, and the
//! JPEG/PNG fallback of formats that cannot be written.

mod common;

use common::{corpus, mean_abs_diff};
use image::codecs::gif::GifDecoder;
use image::codecs::webp::WebPDecoder;
use image::metadata::LoopCount;
use image::{AnimationDecoder, Delay, ImageFormat, RgbaImage};
use pictor::imaging::{self, codec, ImagingError, Limits, Output, Pipeline, TargetFormat};
use pictor::operation::OperationSpec;
use std::collections::HashMap;
use std::io::Cursor;

const COGS_GIF: &str = "animated/anim_gif_cogs_transparent_5frames_85x77.gif";
const SQUARES_WEBP: &str = "animated/anim_webp_rotating-squares_9frames_80x80.webp";
const AVIF: &str = "formats/avif_photo_olympus_2560x1600.avif";

fn pipeline(data: serde_json::Value) -> Pipeline {
    OperationSpec::parse(
        "test",
        serde_json::json!({ "data": data }).to_string().as_bytes(),
    )
    .expect("valid operation")
    .to_pipeline(&HashMap::new())
    .expect("pipeline")
}

/// `resize_max_fit` into a `w` x `h` box with extra options.
fn fit(w: u32, h: u32, extra: serde_json::Value) -> Pipeline {
    let mut option = serde_json::json!({"width": w, "height": h});
    if let (Some(o), Some(e)) = (option.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    pipeline(serde_json::json!([{"templateOperationId": "resize_max_fit", "option": option}]))
}

fn run(file: &str, p: &Pipeline) -> Result<Vec<Output>, ImagingError> {
    imaging::run(&corpus(file), p, &Limits::default())
}

fn one(file: &str, p: &Pipeline) -> Output {
    let mut out = run(file, p).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(out.len(), 1, "{file}: one output");
    out.remove(0)
}

/// Frames (buffer, delay) and loop count (`None`: forever) of an animated GIF or WebP, as
/// `image` reads them: a GIF's NETSCAPE repeat count, a WebP's play count.
fn frames(bytes: &[u8]) -> (Vec<(RgbaImage, Delay)>, Option<u32>) {
    let count = |c: LoopCount| match c {
        LoopCount::Infinite => None,
        LoopCount::Finite(n) => Some(n.get()),
    };
    let collect = |frames: image::Frames<'_>| -> Vec<(RgbaImage, Delay)> {
        frames
            .collect_frames()
            .expect("frames decode")
            .into_iter()
            .map(|f| {
                let delay = f.delay();
                (f.into_buffer(), delay)
            })
            .collect()
    };
    match image::guess_format(bytes).expect("known format") {
        ImageFormat::Gif => {
            let dec = GifDecoder::new(Cursor::new(bytes)).expect("gif");
            let loops = count(dec.loop_count());
            (collect(dec.into_frames()), loops)
        }
        ImageFormat::WebP => {
            let dec = WebPDecoder::new(Cursor::new(bytes)).expect("webp");
            assert!(dec.has_animation(), "an animated WebP");
            let loops = count(dec.loop_count());
            (collect(dec.into_frames()), loops)
        }
        other => panic!("not an animation format: {other:?}"),
    }
}

fn delays(frames: &[(RgbaImage, Delay)]) -> Vec<u32> {
    frames
        .iter()
        .map(|(_, d)| {
            let (n, d) = d.numer_denom_ms();
            n / d
        })
        .collect()
}

fn decoded(out: &Output) -> RgbaImage {
    image::load_from_memory(&out.bytes)
        .expect("output decodes")
        .to_rgba8()
}

/// Mean of each colour channel over the pixels of a region.
fn mean_rgb(img: &RgbaImage, x0: u32, y0: u32, w: u32, h: u32) -> [f64; 3] {
    let mut sum = [0f64; 3];
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            let p = img.get_pixel(x, y).0;
            for c in 0..3 {
                sum[c] += f64::from(p[c]);
            }
        }
    }
    let n = f64::from(w * h);
    sum.map(|s| s / n)
}

/// Colour channels scaled by alpha: what shows, whatever lies under transparent pixels.
fn premultiplied(img: &RgbaImage) -> RgbaImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        let a = u16::from(p.0[3]);
        for c in &mut p.0[..3] {
            *c = ((u16::from(*c) * a + 127) / 255) as u8;
        }
    }
    out
}

#[test]
fn animated_gif_keeps_every_frame_delay_and_loop_count() {
    let (source, source_loop) = frames(&corpus(COGS_GIF));
    assert_eq!(source.len(), 5, "corpus cogs.gif has 5 frames");
    let out = one(COGS_GIF, &fit(40, 40, serde_json::json!({})));
    assert_eq!(out.format, TargetFormat::Gif);
    assert_eq!((out.width, out.height), (40, 36), "85x77 fitted in 40x40");
    let (got, got_loop) = frames(&out.bytes);
    assert_eq!(got.len(), 5, "every frame kept");
    assert_eq!(delays(&got), delays(&source), "same delays");
    assert_eq!(delays(&got), [0, 50, 50, 50, 50]);
    assert_eq!(got_loop, source_loop, "same loop count");
    assert_eq!(got_loop, Some(32760));
    for (i, (frame, _)) in got.iter().enumerate() {
        assert_eq!(frame.dimensions(), (40, 36), "frame {i}");
        assert!(
            frame.pixels().any(|p| p.0[3] == 0) && frame.pixels().any(|p| p.0[3] == 255),
            "frame {i} keeps its transparent background and opaque cogs"
        );
    }
    assert!(
        got.windows(2).all(|w| w[0].0 != w[1].0),
        "the frames move: each differs from the one before"
    );
}

#[test]
fn keep_animation_false_or_a_still_format_gives_the_first_frame() {
    let still = one(
        COGS_GIF,
        &fit(40, 40, serde_json::json!({"keepAnimation": false})),
    );
    assert_eq!(still.format, TargetFormat::Gif);
    let (got, _) = frames(&still.bytes);
    assert_eq!(got.len(), 1, "keepAnimation false: one frame");
    assert_eq!(got[0].0.dimensions(), (40, 36));

    let rect = pipeline(serde_json::json!([
        {"templateOperationId": "gray"},
        {"templateOperationId": "rectangle", "option": {"width": 40, "height": 40}}
    ]));
    let cropped = one(SQUARES_WEBP, &rect);
    let dec = WebPDecoder::new(Cursor::new(&cropped.bytes)).expect("webp");
    assert!(
        !dec.has_animation(),
        "rectangle defaults to keepAnimation false: the first frame only"
    );
    assert_eq!(decoded(&cropped).dimensions(), (40, 40));

    let png = one(
        COGS_GIF,
        &fit(40, 40, serde_json::json!({"targetExtension": "png"})),
    );
    assert_eq!(png.format, TargetFormat::Png);
    assert_eq!(decoded(&png).dimensions(), (40, 36));

    let slices = run(
        SQUARES_WEBP,
        &pipeline(serde_json::json!([
            {"templateOperationId": "slice", "option": {"sliceSize": 40}}
        ])),
    )
    .expect("slice");
    assert_eq!(slices.len(), 2, "slice cuts the first frame");
    for piece in &slices {
        assert_eq!(decoded(piece).dimensions(), (80, 40));
        let dec = WebPDecoder::new(Cursor::new(&piece.bytes)).expect("webp");
        assert!(!dec.has_animation(), "a slice piece is a still image");
    }
}

#[test]
fn animated_webp_stays_an_animated_webp() {
    let (source, source_loop) = frames(&corpus(SQUARES_WEBP));
    assert_eq!(source.len(), 9, "corpus rotating-squares has 9 frames");
    let out = one(SQUARES_WEBP, &fit(40, 40, serde_json::json!({})));
    assert_eq!(out.format, TargetFormat::Webp);
    assert_eq!(out.content_type(), "image/webp");
    let (got, got_loop) = frames(&out.bytes);
    assert_eq!(got.len(), 9, "every frame kept");
    assert_eq!(delays(&got), delays(&source), "same durations");
    assert_eq!(got_loop, source_loop);
    assert_eq!(got_loop, None);
    for (i, (frame, _)) in got.iter().enumerate() {
        assert_eq!(frame.dimensions(), (40, 40), "frame {i}");
    }
    let info = imaging::webp::inspect(&out.bytes).expect("webp");
    assert!(info.lossy, "lossy frames from a lossy source");
    // Each output frame is the source frame, resized: compare against a plain resize.
    for (i, ((ours, _), (src, _))) in got.iter().zip(&source).enumerate() {
        let reference = image::imageops::resize(src, 40, 40, image::imageops::Lanczos3);
        let diff = mean_abs_diff(&premultiplied(ours), &premultiplied(&reference));
        assert!(diff < 12.0, "frame {i} differs from its source by {diff}");
    }
}

#[test]
fn animations_convert_between_gif_and_webp() {
    let (source, _) = frames(&corpus(COGS_GIF));
    let webp = one(
        COGS_GIF,
        &fit(85, 77, serde_json::json!({"targetExtension": "webp"})),
    );
    assert_eq!(webp.format, TargetFormat::Webp);
    let (got, got_loop) = frames(&webp.bytes);
    assert_eq!(got.len(), 5);
    assert_eq!(delays(&got), delays(&source));
    assert_eq!(
        got_loop,
        Some(32761),
        "GIF repeats 32760 times after the first play: WebP plays 32761 times"
    );
    assert!(
        !imaging::webp::inspect(&webp.bytes).expect("webp").lossy,
        "a GIF source gives lossless WebP"
    );
    for ((ours, _), (src, _)) in got.iter().zip(&source) {
        assert_eq!(ours, src, "lossless frames are exact");
    }

    let gif = one(
        SQUARES_WEBP,
        &fit(80, 80, serde_json::json!({"targetExtension": "gif"})),
    );
    let (got, got_loop) = frames(&gif.bytes);
    assert_eq!(got.len(), 9);
    assert_eq!(got_loop, None);
    let (webp_source, _) = frames(&corpus(SQUARES_WEBP));
    let centiseconds: Vec<u32> = delays(&webp_source).iter().map(|d| d / 10 * 10).collect();
    assert_eq!(delays(&got), centiseconds, "GIF delays are in 10 ms steps");
}

#[test]
fn animated_gray_turns_every_frame_gray() {
    let (colour, _) = frames(&corpus(SQUARES_WEBP));
    assert!(
        colour.iter().all(|(f, _)| f
            .pixels()
            .any(|p| p.0[3] > 0 && p.0[0].abs_diff(p.0[2]) > 50)),
        "every source frame has colour"
    );
    let gray = pipeline(serde_json::json!([{"templateOperationId": "gray"}]));
    let to_gif = pipeline(serde_json::json!([
        {"templateOperationId": "gray"},
        {"templateOperationId": "resize_max_fit",
         "option": {"width": 80, "height": 80, "targetExtension": "gif"}}
    ]));
    // GIF output is exact; lossy WebP (4:2:0 YUV) may leave a trace of chroma.
    for (name, out, tolerance) in [
        ("gif", one(SQUARES_WEBP, &to_gif), 0),
        ("webp", one(SQUARES_WEBP, &gray), 2),
    ] {
        let (got, _) = frames(&out.bytes);
        assert_eq!(got.len(), 9, "{name}");
        for (i, (frame, _)) in got.iter().enumerate() {
            let worst = frame
                .pixels()
                .filter(|p| p.0[3] > 0)
                .map(|p| p.0[0].abs_diff(p.0[1]).max(p.0[1].abs_diff(p.0[2])))
                .max()
                .unwrap_or(0);
            assert!(
                worst <= tolerance,
                "{name} frame {i}: R = G = B (worst difference {worst})"
            );
        }
    }
}

#[test]
fn watermark_and_circle_take_the_first_frame() {
    let mark = image::RgbaImage::from_pixel(10, 10, image::Rgba([255, 0, 0, 255]));
    let mut png = Vec::new();
    image::DynamicImage::ImageRgba8(mark)
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .expect("png");
    let spec = OperationSpec::parse(
        "test",
        serde_json::json!({"data": [
            {"templateOperationId": "circle", "option": {"radius": 30}},
            {"templateOperationId": "watermark",
             "option": {"watermarkImagePath": "/m.png", "gravity": "NorthWest"}}
        ]})
        .to_string()
        .as_bytes(),
    )
    .expect("valid operation");
    let marks = HashMap::from([("/m.png".to_owned(), bytes::Bytes::from(png))]);
    let p = spec.to_pipeline(&marks).expect("pipeline");
    let out = one(SQUARES_WEBP, &p);
    assert_eq!(
        animation_frames(&out.bytes),
        1,
        "circle crop and watermark do not keep animation"
    );
    let frame = image::load_from_memory(&out.bytes)
        .expect("decodes")
        .into_rgba8();
    assert_eq!(frame.dimensions(), (60, 60));
    let red = frame.get_pixel(5, 5).0;
    assert!(
        red[0] > 200 && red[1] < 60 && red[3] == 255,
        "watermark at the top left, got {red:?}"
    );
    assert_eq!(frame.get_pixel(59, 59).0[3], 0, "outside the circle");
}

/// Frames of an encoded WebP: its ANMF chunks, or 1 for a still image.
fn animation_frames(webp: &[u8]) -> usize {
    let anmf = webp.windows(4).filter(|w| *w == b"ANMF").count();
    anmf.max(1)
}

#[test]
fn frame_and_pixel_limits_of_animations() {
    let keep = fit(40, 40, serde_json::json!({}));
    let still = fit(40, 40, serde_json::json!({"keepAnimation": false}));
    let few = Limits {
        max_frames: 4,
        ..Limits::default()
    };
    for p in [&keep, &still] {
        assert_eq!(
            imaging::run(&corpus(COGS_GIF), p, &few).expect_err("5 frames > 4"),
            ImagingError::TooManyFrames {
                frames: 5,
                limit: 4
            }
        );
    }
    let eight = Limits {
        max_frames: 8,
        ..Limits::default()
    };
    assert_eq!(
        imaging::run(&corpus(SQUARES_WEBP), &keep, &eight).expect_err("9 frames > 8"),
        ImagingError::TooManyFrames {
            frames: 9,
            limit: 8
        }
    );
    let five = Limits {
        max_frames: 5,
        ..Limits::default()
    };
    assert!(
        imaging::run(&corpus(COGS_GIF), &keep, &five).is_ok(),
        "at the limit"
    );

    // Budget: all frames together get the pixels of one still image.
    let budget = Limits {
        max_pixels: 4 * 85 * 77,
        ..Limits::default()
    };
    assert_eq!(
        imaging::run(&corpus(COGS_GIF), &keep, &budget).expect_err("over budget"),
        ImagingError::TooLarge {
            pixels: 5 * 85 * 77,
            limit: 4 * 85 * 77
        }
    );
    let first = imaging::run(&corpus(COGS_GIF), &still, &budget).expect("first frame fits");
    assert_eq!((first[0].width, first[0].height), (40, 36));
}

#[test]
fn lossy_webp_from_a_jpeg_is_smaller_than_lossless() {
    let photo = "photos/photo_small_nikon-p6000_gps_640x480.jpg";
    let lossy = one(
        photo,
        &fit(320, 320, serde_json::json!({"targetExtension": "webp"})),
    );
    assert_eq!(lossy.format, TargetFormat::Webp);
    assert_eq!((lossy.width, lossy.height), (320, 240));
    let info = imaging::webp::inspect(&lossy.bytes).expect("webp");
    assert!(info.lossy, "a JPEG source gives lossy WebP");
    let ours = decoded(&lossy);
    assert_eq!(ours.dimensions(), (320, 240));

    let reference = decoded(&one(
        photo,
        &fit(320, 320, serde_json::json!({"targetExtension": "png"})),
    ));
    let lossless = codec::encode(&reference, TargetFormat::Webp, 75, codec::Carry::default())
        .expect("lossless");
    assert!(!imaging::webp::inspect(&lossless).expect("webp").lossy);
    assert!(
        lossy.bytes.len() * 2 < lossless.len(),
        "lossy {} bytes vs lossless {}",
        lossy.bytes.len(),
        lossless.len()
    );
    let diff = mean_abs_diff(&ours, &reference);
    assert!(diff < 6.0, "lossy WebP differs from the pixels by {diff}");

    let low = one(
        photo,
        &fit(
            320,
            320,
            serde_json::json!({"targetExtension": "webp", "quality": 20}),
        ),
    );
    assert!(low.bytes.len() < lossy.bytes.len(), "quality is applied");
}

#[test]
fn lossy_webp_keeps_alpha_and_metadata() {
    let file = "formats/webp_lossy_alpha_300x300.webp";
    let out = one(file, &fit(150, 150, serde_json::json!({})));
    assert_eq!(out.format, TargetFormat::Webp);
    assert!(imaging::webp::inspect(&out.bytes).expect("webp").lossy);
    let ours = decoded(&out);
    let reference = decoded(&one(
        file,
        &fit(150, 150, serde_json::json!({"targetExtension": "png"})),
    ));
    let transparent = reference.pixels().filter(|p| p.0[3] == 0).count();
    assert!(transparent > 1000, "the source has transparent pixels");
    for (x, y, p) in reference.enumerate_pixels() {
        let got = ours.get_pixel(x, y).0[3];
        assert!(
            got.abs_diff(p.0[3]) <= 2,
            "alpha at {x},{y}: {got} vs {}",
            p.0[3]
        );
        if p.0[3] == 0 {
            assert_eq!(got, 0, "transparent stays transparent at {x},{y}");
        }
    }

    let logo = "alpha/logo_debian-emblem_rgba_256x256.png";
    let png_src = one(
        logo,
        &fit(256, 256, serde_json::json!({"targetExtension": "webp"})),
    );
    assert!(
        !imaging::webp::inspect(&png_src.bytes).expect("webp").lossy,
        "a PNG source gives lossless WebP"
    );
    assert_eq!(
        decoded(&png_src),
        image::load_from_memory(&corpus(logo))
            .expect("png")
            .to_rgba8(),
        "lossless WebP is exact"
    );

    let photo = "photos/photo_small_nikon-p6000_gps_640x480.jpg";
    let exif = pictor::imaging::jpeg::exif(&corpus(photo)).expect("the photo has EXIF");
    let out = one(
        photo,
        &fit(100, 100, serde_json::json!({"targetExtension": "webp"})),
    );
    let mut dec = WebPDecoder::new(Cursor::new(&out.bytes)).expect("webp");
    use image::ImageDecoder;
    assert_eq!(
        dec.exif_metadata().expect("exif"),
        Some(exif),
        "EXIF carried"
    );
    let none = one(
        photo,
        &fit(
            100,
            100,
            serde_json::json!({"targetExtension": "webp", "keepExif": false}),
        ),
    );
    let mut dec = WebPDecoder::new(Cursor::new(&none.bytes)).expect("webp");
    assert_eq!(dec.exif_metadata().expect("exif"), None, "keepExif false");
}

#[test]
fn avif_source_decodes_resizes_and_falls_back_to_jpeg() {
    let bytes = corpus(AVIF);
    assert_eq!(
        codec::probe(&bytes).expect("probe"),
        (ImageFormat::Avif, 2560, 1600)
    );
    let out = one(AVIF, &fit(640, 640, serde_json::json!({})));
    assert_eq!(
        out.format,
        TargetFormat::Jpeg,
        "opaque AVIF falls back to JPEG"
    );
    assert_eq!(out.content_type(), "image/jpeg");
    assert_eq!((out.width, out.height), (640, 400));
    let img = decoded(&out);
    assert_eq!(img.dimensions(), (640, 400));
    // Block means of the same file decoded by Pillow 13 (libavif), 4x4 grid, row by row.
    let reference: [[f64; 3]; 16] = [
        [96., 136., 177.],
        [36., 102., 163.],
        [41., 98., 157.],
        [95., 128., 169.],
        [96., 133., 173.],
        [16., 78., 144.],
        [49., 94., 144.],
        [63., 101., 149.],
        [74., 114., 161.],
        [11., 66., 130.],
        [25., 73., 130.],
        [25., 69., 126.],
        [10., 59., 123.],
        [11., 59., 120.],
        [19., 65., 123.],
        [17., 61., 119.],
    ];
    for (i, want) in reference.iter().enumerate() {
        let (bx, by) = (i as u32 % 4, i as u32 / 4);
        let got = mean_rgb(&img, bx * 160, by * 100, 160, 100);
        for c in 0..3 {
            assert!(
                (got[c] - want[c]).abs() < 5.0,
                "block {i} channel {c}: {got:?} vs {want:?}"
            );
        }
    }
    let whole = mean_rgb(&img, 0, 0, 640, 400);
    for (c, want) in [42.76, 89.75, 144.29].iter().enumerate() {
        assert!((whole[c] - want).abs() < 3.0, "mean {whole:?}");
    }

    let webp = one(
        AVIF,
        &fit(320, 320, serde_json::json!({"targetExtension": "webp"})),
    );
    assert_eq!((webp.width, webp.height), (320, 200));
    assert!(imaging::webp::inspect(&webp.bytes).expect("webp").lossy);

    let small = Limits {
        max_pixels: 1_000_000,
        ..Limits::default()
    };
    assert_eq!(
        imaging::run(&bytes, &fit(100, 100, serde_json::json!({})), &small)
            .expect_err("over the pixel limit"),
        ImagingError::TooLarge {
            pixels: 2560 * 1600,
            limit: 1_000_000
        }
    );
    assert!(
        matches!(
            imaging::run(
                &bytes[..2000],
                &fit(100, 100, serde_json::json!({})),
                &Limits::default()
            ),
            Err(ImagingError::Corrupt(_))
        ),
        "a truncated AVIF is corrupt"
    );
}

#[test]
fn unwritable_formats_fall_back_to_jpeg_or_to_png_under_a_circle() {
    let gray = pipeline(serde_json::json!([{"templateOperationId": "gray"}]));
    for file in [
        "formats/bmp_24bit_bird_192x144.bmp",
        "formats/tiff_rgb_uncompressed_mandrill_512x512.tiff",
    ] {
        let out = one(file, &gray);
        assert_eq!(out.format, TargetFormat::Jpeg, "{file}: opaque gives JPEG");
        assert_eq!(
            image::guess_format(&out.bytes).expect("format"),
            ImageFormat::Jpeg
        );
    }
    // The corpus has no alpha BMP or TIFF: make them.
    let rgba = RgbaImage::from_fn(64, 48, |x, _| {
        image::Rgba([200, 100, 50, if x < 32 { 0 } else { 255 }])
    });
    for format in [ImageFormat::Tiff, ImageFormat::Bmp] {
        let mut bytes = Vec::new();
        image::DynamicImage::ImageRgba8(rgba.clone())
            .write_to(&mut Cursor::new(&mut bytes), format)
            .expect("encode source");
        let out = imaging::run(&bytes, &gray, &Limits::default()).expect("run");
        assert_eq!(
            out[0].format,
            TargetFormat::Jpeg,
            "{format:?} with alpha gives JPEG, as the service names it"
        );
        let img = decoded(&out[0]);
        let [r, g, b, a] = img.get_pixel(4, 4).0;
        assert!(
            r > 245 && g > 245 && b > 245 && a == 255,
            "{format:?}: flattened onto white"
        );
        let [r, _, _, _] = img.get_pixel(59, 4).0;
        assert!(
            (90..150).contains(&r),
            "{format:?}: opaque half gray, got {r}"
        );
    }
    // An opaque source whose output gains transparency (circle) is PNG too.
    let circle = pipeline(serde_json::json!([
        {"templateOperationId": "circle", "option": {"radius": 50}}
    ]));
    let out = one("formats/bmp_24bit_bird_192x144.bmp", &circle);
    assert_eq!(out.format, TargetFormat::Png);
}

#[test]
fn cut_animations_give_typed_errors_not_panics() {
    let keep = fit(40, 40, serde_json::json!({}));
    for file in [COGS_GIF, SQUARES_WEBP] {
        let bytes = corpus(file);
        for len in [20, bytes.len() / 3, bytes.len() / 2, bytes.len() - 10] {
            match imaging::run(&bytes[..len], &keep, &Limits::default()) {
                Ok(out) => {
                    let (got, _) = frames(&out[0].bytes);
                    assert!(
                        !got.is_empty(),
                        "{file} cut at {len}: frames decoded so far"
                    );
                }
                Err(e) => assert!(
                    matches!(e, ImagingError::Corrupt(_) | ImagingError::Unsupported),
                    "{file} cut at {len}: {e:?}"
                ),
            }
        }
    }
}
