//! The model types every stage of detection shares: what kind of prefix, how it was found, who
//! it is installed for, and how paths are shown to people.

use std::path::Path;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrefixKind {
    Base,
    Env,
}

/// How a prefix was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "via", rename_all = "kebab-case")]
pub enum Origin {
    /// `--prefix`.
    Argument,
    /// `PREFIX`, in an installer's post-install step (`INSTALLER_*` set).
    InstallerPrefix,
    /// An environment variable (`CONDA_PREFIX`, `CONDA_EXE`, `_CONDA_EXE`, `_CONDA_ROOT`, `CONDA`).
    EnvVar { name: String },
    /// A PEP 514 `InstallPath`.
    Pep514 { key: String },
    /// An Uninstall entry's `UninstallString`.
    Uninstall { key: String },
    /// A folder installers use by default.
    KnownFolder,
    /// A line of `environments.txt`.
    EnvironmentsTxt { file: String, line: usize },
    /// A folder under `<base>\envs` or `~\.conda\envs`.
    EnvsFolder,
}

impl Origin {
    /// How much a way of finding a prefix is trusted (lower: more).
    pub fn rank(&self) -> u8 {
        match self {
            Origin::Argument => 0,
            Origin::InstallerPrefix => 1,
            Origin::EnvVar { .. } => 2,
            Origin::Pep514 { .. } | Origin::Uninstall { .. } => 3,
            Origin::KnownFolder => 4,
            Origin::EnvironmentsTxt { .. } | Origin::EnvsFolder => 5,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// `.nonadmin` present: per-user, writable without elevation.
    JustMe,
    /// Installed for all users (writes need elevation).
    AllUsers,
    Unknown,
}

/// A path for people and JSON: no `\\?\` prefix.
pub fn display_path(p: &Path) -> String {
    dunce::simplified(p).display().to_string()
}
