//! From an inspected prefix to findings. Pure: everything it needs is in the report.

use condafix_prefix::{join_rel, Layout, Machine, Sha256};

use crate::report::{CopyStatus, DllOutcome, PrefixReport, RecordedFile};
use crate::{Code, Finding, LaunchContext, LoaderClass, Location, Severity};

/// An OpenSSL-looking DLL in `DLLs\` or the prefix root that no conda record owns.
#[derive(Debug, Clone, serde::Serialize)]
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
    /// condafix's receipt says condafix put these bytes there.
    pub owned_by_condafix: bool,
}

const CONTEXTS: [LaunchContext; 2] = [LaunchContext::Unactivated, LaunchContext::Activated];

pub(crate) fn diagnose(report: &PrefixReport, copies: &[LooseCopy]) -> Vec<Finding> {
    let mut out = Vec::new();
    let prefix = &report.prefix;
    if report.layout != Layout::Windows {
        out.push(
            Finding::new(
                Code::D080,
                "this prefix has the Unix layout: the Windows DLL checks do not apply",
            )
            .path(prefix.clone()),
        );
        return out;
    }
    let Some(python) = &report.python else {
        out.push(
            Finding::new(
                Code::D081,
                "no Python is installed in this prefix: nothing to check",
            )
            .path(prefix.clone()),
        );
        return out;
    };
    let stage_fix = "place verified copies beside _ssl.pyd with `condafix stage` (it checks them against conda's record and can undo); until then, start Python from an activated Anaconda Prompt";

    let ssl = &report.modules[0];
    if !ssl.present {
        out.push(
            Finding::new(Code::D001, "DLLs\\_ssl.pyd is missing: Python was installed without its ssl module")
                .path(ssl.path.clone())
                .fix("reinstall Python from the package cache: `conda install --offline --force-reinstall python`"),
        );
    } else if let Some(problem) = &ssl.problem {
        out.push(
            Finding::new(Code::D002, format!("DLLs\\_ssl.pyd cannot be loaded: {problem}"))
                .path(ssl.path.clone())
                .evidence("problem", problem)
                .fix("reinstall Python from the package cache: `conda install --offline --force-reinstall python`"),
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
            .fix("reinstall Python from the package cache: `conda install --offline --force-reinstall python`"),
        );
    }
    if python.loader == LoaderClass::Unknown {
        out.push(
            Finding::new(Code::D070, format!("cannot tell how this Python build finds DLLs ({}); the prediction assumes the worst case", python.loader_reason))
                .path(prefix.clone())
                .fix("run `condafix verify` to see what the interpreter really does"),
        );
    }
    if report.openssl.is_none() && !report.dlls.is_empty() {
        out.push(
            Finding::new(Code::D050, "no openssl package is recorded in conda-meta: the OpenSSL DLLs cannot be checked against conda's hashes")
                .path(prefix.clone())
                .fix("reinstall openssl from the package cache: `conda install --offline --force-reinstall openssl`"),
        );
    }

    for dll in &report.dlls {
        let needed_by = dll.needed_by.join(", ");
        // The copy conda owns.
        if let Some(rec) = &dll.recorded {
            let rec_path = crate::display_path(&join_rel(std::path::Path::new(prefix), &rec.path));
            match &rec.on_disk {
                None => out.push(
                    Finding::new(Code::D031, format!("{} is recorded by {} but missing from the prefix", rec.path, rec.package))
                        .path(rec_path)
                        .evidence("dll", &dll.name)
                        .evidence("package", &rec.package)
                        .fix("reinstall openssl from the package cache: `conda install --offline --force-reinstall openssl`"),
                ),
                Some(disk) if disk.problem.is_some() || disk.matches_record == Some(false) => {
                    let why = match &disk.problem {
                        Some(p) => p.to_string(),
                        None => "its bytes are not the ones conda installed".to_string(),
                    };
                    out.push(
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
                Some(_) => {}
            }
        }
        // What the loader gets, per context; one finding per (problem, copy) lists its contexts.
        type Group = (Code, Option<String>, Vec<LaunchContext>);
        let mut grouped: Vec<Group> = Vec::new();
        for launch in CONTEXTS {
            let res = dll.resolution(launch);
            let winner = res.winner();
            let is_recorded_copy = |path: &str| {
                dll.recorded.as_ref().is_some_and(|r| {
                    path.replace('\\', "/")
                        .to_lowercase()
                        .ends_with(&r.path.to_lowercase())
                })
            };
            let code = match (res.outcome, winner) {
                (DllOutcome::Loads, _) => None,
                (DllOutcome::NotFound, _) => Some(Code::D010),
                (DllOutcome::ForeignCopy, Some(w)) if is_recorded_copy(&w.path) => None,
                (DllOutcome::ForeignCopy, _) => Some(Code::D020),
                (DllOutcome::BadImage, Some(w)) if w.status == CopyStatus::WrongMachine => {
                    Some(Code::D040)
                }
                (DllOutcome::BadImage, Some(w)) if is_recorded_copy(&w.path) => None,
                (DllOutcome::BadImage, _) => Some(Code::D041),
            };
            let Some(code) = code else { continue };
            let key = winner.map(|w| w.path.clone());
            match grouped.iter_mut().find(|(c, k, _)| *c == code && *k == key) {
                Some(g) => g.2.push(launch),
                None => grouped.push((code, key, vec![launch])),
            }
        }
        for (code, _, contexts) in grouped {
            let res = dll.resolution(contexts[0]);
            let ctx_words = contexts_words(&contexts);
            let finding = match code {
                Code::D010 => {
                    let elsewhere = dll
                        .recorded
                        .as_ref()
                        .filter(|r| r.on_disk.is_some())
                        .map(|r| {
                            format!(
                                " It is in {}, which this build only searches through PATH.",
                                r.path.replace('/', "\\")
                            )
                        })
                        .unwrap_or_else(|| " No copy of it is in the prefix.".to_string());
                    Finding::new(code, format!("{} (needed by {needed_by}) is not found {ctx_words}.{elsewhere}", dll.name))
                        .evidence("dll", &dll.name)
                        .evidence("searched", &res.searched)
                        .evidence("loader", python.loader)
                        .fix(if dll.recorded.as_ref().is_some_and(|r| r.on_disk.is_some()) {
                            stage_fix.to_string()
                        } else {
                            "install the OpenSSL this Python was built against (`conda install --offline --force-reinstall openssl`), then run `condafix stage`".to_string()
                        })
                }
                Code::D020 => {
                    let w = res.winner().expect("a foreign copy has a winner");
                    Finding::new(
                        code,
                        format!(
                            "{} is shadowed {ctx_words}: the loader takes {} ({}) before conda's copy, and its bytes differ from the {} record",
                            dll.name,
                            w.path,
                            location_words(w.location),
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
                Code::D040 => {
                    let w = res.winner().expect("winner");
                    Finding::new(
                        code,
                        format!(
                            "{} found {ctx_words} at {} is built for {}, but this Python is {}",
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
                _ => {
                    let w = res.winner().expect("winner");
                    Finding::new(
                        code,
                        format!(
                            "{} found {ctx_words} at {} cannot be loaded: {}",
                            dll.name,
                            w.path,
                            w.problem
                                .as_ref()
                                .map(|p| p.to_string())
                                .unwrap_or_default()
                        ),
                    )
                    .path(w.path.clone())
                    .evidence("dll", &dll.name)
                    .evidence("winner", w)
                    .fix("let `condafix stage` replace it with conda's verified copy")
                }
            };
            out.push(finding.contexts(contexts));
        }
    }

    for copy in copies {
        let rel = copy.rel.replace('/', "\\");
        if copy.owned_by_condafix
            && copy.needed
            && copy.matches_record == Some(true)
            && copy.machine == python.machine
        {
            out.push(
                Finding::new(Code::D023, format!("{rel} is condafix's verified copy of conda's DLL (recorded in .condafix\\receipt.json; `condafix undo` removes it)"))
                    .path(copy.path.clone())
                    .evidence("sha256", copy.sha256),
            );
            continue;
        }
        let (code, message) = if copy.owned_by_condafix {
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
            (Code::D021, format!("{} is a leftover copy no module imports any more (a manual fix from before an openssl update); conda does not track it", rel))
        } else if copy.machine.is_some() && copy.machine != python.machine {
            (
                Code::D021,
                format!("{} is an untracked copy built for another CPU", rel),
            )
        } else if copy.matches_record == Some(false) {
            (Code::D021, format!("{} is an untracked copy whose bytes differ from the openssl record (stale since an update, or from another build)", rel))
        } else {
            (Code::D022, format!("{} is an untracked copy of conda's DLL: it works today but will go stale at the next openssl update, and conda cannot see it", rel))
        };
        out.push(
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
                }),
        );
    }

    if !out.iter().any(|f| f.severity > Severity::Info) && !report.dlls.is_empty() {
        let via_path = report.dlls.iter().any(|d| {
            d.unactivated
                .winner()
                .is_some_and(|w| w.location == Location::Path)
        });
        if python.loader.finds_library_bin_by_itself() && !via_path {
            out.push(
                Finding::new(
                    Code::D060,
                    format!(
                        "the OpenSSL DLLs load: this build finds Library\\bin by itself ({})",
                        python.loader.describe()
                    ),
                )
                .path(prefix.clone())
                .evidence("loader", python.loader)
                .evidence("loader_reason", &python.loader_reason),
            );
        } else if via_path {
            out.push(
                Finding::new(Code::D061, "works without activation only because the prefix's folders are on PATH; a launch with another PATH (a service, `cmd /D` in CI, an IDE) would fail")
                    .path(prefix.clone())
                    .evidence("loader", python.loader)
                    .fix("`condafix stage` makes it independent of PATH"),
            );
        }
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(&b.code)));
    out
}

fn contexts_words(contexts: &[LaunchContext]) -> &'static str {
    match contexts {
        [LaunchContext::Unactivated] => "when Python runs without activation",
        [LaunchContext::Activated] => "in an activated shell",
        _ => "with or without activation",
    }
}

fn location_words(location: Location) -> &'static str {
    match location {
        Location::ModuleDir => "beside _ssl.pyd in DLLs\\",
        Location::ExeDir => "in the prefix root",
        Location::CondaDllDir => "in a conda DLL folder",
        Location::System32 => "in System32",
        Location::System => "in the Windows System folder",
        Location::WindowsDir => "in the Windows folder",
        Location::Cwd => "in the current directory",
        Location::SitePatchPath => "in Library\\bin",
        Location::Path => "on PATH",
    }
}
