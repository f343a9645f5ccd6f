//! Searching an app's files across folders, and the tags searches find them by: the filters of
//! [`FileSearch`], written once as SQL conditions both backends run ([`conditions`]), and the
//! form tags are kept in ([`tag_set`]).

use super::tree::subtree_range;
use super::{CreatedBy, FileRecord};

/// Filters and paging of a search over every folder of an app. Every filter given must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileSearch {
    /// Only files carrying this tag (exactly, case-sensitive).
    pub tag: Option<String>,
    /// Only files made this way.
    pub created_by: Option<CreatedBy>,
    /// Only files whose `updated_at` is at or after this time.
    pub updated_from: Option<i64>,
    /// Only files whose `updated_at` is before this time.
    pub updated_to: Option<i64>,
    /// Only files strictly below this folder, at any depth ([`subtree_range`]).
    pub below: Option<String>,
    /// Page number, from 1.
    pub page: u32,
    /// Files per page.
    pub rows: u32,
}

/// One page of a search, with the number of files matching in all pages.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FilePage {
    /// Files of this page: newest `updated_at` first, ties by path in byte order.
    pub files: Vec<FileRecord>,
    /// Files matching in all pages.
    pub total: u64,
}

/// The order of search results, as SQL over `files`: newest first, then path, which is unique
/// in an app, so the order is total and pages never overlap.
pub(crate) const SEARCH_ORDER: &str = "updated_at DESC, path ASC";

/// A value a search condition binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SearchValue {
    /// A text parameter.
    Text(String),
    /// An integer parameter.
    Int(i64),
}

/// The `WHERE` conditions over `files` of a search, and the values they bind, numbered from 1
/// after `marker` (`?` for SQLite, `$` for PostgreSQL). The app comes first; a tag is looked up
/// in `file_tags` by its `(app_key, tag)` index; a folder is a path range, as every "below"
/// query of the catalog.
pub(crate) fn conditions(
    app_key: &str,
    q: &FileSearch,
    marker: char,
) -> (String, Vec<SearchValue>) {
    let mut values = vec![SearchValue::Text(app_key.to_owned())];
    let mut sql = format!("app_key = {marker}1");
    let mut bind = |sql: &mut String, clause: &str, value: SearchValue| {
        values.push(value);
        let n = values.len();
        sql.push_str(" AND ");
        sql.push_str(&clause.replace('#', &format!("{marker}{n}")));
    };
    if let Some(tag) = &q.tag {
        let clause =
            format!("id IN (SELECT file_id FROM file_tags WHERE app_key = {marker}1 AND tag = #)");
        bind(&mut sql, &clause, SearchValue::Text(tag.clone()));
    }
    if let Some(by) = q.created_by {
        bind(
            &mut sql,
            "created_by = #",
            SearchValue::Text(by.code().into()),
        );
    }
    if let Some(from) = q.updated_from {
        bind(&mut sql, "updated_at >= #", SearchValue::Int(from));
    }
    if let Some(to) = q.updated_to {
        bind(&mut sql, "updated_at < #", SearchValue::Int(to));
    }
    if let Some(folder) = &q.below {
        let (lo, hi) = subtree_range(folder);
        bind(&mut sql, "path >= #", SearchValue::Text(lo));
        bind(&mut sql, "path < #", SearchValue::Text(hi));
    }
    (sql, values)
}

/// The `LIMIT` and `OFFSET` of a search's page.
pub(crate) fn page_bounds(q: &FileSearch) -> (i64, i64) {
    let offset = i64::from(q.page.saturating_sub(1)) * i64::from(q.rows);
    (i64::from(q.rows), offset)
}

/// Tags as the catalog keeps them: a set, in byte order.
pub fn tag_set(tags: &[String]) -> Vec<String> {
    let mut set = tags.to_vec();
    set.sort();
    set.dedup();
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_bind_only_the_filters_given() {
        let (sql, values) = conditions("A", &FileSearch::default(), '?');
        assert_eq!(sql, "app_key = ?1");
        assert_eq!(values, [SearchValue::Text("A".into())]);
        let q = FileSearch {
            tag: Some("sea".into()),
            created_by: Some(CreatedBy::User),
            updated_from: Some(10),
            updated_to: Some(20),
            below: Some("/a".into()),
            page: 2,
            rows: 5,
        };
        let (sql, values) = conditions("A", &q, '$');
        assert_eq!(
            sql,
            "app_key = $1 AND id IN (SELECT file_id FROM file_tags WHERE app_key = $1 \
             AND tag = $2) AND created_by = $3 AND updated_at >= $4 AND updated_at < $5 \
             AND path >= $6 AND path < $7"
        );
        assert_eq!(values.len(), 7);
        assert_eq!(values[5], SearchValue::Text("/a/".into()));
        assert_eq!(values[6], SearchValue::Text("/a0".into()));
        assert_eq!(page_bounds(&q), (5, 5));
    }

    #[test]
    fn tags_are_a_set_in_byte_order() {
        let given = ["b", "a", "B", "a"].map(String::from);
        assert_eq!(tag_set(&given), ["B", "a", "b"]);
    }
}
