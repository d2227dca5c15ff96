use std::fmt;
use std::io::Read;
use std::path::Path;

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;

use crate::Error;

/// Size of the buffer used when hashing files: large enough for the SHA extensions to run at
/// full speed, small enough that hashing many files at once stays within a few MiB.
pub const HASH_BUFFER_SIZE: usize = 256 * 1024;

/// A SHA-256 digest. Serialized as lower-case hex, the way conda writes it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256([u8; 32]);

impl Sha256 {
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self(sha2::Sha256::digest(bytes).into())
    }

    /// Hash a reader to its end, streaming; returns the digest and the number of bytes read.
    pub fn of_reader(reader: impl Read) -> std::io::Result<(Self, u64)> {
        thread_local! {
            // One buffer per thread, reused: a fresh zeroed 256 KiB per file cost more than
            // hashing the typical 50 KB file of a prefix.
            static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BUFFER.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => {
                if buf.len() != HASH_BUFFER_SIZE {
                    buf.resize(HASH_BUFFER_SIZE, 0);
                }
                Self::of_reader_in(reader, &mut buf)
            }
            // Only if a reader hashed while being read: a buffer of its own.
            Err(_) => Self::of_reader_in(reader, &mut vec![0u8; HASH_BUFFER_SIZE]),
        })
    }

    fn of_reader_in(mut reader: impl Read, buf: &mut [u8]) -> std::io::Result<(Self, u64)> {
        let mut hasher = sha2::Sha256::new();
        let mut total = 0u64;
        loop {
            let n = match reader.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..n]);
            total += n as u64;
        }
        Ok((Self(hasher.finalize().into()), total))
    }

    /// Hash a file, streaming. The error names the file.
    pub fn of_file(path: &Path) -> Result<(Self, u64), Error> {
        let file = fs_err::File::open(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::of_reader(file).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Parse the 64-hex-digit form used in conda-meta and paths.json.
    pub fn from_hex(value: &str) -> Result<Self, Error> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(value.trim(), &mut out).map_err(|_| Error::BadDigest {
            value: value.to_string(),
            expected: "64 hexadecimal digits",
        })?;
        Ok(Self(out))
    }

    /// Parse the `sha256=<urlsafe base64, no padding>` form of pip's RECORD files.
    pub fn from_record_hash(value: &str) -> Result<Self, Error> {
        let bad = || Error::BadDigest {
            value: value.to_string(),
            expected: "sha256=<urlsafe base64>",
        };
        let b64 = value.strip_prefix("sha256=").ok_or_else(bad)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64.trim_end_matches('='))
            .map_err(|_| bad())?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
        Ok(Self(arr))
    }

    /// A digest computed elsewhere (a hashing writer).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 12 hex digits, for human output.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..6])
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.to_hex())
    }
}

impl Serialize for Sha256 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl schemars::JsonSchema for Sha256 {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Sha256".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "A SHA-256 digest, lower-case hex."
        })
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_known_value() {
        let d = Sha256::of_bytes(b"abc");
        assert_eq!(
            d.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Sha256::from_hex(&d.to_hex()).unwrap(), d);
        assert!(Sha256::from_hex("abc").is_err());
    }

    #[test]
    fn record_hash_form_decodes_to_the_same_digest() {
        let d = Sha256::of_bytes(b"abc");
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_bytes());
        assert_eq!(
            Sha256::from_record_hash(&format!("sha256={b64}")).unwrap(),
            d
        );
        assert!(Sha256::from_record_hash("md5=abc").is_err());
        assert!(Sha256::from_record_hash("sha256=AAAA").is_err());
    }

    #[test]
    fn streaming_hash_equals_one_shot_hash_across_buffer_boundaries() {
        let data: Vec<u8> = (0..(HASH_BUFFER_SIZE * 2 + 17)).map(|i| i as u8).collect();
        let (d, n) = Sha256::of_reader(&data[..]).unwrap();
        assert_eq!(n as usize, data.len());
        assert_eq!(d, Sha256::of_bytes(&data));
    }
}
