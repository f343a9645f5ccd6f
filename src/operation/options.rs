//! Reading the options of one job: integers, sizes, booleans, strings and the guide's enum
//! values, each error naming its field as `data[i].option.<name>`.

use super::OperationError;
use crate::imaging::{Gravity, TargetFormat, UpDown};
use serde_json::{Map, Value};

/// Largest width, height, radius or piece size accepted in an option.
pub(crate) const MAX_SIDE: u32 = 100_000;

/// Reads the options of one job, naming fields as `<at>.<name>` in errors.
pub(crate) struct Options<'a> {
    map: &'a Map<String, Value>,
    at: String,
}

impl<'a> Options<'a> {
    /// The options in `map`, found at `at` in the body (`data[0].option`).
    pub(crate) fn new(map: &'a Map<String, Value>, at: String) -> Self {
        Self { map, at }
    }

    /// The full name of a field, as errors give it.
    pub(crate) fn field(&self, name: &str) -> String {
        format!("{}.{name}", self.at)
    }

    /// An integer, given as a JSON number without fraction or as a number in a string.
    fn int(&self, name: &str) -> Result<Option<i64>, OperationError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .map(Some)
                .ok_or_else(|| {
                    OperationError::Invalid(format!("{} must be an integer", self.field(name)))
                }),
            Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| {
                OperationError::Parse(format!("{} must be an integer", self.field(name)))
            }),
            Some(_) => Err(OperationError::Parse(format!(
                "{} must be an integer",
                self.field(name)
            ))),
        }
    }

    fn positive(&self, name: &str, max: u32) -> Result<Option<u32>, OperationError> {
        match self.int(name)? {
            None => Ok(None),
            Some(v) if v >= 1 && v <= i64::from(max) => Ok(Some(v as u32)),
            Some(_) => Err(OperationError::Invalid(format!(
                "{} must be 1..{max}",
                self.field(name)
            ))),
        }
    }

    /// The lossy quality, a number 1..=100 that may carry a fraction (`80.5`), rounded half
    /// away from zero; a number in a string is read the same way. Anything else is 10001.
    pub(crate) fn quality(&self) -> Result<Option<u8>, OperationError> {
        let value = match self.map.get("quality") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            Some(_) => None,
        };
        value
            .map(f64::round)
            .filter(|q| (1.0..=100.0).contains(q))
            .map(|q| Some(q as u8))
            .ok_or_else(|| {
                OperationError::Invalid(format!(
                    "{} must be a number 1..100",
                    self.field("quality")
                ))
            })
    }

    /// The enlarge/shrink rule: `upDownSizeType` when given; else the older guide's
    /// `shrinkLargerOnly` (`true` never enlarges, `false` both enlarges and shrinks); else
    /// `downOnly`.
    pub(crate) fn up_down(&self) -> Result<UpDown, OperationError> {
        if let Some(s) = self.string("upDownSizeType")? {
            return UpDown::parse(s).ok_or_else(|| {
                OperationError::Invalid(format!(
                    "{} must be downOnly, upOnly or upDownAll",
                    self.field("upDownSizeType")
                ))
            });
        }
        Ok(match self.map.get("shrinkLargerOnly") {
            None | Some(Value::Null) => UpDown::DownOnly,
            Some(_) if self.bool("shrinkLargerOnly", true)? => UpDown::DownOnly,
            Some(_) => UpDown::UpDownAll,
        })
    }

    /// The forced output format `targetExtension`, `None` when absent.
    pub(crate) fn target(&self) -> Result<Option<TargetFormat>, OperationError> {
        match self.string("targetExtension")? {
            None => Ok(None),
            Some(ext) => TargetFormat::parse(ext).map(Some).ok_or_else(|| {
                OperationError::Invalid(format!(
                    "{} must be jpg, jpeg, png, gif or webp",
                    self.field("targetExtension")
                ))
            }),
        }
    }

    /// A size that may be absent or 0: the unused side of a one-sided resize, or a `sliceSize`
    /// that leaves the image whole along the slicing direction.
    pub(crate) fn optional_side(&self, name: &str) -> Result<u32, OperationError> {
        match self.int(name)? {
            None | Some(0) => Ok(0),
            Some(_) => Ok(self.positive(name, MAX_SIDE)?.unwrap_or(0)),
        }
    }

    /// A required integer 1..=`max`.
    pub(crate) fn required(&self, name: &str, max: u32) -> Result<u32, OperationError> {
        self.positive(name, max)?
            .ok_or_else(|| OperationError::Invalid(format!("{} is required", self.field(name))))
    }

    /// An offset of at most 100,000 pixels either way, 0 when absent.
    pub(crate) fn offset(&self, name: &str) -> Result<i32, OperationError> {
        match self.int(name)? {
            None => Ok(0),
            Some(v) => i32::try_from(v)
                .ok()
                .filter(|v| v.unsigned_abs() <= 100_000)
                .ok_or_else(|| {
                    OperationError::Invalid(format!("{} is out of range", self.field(name)))
                }),
        }
    }

    /// A boolean, given as JSON or as `"true"`/`"false"` in any case; `default` when absent.
    pub(crate) fn bool(&self, name: &str, default: bool) -> Result<bool, OperationError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(OperationError::Parse(format!(
                "{} must be a boolean",
                self.field(name)
            ))),
        }
    }

    /// A trimmed string; absent, null and blank are `None`.
    pub(crate) fn string(&self, name: &str) -> Result<Option<&str>, OperationError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim())),
            Some(_) => Err(OperationError::Parse(format!(
                "{} must be a string",
                self.field(name)
            ))),
        }
    }

    /// A required string, 10001 naming the field when absent or blank.
    pub(crate) fn required_string(&self, name: &str) -> Result<&str, OperationError> {
        self.string(name)?
            .ok_or_else(|| OperationError::Invalid(format!("{} is required", self.field(name))))
    }

    /// The anchor `gravity`, `Center` when absent.
    pub(crate) fn gravity(&self) -> Result<Gravity, OperationError> {
        match self.string("gravity")? {
            None => Ok(Gravity::Center),
            Some(g) => Gravity::parse(g).ok_or_else(|| {
                OperationError::Invalid(format!(
                    "{} must be one of NorthWest, North, NorthEast, West, Center, East, \
                     SouthWest, South, SouthEast",
                    self.field("gravity")
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn readers_accept_numbers_in_strings_and_name_the_field() {
        let map = with(json!({
            "w": " 12 ", "f": 3.0, "frac": 2.5, "flag": "TRUE", "blank": "  ",
            "off": -100001, "g": "northwest", "list": [1]
        }));
        let opts = Options::new(&map, "data[3].option".into());
        assert_eq!(opts.required("w", 100), Ok(12));
        assert_eq!(opts.required("f", 100), Ok(3));
        let frac = opts.required("frac", 100).expect_err("a fraction");
        assert_eq!(frac.result_code(), 10001);
        assert_eq!(opts.bool("flag", false), Ok(true));
        assert_eq!(opts.bool("absent", true), Ok(true));
        assert_eq!(opts.string("blank"), Ok(None));
        assert_eq!(opts.optional_side("absent"), Ok(0));
        let off = opts.offset("off").expect_err("past 100000");
        assert_eq!(off.to_string(), "data[3].option.off is out of range");
        assert_eq!(opts.gravity(), Ok(Gravity::Center), "absent `gravity` key");
        let list = opts.string("list").expect_err("not a string");
        assert_eq!(list.result_code(), 40004);
        assert_eq!(list.to_string(), "data[3].option.list must be a string");
        let missing = opts.required_string("path").expect_err("required");
        assert_eq!(missing.to_string(), "data[3].option.path is required");
        let named = with(json!({"gravity": "northwest", "targetExtension": ".PNG"}));
        let named = Options::new(&named, "x".into());
        assert_eq!(named.gravity(), Ok(Gravity::NorthWest));
        assert_eq!(named.target(), Ok(Some(TargetFormat::Png)));
    }
}
