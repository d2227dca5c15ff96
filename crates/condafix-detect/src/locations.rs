//! Where pip's and conda's config files live, and where condafix writes its own: one place,
//! used by detection (what is read, in precedence order) and by config (what is written).
//! See docs/formats-and-config.md for the orders and their sources.

use std::path::{Path, PathBuf};

use condafix_prefix::Layout;
use serde::Serialize;

use crate::EnvSource;

/// Which config file a file is, in pip's or conda's search order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigRole {
    /// `%PROGRAMDATA%\pip\pip.ini`, `/etc/xdg/pip/pip.conf`, `/etc/pip.conf`.
    PipGlobal,
    /// `%USERPROFILE%\pip\pip.ini`, `~/.pip/pip.conf`.
    PipUserLegacy,
    /// `%APPDATA%\pip\pip.ini`, `~/.config/pip/pip.conf`.
    PipUser,
    /// `<prefix>\pip.ini`.
    PipSite,
    /// `PIP_CONFIG_FILE`.
    PipEnvFile,
    /// `C:\ProgramData\conda\`, `/etc/conda/`.
    CondarcSystem,
    /// The base install's own `.condarc` (`$CONDA_ROOT`).
    CondarcRoot,
    /// `$XDG_CONFIG_HOME/conda/`.
    CondarcXdg,
    /// `~/.config/conda/`.
    CondarcUserConfig,
    /// `~/.conda/`.
    CondarcUserConda,
    /// `~/.condarc`.
    CondarcUser,
    /// The env's own `.condarc` (`$CONDA_PREFIX`).
    CondarcPrefix,
    /// `$CONDARC`.
    CondarcEnvVar,
}

impl ConfigRole {
    pub fn label(self) -> &'static str {
        match self {
            ConfigRole::PipGlobal => "pip-global",
            ConfigRole::PipUserLegacy => "pip-user-legacy",
            ConfigRole::PipUser => "pip-user",
            ConfigRole::PipSite => "pip-site",
            ConfigRole::PipEnvFile => "pip-env-file",
            ConfigRole::CondarcSystem => "condarc-system",
            ConfigRole::CondarcRoot => "condarc-root",
            ConfigRole::CondarcXdg => "condarc-xdg",
            ConfigRole::CondarcUserConfig => "condarc-user-config",
            ConfigRole::CondarcUserConda => "condarc-user-conda",
            ConfigRole::CondarcUser => "condarc-user",
            ConfigRole::CondarcPrefix => "condarc-prefix",
            ConfigRole::CondarcEnvVar => "condarc-env-var",
        }
    }

    pub fn is_pip(self) -> bool {
        matches!(
            self,
            ConfigRole::PipGlobal
                | ConfigRole::PipUserLegacy
                | ConfigRole::PipUser
                | ConfigRole::PipSite
                | ConfigRole::PipEnvFile
        )
    }

    pub fn is_condarc(self) -> bool {
        !self.is_pip()
    }

    /// A `.condarc` that belongs to one install (its base's or its own), not to the user.
    pub fn is_prefix_condarc(self) -> bool {
        matches!(self, ConfigRole::CondarcRoot | ConfigRole::CondarcPrefix)
    }

    /// The place in conda's search order (later wins).
    pub fn condarc_rank(self) -> usize {
        match self {
            ConfigRole::CondarcSystem => 0,
            ConfigRole::CondarcRoot => 1,
            ConfigRole::CondarcXdg => 2,
            ConfigRole::CondarcUserConfig => 3,
            ConfigRole::CondarcUserConda => 4,
            ConfigRole::CondarcUser => 5,
            ConfigRole::CondarcPrefix => 6,
            ConfigRole::CondarcEnvVar => 7,
            _ => 0,
        }
    }
}

impl std::fmt::Display for ConfigRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Where condafix writes settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WriteScope {
    /// `<prefix>\pip.ini`, `<prefix>\.condarc`, `<prefix>\.condafix\ca-bundle.pem`.
    #[default]
    Site,
    /// `%APPDATA%\pip\pip.ini`, `~\.condarc`, `%LOCALAPPDATA%\condafix\ca-bundle.pem`.
    User,
    /// `%PROGRAMDATA%\pip\pip.ini`, `%PROGRAMDATA%\condafix\ca-bundle.pem` (needs elevation).
    Global,
}

/// `PIP_CONFIG_FILE` as pip reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipEnvFile {
    Unset,
    /// `os.devnull` (`nul` on Windows, `/dev/null`): pip reads no config file at all.
    DevNull,
    File(PathBuf),
}

/// The config locations of one user on one machine, from the environment.
#[derive(Debug, Clone)]
pub struct ConfigLocations {
    /// Windows locations (`%APPDATA%`...) rather than Unix ones (`~/.config`...).
    pub windows: bool,
    pub home: Option<PathBuf>,
    pub appdata: Option<PathBuf>,
    pub local_appdata: Option<PathBuf>,
    pub program_data: Option<PathBuf>,
    pub xdg_config_home: Option<PathBuf>,
    /// `/etc` (pip's and conda's system-wide config on Unix).
    pub etc_dir: PathBuf,
    pub pip_env_file: PipEnvFile,
    /// `$CONDARC`.
    pub condarc_env: Option<PathBuf>,
}

/// A variable's value as a path; unset and empty are the same.
pub fn env_path(env: &dyn EnvSource, name: &str) -> Option<PathBuf> {
    env.var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The user's home: `%USERPROFILE%` on Windows (else `HOME`), `$HOME` elsewhere.
pub fn home_dir(env: &dyn EnvSource, windows: bool) -> Option<PathBuf> {
    if windows {
        env_path(env, "USERPROFILE").or_else(|| env_path(env, "HOME"))
    } else {
        env_path(env, "HOME")
    }
}

/// Whether a path names the null device (`os.devnull`).
pub fn is_devnull(path: &Path) -> bool {
    let s = path.to_string_lossy().to_lowercase();
    s == "nul" || s == "/dev/null"
}

impl ConfigLocations {
    pub fn new(env: &dyn EnvSource, windows: bool, etc_dir: &Path) -> Self {
        let pip_env_file = match env_path(env, "PIP_CONFIG_FILE") {
            None => PipEnvFile::Unset,
            Some(p) if is_devnull(&p) => PipEnvFile::DevNull,
            Some(p) => PipEnvFile::File(p),
        };
        Self {
            windows,
            home: home_dir(env, windows),
            appdata: env_path(env, "APPDATA"),
            local_appdata: env_path(env, "LOCALAPPDATA"),
            program_data: env_path(env, "PROGRAMDATA"),
            xdg_config_home: env_path(env, "XDG_CONFIG_HOME"),
            etc_dir: etc_dir.to_path_buf(),
            pip_env_file,
            condarc_env: env_path(env, "CONDARC"),
        }
    }

    fn xdg_config(&self) -> Option<PathBuf> {
        self.xdg_config_home
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".config")))
    }

    /// `PIP_CONFIG_FILE` is `os.devnull`: pip reads no file.
    pub fn pip_disabled(&self) -> bool {
        self.pip_env_file == PipEnvFile::DevNull
    }

    /// `PIP_CONFIG_FILE`, when it names a file.
    pub fn pip_env_file(&self) -> Option<&Path> {
        match &self.pip_env_file {
            PipEnvFile::File(p) => Some(p),
            _ => None,
        }
    }

    /// pip's config files that do not depend on the prefix, lowest precedence first. The user
    /// files are skipped when `PIP_CONFIG_FILE` names an existing file; nothing is read when it
    /// is `os.devnull`.
    pub fn pip_machine(&self) -> Vec<(ConfigRole, PathBuf)> {
        if self.pip_disabled() {
            return Vec::new();
        }
        let mut out = self.pip_global_and_user();
        if self.pip_env_file().is_some_and(Path::exists) {
            out.retain(|(r, _)| !matches!(r, ConfigRole::PipUserLegacy | ConfigRole::PipUser));
        }
        out
    }

    /// pip's global and user files, whether pip reads them now or not.
    fn pip_global_and_user(&self) -> Vec<(ConfigRole, PathBuf)> {
        let mut out = Vec::new();
        if self.windows {
            if let Some(pd) = &self.program_data {
                out.push((ConfigRole::PipGlobal, pd.join("pip").join("pip.ini")));
            }
            if let Some(h) = &self.home {
                out.push((ConfigRole::PipUserLegacy, h.join("pip").join("pip.ini")));
            }
            if let Some(ad) = &self.appdata {
                out.push((ConfigRole::PipUser, ad.join("pip").join("pip.ini")));
            }
        } else {
            out.push((
                ConfigRole::PipGlobal,
                self.etc_dir.join("xdg").join("pip").join("pip.conf"),
            ));
            out.push((ConfigRole::PipGlobal, self.etc_dir.join("pip.conf")));
            if let Some(h) = &self.home {
                out.push((ConfigRole::PipUserLegacy, h.join(".pip").join("pip.conf")));
            }
            if let Some(x) = self.xdg_config() {
                out.push((ConfigRole::PipUser, x.join("pip").join("pip.conf")));
            }
        }
        out
    }

    /// The prefix's own pip file.
    pub fn pip_site(prefix: &Path, layout: Layout) -> PathBuf {
        prefix.join(match layout {
            Layout::Windows => "pip.ini",
            Layout::Unix => "pip.conf",
        })
    }

    /// `.condarc` folders that do not depend on the prefix, lowest precedence first.
    pub fn condarc_machine(&self) -> Vec<(ConfigRole, PathBuf)> {
        let mut out = Vec::new();
        if self.windows {
            if let Some(pd) = &self.program_data {
                out.push((ConfigRole::CondarcSystem, pd.join("conda")));
            }
        } else {
            out.push((ConfigRole::CondarcSystem, self.etc_dir.join("conda")));
        }
        if let Some(x) = &self.xdg_config_home {
            out.push((ConfigRole::CondarcXdg, x.join("conda")));
        }
        if let Some(h) = &self.home {
            out.push((
                ConfigRole::CondarcUserConfig,
                h.join(".config").join("conda"),
            ));
            out.push((ConfigRole::CondarcUserConda, h.join(".conda")));
            out.push((ConfigRole::CondarcUser, h.clone()));
        }
        out
    }

    /// The files a `.condarc` location stands for: `.condarc`, `condarc`, `condarc.d/*.yml|yaml`
    /// in a folder (the home folder: `.condarc` only).
    pub fn condarc_files(role: ConfigRole, dir: &Path) -> Vec<PathBuf> {
        if role == ConfigRole::CondarcUser {
            return vec![dir.join(".condarc")];
        }
        let mut v = vec![dir.join(".condarc"), dir.join("condarc")];
        if let Ok(rd) = fs_err::read_dir(dir.join("condarc.d")) {
            let mut d: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
                .collect();
            d.sort();
            v.extend(d);
        }
        v
    }

    /// `~/.condarc`.
    pub fn user_condarc(&self) -> Option<PathBuf> {
        self.home.as_ref().map(|h| h.join(".condarc"))
    }

    /// The pip file condafix writes for `scope`: `PIP_CONFIG_FILE` when it names a file (pip
    /// reads that one last), else the scope's file. `None` when the variable it needs is unset.
    pub fn pip_write_target(
        &self,
        scope: WriteScope,
        prefix: &Path,
        layout: Layout,
    ) -> Option<PathBuf> {
        if let Some(f) = self.pip_env_file() {
            return Some(f.to_path_buf());
        }
        match scope {
            WriteScope::Site => Some(Self::pip_site(prefix, layout)),
            WriteScope::User => {
                if self.windows {
                    self.appdata.as_ref().map(|a| a.join("pip").join("pip.ini"))
                } else {
                    self.xdg_config().map(|x| x.join("pip").join("pip.conf"))
                }
            }
            WriteScope::Global => self
                .program_data
                .as_ref()
                .map(|d| d.join("pip").join("pip.ini")),
        }
    }

    /// Where condafix keeps the CA bundle it builds for `scope`.
    pub fn ca_bundle_target(&self, scope: WriteScope, prefix: &Path) -> Option<PathBuf> {
        let dir = match scope {
            WriteScope::Site => {
                return Some(prefix.join(condafix_prefix::STATE_DIR).join(CA_BUNDLE_FILE))
            }
            WriteScope::User => {
                if self.windows {
                    self.local_appdata.clone()
                } else {
                    self.home.as_ref().map(|h| h.join(".local").join("share"))
                }
            }
            WriteScope::Global => self.program_data.clone(),
        }?;
        Some(dir.join("condafix").join(CA_BUNDLE_FILE))
    }
}

impl ConfigLocations {
    /// The folders machine-wide settings live below: `%ProgramData%` on Windows, `/etc`
    /// elsewhere. A file below them is the machine's; condafix changes it only from the machine
    /// state, when elevated.
    pub fn machine_roots(&self) -> Vec<PathBuf> {
        if self.windows {
            self.program_data.iter().cloned().collect()
        } else {
            vec![self.etc_dir.clone()]
        }
    }

    /// The folders a user's own settings live below: their home and app-data folders. Below
    /// them condafix reaches a file step by step without following a link.
    pub fn user_roots(&self) -> Vec<PathBuf> {
        [
            &self.home,
            &self.appdata,
            &self.local_appdata,
            &self.xdg_config_home,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
    }

    /// The machine-wide files condafix may write: pip's global files, conda's system
    /// `.condarc` files, the machine's CA bundle. Only from a machine's own environment (a
    /// user's could point `%ProgramData%` anywhere).
    pub fn machine_files(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self
            .pip_global_and_user()
            .into_iter()
            .filter(|(r, _)| *r == ConfigRole::PipGlobal)
            .map(|(_, p)| p)
            .collect();
        for (role, dir) in self.condarc_machine() {
            if role == ConfigRole::CondarcSystem {
                out.extend(Self::condarc_files(role, &dir));
            }
        }
        out.extend(self.ca_bundle_target(WriteScope::Global, Path::new("")));
        out.sort();
        out.dedup();
        out
    }

    /// Every file outside `prefix` condafix may write for it: the allow-list its transactions
    /// check, for new changes and for paths read back from a journal or receipt. pip's global
    /// and user files and `PIP_CONFIG_FILE`; the `.condarc` search path (the machine's,
    /// `$CONDARC`, the base's own); the CA bundle in the user and machine folders.
    pub fn outside_files(&self, prefix: &Path, base: Option<&Path>) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self
            .pip_global_and_user()
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        out.extend(self.pip_env_file().map(Path::to_path_buf));
        for (role, dir) in self.condarc_machine() {
            out.extend(Self::condarc_files(role, &dir));
        }
        out.extend(self.condarc_env.clone());
        out.extend(self.user_condarc());
        if let Some(base) = base.filter(|b| *b != prefix) {
            out.extend(Self::condarc_files(ConfigRole::CondarcRoot, base));
        }
        for scope in [WriteScope::User, WriteScope::Global] {
            out.extend(self.ca_bundle_target(scope, prefix));
            if self.pip_env_file().is_none() {
                out.extend(self.pip_write_target(scope, prefix, Layout::Windows));
            }
        }
        out.retain(|p| !p.starts_with(prefix));
        out.sort();
        out.dedup();
        out
    }
}

/// The name of the CA bundle condafix builds.
pub const CA_BUNDLE_FILE: &str = "ca-bundle.pem";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnv;

    fn env(pairs: &[(&str, &str)]) -> MapEnv {
        MapEnv(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.into()))
                .collect(),
        )
    }

    #[test]
    fn pip_user_files_are_skipped_when_pip_config_file_names_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pip.ini");
        fs_err::write(&f, "").unwrap();
        let e = env(&[
            ("USERPROFILE", "C:\\Users\\me"),
            ("APPDATA", "C:\\Users\\me\\AppData\\Roaming"),
            ("PROGRAMDATA", "C:\\ProgramData"),
            ("PIP_CONFIG_FILE", f.to_str().unwrap()),
        ]);
        let l = ConfigLocations::new(&e, true, Path::new("/etc"));
        let roles: Vec<ConfigRole> = l.pip_machine().into_iter().map(|(r, _)| r).collect();
        assert_eq!(roles, [ConfigRole::PipGlobal]);
        assert_eq!(
            l.pip_write_target(WriteScope::User, Path::new("p"), Layout::Windows),
            Some(f)
        );
        let devnull = env(&[("PIP_CONFIG_FILE", "NUL"), ("USERPROFILE", "C:\\u")]);
        let l = ConfigLocations::new(&devnull, true, Path::new("/etc"));
        assert!(l.pip_disabled() && l.pip_machine().is_empty());
    }

    #[test]
    fn condarc_roles_keep_condas_order() {
        let mut roles = [
            ConfigRole::CondarcEnvVar,
            ConfigRole::CondarcRoot,
            ConfigRole::CondarcUser,
            ConfigRole::CondarcSystem,
            ConfigRole::CondarcPrefix,
        ];
        roles.sort_by_key(|r| r.condarc_rank());
        assert_eq!(
            roles,
            [
                ConfigRole::CondarcSystem,
                ConfigRole::CondarcRoot,
                ConfigRole::CondarcUser,
                ConfigRole::CondarcPrefix,
                ConfigRole::CondarcEnvVar
            ]
        );
        assert!(ConfigRole::PipUser.is_pip() && ConfigRole::CondarcXdg.is_condarc());
    }
}
