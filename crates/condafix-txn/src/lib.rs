//! Changes made safely, with the authority of what they change: every change goes through a
//! store ([`Store`]: a prefix's, a user's, the machine's), whose state folder keeps the journal
//! of a running transaction, the receipt of what condafix changed, and the backups of what it
//! replaced; every file is reached through the store's location (its identity, by handle, no
//! link followed), written atomically, backed up first, journalled so that a run killed half-way
//! is rolled back by the next one.
//!
//! Layout of a state folder: `receipt.json`, `journal.json` (only while a transaction runs),
//! `lock` (while a run holds the store), `backup/<txn>/<path>`. Not in `conda-meta`: conda
//! parses every `conda-meta/*.json` as a package record.

// Library crates never print: the binary owns stdout and stderr (its Printer).
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod apply;
mod error;
mod fault;
mod files;
mod journal;
pub mod lock;
mod recovery;
mod store;
pub mod target;
mod transaction;
mod undo;

pub use apply::{
    apply, Applied, Changes, Place, Session, Stores, Txns, Undo, DEFAULT_LOCK_TIMEOUT,
};
pub use condafix_actor::RetryPolicy;
pub use condafix_prefix::{
    Action, HistoryEntry, Receipt, ReceiptEntry, RegistryEntry, BACKUP_DIR, JOURNAL_FILE,
    RECEIPT_FILE, RECEIPT_SCHEMA_VERSION, STATE_DIR,
};
pub use error::TxnError;
pub use fault::{Faults, ENV_FAULT_AFTER_STEP};
pub use journal::Checks;
pub use recovery::{check_state, pending_recovery, recover, Recovery, RecoveryOutcome};
pub use store::{FileScope, Placement, Store, StoreKind};
pub use target::{OutsideFiles, RegistryScope, Target};
pub use transaction::{Context, Transaction};
pub use undo::UndoOutcome;

/// Check the bytes of a journal as recovery would, acting on nothing (fuzzing).
pub fn check_journal_bytes(bytes: &[u8], checks: &Checks) -> Result<(), TxnError> {
    journal::parse_journal(bytes, std::path::Path::new("journal.json"), checks).map(|_| ())
}

/// Check the bytes of a receipt as `undo` would, acting on nothing (fuzzing).
pub fn check_receipt_bytes(bytes: &[u8], checks: &Checks) -> Result<(), TxnError> {
    let file = std::path::Path::new("receipt.json");
    let receipt = Receipt::parse(bytes, file)?;
    journal::check_receipt(receipt, file, checks).map(|_| ())
}
#[cfg(test)]
mod tests;
