//! One condafix at a time per prefix: an OS file lock on `.condafix\lock`, which dies with the
//! process, held from recovery to commit. A second run waits (up to a timeout) and then says who
//! holds the prefix. The lock file is removed when released (a waiting run checks that the file
//! it locked is still the one the path names), so a prefix is left as it was found.

use condafix_prefix::TxnCommand;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use condafix_prefix::{guard, STATE_DIR};
use serde::{Deserialize, Serialize};

use crate::{write_atomic, RetryPolicy, TxnError};

pub const LOCK_FILE: &str = "lock";
pub const OWNER_FILE: &str = "owner.json";

/// Who holds a prefix (written beside the lock, for the message a waiting run prints).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
struct Owner {
    pid: u32,
    command: TxnCommand,
}

/// The lock on one prefix; released (and cleaned up when it is all `.condafix` holds) on drop.
#[derive(Debug)]
pub struct PrefixLock {
    // std::fs::File: the lock methods (File::lock, try_lock) are std's.
    #[allow(clippy::disallowed_types)]
    file: Option<std::fs::File>,
    dir: PathBuf,
}

fn lock_io(path: &Path) -> impl Fn(std::io::Error) -> TxnError + '_ {
    move |source| {
        if source.kind() == std::io::ErrorKind::PermissionDenied {
            TxnError::Denied {
                path: path.to_path_buf(),
                source,
            }
        } else {
            TxnError::Write {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

/// Open (creating) the lock file without following a link.
#[allow(clippy::disallowed_types)]
fn open_lock(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.custom_flags(libc::O_NOFOLLOW);
    }
    opts.open(path)
}

/// What the lock's current holder wrote about itself.
fn owner_text(dir: &Path) -> Option<String> {
    let bytes = condafix_prefix::safe_read::read(&dir.join(OWNER_FILE), 4096).ok()?;
    let o: Owner = serde_json::from_slice(&bytes).ok()?;
    Some(format!("pid {}, `condafix {}`", o.pid, o.command))
}

impl PrefixLock {
    /// Take the lock on `prefix` for `command`, waiting up to `timeout` for another run.
    /// `Ok(None)`: the prefix's state folder cannot be created (a prefix this user cannot
    /// write, such as an All Users install without elevation): nothing here can change it
    /// either, so there is nothing to lock.
    pub fn acquire(
        prefix: &Path,
        command: TxnCommand,
        timeout: Duration,
    ) -> Result<Option<Self>, TxnError> {
        let dir = prefix.join(STATE_DIR);
        let path = dir.join(LOCK_FILE);
        let start = Instant::now();
        loop {
            if guard::is_link(&dir) {
                return Err(TxnError::Link {
                    link: guard::LinkFound { link: dir },
                });
            }
            // (Again on every turn: the run that released the lock may have removed the folder.)
            match fs_err::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(TxnError::Read {
                        path: prefix.to_path_buf(),
                        source: e,
                    })
                }
                Err(e) => return Err(lock_io(&dir)(e)),
            }
            if guard::is_link(&path) {
                return Err(TxnError::Link {
                    link: guard::LinkFound { link: path },
                });
            }
            let file = match open_lock(&path) {
                Ok(f) => f,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::NotFound
                    ) =>
                {
                    // The run that just released the lock is removing the file (Windows) or
                    // its folder: try again.
                    if start.elapsed() > timeout {
                        return Err(lock_io(&path)(e));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                Err(e) => return Err(lock_io(&path)(e)),
            };
            match file.try_lock() {
                Ok(()) => {
                    // The run before may have removed the file while this one opened it: the
                    // lock only counts on the file the path names now.
                    let same = same_file::Handle::from_path(&path)
                        .ok()
                        .zip(
                            same_file::Handle::from_file(file.try_clone().map_err(lock_io(&path))?)
                                .ok(),
                        )
                        .is_some_and(|(a, b)| a == b);
                    if !same {
                        continue;
                    }
                    let owner = Owner {
                        pid: std::process::id(),
                        command,
                    };
                    let _ = write_atomic(
                        &dir.join(OWNER_FILE),
                        &serde_json::to_vec(&owner).expect("owner serializes"),
                        RetryPolicy::default(),
                    );
                    return Ok(Some(Self {
                        file: Some(file),
                        dir,
                    }));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    if start.elapsed() >= timeout {
                        return Err(TxnError::Locked {
                            prefix: prefix.to_path_buf(),
                            owner: owner_text(&dir),
                            waited: timeout.as_secs(),
                        });
                    }
                    drop(file);
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(lock_io(&path)(e)),
            }
        }
    }

    /// Whether another process holds the lock on `prefix` right now (for `--dry-run`, which
    /// writes nothing: the file is only opened when it exists).
    pub fn held_by_other(prefix: &Path) -> Option<String> {
        let dir = prefix.join(STATE_DIR);
        let path = dir.join(LOCK_FILE);
        let file = condafix_prefix::safe_read::open(&path).ok()?;
        match file.try_lock_shared() {
            Ok(()) => None,
            Err(std::fs::TryLockError::WouldBlock) => {
                Some(owner_text(&dir).unwrap_or_else(|| "process unknown".to_string()))
            }
            Err(_) => None,
        }
    }
}

impl Drop for PrefixLock {
    fn drop(&mut self) {
        let _ = fs_err::remove_file(self.dir.join(OWNER_FILE));
        // The lock file goes too (while still held, so that a run waiting for it sees the file
        // change and takes the new one), and the state folder when nothing else is in it: a
        // prefix condafix holds no state for is left exactly as it was found.
        let _ = fs_err::remove_file(self.dir.join(LOCK_FILE));
        if let Some(file) = self.file.take() {
            let _ = file.unlock();
            // Closed before the folder goes: on Windows a file deleted while open stays in its
            // folder until its last handle is closed.
            drop(file);
        }
        let _ = fs_err::remove_dir(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_waits_then_names_the_holder_and_release_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let first = PrefixLock::acquire(p, TxnCommand::Stage, Duration::from_secs(1))
            .unwrap()
            .unwrap();
        let err = PrefixLock::acquire(p, TxnCommand::Undo, Duration::from_millis(300)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id()))
                && text.contains("condafix stage"),
            "{text}"
        );
        assert!(PrefixLock::held_by_other(p).is_some());
        drop(first);
        assert!(!p.join(STATE_DIR).exists(), "nothing left behind");
        let again = PrefixLock::acquire(p, TxnCommand::Undo, Duration::from_millis(300)).unwrap();
        assert!(again.is_some());
    }

    #[test]
    fn state_condafix_keeps_survives_the_release() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let l = PrefixLock::acquire(p, TxnCommand::Stage, Duration::from_secs(1))
            .unwrap()
            .unwrap();
        fs_err::write(p.join(STATE_DIR).join("receipt.json"), b"{}").unwrap();
        drop(l);
        assert!(p.join(STATE_DIR).join("receipt.json").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_state_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("prefix");
        fs_err::create_dir_all(&p).unwrap();
        std::os::unix::fs::symlink(dir.path(), p.join(STATE_DIR)).unwrap();
        assert!(matches!(
            PrefixLock::acquire(&p, TxnCommand::Stage, Duration::from_secs(1)),
            Err(TxnError::Link { .. })
        ));
    }
}
