use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use crate::registry::{
    Hive, RegType, RegValue, Registry, MACHINE_ENVIRONMENT_KEY, USER_ENVIRONMENT_KEY,
};
use crate::tls::env::EnvOrigin;

/// Set in the environment, this switches conda's patched builds to their PATH mode: era A with
/// any value, era B 3.8-3.10 with anything but `0`; later builds ignore it
/// (docs/loader-model.md).
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
    /// Case-insensitive, like Windows' environment.
    fn var_os(&self, name: &str) -> Option<OsString> {
        self.0
            .get(name)
            .or_else(|| {
                self.0
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            })
            .cloned()
    }
}

/// What discovery reads: the environment, the registry, and where system-wide installs live.
pub struct HostInfo<'a> {
    pub env: &'a dyn EnvSource,
    pub registry: &'a dyn Registry,
    /// Windows known folders (`%USERPROFILE%\anaconda3`...) rather than Unix ones.
    pub windows: bool,
    /// Unix system-wide installs (`/opt/conda`...), checked on non-Windows hosts.
    pub unix_system_dirs: Vec<PathBuf>,
    /// `/etc` (pip's and conda's system-wide config on Unix).
    pub etc_dir: PathBuf,
}

impl<'a> HostInfo<'a> {
    pub fn new(env: &'a dyn EnvSource, registry: &'a dyn Registry, windows: bool) -> Self {
        Self {
            env,
            registry,
            windows,
            unix_system_dirs: [
                "/opt/conda",
                "/opt/anaconda3",
                "/opt/miniconda3",
                "/opt/miniforge3",
            ]
            .iter()
            .map(PathBuf::from)
            .collect(),
            etc_dir: PathBuf::from("/etc"),
        }
    }

    /// A variable of the host's environment as a path (unset and empty are the same).
    pub fn var(&self, name: &str) -> Option<PathBuf> {
        crate::locations::env_path(self.env, name)
    }

    /// The user's home (`%USERPROFILE%` on Windows, `$HOME` elsewhere).
    pub fn home(&self) -> Option<PathBuf> {
        crate::locations::home_dir(self.env, self.windows)
    }

    /// Where this host's pip and conda config files live.
    pub fn locations(&self) -> crate::locations::ConfigLocations {
        crate::locations::ConfigLocations::new(self.env, self.windows, &self.etc_dir)
    }
}

/// Where a PATH list came from, as read (a `REG_EXPAND_SZ` value keeps its `%VAR%` entries).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct PathSource {
    /// Shown as `HKLM\...\Environment\Path`, `HKCU\Environment\Path` or `--search-path`.
    pub source: PathOrigin,
    /// The registry type, for registry values (`REG_EXPAND_SZ`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_type: Option<RegType>,
    /// The value as stored.
    pub raw: String,
}

/// Where a PATH list was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathOrigin {
    /// The `Path` value of the user or machine environment.
    Registry(Hive),
    /// `--search-path`.
    Argument,
}

impl std::fmt::Display for PathOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathOrigin::Registry(hive) => {
                let key = match hive {
                    Hive::CurrentUser | Hive::Users => USER_ENVIRONMENT_KEY,
                    Hive::LocalMachine => MACHINE_ENVIRONMENT_KEY,
                };
                write!(f, "{}\\{key}\\Path", hive.short())
            }
            PathOrigin::Argument => f.write_str("--search-path"),
        }
    }
}

impl serde::Serialize for PathOrigin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl schemars::JsonSchema for PathOrigin {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PathOrigin".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "The registry value a PATH list was read from, or `--search-path`."
        })
    }
}

/// An environment variable's value and where it is set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct EnvValue {
    pub value: String,
    pub source: EnvOrigin,
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
    /// `CONDA_DLL_SEARCH_MODIFICATION_ENABLE` as the launch gets it, and where it is set.
    pub dll_search_modification: Option<EnvValue>,
    /// Where `path` was read from.
    pub path_sources: Vec<PathSource>,
}

impl SearchContext {
    /// Read `SystemRoot`, `PATH` and `CONDA_DLL_SEARCH_MODIFICATION_ENABLE` from `env`. On a
    /// host that is not Windows there is no Windows system folder and no Windows PATH, so both
    /// stay empty unless given explicitly.
    pub fn from_env(env: &dyn EnvSource, host_is_windows: bool) -> Self {
        let dll_search_modification = env.var_os(ENV_DLL_SEARCH_MODIFICATION).map(|v| EnvValue {
            value: v.to_string_lossy().into_owned(),
            source: EnvOrigin::Process,
        });
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
            path_sources: Vec::new(),
        }
    }

    /// The PATH a program started fresh (from Explorer, a scheduled task, an IDE) gets: the
    /// machine `Path` then the user `Path` from the registry, `%VAR%` entries expanded with
    /// `env`. This, not this process's PATH (which may be an activated shell's), is what the
    /// "unactivated" launch sees. Values of a non-string type are ignored.
    pub fn from_registry(
        env: &dyn EnvSource,
        registry: &dyn Registry,
    ) -> Result<Self, crate::registry::RegistryError> {
        let mut ctx = Self::from_env(env, true);
        ctx.path.clear();
        // A new process gets the user's value, else the machine's (not this process's).
        ctx.dll_search_modification =
            Self::dll_search_modification_for_new_processes(env, registry)?;
        for (hive, key) in [
            (Hive::LocalMachine, MACHINE_ENVIRONMENT_KEY),
            (Hive::CurrentUser, USER_ENVIRONMENT_KEY),
        ] {
            let Some(value) = registry.value(hive, key, "Path")? else {
                continue;
            };
            ctx.path_sources.push(PathSource {
                source: PathOrigin::Registry(hive),
                value_type: Some(value.reg_type()),
                raw: value.to_string(),
            });
            if let Some(text) = value.as_str() {
                let expanded = match value {
                    RegValue::ExpandSz(_) => expand_env_strings(text, env),
                    _ => text.to_string(),
                };
                ctx.path.extend(split_windows_path_list(&expanded));
            }
        }
        Ok(ctx)
    }
}

impl SearchContext {
    /// `CONDA_DLL_SEARCH_MODIFICATION_ENABLE` as a new process gets it: the user's value, else
    /// the machine's, from the registry.
    pub fn dll_search_modification_for_new_processes(
        env: &dyn EnvSource,
        registry: &dyn Registry,
    ) -> Result<Option<EnvValue>, crate::registry::RegistryError> {
        for (hive, key) in [
            (Hive::CurrentUser, USER_ENVIRONMENT_KEY),
            (Hive::LocalMachine, MACHINE_ENVIRONMENT_KEY),
        ] {
            let value = match registry.value(hive, key, ENV_DLL_SEARCH_MODIFICATION)? {
                Some(RegValue::Sz(s)) => s,
                Some(RegValue::ExpandSz(s)) => expand_env_strings(&s, env),
                _ => continue,
            };
            return Ok(Some(EnvValue {
                value,
                source: EnvOrigin::Registry(hive),
            }));
        }
        Ok(None)
    }
}

/// Expand `%NAME%` references the way `ExpandEnvironmentStrings` does: a defined variable is
/// replaced, an undefined one is left as written.
pub fn expand_env_strings(text: &str, env: &dyn EnvSource) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('%') {
            Some(end) if end > 0 => {
                let name = &after[..end];
                match env.var_os(name) {
                    Some(v) => out.push_str(&v.to_string_lossy()),
                    None => {
                        out.push('%');
                        out.push_str(name);
                        out.push('%');
                    }
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push('%');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
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
    fn env_strings_expand_like_windows() {
        let mut env = MapEnv::default();
        env.0.insert("USERPROFILE".into(), "C:\\Users\\me".into());
        assert_eq!(
            expand_env_strings("%userprofile%\\bin;%NOPE%;50%", &env),
            "C:\\Users\\me\\bin;%NOPE%;50%"
        );
    }

    #[test]
    fn registry_path_is_machine_then_user_expanded_with_sources_kept_raw() {
        use crate::registry::FakeRegistry;
        let mut reg = FakeRegistry::default();
        reg.set(
            Hive::LocalMachine,
            MACHINE_ENVIRONMENT_KEY,
            "Path",
            RegValue::ExpandSz("%SystemRoot%\\system32;C:\\Program Files\\OpenSSL\\bin".into()),
        );
        reg.set(
            Hive::CurrentUser,
            USER_ENVIRONMENT_KEY,
            "Path",
            RegValue::ExpandSz("%USERPROFILE%\\anaconda3\\Library\\bin".into()),
        );
        let mut env = MapEnv::default();
        env.0.insert("SystemRoot".into(), "C:\\Windows".into());
        env.0.insert("USERPROFILE".into(), "C:\\Users\\me".into());
        let ctx = SearchContext::from_registry(&env, &reg).unwrap();
        let p: Vec<String> = ctx.path.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            p,
            [
                "C:\\Windows\\system32",
                "C:\\Program Files\\OpenSSL\\bin",
                "C:\\Users\\me\\anaconda3\\Library\\bin"
            ]
        );
        assert_eq!(
            ctx.path_sources[1].raw,
            "%USERPROFILE%\\anaconda3\\Library\\bin"
        );
        assert_eq!(ctx.path_sources[1].value_type, Some(RegType::ExpandSz));
        // A value of the wrong type is reported, not used.
        reg.set(
            Hive::CurrentUser,
            USER_ENVIRONMENT_KEY,
            "Path",
            RegValue::Dword(7),
        );
        let ctx = SearchContext::from_registry(&env, &reg).unwrap();
        assert_eq!(ctx.path.len(), 2);
        assert_eq!(ctx.path_sources[1].value_type, Some(RegType::Dword));
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

    #[test]
    fn the_search_modification_switch_is_what_new_processes_get_not_this_process() {
        use crate::registry::FakeRegistry;
        let mut env = MapEnv::default();
        env.0
            .insert(ENV_DLL_SEARCH_MODIFICATION.into(), "from-this-shell".into());
        let mut reg = FakeRegistry::default();
        let ctx = SearchContext::from_registry(&env, &reg).unwrap();
        assert_eq!(
            ctx.dll_search_modification, None,
            "the shell's value is not inherited"
        );
        reg.set(
            Hive::LocalMachine,
            MACHINE_ENVIRONMENT_KEY,
            ENV_DLL_SEARCH_MODIFICATION,
            RegValue::Sz("1".into()),
        );
        let ctx = SearchContext::from_registry(&env, &reg).unwrap();
        assert_eq!(
            ctx.dll_search_modification,
            Some(EnvValue {
                value: "1".into(),
                source: EnvOrigin::Registry(Hive::LocalMachine)
            })
        );
        reg.set(
            Hive::CurrentUser,
            USER_ENVIRONMENT_KEY,
            ENV_DLL_SEARCH_MODIFICATION,
            RegValue::Sz("0".into()),
        );
        let ctx = SearchContext::from_registry(&env, &reg).unwrap();
        assert_eq!(
            ctx.dll_search_modification.unwrap().value,
            "0",
            "the user's wins"
        );
        // A non-string value is not a setting.
        let mut reg = FakeRegistry::default();
        reg.set(
            Hive::CurrentUser,
            USER_ENVIRONMENT_KEY,
            ENV_DLL_SEARCH_MODIFICATION,
            RegValue::Dword(1),
        );
        assert_eq!(
            SearchContext::from_registry(&env, &reg)
                .unwrap()
                .dll_search_modification,
            None
        );
    }
}
