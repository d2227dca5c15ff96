//! discover + inspect + diagnose: from a prefix on disk to a [`Report`] with findings.
//!
//! Nothing here runs Python or touches the registry: the Windows system folder and PATH come in
//! through [`SearchContext`], so Linux tests hand in a fake `System32` and real Windows reads
//! its own at the edge.

// Library crates never print: the binary owns stdout and stderr (its Printer).
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod classify;
mod context;
mod diagnose;
pub mod discover;
mod error;
mod facts;
mod finding;
mod inspect;
mod loader;
pub mod locations;
mod model;
pub mod redact;
mod report;
mod system_dlls;
pub mod tls;
pub mod users;

pub use classify::{era_from_record, era_of, scan_markers, Channel, Era, Markers};
pub use condafix_prefix::registry;
#[cfg(windows)]
pub use condafix_prefix::SystemRegistry;
pub use context::{
    expand_env_strings, split_windows_path_list, EnvSource, EnvValue, HostInfo, MapEnv, PathOrigin,
    PathSource, ProcessEnv, SearchContext, ENV_DLL_SEARCH_MODIFICATION,
};
pub use diagnose::LooseCopy;
pub use error::Error;
pub use facts::Stats;
pub use finding::{Code, FailOn, Family, Finding, Remedy, Severity};
pub use inspect::inspect_prefix;
pub use loader::{
    CondaDirsBase, EnableRule, Interpreter, LaunchContext, LoaderClass, LoaderModel, Location,
};
pub use model::{date, display_path, Origin, PrefixKind, Scope};
pub use report::{
    dll_load_failed, Candidate, CopyStatus, DllOutcome, DllReport, EraSource, ImportOutcome,
    ImportResult, LoaderEvidence, ModuleReport, PackageInfo, Prediction, PrefixReport, PythonInfo,
    PythonSource, Report, Resolution, SearchInputs, Summary, VenvInfo, SCHEMA_VERSION,
};
pub use system_dlls::is_system_dll;

static NO_ENV: MapEnv = MapEnv(std::collections::BTreeMap::new());

/// Inspect and diagnose these prefixes with nothing from the machine but `ctx`: no home, no
/// environment, no registry (fixtures, benchmarks).
pub fn detect(prefixes: &[std::path::PathBuf], ctx: &SearchContext) -> Result<Report, Error> {
    detect_offline_measured(prefixes, ctx).map(|(report, _)| report)
}

/// [`detect`], and what it read (the benchmark's figures).
pub fn detect_offline_measured(
    prefixes: &[std::path::PathBuf],
    ctx: &SearchContext,
) -> Result<(Report, Stats), Error> {
    let no_registry = registry::FakeRegistry::empty();
    let host = HostInfo {
        env: &NO_ENV,
        registry: &no_registry,
        windows: true,
        unix_system_dirs: Vec::new(),
        etc_dir: std::path::PathBuf::new(),
    };
    detect_measured(&host, prefixes, ctx)
}

/// Discover (or take the `explicit` prefixes), read the machine's TLS configuration, and
/// inspect and diagnose every prefix.
pub fn detect_with(
    host: &HostInfo<'_>,
    explicit: &[std::path::PathBuf],
    ctx: &SearchContext,
) -> Result<Report, Error> {
    detect_measured(host, explicit, ctx).map(|(report, _)| report)
}

/// [`detect_with`], and what it read (files and bytes hashed and scanned, and the time it took):
/// the benchmark's figures.
pub fn detect_measured(
    host: &HostInfo<'_>,
    explicit: &[std::path::PathBuf],
    ctx: &SearchContext,
) -> Result<(Report, Stats), Error> {
    let discovery = discover::discover(host, explicit);
    let mut machine = tls::machine_config(host);
    machine
        .findings
        .splice(0..0, discovery.findings.iter().cloned());
    // One cache for every prefix: envs hardlink the same DLLs from the package cache.
    let mut disk = facts::Disk::default();
    let reports = discovery
        .prefixes
        .iter()
        .map(|d| {
            inspect::inspect(
                &d.path,
                ctx,
                Some(inspect::TlsContext {
                    host,
                    machine: &machine,
                    discovered: Some(d),
                }),
                &mut disk,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((Report::new(ctx, machine, reports), disk.stats))
}
