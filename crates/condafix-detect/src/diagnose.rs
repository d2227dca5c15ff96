//! From an inspected prefix to findings. Pure: everything it needs is in the report.

use condafix_prefix::{join_rel, Layout, Machine, PeProblem, Sha256};

use crate::report::EraSource;
use crate::report::{
    Candidate, CopyStatus, DllOutcome, DllReport, PrefixReport, PythonInfo, RecordedFile,
    Resolution,
};
use crate::{Code, Finding, LaunchContext, LoaderClass, Location, Severity};
use crate::{CondaDirsBase, EnableRule};

/// An OpenSSL-looking DLL in `DLLs\` or the prefix root that no conda record owns.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct LooseCopy {
    pub path: String,
    /// Prefix-relative, `/`-separated.
    pub rel: String,
    /// Some module still imports this name.
    pub needed: bool,
    pub sha256: Option<Sha256>,
    pub matches_record: Option<bool>,
    pub record: Option<RecordedFile>,
    pub machine: Option<Machine>,
    /// Why it could not be read (a link, too large, not a PE image).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<PeProblem>,
    /// condafix's receipt says condafix put these bytes there.
    pub owned_by_condafix: bool,
}

const CONTEXTS: [LaunchContext; 2] = [LaunchContext::Unactivated, LaunchContext::Activated];

pub(crate) fn diagnose(report: &PrefixReport, copies: &[LooseCopy]) -> Vec<Finding> {
    if report.layout != Layout::Windows {
        return vec![Finding::new(
            Code::D080,
            "this prefix has the Unix layout: the Windows DLL checks do not apply",
        )
        .path(report.prefix.clone())];
    }
    let Some(python) = &report.python else {
        return vec![Finding::new(
            Code::D081,
            "no Python is installed in this prefix: nothing to check",
        )
        .path(report.prefix.clone())];
    };
    if let Some(problem) = python.venv.as_ref().and_then(|v| v.problem.as_ref()) {
        return vec![Finding::new(
            Code::D075,
            format!("this venv's base interpreter cannot be used: {problem}; the venv cannot run Python at all"),
        )
        .path(report.prefix.clone())
        .fix("recreate the venv from an installed Python (`python -m venv --clear <folder>`)")];
    }
    let home = python
        .venv
        .as_ref()
        .map(|v| v.home.clone())
        .unwrap_or_else(|| report.prefix.clone());
    let mut out = module_findings(report);
    out.extend(build_findings(report, python));
    out.extend(loader_findings(report, python));
    out.extend(report.refused_paths.iter().map(|r| {
        Finding::new(Code::D032, format!("a conda record names a path that leaves the prefix, refused (a hostile or damaged record): {r}"))
            .path(report.prefix.clone())
            .fix(REINSTALL_OPENSSL)
    }));
    for dll in &report.dlls {
        out.extend(recorded_copy_findings(dll, &home));
        out.extend(resolution_findings(dll, python));
    }
    out.extend(copies.iter().map(|c| loose_copy_finding(c, python)));
    if !out.iter().any(|f| f.severity > Severity::Info) {
        out.extend(healthy_finding(report, python));
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(&b.code)));
    out
}

const STAGE_FIX: &str = "place verified copies beside _ssl.pyd with `condafix stage` (it checks them against conda's record and can undo); until then, start Python from an activated Anaconda Prompt";
const REINSTALL_PYTHON: &str =
    "reinstall Python from the package cache: `conda install --offline --force-reinstall python`";
const REINSTALL_OPENSSL: &str =
    "reinstall openssl from the package cache: `conda install --offline --force-reinstall openssl`";

/// D001-D003, D062: the SSL modules themselves.
fn module_findings(report: &PrefixReport) -> Vec<Finding> {
    let mut out = Vec::new();
    let ssl = &report.modules[0];
    if !ssl.present {
        out.push(
            Finding::new(
                Code::D001,
                "DLLs\\_ssl.pyd is missing: Python was installed without its ssl module",
            )
            .path(ssl.path.clone())
            .fix(REINSTALL_PYTHON),
        );
    } else if let Some(problem) = &ssl.problem {
        out.push(
            Finding::new(
                Code::D002,
                format!("DLLs\\_ssl.pyd cannot be loaded: {problem}"),
            )
            .path(ssl.path.clone())
            .evidence("problem", problem)
            .fix(REINSTALL_PYTHON),
        );
    } else if report.dlls.is_empty() {
        out.push(
            Finding::new(
                Code::D062,
                "OpenSSL is linked into _ssl.pyd: no OpenSSL DLL is needed",
            )
            .path(ssl.path.clone())
            .evidence("imports", &ssl.imports),
        );
    }
    let hashlib = &report.modules[1];
    if !hashlib.present || hashlib.problem.is_some() {
        out.push(
            Finding::new(
                Code::D003,
                match &hashlib.problem {
                    Some(p) => format!("DLLs\\_hashlib.pyd cannot be loaded: {p}"),
                    None => "DLLs\\_hashlib.pyd is missing: hashlib falls back to slower built-in hashes".into(),
                },
            )
            .path(hashlib.path.clone())
            .fix(REINSTALL_PYTHON),
        );
    }
    out
}

/// D071-D074: what the loader model was decided from, when that is worth saying.
fn loader_findings(report: &PrefixReport, python: &PythonInfo) -> Vec<Finding> {
    let mut out = Vec::new();
    let e = &python.evidence;
    if let (EraSource::Binary, Some(binary), Some(record)) =
        (e.decided_by, e.era_from_binary, e.era_from_record)
    {
        if binary != record {
            out.push(
                Finding::new(
                    Code::D071,
                    format!(
                        "{} carries the patch of era {}, while the record ({} {}) would say era {}: the binary decides",
                        e.dll.as_deref().unwrap_or("python3X.dll"),
                        binary.label(),
                        python.version,
                        python.build,
                        record.label()
                    ),
                )
                .path(e.dll.clone().unwrap_or_default())
                .evidence("era_from_binary", binary)
                .evidence("era_from_record", record)
                .evidence("markers", &e.markers),
            );
        }
    }
    if e.decided_by == EraSource::Record {
        out.push(
            Finding::new(
                Code::D072,
                format!(
                    "{} could not be read ({}): the era comes from the record's channel, version and build number",
                    e.dll.as_deref().unwrap_or("python3X.dll"),
                    e.dll_problem
                        .as_ref()
                        .map(|p| p.to_string())
                        .unwrap_or_else(|| "not found".into())
                ),
            )
            .path(e.dll.clone().unwrap_or_else(|| report.prefix.clone()))
            .evidence("era_from_record", e.era_from_record)
            .fix(REINSTALL_PYTHON),
        );
    }
    if let Some(venv) = &python.venv {
        if e.conda_dirs_base == CondaDirsBase::ExeDir
            && python.loader == LoaderClass::CondaDefaultMode
            && !report.prediction.unactivated.result.is_fine()
        {
            out.push(
                Finding::new(
                    Code::D073,
                    format!(
                        "this venv was made from Python {} {}, whose patch looks for the conda folders beside the venv's own python.exe ({}): it misses {}\\Library\\bin",
                        python.version, python.build, venv.exe_dir, venv.home
                    ),
                )
                .path(report.prefix.clone())
                .evidence("conda_dirs_base", e.conda_dirs_base)
                .fix(format!(
                    "recreate the venv from a newer conda Python (defaults 3.10.5+, conda-forge 3.10.2+) once python is updated in {}: `python -m venv --clear \"{}\"`; condafix does not write into a venv's base for it",
                    venv.home, report.prefix
                )),
            );
        }
    }
    if let Some(v) = &e.enable_value {
        let effect = if e.enable_switches_on {
            "switches this build to conda's PATH mode: every PATH folder, the five conda folders, the current and the Windows folder are searched"
        } else {
            match e.enable_rule {
                EnableRule::AnythingButZero => "is 0, which this build reads as off",
                _ => "has no effect on this build",
            }
        };
        out.push(
            Finding::new(
                Code::D074,
                format!(
                    "CONDA_DLL_SEARCH_MODIFICATION_ENABLE={} ({}) {effect}",
                    v.value, v.source
                ),
            )
            .path(report.prefix.clone())
            .evidence("enable_rule", e.enable_rule),
        );
    }
    out
}

/// D070, D050: what the model could not place or verify.
fn build_findings(report: &PrefixReport, python: &PythonInfo) -> Vec<Finding> {
    let mut out = Vec::new();
    if python.loader == LoaderClass::Unknown {
        out.push(
            Finding::new(Code::D070, format!("cannot tell how this Python build finds DLLs ({}); the prediction assumes the worst case", python.loader_reason))
                .path(report.prefix.clone())
                .fix("run `condafix verify` to see what the interpreter really does"),
        );
    }
    if report.openssl.is_none() && !report.dlls.is_empty() {
        out.push(
            Finding::new(Code::D050, "no openssl package is recorded in conda-meta: the OpenSSL DLLs cannot be checked against conda's hashes")
                .path(report.prefix.clone())
                .fix(REINSTALL_OPENSSL),
        );
    }
    out
}

/// D030, D031: the copy conda owns (in `Library\bin`) is missing or altered.
fn recorded_copy_findings(dll: &DllReport, prefix: &str) -> Option<Finding> {
    let rec = dll.recorded.as_ref()?;
    let rec_path = crate::display_path(&join_rel(std::path::Path::new(prefix), &rec.path));
    match &rec.on_disk {
        None => Some(
            Finding::new(
                Code::D031,
                format!(
                    "{} is recorded by {} but missing from the prefix",
                    rec.path, rec.package
                ),
            )
            .path(rec_path)
            .evidence("dll", &dll.name)
            .evidence("package", &rec.package)
            .fix(REINSTALL_OPENSSL),
        ),
        Some(disk) if disk.problem.is_some() || disk.matches_record == Some(false) => {
            let why = match &disk.problem {
                Some(p) => p.to_string(),
                None => "its bytes are not the ones conda installed".to_string(),
            };
            Some(
                Finding::new(Code::D030, format!("{} does not match the {} record: {why}", rec.path, rec.package))
                    .path(rec_path)
                    .evidence("dll", &dll.name)
                    .evidence("expected_sha256", rec.sha256)
                    .evidence("actual_sha256", disk.sha256)
                    .evidence("size", disk.size)
                    .evidence("problem", &disk.problem)
                    .fix("reinstall openssl from the package cache (`conda install --offline --force-reinstall openssl`); `condafix stage` will refuse to copy an unverified DLL"),
            )
        }
        Some(_) => None,
    }
}

/// The problem with what the loader gets in one context, if any.
fn resolution_code(dll: &DllReport, launch: LaunchContext) -> Option<Code> {
    let res = dll.resolution(launch);
    let is_recorded_copy = |path: &str| {
        dll.recorded.as_ref().is_some_and(|r| {
            path.replace('\\', "/")
                .to_lowercase()
                .ends_with(&r.path.to_lowercase())
        })
    };
    match (res.outcome, res.winner()) {
        (DllOutcome::Loads, _) => None,
        (DllOutcome::NotFound, _) => Some(Code::D010),
        (DllOutcome::ForeignCopy, Some(w)) if is_recorded_copy(&w.path) => None,
        (DllOutcome::ForeignCopy, _) => Some(Code::D020),
        (DllOutcome::BadImage, Some(w)) if w.status == CopyStatus::WrongMachine => Some(Code::D040),
        (DllOutcome::BadImage, Some(w)) if is_recorded_copy(&w.path) => None,
        (DllOutcome::BadImage, _) => Some(Code::D041),
    }
}

/// D010, D020, D040, D041: what the loader gets, per context; one finding per (problem, copy)
/// lists the contexts it applies to.
fn resolution_findings(dll: &DllReport, python: &PythonInfo) -> Vec<Finding> {
    type Group = (Code, Option<String>, Vec<LaunchContext>);
    let mut grouped: Vec<Group> = Vec::new();
    for launch in CONTEXTS {
        let Some(code) = resolution_code(dll, launch) else {
            continue;
        };
        let key = dll.resolution(launch).winner().map(|w| w.path.clone());
        match grouped.iter_mut().find(|(c, k, _)| *c == code && *k == key) {
            Some(g) => g.2.push(launch),
            None => grouped.push((code, key, vec![launch])),
        }
    }
    grouped
        .into_iter()
        .map(|(code, _, contexts)| {
            let res = dll.resolution(contexts[0]);
            let words = contexts_words(&contexts);
            let finding = match (code, res.winner()) {
                (Code::D010, _) => not_found(dll, res, python, words),
                (Code::D020, Some(w)) => shadowed(dll, w, words),
                (Code::D040, Some(w)) => wrong_machine(dll, w, python, words),
                (_, w) => damaged(dll, code, w, words),
            };
            finding.contexts(contexts)
        })
        .collect()
}

fn not_found(dll: &DllReport, res: &Resolution, python: &PythonInfo, words: &str) -> Finding {
    let needed_by = dll.needed_by.join(", ");
    let on_disk = dll.recorded.as_ref().filter(|r| r.on_disk.is_some());
    let why = if python.venv.is_some() && python.loader == LoaderClass::CondaDefaultMode {
        "which this venv's interpreter does not search (see D073)"
    } else {
        "which this build only searches through PATH"
    };
    let elsewhere = on_disk
        .map(|r| format!(" It is in {}, {why}.", r.path.replace('/', "\\")))
        .unwrap_or_else(|| " No copy of it is in the prefix.".to_string());
    Finding::new(Code::D010, format!("{} (needed by {needed_by}) is not found {words}.{elsewhere}", dll.name))
        .evidence("dll", &dll.name)
        .evidence("searched", &res.searched)
        .evidence("loader", python.loader)
        .fix(if on_disk.is_some() {
            STAGE_FIX.to_string()
        } else {
            "install the OpenSSL this Python was built against (`conda install --offline --force-reinstall openssl`), then run `condafix stage`".to_string()
        })
}

fn shadowed(dll: &DllReport, w: &Candidate, words: &str) -> Finding {
    Finding::new(
        Code::D020,
        format!(
            "{} is shadowed {words}: the loader takes {} ({}) before conda's copy, and its bytes differ from the {} record",
            dll.name,
            w.path,
            w.location,
            dll.recorded.as_ref().map(|r| r.package.as_str()).unwrap_or("openssl")
        ),
    )
    .path(w.path.clone())
    .evidence("dll", &dll.name)
    .evidence("winner", w)
    .evidence("expected_sha256", dll.recorded.as_ref().and_then(|r| r.sha256))
    .fix(match w.location {
        Location::ModuleDir | Location::ExeDir => "let `condafix stage` replace this copy with the verified one (it keeps a backup and can undo)".to_string(),
        Location::System32 | Location::System | Location::WindowsDir => format!(
            "another program put {} into the Windows folder; `condafix stage` places conda's copy in DLLs\\, which is searched first",
            dll.name
        ),
        _ => format!(
            "a folder on PATH holds another {}; `condafix stage` places conda's copy in DLLs\\, which is searched before PATH",
            dll.name
        ),
    })
}

fn wrong_machine(dll: &DllReport, w: &Candidate, python: &PythonInfo, words: &str) -> Finding {
    Finding::new(
        Code::D040,
        format!(
            "{} found {words} at {} is built for {}, but this Python is {}",
            dll.name,
            w.path,
            w.machine.map(|m| m.label()).unwrap_or_default(),
            python
                .machine
                .map(|m| m.label())
                .unwrap_or_else(|| "unknown".into())
        ),
    )
    .path(w.path.clone())
    .evidence("dll", &dll.name)
    .evidence("winner", w)
    .fix("let `condafix stage` replace it with conda's verified copy")
}

fn damaged(dll: &DllReport, code: Code, w: Option<&Candidate>, words: &str) -> Finding {
    let (path, problem) = w
        .map(|w| {
            (
                w.path.clone(),
                w.problem
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    Finding::new(
        code,
        format!(
            "{} found {words} at {path} cannot be loaded: {problem}",
            dll.name
        ),
    )
    .path(path)
    .evidence("dll", &dll.name)
    .evidence("winner", w)
    .fix("let `condafix stage` replace it with conda's verified copy")
}

/// D021-D023: an OpenSSL-looking copy in `DLLs\` or the prefix root no conda record owns.
fn loose_copy_finding(copy: &LooseCopy, python: &PythonInfo) -> Finding {
    let rel = copy.rel.replace('/', "\\");
    if copy.owned_by_condafix
        && copy.needed
        && copy.matches_record == Some(true)
        && copy.machine == python.machine
    {
        return Finding::new(Code::D023, format!("{rel} is condafix's verified copy of conda's DLL (recorded in .condafix\\receipt.json; `condafix undo` removes it)"))
            .path(copy.path.clone())
            .evidence("sha256", copy.sha256);
    }
    let (code, message) = if let Some(
        problem @ (PeProblem::Link | PeProblem::TooLarge { .. } | PeProblem::ImportByPath { .. }),
    ) = &copy.problem
    {
        (
            Code::D021,
            format!("{rel} is named like an OpenSSL DLL but {problem}: condafix does not read, back up or replace it"),
        )
    } else if copy.owned_by_condafix {
        (
            Code::D021,
            format!(
                "{rel} was staged by condafix but {}; `condafix stage` refreshes it",
                if copy.needed {
                    "no longer matches the openssl record (openssl was updated)"
                } else {
                    "no module needs it any more"
                }
            ),
        )
    } else if !copy.needed {
        (Code::D021, format!("{rel} is a leftover copy no module imports any more (a manual fix from before an openssl update); conda does not track it"))
    } else if copy.machine.is_some() && copy.machine != python.machine {
        (
            Code::D021,
            format!("{rel} is an untracked copy built for another CPU"),
        )
    } else if copy.matches_record == Some(false) {
        (Code::D021, format!("{rel} is an untracked copy whose bytes differ from the openssl record (stale since an update, or from another build)"))
    } else {
        (Code::D022, format!("{rel} is an untracked copy of conda's DLL: it works today but will go stale at the next openssl update, and conda cannot see it"))
    };
    Finding::new(code, message)
        .path(copy.path.clone())
        .evidence("sha256", copy.sha256)
        .evidence("recorded", &copy.record)
        .evidence("machine", copy.machine)
        .fix(if copy.owned_by_condafix {
            "run `condafix stage`: it replaces or removes the copies it owns"
        } else if copy.needed {
            "let `condafix stage` take it over: it backs up this copy, puts the verified one in its place and records it so updates refresh it"
        } else {
            "remove it, or let `condafix stage --replace-foreign` back it up and remove it"
        })
}

/// D060, D061: why a prefix with nothing wrong loads its DLLs.
fn healthy_finding(report: &PrefixReport, python: &PythonInfo) -> Option<Finding> {
    if report.dlls.is_empty() {
        return None;
    }
    let via_path = report.dlls.iter().any(|d| {
        d.unactivated
            .winner()
            .is_some_and(|w| w.location == Location::Path)
    });
    if via_path {
        return Some(
            Finding::new(Code::D061, "works without activation only because the prefix's folders are on PATH; a launch with another PATH (a service, `cmd /D` in CI, an IDE) would fail")
                .path(report.prefix.clone())
                .evidence("loader", python.loader)
                .fix("`condafix stage` makes it independent of PATH"),
        );
    }
    python.loader.finds_library_bin_by_itself().then(|| {
        Finding::new(
            Code::D060,
            format!(
                "the OpenSSL DLLs load: this build finds Library\\bin by itself ({})",
                python.loader.describe()
            ),
        )
        .path(report.prefix.clone())
        .evidence("loader", python.loader)
        .evidence("loader_reason", &python.loader_reason)
    })
}

fn contexts_words(contexts: &[LaunchContext]) -> &'static str {
    match contexts {
        [LaunchContext::Unactivated] => "when Python runs without activation",
        [LaunchContext::Activated] => "in an activated shell",
        _ => "with or without activation",
    }
}
