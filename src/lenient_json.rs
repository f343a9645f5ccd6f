//! Reading JSON bodies the way existing clients send them. Strict JSON is the documented form
//! and is read by serde_json alone, exactly as before. Only when it does not parse as JSON is
//! the text read as the lenient form older samples send: strings and keys in single quotes
//! (`{'basepath': '/folder'}`) and Python's `True`, `False` and `None` (the text of a Python
//! dict). The lenient form is rewritten into strict JSON by one bounded pass and then parsed
//! by serde_json, whose own nesting limit applies. A body that is neither answers the strict
//! parser's error.

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::borrow::Cow;

/// Why lenient text could not be rewritten into strict JSON.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RewriteError {
    /// A string opened at this byte offset is never closed.
    #[error("string opened at byte {0} is not closed")]
    Unterminated(usize),
}

/// Parses `bytes` into `T`: as strict JSON first; when that is not JSON at all, as the lenient
/// form rewritten into strict JSON. On failure the strict parser's error is returned, so the
/// answer to a body that is neither form does not change. A body that is JSON but does not
/// fit `T` is answered as before, without a second reading.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(strict) if strict.is_syntax() || strict.is_eof() => rewrite(bytes)
            .ok()
            .and_then(|text| serde_json::from_slice(&text).ok())
            .ok_or(strict),
        Err(strict) => Err(strict),
    }
}

/// The strict JSON text of `bytes`: the bytes themselves when they are JSON (or are neither
/// form, so that parsing them reports the strict error), their rewriting when they are JSON
/// only in the lenient form.
pub fn to_strict(bytes: &[u8]) -> Cow<'_, [u8]> {
    if parses(bytes) {
        return Cow::Borrowed(bytes);
    }
    match rewrite(bytes) {
        Ok(text) if parses(&text) => Cow::Owned(text),
        _ => Cow::Borrowed(bytes),
    }
}

/// Whether `bytes` are one JSON value in strict or lenient form. The bytes are read into a
/// `Value`, not skipped: serde_json skips a string without checking that it is UTF-8 and a
/// number without checking its range, so only a real read answers what a typed read of the
/// same bytes will.
pub fn is_json(bytes: &[u8]) -> bool {
    from_slice::<Value>(bytes).is_ok()
}

fn parses(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes).is_ok()
}

/// Rewrites the lenient form into strict JSON in one pass without recursion. Single-quoted
/// strings become double-quoted (`\'` becomes `'`, a bare `"` becomes `\"`, other escapes are
/// kept for serde_json to judge); double-quoted strings are copied unchanged; the words
/// `True`, `False` and `None` outside strings become `true`, `false` and `null`; every other
/// byte is copied. The output is at most twice as long as the input.
pub fn rewrite(bytes: &[u8]) -> Result<Vec<u8>, RewriteError> {
    let mut out = Vec::with_capacity(bytes.len().saturating_add(bytes.len() / 8));
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' | b'\'' => i = copy_string(bytes, i, b, &mut out)?,
            b if is_word_byte(b) => {
                let end = bytes[i..]
                    .iter()
                    .position(|&c| !is_word_byte(c))
                    .map_or(bytes.len(), |n| i + n);
                let word = &bytes[i..end];
                out.extend_from_slice(match word {
                    b"True" => b"true",
                    b"False" => b"false",
                    b"None" => b"null",
                    other => other,
                });
                i = end;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Writes the string opening at `start` with `quote` (`"` or `'`) as a
/// double-quoted one; returns the offset after it. A double-quoted string is copied unchanged;
/// in a single-quoted one `\'` becomes `'` and a bare `"` becomes `\"`. Other escapes are kept
/// for serde_json to judge.
fn copy_string(
    bytes: &[u8],
    start: usize,
    quote: u8,
    out: &mut Vec<u8>,
) -> Result<usize, RewriteError> {
    out.push(b'"');
    let mut i = start + 1;
    loop {
        match bytes.get(i) {
            None => return Err(RewriteError::Unterminated(start)),
            Some(&b) if b == quote => {
                out.push(b'"');
                return Ok(i + 1);
            }
            Some(b'\\') => {
                match bytes.get(i + 1).ok_or(RewriteError::Unterminated(start))? {
                    b'\'' if quote == b'\'' => out.push(b'\''),
                    escaped => out.extend_from_slice(&[b'\\', *escaped]),
                }
                i += 2;
            }
            Some(b'"') => {
                out.extend_from_slice(b"\\\"");
                i += 1;
            }
            Some(&b) => {
                out.push(b);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strict(text: &str) -> String {
        String::from_utf8(rewrite(text.as_bytes()).expect("rewrites")).expect("utf-8")
    }

    fn value(text: &str) -> Value {
        from_slice(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn single_quoted_keys_and_strings_become_double_quoted() {
        assert_eq!(
            strict("{'basepath': '/folder', 'overwrite': true}"),
            r#"{"basepath": "/folder", "overwrite": true}"#
        );
        assert_eq!(
            value("{'a': ['x', {'b': [1, 2.5e3, -3]}], 'c': {}}"),
            json!({"a": ["x", {"b": [1, 2500.0, -3]}], "c": {}})
        );
    }

    #[test]
    fn escapes_inside_single_quoted_strings() {
        assert_eq!(strict(r"'it\'s'"), r#""it's""#);
        assert_eq!(value(r"{'k': 'it\'s'}"), json!({"k": "it's"}));
        assert_eq!(value(r#"{'k': 'say "hi"'}"#), json!({"k": "say \"hi\""}));
        assert_eq!(value(r"{'k': 'a\nb\\c\u00e9'}"), json!({"k": "a\nb\\cé"}));
        assert_eq!(value(r#"{'k': 'q\"'}"#), json!({"k": "q\""}));
        assert_eq!(value("{'사진': '/폴더'}"), json!({"사진": "/폴더"}));
    }

    #[test]
    fn double_quoted_strings_are_copied_unchanged() {
        assert_eq!(
            value(r#"{'k': "it's \"True\"", "m": 'None'}"#),
            json!({"k": "it's \"True\"", "m": "None"})
        );
    }

    #[test]
    fn python_words_only_outside_strings() {
        assert_eq!(
            value("{'a': True, 'b': False, 'c': None, 'd': 'True False None'}"),
            json!({"a": true, "b": false, "c": null, "d": "True False None"})
        );
        assert_eq!(strict("[Trueish, xNone, None_]"), "[Trueish, xNone, None_]");
        assert!(from_slice::<Value>(b"[Trueish]").is_err());
    }

    #[test]
    fn unterminated_strings_are_refused() {
        assert_eq!(rewrite(b"{'a': 'b}"), Err(RewriteError::Unterminated(6)));
        assert_eq!(rewrite(b"{'a"), Err(RewriteError::Unterminated(1)));
        assert_eq!(rewrite(br"['a\"), Err(RewriteError::Unterminated(1)));
        assert_eq!(rewrite(br#"["a\"#), Err(RewriteError::Unterminated(1)));
        assert!(from_slice::<Value>(b"{'a': 'b}").is_err());
    }

    #[test]
    fn strict_json_and_its_errors_are_unchanged() {
        let body = br#"{"a": "it's", "b": [true, null, 1e5]}"#;
        assert_eq!(to_strict(body), Cow::Borrowed(&body[..]));
        assert_eq!(rewrite(body).expect("rewrites"), body);
        for bad in [
            &b"{\"a\": }"[..],
            b"{'a': }",
            b"",
            b"{'a': 'b'",
            b"multipart/form-data",
        ] {
            let want = serde_json::from_slice::<Value>(bad)
                .expect_err("invalid")
                .to_string();
            let got = from_slice::<Value>(bad).expect_err("invalid").to_string();
            assert_eq!(got, want);
            assert_eq!(to_strict(bad), Cow::Borrowed(bad));
            assert!(!is_json(bad));
        }
    }

    #[test]
    fn a_body_that_does_not_fit_the_type_is_not_read_twice() {
        #[derive(Debug, serde::Deserialize)]
        struct Needs {
            n: u8,
        }
        let err = from_slice::<Needs>(br#"{"n": 300}"#).expect_err("out of range");
        assert!(err.is_data());
        assert_eq!(from_slice::<Needs>(b"{'n': 3}").expect("parses").n, 3);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_not_json() {
        let body = b"{'basepath': '/x', 'overw\xff\xff': 'false'}";
        assert!(!is_json(body));
        assert!(from_slice::<Value>(body).is_err());
        assert!(!is_json(b"{\"a\": \"\xff\"}"));
        assert!(is_json(b"{'a': 'caf\xc3\xa9'}"));
    }

    #[test]
    fn numbers_out_of_range_are_not_json() {
        assert!(!is_json(br#"{"basepath": 66666666666666.666E666665}"#));
        assert!(!is_json(b"{'basepath': 1e400}"));
        assert!(is_json(b"{'basepath': 1e300}"));
    }

    #[test]
    fn output_is_at_most_twice_the_input() {
        let input = format!("'{}'", "\"".repeat(1000));
        let out = rewrite(input.as_bytes()).expect("rewrites");
        assert!(out.len() <= 2 * input.len());
        assert_eq!(value(&input), Value::String("\"".repeat(1000)));
    }

    #[test]
    fn deep_nesting_is_refused_by_the_parser_not_the_rewriter() {
        let deep = format!("{}'x'{}", "[".repeat(100_000), "]".repeat(100_000));
        let out = rewrite(deep.as_bytes()).expect("rewriting does not recurse");
        assert_eq!(out.len(), deep.len());
        assert!(from_slice::<Value>(deep.as_bytes()).is_err());
        let shallow = format!("{}'x'{}", "[".repeat(100), "]".repeat(100));
        assert!(from_slice::<Value>(shallow.as_bytes()).is_ok());
    }
}
