//! The checksum a client may send with the bytes of one request (`Upload-Checksum:
//! <algorithm> <base64 digest>`, tus's checksum extension): the body is hashed as it streams
//! by, and a body whose digest differs is not kept.

use base64::Engine;
use sha1::Digest;

/// The algorithms accepted, as `Tus-Checksum-Algorithm` lists them.
pub const ALGORITHMS: &str = "sha1,sha256";

/// A hash function of [`ALGORITHMS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    /// SHA-1 (the one every tus server must accept).
    Sha1,
    /// SHA-256.
    Sha256,
}

impl Algorithm {
    /// Bytes of a digest.
    fn digest_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }
}

/// Why an `Upload-Checksum` header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChecksumError {
    /// The algorithm is not one of [`ALGORITHMS`].
    #[error("checksum algorithm `{0}` is not supported (supported: {ALGORITHMS})")]
    Unsupported(String),
    /// Not `<algorithm> <base64 digest>`, or a digest of the wrong length.
    #[error("Upload-Checksum is not `<algorithm> <base64 digest>`")]
    Malformed,
}

/// The digest a request's body must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// How it is computed.
    algorithm: Algorithm,
    /// The digest the client sent.
    expected: Vec<u8>,
}

impl Checksum {
    /// Reads an `Upload-Checksum` value.
    pub fn parse(header: &str) -> Result<Self, ChecksumError> {
        let (name, digest) = header
            .trim()
            .split_once(' ')
            .ok_or(ChecksumError::Malformed)?;
        let algorithm = match name {
            "sha1" => Algorithm::Sha1,
            "sha256" => Algorithm::Sha256,
            other => return Err(ChecksumError::Unsupported(other.to_owned())),
        };
        let expected = base64::engine::general_purpose::STANDARD
            .decode(digest.trim())
            .map_err(|_| ChecksumError::Malformed)?;
        if expected.len() != algorithm.digest_len() {
            return Err(ChecksumError::Malformed);
        }
        Ok(Self {
            algorithm,
            expected,
        })
    }

    /// A hasher for the body this checksum covers.
    pub(super) fn hasher(&self) -> Hasher {
        match self.algorithm {
            Algorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    /// Whether the bytes `hasher` saw have this digest.
    pub(super) fn matches(&self, hasher: Hasher) -> bool {
        let digest = match hasher {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
        };
        digest == self.expected
    }
}

/// The running hash of a body.
pub(super) enum Hasher {
    /// SHA-1.
    Sha1(sha1::Sha1),
    /// SHA-256.
    Sha256(sha2::Sha256),
}

impl Hasher {
    /// Adds bytes.
    pub(super) fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha1(h) => h.update(bytes),
            Self::Sha256(h) => h.update(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(checksum: &Checksum, parts: &[&[u8]]) -> bool {
        let mut hasher = checksum.hasher();
        for part in parts {
            hasher.update(part);
        }
        checksum.matches(hasher)
    }

    #[test]
    fn digests_are_checked_over_every_part() {
        // sha1("hello world") and sha256("hello world"), base64.
        let sha1 = Checksum::parse("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=").expect("sha1");
        assert!(digest_of(&sha1, &[b"hello ", b"world"]));
        assert!(!digest_of(&sha1, &[b"hello", b"world"]));
        let sha256 =
            Checksum::parse("sha256 uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=").expect("sha256");
        assert!(digest_of(&sha256, &[b"hello world"]));
        assert!(!digest_of(&sha256, &[]));
    }

    #[test]
    fn malformed_and_unknown_headers_are_refused() {
        assert_eq!(
            Checksum::parse("md5 XUFAKrxLKna5cZ2REBfFkg=="),
            Err(ChecksumError::Unsupported("md5".to_owned()))
        );
        for bad in [
            "sha1",
            "sha1 not-base64!",
            "sha1 aGVsbG8=",
            "",
            "sha256 Kq5sNclPz7QV2+lfQIuc6R7oRu0=",
        ] {
            assert_eq!(Checksum::parse(bad), Err(ChecksumError::Malformed), "{bad}");
        }
    }
}
