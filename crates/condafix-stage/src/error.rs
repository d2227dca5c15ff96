use std::path::PathBuf;

use condafix_prefix::Sha256;

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(
        "{dll} from {source_desc} does not match conda's record, so it is not staged\n  expected sha256 {expected}\n  actual   sha256 {actual}\n(use --allow-unverified only if you know where these bytes come from)"
    )]
    Unverified {
        dll: String,
        source_desc: String,
        expected: Sha256,
        actual: Sha256,
    },
    #[error("{} is refused as hostile: entry {entry:?} {reason}; nothing was written", archive.display())]
    Hostile {
        archive: PathBuf,
        entry: String,
        reason: &'static str,
    },
    #[error("{} cannot be read as a {what}", path.display())]
    Archive {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the bundle {} has no SHA256SUMS manifest; an offline bundle must list the hash of every file", path.display())]
    NoManifest { path: PathBuf },
    #[error(
        "no verified copy of {dll} was found; looked in:\n{}\nreinstall openssl from a working machine's package cache, or pass an offline bundle with --from",
        tried.iter().map(|t| format!("  - {t}")).collect::<Vec<_>>().join("\n")
    )]
    NoSource { dll: String, tried: Vec<String> },
    #[error(transparent)]
    Txn(#[from] condafix_txn::TxnError),
    #[error(transparent)]
    Detect(#[from] condafix_detect::Error),
}
