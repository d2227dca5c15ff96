//! Reading a file by path, safely: the last component is never followed when it is a link, the
//! file is opened without blocking (a FIFO named like a DLL or a config file is refused, not
//! waited on) and checked on the handle (a regular file), and no more than a cap is read (a 2 GB
//! sparse file named like a DLL costs nothing). Size and type are checked on the open handle,
//! never by path before the open.
//!
//! Used where condafix reads a file it found (a prefix's records, DLLs and config files): inside
//! a location it does not control, the read runs as the location's owner (see
//! [`crate::Identity::act`]), so a link higher up the path can only lead where the owner could
//! read anyway.

use std::io::Read;
use std::path::Path;

use crate::location::Kind;
use crate::sys::{self, FileHow};
use crate::FsError;

/// No OpenSSL or Python DLL comes near this (libcrypto-3-x64.dll is about 5 MB, python3X.dll
/// about 4.5 MB): a larger file named like one is reported, not read.
pub const MAX_DLL_BYTES: u64 = 32 * 1024 * 1024;
/// pip.ini, .condarc, pyvenv.cfg, environments.txt: a real one is a few hundred bytes.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// A conda-meta record: Anaconda's largest are a few MB.
pub const MAX_RECORD_BYTES: u64 = 32 * 1024 * 1024;
/// condafix's own journal and receipt.
pub const MAX_STATE_BYTES: u64 = 8 * 1024 * 1024;

/// The error type of the readers (kept under its old name for the callers).
pub type ReadError = FsError;

/// Open the regular file at `path` for reading: a link at its last component is refused (not
/// followed), and so is anything that is not a regular file, without blocking on it.
// std::fs::File: what callers read, hash and map.
#[allow(clippy::disallowed_types)]
pub fn open(path: &Path) -> Result<std::fs::File, FsError> {
    let who = "condafix";
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(FsError::NotAFile {
            path: path.to_path_buf(),
            kind: "folder",
        });
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let dir = sys::open_root(parent).map_err(|e| FsError::from_io(path, "open", who, e))?;
    let file = sys::open_file(&dir, name, FileHow::Read)
        .map_err(|e| FsError::from_io(path, "open", who, e))?;
    let m = sys::stat_file(&file).map_err(|e| FsError::from_io(path, "read", who, e))?;
    if m.kind != Kind::File {
        return Err(FsError::NotAFile {
            path: path.to_path_buf(),
            kind: m.kind.word(),
        });
    }
    Ok(file)
}

/// Open `path` (see [`open`]) and refuse it when it is over `cap` bytes; returns the file and
/// its size (read from the handle).
#[allow(clippy::disallowed_types)]
pub fn open_capped(path: &Path, cap: u64) -> Result<(std::fs::File, u64), FsError> {
    let file = open(path)?;
    let size = file
        .metadata()
        .map_err(|e| FsError::from_io(path, "read", "condafix", e))?
        .len();
    if size > cap {
        return Err(FsError::TooLarge {
            path: path.to_path_buf(),
            size,
            cap,
        });
    }
    Ok((file, size))
}

/// The size of the regular file at `path` (not following a link), refusing one over `cap`.
pub fn checked_size(path: &Path, cap: u64) -> Result<u64, FsError> {
    open_capped(path, cap).map(|(_, n)| n)
}

/// Read a whole file of at most `cap` bytes, without following a link.
pub fn read(path: &Path, cap: u64) -> Result<Vec<u8>, FsError> {
    let (file, _) = open_capped(path, cap)?;
    read_capped(file, path, cap)
}

/// Read an open file to its end, refusing it past `cap` bytes (it may grow after its size was
/// checked).
#[allow(clippy::disallowed_types)]
pub fn read_capped(file: std::fs::File, path: &Path, cap: u64) -> Result<Vec<u8>, FsError> {
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > cap {
        return Err(FsError::TooLarge {
            path: path.to_path_buf(),
            size,
            cap,
        });
    }
    let mut bytes = Vec::with_capacity(size.min(cap) as usize);
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FsError::from_io(path, "read", "condafix", e))?;
    if bytes.len() as u64 > cap {
        return Err(FsError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            cap,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_cap_is_refused_without_being_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.dll");
        let f = fs_err::File::create(&p).unwrap();
        // Sparse: 2 GiB of nothing, read would cost 2 GiB of memory.
        f.set_len(2 << 30).unwrap();
        drop(f);
        assert!(matches!(
            read(&p, MAX_DLL_BYTES),
            Err(FsError::TooLarge { size, .. }) if size == 2 << 30
        ));
        fs_err::write(dir.path().join("small"), b"abc").unwrap();
        assert_eq!(read(&dir.path().join("small"), 3).unwrap(), b"abc");
        assert!(read(&dir.path().join("missing"), 100)
            .unwrap_err()
            .is_not_found());
    }

    #[cfg(unix)]
    #[test]
    fn links_are_refused_not_followed_and_a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("secret"), b"root only").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), dir.path().join("x.dll")).unwrap();
        assert!(matches!(
            read(&dir.path().join("x.dll"), 100),
            Err(FsError::Link { .. })
        ));
        let fifo = dir.path().join("pip.conf");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
        )
        .unwrap();
        // Nobody writes to it: a blocking open would never return.
        assert!(matches!(
            read(&fifo, 100),
            Err(FsError::NotAFile { kind, .. }) if kind.contains("FIFO")
        ));
    }
}
