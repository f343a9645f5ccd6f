//! The `rows` parameter of the listing endpoints (folder contents, operations, the trash and
//! the deletion history), and the `page` of the extensions' listings.

use super::envelope::ApiError;
use super::params::Query;
use crate::result_code::ResultCode;

/// The `rows` parameter: `default` when absent or empty; 11003 (FILE_COUNT_LIMIT) above
/// `max_items`, as the result-code table ties that limit to it; 10001 for 0, a negative
/// number or anything that is not a whole number.
pub fn rows(q: &Query, default: u32, max_items: usize) -> Result<u32, ApiError> {
    let Some(raw) = q.get("rows").map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(default);
    };
    let digits = raw.strip_prefix('+').unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid("rows"));
    }
    match digits.parse::<u64>() {
        Ok(0) => Err(ApiError::invalid("rows")),
        Ok(n) if n <= max_items as u64 => u32::try_from(n).map_err(|_| ApiError::invalid("rows")),
        _ => Err(ApiError::new(ResultCode::FileCountLimit)),
    }
}

/// `page` (from 1, default 1) and `rows` of a listing of the extensions: as [`rows`], with
/// `default` lowered to `max_items` when it is above.
pub fn page_and_rows(q: &Query, default: u32, max_items: usize) -> Result<(u32, u32), ApiError> {
    let page = q.int("page", 1, 1..=u32::MAX)?;
    let default = default.min(u32::try_from(max_items).unwrap_or(u32::MAX));
    Ok((page, rows(q, default, max_items)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(raw: &str) -> i32 {
        match rows(&Query::parse(Some(raw)), 20, 10_000) {
            Ok(n) => i32::try_from(n).expect("small"),
            Err(e) => -e.code.code(),
        }
    }

    #[test]
    fn rows_over_the_item_limit_answer_file_count_limit() {
        assert_eq!(code(""), 20);
        assert_eq!(code("rows="), 20);
        assert_eq!(code("rows=1"), 1);
        assert_eq!(code("rows=10000"), 10_000);
        assert_eq!(code("rows=10001"), -11003);
        assert_eq!(code("rows=99999999999999999999999"), -11003);
        assert_eq!(code("rows=0"), -10001);
        assert_eq!(code("rows=-5"), -10001);
        assert_eq!(code("rows=ten"), -10001);
        assert_eq!(code("rows=1.5"), -10001);
    }

    #[test]
    fn a_default_above_the_item_limit_is_lowered_to_it() {
        let q = Query::parse(Some("page=3"));
        assert_eq!(page_and_rows(&q, 100, 10), Ok((3, 10)));
        assert_eq!(page_and_rows(&Query::parse(None), 100, 500), Ok((1, 100)));
        assert!(page_and_rows(&Query::parse(Some("page=0")), 100, 10).is_err());
    }
}
