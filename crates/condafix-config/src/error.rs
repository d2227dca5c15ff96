use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{} is left untouched: {reason}", path.display())]
    Refused { path: PathBuf, reason: String },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} holds no certificate condafix can use: {reason}", path.display())]
    BadCaFile { path: PathBuf, reason: String },
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Txn(#[from] condafix_txn::TxnError),
    #[error(transparent)]
    Registry(#[from] condafix_prefix::registry::RegistryError),
}
