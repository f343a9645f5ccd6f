//! Copies and moves: the rules of [`copy_move::run`](crate::catalog::copy_move::run) over the
//! writer's transaction. Writes already run one at a time, so nothing is locked; every step is
//! a synchronous statement, so the steps run to their end without an executor.

use super::blobs::trash;
use super::deletions;
use super::files::insert_file;
use super::folders::{ensure_folder, folder_at, insert_folder_row, touch_folder};
use super::quota::usage_in;
use super::rows::{file_from_row, folder_from_row, FILE_COLUMNS};
use super::{backend, SqliteCatalog};
use crate::catalog::copy_move::run::{run, Kind};
use crate::catalog::copy_move::store::EntryStore;
use crate::catalog::tree::subtree_range;
use crate::catalog::{
    CatalogError, CatalogResult, Change, DeletionKind, FileRecord, Folder, Transfer, Transferred,
    Usage,
};
use crate::paths;
use rusqlite::{params, OptionalExtension, Transaction};
use std::collections::BTreeSet;
use std::future::Future;
use std::task::{Context, Poll, Waker};

pub(super) async fn copy_entries(
    catalog: &SqliteCatalog,
    app_key: &str,
    transfer: &Transfer,
) -> CatalogResult<Transferred> {
    transfer_entries(catalog, app_key, transfer, Kind::Copy).await
}

pub(super) async fn move_entries(
    catalog: &SqliteCatalog,
    app_key: &str,
    transfer: &Transfer,
) -> CatalogResult<Transferred> {
    transfer_entries(catalog, app_key, transfer, Kind::Move).await
}

/// Runs a copy or a move in one write transaction.
async fn transfer_entries(
    catalog: &SqliteCatalog,
    app_key: &str,
    transfer: &Transfer,
    kind: Kind,
) -> CatalogResult<Transferred> {
    let (key, transfer) = (app_key.to_owned(), transfer.clone());
    catalog
        .tx(move |tx| {
            let store = Steps { tx, app_key: &key };
            to_the_end(run(&store, &key, kind, &transfer))
        })
        .await
}

/// Why the steps of a copy or a move could not run to their end.
#[derive(Debug, thiserror::Error)]
#[error("a catalog step waited, which SQLite steps never do")]
struct StepWaited;

/// Polls `steps` once: SQLite steps never wait, so they have run to their end.
fn to_the_end<T>(steps: impl Future<Output = CatalogResult<T>>) -> CatalogResult<T> {
    let mut steps = std::pin::pin!(steps);
    match steps.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => Err(CatalogError::backend(StepWaited)),
    }
}

/// The writer's transaction, for one app.
struct Steps<'a> {
    /// The transaction every step runs in.
    tx: &'a Transaction<'a>,
    /// The app whose entries are copied or moved.
    app_key: &'a str,
}

impl Steps<'_> {
    /// The rows of a `SELECT` of file columns.
    fn files(&self, sql: &str, params: impl rusqlite::Params) -> CatalogResult<Vec<FileRecord>> {
        let mut stmt = self.tx.prepare_cached(sql).map_err(backend)?;
        let rows = stmt
            .query_map(params, file_from_row)
            .map_err(backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        Ok(rows)
    }

    /// Runs one changing statement.
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> CatalogResult<()> {
        self.tx
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params))
            .map_err(backend)?;
        Ok(())
    }
}

impl EntryStore for Steps<'_> {
    const LOCKS: bool = false;

    async fn files_by_id(&self, ids: &[String]) -> CatalogResult<Vec<FileRecord>> {
        let sql = format!("SELECT {FILE_COLUMNS} FROM files WHERE app_key = ?1 AND id = ?2");
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.extend(self.files(&sql, params![self.app_key, id])?);
        }
        Ok(found)
    }

    async fn folders_by_id(&self, ids: &[String]) -> CatalogResult<Vec<Folder>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT id, path, updated_at FROM folders WHERE app_key = ?1 AND id = ?2",
            )
            .map_err(backend)?;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let folder = stmt
                .query_row(params![self.app_key, id], folder_from_row)
                .optional()
                .map_err(backend)?;
            found.extend(folder);
        }
        Ok(found)
    }

    async fn lock_folders(
        &self,
        _paths: &BTreeSet<String>,
        _trees: &BTreeSet<String>,
    ) -> CatalogResult<()> {
        Ok(())
    }

    async fn files_below(
        &self,
        folder: &str,
        uploads_only: bool,
        limit: usize,
    ) -> CatalogResult<Vec<FileRecord>> {
        let (lo, hi) = subtree_range(folder);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.files(
            &format!(
                "SELECT {FILE_COLUMNS} FROM files
                 WHERE app_key = ?1 AND path >= ?2 AND path < ?3 AND (?4 = 0 OR created_by = 'U')
                 ORDER BY path LIMIT ?5"
            ),
            params![self.app_key, lo, hi, uploads_only, limit],
        )
    }

    async fn folders_below(&self, folder: &str, limit: usize) -> CatalogResult<Vec<Folder>> {
        let (lo, hi) = subtree_range(folder);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT id, path, updated_at FROM folders
                 WHERE app_key = ?1 AND path >= ?2 AND path < ?3 AND path <> '/'
                 ORDER BY path LIMIT ?4",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![self.app_key, lo, hi, limit], folder_from_row)
            .map_err(backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        Ok(rows)
    }

    async fn file_at(&self, path: &str) -> CatalogResult<Option<FileRecord>> {
        let sql = format!("SELECT {FILE_COLUMNS} FROM files WHERE app_key = ?1 AND path = ?2");
        Ok(self.files(&sql, params![self.app_key, path])?.pop())
    }

    async fn folder_at(&self, path: &str) -> CatalogResult<Option<Folder>> {
        folder_at(self.tx, self.app_key, path)
    }

    async fn ensure_folder(&self, path: &str, now: i64) -> CatalogResult<()> {
        ensure_folder(self.tx, self.app_key, path, now).map(|_| ())
    }

    async fn insert_files(&self, files: &[FileRecord]) -> CatalogResult<()> {
        for file in files {
            insert_file(self.tx, self.app_key, file)?;
        }
        Ok(())
    }

    async fn replace_file(&self, f: &FileRecord) -> CatalogResult<()> {
        self.exec(
            "UPDATE files SET bytes = ?2, created_by = ?3, operation_id = ?4, source_id = ?5,
                 variant = ?6, blob_key = ?7, etag = ?8, content_type = ?9, width = ?10,
                 height = ?11, taken_at = ?12, lat = ?13, lng = ?14, updated_at = ?15,
                 dominant_color = ?16
             WHERE id = ?1",
            params![
                f.id,
                f.bytes as i64,
                f.created_by.code(),
                f.operation_id,
                f.source_id,
                f.variant,
                f.blob_key,
                f.etag,
                f.content_type,
                f.width,
                f.height,
                f.taken_at,
                f.lat,
                f.lng,
                f.updated_at,
                f.dominant_color
            ],
        )
    }

    async fn delete_moved_file(&self, id: &str, path: &str, now: i64) -> CatalogResult<()> {
        self.exec(
            "DELETE FROM files WHERE app_key = ?1 AND id = ?2",
            params![self.app_key, id],
        )?;
        let gone = [(id.to_owned(), path.to_owned())];
        deletions::record(self.tx, self.app_key, &gone, DeletionKind::Delete, now)
    }

    async fn set_file_path(&self, id: &str, path: &str) -> CatalogResult<()> {
        self.exec(
            "UPDATE files SET path = ?3, parent = ?4, name = ?5 WHERE app_key = ?1 AND id = ?2",
            params![
                self.app_key,
                id,
                path,
                paths::parent(path),
                paths::name(path)
            ],
        )
    }

    async fn repoint_products(&self, from: &str, to: &str) -> CatalogResult<()> {
        self.exec(
            "UPDATE files SET source_id = ?3 WHERE app_key = ?1 AND source_id = ?2",
            params![self.app_key, from, to],
        )
    }

    async fn insert_folder(&self, folder: &Folder) -> CatalogResult<()> {
        insert_folder_row(self.tx, self.app_key, folder)
    }

    async fn move_folder(&self, id: &str, from: &str, to: &str) -> CatalogResult<()> {
        self.exec(
            "UPDATE folders SET path = ?3, parent = ?4, name = ?5 WHERE app_key = ?1 AND id = ?2",
            params![self.app_key, id, to, paths::parent(to), paths::name(to)],
        )?;
        // Below `from`, every path and parent starts with `from`: the same characters of
        // `to` take their place (`length` and `substr` count characters, alike for both).
        let (lo, hi) = subtree_range(from);
        for table in ["folders", "files"] {
            self.exec(
                &format!(
                    "UPDATE {table} SET path = ?4 || substr(path, length(?5) + 1),
                         parent = ?4 || substr(parent, length(?5) + 1)
                     WHERE app_key = ?1 AND path >= ?2 AND path < ?3"
                ),
                params![self.app_key, lo, hi, to, from],
            )?;
        }
        Ok(())
    }

    async fn delete_folder_row(&self, id: &str) -> CatalogResult<()> {
        self.exec(
            "DELETE FROM folders WHERE app_key = ?1 AND id = ?2",
            params![self.app_key, id],
        )
    }

    async fn touch_folder(&self, path: &str, now: i64) -> CatalogResult<()> {
        touch_folder(self.tx, self.app_key, path, now)
    }

    async fn trash(&self, keys: &[String]) -> CatalogResult<()> {
        trash(self.tx, keys)
    }

    async fn usage(&self) -> CatalogResult<Usage> {
        usage_in(self.tx, self.app_key)
    }

    async fn announce(&self, _change: &Change) -> CatalogResult<()> {
        Ok(())
    }
}
