//! The reduced JPEG decoder against the true reduced image and libjpeg-turbo's DCT-scaled
//! decode of the same files: same size, as close to the truth or closer; `None` for the files it leaves to libjpeg-turbo; no panic on
//! damaged data.

mod common;

use common::corpus;
use image::RgbImage;
use pictor::imaging::{jpeg, reduced, Limits};
use turbojpeg::ScalingFactor;

/// The default source pixel limit.
const MAX_PIXELS: u64 = 100_000_000;

fn reference(bytes: &[u8], denominator: usize) -> RgbImage {
    let factor = ScalingFactor::new(1, denominator);
    jpeg::decode_rgb(bytes, factor, &Limits::default())
        .expect("libjpeg-turbo decodes it")
        .expect("a YCbCr or grayscale JPEG")
}

/// The true reduced image: every pixel the mean of the cell of the full-size decode it covers.
fn truth(bytes: &[u8], denominator: usize) -> Vec<f64> {
    let full = reference(bytes, 1);
    let (w, h) = (full.width() as usize, full.height() as usize);
    let (rw, rh) = (w.div_ceil(denominator), h.div_ceil(denominator));
    let mut out = vec![0f64; rw * rh * 3];
    for y in 0..rh {
        for x in 0..rw {
            let (ys, xs) = (
                y * denominator..((y + 1) * denominator).min(h),
                x * denominator..((x + 1) * denominator).min(w),
            );
            let n = (ys.len() * xs.len()) as f64;
            for yy in ys {
                for xx in xs.clone() {
                    let px = full.get_pixel(xx as u32, yy as u32);
                    for c in 0..3 {
                        out[(y * rw + x) * 3 + c] += f64::from(px[c]) / n;
                    }
                }
            }
        }
    }
    out
}

/// Mean absolute difference from the true reduced image.
fn error(img: &RgbImage, truth: &[f64]) -> f64 {
    assert_eq!(
        img.as_raw().len(),
        truth.len(),
        "size of the true reduced image"
    );
    let total: f64 = img
        .as_raw()
        .iter()
        .zip(truth)
        .map(|(&a, &t)| (f64::from(a) - t).abs())
        .sum();
    total / truth.len() as f64
}

/// Every layout the decoder covers: 4:2:2 with restart markers, 4:4:4, grayscale, 4:4:0,
/// 4:2:0, odd sizes, extreme aspect ratios, at 1/4 and 1/8. Its pixels are as close to the
/// true reduced image as libjpeg-turbo's, or closer (libjpeg-turbo reduces subsampled chroma
/// and then upsamples it; here chroma is computed at the output size).
#[test]
fn as_close_to_the_truth_as_libjpeg_turbo() {
    let files = [
        "photos/photo_12mp_olympus-ep3_4032x3024.jpg",
        "photos/photo_4mp_olympus-em1_forest_2560x1600.jpg",
        "photos/photo_grayscale_2560x1600.jpg",
        "photos/photo_portrait_canon-ixus40_1704x2272.jpg",
        "photos/photo_small_nikon-p6000_gps_640x480.jpg",
        "photos/photo_icc_adobe-rgb_rocket_640x427.jpg",
        "orientation/camera_iphone5_orientation_3_3264x2448.jpg",
        "orientation/camera_samsung-j327t1_orientation_6_2576x1932.jpg",
        "edge/very_tall_50x8000.jpg",
        "edge/very_wide_8000x50.jpg",
    ];
    for file in files {
        let bytes = corpus(file);
        for denominator in [4, 8] {
            let ours = reduced::decode(&bytes, denominator, MAX_PIXELS)
                .unwrap_or_else(|| panic!("{file} at 1/{denominator}: not decoded"));
            let turbo = reference(&bytes, denominator);
            assert_eq!(
                ours.dimensions(),
                turbo.dimensions(),
                "{file} at 1/{denominator}"
            );
            let truth = truth(&bytes, denominator);
            let (e_ours, e_turbo) = (error(&ours, &truth), error(&turbo, &truth));
            eprintln!("{file} 1/{denominator}: error {e_ours:.3}, libjpeg-turbo {e_turbo:.3}");
            assert!(
                e_ours <= e_turbo * 1.05 + 0.02 && e_ours < 1.5,
                "{file} at 1/{denominator}: error {e_ours:.3}, libjpeg-turbo {e_turbo:.3}"
            );
        }
    }
}

/// Progressive, CMYK, other scales and damaged files are left to libjpeg-turbo.
#[test]
fn leaves_other_files_to_libjpeg_turbo() {
    let progressive = corpus("photos/photo_progressive_sony-nex3n_2560x1600.jpg");
    assert!(reduced::decode(&progressive, 4, MAX_PIXELS).is_none());
    let cmyk = corpus("photos/photo_cmyk_swop-profile_500x333.jpg");
    assert!(reduced::decode(&cmyk, 4, MAX_PIXELS).is_none());
    let photo = corpus("photos/photo_4mp_olympus-em1_forest_2560x1600.jpg");
    assert!(reduced::decode(&photo, 2, MAX_PIXELS).is_none());
    assert!(reduced::decode(&photo, 1, MAX_PIXELS).is_none());
    let truncated = corpus("malformed/truncated_jpeg_first10000bytes.jpg");
    assert!(reduced::decode(&truncated, 4, MAX_PIXELS).is_none());
    assert!(reduced::decode(&photo[..photo.len() / 2], 8, MAX_PIXELS).is_none());
    assert!(reduced::decode(&[], 4, MAX_PIXELS).is_none());
    assert!(reduced::decode(b"\xFF\xD8\xFF", 4, MAX_PIXELS).is_none());
}

/// What libjpeg-turbo reports as damage (and Pictor then as a corrupt image) is left to it:
/// bytes left over in the scan, a missing EOI, a second scan. `jpeg::decode_rgb` fails on
/// each, so the user sees the same error at every scale.
#[test]
fn leaves_damage_libjpeg_reports_to_it() {
    let photo = corpus("photos/photo_small_nikon-p6000_gps_640x480.jpg");
    let eoi = photo.len() - 2;
    assert_eq!(photo[eoi..], [0xFF, 0xD9]);
    assert!(
        reduced::decode(&photo, 4, MAX_PIXELS).is_some(),
        "the intact photo is covered"
    );
    let junk = [&photo[..eoi], &[0x55; 12], &photo[eoi..]].concat();
    let no_eoi = photo[..eoi].to_vec();
    let sos = photo
        .windows(2)
        .position(|w| w == [0xFF, 0xDA])
        .expect("a scan");
    let second_scan = [&photo[..eoi], &photo[sos..sos + 200], &[0xFF, 0xD9]].concat();
    for (name, bytes) in [
        ("junk", junk),
        ("no EOI", no_eoi),
        ("second scan", second_scan),
    ] {
        assert!(reduced::decode(&bytes, 4, MAX_PIXELS).is_none(), "{name}");
        assert!(
            jpeg::decode_rgb(&bytes, ScalingFactor::new(1, 4), &Limits::default()).is_err(),
            "{name}"
        );
    }
}

/// An AC symbol of size 0 and a run below 15 ends the block, as EOB does (T.81 F.2.2.2):
/// with EOB relabelled 0x10 in every AC table, the photo decodes to the same pixels.
#[test]
fn any_size_zero_symbol_but_zrl_ends_the_block() {
    let photo = corpus("photos/photo_small_nikon-p6000_gps_640x480.jpg");
    let mut relabelled = photo.clone();
    let mut pos = 2;
    let mut changed = 0;
    while photo[pos + 1] != 0xDA {
        let len = usize::from(u16::from_be_bytes([photo[pos + 2], photo[pos + 3]]));
        if photo[pos + 1] == 0xC4 {
            let mut t = pos + 4;
            while t < pos + 2 + len {
                let count: usize = photo[t + 1..t + 17].iter().map(|&c| usize::from(c)).sum();
                let symbols = t + 17..t + 17 + count;
                if photo[t] >> 4 == 1 {
                    assert!(!photo[symbols.clone()].contains(&0x10));
                    let eob =
                        symbols.start + photo[symbols].iter().position(|&s| s == 0).expect("EOB");
                    relabelled[eob] = 0x10;
                    changed += 1;
                }
                t += 17 + count;
            }
        }
        pos += 2 + len;
    }
    assert!(changed > 0, "an AC table");
    for denominator in [4, 8] {
        let original = reduced::decode(&photo, denominator, MAX_PIXELS).expect("decoded");
        let ours = reduced::decode(&relabelled, denominator, MAX_PIXELS).expect("decoded");
        assert!(ours == original, "1/{denominator}: the same pixels");
    }
}

/// A damaged scan never panics: byte flips all through a small photo and across the restart
/// intervals of the camera photo, and every truncation of the small one, decode to something
/// of the right size or to `None`.
#[test]
fn damaged_data_never_panics() {
    let bytes = corpus("malformed/corrupt_huffman_data_640x480.jpg");
    let _ = reduced::decode(&bytes, 4, MAX_PIXELS);
    let small = corpus("photos/photo_small_nikon-p6000_gps_640x480.jpg");
    for cut in (0..small.len()).step_by(997) {
        assert!(
            reduced::decode(&small[..cut], 8, MAX_PIXELS).is_none(),
            "cut at {cut}"
        );
    }
    let flips = |bytes: &[u8], step: usize, size: (u32, u32)| {
        for (i, at) in (2..bytes.len()).step_by(step).enumerate() {
            let mut damaged = bytes.to_vec();
            damaged[at] ^= 1 << (i % 8);
            if let Some(img) = reduced::decode(&damaged, 8, MAX_PIXELS) {
                assert_eq!(img.dimensions(), size, "flip at {at}");
            }
        }
    };
    flips(&small, 331, (80, 60));
    let photo = corpus("photos/photo_12mp_olympus-ep3_4032x3024.jpg");
    flips(&photo, photo.len() / 24, (504, 378));
}
