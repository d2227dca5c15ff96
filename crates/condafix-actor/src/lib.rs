//! Who acts where. condafix runs as SYSTEM or root over folders that ordinary users own; this
//! crate is the one way the rest of condafix touches such a folder:
//!
//! - an [`Identity`] is whose rights a piece of work has: condafix's own, or another account's
//!   taken on for the work on the calling thread ([`Identity::act`]);
//! - a [`Location`] is a folder opened as an identity: every read, create, rename, removal and
//!   lock in it is relative to the folder's handle, never through a link;
//! - [`control`] says who, besides the administrators, may change a folder: that decides the
//!   identity (its owner's) or that condafix only reads there (several accounts may write);
//!   [`sddl`] reads the security descriptor strings Windows shows, for its tests and fuzzing;
//! - [`state`] says where condafix keeps its journal, receipt and backups: with the authority
//!   of what they describe;
//! - [`guard`] checks every path read from a file before it is joined to a folder;
//! - [`read`] reads a file it found by path without following a link at its end, without
//!   blocking on a FIFO, and never more than a cap.

// Library crates never print: the binary owns stdout and stderr (its Printer).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod control;
mod error;
pub mod guard;
pub mod identity;
mod location;
pub mod privilege;
pub mod read;
pub mod sddl;
pub mod state;
mod sys;
#[cfg(windows)]
pub mod windows;

pub use control::{Control, Writer};
pub use error::FsError;
pub use identity::{AccountId, Identity, IdentityError};
pub use location::{
    Held, Kind, Location, Meta, NewMode, RetryPolicy, WriteOptions, MACHINE_FOLDER, TEMP_MARKER,
};
pub use privilege::{can_start_as_user, process_is_elevated, process_is_system};

/// Who may change the folder open as `dir` (`path` for messages).
fn control_of_dir(dir: &sys::DirHandle, path: &std::path::Path) -> Result<Control, FsError> {
    sys::control_of_dir(dir)
        .map_err(|e| FsError::from_io(path, "read the rights of", "condafix", e))
}

/// Who, besides the administrators (root), may change the file or folder at `path` (not
/// followed: for a link, who may change it and what it points at).
pub fn writers_of_path(path: &std::path::Path) -> std::io::Result<Vec<Writer>> {
    sys::writers_of_path(path)
}

/// Who, besides the administrators (root), may replace what is inside the folder at `path` (an
/// ancestor of an install: [`control::windows_replacers`], [`control::unix_replacers`]). Not
/// followed: for a link, its owner (what it points at is judged on the resolved path).
pub fn replacers_of_folder(path: &std::path::Path) -> std::io::Result<Vec<Writer>> {
    sys::replacers_of_folder(path)
}

/// The folders on the way to `path`: every ancestor of the path as given, and of each path a
/// link on the way leads to, hop by hop (a link to a link: each one's folder counts), at most
/// 40 hops; and of the path it finally resolves to. Whoever may replace an entry in one of them
/// (see [`replacers_of_folder`]) may put something else at `path`.
pub fn ancestors_of(path: &std::path::Path) -> Vec<std::path::PathBuf> {
    use std::path::{Component, PathBuf};
    let mut out: Vec<PathBuf> = Vec::new();
    let mut todo: Vec<PathBuf> = vec![path.to_path_buf()];
    if let Ok(resolved) = dunce::canonicalize(path) {
        todo.push(resolved);
    }
    let mut hops = 0;
    while let Some(p) = todo.pop() {
        out.extend(p.ancestors().skip(1).map(PathBuf::from));
        // Each link on the way: where it leads, with the rest of the path after it.
        let mut at = PathBuf::new();
        let comps: Vec<Component> = p.components().collect();
        for (i, c) in comps.iter().enumerate() {
            at.push(c);
            if !matches!(c, Component::Normal(_)) {
                continue;
            }
            let Ok(target) = fs_err::read_link(&at) else {
                continue;
            };
            hops += 1;
            if hops > 40 {
                return dedup(out);
            }
            let mut next = match at.parent() {
                Some(parent) if target.is_relative() => parent.join(&target),
                _ => target,
            };
            for rest in &comps[i + 1..] {
                next.push(rest);
            }
            todo.push(next);
            break;
        }
    }
    dedup(out)
}

fn dedup(mut v: Vec<std::path::PathBuf>) -> Vec<std::path::PathBuf> {
    v.sort();
    v.dedup();
    v
}

/// The user account among `writers` that owns the thing (not root, the administrators or a
/// group), if one does.
pub fn user_owner(writers: &[Writer]) -> Option<AccountId> {
    writers
        .iter()
        .find(|w| w.how == control::OWNER && is_user_account(&w.id))
        .and_then(|w| AccountId::parse(&w.id))
}

/// Whether a writer's id names one user account (a uid; a SID the system calls a user, or an
/// `S-1-5-21-`/`S-1-12-1-` SID when it cannot say): the one place that decides it.
pub fn is_user_account(id: &str) -> bool {
    sys::is_user_account(id)
}

/// Whether a SID names a user account (local, domain or Entra ID), as the system says where it
/// can (`LookupAccountSidW`), else by its form: the one place that decides it for SIDs (a
/// ProfileList key, a registry stand-in's SIDs on every OS).
pub fn is_user_sid(sid: &str) -> bool {
    #[cfg(windows)]
    {
        windows::account::is_user(sid)
    }
    #[cfg(not(windows))]
    {
        control::sid_is_user_account(sid)
    }
}

/// Whether a process with this id is running (a run that left something behind is over when
/// it is not).
pub fn process_alive(pid: u32) -> bool {
    sys::process_alive(pid)
}

/// Copy the file at `from` (a user's hive and its logs) into `to` (a new file made owner-only in
/// condafix's own folder), reading it the way a backup program does on Windows (backup
/// semantics, SeBackupPrivilege enabled for that open only), never through a link. Returns the
/// bytes copied.
pub fn copy_private(
    from: &std::path::Path,
    to: &Location,
    rel: &guard::RelPath,
) -> Result<u64, FsError> {
    let mut src =
        sys::open_for_backup(from).map_err(|e| FsError::from_io(from, "read", "condafix", e))?;
    let mut n = 0u64;
    to.replace(
        rel,
        &WriteOptions::private(),
        |f| {
            n = std::io::copy(&mut src, f)
                .map_err(|e| FsError::from_io(from, "copy", "condafix", e))?;
            Ok::<(), FsError>(())
        },
        |_| Ok(()),
    )?;
    Ok(n)
}

/// Who may change the folder at `path` (followed as given), read from its handle; a folder whose
/// rights cannot be read counts as changeable by anyone (the safe answer).
pub fn control_of(path: &std::path::Path) -> Control {
    match sys::open_root(path).and_then(|d| sys::control_of_dir(&d)) {
        Ok(c) => c,
        Err(e) => Control::Shared(vec![Writer::new(
            "unknown",
            format!("its rights could not be read: {e}"),
        )]),
    }
}
