//! The bodies of the fuzz targets, one `check_*` function per target.
//!
//! The fuzz binaries call them under libFuzzer, and `tests/fuzz_replay.rs` includes this file
//! as a module and replays every saved corpus and crash input through them on the stable
//! toolchain. Each function must accept any bytes: it returns normally for inputs the code
//! under test refuses, and panics (an assertion) only when an invariant is broken.
//!
//! Besides `pictor` and `std` it uses only crates the server itself uses for the same job
//! (`multer`, `zip`, `bytes`, `futures-util`, `serde_json`), so the upload target reads bodies
//! as the server does.

#![forbid(unsafe_code)]

use bytes::Bytes;
use pictor::config::LimitsConfig;
use pictor::http::api::tus::metadata as tus_metadata;
use pictor::http::conditional::{self, RangeRequest};
use pictor::imaging::{
    self, codec, jpeg, reduced, Job, Limits, Pipeline, ResizeMode, TargetFormat, UpDown,
};
use pictor::ingest::resumable::checksum::{Checksum, ALGORITHMS};
use pictor::lenient_json;
use pictor::operation::OperationSpec;
use pictor::paths;
use std::collections::HashMap;
use std::future::Future;
use std::io::Read;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

/// Box of the pipeline target's resize: every output fits in it.
const PIPELINE_BOX: u32 = 64;

/// Limits of the pipeline target: small, so each input stays fast.
const PIPELINE_LIMITS: Limits = Limits {
    max_pixels: 1 << 20,
    max_frames: 32,
    max_output_side: 256,
    max_pieces: 16,
    max_icc_bytes: 64 * 1024,
};

/// Boundary of the multipart bodies the upload target reads (its seeds use it).
const MULTIPART_BOUNDARY: &str = "pictor-fuzz-boundary";

/// The lenient JSON reader: strict JSON reads exactly as serde_json reads it and is left
/// unchanged by the rewriter; a rewriting is at most twice the input, is itself unchanged by a
/// second rewriting when it is JSON, and is what a lenient read returns; a refusal carries the
/// strict parser's error.
pub fn check_lenient_json(data: &[u8]) {
    let strict = serde_json::from_slice::<serde_json::Value>(data);
    let lenient = lenient_json::from_slice::<serde_json::Value>(data);
    let rewritten = lenient_json::rewrite(data);
    if let Ok(text) = &rewritten {
        assert!(text.len() <= 2 * data.len(), "rewriting more than doubles");
    }
    match (&strict, &lenient) {
        (Ok(want), Ok(got)) => {
            assert_eq!(got, want, "strict JSON reads differently");
            assert_eq!(
                rewritten.as_deref().ok(),
                Some(data),
                "strict JSON is rewritten"
            );
            assert!(matches!(
                lenient_json::to_strict(data),
                std::borrow::Cow::Borrowed(_)
            ));
        }
        (Ok(_), Err(e)) => panic!("strict JSON refused: {e}"),
        (Err(want), Err(got)) => {
            assert_eq!(got.to_string(), want.to_string(), "refusal changed");
            assert!(!lenient_json::is_json(data));
        }
        (Err(_), Ok(got)) => {
            let text = rewritten.unwrap_or_else(|e| panic!("read without a rewriting: {e}"));
            let again = serde_json::from_slice::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("rewriting is not JSON: {e}"));
            assert_eq!(&again, got, "lenient read differs from its rewriting");
            assert_eq!(
                lenient_json::rewrite(&text).ok(),
                Some(text.clone()),
                "rewriting is not stable"
            );
            assert_eq!(&*lenient_json::to_strict(data), &text[..]);
        }
    }
}

/// The reduced JPEG decoder at 1/4 and 1/8: when it decodes, its image has the size
/// libjpeg-turbo reads from the same header, divided and rounded up, and both scales agree
/// on whether the file is decodable.
pub fn check_reduced_jpeg(data: &[u8]) {
    let quarter = reduced::decode(data, 4, PIPELINE_LIMITS.max_pixels);
    let eighth = reduced::decode(data, 8, PIPELINE_LIMITS.max_pixels);
    assert_eq!(
        quarter.is_some(),
        eighth.is_some(),
        "1/4 and 1/8 disagree on whether the file decodes"
    );
    for (img, denominator) in [(quarter, 4u32), (eighth, 8)] {
        let Some(img) = img else { continue };
        let (w, h) = jpeg::dimensions(data)
            .expect("libjpeg-turbo reads the header of a file the reduced decoder decoded");
        assert_eq!(
            img.dimensions(),
            (w.div_ceil(denominator), h.div_ceil(denominator)),
            "reduced size at 1/{denominator} of a {w}x{h} header"
        );
    }
}

/// The whole imaging pipeline: resize to fit 64 x 64 (never enlarging), then gray, written as
/// JPEG, PNG or WebP by the first byte, which also toggles animation, EXIF and orientation.
/// An output has the asked format, fits the box, and its own header says so.
pub fn check_pipeline(data: &[u8]) {
    let Some((&selector, source)) = data.split_first() else {
        return;
    };
    let target = match selector & 3 {
        0 | 3 => TargetFormat::Jpeg,
        1 => TargetFormat::Png,
        _ => TargetFormat::Webp,
    };
    let keep_animation = selector & 0x10 != 0;
    let keep_exif = selector & 0x20 != 0;
    let auto_orient = selector & 0x40 != 0;
    let pipeline = Pipeline {
        jobs: vec![
            Job::Resize {
                mode: ResizeMode::MaxFit,
                width: PIPELINE_BOX,
                height: PIPELINE_BOX,
                quality: 50,
                up_down: UpDown::DownOnly,
                keep_animation,
                keep_exif,
                auto_orient,
                target: Some(target),
            },
            Job::Gray { keep_animation },
        ],
        watermarks: HashMap::new(),
        target: Some(target),
        quality: 50,
        keep_exif,
        auto_orient,
    };
    let outputs = match imaging::run(source, &pipeline, &PIPELINE_LIMITS) {
        Ok(outputs) => outputs,
        // The imaging boundary turns panics into errors; only the known panics of image-webp
        // 0.2.4 (upstream image-rs/image-webp#182) may reach it.
        Err(imaging::ImagingError::Panicked(m)) => {
            assert!(m.contains("/image-webp-"), "a panic behind the guard: {m}");
            return;
        }
        Err(_) => return,
    };
    assert_eq!(outputs.len(), 1, "one output for a resize and gray");
    for out in outputs {
        assert_eq!(out.format, target, "output format");
        assert!(
            (1..=PIPELINE_BOX).contains(&out.width) && (1..=PIPELINE_BOX).contains(&out.height),
            "output {}x{} outside the {PIPELINE_BOX} px box",
            out.width,
            out.height
        );
        let (_, w, h) = codec::probe(&out.bytes).expect("the output's header reads back");
        assert_eq!((w, h), (out.width, out.height), "output header dimensions");
    }
}

/// The operation parser. The first line is the operation id, the rest the JSON body. A parsed
/// operation reads back equal from its canonical body, and turns into a pipeline once its
/// watermark images are given.
pub fn check_operation(data: &[u8]) {
    let (id, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b"fuzz-op"[..], data),
    };
    let Ok(id) = std::str::from_utf8(id) else {
        return;
    };
    let spec = match OperationSpec::parse(id, body) {
        Ok(spec) => spec,
        Err(e) => {
            assert!(e.result_code() > 0, "refusals carry a result code");
            return;
        }
    };
    assert!(!spec.jobs().is_empty(), "a parsed operation has jobs");
    let canonical = spec.canonical_json();
    let again = OperationSpec::parse(id, canonical.as_bytes())
        .unwrap_or_else(|e| panic!("canonical body {canonical} does not parse: {e}"));
    assert_eq!(
        again, spec,
        "canonical body {canonical} reads back different"
    );
    let template = spec.job_template();
    assert_eq!(
        template.as_array().map(Vec::len),
        Some(spec.jobs().len()),
        "one job template per job"
    );
    let watermarks: HashMap<String, Bytes> = spec
        .watermark_paths()
        .into_iter()
        .map(|p| (p, Bytes::new()))
        .collect();
    let pipeline = spec
        .to_pipeline(&watermarks)
        .expect("every watermark is given");
    assert_eq!(pipeline.jobs.as_slice(), spec.jobs());
    for media in [
        "image/jpeg",
        "image/png",
        "image/bmp",
        "application/octet-stream",
    ] {
        let ext = spec.output_extension(media);
        assert!(!ext.is_empty(), "output extension for {media}");
    }
}

/// Path rules. The first byte sets the path limit (8 bytes per unit), the rest is a path, or
/// `folder\nname`. A normalised path is canonical, within the limit, and normalises to itself;
/// an accepted name is one clean segment; joining an accepted folder and name gives a
/// normalised path whose parent and name are the two parts.
pub fn check_paths(data: &[u8]) {
    let Some((&unit, rest)) = data.split_first() else {
        return;
    };
    let max = usize::from(unit) * 8;
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if let Ok(path) = paths::normalize(text, max) {
        assert_normalized(&path, max);
        assert_eq!(paths::normalize(&path, max), Ok(path.clone()), "idempotent");
    }
    if paths::check_name(text).is_ok() {
        assert_clean_name(text);
    }
    let Some((folder, name)) = text.split_once('\n') else {
        return;
    };
    let (Ok(folder), Ok(())) = (paths::normalize(folder, max), paths::check_name(name)) else {
        return;
    };
    let joined = paths::join(&folder, name);
    assert_eq!(
        paths::normalize(&joined, usize::MAX),
        Ok(joined.clone()),
        "join gives a normalised path"
    );
    assert_eq!(paths::parent(&joined), folder, "parent of {joined}");
    assert_eq!(paths::name(&joined), name, "name of {joined}");
}

/// What every normalised path satisfies.
fn assert_normalized(path: &str, max: usize) {
    assert!(
        path.len() <= max,
        "normalised {path:?} is {} bytes, over the {max} byte limit",
        path.len()
    );
    assert!(path.starts_with('/'), "{path:?} is absolute");
    if path == "/" {
        return;
    }
    assert!(!path.ends_with('/'), "{path:?} has no trailing slash");
    assert!(!path.contains("//"), "{path:?} has no empty segment");
    assert!(!path.contains('\0'), "{path:?} has no NUL");
    for segment in path[1..].split('/') {
        assert_clean_name(segment);
    }
}

/// What every accepted name satisfies.
fn assert_clean_name(name: &str) {
    assert!(name != "." && name != "..", "{name:?} is no dot segment");
    assert!(
        !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control()),
        "{name:?} has no separator or control character"
    );
    assert!(
        (1..=255).contains(&name.chars().count()),
        "{name:?} has 1..255 characters"
    );
}

/// Validators and ranges. Bytes 0..8 are the body length, 8..12 the modification time, then
/// lines: a `Range` header, an entity tag, a validator header. A satisfiable range lies within
/// the body; a well-formed range of the body is served exactly; a tag matches itself.
pub fn check_conditional(data: &[u8]) {
    let (Some(len), Some(secs)) = (
        data.get(..8).and_then(|b| b.try_into().ok()),
        data.get(8..12).and_then(|b| b.try_into().ok()),
    ) else {
        return;
    };
    let len = u64::from_le_bytes(len);
    let modified =
        SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(u32::from_le_bytes(secs)));
    let text = String::from_utf8_lossy(&data[12..]);
    let mut lines = text.split('\n');
    let range = lines.next().unwrap_or("");
    let tag = lines.next().unwrap_or("");
    let header = lines.next().unwrap_or("");
    match conditional::parse_range(range, len) {
        RangeRequest::Partial(r) => assert!(
            r.start < r.end && r.end <= len,
            "range {r:?} of {range:?} outside a body of {len} bytes"
        ),
        RangeRequest::Full | RangeRequest::Unsatisfiable => {}
    }
    if len > 0 {
        let first = u64::from(u32::from_le_bytes(secs)) % len;
        let last = first + (len - first) / 2;
        assert_eq!(
            conditional::parse_range(&format!("bytes={first}-{last}"), len),
            RangeRequest::Partial(first..last + 1),
            "well-formed range of a {len} byte body"
        );
    }
    conditional::none_match(header, tag);
    conditional::not_modified_since(header, modified);
    conditional::if_range_matches(header, tag, modified);
    let etag = format!("\"{}\"", tag.replace(['"', ','], ""));
    assert!(
        conditional::none_match(&etag, &etag),
        "{etag} matches itself"
    );
    assert!(
        conditional::if_range_matches(&etag, &etag, modified),
        "{etag} designates itself"
    );
}

/// Limits of the upload target: the server's rules, smaller sizes.
fn upload_limits() -> LimitsConfig {
    LimitsConfig {
        max_upload_bytes: 256 * 1024,
        max_request_bytes: 1024 * 1024,
        max_path_bytes: 1024,
        max_items: 64,
        max_inflated_bytes: 4 * 1024 * 1024,
        max_operation_ids: 20,
        max_params_bytes: 64 * 1024,
        max_tags_per_file: 32,
        max_tag_chars: 64,
        ..LimitsConfig::default()
    }
}

/// Base path the upload target stores under.
const UPLOAD_BASE: &str = "/fuzz";

/// Multipart upload reading and zip expansion, as `POST /images` does them: the first byte
/// sets the size of the chunks the body arrives in, the rest is a multipart body with
/// [`MULTIPART_BOUNDARY`]. Every kept file is within the upload limit, all of them within the
/// request limit, and every zip entry lands on a normalised path under the base path.
pub fn check_upload_multi(data: &[u8]) {
    let Some((&chunking, body)) = data.split_first() else {
        return;
    };
    let limits = upload_limits();
    let chunk = usize::from(chunking % 64) + 1;
    let Some(files) = read_multipart(body, chunk, &limits) else {
        return;
    };
    assert!(
        files.len() <= limits.max_items,
        "file parts within the item limit"
    );
    for (name, bytes) in files {
        let zipped =
            name.to_ascii_lowercase().ends_with(".zip") || bytes.starts_with(b"PK\x03\x04");
        if zipped {
            check_zip(&bytes, &limits);
        } else {
            assert!(
                bytes.len() as u64 <= limits.max_upload_bytes,
                "kept file within the limit"
            );
        }
    }
}

/// Reads the file parts of a multipart body delivered in chunks of `chunk` bytes, bounded as
/// the server bounds them; `None` when the body is refused.
fn read_multipart(
    body: &[u8],
    chunk: usize,
    limits: &LimitsConfig,
) -> Option<Vec<(String, Bytes)>> {
    let chunks: Vec<Result<Bytes, std::io::Error>> = body
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let constraints = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(limits.max_request_bytes));
    let mut multipart = multer::Multipart::with_constraints(
        futures_util::stream::iter(chunks),
        MULTIPART_BOUNDARY,
        constraints,
    );
    let reading = async move {
        let mut files = Vec::new();
        let mut received = 0u64;
        while let Some(mut field) = multipart.next_field().await.ok()? {
            let is_file = matches!(field.name(), Some("files" | "file"));
            if is_file && files.len() >= limits.max_items {
                return None;
            }
            let name = field.file_name().unwrap_or_default().to_owned();
            let zip_named = name.ends_with(".zip");
            let mut kept = Vec::new();
            let mut size = 0u64;
            while let Some(bytes) = field.chunk().await.ok()? {
                size += bytes.len() as u64;
                if is_file && (size <= limits.max_upload_bytes || zip_named) {
                    kept.extend_from_slice(&bytes);
                }
            }
            received += size;
            assert!(
                received <= limits.max_request_bytes,
                "body within the request limit"
            );
            if is_file && (size <= limits.max_upload_bytes || zip_named) {
                files.push((name, Bytes::from(kept)));
            }
        }
        Some(files)
    };
    complete(reading).expect("a body held in memory is read without waiting")
}

/// Runs a future whose input is all in memory, so it never waits; `None` if it would.
fn complete<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}

/// Reads a zip archive's entries under the server's bounds: at most `max_items` entries, each
/// read to at most `max_upload_bytes + 1`, named by a path enclosed in the base path.
fn check_zip(bytes: &[u8], limits: &LimitsConfig) {
    let Ok(mut archive) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        return;
    };
    if archive.len() > limits.max_items {
        return;
    }
    let mut total = 0u64;
    for i in 0..archive.len() {
        let Ok(mut entry) = archive.by_index(i) else {
            continue;
        };
        if entry.is_dir() {
            continue;
        }
        let Some(relative) = entry
            .enclosed_name()
            .and_then(|p| p.to_str().map(str::to_owned))
            .filter(|name| !name.trim_matches('/').is_empty())
        else {
            continue;
        };
        if let Ok(target) =
            paths::normalize(&paths::join(UPLOAD_BASE, &relative), limits.max_path_bytes)
        {
            assert_normalized(&target, limits.max_path_bytes);
            assert!(
                target.starts_with(UPLOAD_BASE) && target[UPLOAD_BASE.len()..].starts_with('/'),
                "zip entry {relative:?} lands at {target:?}, outside {UPLOAD_BASE}"
            );
        }
        if entry.size() > limits.max_upload_bytes {
            continue;
        }
        let mut data = Vec::new();
        let read = (&mut entry)
            .take(limits.max_upload_bytes + 1)
            .read_to_end(&mut data);
        assert!(
            data.len() as u64 <= limits.max_upload_bytes + 1,
            "entry read within the bound"
        );
        if read.is_ok() && data.len() as u64 <= limits.max_upload_bytes {
            total += data.len() as u64;
        }
        if total > limits.max_request_bytes {
            return;
        }
    }
}

/// Target `tus_headers`: the text of the input (any bytes that are not UTF-8 are skipped) as an
/// `Upload-Metadata` value, read by `http::api::tus::metadata::parse` under the default limits,
/// and as an `Upload-Checksum` value, read by `Checksum::parse`. An accepted request names a
/// normalised path within the limit, operation ids without commas, and at most
/// `max_tags_per_file` tags, distinct, sorted, each of 1 to `max_tag_chars` characters without
/// a comma or a control character; a value over 4 KiB is refused. An accepted checksum names
/// one of the algorithms offered.
pub fn check_tus_headers(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = LimitsConfig::default();
    if let Ok(request) = tus_metadata::parse(text, &limits) {
        assert!(text.len() <= tus_metadata::MAX_METADATA_BYTES);
        assert!(
            request.path.len() <= limits.max_path_bytes,
            "path within its limit"
        );
        assert_eq!(
            paths::normalize(&request.path, limits.max_path_bytes).as_deref(),
            Ok(request.path.as_str()),
            "the path is normalised"
        );
        for id in &request.operation_ids {
            assert!(!id.is_empty() && !id.contains(','), "operation id {id:?}");
        }
        let tags = &request.tags;
        assert!(tags.len() <= limits.max_tags_per_file, "too many tags");
        assert!(tags.windows(2).all(|w| w[0] < w[1]), "sorted, distinct");
        for tag in tags {
            let chars = tag.chars().count();
            assert!((1..=limits.max_tag_chars).contains(&chars), "tag {tag:?}");
            assert!(!tag.chars().any(|c| c == ',' || c.is_control()), "{tag:?}");
            assert_eq!(tag.trim(), tag, "tags are trimmed");
        }
    }
    if Checksum::parse(text).is_ok() {
        let name = text.trim().split(' ').next().unwrap_or_default();
        assert!(
            ALGORITHMS.split(',').any(|a| a == name),
            "algorithm {name:?}"
        );
    }
}
