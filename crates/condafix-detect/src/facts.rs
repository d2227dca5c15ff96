//! What is on disk at a path, read at most once per run: size, SHA-256, PE machine and imports.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use condafix_prefix::{read_pe, PeInfo, PeProblem, Sha256};

#[derive(Debug, Clone)]
pub(crate) struct FileFacts {
    pub size: u64,
    pub sha256: Option<Sha256>,
    pub pe: Result<PeInfo, PeProblem>,
}

/// A per-run cache of file facts and directory listings.
#[derive(Debug, Default)]
pub(crate) struct Disk {
    facts: HashMap<PathBuf, FileFacts>,
    listings: HashMap<PathBuf, HashMap<String, OsString>>,
}

impl Disk {
    /// Facts of a file that exists; each file is read once.
    pub fn facts(&mut self, path: &Path) -> &FileFacts {
        self.facts
            .entry(path.to_path_buf())
            .or_insert_with(|| match fs_err::read(path) {
                Ok(bytes) => FileFacts {
                    size: bytes.len() as u64,
                    sha256: Some(Sha256::of_bytes(&bytes)),
                    pe: read_pe(&bytes),
                },
                Err(e) => FileFacts {
                    size: 0,
                    sha256: None,
                    pe: Err(PeProblem::Unreadable {
                        detail: e.to_string(),
                    }),
                },
            })
    }

    /// The file called `name` in `dir`, matched the way Windows does (case-insensitively).
    /// On Windows the file system does that itself; elsewhere (a Windows tree inspected from
    /// Linux) a miss falls back to the folder's listing, read once.
    pub fn find(&mut self, dir: &Path, name: &str) -> Option<PathBuf> {
        let exact = dir.join(name);
        if exact.is_file() {
            return Some(exact);
        }
        if cfg!(windows) {
            return None;
        }
        let real = self.listing(dir).get(&name.to_lowercase())?.clone();
        let p = dir.join(real);
        p.is_file().then_some(p)
    }

    /// File names in `dir`, keyed by lower-case name. A missing folder is empty.
    pub fn listing(&mut self, dir: &Path) -> &HashMap<String, OsString> {
        self.listings.entry(dir.to_path_buf()).or_insert_with(|| {
            let mut m = HashMap::new();
            if let Ok(rd) = fs_err::read_dir(dir) {
                for e in rd.flatten() {
                    let name = e.file_name();
                    m.insert(name.to_string_lossy().to_lowercase(), name);
                }
            }
            m
        })
    }
}
