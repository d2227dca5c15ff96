use std::path::PathBuf;

use condafix_prefix::Sha256;

#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
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
    #[error(
        "{} is read-only or you lack permission to change it; for an All Users install run condafix from an elevated prompt",
        path.display()
    )]
    Denied {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a valid condafix {what}", path.display())]
    Corrupt {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("after writing {}, its bytes do not match:\n  expected sha256 {expected}\n  actual   sha256 {actual}", path.display())]
    VerifyAfterWrite {
        path: PathBuf,
        expected: Sha256,
        actual: Sha256,
    },
    #[error(transparent)]
    State(#[from] condafix_prefix::Error),
    #[error(transparent)]
    Fs(#[from] condafix_actor::FsError),
    #[error("{} would be larger than {cap} bytes; refused", path.display())]
    TooLarge { path: PathBuf, cap: u64 },
    #[error("{} ({field}) is refused: {why}; nothing was changed", file.display())]
    Refused {
        /// The file the path was read from (a journal, a receipt).
        file: PathBuf,
        /// Which entry and field (`ops[2].path`).
        field: String,
        why: String,
    },
    #[error("another process ({}) holds the lock on {store} ({}) and did not let go within {waited} s; try again when it has finished", holder.as_deref().unwrap_or("which one, the system does not say"), state.display())]
    Locked {
        /// Whose store.
        store: String,
        /// Its state folder.
        state: PathBuf,
        /// What the system says of the holder (a pid on Linux); never what a file says.
        holder: Option<String>,
        waited: u64,
    },
    #[error("condafix does not change {}: {why}", place.display())]
    NoIdentity { place: PathBuf, why: String },
    #[error("changing machine-wide settings needs an elevated run (an administrator's elevated prompt, or SYSTEM)")]
    NeedsElevation,
    #[error("no state folder yet")]
    NoState,
    #[error("the changes could not all be undone; the journal {} is kept and the next condafix run finishes the rollback", journal.display())]
    RollbackFailed {
        journal: PathBuf,
        #[source]
        source: Box<TxnError>,
    },
    #[error(
        "{value}: this command does not change the registry (an internal error: please report it)"
    )]
    NoRegistry { value: String },
}
