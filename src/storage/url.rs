//! The storage URL: which backend holds the bytes, and under which bucket and key prefix.
//!
//! Accepted forms: empty (the default local directory), `file:///path`, `s3://bucket[/prefix]`,
//! `gs://bucket[/prefix]` and `az://container[/prefix]`. Anything else is refused with a
//! message saying what was expected.

use super::BlobError;
use object_store::path::Path as ObjectPath;
use std::path::{Path, PathBuf};

/// The forms a storage URL may take, for error messages.
const EXPECTED: &str =
    "expected file:///path, s3://bucket[/prefix], gs://bucket[/prefix] or az://container[/prefix]";

/// Where the bytes are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A local directory.
    Local(PathBuf),
    /// An S3 bucket (AWS or an S3-compatible server).
    S3(Bucket),
    /// A Google Cloud Storage bucket.
    Gcs(Bucket),
    /// An Azure Blob Storage container.
    Azure(Bucket),
}

/// A bucket (or container) and the prefix every key lives under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// Bucket or container name.
    pub name: String,
    /// Prefix of every key, without leading or trailing `/`; `None` for the bucket's root.
    pub prefix: Option<ObjectPath>,
}

/// Reads `url`; an empty one names the local directory `default_dir`.
pub fn parse(url: &str, default_dir: &Path) -> Result<Backend, BlobError> {
    let refuse = |reason: String| BlobError::UnsupportedUrl {
        url: url.to_owned(),
        reason,
    };
    if url.is_empty() {
        return Ok(Backend::Local(default_dir.to_owned()));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(refuse(EXPECTED.to_owned()));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "file" if rest.is_empty() => Err(refuse(
            "file:// needs a directory, as in file:///var/lib/pictor/blobs".to_owned(),
        )),
        "file" => Ok(Backend::Local(PathBuf::from(rest))),
        "s3" => bucket(rest).map(Backend::S3).map_err(refuse),
        "gs" => bucket(rest).map(Backend::Gcs).map_err(refuse),
        "az" => bucket(rest).map(Backend::Azure).map_err(refuse),
        other => Err(refuse(format!("unknown scheme `{other}`; {EXPECTED}"))),
    }
}

/// Reads `bucket[/prefix]`, or says what is wrong with it.
fn bucket(rest: &str) -> Result<Bucket, String> {
    if rest.contains(['?', '#']) {
        return Err("a query or fragment is not allowed".to_owned());
    }
    let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if name.is_empty() {
        return Err(format!("no bucket name; {EXPECTED}"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(format!(
            "bucket name `{name}` may hold only letters, digits, `.`, `-` and `_`"
        ));
    }
    let prefix = prefix.trim_end_matches('/');
    let prefix = if prefix.is_empty() {
        None
    } else {
        Some(ObjectPath::parse(prefix).map_err(|e| format!("key prefix `{prefix}`: {e}"))?)
    };
    Ok(Bucket {
        name: name.to_owned(),
        prefix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(url: &str) -> Backend {
        parse(url, Path::new("/default")).expect("a valid url")
    }

    fn refused(url: &str) -> String {
        match parse(url, Path::new("/default")) {
            Err(e @ BlobError::UnsupportedUrl { .. }) => e.to_string(),
            other => panic!("{url} should be refused, got {other:?}"),
        }
    }

    fn in_bucket(name: &str, prefix: Option<&str>) -> Bucket {
        Bucket {
            name: name.to_owned(),
            prefix: prefix.map(ObjectPath::from),
        }
    }

    #[test]
    fn empty_and_file_urls_are_local_directories() {
        assert_eq!(backend(""), Backend::Local(PathBuf::from("/default")));
        assert_eq!(
            backend("file:///var/lib/pictor/blobs"),
            Backend::Local(PathBuf::from("/var/lib/pictor/blobs"))
        );
        assert_eq!(
            backend("file://data/blobs"),
            Backend::Local(PathBuf::from("data/blobs"))
        );
    }

    #[test]
    fn cloud_urls_name_a_bucket_and_an_optional_prefix() {
        assert_eq!(
            backend("s3://images"),
            Backend::S3(in_bucket("images", None))
        );
        assert_eq!(
            backend("s3://images/"),
            Backend::S3(in_bucket("images", None))
        );
        assert_eq!(
            backend("s3://images/pictor/prod/"),
            Backend::S3(in_bucket("images", Some("pictor/prod")))
        );
        assert_eq!(
            backend("S3://my.bucket-1"),
            Backend::S3(in_bucket("my.bucket-1", None))
        );
        assert_eq!(
            backend("gs://gcs-bucket/blobs"),
            Backend::Gcs(in_bucket("gcs-bucket", Some("blobs")))
        );
        assert_eq!(
            backend("az://container/a/b"),
            Backend::Azure(in_bucket("container", Some("a/b")))
        );
    }

    #[test]
    fn bad_urls_are_refused_with_what_was_expected() {
        for url in [
            "ftp://host/x",
            "http://127.0.0.1:9000/bucket",
            "images",
            "s3:/bucket",
        ] {
            let message = refused(url);
            assert!(message.contains(url), "{message}");
            assert!(message.contains("s3://bucket[/prefix]"), "{message}");
        }
        assert!(refused("file://").contains("needs a directory"));
        assert!(refused("s3://").contains("no bucket name"));
        assert!(refused("gs:///prefix").contains("no bucket name"));
        assert!(refused("s3://user:secret@bucket").contains("may hold only"));
        assert!(refused("s3://bucket?versionId=1").contains("query or fragment"));
        assert!(refused("s3://bucket/a//b").contains("key prefix `a//b`"));
        assert!(refused("az://container/../up").contains("key prefix"));
    }
}
