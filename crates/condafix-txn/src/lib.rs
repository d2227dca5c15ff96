//! Changes to a prefix, made safely: every write atomic (temp file in the destination folder,
//! fsync, rename, retried on a Windows sharing violation), every replaced file backed up first,
//! every step journalled on disk so that a run killed half-way is rolled back by the next one,
//! and a receipt that says what condafix owns, for `undo` and for the next run.
//!
//! Layout, in the prefix: `.condafix/receipt.json`, `.condafix/journal.json` (only while a
//! transaction runs), `.condafix/backup/<txn>/<path>`. Not in `conda-meta`: conda parses every
//! `conda-meta/*.json` as a package record.

// Library crates never print: the binary owns stdout and stderr (its Printer).
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod apply;
mod atomic;
mod error;
mod fault;
mod journal;
pub mod lock;
pub mod target;
mod transaction;

pub use apply::{apply, Applied, Changes, Session, Undo, DEFAULT_LOCK_TIMEOUT};
pub use atomic::{
    copy_atomic, remove_with_retry, rename_with_retry, write_atomic, write_stream_checked,
    RetryPolicy,
};
pub use condafix_prefix::{
    Action, HistoryEntry, Receipt, ReceiptEntry, RegistryEntry, BACKUP_DIR, JOURNAL_FILE,
    RECEIPT_FILE, RECEIPT_SCHEMA_VERSION, STATE_DIR,
};
pub use error::TxnError;
pub use fault::{Faults, ENV_FAULT_AFTER_STEP};
pub use target::{OutsideFiles, Target};
pub use transaction::{
    check_state, pending_recovery, recover, Context, Recovery, RecoveryOutcome, Transaction,
    UndoOutcome,
};

/// Check the bytes of a journal as recovery would, acting on nothing (fuzzing).
pub fn check_journal_bytes(bytes: &[u8], outside: &OutsideFiles) -> Result<(), TxnError> {
    journal::parse_journal(bytes, std::path::Path::new("journal.json"), outside).map(|_| ())
}

/// Check the bytes of a receipt as `undo` would, acting on nothing (fuzzing).
pub fn check_receipt_bytes(bytes: &[u8], outside: &OutsideFiles) -> Result<(), TxnError> {
    let file = std::path::Path::new("receipt.json");
    let receipt: Receipt = serde_json::from_slice(bytes).map_err(|source| TxnError::Corrupt {
        path: file.to_path_buf(),
        what: "receipt",
        source,
    })?;
    journal::check_receipt(receipt, file, outside).map(|_| ())
}
