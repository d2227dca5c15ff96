//! Read one prefix without running anything: records it needs, the SSL modules' DLL closure,
//! every copy along the loader's search order in both launch contexts.

mod closure;
mod copies;
mod interpreter;
mod modules;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use condafix_prefix::{
    is_conda_prefix, CondaMeta, Layout, Machine, PrefixRecord, Sha256, Version, NONADMIN_MARKER,
};

use crate::context::HostInfo;
use crate::diagnose::diagnose;
use crate::discover::{prefix_kind, Discovered};
use crate::facts::Disk;
use crate::loader::search_dirs;
use crate::model::{display_path, Origin, PrefixKind, Scope};
use crate::report::{DllOutcome, ImportOutcome, PackageInfo, Prediction, PrefixReport};
use crate::tls::{prefix_tls, MachineConfig, PrefixTlsInput};
use crate::{Error, LaunchContext, Location, SearchContext};

use interpreter as interp;

/// The machine-wide inputs of the TLS-configuration checks.
pub(crate) struct TlsContext<'a> {
    pub host: &'a HostInfo<'a>,
    pub machine: &'a MachineConfig,
    pub discovered: Option<&'a Discovered>,
}

/// The only records detection reads: a conda-meta folder of any size costs these few.
pub(crate) const RECORDS_READ: [&str; 6] = [
    "python",
    "openssl",
    "ca-certificates",
    "certifi",
    "pip",
    "conda",
];

/// Inspect and diagnose one prefix (the DLL side only).
pub fn inspect_prefix(prefix: &Path, ctx: &SearchContext) -> Result<PrefixReport, Error> {
    inspect(prefix, ctx, None, &mut Disk::default())
}

/// Inspect and diagnose one prefix; with `tls`, its TLS configuration too. `disk` is shared by
/// every prefix of a run (envs hardlink the same files).
pub(crate) fn inspect(
    prefix: &Path,
    ctx: &SearchContext,
    tls: Option<TlsContext<'_>>,
    disk: &mut Disk,
) -> Result<PrefixReport, Error> {
    let (mut report, meta) = inspect_dlls(prefix, ctx, disk)?;
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
        PrefixKind::Venv => report
            .python
            .as_ref()
            .and_then(|p| p.venv.as_ref())
            .map(|v| PathBuf::from(&v.home)),
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
            conda_version: meta.find("conda").map(|e| e.version.clone()).or_else(|| {
                base_path
                    .as_deref()
                    .filter(|b| *b != prefix)
                    .and_then(|b| disk.conda_version_of(b))
            }),
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
fn inspect_dlls(
    prefix: &Path,
    ctx: &SearchContext,
    disk: &mut Disk,
) -> Result<(PrefixReport, CondaMeta), Error> {
    if !prefix.exists() {
        return Err(Error::PrefixMissing {
            path: prefix.to_path_buf(),
        });
    }
    let is_venv = prefix.join("pyvenv.cfg").is_file();
    if !is_conda_prefix(prefix) && !is_venv {
        return Err(Error::NotAPrefix {
            path: prefix.to_path_buf(),
        });
    }
    let layout = Layout::detect(prefix);
    let meta = CondaMeta::scan_only(prefix, &RECORDS_READ)?;
    let kind = if is_venv && meta.find("python").is_none() {
        PrefixKind::Venv
    } else {
        prefix_kind(prefix)
    };
    let placed = interpreter::place(prefix, layout, &meta, ctx, disk)?;
    let home_meta = placed.as_ref().and_then(|p| p.home_meta.as_ref());
    let openssl = home_meta.unwrap_or(&meta).load("openssl")?;

    let mut report = empty_report(prefix, layout, kind, openssl.as_ref());
    let placed = match placed {
        Some(p) if layout == Layout::Windows && !p.broken_venv => p,
        other => {
            report.python = other.map(|p| p.info);
            report.findings = diagnose(&report, &[]);
            report.healthy = is_healthy(&report);
            return Ok((report, meta));
        }
    };
    let interp::Placed {
        mut info,
        model,
        interp,
        home_meta,
        header,
        ..
    } = placed;
    let home = interp.home.clone();
    report.modules = modules::module_reports(&home.join("DLLs"), disk);
    if info.machine.is_none() {
        info.machine = report.modules[0].machine;
    }
    let machine = info.machine;

    // Where conda put each DLL it owns, by lower-case file name.
    let (recorded, refused) = closure::recorded_dlls(openssl.as_ref());
    report.refused_paths = refused;
    // A 32-bit Python on 64-bit Windows gets SysWOW64 as its system folder.
    let wow64 = machine == Some(Machine::X86)
        && ctx
            .system_root
            .as_ref()
            .is_some_and(|r| r.join("SysWOW64").is_dir());
    // Activation puts a conda prefix's folders first on PATH; a venv's activate its Scripts\.
    let activation = match kind {
        PrefixKind::Venv => vec![interp.exe_dir.clone()],
        _ => layout.activation_dirs(prefix),
    };
    let dirs = [LaunchContext::Unactivated, LaunchContext::Activated].map(|launch| {
        search_dirs(
            info.loader,
            &model,
            &interp,
            launch,
            &activation,
            wow64,
            ctx,
        )
    });
    let mut python_files = PythonFiles::new(home_meta.as_ref().unwrap_or(&meta), header.is_some());
    report.dlls = closure::walk(
        &report.modules,
        &mut closure::Walk {
            home: &home,
            dirs: &dirs,
            recorded: &recorded,
            machine,
            python_files: &mut python_files,
        },
        disk,
    );

    report.prediction = predict(&report, model.minor);

    let copies = copies::loose_copies(&home, &report, &recorded, &mut python_files, disk);
    python_files.into_result()?;
    report.python = Some(info);
    report.findings = diagnose(&report, &copies);
    report.loose_copies = copies;
    report.healthy = is_healthy(&report);
    Ok((report, meta))
}

/// The report before anything is inspected: what the prefix is, and its openssl record.
/// The report of an install condafix could not read (a malformed, oversized or special file,
/// a refused input): D090, so that a run over many installs gives it a verdict and works the
/// others.
pub(crate) fn unreadable(
    prefix: &Path,
    err: &Error,
    discovered: Option<&Discovered>,
) -> PrefixReport {
    let mut r = empty_report(prefix, Layout::Windows, PrefixKind::Base, None);
    if let Some(d) = discovered {
        r.found_by = d.found_by.clone();
        r.scope = d.scope;
        r.base = d.base.clone();
    }
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    r.findings.push(
        crate::Finding::new(
            crate::Code::D090,
            format!("condafix could not read this install, so it is skipped: {chain}"),
        )
        .fix("look at the file named: repair or remove it, then run condafix again"),
    );
    r.healthy = false;
    r
}

fn empty_report(
    prefix: &Path,
    layout: Layout,
    kind: PrefixKind,
    openssl: Option<&PrefixRecord>,
) -> PrefixReport {
    PrefixReport {
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
        openssl: openssl.map(|r| PackageInfo {
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
        user: None,
    }
}

/// `import ssl` per context: `_ssl.pyd` and the DLLs it needs, transitively, in the words of
/// Python `3.minor`.
fn predict(report: &PrefixReport, minor: u32) -> Prediction {
    let ssl_module = &report.modules[0];
    let both = |o: fn() -> ImportOutcome| Prediction {
        unactivated: o(),
        activated: o(),
    };
    if !ssl_module.present {
        return both(ImportOutcome::module_missing);
    }
    if ssl_module.problem.is_some() {
        let bad = ImportOutcome::from_dlls(Some((DllOutcome::BadImage, "_ssl.pyd")), minor);
        return Prediction {
            unactivated: bad.clone(),
            activated: bad,
        };
    }
    let ssl_closure = closure::closure_of(&report.dlls, "_ssl.pyd");
    let outcome = |launch| {
        ImportOutcome::from_dlls(closure::worst(&report.dlls, &ssl_closure, launch), minor)
    };
    Prediction {
        unactivated: outcome(LaunchContext::Unactivated),
        activated: outcome(LaunchContext::Activated),
    }
}

fn is_healthy(report: &PrefixReport) -> bool {
    report
        .findings
        .iter()
        .all(|f| f.severity == crate::Severity::Info)
}

/// The files the python record lists, by lower-case prefix-relative path, with their hashes:
/// read only when a question needs them (the record is one of the largest).
pub(crate) struct PythonFiles {
    record: Option<PathBuf>,
    files: Option<BTreeMap<String, Option<Sha256>>>,
    error: Option<Error>,
}

impl PythonFiles {
    fn new(meta: &CondaMeta, has_header: bool) -> Self {
        Self {
            record: has_header
                .then(|| meta.find("python").map(|e| e.path.clone()))
                .flatten(),
            files: None,
            error: None,
        }
    }

    fn files(&mut self) -> &BTreeMap<String, Option<Sha256>> {
        if self.files.is_none() {
            let mut map = BTreeMap::new();
            if let Some(path) = &self.record {
                match PrefixRecord::from_path(path) {
                    Ok(rec) => {
                        for f in &rec.files {
                            map.insert(f.to_lowercase(), None);
                        }
                        for e in rec.paths_data.iter().flat_map(|p| &p.paths) {
                            map.insert(e.path.to_lowercase(), e.expected_sha256());
                        }
                    }
                    Err(e) => self.error = Some(e.into()),
                }
            }
            self.files = Some(map);
        }
        self.files.get_or_insert_with(BTreeMap::new)
    }

    /// The record lists `rel` (prefix-relative, `/`-separated).
    pub(crate) fn lists(&mut self, rel: &str) -> bool {
        self.files()
            .contains_key(&rel.replace('\\', "/").to_lowercase())
    }

    /// Whether the record lists the copy at `path`, found in `location` (`DLLs\\` or the root),
    /// and if so whether its bytes are the recorded ones (`true` when nothing was recorded).
    pub(crate) fn listed(
        &mut self,
        location: Location,
        path: &Path,
        sha256: Option<Sha256>,
    ) -> Option<bool> {
        let name = path.file_name()?.to_string_lossy().to_lowercase();
        let rel = match location {
            Location::ModuleDir => format!("dlls/{name}"),
            Location::ExeDir => name,
            _ => return None,
        };
        match self.files().get(&rel)? {
            None => Some(true),
            Some(expected) => Some(Some(*expected) == sha256),
        }
    }

    /// A record that could not be read is an error of the whole inspection.
    fn into_result(self) -> Result<(), Error> {
        self.error.map_or(Ok(()), Err)
    }
}
