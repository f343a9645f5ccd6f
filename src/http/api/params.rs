//! Reading request parameters the way existing clients send them: query strings, JSON bodies
//! (strict or single-quoted) with booleans as `true` or `"true"`, comma-separated id lists.

use super::envelope::ApiError;
use serde::{Deserialize, Deserializer};
use std::collections::HashMap;

/// Decoded query-string parameters.
#[derive(Debug, Default)]
pub struct Query(HashMap<String, String>);

impl Query {
    /// Parses a raw query string (`a=1&b=x%20y`); a repeated name keeps its first value.
    pub fn parse(raw: Option<&str>) -> Self {
        let mut map = HashMap::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            map.entry(decode(k)).or_insert_with(|| decode(v));
        }
        Self(map)
    }

    /// A parameter's value, `None` when absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A boolean parameter (`true`/`false`, any case), `default` when absent or empty.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name).map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) => parse_bool(v).ok_or_else(|| ApiError::invalid(name)),
        }
    }

    /// An integer parameter within `range`, `default` when absent or empty.
    pub fn int(
        &self,
        name: &str,
        default: u32,
        range: std::ops::RangeInclusive<u32>,
    ) -> Result<u32, ApiError> {
        match self.get(name).map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| ApiError::invalid(name)),
        }
    }

    /// A comma-separated list parameter; empty items are dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// Parses `true`/`false` in any case.
pub fn parse_bool(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Deserialises a boolean given as a JSON boolean or as the string `"true"`/`"false"`.
pub fn flex_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flex {
        Bool(bool),
        Text(String),
    }
    match Option::<Flex>::deserialize(d)? {
        None => Ok(None),
        Some(Flex::Bool(b)) => Ok(Some(b)),
        Some(Flex::Text(s)) if s.trim().is_empty() => Ok(None),
        Some(Flex::Text(s)) => parse_bool(s.trim())
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a boolean"))),
    }
}

/// Deserialises a list of strings given as a JSON array or as one comma-separated string.
pub fn flex_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flex {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Option::<Flex>::deserialize(d)? {
        None => Vec::new(),
        Some(Flex::List(v)) => v,
        Some(Flex::Text(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Parses a JSON body (strict, or the single-quoted form of [`crate::lenient_json`]) into `T`,
/// answering 10001 when it does not fit.
pub fn json_body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ApiError> {
    crate::lenient_json::from_slice(bytes).map_err(|e| ApiError::invalid(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Flags {
        #[serde(default, deserialize_with = "flex_bool")]
        a: Option<bool>,
        #[serde(default, deserialize_with = "flex_list")]
        ids: Vec<String>,
    }

    #[test]
    fn booleans_and_lists_in_every_spelling() {
        for (json, want) in [
            (r#"{"a": true}"#, Some(true)),
            (r#"{"a": "false"}"#, Some(false)),
            (r#"{"a": "TRUE"}"#, Some(true)),
            (r#"{}"#, None),
        ] {
            let f: Flags = serde_json::from_str(json).expect("parses");
            assert_eq!(f.a, want, "{json}");
        }
        assert!(serde_json::from_str::<Flags>(r#"{"a": "yes"}"#).is_err());
        let f: Flags = serde_json::from_str(r#"{"ids": "x, y,,z"}"#).expect("parses");
        assert_eq!(f.ids, ["x", "y", "z"]);
        let f: Flags = serde_json::from_str(r#"{"ids": ["x"]}"#).expect("parses");
        assert_eq!(f.ids, ["x"]);
    }

    #[test]
    fn query_parsing() {
        let q = Query::parse(Some(
            "path=%2F%EC%82%AC%EC%A7%84%2Fa.jpg&overwrite=TRUE&rows=5&x",
        ));
        assert_eq!(q.get("path"), Some("/사진/a.jpg"));
        assert_eq!(q.bool("overwrite", false), Ok(true));
        assert_eq!(q.bool("autorename", false), Ok(false));
        assert_eq!(q.int("rows", 100, 1..=10), Ok(5));
        assert!(q.int("rows", 100, 6..=10).is_err());
        assert_eq!(q.get("x"), Some(""));
    }
}
