//! A file's new version written over its row only while the row still holds the version it
//! was made from (rotation). The row is locked for the check and the write; no folder lock is
//! needed, since no name changes.

use super::blobs::trash;
use super::changes::announce;
use super::files::{replace_file, source_change};
use super::rows::{file_from_row, FILE_COLUMNS};
use super::{commit, query_opt, write_tx, PgCatalog};
use crate::catalog::{CatalogError, CatalogResult, FileRecord, PutOutcome};

pub(super) async fn replace_file_version(
    catalog: &PgCatalog,
    app_key: &str,
    file: FileRecord,
    expected_blob_key: &str,
) -> CatalogResult<Option<PutOutcome>> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let current = query_opt(
        &tx,
        &format!("SELECT {FILE_COLUMNS} FROM files WHERE app_key = $1 AND id = $2 FOR UPDATE"),
        &[&app_key, &file.id],
    )
    .await?;
    let Some(old) = current.as_ref().map(file_from_row).transpose()? else {
        return Err(CatalogError::NotFound(file.id));
    };
    if old.blob_key != expected_blob_key {
        return Ok(None);
    }
    let orphaned = vec![old.blob_key.clone()];
    trash(&tx, &orphaned).await?;
    let stored = old.with_version_of(file);
    replace_file(&tx, &stored).await?;
    announce(&tx, &source_change(app_key, &stored.path)).await?;
    commit(tx).await?;
    Ok(Some(PutOutcome {
        file: stored,
        overwritten: true,
        orphaned_blobs: orphaned,
    }))
}
