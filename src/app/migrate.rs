//! `pictor migrate --from-data-dir DIR`: copies an embedded deployment (`DIR/catalog.sqlite3`
//! and `DIR/blobs`) into the catalog and blob store the configuration names, through the
//! [`Catalog`] trait and [`BlobStore`] only, so any backend can be the target.
//!
//! Every URL keeps working after the move: apps keep their keys, secret, container and
//! real-time flag; folders and files their ids, paths, times, blob keys and ETags (produced
//! files their origin fields and stamps); operations their versions (which variant stamps and
//! ETags contain), deleted names their last version; tasks their ids and state; the trash its
//! items as they are (they keep their purge times); the deletion history its entries with
//! their times, so a syncing client goes on from where it was.
//!
//! The source must be stopped: a server writing to it while it is copied leaves the target
//! behind. The target holds the progress: a run skips what the target already holds and
//! equals the source, so a run that was interrupted is simply run again, and a run after a
//! complete one changes nothing. Bytes go before records (as uploads do), so a record in the
//! target always has its bytes unless they were lost later. At the end, the counts of every
//! app are compared and every file's bytes are read back from the target and checked; the
//! report lists what differs.

mod blobs;
mod copy;
mod deletions;
mod pages;
pub mod report;
mod trash;
mod verify;

use super::{
    local_blob_dir, open_context, sqlite_catalog_path, StartError, BLOB_DIR, CATALOG_FILE,
};
use crate::catalog::sqlite::SqliteCatalog;
use crate::catalog::{Catalog, CatalogError};
use crate::config::Config;
use crate::storage::{BlobError, BlobStore};
use report::MigrateReport;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest number of files whose bytes are copied or checked at once.
pub const MAX_JOBS: usize = 64;

/// Which end of the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The embedded deployment copied from.
    Source,
    /// The catalog and store of the configuration.
    Target,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Source => "source",
            Self::Target => "target",
        })
    }
}

/// Why a migration could not run to its end. Running it again continues where it stopped.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The source directory holds no embedded deployment.
    #[error(
        "{} holds no embedded deployment ({} and {}/ expected)",
        .0.display(),
        CATALOG_FILE,
        BLOB_DIR
    )]
    NoSource(PathBuf),
    /// The configuration names the source itself as target.
    #[error(
        "the target {what} is the source's own ({}); point catalog.url, storage.url or \
         --data-dir at the new deployment",
        .path.display()
    )]
    SameTarget {
        /// `catalog` or `blob store`.
        what: &'static str,
        /// Where the configuration points.
        path: PathBuf,
    },
    /// The target could not be opened.
    #[error("target: {0}")]
    Target(#[source] Box<StartError>),
    /// A catalog failed.
    #[error("{side} catalog: {source}")]
    Catalog {
        /// Whose.
        side: Side,
        /// The failure.
        #[source]
        source: CatalogError,
    },
    /// A blob store failed.
    #[error("{side} blob store: {source}")]
    Blob {
        /// Whose.
        side: Side,
        /// The failure.
        #[source]
        source: BlobError,
    },
}

/// One end of the copy: a catalog and its blob store.
struct End {
    /// Which end.
    side: Side,
    /// Its catalog.
    catalog: Arc<dyn Catalog>,
    /// Its blob store.
    blob: BlobStore,
}

impl End {
    /// Maps a failure of this end's catalog.
    fn cat(&self) -> impl Fn(CatalogError) -> MigrateError {
        let side = self.side;
        move |source| MigrateError::Catalog { side, source }
    }

    /// Maps a failure of this end's blob store.
    fn store(&self) -> impl Fn(BlobError) -> MigrateError {
        let side = self.side;
        move |source| MigrateError::Blob { side, source }
    }
}

/// Copies the embedded deployment in `from` into the catalog and store `config` names, with
/// at most `jobs` (1..=[`MAX_JOBS`]) files copied or checked at once, then verifies the
/// target. Returns the report; it lists any difference found.
pub async fn run(config: Config, from: &Path, jobs: usize) -> Result<MigrateReport, MigrateError> {
    let source_catalog = from.join(CATALOG_FILE);
    let source_blobs = from.join(BLOB_DIR);
    if !source_catalog.is_file() || !source_blobs.is_dir() {
        return Err(MigrateError::NoSource(from.to_owned()));
    }
    refuse_same_target(&config, &source_catalog, &source_blobs)?;
    let readers = config.catalog.readers;
    let ctx = open_context(config, None)
        .await
        .map_err(|e| MigrateError::Target(Box::new(e)))?;
    let target = End {
        side: Side::Target,
        catalog: Arc::clone(&ctx.catalog),
        blob: ctx.blob.clone(),
    };
    let source = End {
        side: Side::Source,
        catalog: Arc::new(
            SqliteCatalog::open(&source_catalog, readers).map_err(|source| {
                MigrateError::Catalog {
                    side: Side::Source,
                    source,
                }
            })?,
        ),
        blob: BlobStore::open(
            &super::storage_settings::local(&ctx.config, &source_blobs)
                .map_err(|e| MigrateError::Target(Box::new(e.into())))?,
            ctx.metrics.blob_errors.clone(),
        )
        .map_err(|source| MigrateError::Blob {
            side: Side::Source,
            source,
        })?,
    };
    let jobs = jobs.clamp(1, MAX_JOBS);
    let mut report = MigrateReport::new(&from.display().to_string());
    let apps = source.catalog.apps().await.map_err(source.cat())?;
    for app in &apps {
        copy::app(&source, &target, app, jobs, &mut report).await?;
    }
    copy::tasks(&source, &target, &mut report).await?;
    verify::run(&source, &target, &apps, jobs, &mut report).await?;
    Ok(report)
}

/// Refuses a target catalog that is the source's catalog file, or a target store that is the
/// source's blob directory (however the paths are spelled).
fn refuse_same_target(
    config: &Config,
    source_catalog: &Path,
    source_blobs: &Path,
) -> Result<(), MigrateError> {
    let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let targets = [
        ("catalog", sqlite_catalog_path(config), source_catalog),
        ("blob store", local_blob_dir(config), source_blobs),
    ];
    for (what, target, source) in targets {
        if let Some(path) = target.filter(|t| same(t, source)) {
            return Err(MigrateError::SameTarget { what, path });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(env: &[(&str, &str)], data_dir: &Path) -> Config {
        let vars = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        let mut config = Config::load(None, vars).expect("config");
        config.server.data_dir = data_dir.to_owned();
        config
    }

    #[test]
    fn the_source_itself_is_refused_however_it_is_spelled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = dir.path().join("old");
        std::fs::create_dir_all(source.join(BLOB_DIR)).expect("blobs");
        std::fs::write(source.join(CATALOG_FILE), b"").expect("catalog");
        let (catalog, blobs) = (source.join(CATALOG_FILE), source.join(BLOB_DIR));
        let refused = |config: &Config| refuse_same_target(config, &catalog, &blobs);

        let same_dir = config(&[], &dir.path().join("old/../old"));
        assert!(matches!(
            refused(&same_dir),
            Err(MigrateError::SameTarget {
                what: "catalog",
                ..
            })
        ));
        let url = format!("sqlite://{}", catalog.display());
        let by_url = config(&[("PICTOR_CATALOG_URL", url.as_str())], dir.path());
        assert!(matches!(
            refused(&by_url),
            Err(MigrateError::SameTarget {
                what: "catalog",
                ..
            })
        ));
        let store = format!("file://{}/old/./blobs", dir.path().display());
        let blobs_only = config(&[("PICTOR_STORAGE_URL", store.as_str())], dir.path());
        let err = refused(&blobs_only).expect_err("the source's blobs");
        assert!(err.to_string().contains("blob store"), "{err}");
        assert!(
            refused(&config(&[], &dir.path().join("new"))).is_ok(),
            "another data dir"
        );
    }
}
