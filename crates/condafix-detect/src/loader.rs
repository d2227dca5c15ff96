//! The Windows DLL loader, as data: which build searches which folders, in which order
//! (docs/loader-model.md).

use std::path::{Path, PathBuf};

use condafix_prefix::{Layout, Machine};

use crate::classify::{Era, Markers};
use serde::Serialize;

use crate::SearchContext;

/// How a Python build, as launched on this machine, finds the DLLs its extension modules import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LoaderClass {
    /// `LOAD_WITH_ALTERED_SEARCH_PATH`: `DLLs\`, System32, System, Windows, CWD, PATH.
    /// `Library\bin` only through PATH (activation). Era A, and upstream 3.7.
    AlteredSearchPath,
    /// `CONDA_DLL_SEARCH_MODIFICATION_ENABLE` switched the patch to its PATH mode: every PATH
    /// entry, the five conda folders, the current and the Windows folder are added with
    /// `AddDllDirectory`.
    CondaPathMode,
    /// Era B, conda's "default mode" patch: `DLLs\`, the exe folder, the five conda folders
    /// (`Library\bin` among them), System32. PATH is never searched.
    CondaDefaultMode,
    /// Era C from 3.8 (python.org, python-build-standalone, conda builds without the patch):
    /// `DLLs\`, the exe folder, System32.
    Upstream,
    /// The build could not be placed; assumed to be the altered search path (the worst case).
    Unknown,
}

impl LoaderClass {
    /// Whether this build reaches `Library\bin` without anything on PATH.
    pub fn finds_library_bin_by_itself(self) -> bool {
        matches!(
            self,
            LoaderClass::CondaDefaultMode | LoaderClass::CondaPathMode
        )
    }

    pub fn describe(self) -> &'static str {
        match self {
            LoaderClass::AlteredSearchPath => {
                "altered search path: Library\\bin is only found through PATH (activation)"
            }
            LoaderClass::CondaPathMode => {
                "conda PATH mode, set by CONDA_DLL_SEARCH_MODIFICATION_ENABLE: PATH and the conda folders are searched"
            }
            LoaderClass::CondaDefaultMode => {
                "conda default mode: Library\\bin is searched without activation"
            }
            LoaderClass::Upstream => "upstream CPython: DLLs\\, the exe folder and System32 only",
            LoaderClass::Unknown => "unknown build: assumed to need Library\\bin on PATH",
        }
    }
}

/// What `CONDA_DLL_SEARCH_MODIFICATION_ENABLE` does to a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EnableRule {
    /// Era A: set to anything, PATH mode.
    AnyValue,
    /// Era B, 3.8-3.10: set to anything but `0`, PATH mode.
    AnythingButZero,
    /// Era B 3.11+, the 3.8.0 variant, upstream: the variable is not read.
    Ignored,
}

impl EnableRule {
    /// Whether the variable, with this value (`None`: not set), switches the build to PATH mode.
    pub fn switches_on(self, value: Option<&str>) -> bool {
        match (self, value) {
            (_, None) | (EnableRule::Ignored, _) => false,
            (EnableRule::AnyValue, Some(_)) => true,
            (EnableRule::AnythingButZero, Some(v)) => v.trim() != "0",
        }
    }
}

/// Where a default-mode build computes the five conda folders from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CondaDirsBase {
    /// `python3X.dll`'s folder (the prefix): right for venvs too.
    DllDir,
    /// The exe's folder (the first B builds): a venv's `Scripts\` in a venv.
    ExeDir,
}

/// Everything the search order depends on that comes from the interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoaderModel {
    /// `None` when neither the binary nor the record placed the build.
    pub era: Option<Era>,
    /// Python `3.minor` (0 when unknown).
    pub minor: u32,
    pub enable: EnableRule,
    pub conda_dirs_base: CondaDirsBase,
    /// The interpreter's CPU: decides System32 or SysWOW64, and which DLLs it can load.
    pub machine: Option<Machine>,
}

impl LoaderModel {
    /// The rule for the variable: A any value; B with the NEVER_CACHE marker (3.8-3.10)
    /// anything but `0`; otherwise ignored. Without markers (the record fallback), B 3.8-3.10
    /// by version.
    pub fn enable_rule(era: Option<Era>, minor: u32, markers: Option<&Markers>) -> EnableRule {
        match era {
            Some(Era::AlteredSearchPath) | None => EnableRule::AnyValue,
            Some(Era::DefaultMode) => {
                let old_b = match markers {
                    Some(m) => m.never_cache,
                    None => (8..=10).contains(&minor),
                };
                if old_b {
                    EnableRule::AnythingButZero
                } else {
                    EnableRule::Ignored
                }
            }
            Some(Era::DefaultModeVariant | Era::Upstream) => EnableRule::Ignored,
        }
    }

    /// How this build loads on this machine, given the variable's value.
    pub fn class(&self, enable_value: Option<&str>) -> LoaderClass {
        if self.enable.switches_on(enable_value) {
            return LoaderClass::CondaPathMode;
        }
        match self.era {
            None => LoaderClass::Unknown,
            Some(Era::AlteredSearchPath) => LoaderClass::AlteredSearchPath,
            Some(Era::DefaultMode | Era::DefaultModeVariant) => LoaderClass::CondaDefaultMode,
            Some(Era::Upstream) if self.minor <= 7 => LoaderClass::AlteredSearchPath,
            Some(Era::Upstream) => LoaderClass::Upstream,
        }
    }
}

/// The folders of an interpreter the search order names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// Where the interpreter's `DLLs\` and `python3X.dll` are (a venv's base).
    pub home: PathBuf,
    /// The folder of the `python.exe` that is started (a venv's `Scripts\`).
    pub exe_dir: PathBuf,
    pub layout: Layout,
}

/// How Python was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LaunchContext {
    /// An IDE, `Scripts\pip.exe`, a scheduled task, `cmd /D`, CI: PATH as the machine has it.
    Unactivated,
    /// After `conda activate`: the prefix's folders first on PATH.
    Activated,
}

/// What kind of folder a candidate was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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
    /// `%SystemRoot%\SysWOW64`: the system folder of a 32-bit Python on 64-bit Windows.
    SysWow64,
    /// `%SystemRoot%\System`.
    System,
    /// `%SystemRoot%`.
    WindowsDir,
    /// The current directory.
    Cwd,
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
            Location::SysWow64 => "in SysWOW64",
            Location::System => "in the Windows System folder",
            Location::WindowsDir => "in the Windows folder",
            Location::Cwd => "in the current directory",
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

/// The folders searched for the imports of an extension module in the interpreter's `DLLs\`,
/// in order, for a build of `class`. `activation` is what `conda activate` puts first on PATH
/// (used in the activated launch); `wow64` says the interpreter is 32-bit on 64-bit Windows.
pub fn search_dirs(
    class: LoaderClass,
    model: &LoaderModel,
    interp: &Interpreter,
    launch: LaunchContext,
    activation: &[PathBuf],
    wow64: bool,
    ctx: &SearchContext,
) -> Vec<SearchDir> {
    let mut out = Vec::new();
    let mut push = |dir: PathBuf, location: Location| out.push(SearchDir { dir, location });
    let system = ctx.system_root.as_ref().map(|r| {
        if wow64 {
            (r.join("SysWOW64"), Location::SysWow64)
        } else {
            (r.join("System32"), Location::System32)
        }
    });
    let system16 = ctx.system_root.as_ref().map(|r| r.join("System"));
    let path: Vec<PathBuf> = match launch {
        LaunchContext::Unactivated => ctx.path.clone(),
        LaunchContext::Activated => activation.iter().chain(&ctx.path).cloned().collect(),
    };
    let conda_dirs = match model.conda_dirs_base {
        CondaDirsBase::DllDir => interp.layout.default_mode_dirs(&interp.home),
        CondaDirsBase::ExeDir => interp.layout.default_mode_dirs(&interp.exe_dir),
    };
    push(interp.home.join("DLLs"), Location::ModuleDir);
    match class {
        LoaderClass::CondaDefaultMode | LoaderClass::Upstream => {
            push(interp.home.clone(), Location::ExeDir);
            if class == LoaderClass::CondaDefaultMode {
                for d in conda_dirs {
                    push(d, Location::CondaDllDir);
                }
            }
            if let Some((dir, loc)) = system {
                push(dir, loc);
            }
        }
        LoaderClass::CondaPathMode => {
            push(interp.home.clone(), Location::ExeDir);
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
            if let Some((dir, loc)) = system {
                push(dir, loc);
            }
        }
        LoaderClass::AlteredSearchPath | LoaderClass::Unknown => {
            if let Some((dir, loc)) = system {
                push(dir, loc);
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
            for p in path {
                push(p, Location::Path);
            }
        }
    }
    if wow64 {
        // The file-system redirector: a 32-bit process that names System32 gets SysWOW64.
        if let Some(root) = &ctx.system_root {
            let system32 = root.join("System32");
            let key = dir_key(&system32);
            let depth = system32.components().count();
            for d in &mut out {
                let k = dir_key(&d.dir);
                if k == key || k.starts_with(&format!("{key}/")) {
                    let rest: PathBuf = d.dir.components().skip(depth).collect();
                    d.dir = root.join("SysWOW64").join(rest);
                }
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

    fn ctx() -> SearchContext {
        SearchContext {
            system_root: Some(PathBuf::from("W")),
            path: vec![PathBuf::from("X")],
            cwd: None,
            dll_search_modification: None,
            path_sources: Vec::new(),
        }
    }

    fn model(era: Option<Era>, minor: u32, never_cache: bool) -> LoaderModel {
        let markers = Markers {
            enable: true,
            mingw: true,
            never_cache,
            ..Markers::default()
        };
        LoaderModel {
            era,
            minor,
            enable: LoaderModel::enable_rule(era, minor, Some(&markers)),
            conda_dirs_base: CondaDirsBase::DllDir,
            machine: Some(Machine::X64),
        }
    }

    fn interp() -> Interpreter {
        Interpreter {
            home: PathBuf::from("P"),
            exe_dir: PathBuf::from("P"),
            layout: Layout::Windows,
        }
    }

    fn dirs(
        m: &LoaderModel,
        value: Option<&str>,
        launch: LaunchContext,
        wow64: bool,
    ) -> Vec<SearchDir> {
        let i = interp();
        let activation = Layout::Windows.activation_dirs(&i.home);
        search_dirs(m.class(value), m, &i, launch, &activation, wow64, &ctx())
    }

    #[test]
    fn the_variable_switches_each_era_per_its_rule() {
        let a = model(Some(Era::AlteredSearchPath), 9, true);
        let b_old = model(Some(Era::DefaultMode), 10, true);
        let b_new = model(Some(Era::DefaultMode), 11, false);
        let variant = model(Some(Era::DefaultModeVariant), 8, false);
        let upstream = model(Some(Era::Upstream), 12, false);
        assert_eq!(a.class(None), LoaderClass::AlteredSearchPath);
        assert_eq!(a.class(Some("0")), LoaderClass::CondaPathMode);
        assert_eq!(a.class(Some("")), LoaderClass::CondaPathMode);
        assert_eq!(b_old.class(None), LoaderClass::CondaDefaultMode);
        assert_eq!(b_old.class(Some("0")), LoaderClass::CondaDefaultMode);
        assert_eq!(b_old.class(Some("1")), LoaderClass::CondaPathMode);
        assert_eq!(b_new.class(Some("1")), LoaderClass::CondaDefaultMode);
        assert_eq!(variant.class(Some("1")), LoaderClass::CondaDefaultMode);
        assert_eq!(upstream.class(Some("1")), LoaderClass::Upstream);
        assert_eq!(
            model(Some(Era::Upstream), 7, false).class(None),
            LoaderClass::AlteredSearchPath
        );
        assert_eq!(model(None, 9, false).class(None), LoaderClass::Unknown);
        // Without the DLL's markers, B 3.8-3.10 goes by version.
        assert_eq!(
            LoaderModel::enable_rule(Some(Era::DefaultMode), 9, None),
            EnableRule::AnythingButZero
        );
        assert_eq!(
            LoaderModel::enable_rule(Some(Era::DefaultMode), 12, None),
            EnableRule::Ignored
        );
    }

    #[test]
    fn system32_wins_over_path_in_altered_mode_but_default_mode_never_reads_path() {
        let a = model(Some(Era::AlteredSearchPath), 9, true);
        let altered = dirs(&a, None, LaunchContext::Activated, false);
        let kinds: Vec<Location> = altered.iter().map(|d| d.location).collect();
        assert_eq!(kinds[..2], [Location::ModuleDir, Location::System32]);
        assert!(altered
            .iter()
            .any(|d| d.dir == Path::new("P").join("Library").join("bin")));
        assert!(altered.iter().any(|d| d.dir == Path::new("X")));
        let unactivated = dirs(&a, None, LaunchContext::Unactivated, false);
        assert!(!unactivated
            .iter()
            .any(|d| d.dir == Path::new("P").join("Library").join("bin")));
        let b = model(Some(Era::DefaultMode), 12, false);
        let default = dirs(&b, None, LaunchContext::Unactivated, false);
        assert!(!default.iter().any(|d| d.location == Location::Path));
        assert!(default
            .iter()
            .any(|d| d.dir == Path::new("P").join("Library").join("bin")));
        assert_eq!(default.last().unwrap().location, Location::System32);
        let m = dirs(&a, Some("1"), LaunchContext::Unactivated, false);
        assert_eq!(m.last().unwrap().location, Location::System32);
        assert!(m.iter().any(|d| d.location == Location::CondaDllDir));
        assert!(m.iter().any(|d| d.location == Location::Path));
    }

    #[test]
    fn a_32_bit_python_on_64_bit_windows_searches_syswow64() {
        let a = model(Some(Era::AlteredSearchPath), 9, true);
        let d = dirs(&a, None, LaunchContext::Unactivated, true);
        assert_eq!(d[1].location, Location::SysWow64);
        assert_eq!(d[1].dir, Path::new("W").join("SysWOW64"));
        assert!(!d.iter().any(|d| d.location == Location::System32));
    }

    #[test]
    fn an_early_default_mode_venv_looks_for_the_conda_folders_beside_its_own_exe() {
        let mut b = model(Some(Era::DefaultMode), 10, true);
        b.conda_dirs_base = CondaDirsBase::ExeDir;
        let i = Interpreter {
            home: PathBuf::from("P"),
            exe_dir: PathBuf::from("V").join("Scripts"),
            layout: Layout::Windows,
        };
        let d = search_dirs(
            b.class(None),
            &b,
            &i,
            LaunchContext::Unactivated,
            &[],
            false,
            &ctx(),
        );
        assert_eq!(d[0].dir, Path::new("P").join("DLLs"));
        assert!(!d
            .iter()
            .any(|d| d.dir == Path::new("P").join("Library").join("bin")));
        assert!(d
            .iter()
            .any(|d| d.dir == Path::new("V").join("Scripts").join("Library").join("bin")));
    }
}
