//! Replays every saved fuzz input, the minimised corpora under `fuzz/corpus/<target>/` and the
//! crash inputs under `fuzz/artifacts/<target>/`, through the same bodies the fuzz targets run
//! (`fuzz/src/lib.rs`), on the stable toolchain: no input may panic or break an invariant.
//!
//! The crash inputs that make image-webp panic ([`IMAGE_WEBP_PANICS`]) must be turned into
//! errors by the imaging boundary; the pipeline body accepts such an error only when the panic
//! came from image-webp.
//!
//! Crash inputs that showed defects of Pictor itself (the reduced decoder accepting headers
//! libjpeg-turbo refuses, a zip entry with an empty name, a normalised path one byte over its
//! limit, a lenient body that is not UTF-8 or holds a number out of range judged to be JSON)
//! are kept under `fuzz/artifacts/` and replay like the corpus: they must not panic.

#[path = "../fuzz/src/lib.rs"]
mod entries;

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Crash inputs that make image-webp 0.2.4 (the newest release) panic in `read_frame` on
/// damaged animated WebP frames: an alpha index past the frame buffer and four slicing sites
/// in its YUV conversion (upstream image-rs/image-webp#182). The imaging boundary turns them
/// into errors, so they replay like every other input: nothing may panic.
const IMAGE_WEBP_PANICS: &[(&str, &str)] = &[
    ("pipeline", "image-webp-0.2.4-decoder-858-68.bin"),
    ("pipeline", "image-webp-0.2.4-yuv-147-25.bin"),
    ("pipeline", "image-webp-0.2.4-yuv-230-35.bin"),
    ("pipeline", "image-webp-0.2.4-yuv-90-30.bin"),
    ("pipeline", "image-webp-0.2.4-yuv-93-37.bin"),
];

/// The inputs saved for `target` under `fuzz/<kind>/`, sorted by name; none when the folder
/// does not exist.
fn saved(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable folder entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

thread_local! {
    /// Source file of the last panic on this thread.
    static PANIC_FILE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Records where each panic happens (per thread, so parallel tests do not mix) before the
/// default hook prints it.
fn record_panic_locations() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let file = info.location().map(|l| l.file().to_owned());
            PANIC_FILE.with(|f| *f.borrow_mut() = file);
            default(info);
        }));
    });
}

/// Runs `check` on one input; `Err` with the panic's source file when it panics.
fn run(check: fn(&[u8]), data: &[u8]) -> Result<(), String> {
    PANIC_FILE.with(|f| f.borrow_mut().take());
    panic::catch_unwind(AssertUnwindSafe(|| check(data))).map_err(|_| {
        PANIC_FILE
            .with(|f| f.borrow_mut().take())
            .unwrap_or_else(|| "an unknown location".to_owned())
    })
}

/// Replays the corpus (which must not be empty) and the crash inputs of `target`.
fn replay(target: &str) {
    let check = check_of(target);
    record_panic_locations();
    let corpus = saved("corpus", target);
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target} holds no inputs to replay"
    );
    let mut failures = Vec::new();
    for path in corpus.iter().chain(&saved("artifacts", target)) {
        let data = std::fs::read(path).expect("readable fuzz input");
        if let Err(panic_file) = run(check, &data) {
            failures.push(format!("{} panicked at {panic_file}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn reduced_jpeg_inputs_replay() {
    replay("reduced_jpeg");
}

#[test]
fn pipeline_inputs_replay() {
    replay("pipeline");
}

#[test]
fn operation_inputs_replay() {
    replay("operation");
}

#[test]
fn paths_inputs_replay() {
    replay("paths");
}

#[test]
fn conditional_inputs_replay() {
    replay("conditional");
}

#[test]
fn upload_multi_inputs_replay() {
    replay("upload_multi");
}

#[test]
fn lenient_json_inputs_replay() {
    replay("lenient_json");
}

#[test]
fn tus_headers_inputs_replay() {
    replay("tus_headers");
}

/// The target body of each target name.
fn check_of(target: &str) -> fn(&[u8]) {
    match target {
        "reduced_jpeg" => entries::check_reduced_jpeg,
        "pipeline" => entries::check_pipeline,
        "operation" => entries::check_operation,
        "paths" => entries::check_paths,
        "conditional" => entries::check_conditional,
        "upload_multi" => entries::check_upload_multi,
        "lenient_json" => entries::check_lenient_json,
        "tus_headers" => entries::check_tus_headers,
        other => panic!("no fuzz target {other}"),
    }
}

#[test]
fn listed_crash_inputs_exist() {
    for (target, file) in IMAGE_WEBP_PANICS {
        assert!(
            saved("artifacts", target)
                .iter()
                .any(|p| p.file_name().is_some_and(|n| n == *file)),
            "fuzz/artifacts/{target}/{file} is listed but missing"
        );
    }
}
