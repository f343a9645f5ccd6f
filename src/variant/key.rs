//! What identifies a variant, in one place: the stamp of the versions it is made of (stored on
//! its `P` file), its `ETag`, its L1 key and its single-flight key.

use crate::catalog::{FileRecord, OperationRecord};
use xxhash_rust::xxh3::Xxh3;

/// The versions a variant is made of: the source's content hash, the operation's version and
/// each watermark's content hash, as stored in the `variant` column of its `P` file. A file
/// whose stamp differs from the current one is stale.
pub fn stamp(source: &FileRecord, op: &OperationRecord, marks: &[(String, FileRecord)]) -> String {
    let mut stamp = format!("{}:{}", source.etag, op.version);
    for (_, mark) in marks {
        stamp.push(':');
        stamp.push_str(&mark.etag);
    }
    stamp
}

/// The stamp of an operation without watermarks: equal to [`stamp`] whenever the operation
/// names none, so a current file is recognised without looking watermarks up.
pub fn base_stamp(source: &FileRecord, op: &OperationRecord) -> String {
    stamp(source, op, &[])
}

/// The quoted strong `ETag` of a variant: the source's content hash, then a hash of the
/// operation's id and the stamp. A new original, an edited operation or a changed watermark
/// changes it.
pub fn etag(source: &FileRecord, operation_id: &str, stamp: &str) -> String {
    let mut h = Xxh3::new();
    h.update(operation_id.as_bytes());
    h.update(b"\n");
    h.update(stamp.as_bytes());
    format!("\"{}-{:016x}\"", source.etag, h.digest())
}

/// The L1 key of a request: a hash of its raw path and query, computed without allocating.
/// Entries also keep the request text, so a collision is never served.
pub fn l1(raw_path: &str, raw_query: &str) -> u64 {
    let mut h = Xxh3::new();
    h.update(raw_path.as_bytes());
    h.update(b"?");
    h.update(raw_query.as_bytes());
    h.digest()
}

/// The single-flight key of a render: one render per (app, source, operation, stamp) however
/// many requests miss at once, whatever URL spelling they used.
pub fn flight(app_key: &str, source_path: &str, operation_id: &str, stamp: &str) -> String {
    format!("{app_key}\n{source_path}\n{operation_id}\n{stamp}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CreatedBy;

    fn file(path: &str, etag: &str) -> FileRecord {
        FileRecord {
            id: path.into(),
            path: path.into(),
            bytes: 1,
            created_by: CreatedBy::User,
            operation_id: String::new(),
            source_id: None,
            variant: String::new(),
            blob_key: String::new(),
            etag: etag.into(),
            content_type: "image/jpeg".into(),
            width: 1,
            height: 1,
            taken_at: None,
            lat: None,
            lng: None,
            created_at: 0,
            updated_at: 0,
            tags: Vec::new(),
            dominant_color: None,
        }
    }

    fn op(id: &str, version: i64) -> OperationRecord {
        OperationRecord {
            operation_id: id.into(),
            description: String::new(),
            realtime_service: true,
            jobs: String::new(),
            updated_at: 0,
            version,
        }
    }

    #[test]
    fn the_stamp_names_every_version_a_variant_is_made_of() {
        let source = file("/a.jpg", "s1");
        let mark = ("/m.png".to_owned(), file("/m.png", "m1"));
        let base = stamp(&source, &op("t", 3), &[]);
        assert_eq!(base, "s1:3");
        assert_eq!(base, base_stamp(&source, &op("t", 3)));
        let with_mark = stamp(&source, &op("t", 3), std::slice::from_ref(&mark));
        assert_eq!(with_mark, "s1:3:m1");
        let changed = [
            stamp(
                &file("/a.jpg", "s2"),
                &op("t", 3),
                std::slice::from_ref(&mark),
            ),
            stamp(&source, &op("t", 4), std::slice::from_ref(&mark)),
            stamp(
                &source,
                &op("t", 3),
                &[("/m.png".into(), file("/m.png", "m2"))],
            ),
        ];
        for other in changed {
            assert_ne!(other, with_mark);
        }
    }

    #[test]
    fn the_etag_changes_with_the_source_the_operation_and_the_stamp() {
        let source = file("/a.jpg", "s1");
        let e = etag(&source, "t", "s1:3");
        assert!(
            e.starts_with("\"s1-") && e.ends_with('"') && e.len() == 21,
            "{e}"
        );
        assert_eq!(e, etag(&source, "t", "s1:3"), "stable");
        assert_ne!(e, etag(&file("/a.jpg", "s2"), "t", "s1:3"));
        assert_ne!(e, etag(&source, "u", "s1:3"));
        assert_ne!(e, etag(&source, "t", "s1:4"));
    }

    #[test]
    fn l1_and_flight_keys_separate_what_differs() {
        assert_eq!(l1("/c/a.jpg", "t"), l1("/c/a.jpg", "t"));
        assert_ne!(l1("/c/a.jpg", "t"), l1("/c/a.jpg", "u"));
        assert_ne!(l1("/c/a.jpg", "t"), l1("/c/b.jpg", "t"));
        assert_ne!(
            l1("/c/a.jp", "gt"),
            l1("/c/a.jpg", "t"),
            "the separator counts"
        );
        let k = flight("A", "/a.jpg", "t", "s1:3");
        assert_ne!(k, flight("B", "/a.jpg", "t", "s1:3"));
        assert_ne!(k, flight("A", "/b.jpg", "t", "s1:3"));
        assert_ne!(k, flight("A", "/a.jpg", "u", "s1:3"));
        assert_ne!(k, flight("A", "/a.jpg", "t", "s1:4"));
    }
}
