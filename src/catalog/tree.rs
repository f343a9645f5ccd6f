//! Path rules of the folder tree that every catalog backend applies the same way: which paths
//! lie below a folder, which folders a path needs, and which names an automatic rename tries.
//!
//! Paths are normalised absolute paths (`/`, `/a`, `/a/b.jpg`): no trailing slash, no empty
//! segment. Comparisons are in byte order, as both SQLite's `BINARY` collation and PostgreSQL's
//! `COLLATE "C"` order text.

use crate::paths;

/// The paths strictly below `folder`, at any depth, as the half-open byte range `[lo, hi)`.
///
/// Every path below `/a` starts with `/a/`; `0` is the byte after `/`, so `/a0` is the least
/// string greater than every `/a/...`. Names that sort between the two bounds' neighbours
/// (`/a-x`, `/a.x`, both less than `/a/`) and names such as `/a0b` fall outside the range.
/// The range lets a backend answer "everything below" with one index range scan. The root's
/// range, `["/", "0")`, also holds the root folder itself: a backend leaves the path `/` out
/// of folder counts and deletions (no file has that path).
pub fn subtree_range(folder: &str) -> (String, String) {
    if folder == "/" {
        ("/".to_owned(), "0".to_owned())
    } else {
        (format!("{folder}/"), format!("{folder}0"))
    }
}

/// The folders a file or folder at `path` needs, from the root down to its parent.
pub fn ancestors(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut at = path;
    while at != "/" {
        at = paths::parent(at);
        out.push(at);
    }
    out.reverse();
    out
}

/// The paths an automatic rename of `path` tries, in order: `/f/photo(1).jpg`,
/// `/f/photo(2).jpg`, ... The first one taken by neither a file nor a folder is used.
pub fn rename_candidates(path: &str) -> impl Iterator<Item = String> + '_ {
    let parent = paths::parent(path);
    let name = paths::name(path);
    (1..=u32::MAX).map(move |n| paths::join(parent, &paths::autorename(name, n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `path` falls in the range of `folder`.
    fn in_range(folder: &str, path: &str) -> bool {
        let (lo, hi) = subtree_range(folder);
        path >= lo.as_str() && path < hi.as_str()
    }

    /// What "below" means, segment by segment.
    fn is_below(folder: &str, path: &str) -> bool {
        let prefix = if folder == "/" {
            "/".to_owned()
        } else {
            format!("{folder}/")
        };
        path.len() > prefix.len() && path.starts_with(&prefix)
    }

    #[test]
    fn the_subtree_range_holds_exactly_the_paths_below() {
        for (path, below) in [
            ("/f/x.jpg", true),
            ("/f/g/h/x.jpg", true),
            ("/f", false),
            ("/f-x", false),
            ("/f.x", false),
            ("/f0", false),
            ("/f0b", false),
            ("/fa/x", false),
            ("/e/x", false),
            ("/g", false),
        ] {
            assert_eq!(is_below("/f", path), below, "{path}");
            assert_eq!(in_range("/f", path), below, "{path}");
            assert_eq!(in_range("/", path), is_below("/", path), "{path}");
        }
        assert!(in_range("/", "/"), "the root's range holds the root itself");
        assert_eq!(
            subtree_range("/a/b"),
            ("/a/b/".to_owned(), "/a/b0".to_owned())
        );
    }

    #[test]
    fn ancestors_run_from_the_root_to_the_parent() {
        assert_eq!(ancestors("/a/b/c.jpg"), vec!["/", "/a", "/a/b"]);
        assert_eq!(ancestors("/c.jpg"), vec!["/"]);
        assert!(ancestors("/").is_empty());
    }

    #[test]
    fn renames_number_the_stem_and_keep_the_extension() {
        let tried: Vec<String> = rename_candidates("/f/photo.jpg").take(3).collect();
        assert_eq!(
            tried,
            ["/f/photo(1).jpg", "/f/photo(2).jpg", "/f/photo(3).jpg"]
        );
        let first = rename_candidates("/README").next();
        assert_eq!(first.as_deref(), Some("/README(1)"));
    }
}
