//! Where condafix keeps its state (the journal of a running change, the receipt of what it
//! changed, the backups of what it replaced): always in a folder with the authority of what the
//! state describes, so that state someone could plant can only drive what they could do anyway.
//!
//! | what changes                        | state folder                                   | acted on as |
//! |-------------------------------------|------------------------------------------------|-------------|
//! | a prefix its owner alone controls (and any prefix in a run without extra rights) | `<prefix>\.condafix` | the owner |
//! | a prefix only the administrators control, when condafix runs elevated | the machine state folder, `prefixes\<key>` | condafix |
//! | a user's own files and environment  | their state folder (`%LOCALAPPDATA%\condafix\state`, `~/.local/state/condafix`) | the user |
//! | machine-wide files and environment  | the machine state folder, `machine`            | condafix |
//!
//! The machine state folder (`%ProgramData%\condafix\state`, `/var/lib/condafix`) is created by
//! condafix with owner-only rights and refused when its owner or rights are not what condafix
//! made (standard users can create folders under `%ProgramData%`).

use std::path::{Path, PathBuf};

use crate::control::Control;
use crate::guard::RelPath;
use crate::identity::{process_account, Identity};
use crate::{FsError, Location};

/// The folder condafix keeps its state in, inside a prefix.
pub const PREFIX_STATE_DIR: &str = ".condafix";
/// Under the machine state folder: one folder per prefix only the administrators control.
pub const MACHINE_PREFIXES_DIR: &str = "prefixes";
/// Under the machine state folder: machine-wide changes (HKLM, `%ProgramData%\pip`, `/etc`).
pub const MACHINE_DIR: &str = "machine";

/// Tests point the Unix machine state folder elsewhere (debug builds only); on Windows it
/// follows `%ProgramData%`.
pub const ENV_MACHINE_STATE: &str = "CONDAFIX_MACHINE_STATE";

/// The machine state folder: `%ProgramData%\condafix\state` on Windows (`program_data` from the
/// process's own environment, never a user's), `/var/lib/condafix` elsewhere.
pub fn machine_state_dir(program_data: Option<&Path>, windows: bool) -> PathBuf {
    if cfg!(debug_assertions) {
        if let Some(p) = std::env::var_os(ENV_MACHINE_STATE).filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
    }
    if windows {
        program_data
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("C:\\ProgramData"))
            .join("condafix")
            .join("state")
    } else {
        PathBuf::from("/var/lib/condafix")
    }
}

/// The machine state folder of this machine, from this process's own environment (never a
/// user's: `%ProgramData%` on Windows).
pub fn process_machine_state_dir() -> PathBuf {
    machine_state_dir(
        std::env::var_os("PROGRAMDATA")
            .map(PathBuf::from)
            .as_deref(),
        cfg!(windows),
    )
}

/// A user's state folder below their home or local app-data folder, as a path relative to it.
pub fn user_state_rel(windows: bool) -> RelPath {
    RelPath::parse(if windows {
        "condafix/state"
    } else {
        ".local/state/condafix"
    })
    .expect("a fixed path is valid")
}

/// The name of a prefix's folder in the machine state folder: readable (the prefix's folder
/// name) and unique (a hash of its full path, compared case-insensitively as Windows does).
pub fn prefix_key(prefix: &Path) -> String {
    let canonical = std::fs::canonicalize(prefix).unwrap_or_else(|_| prefix.to_path_buf());
    let text = canonical
        .to_string_lossy()
        .trim_start_matches("\\\\?\\")
        .replace('\\', "/")
        .to_lowercase();
    // FNV-1a, 64 bits: stable across builds and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let name: String = text_last(prefix)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(32)
        .collect();
    format!(
        "{}-{h:016x}",
        if name.is_empty() { "prefix" } else { &name }
    )
}

/// The last component of a path in either separator style.
fn text_last(p: &Path) -> String {
    p.to_string_lossy()
        .rsplit(['/', '\\'])
        .find(|c| !c.is_empty())
        .unwrap_or_default()
        .to_string()
}

/// Check that a state folder is what condafix made it: its owner is the identity condafix acts
/// as there, and (for `owner_only`) no one else may read or change it. A folder someone else
/// made or opened up is refused, naming it and the fix.
pub fn check_state_folder(loc: &Location, owner_only: bool) -> Result<(), FsError> {
    let meta = loc.meta()?;
    let expected = loc.identity().account().cloned().or_else(process_account);
    let fix = "remove it and run condafix again (condafix recreates it with the right rights)";
    if !cfg!(windows) {
        if expected.as_ref().is_some_and(|e| *e != meta.owner) {
            return Err(FsError::Untrusted {
                path: loc.root().to_path_buf(),
                why: format!(
                    "it belongs to {}, not to {}; {fix}",
                    meta.owner,
                    expected.map(|e| e.to_string()).unwrap_or_default()
                ),
            });
        }
        let open = if owner_only { 0o077 } else { 0o022 };
        if meta.unix_mode & open != 0 {
            return Err(FsError::Untrusted {
                path: loc.root().to_path_buf(),
                why: format!(
                    "others may {} it (mode {:o}); {fix}",
                    if owner_only {
                        "read or change"
                    } else {
                        "change"
                    },
                    meta.unix_mode
                ),
            });
        }
        return Ok(());
    }
    // Windows: the owner and the DACL, read from the handle.
    match loc.control()? {
        Control::Machine if loc.identity().account().is_none() => Ok(()),
        Control::Owner(o) if Some(&o) == expected.as_ref() => Ok(()),
        other => Err(FsError::Untrusted {
            path: loc.root().to_path_buf(),
            why: format!("{} may change it; {fix}", other.describe()),
        }),
    }
}

/// Open (with `create`, creating when missing) the machine state folder, checked: owned by
/// condafix's account, changeable by no one else.
pub fn open_machine_state(dir: &Path, create: bool) -> Result<Location, FsError> {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Err(FsError::Untrusted {
            path: dir.to_path_buf(),
            why: "it is not a folder below another".into(),
        });
    };
    let rel = RelPath::parse(&name.to_string_lossy()).map_err(|why| FsError::Untrusted {
        path: dir.to_path_buf(),
        why: why.to_string(),
    })?;
    let parent = if cfg!(windows) {
        // `%ProgramData%\condafix\state`: `%ProgramData%` is the trusted root, `condafix` is a
        // step below it that any user could have made, so it is checked too.
        let top = parent.parent().unwrap_or(parent);
        let base = Location::open(top, Identity::Process)?;
        let mid = RelPath::parse(&parent.file_name().unwrap_or_default().to_string_lossy())
            .map_err(|why| FsError::Untrusted {
                path: parent.to_path_buf(),
                why: why.to_string(),
            })?;
        let mid = base.subdir(&mid, create.then_some(crate::MACHINE_FOLDER))?;
        check_state_folder(&mid, false)?;
        mid
    } else {
        Location::open(parent, Identity::Process)?
    };
    let loc = parent.subdir(&rel, create.then_some(0o700))?;
    crate::sys::protect_new_state_folder(&loc);
    check_state_folder(&loc, true)?;
    Ok(loc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_keys_are_readable_stable_and_case_blind() {
        let a = prefix_key(Path::new("C:\\Users\\alice\\anaconda3"));
        assert!(
            a.starts_with("anaconda3-") && a.len() == "anaconda3-".len() + 16,
            "{a}"
        );
        assert_eq!(a, prefix_key(Path::new("c:\\users\\ALICE\\anaconda3")));
        assert_ne!(a, prefix_key(Path::new("C:\\Users\\bob\\anaconda3")));
        assert!(RelPath::parse(&prefix_key(Path::new("/x/../..//"))).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn the_machine_state_folder_is_made_owner_only_and_refused_when_opened_up() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let loc = open_machine_state(&state, true).unwrap();
        assert_eq!(loc.meta().unwrap().unix_mode & 0o777, 0o700);
        fs_err::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = open_machine_state(&state, true).unwrap_err();
        assert!(matches!(err, FsError::Untrusted { .. }), "{err}");
        assert!(err.to_string().contains("remove it"), "{err}");
        // A link planted where the folder goes is refused, not followed.
        fs_err::remove_dir(&state).unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs_err::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &state).unwrap();
        let err = open_machine_state(&state, true).unwrap_err();
        assert!(matches!(err, FsError::Link { .. }), "{err:?}");
    }
}
