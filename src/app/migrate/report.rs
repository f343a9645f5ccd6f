//! The one JSON object `pictor migrate` prints: what this run copied, what it found already
//! there, the counts of each app on both sides, and every difference (the first
//! [`MAX_LISTED`] of them in full).

use serde::Serialize;

/// Differences listed in full; beyond, they are only counted.
pub const MAX_LISTED: usize = 1000;

/// Records of each kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    /// Apps.
    pub apps: u64,
    /// Operations.
    pub operations: u64,
    /// Folders.
    pub folders: u64,
    /// Files, uploaded and produced.
    pub files: u64,
    /// Tasks.
    pub tasks: u64,
    /// Folders in the trash (each folder of a trashed folder item).
    pub trashed_folders: u64,
    /// Files in the trash.
    pub trashed_files: u64,
    /// Entries of the deletion history.
    pub deletions: u64,
    /// Objects of the blob store.
    pub blobs: u64,
    /// Bytes of those objects.
    pub blob_bytes: u64,
}

/// One count on both sides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pair {
    /// In the source.
    pub source: u64,
    /// In the target.
    pub target: u64,
}

impl Pair {
    /// Whether both sides hold as many.
    pub fn agrees(self) -> bool {
        self.source == self.target
    }
}

/// The counts of one app on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppCounts {
    /// The app.
    pub app_key: String,
    /// Its container.
    pub container: String,
    /// Folders below the root.
    pub folders: Pair,
    /// Files, uploaded and produced.
    pub files: Pair,
    /// Bytes of those files, as recorded.
    pub bytes: Pair,
    /// Operations.
    pub operations: Pair,
    /// Tasks.
    pub tasks: Pair,
}

impl AppCounts {
    /// The names of the counts that differ.
    pub fn disagreements(&self) -> Vec<&'static str> {
        [
            ("folders", self.folders),
            ("files", self.files),
            ("bytes", self.bytes),
            ("operations", self.operations),
            ("tasks", self.tasks),
        ]
        .into_iter()
        .filter(|(_, pair)| !pair.agrees())
        .map(|(name, _)| name)
        .collect()
    }
}

/// What differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An app's record.
    App,
    /// An operation.
    Operation,
    /// A folder.
    Folder,
    /// A file's record.
    File,
    /// A task.
    Task,
    /// A file's bytes.
    Blob,
    /// A count of an app.
    Count,
}

/// One difference between source and target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mismatch {
    /// What differs.
    pub kind: Kind,
    /// The app it belongs to.
    pub app_key: String,
    /// Which one: a path, an operation or task id, a count's name.
    pub subject: String,
    /// How it differs.
    pub detail: String,
}

impl Mismatch {
    /// A difference of `kind` in `subject` of an app.
    pub fn new(kind: Kind, app_key: &str, subject: &str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            app_key: app_key.to_owned(),
            subject: subject.to_owned(),
            detail: detail.into(),
        }
    }
}

/// The report of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrateReport {
    /// The source data directory.
    pub source: String,
    /// Written to the target by this run.
    pub copied: Tally,
    /// Found in the target already, equal to the source.
    pub present: Tally,
    /// Counts of each app of the source, on both sides.
    pub apps: Vec<AppCounts>,
    /// Files whose bytes were read back from the target and found equal.
    pub blobs_verified: u64,
    /// Differences found, in all.
    pub mismatch_count: u64,
    /// The first [`MAX_LISTED`] differences.
    pub mismatches: Vec<Mismatch>,
}

impl MigrateReport {
    /// An empty report of a migration from `source`.
    pub fn new(source: &str) -> Self {
        Self {
            source: source.to_owned(),
            copied: Tally::default(),
            present: Tally::default(),
            apps: Vec::new(),
            blobs_verified: 0,
            mismatch_count: 0,
            mismatches: Vec::new(),
        }
    }

    /// Records a difference.
    pub fn mismatch(&mut self, m: Mismatch) {
        tracing::warn!(kind = ?m.kind, app = %m.app_key, subject = %m.subject, "{}", m.detail);
        self.mismatch_count += 1;
        if self.mismatches.len() < MAX_LISTED {
            self.mismatches.push(m);
        }
    }

    /// Whether the target holds everything of the source, equal.
    pub fn is_clean(&self) -> bool {
        self.mismatch_count == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_beyond_the_listed_ones_are_counted() {
        let mut report = MigrateReport::new("/data");
        assert!(report.is_clean());
        for i in 0..MAX_LISTED + 5 {
            report.mismatch(Mismatch::new(Kind::Blob, "A", &format!("/{i}.jpg"), "x"));
        }
        assert!(!report.is_clean());
        assert_eq!(report.mismatch_count, (MAX_LISTED + 5) as u64);
        assert_eq!(report.mismatches.len(), MAX_LISTED);
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json["mismatches"][0]["kind"], "blob");
        assert_eq!(json["mismatches"][0]["appKey"], "A");
        assert_eq!(json["copied"]["blobBytes"], 0);
    }

    #[test]
    fn counts_name_what_disagrees() {
        let counts = AppCounts {
            app_key: "A".into(),
            container: "c".into(),
            folders: Pair {
                source: 2,
                target: 2,
            },
            files: Pair {
                source: 3,
                target: 2,
            },
            bytes: Pair::default(),
            operations: Pair {
                source: 1,
                target: 0,
            },
            tasks: Pair::default(),
        };
        assert_eq!(counts.disagreements(), ["files", "operations"]);
    }
}
