use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{} does not exist", path.display())]
    PrefixMissing { path: PathBuf },
    #[error("{} is not a conda prefix (no conda-meta{}history) nor a venv (no pyvenv.cfg)", path.display(), std::path::MAIN_SEPARATOR)]
    NotAPrefix { path: PathBuf },
    #[error(transparent)]
    Prefix(#[from] condafix_prefix::Error),
    #[error(transparent)]
    Registry(#[from] condafix_prefix::registry::RegistryError),
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
