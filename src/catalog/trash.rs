//! What the trash and the deletion history hold, as the catalog hands them out: the items of an
//! app's trash, what a restore did, the entries of the deletion history, and the rows of the
//! trash tables as `pictor migrate` copies them.
//!
//! A trashed file or folder leaves `files` / `folders` for `trashed_files` / `trashed_folders`
//! (same columns, plus the item it belongs to, when it was trashed and when it is purged), so
//! every query over the live tree stays as it was and a trashed path is free for new uploads.
//! An *item* is what a deletion trashed and what a restore or a purge takes whole: a file with
//! the files produced from it, or a folder with every folder and file below it (and the files
//! produced from those, wherever they are). Its id is the id of the file or folder deleted.

use super::{FileRecord, Folder};

/// One item of an app's trash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashItem {
    /// Id of the file or folder that was deleted (the item's id).
    pub id: String,
    /// Whether the item is a folder.
    pub is_folder: bool,
    /// Path it had when it was deleted, and gets back when restored unless taken meanwhile.
    pub path: String,
    /// Bytes of every file the item holds (a file's own and its produced files'; a folder's
    /// every file below): what purging it frees.
    pub bytes: u64,
    /// Files the item holds.
    pub files: u64,
    /// When it was trashed.
    pub deleted_at: i64,
    /// When the maintenance sweep purges it.
    pub purge_at: i64,
}

/// An item put back by a restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The item's id (the file or folder keeps it).
    pub id: String,
    /// Whether the item is a folder.
    pub is_folder: bool,
    /// Where it is now.
    pub path: String,
    /// Whether its path was taken meanwhile, so that it got the first free `name(n)` instead.
    pub renamed: bool,
}

/// How a file left the live tree, as the deletion history names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionKind {
    /// Moved to the trash (it may come back).
    Trash,
    /// Purged from the trash (by request, by emptying it or by the sweep).
    Purge,
    /// Deleted at once (trash off, a produced file dropped, an operation's results deleted).
    Delete,
}

impl DeletionKind {
    /// The name of the API and of the catalog column.
    pub fn code(self) -> &'static str {
        match self {
            Self::Trash => "trash",
            Self::Purge => "purge",
            Self::Delete => "delete",
        }
    }

    /// Parses the name.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "trash" => Some(Self::Trash),
            "purge" => Some(Self::Purge),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// One entry of the deletion history: one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// Id of the file.
    pub file_id: String,
    /// Its path when it was deleted or trashed (for a purge, the path it had before the trash).
    pub path: String,
    /// How it left.
    pub kind: DeletionKind,
    /// When.
    pub deleted_at: i64,
}

/// Where a row of the trash tables belongs: its item and the item's times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrashTimes {
    /// When the item was trashed.
    pub deleted_at: i64,
    /// When the sweep purges it.
    pub purge_at: i64,
}

/// A row of `trashed_files`, as `pictor migrate` copies it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrashedFile {
    /// The file as it was when trashed.
    pub file: FileRecord,
    /// The item it belongs to.
    pub item_id: String,
    /// The item's times.
    pub times: TrashTimes,
}

/// A row of `trashed_folders`, as `pictor migrate` copies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashedFolder {
    /// The folder as it was when trashed.
    pub folder: Folder,
    /// The item it belongs to.
    pub item_id: String,
    /// The item's times.
    pub times: TrashTimes,
}

/// `path` moved from below (or at) the folder `from` to below (or at) `to`; `None` when `path`
/// is neither `from` nor below it. `from` is never the root (the root is never one item).
pub fn rebase(path: &str, from: &str, to: &str) -> Option<String> {
    if path == from {
        return Some(to.to_owned());
    }
    let rest = path.strip_prefix(from)?;
    rest.starts_with('/').then(|| format!("{to}{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_survive_their_names() {
        for kind in [
            DeletionKind::Trash,
            DeletionKind::Purge,
            DeletionKind::Delete,
        ] {
            assert_eq!(DeletionKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(DeletionKind::from_code("restore"), None);
    }

    #[test]
    fn rebase_moves_a_subtree_only() {
        assert_eq!(rebase("/a", "/a", "/a(1)").as_deref(), Some("/a(1)"));
        assert_eq!(
            rebase("/a/b/c.jpg", "/a", "/a(1)").as_deref(),
            Some("/a(1)/b/c.jpg")
        );
        assert_eq!(rebase("/ab/c.jpg", "/a", "/a(1)"), None);
        assert_eq!(rebase("/b/c.jpg", "/a", "/a(1)"), None);
    }
}
