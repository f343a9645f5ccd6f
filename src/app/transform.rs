//! `pictor transform --operation FILE.json SRC OUTDIR`: runs an operation over a local file
//! without a server, for debugging and whole-process comparisons. FILE.json is the body of
//! `PUT /operations/{id}`; the operation id is the file's stem; watermark paths are local
//! files (relative to the JSON file's folder).

use crate::imaging::{self, Limits};
use crate::operation::{OperationError, OperationSpec};
use crate::paths;
use bytes::Bytes;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a transform failed.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The operation file is invalid.
    #[error("operation: {0}")]
    Operation(#[from] OperationError),
    /// The image could not be processed.
    #[error("image: {0}")]
    Imaging(#[from] imaging::ImagingError),
}

fn read(path: &Path) -> Result<Vec<u8>, TransformError> {
    std::fs::read(path).map_err(|source| TransformError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Runs the operation in `operation_file` over `src` and writes the outputs into `outdir`,
/// named as the service names them; returns their paths.
pub fn run(
    operation_file: &Path,
    src: &Path,
    outdir: &Path,
    limits: &Limits,
) -> Result<Vec<PathBuf>, TransformError> {
    let operation_id = operation_file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("operation");
    let spec = OperationSpec::parse(operation_id, &read(operation_file)?)?;
    spec.check_limits(limits)?;
    let base = operation_file.parent().unwrap_or(Path::new("."));
    let mut marks = HashMap::new();
    for mark in spec.watermark_paths() {
        let path = base.join(&mark);
        marks.insert(mark, Bytes::from(read(&path)?));
    }
    let source = read(src)?;
    let outputs = imaging::run(&source, &spec.to_pipeline(&marks)?, limits)?;
    let source_name = src.file_name().and_then(|s| s.to_str()).unwrap_or("image");
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| TransformError::Io { path, source }
    };
    std::fs::create_dir_all(outdir).map_err(io(outdir))?;
    let mut written = Vec::with_capacity(outputs.len());
    for (i, out) in outputs.iter().enumerate() {
        let index = spec.output_index(i, outputs.len());
        let path = outdir.join(paths::output_name(
            source_name,
            operation_id,
            out.extension(),
            index,
        ));
        let tmp = outdir.join(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
        let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(&out.bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation::OperationSpec;
    use image::{ImageFormat, Rgba, RgbaImage};
    use std::io::Cursor;

    /// Writes `body` as the operation `id` and an image into a fresh folder, runs the
    /// transform and returns the names it wrote.
    fn transform(id: &str, body: &str, src_name: &str, src: &[u8]) -> Vec<String> {
        let dir = tempfile::tempdir().expect("tempdir");
        let op = dir.path().join(format!("{id}.json"));
        std::fs::write(&op, body).expect("write operation");
        let src_path = dir.path().join(src_name);
        std::fs::write(&src_path, src).expect("write source");
        let out = dir.path().join("out");
        let written = run(&op, &src_path, &out, &Limits::default()).expect("transform");
        written
            .iter()
            .map(|p| {
                assert!(p.is_file(), "{} written", p.display());
                p.file_name()
                    .and_then(|n| n.to_str())
                    .expect("utf-8 name")
                    .to_owned()
            })
            .collect()
    }

    fn encoded(img: &RgbaImage, format: ImageFormat) -> Vec<u8> {
        let mut bytes = Vec::new();
        image::DynamicImage::ImageRgba8(img.clone())
            .write_to(&mut Cursor::new(&mut bytes), format)
            .expect("encode source");
        bytes
    }

    #[test]
    fn outputs_carry_the_names_the_service_stores() {
        let src = encoded(
            &RgbaImage::from_pixel(40, 30, Rgba([10, 200, 30, 255])),
            ImageFormat::Png,
        );
        let resize = r#"{"data": [{"templateOperationId": "resize_max_fit",
                                   "option": {"width": 20, "height": 20}}]}"#;
        let names = transform("thumb", resize, "cat.v2.png", &src);
        assert_eq!(names, ["cat.v2_thumb.png"]);
        assert_eq!(
            paths::output_path("/pets/cat.v2.png", "thumb", "png", None),
            "/pets/cat.v2_thumb.png"
        );
        let slice = r#"{"data": [{"templateOperationId": "slice", "option": {"sliceSize": 10}}]}"#;
        let names = transform("cut", slice, "cat.v2.png", &src);
        assert_eq!(
            names,
            [
                "cat.v2_cut_0000.png",
                "cat.v2_cut_0001.png",
                "cat.v2_cut_0002.png"
            ]
        );
        for (i, name) in names.iter().enumerate() {
            let stored = paths::output_path("/cat.v2.png", "cut", "png", Some(i));
            assert_eq!(format!("/{name}"), stored);
        }
    }

    #[test]
    fn an_unwritable_source_gets_the_format_the_service_picks() {
        let mut img = RgbaImage::from_pixel(32, 24, Rgba([200, 100, 50, 255]));
        for x in 0..16 {
            for y in 0..24 {
                img.put_pixel(x, y, Rgba([200, 100, 50, 0]));
            }
        }
        let gray = r#"{"data": [{"templateOperationId": "gray"}]}"#;
        let spec = OperationSpec::parse("g", gray.as_bytes()).expect("valid");
        for (format, name, media_type) in [
            (ImageFormat::Bmp, "alpha.bmp", "image/bmp"),
            (ImageFormat::Tiff, "alpha.tiff", "image/tiff"),
        ] {
            let names = transform("g", gray, name, &encoded(&img, format));
            let ext = spec.output_extension(media_type);
            assert_eq!(ext, "jpg", "{media_type}");
            assert_eq!(names, [format!("alpha_g.{ext}")], "{media_type}");
        }
        let circle = r#"{"data": [{"templateOperationId": "circle", "option": {"radius": 10}}]}"#;
        let spec = OperationSpec::parse("c", circle.as_bytes()).expect("valid");
        let opaque = RgbaImage::from_pixel(32, 24, Rgba([1, 2, 3, 255]));
        let names = transform("c", circle, "dot.bmp", &encoded(&opaque, ImageFormat::Bmp));
        assert_eq!(spec.output_extension("image/bmp"), "png");
        assert_eq!(names, ["dot_c.png"]);
    }
}
