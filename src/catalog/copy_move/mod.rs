//! Copies and moves of files and folders ([`Catalog::copy_entries`] and
//! [`Catalog::move_entries`]): what a request names ([`Transfer`]), what it did
//! ([`Transferred`]) and why one is refused ([`Refusal`]).
//!
//! The rules are written once: `rules` checks what a request names, `run` places every entry
//! (conflicts, merges, renames, folder times, announcements) through the reads and writes of
//! `store::EntryStore`, which each backend makes in its own transaction. SQLite and PostgreSQL
//! thus copy and move alike, and a request changes everything or nothing.
//!
//! [`Catalog::copy_entries`]: super::Catalog::copy_entries
//! [`Catalog::move_entries`]: super::Catalog::move_entries

pub(in crate::catalog) mod rules;
pub(in crate::catalog) mod run;
pub(in crate::catalog) mod store;

use super::{Change, FileRecord, Folder, OnConflict, Quota};

/// A copy or a move: files and folders of one app, named by id, into one folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Files to copy or move (an id named twice counts once).
    pub file_ids: Vec<String>,
    /// Folders to copy or move with everything below them (an id named twice counts once).
    pub folder_ids: Vec<String>,
    /// Normalised path of the folder they go into; created with its missing parents.
    pub target: String,
    /// What to do when a file is at a path an entry goes to.
    pub on_conflict: OnConflict,
    /// Most files, and most folders, one request may copy or move (the named ones and those
    /// below the named folders, each count on its own).
    pub max_entries: usize,
    /// Longest path an entry may get.
    pub max_path_bytes: usize,
    /// The app's quota: a copy that grows its usage over it is refused (`QuotaExceeded`),
    /// as an upload is. A move never grows usage.
    pub quota: Quota,
    /// Time of the change: new entries, replaced files and the folders that gain or lose an
    /// entry take it.
    pub now: i64,
}

/// What a copy or a move did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transferred {
    /// Every file copied or moved, as it is now: the named files first, in the order named,
    /// then those below each named folder, in path order. A copy has a new id, a moved file
    /// keeps its own; a file that replaced another (`OnConflict::Overwrite`) has the replaced
    /// file's id.
    pub files: Vec<FileRecord>,
    /// Every folder copied or moved, as it is now, each named folder before those below it.
    /// A folder that went where a folder already was is that folder (the two are merged).
    pub folders: Vec<Folder>,
    /// What the request made stale: a moved file's old path ([`Change::Source`]), a moved
    /// folder's old path ([`Change::Below`]), each replaced file ([`Change::Source`]). A
    /// catalog with a change feed announced them in the request's transaction; the caller
    /// drops the variants they name from its own cache.
    pub changes: Vec<Change>,
}

/// Why a copy or a move was refused, before anything changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The root folder cannot be copied or moved.
    #[error("the root folder cannot be copied or moved")]
    Root,
    /// A folder cannot go into itself, below itself, or onto a folder that holds it.
    #[error("{folder} cannot go into {target}")]
    IntoItself {
        /// The folder named.
        folder: String,
        /// The target folder.
        target: String,
    },
    /// An entry is also below a folder the same request names.
    #[error("{0} lies below a folder the same request names")]
    Overlap(String),
    /// More files, or more folders, than [`Transfer::max_entries`].
    #[error("more than {0} files or folders")]
    TooMany(usize),
    /// An entry's new path would be longer than [`Transfer::max_path_bytes`].
    #[error("{0} would be longer than the path limit")]
    PathTooLong(String),
}
