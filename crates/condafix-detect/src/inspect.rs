//! Read one prefix without running anything: records it needs, the SSL modules' DLL closure,
//! every copy along the loader's search order in both launch contexts.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use condafix_prefix::guard::{no_links_below, RelPath};
use condafix_prefix::{
    is_conda_prefix, join_rel, CondaMeta, Layout, Machine, PrefixRecord, RecordHeader, Version,
    NONADMIN_MARKER,
};

use crate::context::HostInfo;
use crate::diagnose::{diagnose, LooseCopy};
use crate::discover::{prefix_kind, Discovered};
use crate::facts::Disk;
use crate::loader::{classify, date, dir_key, search_dirs};
use crate::model::{display_path, Origin, PrefixKind, Scope};
use crate::report::{
    Candidate, CopyStatus, DllOutcome, DllReport, ImportOutcome, ModuleReport, OnDisk, PackageInfo,
    Prediction, PrefixReport, PythonInfo, RecordedFile, Resolution,
};
use crate::tls::{prefix_tls, MachineConfig, PrefixTlsInput};
use crate::{is_system_dll, Error, LaunchContext, LoaderClass, SearchContext};

/// The extension modules whose imports decide whether `import ssl` (and `hashlib`'s OpenSSL
/// backend) load.
pub const SSL_MODULES: [&str; 2] = ["_ssl.pyd", "_hashlib.pyd"];

/// The machine-wide inputs of the TLS-configuration checks.
pub(crate) struct TlsContext<'a> {
    pub host: &'a HostInfo<'a>,
    pub machine: &'a MachineConfig,
    pub discovered: Option<&'a Discovered>,
}

/// Inspect and diagnose one prefix (the DLL side only).
pub fn inspect_prefix(prefix: &Path, ctx: &SearchContext) -> Result<PrefixReport, Error> {
    inspect(prefix, ctx, None)
}

/// Inspect and diagnose one prefix; with `tls`, its TLS configuration too.
pub(crate) fn inspect(
    prefix: &Path,
    ctx: &SearchContext,
    tls: Option<TlsContext<'_>>,
) -> Result<PrefixReport, Error> {
    let (mut report, meta) = inspect_dlls(prefix, ctx)?;
    let Some(t) = tls else {
        return Ok(report);
    };
    if let Some(d) = t.discovered {
        report.found_by = d.found_by.clone();
        report.scope = d.scope;
        report.base = d.base.clone();
    }
    let base_path = match report.kind {
        PrefixKind::Base => Some(prefix.to_path_buf()),
        PrefixKind::Env => report.base.as_ref().map(PathBuf::from),
    };
    let (tls_report, findings) = prefix_tls(
        t.host,
        t.machine,
        &PrefixTlsInput {
            prefix,
            layout: report.layout,
            meta: &meta,
            python: report.python.as_ref().map(|p| Version::parse(&p.version)),
            base: base_path.as_deref(),
        },
    );
    report.tls = Some(tls_report);
    report.findings.extend(findings);
    report
        .findings
        .sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(&b.code)));
    report.healthy = is_healthy(&report);
    Ok(report)
}

/// The DLL side, and the conda-meta index it read (the TLS side uses it too).
fn inspect_dlls(prefix: &Path, ctx: &SearchContext) -> Result<(PrefixReport, CondaMeta), Error> {
    if !prefix.exists() {
        return Err(Error::PrefixMissing {
            path: prefix.to_path_buf(),
        });
    }
    if !is_conda_prefix(prefix) && !prefix.join("pyvenv.cfg").is_file() {
        return Err(Error::NotAPrefix {
            path: prefix.to_path_buf(),
        });
    }
    let layout = Layout::detect(prefix);
    let meta = CondaMeta::scan(prefix)?;
    let kind = prefix_kind(prefix);
    let mut disk = Disk::default();
    let py_header = meta.load_header("python")?;
    let openssl = meta.load("openssl")?;
    let mut python = python_info(prefix, py_header.as_ref(), &mut disk);

    let mut report = PrefixReport {
        prefix: display_path(prefix),
        layout,
        kind,
        scope: if prefix.join(NONADMIN_MARKER).exists() {
            Scope::JustMe
        } else {
            Scope::Unknown
        },
        base: None,
        found_by: vec![Origin::Argument],
        python: None,
        openssl: openssl.as_ref().map(|r| PackageInfo {
            name: r.name.clone(),
            version: r.version.clone(),
            build: r.build.clone(),
            channel: r.channel.clone(),
            files: r.files.clone(),
        }),
        modules: Vec::new(),
        dlls: Vec::new(),
        prediction: Prediction {
            unactivated: ImportOutcome::not_applicable(),
            activated: ImportOutcome::not_applicable(),
        },
        findings: Vec::new(),
        healthy: true,
        tls: None,
        loose_copies: Vec::new(),
        refused_paths: Vec::new(),
    };
    if layout != Layout::Windows || python.is_none() {
        report.python = python;
        report.findings = diagnose(&report, &[]);
        report.healthy = is_healthy(&report);
        return Ok((report, meta));
    }

    // The SSL modules and their imports.
    for module in SSL_MODULES {
        let path = prefix.join("DLLs").join(module);
        let present = path.is_file();
        let (machine, imports, problem) = if present {
            let f = disk.facts(&path);
            match &f.pe {
                Ok(info) => (Some(info.machine), info.imports.clone(), None),
                Err(p) => (None, Vec::new(), Some(p.clone())),
            }
        } else {
            (None, Vec::new(), None)
        };
        report.modules.push(ModuleReport {
            module: module.to_string(),
            path: display_path(&path),
            present,
            machine,
            imports,
            problem,
        });
    }
    let py_machine = report.modules[0].machine.or_else(|| {
        disk.facts(&prefix.join("python.exe"))
            .pe
            .as_ref()
            .ok()
            .map(|i| i.machine)
    });
    if let Some(p) = python.as_mut() {
        p.machine = py_machine;
    }
    let class = python
        .as_ref()
        .map(|p| p.loader)
        .unwrap_or(LoaderClass::Unknown);

    // Where conda put each DLL it owns, by lower-case file name.
    let (recorded, refused) = recorded_dlls(openssl.as_ref());
    report.refused_paths = refused;
    let dirs = [LaunchContext::Unactivated, LaunchContext::Activated]
        .map(|launch| search_dirs(class, launch, prefix, layout, ctx));

    // The closure: imports of the modules, then of each DLL found (libssl pulls libcrypto).
    let mut needed: Vec<DllReport> = Vec::new();
    let mut queue: VecDeque<(String, String)> = VecDeque::new();
    for m in &report.modules {
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
        let mut rec = recorded.get(&name.to_lowercase()).cloned();
        let rec_path = rec.as_ref().map(|r| join_rel(prefix, &r.path));
        if let (Some(r), Some(p)) = (rec.as_mut(), rec_path.as_ref()) {
            let present = fs_err::symlink_metadata(p).is_ok_and(|m| !m.is_dir());
            // A link on the way to conda's copy (Library\bin itself a junction) is not read.
            let linked = RelPath::parse(&r.path)
                .map(|rel| no_links_below(prefix, &rel).is_err())
                .unwrap_or(true);
            r.on_disk = present.then(|| {
                if linked {
                    return OnDisk {
                        size: 0,
                        sha256: None,
                        matches_record: None,
                        problem: Some(condafix_prefix::PeProblem::Link),
                    };
                }
                let f = disk.facts(p);
                OnDisk {
                    size: f.size,
                    sha256: f.sha256,
                    matches_record: r.sha256.zip(f.sha256).map(|(e, a)| e == a),
                    problem: f.pe.as_ref().err().cloned(),
                }
            });
        }
        let [unactivated, activated] = [&dirs[0], &dirs[1]].map(|d| {
            resolve(
                &name,
                d,
                rec.as_ref(),
                rec_path.as_deref(),
                py_machine,
                &mut disk,
            )
        });
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
    report.dlls = needed;

    // `import ssl` per context: `_ssl.pyd` and the DLLs it needs, transitively.
    let ssl_closure = closure_of(&report.dlls, "_ssl.pyd");
    let ssl_module = &report.modules[0];
    report.prediction = if !ssl_module.present {
        Prediction {
            unactivated: ImportOutcome::module_missing(),
            activated: ImportOutcome::module_missing(),
        }
    } else if ssl_module.problem.is_some() {
        Prediction {
            unactivated: ImportOutcome::from_dlls(Some((DllOutcome::BadImage, "_ssl.pyd"))),
            activated: ImportOutcome::from_dlls(Some((DllOutcome::BadImage, "_ssl.pyd"))),
        }
    } else {
        let worst = |launch: LaunchContext| {
            report
                .dlls
                .iter()
                .filter(|d| ssl_closure.contains(&d.name.to_lowercase()))
                .map(|d| (d.resolution(launch).outcome, d.name.as_str()))
                .max_by_key(|(o, _)| *o)
        };
        Prediction {
            unactivated: ImportOutcome::from_dlls(worst(LaunchContext::Unactivated)),
            activated: ImportOutcome::from_dlls(worst(LaunchContext::Activated)),
        }
    };

    let copies = loose_copies(
        prefix,
        &report,
        &recorded,
        &meta,
        py_header.as_ref(),
        &mut disk,
    )?;
    report.python = python;
    report.findings = diagnose(&report, &copies);
    report.loose_copies = copies;
    report.healthy = is_healthy(&report);
    Ok((report, meta))
}

fn is_healthy(report: &PrefixReport) -> bool {
    report
        .findings
        .iter()
        .all(|f| f.severity == crate::Severity::Info)
}

fn python_info(
    prefix: &Path,
    header: Option<&RecordHeader>,
    disk: &mut Disk,
) -> Option<PythonInfo> {
    if let Some(h) = header {
        let version = Version::parse(&h.version);
        let (loader, loader_reason) =
            classify(&version, &h.build, h.channel.as_deref(), h.timestamp_secs());
        return Some(PythonInfo {
            version: h.version.clone(),
            build: h.build.clone(),
            channel: h.channel.clone(),
            build_date: h.timestamp_secs().map(date),
            source: "conda-meta",
            loader,
            loader_reason,
            machine: None,
        });
    }
    // A venv: its pyvenv.cfg names the version.
    if let Ok(cfg) = condafix_prefix::safe_read::read(
        &prefix.join("pyvenv.cfg"),
        condafix_prefix::safe_read::MAX_CONFIG_BYTES,
    )
    .map(|b| String::from_utf8_lossy(&b).into_owned())
    {
        let version = cfg.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            matches!(k.trim(), "version" | "version_info").then(|| v.trim().to_string())
        });
        if let Some(v) = version {
            return Some(PythonInfo {
                version: v,
                build: String::new(),
                channel: None,
                build_date: None,
                source: "pyvenv.cfg",
                loader: LoaderClass::Upstream,
                loader_reason: "a venv: its interpreter's loader".into(),
                machine: None,
            });
        }
    }
    // No record: the version is in the name of pythonXY.dll.
    let mut names: Vec<String> = disk
        .listing(prefix)
        .keys()
        .filter(|n| {
            n.starts_with("python3") && n.ends_with(".dll") && n.len() > "python3.dll".len()
        })
        .cloned()
        .collect();
    names.sort();
    let name = names.pop()?;
    let minor = &name["python3".len()..name.len() - ".dll".len()];
    let version = Version::parse(&format!("3.{minor}"));
    let (loader, loader_reason) = match version.minor() {
        0..=6 => classify(&version, "", None, None),
        7 => classify(&version, "", None, None),
        _ => (
            LoaderClass::Unknown,
            format!("no conda-meta record for python; {name} alone does not tell the build"),
        ),
    };
    Some(PythonInfo {
        version: version.to_string(),
        build: String::new(),
        channel: None,
        build_date: None,
        source: "pythonXY.dll",
        loader,
        loader_reason,
        machine: None,
    })
}

/// The DLLs the openssl record owns, by lower-case file name; `Library/bin` wins over other
/// folders when a name appears twice.
/// Paths a record lists that the guard refuses: reported, never read.
type Refused = Vec<String>;

fn recorded_dlls(openssl: Option<&PrefixRecord>) -> (BTreeMap<String, RecordedFile>, Refused) {
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

fn resolve(
    name: &str,
    dirs: &[crate::loader::SearchDir],
    recorded: Option<&RecordedFile>,
    recorded_path: Option<&Path>,
    py_machine: Option<Machine>,
    disk: &mut Disk,
) -> Resolution {
    let mut candidates = Vec::new();
    for d in dirs {
        let Some(path) = disk.find(&d.dir, name) else {
            continue;
        };
        let facts = disk.facts(&path).clone();
        let is_recorded_file = recorded_path.is_some_and(|r| dir_key(r) == dir_key(&path));
        let (status, machine, problem) = match &facts.pe {
            Err(p) => (CopyStatus::Damaged, None, Some(p.clone())),
            Ok(info) if py_machine.is_some_and(|m| m != info.machine) => {
                (CopyStatus::WrongMachine, Some(info.machine), None)
            }
            Ok(info) => {
                let status = match (recorded.and_then(|r| r.sha256), facts.sha256) {
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
        Some(CopyStatus::Recorded | CopyStatus::SameBytes | CopyStatus::Unverifiable) => {
            DllOutcome::Loads
        }
        Some(CopyStatus::Differs) => DllOutcome::ForeignCopy,
        Some(CopyStatus::WrongMachine | CopyStatus::Damaged) => DllOutcome::BadImage,
    };
    Resolution {
        outcome,
        searched: dirs.iter().map(|d| display_path(&d.dir)).collect(),
        candidates,
    }
}

/// Lower-case names of the DLLs `root` needs, directly or through other DLLs.
fn closure_of(dlls: &[DllReport], root: &str) -> Vec<String> {
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

/// OpenSSL-looking DLLs in `DLLs\` and the prefix root that the openssl record does not own:
/// what manual fixes leave behind.
fn loose_copies(
    prefix: &Path,
    report: &PrefixReport,
    recorded: &BTreeMap<String, RecordedFile>,
    meta: &CondaMeta,
    py_header: Option<&RecordHeader>,
    disk: &mut Disk,
) -> Result<Vec<LooseCopy>, Error> {
    let is_openssl_name = |n: &str| {
        n.ends_with(".dll")
            && (n.starts_with("libssl")
                || n.starts_with("libcrypto")
                || n == "ssleay32.dll"
                || n == "libeay32.dll")
    };
    let mut found = Vec::new();
    for (rel_dir, dir) in [("DLLs", prefix.join("DLLs")), ("", prefix.to_path_buf())] {
        let mut names: Vec<(String, std::ffi::OsString)> = disk
            .listing(&dir)
            .iter()
            .filter(|(lower, _)| {
                is_openssl_name(lower)
                    || report
                        .dlls
                        .iter()
                        .any(|d| d.name.eq_ignore_ascii_case(lower))
            })
            .map(|(l, n)| (l.clone(), n.clone()))
            .collect();
        names.sort();
        for (lower, real) in names {
            let path = dir.join(&real);
            if !fs_err::symlink_metadata(&path).is_ok_and(|m| !m.is_dir()) {
                continue;
            }
            let rel = if rel_dir.is_empty() {
                real.to_string_lossy().into_owned()
            } else {
                format!("{rel_dir}/{}", real.to_string_lossy())
            };
            found.push((lower, rel, path));
        }
    }
    if found.is_empty() {
        return Ok(Vec::new());
    }
    // Only now is the python record's file list worth reading: a python build that ships its
    // own OpenSSL DLLs in DLLs\ owns them.
    let python_files: Vec<String> = match (py_header, meta.find("python")) {
        (Some(_), Some(entry)) => PrefixRecord::from_path(&entry.path)?.files,
        _ => Vec::new(),
    };
    let openssl_files: Vec<String> = report
        .openssl
        .as_ref()
        .map(|o| o.files.clone())
        .unwrap_or_default();
    let receipt = condafix_txn::Receipt::load(prefix).unwrap_or_default();
    let mut out = Vec::new();
    for (lower, rel, path) in found {
        let owned = python_files
            .iter()
            .chain(openssl_files.iter())
            .any(|f| f.eq_ignore_ascii_case(&rel));
        if owned {
            continue;
        }
        let facts = disk.facts(&path).clone();
        let needed = report
            .dlls
            .iter()
            .any(|d| d.name.eq_ignore_ascii_case(&lower));
        let record = recorded.get(&lower);
        let owned_by_condafix = receipt.owns(&rel, facts.sha256);
        out.push(LooseCopy {
            path: display_path(&path),
            rel,
            needed,
            sha256: facts.sha256,
            matches_record: match (record.and_then(|r| r.sha256), facts.sha256) {
                (Some(e), Some(a)) => Some(e == a),
                _ => None,
            },
            record: record.cloned(),
            machine: facts.pe.as_ref().ok().map(|i| i.machine),
            problem: facts.pe.as_ref().err().cloned(),
            owned_by_condafix,
        });
    }
    Ok(out)
}
