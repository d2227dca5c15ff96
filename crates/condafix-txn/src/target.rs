//! What a change goes to, checked against the store it is made through: a prefix's store
//! changes only paths inside that prefix (through the guard); a user's or the machine's store
//! changes only the files condafix chose for it this run (the allow-list) and only the registry
//! values of its own environment. Journals and receipts are read back through the same checks.

use std::path::{Path, PathBuf};

use condafix_prefix::guard::{self, RelPath};
use condafix_prefix::registry::{Hive, MACHINE_ENVIRONMENT_KEY, USER_ENVIRONMENT_KEY};

/// The registry values condafix writes: the environment's `Path` and the TLS variables
/// `config --fix-env` and `--remove-insecure` repoint or remove.
pub const WRITABLE_ENV_VALUES: [&str; 7] = [
    "Path",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "PIP_CERT",
    "PIP_TRUSTED_HOST",
];

/// Which environment a store may change in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryScope {
    /// None (a prefix's store).
    None,
    /// This process's user's (`HKCU\Environment`).
    CurrentUser,
    /// A logged-on user's, reached as `HKU\<SID>\Environment`.
    User { sid: String },
    /// The machine's (`HKLM\...\Session Manager\Environment`).
    Machine,
}

impl RegistryScope {
    /// Whether a store with this scope may write (or restore) this value. A hive condafix
    /// loaded itself for the run is never written: its changes could not be undone later.
    pub fn allows(&self, hive: Hive, key: &str, name: &str) -> bool {
        let env_key_ok = match (self, hive) {
            (RegistryScope::CurrentUser, Hive::CurrentUser) => {
                key.eq_ignore_ascii_case(USER_ENVIRONMENT_KEY)
            }
            (RegistryScope::Machine, Hive::LocalMachine) => {
                key.eq_ignore_ascii_case(MACHINE_ENVIRONMENT_KEY)
            }
            (RegistryScope::User { sid }, Hive::Users) => {
                key.split_once('\\').is_some_and(|(s, rest)| {
                    s.eq_ignore_ascii_case(sid) && rest.eq_ignore_ascii_case(USER_ENVIRONMENT_KEY)
                })
            }
            _ => false,
        };
        env_key_ok
            && WRITABLE_ENV_VALUES
                .iter()
                .any(|v| v.eq_ignore_ascii_case(name))
    }
}

/// The files outside a prefix a user's or the machine's store may write this run: the config
/// files condafix chose (pip's files and `PIP_CONFIG_FILE`, the `.condarc` search path, its CA
/// bundle). Anything else that a journal or receipt names is refused.
#[derive(Debug, Clone, Default)]
pub struct OutsideFiles {
    files: Vec<PathBuf>,
}

/// How paths are compared: `/`-separated, case-insensitively (Windows), trailing separators
/// trimmed.
pub(crate) fn path_key(p: &Path) -> String {
    dunce::simplified(p)
        .to_string_lossy()
        .replace('\\', "/")
        .trim_end_matches('/')
        .to_lowercase()
}

impl OutsideFiles {
    pub fn new(files: impl IntoIterator<Item = PathBuf>) -> Self {
        Self {
            files: files.into_iter().collect(),
        }
    }

    pub const fn none() -> Self {
        Self { files: Vec::new() }
    }

    pub fn allows(&self, path: &Path) -> bool {
        let k = path_key(path);
        self.files.iter().any(|f| path_key(f) == k)
    }

    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

/// A file a change is made to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Inside the prefix of a prefix's store.
    Inside(RelPath),
    /// A file outside any prefix, of a user's or the machine's store (on its allow-list).
    Outside(PathBuf),
}

/// Why a path is refused as a change target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetRefusal {
    Path(guard::PathRefusal),
    /// An absolute path in a prefix's state: it may only name files inside the prefix.
    OutsideThePrefix,
    /// An absolute path condafix did not choose for this store.
    NotAllowed,
    /// A relative path in a user's or the machine's state.
    NotAbsolute,
}

impl std::fmt::Display for TargetRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetRefusal::Path(r) => r.fmt(f),
            TargetRefusal::OutsideThePrefix => f.write_str(
                "it is outside the prefix, and a prefix's state may only name files inside it",
            ),
            TargetRefusal::NotAllowed => {
                f.write_str("it is not a file condafix writes for this user or machine")
            }
            TargetRefusal::NotAbsolute => {
                f.write_str("a user's or the machine's state names files by their full path")
            }
        }
    }
}

pub(crate) fn is_absolute(text: &str) -> bool {
    Path::new(text).is_absolute()
        || text.starts_with(['/', '\\'])
        || (text.len() >= 2 && text.as_bytes()[1] == b':')
}

impl Target {
    /// A prefix-relative path.
    pub fn inside(rel: &str) -> Result<Self, TargetRefusal> {
        RelPath::parse(rel)
            .map(Target::Inside)
            .map_err(TargetRefusal::Path)
    }

    /// Read a target back from its text (a journal or receipt `path`): in a prefix's state
    /// only relative paths through the guard; in a user's or the machine's only absolute
    /// paths on `outside`.
    pub fn parse(text: &str, outside: Option<&OutsideFiles>) -> Result<Self, TargetRefusal> {
        match (outside, is_absolute(text)) {
            (None, true) => Err(TargetRefusal::OutsideThePrefix),
            (None, false) => Self::inside(text),
            (Some(_), false) => Err(TargetRefusal::NotAbsolute),
            (Some(o), true) => {
                let p = PathBuf::from(text);
                if o.allows(&p) {
                    Ok(Target::Outside(p))
                } else {
                    Err(TargetRefusal::NotAllowed)
                }
            }
        }
    }

    /// The text a journal or receipt keeps.
    pub fn text(&self) -> String {
        match self {
            Target::Inside(r) => r.as_str().to_string(),
            Target::Outside(p) => dunce::simplified(p).display().to_string(),
        }
    }

    /// Where its backup goes in the state folder: `backup/<txn>/` and the same relative path,
    /// or for a file outside any prefix `abs/` and its path with the drive colon and separators
    /// flattened into components.
    pub fn backup_rel(&self, txn: &str) -> RelPath {
        let inner = match self {
            Target::Inside(r) => r.as_str().to_string(),
            Target::Outside(p) => {
                let flat: Vec<String> = p
                    .to_string_lossy()
                    .split(['/', '\\', ':'])
                    .filter(|c| !c.is_empty() && *c != "." && *c != "..")
                    .map(|c| c.trim_end_matches(['.', ' ']).replace(':', "_"))
                    .filter(|c| !c.is_empty())
                    .collect();
                format!("abs/{}", flat.join("/"))
            }
        };
        let text = format!("{}/{txn}/{inner}", condafix_prefix::BACKUP_DIR);
        RelPath::parse(&text).unwrap_or_else(|_| {
            // A name the guard refuses (a device name in an outside path): keep it under a
            // fixed name; the receipt records where the original lives.
            RelPath::parse(&format!("{}/{txn}/abs/file", condafix_prefix::BACKUP_DIR))
                .expect("a fixed backup path is valid")
        })
    }

    /// Same file as `other` (case-insensitively: Windows paths).
    pub fn same(&self, text: &str) -> bool {
        match self {
            Target::Inside(r) => r.as_str().eq_ignore_ascii_case(&text.replace('\\', "/")),
            Target::Outside(p) => path_key(p) == path_key(Path::new(text)),
        }
    }
}

/// Check a backup path read from a journal or receipt: under this transaction's backup folder
/// in the state folder.
pub fn backup_path(text: &str, txn: &str) -> Result<RelPath, TargetRefusal> {
    let rel = RelPath::parse(text).map_err(TargetRefusal::Path)?;
    let dir = format!("{}/{txn}", condafix_prefix::BACKUP_DIR);
    if rel.starts_with(&dir) && rel.as_str().len() > dir.len() {
        Ok(rel)
    } else {
        Err(TargetRefusal::NotAllowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_state_names_only_inside_paths_and_a_user_state_only_its_files() {
        let allowed = OutsideFiles::new([PathBuf::from(
            "C:\\Users\\me\\AppData\\Roaming\\pip\\pip.ini",
        )]);
        assert!(matches!(
            Target::parse(
                "C:\\Users\\me\\AppData\\Roaming\\pip\\PIP.INI",
                Some(&allowed)
            ),
            Ok(Target::Outside(_))
        ));
        assert_eq!(
            Target::parse("C:\\Windows\\System32\\x.dll", Some(&allowed)),
            Err(TargetRefusal::NotAllowed)
        );
        assert_eq!(
            Target::parse("DLLs/x.dll", Some(&allowed)),
            Err(TargetRefusal::NotAbsolute)
        );
        // A prefix's journal or receipt can never name a file outside the prefix, whatever
        // the allow-list of this run.
        for outside in [
            "/etc/pip.conf",
            "C:\\ProgramData\\pip\\pip.ini",
            "\\\\host\\x",
        ] {
            assert_eq!(
                Target::parse(outside, None),
                Err(TargetRefusal::OutsideThePrefix)
            );
        }
        assert!(matches!(
            Target::parse("../../x", None),
            Err(TargetRefusal::Path(_))
        ));
        assert_eq!(
            Target::parse("DLLs/x.dll", None).unwrap().text(),
            "DLLs/x.dll"
        );
    }

    #[test]
    fn backups_stay_under_their_transaction() {
        assert!(backup_path("backup/txn-0001/DLLs/x.dll", "txn-0001").is_ok());
        for bad in [
            "backup/txn-0002/DLLs/x.dll",
            "backup/txn-0001/../../../x",
            "DLLs/x.dll",
            "/etc/passwd",
            "backup/txn-0001",
            ".condafix/backup/txn-0001/DLLs/x.dll",
        ] {
            assert!(backup_path(bad, "txn-0001").is_err(), "{bad}");
        }
        let t = Target::Outside(PathBuf::from("C:\\Users\\me\\.condarc"));
        assert_eq!(
            t.backup_rel("txn-0003").as_str(),
            "backup/txn-0003/abs/C/Users/me/.condarc"
        );
    }

    #[test]
    fn each_store_writes_only_its_own_environment() {
        let user = RegistryScope::CurrentUser;
        assert!(user.allows(Hive::CurrentUser, "Environment", "PATH"));
        assert!(!user.allows(Hive::LocalMachine, MACHINE_ENVIRONMENT_KEY, "Path"));
        let machine = RegistryScope::Machine;
        assert!(machine.allows(Hive::LocalMachine, MACHINE_ENVIRONMENT_KEY, "SSL_CERT_FILE"));
        assert!(!machine.allows(Hive::CurrentUser, "Environment", "Path"));
        let alice = RegistryScope::User {
            sid: "S-1-5-21-1-2-3-1001".into(),
        };
        assert!(alice.allows(Hive::Users, "S-1-5-21-1-2-3-1001\\Environment", "Path"));
        assert!(!alice.allows(Hive::Users, "S-1-5-21-1-2-3-1002\\Environment", "Path"));
        assert!(!RegistryScope::None.allows(Hive::CurrentUser, "Environment", "Path"));
        assert!(!user.allows(
            Hive::CurrentUser,
            "Software\\Microsoft\\Windows\\CurrentVersion\\Run",
            "evil"
        ));
        assert!(!user.allows(Hive::CurrentUser, "Environment", "ComSpec"));
        assert!(!machine.allows(Hive::LocalMachine, "Environment", "Path"));
    }
}
