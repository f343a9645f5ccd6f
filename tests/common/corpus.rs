//! The test corpus beside the checkout (`../shared/corpus`) and its `MANIFEST.tsv`.

use std::path::PathBuf;

/// The test corpus beside the checkout; panics when it is missing.
pub fn corpus_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"));
    assert!(
        dir.is_dir(),
        "test corpus missing: expected {} (../shared/corpus beside the checkout)",
        dir.display()
    );
    dir
}

/// The bytes of a corpus file.
pub fn corpus(rel: &str) -> Vec<u8> {
    let path = corpus_dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "corpus file missing or unreadable: {} ({e}); ../shared/corpus must be beside the checkout",
            path.display()
        )
    })
}

/// One row of the corpus `MANIFEST.tsv`.
#[derive(Debug, Clone)]
pub struct ManifestEntry {
    pub path: String,
    pub bytes: u64,
    /// `None` for files without dimensions (text, empty files).
    pub dims: Option<(u64, u64)>,
}

/// The corpus manifest.
pub fn manifest() -> Vec<ManifestEntry> {
    let file = corpus_dir().join("MANIFEST.tsv");
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("corpus manifest missing: {} ({e})", file.display()));
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let dims = cols.get(2).and_then(|d| {
                let (w, h) = d.split_once('x')?;
                Some((w.trim().parse().ok()?, h.trim().parse().ok()?))
            });
            ManifestEntry {
                path: cols[0].to_owned(),
                bytes: cols[1].parse().expect("manifest byte count"),
                dims,
            }
        })
        .collect()
}

/// Width and height of a corpus file according to the manifest.
pub fn manifest_dims(rel: &str) -> (u64, u64) {
    manifest()
        .into_iter()
        .find(|e| e.path == rel)
        .and_then(|e| e.dims)
        .unwrap_or_else(|| panic!("{rel} has no dimensions in MANIFEST.tsv"))
}
