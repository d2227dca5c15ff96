//! One condafix at a time per store: an OS file lock on `lock` in the store's state folder,
//! which dies with the process, held from recovery to commit. A second run waits (up to a
//! timeout) and then says what it knows: that a process holds the lock, and on Linux which one
//! (`/proc/locks`). It never repeats what a file in the folder says, which the folder's owner
//! could have written. The lock file is removed when released (a waiting run checks that the
//! file it locked is still the one the folder holds), so a folder is left as it was found.

use std::time::{Duration, Instant};

use condafix_actor::guard::RelPath;
use condafix_actor::{FsError, Location};

use crate::store::Store;
use crate::TxnError;

pub const LOCK_FILE: &str = "lock";

fn lock_rel() -> RelPath {
    RelPath::parse(LOCK_FILE).expect("valid")
}

/// The lock on one store; released (and the state folder removed when it holds nothing else)
/// on drop.
#[derive(Debug)]
pub struct StoreLock {
    // std::fs::File: the lock methods (File::lock, try_lock) are std's.
    #[allow(clippy::disallowed_types)]
    file: Option<std::fs::File>,
    state: Location,
    /// The folder the state folder is in, and its name there (to remove it when empty).
    base: Option<(Location, RelPath)>,
}

/// Who holds a lock, as far as the system says: on Linux the pid `/proc/locks` names for the
/// locked file.
#[allow(clippy::disallowed_types)]
fn holder_of(file: &std::fs::File) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt as _;
        let m = file.metadata().ok()?;
        let text = fs_err::read_to_string("/proc/locks").ok()?;
        let dev = m.dev();
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
        let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
        let want = format!("{major:02x}:{minor:02x}:{}", m.ino());
        for line in text.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // `1: FLOCK  ADVISORY  WRITE 12345 08:01:1234567 0 EOF` (a `->` marks a waiter).
            if fields.get(1) == Some(&"->") {
                continue;
            }
            if let Some(i) = fields.iter().position(|f| *f == want) {
                if let Some(pid) = i.checked_sub(1).and_then(|j| fields.get(j)) {
                    if pid.bytes().all(|b| b.is_ascii_digit()) {
                        return Some(format!("pid {pid}, per /proc/locks"));
                    }
                }
            }
        }
        None
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        None
    }
}

impl StoreLock {
    /// Take the lock on `store`, waiting up to `timeout` for another run. `Ok(None)`: the
    /// state folder cannot be made (a prefix this account may not change, such as an All Users
    /// install without elevation): nothing here can change it either, so there is nothing to
    /// lock.
    pub fn acquire(store: &Store, timeout: Duration) -> Result<Option<Self>, TxnError> {
        let start = Instant::now();
        loop {
            // (Again on every turn: the run that released the lock may have removed the
            // folder, and a handle on the removed one would find nothing ever again.)
            let state = match store.state(true) {
                Ok(s) => s,
                Err(TxnError::Fs(e)) if e.is_denied() => return Ok(None),
                Err(TxnError::NoState) if start.elapsed() <= timeout => {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let file = match state.open_lock_file(&lock_rel(), 0o600) {
                Ok(f) => f,
                Err(e) if e.is_denied() || e.is_not_found() => {
                    // The run that just released the lock is removing the file (Windows) or
                    // its folder: try again.
                    if start.elapsed() > timeout {
                        return Err(e.into());
                    }
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            match file.try_lock() {
                Ok(()) => {
                    // The run before may have removed the file while this one opened it: the
                    // lock only counts on the file the folder holds now.
                    let same = match (state.stat(&lock_rel()), file.metadata()) {
                        (Ok(Some(now)), Ok(_)) => same_file(&file, &now),
                        _ => false,
                    };
                    if !same {
                        continue;
                    }
                    return Ok(Some(Self {
                        file: Some(file),
                        state,
                        base: store.state_base().ok(),
                    }));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    if start.elapsed() >= timeout {
                        return Err(TxnError::Locked {
                            state: store.state_path(),
                            store: store.kind().to_string(),
                            holder: holder_of(&file),
                            waited: timeout.as_secs(),
                        });
                    }
                    drop(file);
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(TxnError::Fs(FsError::Io {
                        path: store.state_path().join(LOCK_FILE),
                        op: "lock",
                        source: e,
                    }))
                }
            }
        }
    }

    /// Whether another process holds the lock on `store` right now (for `--dry-run`, which
    /// writes nothing: the file is only opened when it exists). `Some(what is known of it)`.
    pub fn held_by_other(store: &Store) -> Option<String> {
        let state = store.state(false).ok()?;
        let file = state.open_file(&lock_rel()).ok()?;
        match file.try_lock_shared() {
            Ok(()) => None,
            Err(std::fs::TryLockError::WouldBlock) => {
                Some(holder_of(&file).unwrap_or_else(|| "a process".to_string()))
            }
            Err(_) => None,
        }
    }
}

#[allow(clippy::disallowed_types)]
fn same_file(file: &std::fs::File, now: &condafix_actor::Meta) -> bool {
    condafix_prefix::safe_read::file_id(file)
        .is_some_and(|id| (id.volume, id.index) == (now.volume, now.index))
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // The lock file goes (while still held, so that a run waiting for it sees the file
        // change and takes the new one), and the state folder when nothing else is in it: a
        // folder condafix holds no state for is left exactly as it was found.
        let _ = self
            .state
            .remove(&lock_rel(), condafix_actor::RetryPolicy::default());
        if let Some(file) = self.file.take() {
            let _ = file.unlock();
            // Closed before the folder goes: on Windows a file deleted while open stays in its
            // folder until its last handle is closed.
            drop(file);
        }
        if let Some((base, rel)) = &self.base {
            base.remove_empty_dir(rel);
        }
    }
}
