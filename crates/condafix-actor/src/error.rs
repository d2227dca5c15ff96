use std::path::{Path, PathBuf};

use crate::identity::IdentityError;

/// Why a file operation through a [`crate::Location`] (or a safe read) did not happen.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("{} is a link (a symlink, junction or other reparse point); condafix does not follow links where it reads or writes", path.display())]
    Link { path: PathBuf },
    #[error("{} is a {kind}, not a regular file; condafix does not open it (it could block or be a device)", path.display())]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("{} is {size} bytes, more than the {cap} bytes such a file can be; it is not read", path.display())]
    TooLarge { path: PathBuf, size: u64, cap: u64 },
    #[error("{} has {links} hard links and belongs to {owner}, not to {expected}: condafix neither reads it into its output nor replaces it in place", path.display())]
    HardLinked {
        path: PathBuf,
        links: u64,
        owner: String,
        expected: String,
    },
    #[error(
        "{} is in use by another program (a running python.exe, an IDE, or antivirus scanning it); \
         condafix retried for {seconds} s. Close the programs using this install and run condafix again",
        path.display()
    )]
    InUse {
        path: PathBuf,
        seconds: u64,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not condafix's to use: {why}", path.display())]
    Untrusted { path: PathBuf, why: String },
    #[error("{} is read-only or you lack permission to change it (condafix acts there as {who}); for an All Users install run condafix from an elevated prompt", path.display())]
    Denied {
        path: PathBuf,
        who: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot {op} {}", path.display())]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

impl FsError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, FsError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }

    pub fn is_denied(&self) -> bool {
        matches!(self, FsError::Denied { .. })
    }

    /// The file the error is about (empty for an identity error).
    pub fn path(&self) -> &Path {
        match self {
            FsError::Link { path }
            | FsError::NotAFile { path, .. }
            | FsError::TooLarge { path, .. }
            | FsError::HardLinked { path, .. }
            | FsError::InUse { path, .. }
            | FsError::Untrusted { path, .. }
            | FsError::Denied { path, .. }
            | FsError::Io { path, .. } => path,
            FsError::Identity(_) => Path::new(""),
        }
    }

    /// From an OS error on `path` while doing `op`: links, denials and the rest told apart.
    pub fn from_io(path: &Path, op: &'static str, who: &str, e: std::io::Error) -> Self {
        if crate::sys::is_link_error(&e) {
            return FsError::Link {
                path: path.to_path_buf(),
            };
        }
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            return FsError::Denied {
                path: path.to_path_buf(),
                who: who.to_string(),
                source: e,
            };
        }
        FsError::Io {
            path: path.to_path_buf(),
            op,
            source: e,
        }
    }
}
