//! discover + inspect + diagnose: from a prefix on disk to a [`Report`] with findings.
//!
//! Nothing here runs Python or touches the registry: the Windows system folder and PATH come in
//! through [`SearchContext`], so Linux tests hand in a fake `System32` and real Windows reads
//! its own at the edge.

mod context;
mod diagnose;
mod error;
mod facts;
mod finding;
mod inspect;
mod loader;
pub mod registry;
mod registry_windows;
mod report;
mod system_dlls;

pub use context::{
    expand_env_strings, split_windows_path_list, EnvSource, MapEnv, PathSource, ProcessEnv,
    SearchContext, ENV_DLL_SEARCH_MODIFICATION,
};
pub use error::Error;
pub use finding::{Code, Finding, Severity};
pub use inspect::inspect_prefix;
pub use loader::{LaunchContext, LoaderClass, Location};
#[cfg(windows)]
pub use registry_windows::SystemRegistry;
pub use report::{
    display_path, Candidate, CopyStatus, DllOutcome, DllReport, ModuleReport, PackageInfo,
    Prediction, PrefixKind, PrefixReport, PythonInfo, Report, Resolution, SearchInputs, Summary,
    SCHEMA_VERSION,
};
pub use system_dlls::is_system_dll;

/// Inspect and diagnose every prefix, in order.
pub fn detect(prefixes: &[std::path::PathBuf], ctx: &SearchContext) -> Result<Report, Error> {
    let reports = prefixes
        .iter()
        .map(|p| inspect_prefix(p, ctx))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Report::new(ctx, reports))
}
