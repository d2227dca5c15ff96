//! The DLLs the SSL modules need, transitively, and every copy of each along the loader's search
//! order in both launch contexts.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use condafix_prefix::guard::{no_links_below, RelPath};
use condafix_prefix::{join_rel, Machine, PeProblem, PrefixRecord};

use super::PythonFiles;
use crate::facts::Disk;
use crate::loader::{dir_key, SearchDir};
use crate::model::display_path;
use crate::report::{
    Candidate, CopyStatus, DllOutcome, DllReport, ModuleReport, OnDisk, RecordedFile, Resolution,
};
use crate::{is_system_dll, LaunchContext, Location};

/// Paths a record lists that the guard refuses: reported, never read.
pub(crate) type Refused = Vec<String>;

/// The DLLs the openssl record owns, by lower-case file name; `Library/bin` wins over other
/// folders when a name appears twice.
pub(crate) fn recorded_dlls(
    openssl: Option<&PrefixRecord>,
) -> (BTreeMap<String, RecordedFile>, Refused) {
    let mut out: BTreeMap<String, RecordedFile> = BTreeMap::new();
    let mut refused = Vec::new();
    let Some(rec) = openssl else {
        return (out, refused);
    };
    let entries = rec
        .paths_data
        .as_ref()
        .map(|p| p.paths.as_slice())
        .unwrap_or_default();
    let with_hash = entries
        .iter()
        .map(|e| (e.path.as_str(), e.expected_sha256(), e.size_in_bytes));
    // Files listed without paths_data are owned but unverifiable.
    let listed_only = rec
        .files
        .iter()
        .filter(|f| !entries.iter().any(|e| &e.path == *f))
        .map(|f| (f.as_str(), None, None));
    for (path, sha256, size) in with_hash.chain(listed_only) {
        if !path.to_lowercase().ends_with(".dll") {
            continue;
        }
        if let Err(why) = RelPath::parse(path) {
            refused.push(format!("{} lists {path:?}: {why}", rec.dist_name()));
            continue;
        }
        let name = path.rsplit('/').next().unwrap_or(path).to_lowercase();
        let in_library_bin = path.to_lowercase().starts_with("library/bin/");
        if out.contains_key(&name) && !in_library_bin {
            continue;
        }
        out.insert(
            name,
            RecordedFile {
                path: path.to_string(),
                package: rec.dist_name(),
                sha256,
                size,
                on_disk: None,
            },
        );
    }
    (out, refused)
}

/// What the closure walk needs to know about the interpreter and its install.
pub(crate) struct Walk<'a> {
    /// Where the interpreter's install is (a venv's base).
    pub home: &'a Path,
    /// The folders searched, per launch context.
    pub dirs: &'a [Vec<SearchDir>; 2],
    pub recorded: &'a BTreeMap<String, RecordedFile>,
    pub machine: Option<Machine>,
    pub python_files: &'a mut PythonFiles,
}

/// The closure: imports of the modules, then of each DLL found (libssl pulls libcrypto).
pub(crate) fn walk(modules: &[ModuleReport], w: &mut Walk<'_>, disk: &mut Disk) -> Vec<DllReport> {
    let mut needed: Vec<DllReport> = Vec::new();
    let mut queue: VecDeque<(String, String)> = VecDeque::new();
    for m in modules {
        for imp in m.imports.iter().filter(|i| !is_system_dll(i)) {
            queue.push_back((imp.clone(), m.module.clone()));
        }
    }
    while let Some((name, parent)) = queue.pop_front() {
        if let Some(existing) = needed
            .iter_mut()
            .find(|d| d.name.eq_ignore_ascii_case(&name))
        {
            if !existing.needed_by.contains(&parent) {
                existing.needed_by.push(parent);
            }
            continue;
        }
        let mut rec = w.recorded.get(&name.to_lowercase()).cloned();
        let rec_path = rec.as_ref().map(|r| join_rel(w.home, &r.path));
        if let (Some(r), Some(p)) = (rec.as_mut(), rec_path.as_ref()) {
            r.on_disk = on_disk(w.home, r, p, disk);
        }
        let [unactivated, activated] = [&w.dirs[0], &w.dirs[1]]
            .map(|d| resolve(&name, d, rec.as_ref(), rec_path.as_deref(), w, disk));
        // Read the imports of the copy conda owns, else of the one the loader takes.
        let source = rec_path
            .clone()
            .filter(|p| p.is_file())
            .or_else(|| unactivated.winner().map(|c| PathBuf::from(&c.path)))
            .or_else(|| activated.winner().map(|c| PathBuf::from(&c.path)));
        if let Some(source) = source {
            if let Ok(info) = &disk.facts(&source).pe {
                for imp in info.imports.iter().filter(|i| !is_system_dll(i)) {
                    queue.push_back((imp.clone(), name.clone()));
                }
            }
        }
        needed.push(DllReport {
            name,
            needed_by: vec![parent],
            recorded: rec,
            unactivated,
            activated,
        });
    }
    needed
}

/// What is at the recorded path now. A link on the way to conda's copy (`Library\bin` itself a
/// junction) is not read.
fn on_disk(home: &Path, r: &RecordedFile, p: &Path, disk: &mut Disk) -> Option<OnDisk> {
    let present = fs_err::symlink_metadata(p).is_ok_and(|m| !m.is_dir());
    if !present {
        return None;
    }
    let linked = RelPath::parse(&r.path)
        .map(|rel| no_links_below(home, &rel).is_err())
        .unwrap_or(true);
    if linked {
        return Some(OnDisk {
            size: 0,
            sha256: None,
            matches_record: None,
            problem: Some(PeProblem::Link),
        });
    }
    let f = disk.facts(p);
    Some(OnDisk {
        size: f.size,
        sha256: f.sha256,
        matches_record: r.sha256.zip(f.sha256).map(|(e, a)| e == a),
        problem: f.pe.as_ref().err().cloned(),
    })
}

/// Every copy of `name` along `dirs`; the first one is what the loader takes.
fn resolve(
    name: &str,
    dirs: &[SearchDir],
    recorded: Option<&RecordedFile>,
    recorded_path: Option<&Path>,
    w: &mut Walk<'_>,
    disk: &mut Disk,
) -> Resolution {
    let mut candidates = Vec::new();
    for d in dirs {
        let Some(path) = disk.find(&d.dir, name) else {
            continue;
        };
        let facts = disk.facts(&path).clone();
        let is_recorded_file = recorded_path.is_some_and(|r| dir_key(r) == dir_key(&path));
        // A copy in DLLs\ or the root that the python record lists is conda's own.
        let vendored =
            if is_recorded_file || !matches!(d.location, Location::ModuleDir | Location::ExeDir) {
                None
            } else {
                w.python_files.listed(d.location, &path, facts.sha256)
            };
        let (status, machine, problem) = match &facts.pe {
            Err(p) => (CopyStatus::Damaged, None, Some(p.clone())),
            Ok(info) if w.machine.is_some_and(|m| !m.can_load(info.machine)) => {
                (CopyStatus::WrongMachine, Some(info.machine), None)
            }
            Ok(info) => {
                let status = match (recorded.and_then(|r| r.sha256), facts.sha256) {
                    _ if vendored == Some(true) => CopyStatus::Vendored,
                    _ if vendored == Some(false) => CopyStatus::VendoredAltered,
                    (None, _) => CopyStatus::Unverifiable,
                    (Some(e), Some(a)) if e == a && is_recorded_file => CopyStatus::Recorded,
                    (Some(e), Some(a)) if e == a => CopyStatus::SameBytes,
                    _ => CopyStatus::Differs,
                };
                (status, Some(info.machine), None)
            }
        };
        candidates.push(Candidate {
            path: display_path(&path),
            location: d.location,
            size: facts.size,
            sha256: facts.sha256,
            machine,
            status,
            problem,
        });
    }
    let outcome = match candidates.first().map(|c| c.status) {
        None => DllOutcome::NotFound,
        Some(
            CopyStatus::Recorded
            | CopyStatus::SameBytes
            | CopyStatus::Vendored
            | CopyStatus::Unverifiable,
        ) => DllOutcome::Loads,
        Some(CopyStatus::Differs | CopyStatus::VendoredAltered) => DllOutcome::ForeignCopy,
        Some(CopyStatus::WrongMachine | CopyStatus::Damaged) => DllOutcome::BadImage,
    };
    Resolution {
        outcome,
        searched: dirs.iter().map(|d| display_path(&d.dir)).collect(),
        candidates,
    }
}

/// Lower-case names of the DLLs `root` needs, directly or through other DLLs.
pub(crate) fn closure_of(dlls: &[DllReport], root: &str) -> Vec<String> {
    let mut set: Vec<String> = vec![root.to_lowercase()];
    loop {
        let before = set.len();
        for d in dlls {
            let name = d.name.to_lowercase();
            if !set.contains(&name) && d.needed_by.iter().any(|p| set.contains(&p.to_lowercase())) {
                set.push(name);
            }
        }
        if set.len() == before {
            return set;
        }
    }
}

/// The worst outcome among the DLLs `_ssl.pyd` needs in one launch context.
pub(crate) fn worst<'a>(
    dlls: &'a [DllReport],
    closure: &[String],
    launch: LaunchContext,
) -> Option<(DllOutcome, &'a str)> {
    dlls.iter()
        .filter(|d| closure.contains(&d.name.to_lowercase()))
        .map(|d| (d.resolution(launch).outcome, d.name.as_str()))
        .max_by_key(|(o, _)| *o)
}
