//! Atomic file operations with retry on Windows sharing violations (antivirus holds fresh DLLs;
//! a running python.exe holds its DLLs open).

use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};

use condafix_prefix::Sha256;
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

fn create_dir_for(dest: &Path) -> Result<&Path, TxnError> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir).map_err(|e| {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            TxnError::Denied {
                path: dir.to_path_buf(),
                source: e,
            }
        } else {
            TxnError::Write {
                path: dir.to_path_buf(),
                source: e,
            }
        }
    })?;
    Ok(dir)
}

/// Create the temp file for `dest` (`create_new`: never opens an existing file or a link).
fn create_temp(dest: &Path, tmp: &Path) -> Result<fs_err::File, TxnError> {
    fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                TxnError::Denied {
                    path: dest.to_path_buf(),
                    source: e,
                }
            } else {
                TxnError::Write {
                    path: tmp.to_path_buf(),
                    source: e,
                }
            }
        })
}

/// Fill a temp file beside `dest` with `fill`, fsync it, check it with `check`, and rename it
/// over `dest`. A reader sees the old file or the new one, never a partial one; the temp file
/// is removed on any failure.
fn replace_with<T>(
    dest: &Path,
    policy: RetryPolicy,
    fill: impl FnOnce(&mut fs_err::File) -> Result<T, TxnError>,
    check: impl FnOnce(&T) -> Result<(), TxnError>,
) -> Result<T, TxnError> {
    create_dir_for(dest)?;
    let tmp = temp_path(dest);
    let result = (|| {
        let mut f = create_temp(dest, &tmp)?;
        let value = fill(&mut f)?;
        f.sync_all().map_err(|source| TxnError::Write {
            path: tmp.clone(),
            source,
        })?;
        drop(f);
        check(&value)?;
        // Whose the file is: a replaced file keeps its owner and rights, a new one gets its
        // folder's owner (a file condafix writes into alice's profile stays alice's).
        let model = if dest.is_file() {
            dest
        } else {
            dest.parent().unwrap_or(dest)
        };
        security::carry(model, &tmp, dest.is_file());
        rename_with_retry(&tmp, dest, policy)?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = fs_err::remove_file(&tmp);
    }
    result
}

/// Write `bytes` to `dest` atomically: temp file in the same folder, fsync, rename.
pub fn write_atomic(dest: &Path, bytes: &[u8], policy: RetryPolicy) -> Result<(), TxnError> {
    replace_with(
        dest,
        policy,
        |f| {
            f.write_all(bytes).map_err(|source| TxnError::Write {
                path: dest.to_path_buf(),
                source,
            })
        },
        |_| Ok(()),
    )
}

/// Stream `reader` into `dest` atomically, at most `cap` bytes, in fixed buffers; the bytes
/// must hash to `expected` or `dest` is left as it was. Returns the size written.
pub fn write_stream_checked(
    dest: &Path,
    reader: &mut dyn Read,
    expected: Sha256,
    cap: u64,
    policy: RetryPolicy,
) -> Result<u64, TxnError> {
    let write_err = |source| TxnError::Write {
        path: dest.to_path_buf(),
        source,
    };
    let (actual, size) = replace_with(
        dest,
        policy,
        |f| {
            let mut hashing = HashingWriter::new(f);
            let n = std::io::copy(&mut reader.take(cap + 1), &mut hashing).map_err(write_err)?;
            if n > cap {
                return Err(TxnError::TooLarge {
                    path: dest.to_path_buf(),
                    cap,
                });
            }
            Ok((hashing.finish(), n))
        },
        |(actual, _)| {
            if *actual == expected {
                Ok(())
            } else {
                Err(TxnError::VerifyAfterWrite {
                    path: dest.to_path_buf(),
                    expected,
                    actual: *actual,
                })
            }
        },
    )?;
    debug_assert_eq!(actual, expected);
    Ok(size)
}

/// Copy `from` to `to` atomically, streaming, without following a link at `from`, at most
/// `cap` bytes; `to` gets `from`'s permissions (a backup of a file only its owner could read
/// is not world-readable). Returns the hash and size of what was copied.
pub fn copy_atomic(
    from: &Path,
    to: &Path,
    cap: u64,
    policy: RetryPolicy,
) -> Result<(Sha256, u64), TxnError> {
    condafix_prefix::safe_read::checked_size(from, cap)?;
    let mut source = condafix_prefix::safe_read::open(from)?;
    let permissions = source.metadata().ok().map(|m| m.permissions());
    replace_with(
        to,
        policy,
        |f| {
            if let Some(p) = &permissions {
                keep_permissions(f, p);
            }
            let mut hashing = HashingWriter::new(f);
            let n = std::io::copy(&mut (&mut source).take(cap + 1), &mut hashing).map_err(
                |source| TxnError::Read {
                    path: from.to_path_buf(),
                    source,
                },
            )?;
            if n > cap {
                return Err(TxnError::TooLarge {
                    path: from.to_path_buf(),
                    cap,
                });
            }
            Ok((hashing.finish(), n))
        },
        |_| Ok(()),
    )
}

/// Give a new file the permissions of the one it copies (Unix modes; on Windows the file
/// inherits its folder's ACL, and the read-only flag is not copied so backups stay removable).
fn keep_permissions(f: &fs_err::File, p: &std::fs::Permissions) {
    #[cfg(unix)]
    {
        let _ = f.file().set_permissions(p.clone());
    }
    #[cfg(not(unix))]
    {
        let _ = (f, p);
    }
}

/// Owners and rights carried from the file (or folder) a write replaces to the new file. Only
/// an elevated run can give a file to another account; otherwise the new file is the caller's,
/// which is then also the owner of what it replaces.
pub(crate) mod security {
    use std::path::Path;

    /// Give `to` the owner of `model` (and, when `model` is the file being replaced, its rights).
    /// Best effort: a failure leaves `to` as created.
    pub fn carry(model: &Path, to: &Path, replacing: bool) {
        platform::carry(model, to, replacing);
    }

    #[cfg(unix)]
    mod platform {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        use std::path::Path;

        #[allow(unsafe_code)]
        fn root() -> bool {
            // SAFETY: geteuid(2) has no preconditions and touches no memory.
            unsafe { libc::geteuid() == 0 }
        }

        pub fn carry(model: &Path, to: &Path, replacing: bool) {
            let Ok(m) = fs_err::symlink_metadata(model) else {
                return;
            };
            if root() {
                let _ = std::os::unix::fs::lchown(to, Some(m.uid()), Some(m.gid()));
            }
            if replacing {
                let _ =
                    fs_err::set_permissions(to, std::fs::Permissions::from_mode(m.mode() & 0o7777));
            }
        }
    }

    #[cfg(windows)]
    #[allow(unsafe_code)]
    mod platform {
        use std::os::windows::ffi::OsStrExt as _;
        use std::path::Path;
        use std::sync::Once;

        use windows_sys::Win32::Foundation::LocalFree;
        use windows_sys::Win32::Security::Authorization::{
            GetNamedSecurityInfoW, SetNamedSecurityInfoW, SE_FILE_OBJECT,
        };
        use windows_sys::Win32::Security::{
            ACL, DACL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION, PSID,
            UNPROTECTED_DACL_SECURITY_INFORMATION,
        };

        fn wide(p: &Path) -> Vec<u16> {
            p.as_os_str().encode_wide().chain(Some(0)).collect()
        }

        /// SeRestorePrivilege lets an elevated process name another account as a file's owner;
        /// it is held but disabled by default. Enabled once.
        fn enable_restore_privilege() {
            static ONCE: Once = Once::new();
            ONCE.call_once(|| condafix_prefix::enable_privilege("SeRestorePrivilege"));
        }

        pub fn carry(model: &Path, to: &Path, replacing: bool) {
            enable_restore_privilege();
            let mut what = OWNER_SECURITY_INFORMATION;
            if replacing {
                what |= DACL_SECURITY_INFORMATION;
            }
            let mut owner: PSID = std::ptr::null_mut();
            let mut dacl: *mut ACL = std::ptr::null_mut();
            let mut sd = std::ptr::null_mut();
            let from = wide(model);
            let dest = wide(to);
            // SAFETY: the descriptor `sd` owns `owner` and `dacl` until LocalFree; the paths are
            // NUL-terminated UTF-16 that outlive the calls.
            unsafe {
                if GetNamedSecurityInfoW(
                    from.as_ptr(),
                    SE_FILE_OBJECT,
                    what,
                    &mut owner,
                    std::ptr::null_mut(),
                    &mut dacl,
                    std::ptr::null_mut(),
                    &mut sd,
                ) != 0
                {
                    return;
                }
                let set = if replacing {
                    what | UNPROTECTED_DACL_SECURITY_INFORMATION
                } else {
                    what
                };
                SetNamedSecurityInfoW(
                    dest.as_ptr() as *mut u16,
                    SE_FILE_OBJECT,
                    set,
                    owner,
                    std::ptr::null_mut(),
                    if replacing {
                        dacl
                    } else {
                        std::ptr::null_mut()
                    },
                    std::ptr::null_mut(),
                );
                LocalFree(sd as _);
            }
        }
    }

    #[cfg(not(any(unix, windows)))]
    mod platform {
        pub fn carry(_: &std::path::Path, _: &std::path::Path, _: bool) {}
    }
}

/// A writer that hashes what passes through it.
struct HashingWriter<'a> {
    inner: &'a mut fs_err::File,
    hasher: sha2::Sha256,
}

impl<'a> HashingWriter<'a> {
    fn new(inner: &'a mut fs_err::File) -> Self {
        use sha2::Digest as _;
        Self {
            inner,
            hasher: sha2::Sha256::new(),
        }
    }

    fn finish(self) -> Sha256 {
        use sha2::Digest as _;
        Sha256::from_bytes(self.hasher.finalize().into())
    }
}

impl std::io::Write for HashingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest as _;
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_write_keeps_the_owner_and_mode_of_what_it_replaces_and_a_new_file_its_folders_owner() {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        #[allow(unsafe_code)]
        // SAFETY: geteuid(2) has no preconditions.
        let root = unsafe { libc::geteuid() == 0 };
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("alice");
        fs_err::create_dir(&home).unwrap();
        let existing = home.join("pip.conf");
        fs_err::write(&existing, b"[global]\n").unwrap();
        fs_err::set_permissions(&existing, std::fs::Permissions::from_mode(0o600)).unwrap();
        if root {
            std::os::unix::fs::chown(&home, Some(65534), Some(65534)).unwrap();
            std::os::unix::fs::chown(&existing, Some(65534), Some(65534)).unwrap();
        }
        write_atomic(
            &existing,
            b"[global]\ntimeout = 1\n",
            RetryPolicy::default(),
        )
        .unwrap();
        let m = fs_err::metadata(&existing).unwrap();
        assert_eq!(m.mode() & 0o777, 0o600, "the replaced file's mode");
        let fresh = home.join("new.pem");
        write_atomic(&fresh, b"x", RetryPolicy::default()).unwrap();
        if root {
            assert_eq!(m.uid(), 65534, "the replaced file's owner");
            assert_eq!(
                fs_err::metadata(&fresh).unwrap().uid(),
                65534,
                "the folder's owner"
            );
        }
    }

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
