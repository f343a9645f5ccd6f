//! Folders: creation with their parents, lookups, listings, totals and removal of a subtree.
//!
//! A folder row is locked before an entry is added to it or removed from it, and a
//! transaction locks its folders in path byte order (a parent sorts before its children, so
//! this is also root first), before any file row: concurrent changes of one folder take turns,
//! and transactions do not wait for each other in a cycle. Removing a subtree announces it to
//! every node's change feed (see `changes`).

use super::blobs::trash;
use super::changes::announce;
use super::deletions;
use super::files::{file_exists, ids_and_paths};
use super::rows::{all, col, file_from_row, folder_from_row, FILE_COLUMNS, FOLDER_COLUMNS};
use super::{
    commit, execute, name_taken, query, query_one, query_opt, read_tx, unsigned, write_tx,
    PgCatalog,
};
use crate::catalog::tree::{ancestors, subtree_range};
use crate::catalog::{
    CatalogError, CatalogResult, Change, CreatedBy, DeletionKind, Folder, FolderStats, ListQuery,
    Listing, SortKey,
};
use crate::paths;
use deadpool_postgres::{GenericClient, Transaction};

pub(super) async fn create_folder(
    catalog: &PgCatalog,
    app_key: &str,
    path: &str,
    now: i64,
) -> CatalogResult<Folder> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let (folder, created) = ensure_folder(&tx, app_key, path, now)
        .await
        .map_err(|e| name_taken(e, path))?;
    if !created {
        return Err(CatalogError::FolderExists(path.to_owned()));
    }
    commit(tx).await?;
    Ok(folder)
}

pub(super) async fn folder_by_path(
    catalog: &PgCatalog,
    app_key: &str,
    path: &str,
) -> CatalogResult<Option<Folder>> {
    folder_at(&catalog.client().await?, app_key, path).await
}

pub(super) async fn folder_by_id(
    catalog: &PgCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<Option<Folder>> {
    let sql = format!("SELECT {FOLDER_COLUMNS} FROM folders WHERE app_key = $1 AND id = $2");
    catalog.one(&sql, &[&app_key, &id], folder_from_row).await
}

pub(super) async fn list(
    catalog: &PgCatalog,
    app_key: &str,
    folder: &str,
    q: &ListQuery,
) -> CatalogResult<Listing> {
    let order = match (q.sort, q.descending) {
        (SortKey::Name, false) => "name ASC",
        (SortKey::Name, true) => "name DESC",
        (SortKey::Date, false) => "updated_at ASC, name ASC",
        (SortKey::Date, true) => "updated_at DESC, name ASC",
    };
    let needle = q.name.as_deref().unwrap_or("");
    let offset = i64::from(q.page.saturating_sub(1)) * i64::from(q.rows);
    let limit = i64::from(q.rows);
    let created_by = q.created_by.map(CreatedBy::code).unwrap_or("");
    let mut client = catalog.client().await?;
    let tx = read_tx(&mut client).await?;

    let folders_where = "app_key = $1 AND parent = $2 AND strpos(name, $3) > 0";
    let total_folders: i64 = col(
        &query_one(
            &tx,
            &format!("SELECT COUNT(*) FROM folders WHERE {folders_where}"),
            &[&app_key, &folder, &needle],
        )
        .await?,
        0,
    )?;
    let folders = query(
        &tx,
        &format!(
            "SELECT {FOLDER_COLUMNS} FROM folders WHERE {folders_where}
             ORDER BY {order} LIMIT $4 OFFSET $5"
        ),
        &[&app_key, &folder, &needle, &limit, &offset],
    )
    .await?;

    let files_where = "app_key = $1 AND parent = $2 AND strpos(name, $3) > 0
        AND ($4 = '' OR created_by = $4)";
    let total_files: i64 = col(
        &query_one(
            &tx,
            &format!("SELECT COUNT(*) FROM files WHERE {files_where}"),
            &[&app_key, &folder, &needle, &created_by],
        )
        .await?,
        0,
    )?;
    let files = query(
        &tx,
        &format!(
            "SELECT {FILE_COLUMNS} FROM files WHERE {files_where}
             ORDER BY {order} LIMIT $5 OFFSET $6"
        ),
        &[&app_key, &folder, &needle, &created_by, &limit, &offset],
    )
    .await?;
    commit(tx).await?;
    Ok(Listing {
        folders: all(&folders, folder_from_row)?,
        files: all(&files, file_from_row)?,
        total_folders: unsigned(total_folders),
        total_files: unsigned(total_files),
    })
}

pub(super) async fn folder_stats(
    catalog: &PgCatalog,
    app_key: &str,
    folder: &str,
) -> CatalogResult<FolderStats> {
    let (lo, hi) = subtree_range(folder);
    let mut client = catalog.client().await?;
    let tx = read_tx(&mut client).await?;
    let files = query_one(
        &tx,
        "SELECT COUNT(*), COALESCE(SUM(bytes), 0)::BIGINT FROM files
         WHERE app_key = $1 AND path >= $2 AND path < $3",
        &[&app_key, &lo, &hi],
    )
    .await?;
    let folders = query_one(
        &tx,
        "SELECT COUNT(*) FROM folders
         WHERE app_key = $1 AND path >= $2 AND path < $3 AND path <> '/'",
        &[&app_key, &lo, &hi],
    )
    .await?;
    commit(tx).await?;
    Ok(FolderStats {
        bytes: unsigned(col(&files, 1)?),
        folders: unsigned(col(&folders, 0)?),
        files: unsigned(col(&files, 0)?),
    })
}

pub(super) async fn delete_folder(
    catalog: &PgCatalog,
    app_key: &str,
    id: &str,
) -> CatalogResult<Vec<String>> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let found = query_opt(
        &tx,
        "SELECT path FROM folders WHERE app_key = $1 AND id = $2",
        &[&app_key, &id],
    )
    .await?;
    let Some(row) = found else {
        return Err(CatalogError::NotFound(id.to_owned()));
    };
    let path: String = col(&row, 0)?;
    let (lo, hi) = subtree_range(&path);
    if path != "/" {
        lock_folder(&tx, app_key, paths::parent(&path)).await?;
    }
    // The folder and everything below it, parents before children: an upload into the
    // subtree either committed before (and its file is deleted here) or waits and finds the
    // folder gone.
    let locked = query(
        &tx,
        "SELECT id FROM folders
         WHERE app_key = $1 AND (path = $2 OR (path >= $3 AND path < $4))
         ORDER BY path FOR UPDATE",
        &[&app_key, &path, &lo, &hi],
    )
    .await?;
    let still_there = locked
        .iter()
        .map(|row| col::<String>(row, 0))
        .collect::<CatalogResult<Vec<_>>>()?
        .contains(&id.to_owned());
    if !still_there {
        return Err(CatalogError::NotFound(id.to_owned()));
    }
    let removed = query(
        &tx,
        "DELETE FROM files WHERE app_key = $1 AND path >= $2 AND path < $3
         RETURNING blob_key, id, path",
        &[&app_key, &lo, &hi],
    )
    .await?;
    let keys = removed
        .iter()
        .map(|row| col::<String>(row, 0))
        .collect::<CatalogResult<Vec<_>>>()?;
    let gone = ids_and_paths(&removed, 1)?;
    deletions::record(
        &tx,
        app_key,
        &gone,
        DeletionKind::Delete,
        crate::clock::now_ms(),
    )
    .await?;
    execute(
        &tx,
        "DELETE FROM folders WHERE app_key = $1 AND path >= $2 AND path < $3 AND path <> '/'",
        &[&app_key, &lo, &hi],
    )
    .await?;
    if path != "/" {
        execute(
            &tx,
            "DELETE FROM folders WHERE app_key = $1 AND id = $2",
            &[&app_key, &id],
        )
        .await?;
        touch_folder(&tx, app_key, paths::parent(&path), crate::clock::now_ms()).await?;
    }
    trash(&tx, &keys).await?;
    let below = Change::Below {
        app_key: app_key.to_owned(),
        folder: path,
    };
    announce(&tx, &below).await?;
    commit(tx).await?;
    Ok(keys)
}

/// The folder at a path.
pub(super) async fn folder_at<C: GenericClient + Sync>(
    client: &C,
    app_key: &str,
    path: &str,
) -> CatalogResult<Option<Folder>> {
    let row = query_opt(
        client,
        &format!("SELECT {FOLDER_COLUMNS} FROM folders WHERE app_key = $1 AND path = $2"),
        &[&app_key, &path],
    )
    .await?;
    row.as_ref().map(folder_from_row).transpose()
}

/// The folder at a path, locked until the transaction ends: entries are added to it or
/// removed from it by one transaction at a time.
pub(super) async fn lock_folder(
    tx: &Transaction<'_>,
    app_key: &str,
    path: &str,
) -> CatalogResult<Option<Folder>> {
    let row = query_opt(
        tx,
        &format!(
            "SELECT {FOLDER_COLUMNS} FROM folders WHERE app_key = $1 AND path = $2
             FOR NO KEY UPDATE"
        ),
        &[&app_key, &path],
    )
    .await?;
    row.as_ref().map(folder_from_row).transpose()
}

/// Marks a folder as changed at `now` (never moving its time backwards): an entry was added
/// to it or removed from it.
pub(super) async fn touch_folder(
    tx: &Transaction<'_>,
    app_key: &str,
    path: &str,
    now: i64,
) -> CatalogResult<()> {
    execute(
        tx,
        "UPDATE folders SET updated_at = GREATEST(updated_at, $3)
         WHERE app_key = $1 AND path = $2",
        &[&app_key, &path, &now],
    )
    .await?;
    Ok(())
}

/// Creates `path` and its missing parents, root first; each new folder marks its parent as
/// changed at `now`. Returns the folder, locked, and whether it was new; `NotAFolder` when a
/// file holds the path or one of its parents.
pub(super) async fn ensure_folder(
    tx: &Transaction<'_>,
    app_key: &str,
    path: &str,
    now: i64,
) -> CatalogResult<(Folder, bool)> {
    if let Some(existing) = lock_folder(tx, app_key, path).await? {
        return Ok((existing, false));
    }
    for at in ancestors(path) {
        if lock_folder(tx, app_key, at).await?.is_none() {
            add_folder(tx, app_key, at, now).await?;
        }
    }
    add_folder(tx, app_key, path, now).await
}

/// Adds the folder `path` whose parent this transaction holds locked, marking the parent as
/// changed; `NotAFolder` when a file holds the path. When another transaction made the folder
/// meanwhile, returns it, locked, as not new.
async fn add_folder(
    tx: &Transaction<'_>,
    app_key: &str,
    path: &str,
    now: i64,
) -> CatalogResult<(Folder, bool)> {
    if file_exists(tx, app_key, path).await? {
        return Err(CatalogError::NotAFolder(path.to_owned()));
    }
    let folder = Folder {
        id: uuid::Uuid::new_v4().to_string(),
        path: path.to_owned(),
        updated_at: now,
    };
    let parent = if path == "/" { "" } else { paths::parent(path) };
    let inserted = execute(
        tx,
        "INSERT INTO folders (id, app_key, path, parent, name, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (app_key, path) DO NOTHING",
        &[
            &folder.id,
            &app_key,
            &path,
            &parent,
            &paths::name(path),
            &now,
        ],
    )
    .await?;
    if inserted == 0 {
        return match lock_folder(tx, app_key, path).await? {
            Some(existing) => Ok((existing, false)),
            None => Err(CatalogError::FolderExists(path.to_owned())),
        };
    }
    if path != "/" {
        touch_folder(tx, app_key, parent, now).await?;
    }
    Ok((folder, true))
}
