//! The one apply path: every change condafix makes to a prefix goes through a [`Session`]: the
//! prefix is locked (one condafix at a time), what an interrupted run left is recovered, and the
//! plan is applied in one transaction with the registry attached from the start, so that a
//! failure (or a kill, via the next run's recovery) rolls back files and registry values alike.

use condafix_prefix::TxnCommand;
use std::path::{Path, PathBuf};
use std::time::Duration;

use condafix_prefix::registry::RegistryWrite;

use crate::lock::PrefixLock;
use crate::{recover, Context, Recovery, Transaction, TxnError};

/// How long a run waits for another condafix that holds the same prefix.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// One part of a plan: changes made through a transaction, and effects after it commits.
pub trait Changes {
    /// Make the changes through `t`: every write atomic, journalled, backed up.
    fn apply(&self, t: &mut Transaction<'_>) -> Result<(), TxnError>;

    /// After the transaction committed: effects that are not undone (a line for later GitHub
    /// steps) or that only announce a change (`WM_SETTINGCHANGE`).
    fn after_commit(&self, _registry: Option<&dyn RegistryWrite>) -> Result<(), TxnError> {
        Ok(())
    }
}

/// What applying did to one prefix.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Applied {
    pub prefix: PathBuf,
    pub changes: usize,
    /// The transaction id, when something changed.
    pub txn: Option<String>,
    /// An interrupted earlier run that was rolled back (or finished) first.
    pub recovered: Option<Recovery>,
}

/// A prefix held for changes: locked from recovery to commit.
#[derive(Debug)]
pub struct Session {
    prefix: PathBuf,
    _lock: Option<PrefixLock>,
    /// What an interrupted run left, and what recovery did with it.
    pub recovered: Option<Recovery>,
}

impl Session {
    /// Lock `prefix` (waiting up to `timeout` for another condafix) and recover what an
    /// interrupted run left. A prefix this user cannot write is not locked (nothing here can
    /// change it either; any write fails with "needs elevation").
    pub fn open(
        prefix: &Path,
        command: TxnCommand,
        cx: &Context<'_>,
        timeout: Duration,
    ) -> Result<Self, TxnError> {
        let lock = PrefixLock::acquire(prefix, command, timeout)?;
        let recovered = if lock.is_some() {
            recover(prefix, cx)?
        } else {
            None
        };
        Ok(Self {
            prefix: prefix.to_path_buf(),
            _lock: lock,
            recovered,
        })
    }

    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// Apply `parts` in one transaction named `command`: all of it, or (on any failure) none
    /// of it.
    pub fn apply(
        &self,
        command: TxnCommand,
        parts: &[&dyn Changes],
        cx: &Context<'_>,
    ) -> Result<Applied, TxnError> {
        let (mut t, recovered) = Transaction::begin(&self.prefix, command, *cx)?;
        let txn = t.txn().to_string();
        for part in parts {
            if let Err(e) = part.apply(&mut t) {
                // Report the failure; a rollback that fails too is reported instead (it is the
                // more urgent: the prefix is half-changed until the next run).
                t.rollback()?;
                return Err(e);
            }
        }
        let changes = t.changes();
        t.commit()?;
        for part in parts {
            part.after_commit(cx.registry)?;
        }
        Ok(Applied {
            prefix: self.prefix.clone(),
            changes,
            txn: (changes > 0).then_some(txn),
            recovered: recovered.or_else(|| self.recovered.clone()),
        })
    }
}

/// Lock, recover and apply in one call (a library user's shortcut for one prefix).
pub fn apply(
    prefix: &Path,
    command: TxnCommand,
    parts: &[&dyn Changes],
    cx: &Context<'_>,
) -> Result<Applied, TxnError> {
    Session::open(prefix, command, cx, DEFAULT_LOCK_TIMEOUT)?.apply(command, parts, cx)
}

/// `undo` as a plan part: every change in the receipt reversed, newest first, inside the same
/// transaction path as any other change. What it did is read with [`Undo::outcome`].
#[derive(Debug, Default)]
pub struct Undo {
    outcome: std::cell::RefCell<crate::UndoOutcome>,
}

impl Undo {
    pub fn outcome(&self) -> crate::UndoOutcome {
        self.outcome.borrow().clone()
    }
}

impl Changes for Undo {
    fn apply(&self, t: &mut Transaction<'_>) -> Result<(), TxnError> {
        *self.outcome.borrow_mut() = t.undo_all()?;
        Ok(())
    }

    fn after_commit(&self, registry: Option<&dyn RegistryWrite>) -> Result<(), TxnError> {
        let registry_restored = self
            .outcome
            .borrow()
            .restored
            .iter()
            .any(|p| p.starts_with("HK"));
        if let (true, Some(r)) = (registry_restored, registry) {
            r.broadcast_environment_change();
        }
        Ok(())
    }
}
