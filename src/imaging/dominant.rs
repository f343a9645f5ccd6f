//! The dominant colour of an image, from a small decode.
//!
//! "Dominant" is defined on a coarse histogram: every colour falls in one of 4096 buckets (the
//! top 4 bits of red, green and blue); the fullest bucket wins (ties: the lowest bucket, in
//! red, green, blue order) and its colour is the mean of the pixels in it, rounded. Fully
//! transparent pixels are not counted, partly transparent ones count as their colour; an image
//! with no pixel left has no dominant colour.
//!
//! The decode is small and cheap: a JPEG is decoded at the smallest DCT scale (1/8, 1/4, 1/2)
//! that still leaves [`MIN_PIXELS`], through the reduced decoder at 1/8 and 1/4 (libjpeg-turbo
//! otherwise, and for what the reduced decoder does not cover); other formats are decoded
//! whole (their first frame) under the same pixel limit as renders, then read at most
//! [`MAX_SAMPLES`] pixels on a regular grid (nearest neighbour).

use super::{budget, codec, guard, jpeg, reduced, ImagingError, Limits};
use image::{ImageFormat, RgbImage, RgbaImage};
use turbojpeg::ScalingFactor;

/// Fewest pixels a JPEG is decoded to, when its size allows.
pub const MIN_PIXELS: u64 = 16384;

/// Most pixels read from a decoded image.
pub const MAX_SAMPLES: u64 = 1 << 18;

/// Bits kept of each channel to name a bucket.
const BUCKET_BITS: u32 = 4;

/// The dominant colour of an encoded image as `[r, g, b]`; `None` when every pixel is fully
/// transparent. The pixel limit of `limits` is checked on the header before anything is
/// decoded, and a decoder's panic is caught ([`ImagingError::Panicked`]).
pub fn dominant_color(bytes: &[u8], limits: &Limits) -> Result<Option<[u8; 3]>, ImagingError> {
    guard::catch(|| {
        let (format, w, h) = codec::probe(bytes)?;
        budget::source(u64::from(w), u64::from(h), limits)?;
        let mut histogram = Histogram::new();
        if format == ImageFormat::Jpeg {
            match small_jpeg(bytes, limits)? {
                Small::Rgb(img) => histogram.add_rgb(&img),
                Small::Rgba(img) => histogram.add_rgba(&img),
            }
        } else {
            histogram.add_rgba(&codec::decode(bytes, limits, None)?.image);
        }
        Ok(histogram.dominant())
    })
}

/// The dominant colour of decoded pixels, as [`dominant_color`] defines it.
pub fn dominant_color_of(img: &RgbaImage) -> Option<[u8; 3]> {
    let mut histogram = Histogram::new();
    histogram.add_rgba(img);
    histogram.dominant()
}

/// A JPEG decoded small: three channels, or four for CMYK sources.
enum Small {
    Rgb(RgbImage),
    Rgba(RgbaImage),
}

/// Decodes a JPEG at the smallest DCT scale leaving at least [`MIN_PIXELS`] pixels.
fn small_jpeg(bytes: &[u8], limits: &Limits) -> Result<Small, ImagingError> {
    let (w, h) = jpeg::dimensions(bytes)?;
    budget::source(u64::from(w), u64::from(h), limits)?;
    let denominator = [8u32, 4, 2]
        .into_iter()
        .find(|&d| u64::from(w.div_ceil(d)) * u64::from(h.div_ceil(d)) >= MIN_PIXELS)
        .unwrap_or(1);
    if denominator >= 4 {
        if let Some(img) = reduced::decode(bytes, denominator as usize, limits.max_pixels) {
            return Ok(Small::Rgb(img));
        }
    }
    let factor = ScalingFactor::new(1, denominator as usize);
    match jpeg::decode_rgb(bytes, factor, limits)? {
        Some(img) => Ok(Small::Rgb(img)),
        None => Ok(Small::Rgba(jpeg::decode(bytes, factor, limits)?)),
    }
}

/// Pixels counted per bucket, with the sums of their channels.
struct Histogram {
    /// Per bucket: count, red sum, green sum, blue sum.
    buckets: Vec<[u64; 4]>,
}

impl Histogram {
    fn new() -> Self {
        Self {
            buckets: vec![[0; 4]; 1 << (3 * BUCKET_BITS)],
        }
    }

    /// Counts one pixel.
    fn add(&mut self, [r, g, b]: [u8; 3]) {
        let shift = 8 - BUCKET_BITS;
        let index = (usize::from(r >> shift) << (2 * BUCKET_BITS))
            | (usize::from(g >> shift) << BUCKET_BITS)
            | usize::from(b >> shift);
        let bucket = &mut self.buckets[index];
        bucket[0] += 1;
        bucket[1] += u64::from(r);
        bucket[2] += u64::from(g);
        bucket[3] += u64::from(b);
    }

    fn add_rgb(&mut self, img: &RgbImage) {
        for (x, y) in samples(img.width(), img.height()) {
            self.add(img.get_pixel(x, y).0);
        }
    }

    fn add_rgba(&mut self, img: &RgbaImage) {
        for (x, y) in samples(img.width(), img.height()) {
            let [r, g, b, a] = img.get_pixel(x, y).0;
            if a > 0 {
                self.add([r, g, b]);
            }
        }
    }

    /// The mean colour of the fullest bucket (the first of equal ones); `None` when empty.
    fn dominant(&self) -> Option<[u8; 3]> {
        let mut best: Option<&[u64; 4]> = None;
        for bucket in &self.buckets {
            if bucket[0] > best.map_or(0, |b| b[0]) {
                best = Some(bucket);
            }
        }
        let [n, r, g, b] = *best?;
        let mean = |sum: u64| u8::try_from((sum + n / 2) / n).unwrap_or(u8::MAX);
        Some([mean(r), mean(g), mean(b)])
    }
}

/// The pixels read of a `w` x `h` image: all of them up to [`MAX_SAMPLES`], else one every
/// `step` columns of one every `step` rows, the smallest step that keeps within it.
fn samples(w: u32, h: u32) -> impl Iterator<Item = (u32, u32)> {
    let pixels = u64::from(w) * u64::from(h);
    let mut step = 1u32;
    while pixels.div_ceil(u64::from(step) * u64::from(step)) > MAX_SAMPLES {
        step += 1;
    }
    (0..h)
        .step_by(step as usize)
        .flat_map(move |y| (0..w).step_by(step as usize).map(move |x| (x, y)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, Rgba};

    fn limits() -> Limits {
        Limits::default()
    }

    fn png(img: &RgbaImage) -> Vec<u8> {
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), ImageFormat::Png)
            .expect("encode");
        out
    }

    #[test]
    fn a_solid_image_gives_exactly_its_colour() {
        for colour in [[0, 0, 0], [255, 255, 255], [18, 52, 86], [200, 17, 130]] {
            let img = RgbaImage::from_pixel(37, 23, Rgba([colour[0], colour[1], colour[2], 255]));
            assert_eq!(
                dominant_color(&png(&img), &limits()),
                Ok(Some(colour)),
                "{colour:?}"
            );
        }
    }

    #[test]
    fn the_majority_colour_wins_and_transparent_pixels_do_not_count() {
        let mut img = RgbaImage::from_pixel(10, 10, Rgba([10, 200, 30, 255]));
        for x in 0..10 {
            for y in 0..4 {
                img.put_pixel(x, y, Rgba([240, 20, 20, 255]));
            }
        }
        assert_eq!(
            dominant_color(&png(&img), &limits()),
            Ok(Some([10, 200, 30]))
        );
        for x in 0..10 {
            for y in 4..8 {
                img.put_pixel(x, y, Rgba([0, 0, 0, 0]));
            }
        }
        assert_eq!(
            dominant_color(&png(&img), &limits()),
            Ok(Some([240, 20, 20])),
            "40 red pixels against 20 green, 40 transparent ones not counted"
        );
        let clear = RgbaImage::from_pixel(4, 4, Rgba([9, 9, 9, 0]));
        assert_eq!(dominant_color(&png(&clear), &limits()), Ok(None));
    }

    #[test]
    fn the_colour_is_the_mean_within_the_bucket() {
        let mut img = RgbaImage::from_pixel(2, 2, Rgba([16, 32, 48, 255]));
        img.put_pixel(0, 0, Rgba([31, 47, 63, 255]));
        // Both colours are in one bucket (1, 2, 3): its mean, rounded.
        assert_eq!(dominant_color_of(&img), Some([20, 36, 52]));
    }

    #[test]
    fn a_solid_jpeg_gives_its_colour_within_compression_error() {
        let img = RgbImage::from_pixel(640, 480, Rgb([40, 120, 200]));
        let bytes = jpeg::encode(img.as_raw(), 640, 480, 95, None, None).expect("encode");
        let [r, g, b] = dominant_color(&bytes, &limits())
            .expect("decodes")
            .expect("a colour");
        for (got, want) in [(r, 40), (g, 120), (b, 200)] {
            assert!(got.abs_diff(want) <= 2, "{:?}", [r, g, b]);
        }
    }

    #[test]
    fn sampling_keeps_within_the_bound() {
        assert_eq!(samples(512, 512).count(), 512 * 512);
        let big = samples(4000, 3000).count() as u64;
        assert!(big <= MAX_SAMPLES && big > MAX_SAMPLES / 2, "{big}");
        assert_eq!(samples(1, 1).count(), 1);
    }

    #[test]
    fn sources_over_the_pixel_limit_are_refused_before_decoding() {
        let img = RgbaImage::from_pixel(100, 100, Rgba([1, 2, 3, 255]));
        let small = Limits {
            max_pixels: 9_999,
            ..Limits::default()
        };
        assert!(matches!(
            dominant_color(&png(&img), &small),
            Err(ImagingError::TooLarge { .. })
        ));
        assert!(dominant_color(b"not an image", &limits()).is_err());
    }
}

#[cfg(test)]
mod corpus_tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::PathBuf;

    fn corpus_dir() -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        assert!(dir.is_dir(), "test corpus missing at {}", dir.display());
        dir
    }

    /// The reference: every pixel of a full-size decode that is not fully transparent,
    /// bucketed in a map keyed by the top nibbles; per bucket its count and channel sums.
    fn reference(img: &RgbaImage) -> HashMap<(u8, u8, u8), (u64, [u64; 3])> {
        let mut cube = vec![(0u64, [0u64; 3]); 16 * 16 * 16];
        for p in img.as_raw().chunks_exact(4).filter(|p| p[3] != 0) {
            let cell = &mut cube[usize::from(p[0] / 16) * 256
                + usize::from(p[1] / 16) * 16
                + usize::from(p[2] / 16)];
            cell.0 += 1;
            for (sum, value) in cell.1.iter_mut().zip(p) {
                *sum += u64::from(*value);
            }
        }
        let mut map = HashMap::new();
        for (i, cell) in cube.into_iter().enumerate().filter(|(_, c)| c.0 > 0) {
            map.insert(((i / 256) as u8, (i / 16 % 16) as u8, (i % 16) as u8), cell);
        }
        map
    }

    /// The reference's fullest bucket (lowest of equal ones) and a bucket's rounded mean.
    fn fullest(map: &HashMap<(u8, u8, u8), (u64, [u64; 3])>) -> (u8, u8, u8) {
        let most = map.values().map(|e| e.0).max().expect("some pixels");
        *map.iter()
            .filter(|(_, e)| e.0 == most)
            .map(|(k, _)| k)
            .min()
            .expect("a bucket")
    }

    fn mean(entry: &(u64, [u64; 3])) -> [u8; 3] {
        let (n, sums) = entry;
        sums.map(|s| u8::try_from((s + n / 2) / n).expect("a channel"))
    }

    /// Every image of the corpus manifest, except the malformed ones, against a reference
    /// computed here from a full-size decode by another decoder (the `image` crate; libavif
    /// for AVIF, which it lacks). An image read whole (no JPEG scaling, no sampling) must give
    /// exactly the reference. A scaled or sampled one must give a colour whose bucket is
    /// frequent in the full image (at least 3/4 of the fullest bucket's pixels) and which is
    /// within 4 of that bucket's full-size mean on each channel.
    #[test]
    fn corpus_images_give_their_dominant_colour() {
        let dir = corpus_dir();
        let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("manifest");
        let mut checked = 0;
        for line in manifest.lines().skip(1) {
            let rel = line.split('\t').next().unwrap_or_default();
            if rel.starts_with("malformed/") || rel.is_empty() {
                continue;
            }
            let bytes = std::fs::read(dir.join(rel)).expect("corpus file");
            let got = dominant_color(&bytes, &Limits::default())
                .unwrap_or_else(|e| panic!("{rel}: {e}"))
                .unwrap_or_else(|| panic!("{rel}: no colour"));
            let (format, w, h) = codec::probe(&bytes).expect("probe");
            let full = if format == ImageFormat::Avif {
                super::super::avif::decode(&bytes, &Limits::default()).expect("libavif")
            } else {
                image::load_from_memory(&bytes)
                    .expect("decode")
                    .into_rgba8()
            };
            let map = reference(&full);
            let best = fullest(&map);
            let whole = format != ImageFormat::Jpeg && u64::from(w) * u64::from(h) <= MAX_SAMPLES;
            if whole {
                assert_eq!(got, mean(&map[&best]), "{rel}: exactly the reference");
            } else {
                let bucket = (got[0] / 16, got[1] / 16, got[2] / 16);
                let entry = map
                    .get(&bucket)
                    .unwrap_or_else(|| panic!("{rel}: {got:?} absent"));
                assert!(
                    entry.0 * 4 >= map[&best].0 * 3,
                    "{rel}: {got:?} holds {} pixels, the fullest bucket {}",
                    entry.0,
                    map[&best].0
                );
                let full_mean = mean(entry);
                for c in 0..3 {
                    assert!(
                        got[c].abs_diff(full_mean[c]) <= 4,
                        "{rel}: {got:?} against {full_mean:?}"
                    );
                }
            }
            checked += 1;
        }
        assert!(checked >= 30, "the corpus holds {checked} images");
    }

    #[test]
    fn what_the_corpus_images_show() {
        let colour = |rel: &str| {
            let bytes = std::fs::read(corpus_dir().join(rel)).expect("corpus file");
            dominant_color(&bytes, &Limits::default())
                .expect("decodes")
                .expect("a colour")
        };
        assert_eq!(
            colour("edge/one_pixel_1x1.png"),
            [0, 0, 255],
            "its one pixel"
        );
        let [r, g, b] = colour("alpha/logo_debian-emblem_rgba_256x256.png");
        assert!(
            r > 150 && g < 30 && b < 80,
            "the logo's red, not its transparent background: {:?}",
            [r, g, b]
        );
        let [r, g, b] = colour("photos/photo_grayscale_2560x1600.jpg");
        assert!(r == g && g == b, "grey: {:?}", [r, g, b]);
        let [r, g, b] =
            colour("orientation/camera_canon-a85_orientation_8_stored-portrait_1704x2272.jpg");
        assert!(b > 200 && b > g && g > r, "a blue sky: {:?}", [r, g, b]);
    }
}
