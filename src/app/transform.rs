//! `pictor transform --operation FILE.json SRC OUTDIR`: runs an operation over a local file
//! without a server, for debugging and whole-process comparisons. FILE.json is the body of
//! `PUT /operations/{id}`; the operation id is the file's stem; watermark paths are local
//! files (relative to the JSON file's folder).

use crate::imaging::{self, Limits};
use crate::operation::{OperationError, OperationSpec};
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
    let stem = src.file_stem().and_then(|s| s.to_str()).unwrap_or("image");
    let many = outputs.len() > 1 || spec.multiple_outputs();
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| TransformError::Io { path, source }
    };
    std::fs::create_dir_all(outdir).map_err(io(outdir))?;
    let mut written = Vec::with_capacity(outputs.len());
    for (i, out) in outputs.iter().enumerate() {
        let name = if many {
            format!("{stem}_{operation_id}_{i:04}.{}", out.extension())
        } else {
            format!("{stem}_{operation_id}.{}", out.extension())
        };
        let path = outdir.join(name);
        let tmp = outdir.join(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
        let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(&out.bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}
