//! The model types every stage of detection shares: what kind of prefix, how it was found, who
//! it is installed for, and how paths are shown to people.

use std::path::Path;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PrefixKind {
    Base,
    Env,
    /// A `python -m venv` folder: its `pyvenv.cfg` names the base interpreter.
    Venv,
}

/// How a prefix was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(super::date(0), "1970-01-01");
        assert_eq!(super::date(1_667_260_800), "2022-11-01");
    }
}
