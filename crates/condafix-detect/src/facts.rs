//! What is on disk at a path, read at most once per run: size, SHA-256, PE machine and imports,
//! and for a `python3X.dll` the markers of conda's patch. One cache serves every prefix of a run,
//! keyed by path and by file identity: conda's envs hardlink their files from the package cache,
//! so a libcrypto shared by thirty envs is hashed once.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use condafix_prefix::safe_read::{self, FileId, ReadError, MAX_DLL_BYTES};
use condafix_prefix::{read_pe_file, Machine, PeInfo, PeProblem, Sha256};

use crate::classify::{scan_markers, Markers};

#[derive(Debug, Clone)]
pub(crate) struct FileFacts {
    pub size: u64,
    pub sha256: Option<Sha256>,
    pub pe: Result<PeInfo, PeProblem>,
}

/// A per-run cache of file facts, markers and directory listings.
#[derive(Debug, Default)]
pub(crate) struct Disk {
    facts: HashMap<PathBuf, FileFacts>,
    facts_by_id: HashMap<FileId, FileFacts>,
    markers: HashMap<PathBuf, Result<PythonDll, PeProblem>>,
    markers_by_id: HashMap<FileId, PythonDll>,
    listings: HashMap<PathBuf, HashMap<String, OsString>>,
    conda_versions: HashMap<PathBuf, Option<String>>,
    pub stats: Stats,
}

/// What a run read, for the benchmark's figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Files hashed, and their bytes.
    pub files_hashed: u64,
    pub hashed_bytes: u64,
    pub hashing: std::time::Duration,
    /// `python3X.dll` files scanned for markers, and their bytes.
    pub files_scanned: u64,
    pub scanned_bytes: u64,
    pub scanning: std::time::Duration,
}

/// What a `python3X.dll` says about its build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PythonDll {
    pub markers: Markers,
    pub machine: Machine,
}

fn problem_of(e: ReadError) -> (u64, PeProblem) {
    match e {
        ReadError::Link { .. } => (0, PeProblem::Link),
        ReadError::TooLarge { size, .. } => (size, PeProblem::TooLarge { size }),
        e => (
            0,
            PeProblem::Unreadable {
                detail: e.to_string(),
            },
        ),
    }
}

/// Open a file for reading as detection may (no link, no file larger than any DLL).
// std::fs::File: what `safe_read::open` hands back.
#[allow(clippy::disallowed_types)]
fn open_checked(path: &Path) -> Result<(std::fs::File, u64), (u64, PeProblem)> {
    let size = safe_read::checked_size(path, MAX_DLL_BYTES).map_err(problem_of)?;
    let file = safe_read::open(path).map_err(problem_of)?;
    Ok((file, size))
}

impl Disk {
    /// Facts of a file that exists; each file is read once (and each hardlinked file once),
    /// never through a link, never when it is larger than any DLL, hashed in fixed buffers, and
    /// only the PE headers and import table are read for its imports.
    pub fn facts(&mut self, path: &Path) -> &FileFacts {
        if !self.facts.contains_key(path) {
            let facts = self.read_facts(path);
            self.facts.insert(path.to_path_buf(), facts);
        }
        &self.facts[path]
    }

    fn read_facts(&mut self, path: &Path) -> FileFacts {
        let (file, size) = match open_checked(path) {
            Ok(f) => f,
            Err((size, pe)) => {
                return FileFacts {
                    size,
                    sha256: None,
                    pe: Err(pe),
                }
            }
        };
        let id = safe_read::file_id(&file);
        if let Some(known) = id.and_then(|id| self.facts_by_id.get(&id)) {
            return known.clone();
        }
        let started = std::time::Instant::now();
        let sha256 = Sha256::of_reader(std::io::Read::take(&file, MAX_DLL_BYTES))
            .ok()
            .map(|(h, _)| h);
        self.stats.files_hashed += 1;
        self.stats.hashed_bytes += size;
        self.stats.hashing += started.elapsed();
        let facts = FileFacts {
            size,
            sha256,
            pe: read_pe_file(&file, size),
        };
        if let Some(id) = id {
            self.facts_by_id.insert(id, facts.clone());
        }
        facts
    }

    /// The markers of conda's patch in a `python3X.dll`, and its CPU; streamed, never loaded
    /// whole, never hashed.
    pub fn python_dll(&mut self, path: &Path) -> Result<PythonDll, PeProblem> {
        if let Some(m) = self.markers.get(path) {
            return m.clone();
        }
        let result = self.read_markers(path);
        self.markers.insert(path.to_path_buf(), result.clone());
        result
    }

    fn read_markers(&mut self, path: &Path) -> Result<PythonDll, PeProblem> {
        use std::io::{Seek as _, SeekFrom};
        let (mut file, size) = open_checked(path).map_err(|(_, p)| p)?;
        let id = safe_read::file_id(&file);
        if let Some(known) = id.and_then(|id| self.markers_by_id.get(&id)) {
            return Ok(*known);
        }
        // A DLL at all (an LFS pointer or a truncated download has no trustworthy strings).
        let machine = read_pe_file(&file, size)?.machine;
        let unreadable = |e: std::io::Error| PeProblem::Unreadable {
            detail: e.to_string(),
        };
        file.seek(SeekFrom::Start(0)).map_err(unreadable)?;
        let started = std::time::Instant::now();
        let markers =
            scan_markers(std::io::Read::take(&file, MAX_DLL_BYTES)).map_err(unreadable)?;
        self.stats.files_scanned += 1;
        self.stats.scanned_bytes += size;
        self.stats.scanning += started.elapsed();
        let dll = PythonDll { markers, machine };
        if let Some(id) = id {
            self.markers_by_id.insert(id, dll);
        }
        Ok(dll)
    }

    /// The file called `name` in `dir`, matched the way Windows does (case-insensitively).
    /// On Windows the file system does that itself; elsewhere (a Windows tree inspected from
    /// Linux) a miss falls back to the folder's listing, read once. A link counts (it is
    /// reported, never read through).
    pub fn find(&mut self, dir: &Path, name: &str) -> Option<PathBuf> {
        let exact = dir.join(name);
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

    /// The version of the conda package installed in `base`, listed once per run (thirty envs
    /// share one base).
    pub fn conda_version_of(&mut self, base: &Path) -> Option<String> {
        self.conda_versions
            .entry(base.to_path_buf())
            .or_insert_with(|| {
                condafix_prefix::CondaMeta::scan_only(base, &["conda"])
                    .ok()?
                    .find("conda")
                    .map(|e| e.version.clone())
            })
            .clone()
    }

    /// File names in `dir`, keyed by lower-case name. A missing folder is empty.
    pub fn listing(&mut self, dir: &Path) -> &HashMap<String, OsString> {
        self.listings.entry(dir.to_path_buf()).or_insert_with(|| {
            let mut m = HashMap::new();
            if let Ok(rd) = fs_err::read_dir(dir) {
                // A name that is not valid Unicode is left out: a lossy copy would name
                // another file (a plan or receipt about a file that is not there).
                for e in rd.flatten() {
                    let name = e.file_name();
                    if let Some(text) = name.to_str() {
                        m.insert(text.to_lowercase(), name);
                    }
                }
            }
            m
        })
    }
}
