//! The result model: one `Report`, rendered as JSON (`--json`, versioned) and as a human report
//! by the binary.

use condafix_prefix::{Layout, Machine, PeProblem, Sha256};
use serde::Serialize;

use crate::{
    display_path, CondaDirsBase, EnableRule, EnvValue, Era, Finding, LaunchContext, LoaderClass,
    Location, SearchContext, Severity,
};

/// Bumped whenever a field changes meaning or disappears (adding fields does not bump it).
pub const SCHEMA_VERSION: u32 = 2;

/// Which build of condafix made a document: its commit, the date of that commit, its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Build {
    pub commit: String,
    pub date: String,
    pub target: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub schema_version: u32,
    pub condafix_version: &'static str,
    /// The build of condafix (set by the condafix program; absent when the library is used
    /// on its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// The machine the document is about (set by the condafix program, like `build`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// When it was made: RFC 3339, UTC (set by the condafix program, like `build`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    pub search: SearchInputs,
    /// Machine-wide configuration and findings (user and global config files, environment
    /// variables, stale discovery entries).
    pub machine: crate::tls::MachineConfig,
    pub prefixes: Vec<PrefixReport>,
    /// With `--all-users` (or run as SYSTEM): every user whose installs were looked for, how
    /// their settings were reached, and their own config findings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserReport>,
    /// What this run found and put right on the way, or could not (a user's hive copy an
    /// earlier, killed run left loaded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub summary: Summary,
}

/// One user's part of an all-users run.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct UserReport {
    #[serde(flatten)]
    pub profile: crate::users::Profile,
    #[serde(flatten)]
    pub access: crate::users::HiveAccess,
    /// Their pip and conda config files, their environment variables, and the findings about
    /// them.
    pub config: crate::tls::MachineConfig,
    /// What else is true of this user's settings in this run (a redirected folder that cannot
    /// be reached, a hive copy that could not be unloaded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What the loader model was given about the machine.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SearchInputs {
    pub system_root: Option<String>,
    pub path: Vec<String>,
    /// `CONDA_DLL_SEARCH_MODIFICATION_ENABLE` as a new process gets it.
    pub dll_search_modification: Option<EnvValue>,
    /// Where `path` was read from, as stored.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub path_sources: Vec<crate::PathSource>,
}

#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Summary {
    pub prefixes: usize,
    pub healthy: usize,
    pub needs_fix: usize,
    pub errors: usize,
    pub warnings: usize,
}

impl Summary {
    /// The counts of a report: prefixes healthy or not, and errors and warnings everywhere (the
    /// machine's, every user's, every prefix's).
    pub fn of(report: &Report) -> Self {
        let findings = || {
            report
                .prefixes
                .iter()
                .flat_map(|p| &p.findings)
                .chain(&report.machine.findings)
                .chain(report.users.iter().flat_map(|u| &u.config.findings))
        };
        let count = |s: Severity| findings().filter(|f| f.severity == s).count();
        Summary {
            prefixes: report.prefixes.len(),
            healthy: report.prefixes.iter().filter(|p| p.healthy).count(),
            needs_fix: report.prefixes.iter().filter(|p| !p.healthy).count(),
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
        }
    }
}

impl Report {
    pub fn new(
        ctx: &SearchContext,
        machine: crate::tls::MachineConfig,
        prefixes: Vec<PrefixReport>,
    ) -> Self {
        let mut report = Self {
            schema_version: SCHEMA_VERSION,
            condafix_version: env!("CARGO_PKG_VERSION"),
            build: None,
            host: None,
            time: None,
            search: SearchInputs {
                system_root: ctx.system_root.as_deref().map(display_path),
                path: ctx.path.iter().map(|p| display_path(p)).collect(),
                dll_search_modification: ctx.dll_search_modification.clone(),
                path_sources: ctx.path_sources.clone(),
            },
            machine,
            prefixes,
            users: Vec::new(),
            notes: Vec::new(),
            summary: Summary::default(),
        };
        report.summary = Summary::of(&report);
        report
    }

    /// No prefix and no machine-wide setting has a finding that `fail_on` counts. With no
    /// prefix at all, there is nothing to fix.
    pub fn compliant(&self, fail_on: crate::FailOn) -> bool {
        self.failing(fail_on).is_empty()
    }

    /// The findings `fail_on` counts, with the prefix they are about (`None`: machine-wide).
    pub fn failing(&self, fail_on: crate::FailOn) -> Vec<(Option<&str>, &Finding)> {
        let machine = self
            .machine
            .findings
            .iter()
            .filter(|_| !self.prefixes.is_empty())
            .map(|f| (None, f));
        let users = self.users.iter().flat_map(|u| {
            u.config
                .findings
                .iter()
                .map(move |f| (Some(u.profile.dir.as_str()), f))
        });
        let prefixes = self
            .prefixes
            .iter()
            .flat_map(|p| p.findings.iter().map(move |f| (Some(p.prefix.as_str()), f)));
        machine
            .chain(users)
            .chain(prefixes)
            .filter(|(_, f)| fail_on.fails(f.severity))
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PrefixReport {
    pub prefix: String,
    pub layout: Layout,
    pub kind: crate::PrefixKind,
    /// "Just Me" (`.nonadmin`) or "All Users".
    pub scope: crate::Scope,
    /// The base install of an env, when known.
    pub base: Option<String>,
    /// How the prefix was found, most trusted first.
    pub found_by: Vec<crate::Origin>,
    pub python: Option<PythonInfo>,
    pub openssl: Option<PackageInfo>,
    pub modules: Vec<ModuleReport>,
    pub dlls: Vec<DllReport>,
    pub prediction: Prediction,
    pub findings: Vec<Finding>,
    /// No error or warning.
    pub healthy: bool,
    /// The TLS configuration that applies to this prefix.
    pub tls: Option<crate::tls::TlsReport>,
    /// OpenSSL-looking DLLs in `DLLs\` and the prefix root that no conda record owns.
    pub loose_copies: Vec<crate::LooseCopy>,
    /// Paths in the prefix's records that leave the prefix: refused, never read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused_paths: Vec<String>,
    /// With `--all-users`: the user whose discovery found it (an install under their profile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl PrefixReport {
    /// No finding that `fail_on` counts.
    pub fn compliant(&self, fail_on: crate::FailOn) -> bool {
        !self.findings.iter().any(|f| fail_on.fails(f.severity))
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PythonInfo {
    pub version: String,
    pub build: String,
    pub channel: Option<String>,
    /// `YYYY-MM-DD`, from the record's timestamp (shown; never used to place the build).
    pub build_date: Option<String>,
    /// Where the version was read.
    pub source: PythonSource,
    /// How this build finds DLLs as launched on this machine.
    pub loader: LoaderClass,
    /// The evidence, in a sentence.
    pub loader_reason: String,
    /// The era conda's patch puts the build in (`None`: could not be placed).
    pub era: Option<Era>,
    /// What the era and the search order were decided from.
    pub evidence: LoaderEvidence,
    pub machine: Option<Machine>,
    /// For a venv: the base interpreter whose `DLLs\` and loader apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venv: Option<VenvInfo>,
}

/// Where a prefix's Python version was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum PythonSource {
    /// The python record in `conda-meta` (a venv's: its base's).
    #[serde(rename = "conda-meta")]
    CondaMeta,
    /// A venv's `pyvenv.cfg`.
    #[serde(rename = "pyvenv.cfg")]
    PyvenvCfg,
    /// The name of `python3X.dll` (no record).
    #[serde(rename = "pythonXY.dll")]
    PythonDll,
}

/// How the era was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EraSource {
    /// The markers in `python3X.dll`.
    Binary,
    /// The record's channel, version and build number (the DLL could not be read).
    Record,
    /// Neither.
    Nothing,
}

/// What the loader model was decided from.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LoaderEvidence {
    pub decided_by: EraSource,
    /// The `python3X.dll` read.
    pub dll: Option<String>,
    /// Why it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dll_problem: Option<PeProblem>,
    /// The markers of conda's patch found in it.
    pub markers: Vec<&'static str>,
    pub era_from_binary: Option<Era>,
    /// What the record's channel, version and build number say.
    pub era_from_record: Option<Era>,
    /// What `CONDA_DLL_SEARCH_MODIFICATION_ENABLE` does to this build.
    pub enable_rule: EnableRule,
    /// The variable as a new process gets it.
    pub enable_value: Option<EnvValue>,
    /// Whether it switches this build to conda's PATH mode.
    pub enable_switches_on: bool,
    /// Where a default-mode build computes the five conda folders from.
    pub conda_dirs_base: CondaDirsBase,
}

/// A venv and the interpreter it runs.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct VenvInfo {
    /// `pyvenv.cfg`'s `home =`: the base interpreter's folder.
    pub home: String,
    /// The folder of the venv's `python.exe` (`Scripts\`).
    pub exe_dir: String,
    /// Why `home` cannot be followed (missing, a link, no `python.exe` there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PackageInfo {
    pub name: String,
    pub version: String,
    pub build: String,
    pub channel: Option<String>,
    /// The files the record owns, prefix-relative.
    pub files: Vec<String>,
}

/// `_ssl.pyd` or `_hashlib.pyd`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ModuleReport {
    /// `_ssl.pyd` or `_hashlib.pyd`, whatever the file's tag.
    pub module: String,
    /// The file's name: the module name, or a tagged one (`_ssl.cp313t-win_amd64.pyd`).
    pub file: String,
    pub path: String,
    pub present: bool,
    pub machine: Option<Machine>,
    /// Every import, system DLLs included.
    pub imports: Vec<String>,
    pub problem: Option<PeProblem>,
}

/// One DLL in the closure of the SSL modules.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DllReport {
    pub name: String,
    /// The modules or DLLs that import it.
    pub needed_by: Vec<String>,
    /// The copy a conda record owns, with its recorded hash.
    pub recorded: Option<RecordedFile>,
    pub unactivated: Resolution,
    pub activated: Resolution,
}

impl DllReport {
    pub fn resolution(&self, ctx: LaunchContext) -> &Resolution {
        match ctx {
            LaunchContext::Unactivated => &self.unactivated,
            LaunchContext::Activated => &self.activated,
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RecordedFile {
    /// Prefix-relative, `/`-separated, as the record writes it.
    pub path: String,
    pub package: String,
    pub sha256: Option<Sha256>,
    pub size: Option<u64>,
    /// What is at that path now; `None` when the file is missing.
    pub on_disk: Option<OnDisk>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct OnDisk {
    pub size: u64,
    pub sha256: Option<Sha256>,
    pub matches_record: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<PeProblem>,
}

/// Every copy along the search order in one launch context; the first one wins.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Resolution {
    pub outcome: DllOutcome,
    /// The folders searched, in order.
    pub searched: Vec<String>,
    pub candidates: Vec<Candidate>,
}

impl Resolution {
    pub fn winner(&self) -> Option<&Candidate> {
        self.candidates.first()
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Candidate {
    pub path: String,
    pub location: Location,
    pub size: u64,
    pub sha256: Option<Sha256>,
    pub machine: Option<Machine>,
    pub status: CopyStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<PeProblem>,
}

/// How a copy compares with what conda recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CopyStatus {
    /// The recorded file itself, with the recorded bytes.
    Recorded,
    /// Another file with exactly the recorded bytes.
    SameBytes,
    /// A copy the python record itself lists (defaults 3.7.0 shipped OpenSSL in `DLLs\`):
    /// conda's, never foreign, never replaced.
    Vendored,
    /// A copy the python record lists, with other bytes than it recorded: the python install
    /// is damaged (reinstall python; condafix never replaces it).
    VendoredAltered,
    /// Bytes other than the recorded ones (another version or build, or altered).
    Differs,
    /// Nothing to compare with (no record).
    Unverifiable,
    /// Built for another CPU than the interpreter.
    WrongMachine,
    /// Not a usable PE image (LFS pointer, truncated, unreadable).
    Damaged,
}

/// What the loader gets for one DLL in one context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DllOutcome {
    Loads,
    /// Loads a copy whose bytes differ from the record: "The specified procedure could not be
    /// found", or silently another OpenSSL.
    ForeignCopy,
    /// "%1 is not a valid Win32 application".
    BadImage,
    /// "The specified module could not be found".
    NotFound,
}

/// The predicted result of `import ssl` per launch context.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Prediction {
    pub unactivated: ImportOutcome,
    pub activated: ImportOutcome,
}

/// The predicted result of `import ssl` in one launch context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ImportResult {
    /// Every DLL `_ssl.pyd` needs loads, with the recorded bytes.
    Ok,
    /// The import fails (a DLL is not found, is for another CPU, or `_ssl.pyd` is damaged).
    Fails,
    /// A copy other than the record's is loaded: it fails or loads another OpenSSL.
    AtRisk,
    /// Not a Windows prefix, or no Python: nothing to predict.
    NotApplicable,
}

impl ImportResult {
    /// The word used in JSON and logs.
    pub fn label(self) -> &'static str {
        match self {
            ImportResult::Ok => "ok",
            ImportResult::Fails => "fails",
            ImportResult::AtRisk => "at-risk",
            ImportResult::NotApplicable => "not-applicable",
        }
    }

    /// `import ssl` loads (or there is nothing that could fail).
    pub fn is_fine(self) -> bool {
        matches!(self, ImportResult::Ok | ImportResult::NotApplicable)
    }
}

impl std::fmt::Display for ImportResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ImportOutcome {
    pub result: ImportResult,
    /// What Python would print, when it fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ImportOutcome {
    pub fn not_applicable() -> Self {
        Self {
            result: ImportResult::NotApplicable,
            error: None,
        }
    }

    /// From the outcomes of the DLLs `_ssl.pyd` needs (worst first), with the words Python
    /// `3.minor` prints.
    pub fn from_dlls(worst: Option<(DllOutcome, &str)>, minor: u32) -> Self {
        match worst {
            None | Some((DllOutcome::Loads, _)) => Self {
                result: ImportResult::Ok,
                error: None,
            },
            Some((DllOutcome::NotFound, _)) => Self {
                result: ImportResult::Fails,
                error: Some(format!(
                    "{} The specified module could not be found.",
                    dll_load_failed(minor)
                )),
            },
            Some((DllOutcome::BadImage, _)) => Self {
                result: ImportResult::Fails,
                error: Some(format!(
                    "{} %1 is not a valid Win32 application.",
                    dll_load_failed(minor)
                )),
            },
            Some((DllOutcome::ForeignCopy, name)) => Self {
                result: ImportResult::AtRisk,
                error: Some(format!(
                    "loads a different {name}: either \"The specified procedure could not be found.\" or another OpenSSL than the record's"
                )),
            },
        }
    }

    pub fn module_missing() -> Self {
        Self {
            result: ImportResult::Fails,
            error: Some("ModuleNotFoundError: No module named '_ssl'".into()),
        }
    }
}

/// How `import ssl`'s DLL failure starts: 3.8 named the module, 3.7 and before did not.
pub fn dll_load_failed(minor: u32) -> &'static str {
    if minor >= 8 {
        "ImportError: DLL load failed while importing _ssl:"
    } else {
        "ImportError: DLL load failed:"
    }
}
