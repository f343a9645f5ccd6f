//! Path rules of copies and moves that need no store: what a request may name.

use super::Refusal;
use crate::catalog::tree::{ancestors, subtree_range};
use crate::catalog::{FileRecord, Folder};
use crate::paths;
use std::collections::BTreeSet;

/// Whether `path` lies strictly below `folder` ([`subtree_range`]).
pub(in crate::catalog) fn is_below(path: &str, folder: &str) -> bool {
    let (lo, hi) = subtree_range(folder);
    path != folder && path >= lo.as_str() && path < hi.as_str()
}

/// Refuses what no copy or move into `target` may name: the root folder; a folder going into
/// itself or below itself, or onto a folder that holds it (`/x/b/b` into `/x` would land on
/// its own ancestor `/x/b`); an entry below another folder the request names.
pub(in crate::catalog) fn check_selection(
    target: &str,
    files: &[FileRecord],
    folders: &[Folder],
) -> Result<(), Refusal> {
    for folder in folders {
        if folder.path == "/" {
            return Err(Refusal::Root);
        }
        let lands_at = paths::join(target, paths::name(&folder.path));
        if target == folder.path
            || is_below(target, &folder.path)
            || is_below(&folder.path, &lands_at)
        {
            return Err(Refusal::IntoItself {
                folder: folder.path.clone(),
                target: target.to_owned(),
            });
        }
    }
    let named: BTreeSet<&str> = folders.iter().map(|f| f.path.as_str()).collect();
    let entries = files
        .iter()
        .map(|f| f.path.as_str())
        .chain(folders.iter().map(|f| f.path.as_str()));
    for path in entries {
        if ancestors(path).iter().any(|a| named.contains(a)) {
            return Err(Refusal::Overlap(path.to_owned()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(path: &str) -> Folder {
        Folder {
            id: path.to_owned(),
            path: path.to_owned(),
            updated_at: 0,
        }
    }

    fn file(path: &str) -> FileRecord {
        FileRecord::new(path, "k", b"", "image/png", (1, 1))
    }

    #[test]
    fn below_means_strictly_below() {
        assert!(is_below("/a/b", "/a"));
        assert!(is_below("/a/b/c.jpg", "/a"));
        assert!(!is_below("/a", "/a"));
        assert!(!is_below("/a-b", "/a"));
        assert!(!is_below("/ab", "/a"));
        assert!(is_below("/a", "/"));
        assert!(!is_below("/", "/"));
    }

    #[test]
    fn a_folder_never_goes_into_itself_nor_onto_its_ancestor() {
        for (named, target) in [
            ("/a", "/a"),
            ("/a", "/a/b"),
            ("/a", "/a/b/c"),
            ("/x/b/b", "/x"),
        ] {
            assert_eq!(
                check_selection(target, &[], &[folder(named)]),
                Err(Refusal::IntoItself {
                    folder: named.to_owned(),
                    target: target.to_owned()
                }),
                "{named} into {target}"
            );
        }
        for (named, target) in [("/a", "/ab"), ("/a", "/"), ("/a/b", "/x"), ("/x/b/c", "/x")] {
            assert_eq!(
                check_selection(target, &[], &[folder(named)]),
                Ok(()),
                "{named} into {target}"
            );
        }
        assert_eq!(
            check_selection("/x", &[], &[folder("/")]),
            Err(Refusal::Root)
        );
    }

    #[test]
    fn an_entry_below_a_named_folder_is_an_overlap() {
        assert_eq!(
            check_selection("/x", &[file("/a/b/c.jpg")], &[folder("/a")]),
            Err(Refusal::Overlap("/a/b/c.jpg".to_owned()))
        );
        assert_eq!(
            check_selection("/x", &[], &[folder("/a"), folder("/a/b")]),
            Err(Refusal::Overlap("/a/b".to_owned()))
        );
        assert_eq!(
            check_selection("/x", &[file("/ab/c.jpg")], &[folder("/a"), folder("/a-b")]),
            Ok(())
        );
    }
}
