//! Upload cost: `ingest::store_upload` (header read, dominant colour on the render pool while
//! the bytes are written, blob put with fsync, catalog entry with `synchronous=FULL`) timed in
//! a loop over the 20 photos of `../shared/bench/photos`, one upload at a time, on a fresh
//! SQLite catalog and local blob store. It prints, per upload, the median and mean wall time
//! and the process CPU time (every thread: the pool's, tokio's, SQLite's); the time of the
//! catalog lookup delivery makes for an original (`stored_file`, which reads the file's tags);
//! then the CPU time of the dominant colour alone per photo, on the calling thread.
//!
//! Run with `cargo bench --bench upload`; `UPLOAD_ROUNDS` (default 10) passes over the photos
//! are timed after one pass of warm-up, in a directory under `UPLOAD_BENCH_DIR` (default the
//! system's temporary directory; a tmpfs such as `/dev/shm` leaves out the disk's fsyncs).

use pictor::app::open_context;
use pictor::catalog::OnConflict;
use pictor::config::Config;
use pictor::imaging::{dominant, Limits};
use pictor::variant::Variants;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// CPU time of the whole process (every thread), as the kernel accounts it.
fn process_cpu() -> Duration {
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a live, writable `rusage` for the whole call, and `RUSAGE_SELF` is a
    // valid target.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage: {}", std::io::Error::last_os_error());
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// CPU time of the calling thread, to the nanosecond (`CLOCK_THREAD_CPUTIME_ID`).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live, writable `timespec` for the whole call, and
    // `CLOCK_THREAD_CPUTIME_ID` is a valid clock id on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime: {}", std::io::Error::last_os_error());
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn photos() -> Vec<(String, bytes::Bytes)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/photos");
    let mut all: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, bytes::Bytes::from(std::fs::read(&p).expect("read")))
        })
        .collect();
    all.sort();
    assert_eq!(all.len(), 20, "20 photos in {}", dir.display());
    all
}

/// Catalog lookups timed, one at a time.
const LOOKUPS: usize = 20_000;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let rounds: usize = std::env::var("UPLOAD_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let base = std::env::var_os("UPLOAD_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new()
        .prefix("pictor-upload-bench")
        .tempdir_in(&base)
        .expect("temporary directory");
    let photos = photos();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (mut walls, cpu_total, count, lookup) = runtime.block_on(async {
        let mut config = Config::default();
        config.server.data_dir = dir.path().to_owned();
        let ctx = Arc::new(open_context(config, None).await.expect("open"));
        let app = ctx.create_app("bench").await.expect("app");
        let variants = Variants::new(ctx);
        let mut walls = Vec::with_capacity(rounds * photos.len());
        let mut cpu_start = process_cpu();
        for round in 0..=rounds {
            if round == 1 {
                cpu_start = process_cpu();
            }
            for (name, bytes) in &photos {
                let path = format!("/bench/{round}/{name}");
                let started = Instant::now();
                pictor::ingest::store_upload(
                    &variants,
                    &app,
                    &path,
                    bytes.clone(),
                    OnConflict::Fail,
                    Vec::new(),
                )
                .await
                .expect("upload");
                if round > 0 {
                    walls.push(started.elapsed());
                }
            }
        }
        let count = walls.len();
        let cpu_total = process_cpu() - cpu_start;
        let paths: Vec<String> = photos
            .iter()
            .map(|(name, _)| format!("/bench/1/{name}"))
            .collect();
        let started = Instant::now();
        for i in 0..LOOKUPS {
            let found = variants
                .catalog
                .stored_file(&app.app_key, &paths[i % paths.len()])
                .await
                .expect("lookup");
            assert!(found.is_some(), "the uploaded file");
        }
        (walls, cpu_total, count, started.elapsed() / LOOKUPS as u32)
    });
    walls.sort();
    let mean = walls.iter().sum::<Duration>() / count as u32;
    println!(
        "uploads: {count} ({rounds} rounds of {}) in {}",
        photos.len(),
        base.display()
    );
    println!(
        "upload wall ms: median {:.2}, mean {:.2}; process CPU ms per upload: {:.2}",
        ms(walls[count / 2]),
        ms(mean),
        ms(cpu_total) / count as f64
    );
    println!(
        "delivery lookup (stored_file) µs: {:.1}",
        lookup.as_secs_f64() * 1e6
    );
    let limits = Limits::default();
    let mut colour = Vec::with_capacity(photos.len());
    for (_, bytes) in &photos {
        let started = thread_cpu();
        for _ in 0..rounds.max(1) {
            std::hint::black_box(dominant::dominant_color(bytes, &limits).expect("colour"));
        }
        colour.push((thread_cpu() - started) / rounds.max(1) as u32);
    }
    colour.sort();
    let mean = colour.iter().sum::<Duration>() / colour.len() as u32;
    println!(
        "dominant colour CPU ms per photo: median {:.2}, mean {:.2}, max {:.2}",
        ms(colour[colour.len() / 2]),
        ms(mean),
        ms(colour[colour.len() - 1])
    );
}
