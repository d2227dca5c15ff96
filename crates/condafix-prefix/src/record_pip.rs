use std::path::{Path, PathBuf};

use crate::{Error, Sha256};

/// One line of a pip `*.dist-info/RECORD` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipRecordEntry {
    /// Relative to site-packages, `/`-separated.
    pub path: String,
    /// Empty for RECORD itself and for `.pyc` files.
    pub sha256: Option<Sha256>,
    pub size: Option<u64>,
}

/// A pip `RECORD` file: CSV `path,sha256=<urlsafe base64>,size`.
#[derive(Debug, Clone, Default)]
pub struct PipRecord {
    pub path: PathBuf,
    pub entries: Vec<PipRecordEntry>,
}

impl PipRecord {
    pub fn from_path(path: &Path) -> Result<Self, Error> {
        // pip's own RECORD is about 60 KB; a file many times that is not one.
        let bytes = crate::safe_read::read(path, crate::safe_read::MAX_RECORD_BYTES)?;
        Self::parse(path, &bytes)
    }

    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let mut entries = Vec::new();
        for row in reader.records() {
            let row = row.map_err(|source| Error::Record {
                path: path.to_path_buf(),
                line: source.position().map(|p| p.line()).unwrap_or(0),
                source,
            })?;
            let Some(file) = row.get(0).filter(|f| !f.is_empty()) else {
                continue;
            };
            let hash = row.get(1).unwrap_or("");
            // Other algorithms (rare) are not verifiable here; they are recorded as "no hash".
            let sha256 = if hash.is_empty() {
                None
            } else {
                Sha256::from_record_hash(hash).ok()
            };
            entries.push(PipRecordEntry {
                path: file.replace('\\', "/"),
                sha256,
                size: row.get(2).and_then(|s| s.parse().ok()),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            entries,
        })
    }

    pub fn get(&self, rel: &str) -> Option<&PipRecordEntry> {
        self.entries.iter().find(|e| e.path == rel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hashes_quoted_paths_and_empty_fields() {
        let text = b"pip/__init__.py,sha256=ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0,3\n\"pip/odd,name.py\",,\npip-23.2.1.dist-info/RECORD,,\n";
        let rec = PipRecord::parse(Path::new("RECORD"), text).unwrap();
        assert_eq!(rec.entries.len(), 3);
        assert_eq!(rec.entries[0].sha256, Some(Sha256::of_bytes(b"abc")));
        assert_eq!(rec.entries[0].size, Some(3));
        assert_eq!(rec.entries[1].path, "pip/odd,name.py");
        assert_eq!(rec.entries[1].sha256, None);
    }
}
