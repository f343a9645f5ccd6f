//! An app's settings of the photo-library extensions, and how both backends keep them in
//! columns of `apps`.

/// An app's settings of the photo-library extensions. The defaults keep the Image Manager
/// API's behaviour: deletion is immediate, nothing limits the app's storage, an upload runs
/// only the operations it names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppSettings {
    /// Days a deleted file or folder stays in the trash before it is purged; 0 deletes at once.
    pub trash_retention_days: u32,
    /// Most bytes the app may hold, trash included; `None`: no limit.
    pub quota_bytes: Option<u64>,
    /// Most files the app may hold, trash included; `None`: no limit.
    pub quota_files: Option<u64>,
    /// Operations run on every upload, as if each upload named them.
    pub default_operation_ids: Vec<String>,
}

impl AppSettings {
    /// `default_operation_ids` as its column keeps them: joined by commas (an operation id
    /// holds letters, digits and `-` only).
    pub(crate) fn operation_ids_column(&self) -> String {
        self.default_operation_ids.join(",")
    }

    /// The ids of a `default_operation_ids` column.
    pub(crate) fn operation_ids_from_column(joined: &str) -> Vec<String> {
        joined
            .split(',')
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// A quota as an integer column keeps it (above `i64::MAX`, the largest).
pub(crate) fn quota_column(quota: Option<u64>) -> Option<i64> {
    quota.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// A quota read from its integer column.
pub(crate) fn quota_from_column(stored: Option<i64>) -> Option<u64> {
    stored.map(|n| u64::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_survive_their_column() {
        let settings = AppSettings {
            default_operation_ids: vec!["thumb".to_owned(), "w-200".to_owned()],
            ..AppSettings::default()
        };
        let column = settings.operation_ids_column();
        assert_eq!(column, "thumb,w-200");
        assert_eq!(
            AppSettings::operation_ids_from_column(&column),
            settings.default_operation_ids
        );
        assert!(AppSettings::operation_ids_from_column("").is_empty());
    }

    #[test]
    fn quotas_survive_their_column() {
        assert_eq!(quota_column(None), None);
        assert_eq!(quota_column(Some(u64::MAX)), Some(i64::MAX));
        assert_eq!(quota_from_column(quota_column(Some(5))), Some(5));
        assert_eq!(quota_from_column(Some(-1)), Some(0));
    }
}
