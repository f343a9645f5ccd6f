//! Catalog paths: normalisation and the naming rules of the service.
//!
//! A catalog path is absolute (`/a/b.jpg`), uses `/` only as separator, has no empty, `.` or
//! `..` segment, and every name is 1..255 characters without forbidden characters. Paths built
//! here can never escape their container, whatever the client sends.

use crate::result_code::ResultCode;

/// Characters a file or folder name may not contain (besides control characters and `/`).
const FORBIDDEN: &[char] = &['~', '\\', ':', '?', '*', '"', '¦'];

/// Validates and normalises an absolute path of a file or folder.
///
/// A missing leading `/` is added and one trailing `/` is dropped. The root is `/`.
pub fn normalize(raw: &str, max_path_bytes: usize) -> Result<String, ResultCode> {
    if raw.is_empty() {
        return Err(ResultCode::InvalidParameters);
    }
    if raw.len() > max_path_bytes {
        return Err(ResultCode::PathLengthLimit);
    }
    let trimmed = raw.strip_prefix('/').unwrap_or(raw);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Ok("/".to_owned());
    }
    if trimmed.len() + 1 > max_path_bytes {
        return Err(ResultCode::PathLengthLimit);
    }
    let mut out = String::with_capacity(trimmed.len() + 1);
    for segment in trimmed.split('/') {
        check_name(segment)?;
        out.push('/');
        out.push_str(segment);
    }
    Ok(out)
}

/// Checks one file or folder name against the service's rules.
pub fn check_name(name: &str) -> Result<(), ResultCode> {
    if name.is_empty() {
        return Err(ResultCode::FilenameEmpty);
    }
    if name == "." || name == ".." {
        return Err(ResultCode::InvalidFilename);
    }
    if name
        .chars()
        .any(|c| c.is_control() || c == '/' || FORBIDDEN.contains(&c))
    {
        return Err(ResultCode::InvalidFilename);
    }
    let chars = name.chars().count();
    if chars > 255 {
        return Err(ResultCode::FilenameLengthLimit);
    }
    Ok(())
}

/// Joins a normalised folder path and a child name.
pub fn join(folder: &str, name: &str) -> String {
    if folder == "/" {
        format!("/{name}")
    } else {
        format!("{folder}/{name}")
    }
}

/// The parent folder of a normalised path (`/` for top-level entries and for the root).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last segment of a normalised path (empty for the root).
pub fn name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or("")
}

/// Splits a file name into stem and extension (`a.b.jpg` gives `a.b` and `jpg`).
pub fn split_ext(name: &str) -> (&str, Option<&str>) {
    match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], Some(&name[i + 1..])),
        _ => (name, None),
    }
}

/// The `n`-th automatic rename of `name`: `photo(1).jpg`, `photo(2).jpg`, ...
pub fn autorename(name: &str, n: u32) -> String {
    match split_ext(name) {
        (stem, Some(ext)) => format!("{stem}({n}).{ext}"),
        (stem, None) => format!("{stem}({n})"),
    }
}

/// Reads a path parameter of a request: surrounding blanks are trimmed and the rest is
/// normalised. `Ok(None)` when it is missing or blank, so the caller names what is required.
pub fn param(raw: Option<&str>, max_path_bytes: usize) -> Result<Option<String>, ResultCode> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(raw) => normalize(raw, max_path_bytes).map(Some),
    }
}

/// The normalised path of `relative` (a name or a relative path) under the normalised folder
/// `base`.
pub fn under(base: &str, relative: &str, max_path_bytes: usize) -> Result<String, ResultCode> {
    normalize(&join(base, relative), max_path_bytes)
}

/// The name of an operation's result for a source named `source_name` (its extension
/// replaced): `<stem>_<operationId>.<ext>`, or `<stem>_<operationId>_0000.<ext>`, ... for
/// piece `index` of an operation that yields several images.
pub fn output_name(
    source_name: &str,
    operation_id: &str,
    ext: &str,
    index: Option<usize>,
) -> String {
    let (stem, _) = split_ext(source_name);
    match index {
        Some(i) => format!("{stem}_{operation_id}_{i:04}.{ext}"),
        None => format!("{stem}_{operation_id}.{ext}"),
    }
}

/// The catalog path of an operation's result: [`output_name`] beside the source.
pub fn output_path(
    source_path: &str,
    operation_id: &str,
    ext: &str,
    index: Option<usize>,
) -> String {
    join(
        parent(source_path),
        &output_name(name(source_path), operation_id, ext, index),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_counts_the_added_leading_slash() {
        assert_eq!(normalize("abcdefg", 8).as_deref(), Ok("/abcdefg"));
        assert_eq!(normalize("abcdefgh", 8), Err(ResultCode::PathLengthLimit));
        assert_eq!(normalize("/abcdefg", 8).as_deref(), Ok("/abcdefg"));
    }

    #[test]
    fn normalises_and_refuses_hostile_paths() {
        let ok = [
            ("/a1/b2.jpg", "/a1/b2.jpg"),
            ("a1/b2.jpg", "/a1/b2.jpg"),
            ("/myfolder/", "/myfolder"),
            ("/", "/"),
            ("/a/b", "/a/b"),
            ("/사진/한글.jpg", "/사진/한글.jpg"),
        ];
        for (raw, want) in ok {
            assert_eq!(normalize(raw, 1024).as_deref(), Ok(want), "{raw}");
        }
        let bad = [
            ("", ResultCode::InvalidParameters),
            ("/a1//b2.jpg", ResultCode::FilenameEmpty),
            ("/a1/../etc", ResultCode::InvalidFilename),
            ("/a1/./b2", ResultCode::InvalidFilename),
            ("/a1\\b2", ResultCode::InvalidFilename),
            ("/a1/b\0c", ResultCode::InvalidFilename),
            ("/a1/b:c.jpg", ResultCode::InvalidFilename),
        ];
        for (raw, want) in bad {
            assert_eq!(normalize(raw, 1024), Err(want), "{raw:?}");
        }
        let long_name = format!("/{}", "x".repeat(256));
        assert_eq!(
            normalize(&long_name, 1024),
            Err(ResultCode::FilenameLengthLimit)
        );
        let long_path = "/abcdefghij".repeat(103);
        assert_eq!(
            normalize(&long_path, 1024),
            Err(ResultCode::PathLengthLimit)
        );
    }

    #[test]
    fn path_helpers() {
        assert_eq!(parent("/a1/b2/c3.jpg"), "/a1/b2");
        assert_eq!(parent("/a1"), "/");
        assert_eq!(name("/a1/b2/c3.jpg"), "c3.jpg");
        assert_eq!(join("/", "ab"), "/ab");
        assert_eq!(join("/ab", "cd"), "/ab/cd");
        assert_eq!(autorename("photo.jpg", 2), "photo(2).jpg");
        assert_eq!(autorename("archive.tar.gz", 1), "archive.tar(1).gz");
        assert_eq!(autorename("noext", 1), "noext(1)");
    }

    #[test]
    fn path_parameters_are_trimmed_and_normalised() {
        assert_eq!(param(None, 1024), Ok(None));
        assert_eq!(param(Some(""), 1024), Ok(None));
        assert_eq!(param(Some("  "), 1024), Ok(None));
        assert_eq!(param(Some("/"), 1024), Ok(Some("/".to_owned())));
        assert_eq!(param(Some(" /a/ "), 1024), Ok(Some("/a".to_owned())));
        assert_eq!(param(Some("a/b/"), 1024), Ok(Some("/a/b".to_owned())));
        assert_eq!(
            param(Some("/a/../b"), 1024),
            Err(ResultCode::InvalidFilename)
        );
        assert_eq!(
            param(Some("/abcdefgh"), 8),
            Err(ResultCode::PathLengthLimit)
        );
    }

    #[test]
    fn relative_paths_resolve_under_a_folder() {
        assert_eq!(under("/", "x.jpg", 1024).as_deref(), Ok("/x.jpg"));
        assert_eq!(under("/a", "x.jpg", 1024).as_deref(), Ok("/a/x.jpg"));
        assert_eq!(
            under("/a", "b/c/x.jpg", 1024).as_deref(),
            Ok("/a/b/c/x.jpg")
        );
        assert_eq!(under("/a", "b/", 1024).as_deref(), Ok("/a/b"));
        assert_eq!(
            under("/a", "../x.jpg", 1024),
            Err(ResultCode::InvalidFilename)
        );
        assert_eq!(under("/abc", "defgh", 8), Err(ResultCode::PathLengthLimit));
    }

    #[test]
    fn outputs_are_named_after_source_and_operation() {
        assert_eq!(
            output_name("cat.jpg", "thumb", "webp", None),
            "cat_thumb.webp"
        );
        assert_eq!(
            output_name("a.b.png", "s", "png", Some(0)),
            "a.b_s_0000.png"
        );
        assert_eq!(
            output_name("noext", "s", "jpg", Some(12)),
            "noext_s_0012.jpg"
        );
        assert_eq!(
            output_path("/cat.jpg", "thumb", "jpg", None),
            "/cat_thumb.jpg"
        );
        assert_eq!(
            output_path("/a/b/cat.gif", "cut", "gif", Some(3)),
            "/a/b/cat_cut_0003.gif"
        );
    }
}
