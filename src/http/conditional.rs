//! HTTP validators and byte ranges for delivery: `If-None-Match`, `If-Modified-Since`,
//! `If-Range` and `Range` (RFC 9110), as pure functions.

use std::ops::Range;
use std::time::SystemTime;

/// Whether an `If-None-Match` header value matches `etag` (a quoted strong tag), with the weak
/// comparison the RFC prescribes for this header.
pub fn none_match(header: &str, etag: &str) -> bool {
    let bare = etag.trim_start_matches("W/");
    header
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == bare)
}

/// Whether the resource, last modified at `modified`, is unchanged since an
/// `If-Modified-Since` header value.
pub fn not_modified_since(header: &str, modified: SystemTime) -> bool {
    match httpdate::parse_http_date(header) {
        Ok(since) => truncate_to_secs(modified) <= since,
        Err(_) => false,
    }
}

/// Whether an `If-Range` header value still designates this representation.
pub fn if_range_matches(header: &str, etag: &str, modified: SystemTime) -> bool {
    let header = header.trim();
    if header.starts_with('"') {
        header == etag
    } else {
        httpdate::parse_http_date(header).is_ok_and(|d| truncate_to_secs(modified) == d)
    }
}

fn truncate_to_secs(t: SystemTime) -> SystemTime {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(d.as_secs()),
        Err(_) => t,
    }
}

/// What a `Range` header asks of a body of `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeRequest {
    /// Serve the whole body (no header, a malformed one, or several ranges).
    Full,
    /// Serve these bytes with 206.
    Partial(Range<u64>),
    /// Answer 416.
    Unsatisfiable,
}

/// Interprets a `Range` header for a body of `len` bytes. Only a single `bytes` range is served
/// partially; anything else is answered with the full body, as the RFC allows.
pub fn parse_range(header: &str, len: u64) -> RangeRequest {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        let Ok(suffix) = end.parse::<u64>() else {
            return RangeRequest::Full;
        };
        if suffix == 0 || len == 0 {
            return RangeRequest::Unsatisfiable;
        }
        return RangeRequest::Partial(len.saturating_sub(suffix)..len);
    }
    let Ok(first) = start.parse::<u64>() else {
        return RangeRequest::Full;
    };
    let last = if end.is_empty() {
        len.saturating_sub(1)
    } else {
        match end.parse::<u64>() {
            Ok(last) if last >= first => last.min(len.saturating_sub(1)),
            _ => return RangeRequest::Full,
        }
    };
    if first >= len {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Partial(first..last + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ranges() {
        let cases = [
            ("bytes=0-99", RangeRequest::Partial(0..100)),
            ("bytes=100-", RangeRequest::Partial(100..1000)),
            ("bytes=-100", RangeRequest::Partial(900..1000)),
            ("bytes=-5000", RangeRequest::Partial(0..1000)),
            ("bytes=990-5000", RangeRequest::Partial(990..1000)),
            ("bytes=1000-", RangeRequest::Unsatisfiable),
            ("bytes=-0", RangeRequest::Unsatisfiable),
            ("bytes=5-1", RangeRequest::Full),
            ("bytes=0-1,5-6", RangeRequest::Full),
            ("items=0-1", RangeRequest::Full),
            ("bytes=x-1", RangeRequest::Full),
        ];
        for (header, want) in cases {
            assert_eq!(parse_range(header, 1000), want, "{header}");
        }
    }

    #[test]
    fn validators() {
        assert!(none_match("\"abc\"", "\"abc\""));
        assert!(none_match("\"x\", W/\"abc\"", "\"abc\""));
        assert!(none_match("*", "\"abc\""));
        assert!(!none_match("\"abd\"", "\"abc\""));
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_500);
        let same = httpdate::fmt_http_date(t);
        assert!(not_modified_since(&same, t));
        let before = httpdate::fmt_http_date(t - Duration::from_secs(10));
        assert!(!not_modified_since(&before, t));
        assert!(!not_modified_since("garbage", t));
        assert!(if_range_matches("\"abc\"", "\"abc\"", t));
        assert!(if_range_matches(&same, "\"abc\"", t));
        assert!(!if_range_matches(&before, "\"abc\"", t));
    }
}
