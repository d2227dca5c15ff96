use std::path::PathBuf;

/// Errors of the prefix model. Each names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not valid JSON for a {what}", path.display())]
    Json {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{} is not a valid pip RECORD file (line {line})", path.display())]
    Record {
        path: PathBuf,
        line: u64,
        #[source]
        source: csv::Error,
    },
    #[error("a newer condafix wrote {} (schema {found}); this one understands up to {supported}", path.display())]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error(transparent)]
    Unsafe(#[from] crate::safe_read::ReadError),
    #[error("`{value}` is not a SHA-256 digest (expected {expected})")]
    BadDigest {
        value: String,
        expected: &'static str,
    },
}
