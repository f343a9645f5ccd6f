//! The copy of an app's deletion history, oldest first, page by page, each entry with its
//! time, so a syncing client keeps mirroring deletions made before the move. An entry the
//! target holds already (same file id, path, kind and time) is kept.

use super::pages::PAGE;
use super::report::MigrateReport;
use super::{End, MigrateError};

/// Copies the deletion history of an app.
pub(super) async fn copy(
    s: &End,
    t: &End,
    key: &str,
    r: &mut MigrateReport,
) -> Result<(), MigrateError> {
    let rows = u32::try_from(PAGE).unwrap_or(u32::MAX);
    let mut page = 1u32;
    loop {
        let read = s.catalog.deletions(key, i64::MIN, page, rows).await;
        let (entries, _) = read.map_err(s.cat())?;
        if entries.is_empty() {
            return Ok(());
        }
        let added = t
            .catalog
            .import_deletions(key, &entries)
            .await
            .map_err(t.cat())?;
        r.copied.deletions += added;
        r.present.deletions += entries.len() as u64 - added;
        page += 1;
    }
}
