//! An app's storage quota and usage: what it may hold ([`Quota`]), what it holds ([`Usage`],
//! counted by the catalog itself with every write), and the rule that refuses a write
//! ([`Quota::refuses`]).
//!
//! Both backends keep one usage row per app, maintained by SQL triggers on the tables that
//! hold an app's files, so every statement that adds, replaces or removes a file counts,
//! whichever call runs it. `Catalog::put_file_within` checks the quota inside the transaction
//! of the write, after it: see the trait for the contract, and each backend's `quota.rs` for
//! why the check is exact under concurrent writers.

use super::AppSettings;

/// The most an app may hold; `None` in a dimension: no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quota {
    /// Most bytes, over every file (uploaded and produced, trash included).
    pub bytes: Option<u64>,
    /// Most files, uploaded and produced, trash included.
    pub files: Option<u64>,
}

/// What an app holds: every file, uploaded and produced, trash included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Bytes of all its files.
    pub bytes: u64,
    /// Number of its files.
    pub files: u64,
}

/// How much one write changed an app's usage (negative: it shrank).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Growth {
    /// Change of the byte count.
    pub bytes: i128,
    /// Change of the file count.
    pub files: i128,
}

impl Growth {
    /// The growth of storing a file of `bytes`: a new entry, or over a file of `replaced`
    /// bytes (an overwrite counts the difference and no new file).
    pub fn of_put(bytes: u64, replaced: Option<u64>) -> Self {
        match replaced {
            None => Self {
                bytes: i128::from(bytes),
                files: 1,
            },
            Some(old) => Self {
                bytes: i128::from(bytes) - i128::from(old),
                files: 0,
            },
        }
    }
}

impl Quota {
    /// No limit in either dimension.
    pub fn is_unlimited(&self) -> bool {
        self.bytes.is_none() && self.files.is_none()
    }

    /// Whether `growth` could bring usage over a limit: only then does a write need the check.
    pub fn may_refuse(&self, growth: Growth) -> bool {
        (self.bytes.is_some() && growth.bytes > 0) || (self.files.is_some() && growth.files > 0)
    }

    /// Whether a write that changed usage by `growth`, leaving it at `after`, is refused: a
    /// dimension it grew is over its limit. A write that does not grow a dimension is never
    /// refused for it, so an app over a lowered quota can still replace files by smaller ones
    /// and delete.
    pub fn refuses(&self, after: Usage, growth: Growth) -> bool {
        let over = |limit: Option<u64>, used: u64, grew: i128| {
            grew > 0 && limit.is_some_and(|limit| used > limit)
        };
        over(self.bytes, after.bytes, growth.bytes) || over(self.files, after.files, growth.files)
    }

    /// Whether a new file of `bytes` fits beside `usage`, as a cheap check before its bytes are
    /// stored (the exact check is the catalog's, in the transaction of the write).
    pub fn admits_new_file(&self, usage: Usage, bytes: u64) -> bool {
        let after = Usage {
            bytes: usage.bytes.saturating_add(bytes),
            files: usage.files.saturating_add(1),
        };
        !self.refuses(after, Growth::of_put(bytes, None))
    }
}

impl Usage {
    /// Bytes left under `quota` (never negative); `None` without a byte limit.
    pub fn available_bytes(&self, quota: Quota) -> Option<u64> {
        quota.bytes.map(|limit| limit.saturating_sub(self.bytes))
    }

    /// Files left under `quota` (never negative); `None` without a file limit.
    pub fn available_files(&self, quota: Quota) -> Option<u64> {
        quota.files.map(|limit| limit.saturating_sub(self.files))
    }
}

impl AppSettings {
    /// The app's quota.
    pub fn quota(&self) -> Quota {
        Quota {
            bytes: self.quota_bytes,
            files: self.quota_files,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BYTES_100: Quota = Quota {
        bytes: Some(100),
        files: None,
    };

    fn usage(bytes: u64, files: u64) -> Usage {
        Usage { bytes, files }
    }

    #[test]
    fn a_write_is_refused_only_for_a_dimension_it_grew_over_its_limit() {
        let new = Growth::of_put(30, None);
        assert_eq!(
            new,
            Growth {
                bytes: 30,
                files: 1
            }
        );
        assert!(!BYTES_100.refuses(usage(100, 9), new), "at the limit");
        assert!(BYTES_100.refuses(usage(101, 9), new));
        let smaller = Growth::of_put(10, Some(40));
        assert_eq!(
            smaller,
            Growth {
                bytes: -30,
                files: 0
            }
        );
        assert!(
            !BYTES_100.refuses(usage(500, 9), smaller),
            "a shrinking write passes over a lowered quota"
        );
        let files = Quota {
            bytes: None,
            files: Some(2),
        };
        assert!(files.refuses(usage(0, 3), new));
        assert!(
            !files.refuses(usage(0, 3), Growth::of_put(50, Some(1))),
            "an overwrite adds no file"
        );
        assert!(!Quota::default().refuses(usage(u64::MAX, u64::MAX), new));
    }

    #[test]
    fn only_growth_in_a_limited_dimension_needs_the_check() {
        assert!(Quota::default().is_unlimited());
        assert!(!Quota::default().may_refuse(Growth::of_put(5, None)));
        assert!(BYTES_100.may_refuse(Growth::of_put(5, None)));
        assert!(!BYTES_100.may_refuse(Growth::of_put(5, Some(5))));
        assert!(
            !BYTES_100.may_refuse(Growth::of_put(0, None)),
            "files unlimited"
        );
    }

    #[test]
    fn a_new_file_is_admitted_while_it_fits() {
        assert!(BYTES_100.admits_new_file(usage(60, 1), 40));
        assert!(!BYTES_100.admits_new_file(usage(60, 1), 41));
        assert!(!BYTES_100.admits_new_file(usage(u64::MAX, 1), 1));
        let one_file = Quota {
            bytes: None,
            files: Some(1),
        };
        assert!(one_file.admits_new_file(usage(0, 0), 9));
        assert!(!one_file.admits_new_file(usage(9, 1), 0));
    }

    #[test]
    fn available_space_is_never_negative_and_absent_without_a_limit() {
        let quota = Quota {
            bytes: Some(100),
            files: Some(3),
        };
        assert_eq!(usage(40, 1).available_bytes(quota), Some(60));
        assert_eq!(usage(140, 5).available_bytes(quota), Some(0));
        assert_eq!(usage(40, 1).available_files(quota), Some(2));
        assert_eq!(usage(40, 5).available_files(quota), Some(0));
        assert_eq!(usage(40, 1).available_bytes(Quota::default()), None);
        assert_eq!(usage(40, 1).available_files(Quota::default()), None);
    }

    #[test]
    fn settings_give_their_quota() {
        let settings = AppSettings {
            quota_bytes: Some(7),
            quota_files: None,
            ..AppSettings::default()
        };
        assert_eq!(
            settings.quota(),
            Quota {
                bytes: Some(7),
                files: None
            }
        );
    }
}
