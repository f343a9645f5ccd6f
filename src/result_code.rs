//! The management API's result codes, as published in the Image Manager API's result-code table.
//!
//! Every answer of the management API carries one of these in its `header`. The delivery path
//! uses real HTTP status codes instead and never looks at this table.

/// Every code of the published table, in table order (Pictor's own codes, such as those of
/// resumable uploads, are not in it).
const ALL: [ResultCode; 29] = [
    ResultCode::Success,
    ResultCode::PartialSuccess,
    ResultCode::UploadAllFail,
    ResultCode::Fail,
    ResultCode::NotFound,
    ResultCode::InvalidParameters,
    ResultCode::InvalidFiles,
    ResultCode::PathLengthLimit,
    ResultCode::FilenameLengthLimit,
    ResultCode::FileCountLimit,
    ResultCode::UploadSizeLimit,
    ResultCode::InvalidFilename,
    ResultCode::InvalidUrl,
    ResultCode::FilenameEmpty,
    ResultCode::FolderDuplicatedName,
    ResultCode::FolderNotExists,
    ResultCode::InvalidBasePath,
    ResultCode::FileDuplicatedName,
    ResultCode::DeleteFileCountLimit,
    ResultCode::NoFileToDelete,
    ResultCode::FailToDelete,
    ResultCode::FailToCreateFolder,
    ResultCode::StorageUploadFailed,
    ResultCode::StorageDeleteFailed,
    ResultCode::InvalidAppkey,
    ResultCode::OperationNotAllowed,
    ResultCode::OperationFail,
    ResultCode::OperationNoProcessingOption,
    ResultCode::OperationParsingFail,
];

/// One result code of the Image Manager API, with its fixed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResultCode {
    /// 0: the request succeeded.
    Success,
    /// 1: some files of a multi-file request succeeded, some failed.
    PartialSuccess,
    /// 2: every file of a multi-file upload failed.
    UploadAllFail,
    /// -1: an unexpected internal failure.
    Fail,
    /// 404: no such route or method.
    NotFound,
    /// 10001: a parameter is missing or out of its valid range.
    InvalidParameters,
    /// 10002: no upload file, an empty one, or one that is not an image.
    InvalidFiles,
    /// 11001: a full path over 1024 bytes.
    PathLengthLimit,
    /// 11002: a file or folder name over 255 characters. The guide's parameter tables give a
    /// path a minimum of two characters (`/x`), which every valid path meets.
    FilenameLengthLimit,
    /// 11003: more than 10,000 items in one request.
    FileCountLimit,
    /// 11004: a file over the upload size limit.
    UploadSizeLimit,
    /// 11050: forbidden characters in a file or folder name.
    InvalidFilename,
    /// 11051: a callback URL that is malformed, on a port that is not allowed, or pointing at
    /// an internal address.
    InvalidUrl,
    /// 11060: an empty file or folder name.
    FilenameEmpty,
    /// 20000: a folder already exists at the destination.
    FolderDuplicatedName,
    /// 20001: nothing exists at the given path.
    FolderNotExists,
    /// 20002: the parent folder does not exist.
    InvalidBasePath,
    /// 20010: a file with the same name exists (no overwrite, no autorename).
    FileDuplicatedName,
    /// 21003: more than 10,000 items in one deletion.
    DeleteFileCountLimit,
    /// 21011: none of the items to delete exist.
    NoFileToDelete,
    /// 21030: the deletion failed.
    FailToDelete,
    /// 22001: the folder could not be created.
    FailToCreateFolder,
    /// 24001: the object store refused the upload.
    StorageUploadFailed,
    /// 24002: the object store refused a deletion.
    StorageDeleteFailed,
    /// 30004: wrong appKey or secretKey.
    InvalidAppkey,
    /// 40000: the operation may not be used this way.
    OperationNotAllowed,
    /// 40001: the image operation failed.
    OperationFail,
    /// 40003: no processing option (unknown template).
    OperationNoProcessingOption,
    /// 40004: the operation could not be parsed.
    OperationParsingFail,
    /// 50001: an upload would take the app over its storage quota (photo-library extension;
    /// not in the published table).
    QuotaExceeded,
    /// 51001: an id to restore is not an item of the app's trash (photo-library extension;
    /// not in the published table).
    NotInTrash,
    /// 500201: the body of a failure callback of an image operation, as the API guide's
    /// "fail sample" shows it. Not in the published table, and never in an API answer.
    CallbackOperationFail,
    // --- rotation (extension codes 54001-54009, not in the published table) ---
    /// 54001: a file produced by an image operation (`P`) cannot be rotated.
    RotationOfProducedFile,
    /// 54002: the file's format cannot be rotated (AVIF).
    RotationUnsupportedFormat,
    /// 54003: the file changed (replaced or rotated) while it was being rotated.
    RotationConflict,
    /// 54004: the image is over the pixel or frame limits of the imaging engine.
    RotationTooLarge,
    // --- copy and move (extension codes 53001-53009, not in the published table) ---
    /// 53001: a copy or a move names an id of no file or folder of the app.
    CopyMoveNotFound,
    // --- resumable uploads (extension codes 52001-52009, not in the published table) ---
    /// 52001: no resumable upload has the id (HTTP 404). Pictor's own, as are the 5200x below.
    UploadNotFound,
    /// 52002: the resumable upload expired (HTTP 410).
    UploadExpired,
    /// 52003: `Upload-Offset` is not the upload's offset (HTTP 409).
    UploadOffsetMismatch,
    /// 52004: the body does not match its `Upload-Checksum` (HTTP 460).
    UploadChecksumMismatch,
    /// 52005: a tus request without `Tus-Resumable: 1.0.0` (HTTP 412).
    TusVersionUnsupported,
    /// 52006: a PATCH body not sent as `application/offset+octet-stream` (HTTP 415).
    UploadContentType,
    /// 52007: the app holds `limits.max_unfinished_uploads` unfinished uploads (HTTP 429).
    UploadCountLimit,
    /// 52008: the upload holds `limits.max_upload_chunks` chunks and the request does not
    /// finish it (HTTP 400).
    UploadChunkLimit,
}

impl ResultCode {
    /// The numeric code written in `header.resultCode`.
    pub fn code(self) -> i32 {
        match self {
            Self::Success => 0,
            Self::PartialSuccess => 1,
            Self::UploadAllFail => 2,
            Self::Fail => -1,
            Self::NotFound => 404,
            Self::InvalidParameters => 10001,
            Self::InvalidFiles => 10002,
            Self::PathLengthLimit => 11001,
            Self::FilenameLengthLimit => 11002,
            Self::FileCountLimit => 11003,
            Self::UploadSizeLimit => 11004,
            Self::InvalidFilename => 11050,
            Self::InvalidUrl => 11051,
            Self::FilenameEmpty => 11060,
            Self::FolderDuplicatedName => 20000,
            Self::FolderNotExists => 20001,
            Self::InvalidBasePath => 20002,
            Self::FileDuplicatedName => 20010,
            Self::DeleteFileCountLimit => 21003,
            Self::NoFileToDelete => 21011,
            Self::FailToDelete => 21030,
            Self::FailToCreateFolder => 22001,
            Self::StorageUploadFailed => 24001,
            Self::StorageDeleteFailed => 24002,
            Self::InvalidAppkey => 30004,
            Self::OperationNotAllowed => 40000,
            Self::OperationFail => 40001,
            Self::OperationNoProcessingOption => 40003,
            Self::OperationParsingFail => 40004,
            Self::QuotaExceeded => 50001,
            Self::NotInTrash => 51001,
            Self::CallbackOperationFail => 500201,
            Self::RotationOfProducedFile => 54001,
            Self::RotationUnsupportedFormat => 54002,
            Self::RotationConflict => 54003,
            Self::RotationTooLarge => 54004,
            Self::CopyMoveNotFound => 53001,
            Self::UploadNotFound => 52001,
            Self::UploadExpired => 52002,
            Self::UploadOffsetMismatch => 52003,
            Self::UploadChecksumMismatch => 52004,
            Self::TusVersionUnsupported => 52005,
            Self::UploadContentType => 52006,
            Self::UploadCountLimit => 52007,
            Self::UploadChunkLimit => 52008,
        }
    }

    /// The fixed message of the table. A `{}` in it is filled by [`ResultCode::message_with`].
    pub fn message(self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::PartialSuccess => "Partial Success",
            Self::UploadAllFail => "Fail",
            Self::Fail => "Unknown error.",
            Self::NotFound => "Please check your API Url, HTTP Method.",
            Self::InvalidParameters => "parameter is invalid.",
            Self::InvalidFiles => "There is not exist upload file or it is an invalid file.",
            Self::PathLengthLimit => "The max byte size of full path is 1024.",
            Self::FilenameLengthLimit => "It is 2 ~ 255 the length of file and folder.",
            Self::FileCountLimit => {
                "It is 10,000 the max count of file and folder you can request."
            }
            Self::UploadSizeLimit => "It was exceed the max volume you can upload at once.",
            Self::InvalidFilename => "Invalid Characters in File or Folder Name",
            Self::InvalidUrl => "It is 80,443 the upload port count of URL.",
            Self::FilenameEmpty => "You must register the name of file or folder.",
            Self::FolderDuplicatedName => {
                "There is already a folder at the given destination. path: {}"
            }
            Self::FolderNotExists => "No file was found at the specified path.",
            Self::InvalidBasePath => "It does not exist upper folder.",
            Self::FileDuplicatedName => "There is same file name.",
            Self::DeleteFileCountLimit => {
                "It is 10,000 the max count of file and folder you are able to delete."
            }
            Self::NoFileToDelete => "It does not exist the data to delete.",
            Self::FailToDelete => "It occurred some problem while deleting.",
            Self::FailToCreateFolder => "It occurred some problem while creating folder.",
            Self::StorageUploadFailed => "The storage upload failed.",
            Self::StorageDeleteFailed => "It occurred some proble while storage deleting",
            Self::InvalidAppkey => "The authentication is invalid.",
            Self::OperationNotAllowed => "You have no operation authority.",
            Self::OperationFail => "Failed to process the image operation.",
            Self::OperationNoProcessingOption => "There are not any option for image processing.",
            Self::OperationParsingFail => "Failed to parsing the image operation.",
            Self::QuotaExceeded => "The app's storage quota would be exceeded.",
            Self::NotInTrash => "The item to restore is not in the trash.",
            Self::CallbackOperationFail => "Operation fail. ",
            Self::RotationOfProducedFile => {
                "A file made by an image operation cannot be rotated; rotate its original."
            }
            Self::RotationUnsupportedFormat => "This image format cannot be rotated.",
            Self::RotationConflict => {
                "The file changed while it was being rotated; send the request again."
            }
            Self::RotationTooLarge => "The image is too large to rotate.",
            Self::CopyMoveNotFound => "There is no file or folder with the given id.",
            Self::UploadNotFound => "The upload does not exist.",
            Self::UploadExpired => "The upload has expired.",
            Self::UploadOffsetMismatch => "Upload-Offset is not the offset of the upload.",
            Self::UploadChecksumMismatch => "The request body does not match Upload-Checksum.",
            Self::TusVersionUnsupported => "Tus-Resumable: 1.0.0 is required.",
            Self::UploadContentType => {
                "The body of a PATCH must be sent as application/offset+octet-stream."
            }
            Self::UploadCountLimit => "There are too many unfinished uploads.",
            Self::UploadChunkLimit => {
                "The upload is in too many pieces: send the rest in one request."
            }
        }
    }

    /// The code for a numeric value, when it is one of the table's (500201 and the codes of the
    /// photo-library extensions are not).
    pub fn from_code(code: i32) -> Option<Self> {
        ALL.iter().copied().find(|c| c.code() == code)
    }

    /// The message with its `{}` placeholder (if any) replaced by `detail`.
    pub fn message_with(self, detail: &str) -> String {
        self.message().replacen("{}", detail, 1)
    }
}

/// The `header` object of the API's envelope (and of callback bodies) for a code and message.
pub fn header(code: ResultCode, message: &str) -> serde_json::Value {
    serde_json::json!({
        "isSuccessful": code == ResultCode::Success,
        "resultCode": code.code(),
        "resultMessage": message,
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn codes_and_messages_match_the_published_table() {
        let table = include_str!("../../shared/reference/result-codes.tsv");
        let all = super::ALL;
        for rc in all {
            let row = table
                .lines()
                .map(|l| l.split('\t').collect::<Vec<_>>())
                .find(|cols| cols[0] == rc.code().to_string())
                .unwrap_or_else(|| panic!("code {} missing from the table", rc.code()));
            assert_eq!(row[2], rc.message(), "message of {}", rc.code());
        }
    }

    #[test]
    fn rotation_codes_stay_in_their_range_outside_the_table() {
        use super::ResultCode;
        let table = include_str!("../../shared/reference/result-codes.tsv");
        for rc in [
            ResultCode::RotationOfProducedFile,
            ResultCode::RotationUnsupportedFormat,
            ResultCode::RotationConflict,
            ResultCode::RotationTooLarge,
        ] {
            assert!((54001..=54009).contains(&rc.code()), "{rc:?}");
            assert!(!table.lines().any(|l| l.starts_with(&rc.code().to_string())));
            assert_eq!(
                ResultCode::from_code(rc.code()),
                None,
                "not a published code"
            );
            assert!(!rc.message().is_empty());
        }
    }

    #[test]
    fn resumable_upload_codes_stay_in_their_range_outside_the_table() {
        use super::ResultCode;
        let table = include_str!("../../shared/reference/result-codes.tsv");
        let codes = [
            ResultCode::UploadNotFound,
            ResultCode::UploadExpired,
            ResultCode::UploadOffsetMismatch,
            ResultCode::UploadChecksumMismatch,
            ResultCode::TusVersionUnsupported,
            ResultCode::UploadContentType,
            ResultCode::UploadCountLimit,
            ResultCode::UploadChunkLimit,
        ];
        for (i, rc) in codes.iter().enumerate() {
            assert_eq!(rc.code(), 52001 + i as i32, "{rc:?}");
            assert!(!table.lines().any(|l| l.starts_with(&rc.code().to_string())));
            assert_eq!(
                ResultCode::from_code(rc.code()),
                None,
                "not a published code"
            );
            assert!(!rc.message().is_empty());
        }
    }
}
