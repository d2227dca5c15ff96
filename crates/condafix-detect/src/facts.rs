//! What is on disk at a path, read at most once per run: size, SHA-256, PE machine and imports.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use condafix_prefix::safe_read::{self, ReadError, MAX_DLL_BYTES};
use condafix_prefix::{read_pe_file, PeInfo, PeProblem, Sha256};

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

fn read_facts(path: &Path) -> FileFacts {
    let failed = |size: u64, pe: PeProblem| FileFacts {
        size,
        sha256: None,
        pe: Err(pe),
    };
    let size = match safe_read::checked_size(path, MAX_DLL_BYTES) {
        Ok(n) => n,
        Err(ReadError::Link { .. }) => return failed(0, PeProblem::Link),
        Err(ReadError::TooLarge { size, .. }) => return failed(size, PeProblem::TooLarge { size }),
        Err(e) => {
            return failed(
                0,
                PeProblem::Unreadable {
                    detail: e.to_string(),
                },
            )
        }
    };
    let file = match safe_read::open(path) {
        Ok(f) => f,
        Err(ReadError::Link { .. }) => return failed(size, PeProblem::Link),
        Err(e) => {
            return failed(
                size,
                PeProblem::Unreadable {
                    detail: e.to_string(),
                },
            )
        }
    };
    let sha256 = Sha256::of_reader(std::io::Read::take(&file, MAX_DLL_BYTES))
        .ok()
        .map(|(h, _)| h);
    FileFacts {
        size,
        sha256,
        pe: read_pe_file(&file, size),
    }
}

impl Disk {
    /// Facts of a file that exists; each file is read once, never through a link, never when
    /// it is larger than any DLL, hashed in fixed buffers, and only the PE headers and import
    /// table are read for its imports.
    pub fn facts(&mut self, path: &Path) -> &FileFacts {
        self.facts
            .entry(path.to_path_buf())
            .or_insert_with(|| read_facts(path))
    }

    /// The file called `name` in `dir`, matched the way Windows does (case-insensitively).
    /// On Windows the file system does that itself; elsewhere (a Windows tree inspected from
    /// Linux) a miss falls back to the folder's listing, read once.
    pub fn find(&mut self, dir: &Path, name: &str) -> Option<PathBuf> {
        let exact = dir.join(name);
        // A link counts as a copy (it is reported, never read through).
        let present = |p: &Path| fs_err::symlink_metadata(p).is_ok_and(|m| !m.is_dir());
        if present(&exact) {
            return Some(exact);
        }
        if cfg!(windows) {
            return None;
        }
        let real = self.listing(dir).get(&name.to_lowercase())?.clone();
        let p = dir.join(real);
        present(&p).then_some(p)
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
