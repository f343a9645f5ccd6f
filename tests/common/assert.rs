//! Assertions on the management API's JSON: result codes and messages, dates, ids and names.

use serde_json::Value;

/// The message of a result code in `result-codes.tsv` (the codes these tests use).
pub fn message_of(code: i64) -> &'static str {
    match code {
        0 => "Success",
        1 => "Partial Success",
        2 => "Fail",
        -1 => "Unknown error.",
        404 => "Please check your API Url, HTTP Method.",
        10001 => "parameter is invalid.",
        10002 => "There is not exist upload file or it is an invalid file.",
        11001 => "The max byte size of full path is 1024.",
        11002 => "It is 2 ~ 255 the length of file and folder.",
        11003 => "It is 10,000 the max count of file and folder you can request.",
        11004 => "It was exceed the max volume you can upload at once.",
        11050 => "Invalid Characters in File or Folder Name",
        11060 => "You must register the name of file or folder.",
        20000 => "There is already a folder at the given destination. path: {}",
        20001 => "No file was found at the specified path.",
        20002 => "It does not exist upper folder.",
        20010 => "There is same file name.",
        21003 => "It is 10,000 the max count of file and folder you are able to delete.",
        21011 => "It does not exist the data to delete.",
        30004 => "The authentication is invalid.",
        other => panic!("no message known for result code {other}"),
    }
}

/// Asserts the envelope's result code and `isSuccessful`.
pub fn assert_code(v: &Value, code: i64) {
    assert_eq!(v["header"]["resultCode"], code, "unexpected answer: {v}");
    assert_eq!(
        v["header"]["isSuccessful"],
        code == 0,
        "isSuccessful of {v}"
    );
}

/// Asserts the envelope's result code, `isSuccessful` and the message from result-codes.tsv.
pub fn assert_result(v: &Value, code: i64) {
    assert_code(v, code);
    if code != 20000 {
        assert_eq!(
            v["header"]["resultMessage"],
            message_of(code),
            "resultMessage of {v}"
        );
    }
}

/// Like `assert_result`, naming the case in the failure message.
pub fn assert_result_for(v: &Value, code: i64, case: &str) {
    assert_eq!(
        v["header"]["resultCode"], code,
        "{case}: unexpected answer: {v}"
    );
    assert_eq!(
        v["header"]["isSuccessful"],
        code == 0,
        "{case}: isSuccessful of {v}"
    );
    if code != 20000 {
        assert_eq!(
            v["header"]["resultMessage"],
            message_of(code),
            "{case}: resultMessage of {v}"
        );
    }
}

/// Asserts a date looks like `2016-02-26T16:38:34+0900`.
pub fn assert_date(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("date is not a string: {v}"));
    assert_eq!(s.len(), 24, "date shape 2016-02-26T16:38:34+0900: {s}");
    chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z")
        .unwrap_or_else(|e| panic!("date {s} is not %Y-%m-%dT%H:%M:%S%z: {e}"));
}

/// Asserts an id is a UUID string.
pub fn assert_uuid(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("id is not a string: {v}"));
    uuid::Uuid::parse_str(s).unwrap_or_else(|e| panic!("id {s} is not a UUID: {e}"));
}

/// The `name` fields of `v[key]`.
pub fn names(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("`{key}` is not an array in {v}"))
        .iter()
        .map(|x| x["name"].as_str().expect("name").to_owned())
        .collect()
}
