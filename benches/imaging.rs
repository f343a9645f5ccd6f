//! Cold-render cost of the imaging engine on one core: decode, operation, encode, per image,
//! measured as CPU time of the rendering thread (not wall time, which steal time and other
//! tenants inflate on a shared machine). Run with `cargo bench --bench imaging`;
//! `benches/vips_reference.py` times the same JPEG cases through libvips for the reference
//! ratio, and `benches/imaging.sh` runs both in alternating rounds.

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_group, criterion_main, Criterion};
use pictor::imaging::{self, Limits, Pipeline};
use pictor::operation::OperationSpec;
use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

/// Criterion measurement: CPU time consumed by the calling thread
/// (`CLOCK_THREAD_CPUTIME_ID`), in nanoseconds. The engine renders on the calling thread, so
/// this is the CPU cost of one render on one core. Values are nanoseconds as with wall time, so
/// criterion's wall-time formatter prints them.
struct ThreadCpu(WallTime);

impl ThreadCpu {
    /// The calling thread's CPU time so far.
    fn now() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a live, writable `timespec` for the whole call, and
        // `CLOCK_THREAD_CPUTIME_ID` is a valid clock id on Linux.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(
            rc,
            0,
            "clock_gettime(CLOCK_THREAD_CPUTIME_ID): {}",
            std::io::Error::last_os_error()
        );
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
}

impl Measurement for ThreadCpu {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        Self::now()
    }

    fn end(&self, start: Duration) -> Duration {
        Self::now().saturating_sub(start)
    }

    fn add(&self, v1: &Duration, v2: &Duration) -> Duration {
        *v1 + *v2
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        self.0.formatter()
    }
}

fn shared(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (../shared must be beside the checkout)",
            path.display()
        )
    })
}

/// The 12 MP photo re-encoded (quality 92, 4:2:0) without its restart markers, written to
/// `target/12mp_no_restarts.jpg` for `benches/vips_reference.py`. The camera wrote a restart
/// marker every 4 MCUs, which keeps libjpeg-turbo (Pictor's and libvips's) on its slow Huffman
/// path; most files have none.
fn without_restarts(bytes: &[u8]) -> Vec<u8> {
    let rgb = pictor::imaging::jpeg::decode_rgb(
        bytes,
        turbojpeg::ScalingFactor::ONE,
        &pictor::imaging::Limits::default(),
    )
    .expect("decode")
    .expect("a YCbCr JPEG");
    let out =
        pictor::imaging::jpeg::encode(rgb.as_raw(), rgb.width(), rgb.height(), 92, None, None)
            .expect("encode");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/12mp_no_restarts.jpg");
    std::fs::write(&path, &out).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

fn pipeline(body: &str, marks: &HashMap<String, bytes::Bytes>) -> Pipeline {
    OperationSpec::parse("bench", body.as_bytes())
        .and_then(|s| s.to_pipeline(marks))
        .unwrap_or_else(|e| panic!("bench operation: {e}"))
}

const THUMB_300: &str = r#"{"data": [{"templateOperationId": "resize_width_fit",
    "option": {"width": 300, "quality": 80}}]}"#;

fn bench(c: &mut Criterion<ThreadCpu>) {
    let limits = Limits::default();
    let none = HashMap::new();
    let thumb = pipeline(THUMB_300, &none);
    let cases = [
        (
            "jpeg_12mp_to_300",
            "corpus/photos/photo_12mp_olympus-ep3_4032x3024.jpg",
        ),
        ("jpeg_2.6mp_to_300", "bench/photos/02_BytheWater.jpg"),
        (
            "jpeg_progressive_4mp_to_300",
            "corpus/photos/photo_progressive_sony-nex3n_2560x1600.jpg",
        ),
    ];
    let mut group = c.benchmark_group("render");
    group.sample_size(20);
    for (name, file) in cases {
        let bytes = shared(file);
        group.bench_function(name, |b| {
            b.iter(|| imaging::run(black_box(&bytes), &thumb, &limits).expect("render"))
        });
    }
    let fit512 = pipeline(
        r#"{"data": [{"templateOperationId": "resize_max_fit",
            "option": {"width": 512, "height": 512, "quality": 80}}]}"#,
        &none,
    );
    let photo = shared("bench/photos/02_BytheWater.jpg");
    group.bench_function("jpeg_2.6mp_to_512_fit", |b| {
        b.iter(|| imaging::run(black_box(&photo), &fit512, &limits).expect("render"))
    });
    let plain = without_restarts(&shared(cases[0].1));
    group.bench_function("jpeg_12mp_no_restarts_to_300", |b| {
        b.iter(|| imaging::run(black_box(&plain), &thumb, &limits).expect("render"))
    });
    let png = shared("corpus/alpha/logo_debian-emblem_rgba_256x256.png");
    let half = pipeline(
        r#"{"data": [{"templateOperationId": "resize_max_fit", "option": {"width": 128, "height": 128}}]}"#,
        &none,
    );
    group.bench_function("png_alpha_256_to_128", |b| {
        b.iter(|| imaging::run(black_box(&png), &half, &limits).expect("render"))
    });
    let gif = shared("corpus/animated/anim_gif_cogs_transparent_5frames_85x77.gif");
    let gray = pipeline(r#"{"data": [{"templateOperationId": "gray"}]}"#, &none);
    group.bench_function("gif_animated_gray", |b| {
        b.iter(|| imaging::run(black_box(&gif), &gray, &limits).expect("render"))
    });
    let mut marks = HashMap::new();
    marks.insert("/mark.png".to_owned(), bytes::Bytes::from(png.clone()));
    let marked = pipeline(
        r#"{"data": [{"templateOperationId": "resize_width_fit", "option": {"width": 300, "quality": 80}},
                     {"templateOperationId": "watermark", "option": {"watermarkImagePath": "/mark.png", "gravity": "SouthEast"}}]}"#,
        &marks,
    );
    let photo = shared("corpus/photos/photo_12mp_olympus-ep3_4032x3024.jpg");
    group.bench_function("jpeg_12mp_to_300_watermark", |b| {
        b.iter(|| imaging::run(black_box(&photo), &marked, &limits).expect("render"))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu(WallTime));
    targets = bench
}
criterion_main!(benches);
