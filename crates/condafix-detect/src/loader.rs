//! The Windows DLL loader, as data: which build searches which folders, in which order
//! (docs/loader-model.md).

use std::path::{Path, PathBuf};

use condafix_prefix::{Layout, Version};
use serde::Serialize;

use crate::SearchContext;

/// How a Python build finds the DLLs its extension modules import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoaderClass {
    /// conda Python <= 3.6: `site.py` prepends `Library\bin` to PATH at start-up; the loader
    /// is the altered search path.
    SitePathPatch,
    /// `LOAD_WITH_ALTERED_SEARCH_PATH`: `DLLs\`, System32, System, Windows, CWD, PATH.
    /// `Library\bin` only through PATH (activation). conda 3.7, and 3.8/3.9 before the
    /// default-mode patch.
    AlteredSearchPath,
    /// conda's "default mode" patch: `DLLs\`, the exe folder, the five conda folders
    /// (`Library\bin` among them), System32. PATH is never searched.
    CondaDefaultMode,
    /// python.org / python-build-standalone 3.8+: `DLLs\`, exe folder, System32.
    Upstream,
    /// The build could not be placed; assumed to be the altered search path (the worst case).
    Unknown,
}

impl LoaderClass {
    /// Whether this build reaches `Library\bin` without anything on PATH.
    pub fn finds_library_bin_by_itself(self) -> bool {
        matches!(
            self,
            LoaderClass::CondaDefaultMode | LoaderClass::SitePathPatch
        )
    }

    pub fn describe(self) -> &'static str {
        match self {
            LoaderClass::SitePathPatch => {
                "conda <= 3.6: site.py puts Library\\bin on PATH at start-up"
            }
            LoaderClass::AlteredSearchPath => {
                "altered search path: Library\\bin is only found through PATH (activation)"
            }
            LoaderClass::CondaDefaultMode => {
                "conda default-mode patch: Library\\bin is searched without activation"
            }
            LoaderClass::Upstream => "upstream CPython: DLLs\\, the exe folder and System32 only",
            LoaderClass::Unknown => "unknown build: assumed to need Library\\bin on PATH",
        }
    }
}

/// Which build a conda Python record describes, and why we think so.
pub fn classify(
    version: &Version,
    build: &str,
    channel: Option<&str>,
    timestamp_secs: Option<u64>,
) -> (LoaderClass, String) {
    const OCT_2021: u64 = 1_633_046_400; // 2021-10-01
    const MAR_2022: u64 = 1_646_092_800; // 2022-03-01
    const NOV_2022: u64 = 1_667_260_800; // 2022-11-01
    let (maj, min) = version.major_minor();
    if maj != 3 {
        return (
            LoaderClass::Unknown,
            format!("Python {version} is not a Python 3 build"),
        );
    }
    if min <= 6 {
        return (
            LoaderClass::SitePathPatch,
            "conda Python <= 3.6 prepends Library\\bin to PATH in site.py".into(),
        );
    }
    if min == 7 {
        return (
            LoaderClass::AlteredSearchPath,
            "every conda Python 3.7 build loads extension DLLs with LOAD_WITH_ALTERED_SEARCH_PATH"
                .into(),
        );
    }
    let conda_forge =
        channel.is_some_and(|c| c.contains("conda-forge")) || build.ends_with("_cpython");
    let after = |t: u64| timestamp_secs.is_some_and(|ts| ts >= t);
    let default_mode = |why: String| (LoaderClass::CondaDefaultMode, why);
    let altered = |why: String| (LoaderClass::AlteredSearchPath, why);
    if conda_forge {
        if min >= 10 {
            return default_mode(
                "conda-forge Python >= 3.10 carries the default-mode DLL patch".into(),
            );
        }
        if min == 9 && version.at_least("3.9.9") {
            return default_mode(
                "conda-forge Python >= 3.9.9 carries the default-mode DLL patch".into(),
            );
        }
        if min == 9 && after(OCT_2021) {
            return default_mode("conda-forge Python 3.9 built after October 2021 carries the default-mode DLL patch".into());
        }
        if min == 8 && after(MAR_2022) {
            return default_mode(
                "conda-forge Python 3.8 built after March 2022 carries the default-mode DLL patch"
                    .into(),
            );
        }
        return altered(format!(
            "conda-forge Python {version} built {} predates the default-mode DLL patch",
            timestamp_secs
                .map(date)
                .unwrap_or_else(|| "at an unknown date".into())
        ));
    }
    if min >= 11 {
        return default_mode("defaults Python >= 3.11 carries the default-mode DLL patch".into());
    }
    if after(NOV_2022) {
        return default_mode(
            "defaults Python built after November 2022 carries the default-mode DLL patch".into(),
        );
    }
    let threshold = match min {
        8 => "3.8.15",
        9 => "3.9.15",
        _ => "3.10.8",
    };
    if version.at_least(threshold) {
        return default_mode(format!(
            "defaults Python >= {threshold} carries the default-mode DLL patch"
        ));
    }
    altered(format!(
        "defaults Python {version} (before {threshold}, November 2022) predates the default-mode DLL patch"
    ))
}

/// `YYYY-MM-DD` of a Unix time (UTC).
pub fn date(secs: u64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// How Python was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LaunchContext {
    /// An IDE, `Scripts\pip.exe`, a scheduled task, `cmd /D`, CI: PATH as the machine has it.
    Unactivated,
    /// After `conda activate`: the prefix's folders first on PATH.
    Activated,
}

/// What kind of folder a candidate was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Location {
    /// The folder of the `.pyd` (`DLLs\`), searched first in every mode.
    ModuleDir,
    /// The folder of `python.exe` (the prefix root).
    ExeDir,
    /// One of the five folders of conda's default-mode patch.
    CondaDllDir,
    /// `%SystemRoot%\System32`.
    System32,
    /// `%SystemRoot%\System`.
    System,
    /// `%SystemRoot%`.
    WindowsDir,
    /// The current directory.
    Cwd,
    /// `Library\bin` put on PATH by the site.py patch of conda <= 3.6.
    SitePatchPath,
    /// A PATH entry.
    Path,
}

impl std::fmt::Display for Location {
    /// Where the folder is, in words.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Location::ModuleDir => "beside _ssl.pyd in DLLs\\",
            Location::ExeDir => "in the prefix root",
            Location::CondaDllDir => "in a conda DLL folder",
            Location::System32 => "in System32",
            Location::System => "in the Windows System folder",
            Location::WindowsDir => "in the Windows folder",
            Location::Cwd => "in the current directory",
            Location::SitePatchPath => "in Library\\bin",
            Location::Path => "on PATH",
        })
    }
}

/// One folder the loader searches, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDir {
    pub dir: PathBuf,
    pub location: Location,
}

/// The folders searched for the imports of an extension module in `<prefix>\DLLs`, in order.
pub fn search_dirs(
    class: LoaderClass,
    launch: LaunchContext,
    prefix: &Path,
    layout: Layout,
    ctx: &SearchContext,
) -> Vec<SearchDir> {
    let mut out = Vec::new();
    let mut push = |dir: PathBuf, location: Location| out.push(SearchDir { dir, location });
    let module_dir = prefix.join("DLLs");
    let system32 = ctx.system_root.as_ref().map(|r| r.join("System32"));
    let system16 = ctx.system_root.as_ref().map(|r| r.join("System"));
    let path: Vec<PathBuf> = match launch {
        LaunchContext::Unactivated => ctx.path.clone(),
        LaunchContext::Activated => layout
            .activation_dirs(prefix)
            .into_iter()
            .chain(ctx.path.iter().cloned())
            .collect(),
    };
    let conda_dirs = layout.default_mode_dirs(prefix);
    let modified = ctx.dll_search_modification && class == LoaderClass::AlteredSearchPath;
    push(module_dir, Location::ModuleDir);
    match class {
        LoaderClass::CondaDefaultMode | LoaderClass::Upstream => {
            push(prefix.to_path_buf(), Location::ExeDir);
            if class == LoaderClass::CondaDefaultMode {
                for d in conda_dirs {
                    push(d, Location::CondaDllDir);
                }
            }
            if let Some(s) = system32 {
                push(s, Location::System32);
            }
        }
        _ if modified => {
            push(prefix.to_path_buf(), Location::ExeDir);
            if let Some(r) = &ctx.system_root {
                push(r.clone(), Location::WindowsDir);
            }
            if let Some(c) = &ctx.cwd {
                push(c.clone(), Location::Cwd);
            }
            for d in conda_dirs {
                push(d, Location::CondaDllDir);
            }
            for p in path {
                push(p, Location::Path);
            }
            if let Some(s) = system32 {
                push(s, Location::System32);
            }
        }
        LoaderClass::AlteredSearchPath | LoaderClass::SitePathPatch | LoaderClass::Unknown => {
            if let Some(s) = system32 {
                push(s, Location::System32);
            }
            if let Some(s) = system16 {
                push(s, Location::System);
            }
            if let Some(r) = &ctx.system_root {
                push(r.clone(), Location::WindowsDir);
            }
            if let Some(c) = &ctx.cwd {
                push(c.clone(), Location::Cwd);
            }
            if class == LoaderClass::SitePathPatch {
                push(prefix.join("Library").join("bin"), Location::SitePatchPath);
            }
            for p in path {
                push(p, Location::Path);
            }
        }
    }
    dedup_dirs(out)
}

/// Keep the first of folders that are the same (case-insensitively, trailing separators and
/// separator style ignored): the loader searches a folder once.
fn dedup_dirs(dirs: Vec<SearchDir>) -> Vec<SearchDir> {
    let mut seen = std::collections::HashSet::new();
    dirs.into_iter()
        .filter(|d| seen.insert(dir_key(&d.dir)))
        .collect()
}

pub(crate) fn dir_key(p: &Path) -> String {
    p.to_string_lossy()
        .replace('\\', "/")
        .trim_end_matches('/')
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s)
    }

    #[test]
    fn builds_are_placed_per_the_patch_history() {
        let c = |ver: &str, build: &str, ch: &str, ts: Option<u64>| {
            classify(&v(ver), build, Some(ch), ts).0
        };
        assert_eq!(
            c("3.7.4", "h5263a28_0", "pkgs/main", None),
            LoaderClass::AlteredSearchPath
        );
        assert_eq!(
            c("3.6.8", "h9f7ef89_7", "pkgs/main", None),
            LoaderClass::SitePathPatch
        );
        assert_eq!(
            c("3.8.13", "h6244533_0", "pkgs/main", Some(1_648_000_000)),
            LoaderClass::AlteredSearchPath
        );
        assert_eq!(
            c("3.8.15", "h6244533_0", "pkgs/main", None),
            LoaderClass::CondaDefaultMode
        );
        assert_eq!(
            c("3.12.7", "h14ffc60_0", "pkgs/main", None),
            LoaderClass::CondaDefaultMode
        );
        assert_eq!(
            c(
                "3.9.7",
                "h7840368_3_cpython",
                "conda-forge",
                Some(1_631_500_000)
            ),
            LoaderClass::AlteredSearchPath
        );
        assert_eq!(
            c("3.9.9", "h7840368_0_cpython", "conda-forge", None),
            LoaderClass::CondaDefaultMode
        );
        assert_eq!(
            c(
                "3.10.0",
                "h_cpython",
                "https://conda.anaconda.org/conda-forge/win-64",
                None
            ),
            LoaderClass::CondaDefaultMode
        );
        assert_eq!(
            c("3.8.12", "h_cpython", "conda-forge", Some(1_650_000_000)),
            LoaderClass::CondaDefaultMode
        );
        assert_eq!(
            c("3.9.13", "h6244533_2", "pkgs/main", Some(1_670_000_000)),
            LoaderClass::CondaDefaultMode
        );
    }

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_667_260_800), "2022-11-01");
    }

    #[test]
    fn system32_wins_over_path_in_altered_mode_but_default_mode_never_reads_path() {
        let ctx = SearchContext {
            system_root: Some(PathBuf::from("W")),
            path: vec![PathBuf::from("X")],
            cwd: None,
            dll_search_modification: false,
            path_sources: Vec::new(),
        };
        let p = Path::new("P");
        let altered = search_dirs(
            LoaderClass::AlteredSearchPath,
            LaunchContext::Activated,
            p,
            Layout::Windows,
            &ctx,
        );
        let kinds: Vec<Location> = altered.iter().map(|d| d.location).collect();
        assert_eq!(kinds[..2], [Location::ModuleDir, Location::System32]);
        assert!(altered
            .iter()
            .any(|d| d.dir == p.join("Library").join("bin")));
        assert!(altered.iter().any(|d| d.dir == Path::new("X")));
        let default = search_dirs(
            LoaderClass::CondaDefaultMode,
            LaunchContext::Unactivated,
            p,
            Layout::Windows,
            &ctx,
        );
        assert!(!default.iter().any(|d| d.location == Location::Path));
        assert_eq!(default.last().unwrap().location, Location::System32);
        let modified = SearchContext {
            dll_search_modification: true,
            ..ctx
        };
        let m = search_dirs(
            LoaderClass::AlteredSearchPath,
            LaunchContext::Unactivated,
            p,
            Layout::Windows,
            &modified,
        );
        assert_eq!(m.last().unwrap().location, Location::System32);
    }
}
