//! Where a change goes, checked: a path inside the prefix (through the guard), a file outside it
//! that condafix itself chose (a user's pip.ini or .condarc, from the allow-list), or a registry
//! value condafix writes (`Path` and the TLS variables of the user or machine environment).
//! Journals and receipts are read back through the same checks: they live in a folder the
//! prefix's owner can write.

use std::path::{Path, PathBuf};

use condafix_prefix::guard::{self, RelPath};
use condafix_prefix::registry::{is_user_sid, Hive, MACHINE_ENVIRONMENT_KEY, USER_ENVIRONMENT_KEY};

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

/// Whether condafix may write (or restore) this registry value: the user's, the machine's, or
/// a logged-on user's environment (`HKU\<SID>\Environment`, SID `S-1-5-21-...`). A hive
/// condafix loaded itself for the run is not written: its changes could not be undone later.
pub fn registry_value_allowed(hive: Hive, key: &str, name: &str) -> bool {
    let env_key_ok = match hive {
        Hive::CurrentUser => key.eq_ignore_ascii_case(USER_ENVIRONMENT_KEY),
        Hive::LocalMachine => key.eq_ignore_ascii_case(MACHINE_ENVIRONMENT_KEY),
        Hive::Users => key.split_once('\\').is_some_and(|(sid, rest)| {
            is_user_sid(sid) && rest.eq_ignore_ascii_case(USER_ENVIRONMENT_KEY)
        }),
    };
    env_key_ok
        && WRITABLE_ENV_VALUES
            .iter()
            .any(|v| v.eq_ignore_ascii_case(name))
}

/// The files outside a prefix condafix may write for it this run: the config files it chose
/// (pip's global and user files, `PIP_CONFIG_FILE`, the `.condarc` search path, the base's
/// `.condarc`, its CA bundle in the user or machine folder). Anything else outside the prefix
/// that a journal or receipt names is refused.
#[derive(Debug, Clone, Default)]
pub struct OutsideFiles {
    files: Vec<PathBuf>,
}

/// How paths are compared: `/`-separated, case-insensitively (Windows), trailing separators
/// trimmed.
fn path_key(p: &Path) -> String {
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

    /// No file outside the prefix may be written (stage, undo of a prefix-only receipt).
    pub const fn none() -> Self {
        Self { files: Vec::new() }
    }

    pub fn allows(&self, path: &Path) -> bool {
        let k = path_key(path);
        self.files.iter().any(|f| path_key(f) == k)
    }
}

/// A file a change is made to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Inside the prefix.
    Inside(RelPath),
    /// Outside the prefix: a config file condafix chose (checked against the allow-list).
    Outside(PathBuf),
}

/// Why a path is refused as a change target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetRefusal {
    Path(guard::PathRefusal),
    /// An absolute path condafix did not choose for this prefix.
    NotAllowed,
}

impl std::fmt::Display for TargetRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetRefusal::Path(r) => r.fmt(f),
            TargetRefusal::NotAllowed => {
                f.write_str("it is outside the prefix and not a config file condafix writes for it")
            }
        }
    }
}

fn is_absolute(text: &str) -> bool {
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

    /// Read a target back from its text (a journal or receipt `path`): relative paths through
    /// the guard, absolute ones only when `outside` allows them.
    pub fn parse(text: &str, outside: &OutsideFiles) -> Result<Self, TargetRefusal> {
        if is_absolute(text) {
            let p = PathBuf::from(text);
            return if outside.allows(&p) {
                Ok(Target::Outside(p))
            } else {
                Err(TargetRefusal::NotAllowed)
            };
        }
        Self::inside(text)
    }

    /// The text a journal or receipt keeps.
    pub fn text(&self) -> String {
        match self {
            Target::Inside(r) => r.as_str().to_string(),
            Target::Outside(p) => dunce::simplified(p).display().to_string(),
        }
    }

    /// The file on disk; refused when a link sits on the way (inside the prefix: any component;
    /// outside: the file and its folder).
    pub fn resolve(&self, prefix: &Path) -> Result<PathBuf, guard::LinkFound> {
        match self {
            Target::Inside(r) => guard::no_links_below(prefix, r),
            Target::Outside(p) => guard::no_link_at(p).map(|_| p.clone()),
        }
    }

    /// Where its backup goes, under `.condafix/backup/<txn>/`: the same relative path, or for a
    /// file outside the prefix `abs/` and its path with the drive colon and separators
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
        let text = format!(
            "{}/{}/{txn}/{inner}",
            condafix_prefix::STATE_DIR,
            condafix_prefix::BACKUP_DIR
        );
        RelPath::parse(&text).unwrap_or_else(|_| {
            // A name the guard refuses (a device name in an outside path): keep it under a
            // fixed name; the receipt records where the original lives.
            RelPath::parse(&format!(
                "{}/{}/{txn}/abs/file",
                condafix_prefix::STATE_DIR,
                condafix_prefix::BACKUP_DIR
            ))
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

/// Check a backup path read from a journal or receipt: inside the prefix, under this
/// transaction's backup folder.
pub fn backup_path(text: &str, txn: &str) -> Result<RelPath, TargetRefusal> {
    let rel = RelPath::parse(text).map_err(TargetRefusal::Path)?;
    let dir = format!(
        "{}/{}/{txn}",
        condafix_prefix::STATE_DIR,
        condafix_prefix::BACKUP_DIR
    );
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
    fn absolute_targets_need_the_allow_list_and_relative_ones_the_guard() {
        let allowed = OutsideFiles::new([PathBuf::from(
            "C:\\Users\\me\\AppData\\Roaming\\pip\\pip.ini",
        )]);
        assert!(matches!(
            Target::parse("C:\\Users\\me\\AppData\\Roaming\\pip\\PIP.INI", &allowed),
            Ok(Target::Outside(_))
        ));
        assert_eq!(
            Target::parse("C:\\Windows\\System32\\x.dll", &allowed),
            Err(TargetRefusal::NotAllowed)
        );
        assert_eq!(
            Target::parse("/etc/passwd", &allowed),
            Err(TargetRefusal::NotAllowed)
        );
        assert!(matches!(
            Target::parse("../../x", &allowed),
            Err(TargetRefusal::Path(_))
        ));
        assert_eq!(
            Target::parse("DLLs/x.dll", &allowed).unwrap().text(),
            "DLLs/x.dll"
        );
    }

    #[test]
    fn backups_stay_under_their_transaction() {
        assert!(backup_path(".condafix/backup/txn-0001/DLLs/x.dll", "txn-0001").is_ok());
        for bad in [
            ".condafix/backup/txn-0002/DLLs/x.dll",
            ".condafix/backup/txn-0001/../../../x",
            "DLLs/x.dll",
            "/etc/passwd",
            ".condafix/backup/txn-0001",
        ] {
            assert!(backup_path(bad, "txn-0001").is_err(), "{bad}");
        }
        let t = Target::Outside(PathBuf::from("C:\\Users\\me\\.condarc"));
        assert_eq!(
            t.backup_rel("txn-0003").as_str(),
            ".condafix/backup/txn-0003/abs/C/Users/me/.condarc"
        );
    }

    #[test]
    fn only_environment_values_condafix_writes_are_allowed() {
        assert!(registry_value_allowed(
            Hive::CurrentUser,
            "Environment",
            "PATH"
        ));
        assert!(registry_value_allowed(
            Hive::LocalMachine,
            MACHINE_ENVIRONMENT_KEY,
            "SSL_CERT_FILE"
        ));
        assert!(!registry_value_allowed(
            Hive::CurrentUser,
            "Software\\Microsoft\\Windows\\CurrentVersion\\Run",
            "evil"
        ));
        assert!(!registry_value_allowed(
            Hive::CurrentUser,
            "Environment",
            "ComSpec"
        ));
        assert!(!registry_value_allowed(
            Hive::LocalMachine,
            "Environment",
            "Path"
        ));
    }
}
