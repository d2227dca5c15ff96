//! Reading files a prefix's owner controls: never through a link, never blocking on a FIFO,
//! never more than a cap (the readers are `condafix_actor::read`, re-exported here), and hashing
//! in fixed buffers.

use std::io::Read;
use std::path::Path;

pub use condafix_actor::read::{
    checked_size, open, open_capped, read, read_capped, ReadError, MAX_CONFIG_BYTES, MAX_DLL_BYTES,
    MAX_RECORD_BYTES, MAX_STATE_BYTES,
};

use crate::Sha256;

/// Hash a file of at most `cap` bytes in fixed buffers, without following a link.
pub fn hash(path: &Path, cap: u64) -> Result<(Sha256, u64), ReadError> {
    let (file, _) = open_capped(path, cap)?;
    let (sha, n) = Sha256::of_reader(file.take(cap + 1)).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        op: "read",
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
    fn hashing_stops_at_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.dll");
        let f = fs_err::File::create(&p).unwrap();
        f.set_len(2 << 30).unwrap();
        drop(f);
        assert!(matches!(
            hash(&p, MAX_DLL_BYTES),
            Err(ReadError::TooLarge { .. })
        ));
        fs_err::write(dir.path().join("small"), b"abc").unwrap();
        assert_eq!(
            hash(&dir.path().join("small"), 3).unwrap(),
            (Sha256::of_bytes(b"abc"), 3)
        );
    }
}
