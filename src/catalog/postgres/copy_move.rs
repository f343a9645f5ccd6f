//! Copies and moves: the rules of [`copy_move::run`](crate::catalog::copy_move::run) in one
//! transaction. The folders of the named entries, the named folders with everything below
//! them, and the target with what it would merge into are locked in one statement, in path
//! order (see `folders`), before any row changes: a concurrent change of any of them waits,
//! and a concurrent deletion of a source waits until its copy exists, so it never drops a blob
//! the copy references. Moves and replacements are announced to every node's change feed.

use super::blobs::trash;
use super::changes::announce;
use super::deletions;
use super::files::{insert_file, replace_file};
use super::folders::{ensure_folder, folder_at, touch_folder};
use super::metadata::insert_tags;
use super::quota::usage_in;
use super::rows::{all, file_from_row, folder_from_row, FILE_COLUMNS, FOLDER_COLUMNS};
use super::{commit, execute, limit_param, name_taken, query, query_opt, write_tx, PgCatalog};
use crate::catalog::copy_move::run::{run, Kind};
use crate::catalog::copy_move::store::EntryStore;
use crate::catalog::tree::subtree_range;
use crate::catalog::{
    CatalogResult, Change, DeletionKind, FileRecord, Folder, Transfer, Transferred, Usage,
};
use crate::paths;
use deadpool_postgres::Transaction;
use std::collections::BTreeSet;

pub(super) async fn copy_entries(
    catalog: &PgCatalog,
    app_key: &str,
    transfer: &Transfer,
) -> CatalogResult<Transferred> {
    transfer_entries(catalog, app_key, transfer, Kind::Copy).await
}

pub(super) async fn move_entries(
    catalog: &PgCatalog,
    app_key: &str,
    transfer: &Transfer,
) -> CatalogResult<Transferred> {
    transfer_entries(catalog, app_key, transfer, Kind::Move).await
}

/// Runs a copy or a move in one transaction. A name another node took between a look-up and
/// an insert (the unique index refuses it) answers as a taken name.
async fn transfer_entries(
    catalog: &PgCatalog,
    app_key: &str,
    transfer: &Transfer,
    kind: Kind,
) -> CatalogResult<Transferred> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let store = Steps { tx: &tx, app_key };
    let done = run(&store, app_key, kind, transfer)
        .await
        .map_err(|e| name_taken(e, &transfer.target))?;
    commit(tx).await?;
    Ok(done)
}

/// One transaction, for one app.
struct Steps<'a> {
    /// The transaction every step runs in.
    tx: &'a Transaction<'a>,
    /// The app whose entries are copied or moved.
    app_key: &'a str,
}

impl Steps<'_> {
    /// The files of a `SELECT` of file columns.
    async fn files(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> CatalogResult<Vec<FileRecord>> {
        all(&query(self.tx, sql, params).await?, file_from_row)
    }
}

impl EntryStore for Steps<'_> {
    const LOCKS: bool = true;

    async fn files_by_id(&self, ids: &[String]) -> CatalogResult<Vec<FileRecord>> {
        let sql =
            format!("SELECT {FILE_COLUMNS} FROM files WHERE app_key = $1 AND id = ANY($2::TEXT[])");
        self.files(&sql, &[&self.app_key, &ids]).await
    }

    async fn folders_by_id(&self, ids: &[String]) -> CatalogResult<Vec<Folder>> {
        let sql = format!(
            "SELECT {FOLDER_COLUMNS} FROM folders WHERE app_key = $1 AND id = ANY($2::TEXT[])"
        );
        all(
            &query(self.tx, &sql, &[&self.app_key, &ids]).await?,
            folder_from_row,
        )
    }

    async fn lock_folders(
        &self,
        paths: &BTreeSet<String>,
        trees: &BTreeSet<String>,
    ) -> CatalogResult<()> {
        let exact: Vec<&String> = paths.iter().chain(trees).collect();
        let (lows, highs): (Vec<String>, Vec<String>) =
            trees.iter().map(|tree| subtree_range(tree)).unzip();
        query(
            self.tx,
            "SELECT path FROM folders
             WHERE app_key = $1 AND (path = ANY($2::TEXT[]) OR EXISTS (
                 SELECT 1 FROM unnest($3::TEXT[], $4::TEXT[]) AS r(lo, hi)
                 WHERE folders.path >= r.lo AND folders.path < r.hi))
             ORDER BY path FOR NO KEY UPDATE",
            &[&self.app_key, &exact, &lows, &highs],
        )
        .await?;
        Ok(())
    }

    async fn files_below(
        &self,
        folder: &str,
        uploads_only: bool,
        limit: usize,
    ) -> CatalogResult<Vec<FileRecord>> {
        let (lo, hi) = subtree_range(folder);
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM files
             WHERE app_key = $1 AND path >= $2 AND path < $3 AND (NOT $4 OR created_by = 'U')
             ORDER BY path LIMIT $5"
        );
        self.files(
            &sql,
            &[&self.app_key, &lo, &hi, &uploads_only, &limit_param(limit)],
        )
        .await
    }

    async fn folders_below(&self, folder: &str, limit: usize) -> CatalogResult<Vec<Folder>> {
        let (lo, hi) = subtree_range(folder);
        let sql = format!(
            "SELECT {FOLDER_COLUMNS} FROM folders
             WHERE app_key = $1 AND path >= $2 AND path < $3 AND path <> '/'
             ORDER BY path LIMIT $4"
        );
        all(
            &query(
                self.tx,
                &sql,
                &[&self.app_key, &lo, &hi, &limit_param(limit)],
            )
            .await?,
            folder_from_row,
        )
    }

    async fn file_at(&self, path: &str) -> CatalogResult<Option<FileRecord>> {
        let sql = format!("SELECT {FILE_COLUMNS} FROM files WHERE app_key = $1 AND path = $2");
        let row = query_opt(self.tx, &sql, &[&self.app_key, &path]).await?;
        row.as_ref().map(file_from_row).transpose()
    }

    async fn folder_at(&self, path: &str) -> CatalogResult<Option<Folder>> {
        folder_at(self.tx, self.app_key, path).await
    }

    async fn ensure_folder(&self, path: &str, now: i64) -> CatalogResult<()> {
        ensure_folder(self.tx, self.app_key, path, now)
            .await
            .map(|_| ())
    }

    async fn insert_files(&self, files: &[FileRecord]) -> CatalogResult<()> {
        match files {
            [] => Ok(()),
            [one] => insert_file(self.tx, self.app_key, one).await,
            many => insert_many(self.tx, self.app_key, many).await,
        }
    }

    async fn replace_file(&self, file: &FileRecord) -> CatalogResult<()> {
        replace_file(self.tx, file).await
    }

    async fn delete_moved_file(&self, id: &str, path: &str, now: i64) -> CatalogResult<()> {
        execute(
            self.tx,
            "DELETE FROM files WHERE app_key = $1 AND id = $2",
            &[&self.app_key, &id],
        )
        .await?;
        let gone = [(id.to_owned(), path.to_owned())];
        deletions::record(self.tx, self.app_key, &gone, DeletionKind::Delete, now).await
    }

    async fn set_file_path(&self, id: &str, path: &str) -> CatalogResult<()> {
        execute(
            self.tx,
            "UPDATE files SET path = $3, parent = $4, name = $5 WHERE app_key = $1 AND id = $2",
            &[
                &self.app_key,
                &id,
                &path,
                &paths::parent(path),
                &paths::name(path),
            ],
        )
        .await?;
        Ok(())
    }

    async fn repoint_products(&self, from: &str, to: &str) -> CatalogResult<()> {
        execute(
            self.tx,
            "UPDATE files SET source_id = $3 WHERE app_key = $1 AND source_id = $2",
            &[&self.app_key, &from, &to],
        )
        .await?;
        Ok(())
    }

    async fn insert_folder(&self, folder: &Folder) -> CatalogResult<()> {
        let path = folder.path.as_str();
        execute(
            self.tx,
            "INSERT INTO folders (id, app_key, path, parent, name, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &folder.id,
                &self.app_key,
                &path,
                &paths::parent(path),
                &paths::name(path),
                &folder.updated_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn move_folder(&self, id: &str, from: &str, to: &str) -> CatalogResult<()> {
        execute(
            self.tx,
            "UPDATE folders SET path = $3, parent = $4, name = $5 WHERE app_key = $1 AND id = $2",
            &[
                &self.app_key,
                &id,
                &to,
                &paths::parent(to),
                &paths::name(to),
            ],
        )
        .await?;
        // Below `from`, every path and parent starts with `from`: the same characters of `to`
        // take their place (`length` and `substr` count characters).
        let (lo, hi) = subtree_range(from);
        for table in ["folders", "files"] {
            execute(
                self.tx,
                &format!(
                    "UPDATE {table} SET path = $4 || substr(path, length($5) + 1),
                         parent = $4 || substr(parent, length($5) + 1)
                     WHERE app_key = $1 AND path >= $2 AND path < $3"
                ),
                &[&self.app_key, &lo, &hi, &to, &from],
            )
            .await?;
        }
        Ok(())
    }

    async fn delete_folder_row(&self, id: &str) -> CatalogResult<()> {
        execute(
            self.tx,
            "DELETE FROM folders WHERE app_key = $1 AND id = $2",
            &[&self.app_key, &id],
        )
        .await?;
        Ok(())
    }

    async fn touch_folder(&self, path: &str, now: i64) -> CatalogResult<()> {
        touch_folder(self.tx, self.app_key, path, now).await
    }

    async fn trash(&self, keys: &[String]) -> CatalogResult<()> {
        trash(self.tx, keys).await
    }

    async fn usage(&self) -> CatalogResult<Usage> {
        usage_in(self.tx, self.app_key).await
    }

    async fn announce(&self, change: &Change) -> CatalogResult<()> {
        announce(self.tx, change).await
    }
}

/// Inserts file rows in one statement, one array per column, then the tags of those that
/// have any.
async fn insert_many(
    tx: &Transaction<'_>,
    app_key: &str,
    files: &[FileRecord],
) -> CatalogResult<()> {
    let column = |f: fn(&FileRecord) -> String| files.iter().map(f).collect::<Vec<String>>();
    let ids = column(|f| f.id.clone());
    let file_paths = column(|f| f.path.clone());
    let parents = column(|f| paths::parent(&f.path).to_owned());
    let names = column(|f| paths::name(&f.path).to_owned());
    let created_by = column(|f| f.created_by.code().to_owned());
    let operation_ids = column(|f| f.operation_id.clone());
    let variants = column(|f| f.variant.clone());
    let blob_keys = column(|f| f.blob_key.clone());
    let etags = column(|f| f.etag.clone());
    let content_types = column(|f| f.content_type.clone());
    let source_ids: Vec<Option<String>> = files.iter().map(|f| f.source_id.clone()).collect();
    let bytes: Vec<i64> = files
        .iter()
        .map(|f| i64::try_from(f.bytes).unwrap_or(i64::MAX))
        .collect();
    let widths: Vec<i64> = files.iter().map(|f| i64::from(f.width)).collect();
    let heights: Vec<i64> = files.iter().map(|f| i64::from(f.height)).collect();
    let taken_at: Vec<Option<i64>> = files.iter().map(|f| f.taken_at).collect();
    let lats: Vec<Option<f64>> = files.iter().map(|f| f.lat).collect();
    let lngs: Vec<Option<f64>> = files.iter().map(|f| f.lng).collect();
    let created_at: Vec<i64> = files.iter().map(|f| f.created_at).collect();
    let updated_at: Vec<i64> = files.iter().map(|f| f.updated_at).collect();
    let colors: Vec<Option<String>> = files.iter().map(|f| f.dominant_color.clone()).collect();
    execute(
        tx,
        "INSERT INTO files (id, app_key, path, parent, name, bytes, created_by, operation_id,
             source_id, blob_key, etag, content_type, width, height, taken_at, lat, lng,
             created_at, updated_at, variant, dominant_color)
         SELECT id, $1, path, parent, name, bytes, created_by, operation_id, source_id,
             blob_key, etag, content_type, width, height, taken_at, lat, lng, created_at,
             updated_at, variant, dominant_color
         FROM unnest($2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::BIGINT[], $7::TEXT[],
             $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[], $12::TEXT[], $13::BIGINT[],
             $14::BIGINT[], $15::BIGINT[], $16::FLOAT8[], $17::FLOAT8[], $18::BIGINT[],
             $19::BIGINT[], $20::TEXT[], $21::TEXT[])
           AS t(id, path, parent, name, bytes, created_by, operation_id, source_id, blob_key,
             etag, content_type, width, height, taken_at, lat, lng, created_at, updated_at,
             variant, dominant_color)",
        &[
            &app_key,
            &ids,
            &file_paths,
            &parents,
            &names,
            &bytes,
            &created_by,
            &operation_ids,
            &source_ids,
            &blob_keys,
            &etags,
            &content_types,
            &widths,
            &heights,
            &taken_at,
            &lats,
            &lngs,
            &created_at,
            &updated_at,
            &variants,
            &colors,
        ],
    )
    .await?;
    for f in files.iter().filter(|f| !f.tags.is_empty()) {
        insert_tags(tx, app_key, &f.id, &f.tags).await?;
    }
    Ok(())
}
