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
    #[error(transparent)]
    Archive(#[from] condafix_prefix::archive::ArchiveError),
    #[error(
        "no verified copy of {dll} was found; looked in:\n{}\nreinstall openssl from a working machine's package cache, or pass an offline bundle with --from",
        tried.iter().map(|t| format!("  - {t}")).collect::<Vec<_>>().join("\n")
    )]
    NoSource { dll: String, tried: Vec<String> },
    #[error("the source {source_desc} is gone since it was verified; nothing was written")]
    SourceGone { source_desc: String },
    #[error("a path from the prefix is refused: {0}")]
    PathRefused(#[from] condafix_prefix::guard::PathRefusal),
    #[error(transparent)]
    Unsafe(#[from] condafix_prefix::safe_read::ReadError),
    #[error("{0}; nothing was changed")]
    Link(#[from] condafix_prefix::guard::LinkFound),
    #[error(transparent)]
    Txn(#[from] condafix_txn::TxnError),
    #[error(transparent)]
    Detect(#[from] condafix_detect::Error),
    #[error(transparent)]
    State(#[from] condafix_prefix::Error),
}
