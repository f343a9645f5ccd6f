//! The steps of a copy or a move, over any backend's [`EntryStore`], in its one transaction:
//! any refusal on the way leaves the transaction to be rolled back, so nothing changes.
//!
//! 1. The named entries are read, and with a backend that locks, their folders and those of
//!    the target are locked in path order (read again until what was locked still holds them).
//! 2. The selection is checked (`rules`), what lies below the named folders is read (a copy
//!    takes uploaded files only) and counted against the limit, the target folder is made.
//! 3. Named files go into the target, then named folders with everything below them, parents
//!    before children. Each entry lands on a free path, on a file it replaces
//!    (`OnConflict::Overwrite`, keeping that file's id), on a free renamed path
//!    (`OnConflict::Rename`), or, for a folder, into the folder already there (merged); a
//!    taken path otherwise refuses the whole request with `FileExists`.
//!
//! Copies share bytes: a copy is a new row naming the same blob key. Below a folder that is
//! new at the target nothing can be in the way, so its entries are placed without a look-up:
//! a moved folder takes its whole subtree along in one step.

use super::rules::check_selection;
use super::store::EntryStore;
use super::{Refusal, Transfer, Transferred};
use crate::catalog::quota::Growth;
use crate::catalog::tree::rename_candidates;
use crate::catalog::{CatalogError, CatalogResult, Change, FileRecord, Folder, OnConflict};
use crate::paths;
use std::collections::{BTreeSet, HashMap};

/// Copy or move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::catalog) enum Kind {
    /// New entries; the named ones stay.
    Copy,
    /// The named entries go, keeping their ids.
    Move,
}

/// Rounds of reading the named entries and locking their folders before giving up (each
/// round only when a concurrent change moved one of them meanwhile).
const LOCK_ROUNDS: usize = 4;

/// Files inserted per statement when a copy fills a new folder.
const INSERT_BATCH: usize = 500;

/// Copies or moves what `req` names, in the transaction of `store`.
pub(in crate::catalog) async fn run<S: EntryStore>(
    store: &S,
    app_key: &str,
    kind: Kind,
    req: &Transfer,
) -> CatalogResult<Transferred> {
    let file_ids = unique(&req.file_ids);
    let folder_ids = unique(&req.folder_ids);
    if file_ids.len() > req.max_entries || folder_ids.len() > req.max_entries {
        return Err(refused(Refusal::TooMany(req.max_entries)));
    }
    let (files, folders) = lock_selection(store, req, &file_ids, &folder_ids).await?;
    check_selection(&req.target, &files, &folders).map_err(refused)?;
    let below = read_below(store, kind, req, files.len(), &folders).await?;
    store.ensure_folder(&req.target, req.now).await?;
    let mut run = Run {
        store,
        app_key,
        kind,
        req,
        out: Transferred::default(),
        growth: Growth::default(),
    };
    for file in files {
        run.place_named_file(file).await?;
    }
    for (folder, (sub_folders, sub_files)) in folders.into_iter().zip(below) {
        run.place_folder(folder, sub_folders, sub_files).await?;
    }
    let quota = req.quota;
    if quota.may_refuse(run.growth) && quota.refuses(store.usage().await?, run.growth) {
        return Err(CatalogError::QuotaExceeded);
    }
    Ok(run.out)
}

/// A refusal as the catalog's error.
fn refused(why: Refusal) -> CatalogError {
    CatalogError::Refused(why)
}

/// The ids in their first order, each once.
fn unique(ids: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    ids.iter()
        .filter(|id| seen.insert(id.as_str()))
        .cloned()
        .collect()
}

/// The named files and folders in the order named, read after their folders and the target's
/// are locked. `NotFound` for an id of no entry.
async fn lock_selection<S: EntryStore>(
    store: &S,
    req: &Transfer,
    file_ids: &[String],
    folder_ids: &[String],
) -> CatalogResult<(Vec<FileRecord>, Vec<Folder>)> {
    let mut locked_paths = BTreeSet::new();
    let mut locked_trees = BTreeSet::new();
    for _ in 0..LOCK_ROUNDS {
        let files = in_order(file_ids, store.files_by_id(file_ids).await?, |f| &f.id)?;
        let folders = in_order(folder_ids, store.folders_by_id(folder_ids).await?, |f| {
            &f.id
        })?;
        if !S::LOCKS {
            return Ok((files, folders));
        }
        let (paths, trees) = lock_set(req, &files, &folders);
        if paths.is_subset(&locked_paths) && trees.is_subset(&locked_trees) {
            return Ok((files, folders));
        }
        let paths: BTreeSet<String> = paths.difference(&locked_paths).cloned().collect();
        let trees: BTreeSet<String> = trees.difference(&locked_trees).cloned().collect();
        store.lock_folders(&paths, &trees).await?;
        locked_paths.extend(paths);
        locked_trees.extend(trees);
    }
    Err(CatalogError::Backend {
        source: Box::new(KeptMoving),
        retryable: true,
    })
}

/// Why the named entries could not be locked: concurrent changes kept moving them.
#[derive(Debug, thiserror::Error)]
#[error("the entries to copy or move kept moving while their folders were locked")]
struct KeptMoving;

/// `found` in the order of `ids`; `NotFound` for the first id without an entry.
fn in_order<T>(ids: &[String], found: Vec<T>, id: fn(&T) -> &String) -> CatalogResult<Vec<T>> {
    let mut by_id: HashMap<String, T> = found.into_iter().map(|e| (id(&e).clone(), e)).collect();
    ids.iter()
        .map(|i| {
            by_id
                .remove(i)
                .ok_or_else(|| CatalogError::NotFound(i.clone()))
        })
        .collect()
}

/// The folders a request changes or reads below: the folders of the named files, each named
/// folder's parent, the target and its parents (`paths`); each named folder and the folder it
/// lands on in the target, both with everything below them (`trees`).
fn lock_set(
    req: &Transfer,
    files: &[FileRecord],
    folders: &[Folder],
) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut paths: BTreeSet<String> = crate::catalog::tree::ancestors(&req.target)
        .into_iter()
        .map(str::to_owned)
        .collect();
    paths.insert(req.target.clone());
    let mut trees = BTreeSet::new();
    for file in files {
        paths.insert(paths::parent(&file.path).to_owned());
    }
    for folder in folders {
        if folder.path != "/" {
            paths.insert(paths::parent(&folder.path).to_owned());
            trees.insert(paths::join(&req.target, paths::name(&folder.path)));
            trees.insert(folder.path.clone());
        }
    }
    (paths, trees)
}

/// What lies below each named folder: its folders and its files (a copy's: uploaded ones
/// only), counted with the named entries against the limit.
async fn read_below<S: EntryStore>(
    store: &S,
    kind: Kind,
    req: &Transfer,
    named_files: usize,
    folders: &[Folder],
) -> CatalogResult<Vec<(Vec<Folder>, Vec<FileRecord>)>> {
    let max = req.max_entries;
    let (mut file_count, mut folder_count) = (named_files, folders.len());
    let mut below = Vec::with_capacity(folders.len());
    for folder in folders {
        let room = max.saturating_sub(folder_count).saturating_add(1);
        let sub_folders = store.folders_below(&folder.path, room).await?;
        folder_count += sub_folders.len();
        let room = max.saturating_sub(file_count).saturating_add(1);
        let sub_files = store
            .files_below(&folder.path, kind == Kind::Copy, room)
            .await?;
        file_count += sub_files.len();
        if file_count > max || folder_count > max {
            return Err(refused(Refusal::TooMany(max)));
        }
        below.push((sub_folders, sub_files));
    }
    Ok(below)
}

/// Where a file goes.
enum FileLanding {
    /// A free path.
    Free(String),
    /// The file there, which it replaces.
    Replace(Box<FileRecord>),
}

/// Where a folder goes.
enum FolderLanding {
    /// A free path.
    Free(String),
    /// The folder there, which it merges into.
    Merge(Folder),
}

/// What a folder of the target side is to the entries going into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// It was there before: its entries are looked up, and it changes when one is added.
    Existing,
    /// This request made it (a copy) or moved it there: nothing was below it before.
    New,
    /// It came along below a folder this request moved, with everything below it.
    Carried,
}

/// One request under way.
struct Run<'a, S> {
    /// The backend's transaction.
    store: &'a S,
    /// The app, for the changes announced.
    app_key: &'a str,
    /// Copy or move.
    kind: Kind,
    /// What was asked.
    req: &'a Transfer,
    /// What was done so far.
    out: Transferred,
    /// How much the copies grew the app's usage so far (moves grow nothing).
    growth: Growth,
}

impl<S: EntryStore> Run<'_, S> {
    /// Refuses a path longer than the limit.
    fn check_length(&self, path: &str) -> CatalogResult<()> {
        if path.len() > self.req.max_path_bytes {
            return Err(refused(Refusal::PathTooLong(path.to_owned())));
        }
        Ok(())
    }

    /// Counts what a copy added to the app's usage.
    fn grew(&mut self, by: Growth) {
        self.growth.bytes += by.bytes;
        self.growth.files += by.files;
    }

    /// Records a change and announces it.
    async fn changed(&mut self, change: Change) -> CatalogResult<()> {
        self.store.announce(&change).await?;
        self.out.changes.push(change);
        Ok(())
    }

    /// The change that makes the variants of the file at `path` stale.
    fn source(&self, path: &str) -> Change {
        Change::Source {
            app_key: self.app_key.to_owned(),
            path: path.to_owned(),
        }
    }

    /// Where a file going to `wanted` lands, in a folder that was there before.
    async fn land_file(&self, wanted: &str) -> CatalogResult<FileLanding> {
        self.check_length(wanted)?;
        let rule = self.req.on_conflict;
        let mut renames = rename_candidates(wanted);
        let mut at = wanted.to_owned();
        loop {
            if let Some(there) = self.store.file_at(&at).await? {
                if rule == OnConflict::Overwrite {
                    return Ok(FileLanding::Replace(Box::new(there)));
                }
            } else if self.store.folder_at(&at).await?.is_none() {
                self.check_length(&at)?;
                return Ok(FileLanding::Free(at));
            }
            match (rule, renames.next()) {
                (OnConflict::Rename, Some(next)) => at = next,
                _ => return Err(CatalogError::FileExists(wanted.to_owned())),
            }
        }
    }

    /// Where a folder going to `wanted` lands, in a folder that was there before: into the
    /// folder there, else on the path or, when a file holds it and renames are asked for, on
    /// the first free rename.
    async fn land_folder(&self, wanted: &str) -> CatalogResult<FolderLanding> {
        self.check_length(wanted)?;
        if let Some(there) = self.store.folder_at(wanted).await? {
            return Ok(FolderLanding::Merge(there));
        }
        if self.store.file_at(wanted).await?.is_none() {
            return Ok(FolderLanding::Free(wanted.to_owned()));
        }
        if self.req.on_conflict == OnConflict::Rename {
            for at in rename_candidates(wanted) {
                if self.store.file_at(&at).await?.is_none()
                    && self.store.folder_at(&at).await?.is_none()
                {
                    self.check_length(&at)?;
                    return Ok(FolderLanding::Free(at));
                }
            }
        }
        Err(CatalogError::FileExists(wanted.to_owned()))
    }

    /// A named file into the target folder.
    async fn place_named_file(&mut self, file: FileRecord) -> CatalogResult<()> {
        let wanted = paths::join(&self.req.target, paths::name(&file.path));
        if self.kind == Kind::Move && wanted == file.path {
            self.out.files.push(file);
            return Ok(());
        }
        let landing = self.land_file(&wanted).await?;
        self.put_file(file, landing, true).await
    }

    /// Copies or moves `file` to where it lands. `named`: the file was named by the request
    /// (a move takes it out of its folder, which changes); else it lies below a named folder.
    /// A file added to a folder changes that folder (only folders that were there before are
    /// placed here with a look-up).
    async fn put_file(
        &mut self,
        file: FileRecord,
        landing: FileLanding,
        named: bool,
    ) -> CatalogResult<()> {
        let now = self.req.now;
        let store = self.store;
        match landing {
            FileLanding::Free(path) => {
                let placed = match self.kind {
                    Kind::Copy => {
                        let copy = copy_of(file, &path, now);
                        store.insert_files(std::slice::from_ref(&copy)).await?;
                        self.grew(Growth::of_put(copy.bytes, None));
                        copy
                    }
                    Kind::Move => {
                        store.set_file_path(&file.id, &path).await?;
                        if named {
                            store.touch_folder(paths::parent(&file.path), now).await?;
                            self.changed(self.source(&file.path)).await?;
                        }
                        FileRecord { path, ..file }
                    }
                };
                store.touch_folder(paths::parent(&placed.path), now).await?;
                self.out.files.push(placed);
            }
            FileLanding::Replace(there) => {
                let old = file.path.clone();
                let id = file.id.clone();
                let replaced_blob = there.blob_key.clone();
                let new = replacing(file, &there, now);
                match self.kind {
                    Kind::Copy => self.grew(Growth::of_put(new.bytes, Some(there.bytes))),
                    Kind::Move => store.delete_moved_file(&id, &old, now).await?,
                }
                store.replace_file(&new).await?;
                if self.kind == Kind::Move {
                    store.repoint_products(&id, &new.id).await?;
                    if named {
                        store.touch_folder(paths::parent(&old), now).await?;
                        self.changed(self.source(&old)).await?;
                    }
                }
                store.trash(&[replaced_blob]).await?;
                self.changed(self.source(&there.path)).await?;
                self.out.files.push(new);
            }
        }
        Ok(())
    }

    /// A named folder into the target folder, with everything below it.
    async fn place_folder(
        &mut self,
        folder: Folder,
        sub_folders: Vec<Folder>,
        sub_files: Vec<FileRecord>,
    ) -> CatalogResult<()> {
        let wanted = paths::join(&self.req.target, paths::name(&folder.path));
        if self.kind == Kind::Move && wanted == folder.path {
            self.out.folders.push(folder);
            self.out.folders.extend(sub_folders);
            self.out.files.extend(sub_files);
            return Ok(());
        }
        if self.kind == Kind::Move {
            let below = Change::Below {
                app_key: self.app_key.to_owned(),
                folder: folder.path.clone(),
            };
            self.changed(below).await?;
            self.store
                .touch_folder(paths::parent(&folder.path), self.req.now)
                .await?;
        }
        let source = folder.path.clone();
        let landing = self.land_folder(&wanted).await?;
        let mut places: HashMap<String, (String, Place)> = HashMap::new();
        let mut merged_away = Vec::new();
        let (path, place) = self.put_folder(folder, landing, &mut merged_away).await?;
        places.insert(source, (path, place));
        for sub in sub_folders {
            let (parent, parent_place) = placed_parent(&places, &sub.path)?;
            let wanted = paths::join(&parent, paths::name(&sub.path));
            let source = sub.path.clone();
            let placed = match (parent_place, self.kind) {
                (Place::Existing, _) => {
                    let landing = self.land_folder(&wanted).await?;
                    self.put_folder(sub, landing, &mut merged_away).await?
                }
                (_, Kind::Move) => {
                    self.check_length(&wanted)?;
                    self.out.folders.push(Folder {
                        path: wanted.clone(),
                        ..sub
                    });
                    (wanted, Place::Carried)
                }
                (_, Kind::Copy) => {
                    self.check_length(&wanted)?;
                    let landing = FolderLanding::Free(wanted);
                    self.put_folder(sub, landing, &mut merged_away).await?
                }
            };
            places.insert(source, placed);
        }
        let mut batch = Vec::new();
        for file in sub_files {
            let (parent, parent_place) = placed_parent(&places, &file.path)?;
            let wanted = paths::join(&parent, paths::name(&file.path));
            match (parent_place, self.kind) {
                (Place::Existing, _) => {
                    self.flush(&mut batch).await?;
                    let landing = self.land_file(&wanted).await?;
                    self.put_file(file, landing, false).await?;
                }
                (_, Kind::Move) => {
                    self.check_length(&wanted)?;
                    self.out.files.push(FileRecord {
                        path: wanted,
                        ..file
                    });
                }
                (_, Kind::Copy) => {
                    self.check_length(&wanted)?;
                    batch.push(copy_of(file, &wanted, self.req.now));
                    if batch.len() == INSERT_BATCH {
                        self.flush(&mut batch).await?;
                    }
                }
            }
        }
        self.flush(&mut batch).await?;
        for id in merged_away {
            self.store.delete_folder_row(&id).await?;
        }
        Ok(())
    }

    /// Inserts the copies of `batch` (files below new folders) and lists them.
    async fn flush(&mut self, batch: &mut Vec<FileRecord>) -> CatalogResult<()> {
        if !batch.is_empty() {
            self.store.insert_files(batch).await?;
            for copy in batch.iter() {
                self.grew(Growth::of_put(copy.bytes, None));
            }
            self.out.files.append(batch);
        }
        Ok(())
    }

    /// Copies or moves one folder (not what is below it) to where it lands in a folder that
    /// was there before; returns its new path and what it now is to its entries. A folder a
    /// move merges into another is deleted at the end (`merged_away`), once emptied.
    async fn put_folder(
        &mut self,
        folder: Folder,
        landing: FolderLanding,
        merged_away: &mut Vec<String>,
    ) -> CatalogResult<(String, Place)> {
        let now = self.req.now;
        match landing {
            FolderLanding::Free(path) => {
                let placed = match self.kind {
                    Kind::Copy => {
                        let copy = Folder {
                            id: uuid::Uuid::new_v4().to_string(),
                            path,
                            updated_at: now,
                        };
                        self.store.insert_folder(&copy).await?;
                        copy
                    }
                    Kind::Move => {
                        self.store
                            .move_folder(&folder.id, &folder.path, &path)
                            .await?;
                        Folder { path, ..folder }
                    }
                };
                self.store
                    .touch_folder(paths::parent(&placed.path), now)
                    .await?;
                let path = placed.path.clone();
                self.out.folders.push(placed);
                Ok((path, Place::New))
            }
            FolderLanding::Merge(there) => {
                if self.kind == Kind::Move {
                    merged_away.push(folder.id);
                }
                let path = there.path.clone();
                self.out.folders.push(there);
                Ok((path, Place::Existing))
            }
        }
    }
}

/// The new path of the folder holding `path`, and what it is (placed before: parents come
/// first in path order).
fn placed_parent(
    places: &HashMap<String, (String, Place)>,
    path: &str,
) -> CatalogResult<(String, Place)> {
    places
        .get(paths::parent(path))
        .cloned()
        .ok_or_else(|| CatalogError::backend(format!("the folder of {path} was not placed")))
}

/// A copy of `file` at `path`: a new id, the same bytes (blob key) and facts, new now.
fn copy_of(file: FileRecord, path: &str, now: i64) -> FileRecord {
    FileRecord {
        id: uuid::Uuid::new_v4().to_string(),
        path: path.to_owned(),
        created_at: now,
        updated_at: now,
        ..file
    }
}

/// `file` written over `there`: the bytes and facts of `file`, the id, path and creation time
/// of `there`, updated now. A produced file never becomes its own source.
fn replacing(file: FileRecord, there: &FileRecord, now: i64) -> FileRecord {
    let source_id = file.source_id.filter(|s| *s != there.id);
    FileRecord {
        id: there.id.clone(),
        path: there.path.clone(),
        created_at: there.created_at,
        updated_at: now,
        source_id,
        ..file
    }
}
