//! DLL staging: put the exact OpenSSL DLLs `_ssl.pyd` needs where the loader finds them first
//! (`DLLs\`, beside the `.pyd`), verified against conda's own SHA-256 records, journalled and
//! undoable, refreshed when openssl changes, without ever creating the stale shadows the manual
//! fix leaves behind.

// Library crates never print: the binary owns stdout and stderr (its Printer).
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod error;
mod plan;
mod source;

pub use error::StageError;
pub use plan::{plan_prefix, Plan, PlannedAction, StageOptions};
pub use source::{SourceInfo, SourceKind, VerifiedAgainst};
