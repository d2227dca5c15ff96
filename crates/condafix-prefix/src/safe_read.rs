//! Reading files a prefix's owner controls: never through a link (`O_NOFOLLOW` on Unix,
//! `FILE_FLAG_OPEN_REPARSE_POINT` and an attribute check on Windows), never more than a cap
//! (a 2 GB sparse file named like a DLL must cost nothing), hashing in fixed buffers.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::Sha256;

/// No OpenSSL or Python DLL comes near this (libcrypto-3-x64.dll is about 5 MB, python3X.dll
/// about 4.5 MB): a larger file named like one is reported, not read.
pub const MAX_DLL_BYTES: u64 = 32 * 1024 * 1024;
/// pip.ini, .condarc, pyvenv.cfg, environments.txt: a real one is a few hundred bytes.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// A conda-meta record: Anaconda's largest are a few MB.
pub const MAX_RECORD_BYTES: u64 = 32 * 1024 * 1024;
/// condafix's own journal and receipt.
pub const MAX_STATE_BYTES: u64 = 8 * 1024 * 1024;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{} is a link (a symlink or junction); condafix does not read through links", path.display())]
    Link { path: PathBuf },
    #[error("{} is {size} bytes, more than the {cap} bytes such a file can be; it is not read", path.display())]
    TooLarge { path: PathBuf, size: u64, cap: u64 },
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ReadError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }

    pub fn path(&self) -> &Path {
        match self {
            ReadError::Link { path }
            | ReadError::TooLarge { path, .. }
            | ReadError::Io { path, .. } => path,
        }
    }
}

/// Open `path` for reading without following a link at its last component; a link is refused.
// std::fs here: the no-follow open flags are set through std's OpenOptionsExt; errors name the
// path through ReadError.
#[allow(clippy::disallowed_types)]
pub fn open(path: &Path) -> Result<std::fs::File, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt as _;
        const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
        opts.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
    }
    let file = match opts.open(path) {
        Ok(f) => f,
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(ReadError::Link {
                path: path.to_path_buf(),
            })
        }
        Err(e) => return Err(io(e)),
    };
    let meta = file.metadata().map_err(io)?;
    if meta.file_type().is_symlink() || crate::guard::is_link(path) {
        return Err(ReadError::Link {
            path: path.to_path_buf(),
        });
    }
    Ok(file)
}

/// The size of the file at `path` (not following a link), refusing one over `cap`.
pub fn checked_size(path: &Path, cap: u64) -> Result<u64, ReadError> {
    let meta = fs_err::symlink_metadata(path).map_err(|e| ReadError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    if crate::guard::is_link(path) {
        return Err(ReadError::Link {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > cap {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            cap,
        });
    }
    Ok(meta.len())
}

/// Read a whole file of at most `cap` bytes, without following a link.
pub fn read(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    checked_size(path, cap)?;
    let file = open(path)?;
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > cap {
        // It grew between the size check and the read.
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            cap,
        });
    }
    Ok(bytes)
}

/// Hash a file of at most `cap` bytes in fixed buffers, without following a link.
pub fn hash(path: &Path, cap: u64) -> Result<(Sha256, u64), ReadError> {
    checked_size(path, cap)?;
    let file = open(path)?;
    let (sha, n) = Sha256::of_reader(file.take(cap + 1)).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if n > cap {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size: n,
            cap,
        });
    }
    Ok((sha, n))
}

/// Which file an open handle is (the volume and the file's index on it): the same for every
/// hardlink of a file, as conda's envs are made of links into the package cache. `None` when the
/// system does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    pub volume: u64,
    pub index: u64,
    pub size: u64,
    /// Modification time in nanoseconds (a file rewritten in place is another file's content).
    pub modified: u128,
}

// std::fs::File: what `open` hands back.
#[allow(clippy::disallowed_types)]
pub fn file_id(file: &std::fs::File) -> Option<FileId> {
    let meta = file.metadata().ok()?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        Some(FileId {
            volume: meta.dev(),
            index: meta.ino(),
            size: meta.len(),
            modified,
        })
    }
    #[cfg(windows)]
    {
        windows_file_index(file).map(|(volume, index)| FileId {
            volume,
            index,
            size: meta.len(),
            modified,
        })
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = (meta, modified);
        None
    }
}

#[cfg(windows)]
#[allow(unsafe_code, clippy::disallowed_types)]
fn windows_file_index(file: &std::fs::File) -> Option<(u64, u64)> {
    use std::os::windows::io::AsRawHandle as _;
    use windows_sys::Win32::Storage::FileSystem::{
        GetFileInformationByHandle, BY_HANDLE_FILE_INFORMATION,
    };
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: the handle is a valid open file for the duration of the call, and `info` is a
    // properly sized, writable BY_HANDLE_FILE_INFORMATION.
    let ok = unsafe { GetFileInformationByHandle(file.as_raw_handle() as _, &mut info) };
    (ok != 0).then(|| {
        (
            u64::from(info.dwVolumeSerialNumber),
            (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow),
        )
    })
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
            Err(ReadError::TooLarge { size, .. }) if size == 2 << 30
        ));
        assert!(matches!(
            hash(&p, MAX_DLL_BYTES),
            Err(ReadError::TooLarge { .. })
        ));
        fs_err::write(dir.path().join("small"), b"abc").unwrap();
        assert_eq!(read(&dir.path().join("small"), 3).unwrap(), b"abc");
        assert_eq!(
            hash(&dir.path().join("small"), 3).unwrap(),
            (Sha256::of_bytes(b"abc"), 3)
        );
    }

    #[cfg(unix)]
    #[test]
    fn links_are_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("secret"), b"root only").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), dir.path().join("x.dll")).unwrap();
        assert!(matches!(
            read(&dir.path().join("x.dll"), 100),
            Err(ReadError::Link { .. })
        ));
        assert!(matches!(
            open(&dir.path().join("x.dll")),
            Err(ReadError::Link { .. })
        ));
        assert!(read(&dir.path().join("missing"), 100)
            .unwrap_err()
            .is_not_found());
    }
}
