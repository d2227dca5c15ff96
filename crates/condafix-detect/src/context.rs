use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// Setting this (any value) in the environment switches the 3.8/3.9 conda builds of the
/// altered-search-path era to conda's modified DLL search order (DOMAIN.md section 2).
pub const ENV_DLL_SEARCH_MODIFICATION: &str = "CONDA_DLL_SEARCH_MODIFICATION_ENABLE";

/// Where environment variables come from: the process, or a map in tests.
pub trait EnvSource {
    fn var_os(&self, name: &str) -> Option<OsString>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var_os(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }
}

/// A fixed environment, for tests and for replaying a machine's settings.
#[derive(Debug, Clone, Default)]
pub struct MapEnv(pub BTreeMap<String, OsString>);

impl EnvSource for MapEnv {
    fn var_os(&self, name: &str) -> Option<OsString> {
        self.0.get(name).cloned()
    }
}

/// What the Windows loader sees outside the prefix.
#[derive(Debug, Clone, Default)]
pub struct SearchContext {
    /// `%SystemRoot%` (`C:\Windows`); `None` where there is none (a Linux host inspecting a
    /// tree with no fake one).
    pub system_root: Option<PathBuf>,
    /// The PATH an unactivated program gets: machine PATH then user PATH.
    pub path: Vec<PathBuf>,
    /// The current directory of the launch, when known.
    pub cwd: Option<PathBuf>,
    /// `CONDA_DLL_SEARCH_MODIFICATION_ENABLE` is set.
    pub dll_search_modification: bool,
}

impl SearchContext {
    /// Read `SystemRoot`, `PATH` and `CONDA_DLL_SEARCH_MODIFICATION_ENABLE` from `env`. On a
    /// host that is not Windows there is no Windows system folder and no Windows PATH, so both
    /// stay empty unless given explicitly.
    pub fn from_env(env: &dyn EnvSource, host_is_windows: bool) -> Self {
        let dll_search_modification = env
            .var_os(ENV_DLL_SEARCH_MODIFICATION)
            .is_some_and(|v| !v.is_empty());
        if !host_is_windows {
            return Self {
                dll_search_modification,
                ..Self::default()
            };
        }
        let system_root = env
            .var_os("SystemRoot")
            .or_else(|| env.var_os("windir"))
            .map(PathBuf::from)
            .or_else(|| Some(PathBuf::from("C:\\Windows")));
        let path = env
            .var_os("PATH")
            .or_else(|| env.var_os("Path"))
            .map(|p| split_windows_path_list(&p.to_string_lossy()))
            .unwrap_or_default();
        Self {
            system_root,
            path,
            cwd: None,
            dll_search_modification,
        }
    }
}

/// Split a Windows PATH value: `;`-separated, entries may be quoted, empty ones are skipped.
pub fn split_windows_path_list(value: &str) -> Vec<PathBuf> {
    value
        .split(';')
        .map(|e| e.trim().trim_matches('"').trim())
        .filter(|e| !e.is_empty())
        .map(PathBuf::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_path_lists_are_split_and_unquoted() {
        let v = split_windows_path_list(
            "C:\\Windows\\system32;;\"C:\\Program Files\\OpenSSL\\bin\";C:\\a\\",
        );
        assert_eq!(v.len(), 3);
        assert_eq!(v[1], PathBuf::from("C:\\Program Files\\OpenSSL\\bin"));
    }

    #[test]
    fn a_linux_host_has_no_windows_system_folder() {
        let mut env = MapEnv::default();
        env.0.insert("PATH".into(), "/usr/bin:/bin".into());
        let ctx = SearchContext::from_env(&env, false);
        assert!(ctx.system_root.is_none());
        assert!(ctx.path.is_empty());
        let ctx = SearchContext::from_env(&env, true);
        assert_eq!(ctx.system_root, Some(PathBuf::from("C:\\Windows")));
    }
}
