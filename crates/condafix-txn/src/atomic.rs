//! Atomic file operations with retry on Windows sharing violations (antivirus holds fresh DLLs;
//! a running python.exe holds its DLLs open).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::TxnError;

/// How long to keep trying when a file is in use.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// About 5 s in all: 50 ms doubling to 1 s.
    fn default() -> Self {
        Self {
            attempts: 10,
            first_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    fn total(&self) -> Duration {
        let mut d = self.first_delay;
        let mut total = Duration::ZERO;
        for _ in 1..self.attempts {
            total += d;
            d = (d * 2).min(self.max_delay);
        }
        total
    }
}

/// Windows' "the file is in use" errors: sharing violation, lock violation, and the access
/// denied that a pending delete or an open mapped image gives.
fn in_use(e: &std::io::Error) -> bool {
    cfg!(windows) && matches!(e.raw_os_error(), Some(32) | Some(33) | Some(5))
}

fn with_retry<T>(
    path: &Path,
    policy: RetryPolicy,
    mut op: impl FnMut() -> std::io::Result<T>,
) -> Result<T, TxnError> {
    let mut delay = policy.first_delay;
    let mut attempt = 1;
    loop {
        match op() {
            Ok(v) => return Ok(v),
            Err(e) if in_use(&e) && attempt < policy.attempts => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(policy.max_delay);
                attempt += 1;
            }
            Err(e) if in_use(&e) && e.raw_os_error() != Some(5) => {
                return Err(TxnError::InUse {
                    path: path.to_path_buf(),
                    seconds: policy.total().as_secs().max(1),
                    source: e,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(TxnError::Denied {
                    path: path.to_path_buf(),
                    source: e,
                })
            }
            Err(e) => {
                return Err(TxnError::Write {
                    path: path.to_path_buf(),
                    source: e,
                })
            }
        }
    }
}

/// Rename `from` over `to`, retrying while `to` is in use.
// std::fs here, not fs-err: the retry needs the raw OS error code, which fs-err's wrapper hides;
// the error returned names the path.
#[allow(clippy::disallowed_methods)]
pub fn rename_with_retry(from: &Path, to: &Path, policy: RetryPolicy) -> Result<(), TxnError> {
    match with_retry(to, policy, || std::fs::rename(from, to)) {
        // Windows answers "access denied" both for a read-only file and for one another process
        // holds open without FILE_SHARE_DELETE. The temp file beside it was created, so the
        // folder is writable: unless the file is read-only, it is in use.
        Err(TxnError::Denied { path, source })
            if cfg!(windows) && to.is_file() && !is_read_only(to) =>
        {
            Err(TxnError::InUse {
                path,
                seconds: policy.total().as_secs().max(1),
                source,
            })
        }
        other => other,
    }
}

fn is_read_only(path: &Path) -> bool {
    fs_err::metadata(path).is_ok_and(|m| m.permissions().readonly())
}

/// Remove a file, retrying while it is in use. A missing file is not an error.
#[allow(clippy::disallowed_methods)]
pub fn remove_with_retry(path: &Path, policy: RetryPolicy) -> Result<(), TxnError> {
    with_retry(path, policy, || match std::fs::remove_file(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    })
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temp file name in the same folder as `dest` (so the rename stays on one volume).
fn temp_path(dest: &Path) -> PathBuf {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.condafix-tmp-{}-{n}", std::process::id()))
}

/// Write `bytes` to `dest` atomically: temp file in the same folder, fsync, rename. A reader
/// sees the old file or the new one, never a partial one.
pub fn write_atomic(dest: &Path, bytes: &[u8], policy: RetryPolicy) -> Result<(), TxnError> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    if let Err(e) = fs_err::create_dir_all(dir) {
        return Err(if e.kind() == std::io::ErrorKind::PermissionDenied {
            TxnError::Denied {
                path: dir.to_path_buf(),
                source: e,
            }
        } else {
            TxnError::Write {
                path: dir.to_path_buf(),
                source: e,
            }
        });
    }
    let tmp = temp_path(dest);
    let result = (|| {
        let mut f = fs_err::File::create(&tmp).map_err(|e| {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                TxnError::Denied {
                    path: dest.to_path_buf(),
                    source: e,
                }
            } else {
                TxnError::Write {
                    path: tmp.clone(),
                    source: e,
                }
            }
        })?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|source| TxnError::Write {
                path: tmp.clone(),
                source,
            })?;
        drop(f);
        rename_with_retry(&tmp, dest, policy)
    })();
    if result.is_err() {
        let _ = fs_err::remove_file(&tmp);
    }
    result
}

/// Copy `from` to `to` atomically (read, then [`write_atomic`]).
pub fn copy_atomic(from: &Path, to: &Path, policy: RetryPolicy) -> Result<Vec<u8>, TxnError> {
    let bytes = fs_err::read(from).map_err(|source| TxnError::Read {
        path: from.to_path_buf(),
        source,
    })?;
    write_atomic(to, &bytes, policy)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub").join("a.dll");
        write_atomic(&p, b"one", RetryPolicy::default()).unwrap();
        write_atomic(&p, b"two", RetryPolicy::default()).unwrap();
        assert_eq!(fs_err::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs_err::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn retry_budget_is_about_five_seconds() {
        let t = RetryPolicy::default().total();
        assert!(
            t >= Duration::from_secs(3) && t <= Duration::from_secs(6),
            "{t:?}"
        );
    }
}
