//! Finishing what an interrupted run left in a store: the journal says what was being done; the
//! receipt says whether it was committed. Uncommitted changes are rolled back, through the same
//! store (its identity, its checks), so a journal can only undo what that store may change.

use std::path::PathBuf;

use condafix_actor::guard::{is_txn_id, RelPath};
use condafix_actor::{Location, NewMode, RetryPolicy, WriteOptions};
use condafix_prefix::registry::{Hive, RegValue, RegistryWrite};
use condafix_prefix::{TxnCommand, BACKUP_DIR};
use serde::Serialize;

use crate::files::{copy, hash_of, is_file};
use crate::journal::{
    journal_rel, load_journal, load_receipt, FileOp, Journal, JournalOp, OpKind, OpState,
};
use crate::store::Store;
use crate::{Context, TxnError};

/// What recovery did with a transaction an earlier run left unfinished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RecoveryOutcome {
    /// The receipt was not written: every change was undone.
    RolledBack,
    /// The receipt was written: only cleanup was left.
    Completed,
}

impl std::fmt::Display for RecoveryOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecoveryOutcome::RolledBack => "rolled back",
            RecoveryOutcome::Completed => "completed",
        })
    }
}

/// What recovery did (or, for `--dry-run`, would do) with an unfinished transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Recovery {
    /// Whose store: a prefix, a user's settings, the machine's.
    pub store: String,
    /// The state folder the journal was in.
    pub state: PathBuf,
    pub txn: String,
    pub command: TxnCommand,
    pub outcome: RecoveryOutcome,
    pub ops: usize,
}

/// The receipt is written atomically: when it already records this transaction, the
/// transaction completed and only its cleanup was interrupted.
fn committed(store: &Store, journal: &Journal) -> bool {
    journal.receipt_written
        || load_receipt(store).is_ok_and(|r| r.receipt.history.iter().any(|h| h.txn == journal.txn))
}

fn recovery(store: &Store, journal: &Journal, outcome: RecoveryOutcome) -> Recovery {
    Recovery {
        store: store.kind().to_string(),
        state: store.state_path(),
        txn: journal.txn.clone(),
        command: journal.command,
        outcome,
        ops: journal.ops.len(),
    }
}

/// What an unfinished transaction left, read and checked but not acted on (`--dry-run`).
pub fn pending_recovery(store: &Store) -> Result<Option<Recovery>, TxnError> {
    let Some((journal, _)) = load_journal(store)? else {
        return Ok(None);
    };
    let outcome = if committed(store, &journal) {
        RecoveryOutcome::Completed
    } else {
        RecoveryOutcome::RolledBack
    };
    Ok(Some(recovery(store, &journal, outcome)))
}

/// Check a store's state without acting on it (`--dry-run`): the journal and the receipt name
/// nothing this store may not change. Returns what recovery would do.
pub fn check_state(store: &Store) -> Result<Option<Recovery>, TxnError> {
    load_receipt(store)?;
    pending_recovery(store)
}

/// Finish what an interrupted run left in `store`: roll it back unless its receipt was already
/// written. A journal naming anything the store may not change is refused whole: nothing is
/// changed and the journal stays.
pub fn recover(store: &Store, cx: &Context<'_>) -> Result<Option<Recovery>, TxnError> {
    let Some((journal, ops)) = load_journal(store)? else {
        return Ok(None);
    };
    let state = store.state(false)?;
    let committed = committed(store, &journal);
    let outcome = if committed {
        RecoveryOutcome::Completed
    } else {
        rollback_ops(
            store,
            &state,
            &journal.ops,
            &ops,
            RetryPolicy::default(),
            cx.registry,
        )?;
        RecoveryOutcome::RolledBack
    };
    remove_stray_temp_files(store, &state, &ops);
    state.remove(&journal_rel(), RetryPolicy::default())?;
    if !committed {
        prune_backups(&state, &journal.txn);
    }
    Ok(Some(recovery(store, &journal, outcome)))
}

/// Undo `ops` in reverse: restore backups, remove what was created, put registry values back.
pub(crate) fn rollback_ops(
    store: &Store,
    state: &Location,
    ops: &[JournalOp],
    checked: &[Option<FileOp>],
    policy: RetryPolicy,
    registry: Option<&dyn RegistryWrite>,
) -> Result<(), TxnError> {
    for (op, file) in ops.iter().zip(checked).rev() {
        if let Some(r) = &op.registry {
            let reg = registry.ok_or_else(|| TxnError::NoRegistry {
                value: format!("{}\\{}\\{}", r.hive.short(), r.key, r.name),
            })?;
            restore_registry(store, reg, r.hive, &r.key, &r.name, r.before.as_ref())?;
            continue;
        }
        let Some(file) = file else { continue };
        let (loc, rel) = store.reach(&file.target)?;
        match (&file.backup, op.state >= OpState::BackedUp) {
            (Some(b), true) => {
                // The file as it was is in the backup (written atomically: whole or absent).
                // When the destination still holds those bytes (the write never happened),
                // leave it be: the copy would fail for the same reason the write did.
                let unchanged = is_file(&loc, &rel) && hash_of(&loc, &rel) == hash_of(state, b);
                if is_file(state, b)
                    && !unchanged
                    && (op.kind != OpKind::Adopt || !is_file(&loc, &rel))
                {
                    copy(state, b, &loc, &rel, &restore_options(op.mode, policy))?;
                }
            }
            _ => {
                if !op.existed && is_file(&loc, &rel) && hash_of(&loc, &rel) == op.new_sha256 {
                    // Created by this op: remove it.
                    loc.remove(&rel, policy)?;
                }
            }
        }
    }
    Ok(())
}

/// How a file is put back from its backup: with the permission bits it had.
pub(crate) fn restore_options(mode: Option<u32>, retry: RetryPolicy) -> WriteOptions {
    WriteOptions {
        mode: match mode {
            Some(m) => NewMode::Exactly(m),
            None => NewMode::KeepOr(0o644),
        },
        create_dirs: Some(0o755),
        retry,
    }
}

fn registry_error(e: condafix_prefix::registry::RegistryError) -> TxnError {
    let path = PathBuf::from(format!("{}\\{}\\{}", e.hive.short(), e.key, e.name));
    if e.source.kind() == std::io::ErrorKind::PermissionDenied {
        TxnError::Denied {
            path,
            source: e.source,
        }
    } else {
        TxnError::Write {
            path,
            source: e.source,
        }
    }
}

/// Read a registry value as the store's identity.
pub(crate) fn read_registry(
    store: &Store,
    reg: &dyn RegistryWrite,
    hive: Hive,
    key: &str,
    name: &str,
) -> Result<Option<RegValue>, TxnError> {
    store
        .identity()
        .act(|| reg.value(hive, key, name))
        .map_err(|e| TxnError::Fs(e.into()))?
        .map_err(registry_error)
}

/// Set (`Some`) or delete (`None`) a registry value, as the store's identity (a user's
/// environment is written with their rights).
pub(crate) fn restore_registry(
    store: &Store,
    reg: &dyn RegistryWrite,
    hive: Hive,
    key: &str,
    name: &str,
    value: Option<&RegValue>,
) -> Result<(), TxnError> {
    store
        .identity()
        .act(|| match value {
            Some(v) => reg.set_value(hive, key, name, v),
            None => reg.delete_value(hive, key, name),
        })
        .map_err(|e| TxnError::Fs(e.into()))?
        .map_err(registry_error)
}

/// Temp files an interrupted atomic write left in the folders a journal touched, and in the
/// state folder.
pub(crate) fn remove_stray_temp_files(store: &Store, state: &Location, ops: &[Option<FileOp>]) {
    for file in ops.iter().flatten() {
        if let Ok((loc, rel)) = store.reach(&file.target) {
            let parent: Vec<&str> = rel.components().collect();
            let parent = parent[..parent.len().saturating_sub(1)].join("/");
            match RelPath::parse(&parent) {
                Ok(p) => loc.remove_temp_files(Some(&p)),
                Err(_) => loc.remove_temp_files(None),
            }
        }
    }
    state.remove_temp_files(None);
}

/// Remove a rolled-back transaction's backup folder, and the backup folder when it is empty
/// (never following a link inside).
pub(crate) fn prune_backups(state: &Location, txn: &str) {
    if !is_txn_id(txn) {
        return;
    }
    if let Ok(rel) = RelPath::parse(&format!("{BACKUP_DIR}/{txn}")) {
        state.remove_tree(&rel, 100_000);
    }
    if let Ok(rel) = RelPath::parse(BACKUP_DIR) {
        state.remove_empty_dir(&rel);
    }
}
