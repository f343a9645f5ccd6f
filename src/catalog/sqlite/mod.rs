//! The embedded catalog: one SQLite file in WAL mode, safe to share between a running server and
//! the `pictor app` commands. Calls run on tokio's blocking pool: changes on one writer
//! connection, one at a time; reads on a small pool of reader connections, which in WAL mode
//! see the last commit without waiting for a write in progress.
//!
//! This file opens the catalog and hands connections out; [`schema`] versions the tables; the
//! SQL of each concern (apps, folders, files, operations, tasks, blobs, outbox, `metadata`: tags and
//! the search across folders, `quota`: usage
//! and the quota check, `rotation`: a file's new version, `uploads`: resumable uploads, `trash`, `restore` and `deletions`
//! (the history), `copy` / `trash_copy`: whole-catalog reads and stores as given, and
//! `copy_move`: copies and moves of entries) is in its
//! own file, and `calls` binds it to the
//! [`Catalog`](super::Catalog) trait.

mod apps;
mod blobs;
mod calls;
mod copy;
mod copy_move;
mod deletions;
mod files;
mod folders;
mod metadata;
mod operations;
mod outbox;
mod quota;
mod restore;
mod rotation;
mod rows;
mod schema;
mod tasks;
#[cfg(test)]
mod tests;
mod trash;
mod trash_copy;
mod uploads;

use super::{CatalogError, CatalogResult};
use rusqlite::{Connection, ErrorCode, Transaction};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// The SQLite catalog.
#[derive(Clone)]
pub struct SqliteCatalog {
    /// The writer: every change runs on this one connection, one at a time, as SQLite
    /// serialises writers anyway.
    conn: Arc<Mutex<Connection>>,
    /// Reader connections; in WAL mode they read the last commit while a write runs.
    readers: Arc<ReaderPool>,
}

/// A bounded pool of reader connections, opened on first use.
struct ReaderPool {
    /// The catalog file.
    path: PathBuf,
    /// Connections not in use.
    idle: Mutex<Vec<Connection>>,
    /// One permit per connection that may exist.
    permits: Arc<Semaphore>,
}

impl ReaderPool {
    /// An idle connection, or a new one (the caller holds a permit, so the pool stays bounded).
    fn take(&self) -> CatalogResult<Connection> {
        let idle = self
            .idle
            .lock()
            .map_err(|_| CatalogError::backend("catalog reader pool poisoned"))?
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => open_reader(&self.path),
        }
    }

    /// Returns a connection to the idle list.
    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }
}

/// How long a connection waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a connection that only reads.
fn open_reader(path: &Path) -> CatalogResult<Connection> {
    let conn = Connection::open(path).map_err(backend)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
    conn.pragma_update(None, "query_only", "ON")
        .map_err(backend)?;
    Ok(conn)
}

impl SqliteCatalog {
    /// Opens (creating if needed) the catalog file, brings its schema to this release's
    /// version, and allows up to `readers` reader connections (at least one).
    pub fn open(path: &Path, readers: usize) -> CatalogResult<Self> {
        let mut conn = Connection::open(path).map_err(backend)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        // FULL: in WAL mode every commit syncs the log, so an acknowledged change survives a
        // power failure (NORMAL syncs only at checkpoints and may lose the last commits).
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(backend)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(backend)?;
        schema::migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            readers: Arc::new(ReaderPool {
                path: path.to_owned(),
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(readers.max(1))),
            }),
        })
    }

    /// Runs `f` in a read transaction on a reader connection: it sees one consistent commit
    /// and never waits for the writer.
    async fn read<T, F>(&self, f: F) -> CatalogResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> CatalogResult<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.readers.permits)
            .acquire_owned()
            .await
            .map_err(CatalogError::backend)?;
        let pool = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = pool.take()?;
            let out = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)
                .map_err(backend)
                .and_then(|tx| {
                    let out = f(&tx)?;
                    tx.finish().map_err(backend)?;
                    Ok(out)
                });
            pool.give_back(conn);
            out
        })
        .await
        .map_err(CatalogError::backend)?
    }

    /// Runs `f` on the writer connection, outside any transaction (one statement commits
    /// by itself).
    async fn run<T, F>(&self, f: F) -> CatalogResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> CatalogResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| CatalogError::backend("catalog connection poisoned"))?;
            f(&mut guard)
        })
        .await
        .map_err(CatalogError::backend)?
    }

    /// Runs `f` in a write transaction on the writer connection; commits when it succeeds.
    async fn tx<T, F>(&self, f: F) -> CatalogResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> CatalogResult<T> + Send + 'static,
    {
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            let out = f(&tx)?;
            tx.commit().map_err(backend)?;
            Ok(out)
        })
        .await
    }
}

/// A SQLite failure as a catalog error, retryable when another connection held the lock
/// longer than [`BUSY_TIMEOUT`].
fn backend(e: rusqlite::Error) -> CatalogError {
    let retryable = matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    );
    CatalogError::Backend {
        source: Box::new(e),
        retryable,
    }
}
