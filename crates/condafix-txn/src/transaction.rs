//! A transaction over one store: journalled in the store's state folder before every step,
//! rolled back on failure (or, after a crash, by the next run), committed into the store's
//! receipt. Every file it touches is a [`Target`] the store may change, reached through the
//! store's location (its identity, no link followed); every path it reads back from the state
//! folder goes through the checks in `journal.rs`.

use std::io::Read;
use std::path::PathBuf;

use condafix_actor::guard::RelPath;
use condafix_actor::{Kind, Location, RetryPolicy, WriteOptions};
use condafix_prefix::registry::{Hive, RegValue, RegistryWrite};
use condafix_prefix::safe_read::MAX_DLL_BYTES;
use condafix_prefix::{Sha256, TxnCommand};

use crate::files::{self, hash, write_stream};
use crate::journal::{
    journal_rel, load_receipt, receipt_rel, FileOp, Journal, JournalOp, OpKind, OpState, RegistryOp,
};
use crate::recovery::{
    prune_backups, read_registry, recover, remove_stray_temp_files, restore_registry, rollback_ops,
    Recovery,
};
use crate::store::{Reach, Store};
use crate::target::Target;
use crate::{Action, Faults, HistoryEntry, Receipt, ReceiptEntry, TxnError};

/// What a transaction may use besides its store: the faults to inject (tests) and the registry
/// to change and roll back (`None`: registry changes are refused).
#[derive(Clone, Copy)]
pub struct Context<'f> {
    pub faults: &'f Faults,
    pub registry: Option<&'f dyn RegistryWrite>,
}

/// A file's backup: where it is in the state folder and the hash of the bytes it holds.
pub(crate) type Backup = Option<(RelPath, Sha256)>;

/// One transaction over one store.
pub struct Transaction<'f> {
    pub(crate) store: &'f Store,
    pub(crate) state: Location,
    pub(crate) journal: Journal,
    /// Per journal op: what it points at (`None` for registry ops).
    files: Vec<Option<FileOp>>,
    pub(crate) receipt: Receipt,
    /// Per receipt entry, checked when the receipt was loaded.
    pub(crate) receipt_files: Vec<FileOp>,
    pub(crate) cx: Context<'f>,
    pub(crate) policy: RetryPolicy,
    committed: bool,
    /// Backups made only so this transaction can roll back (of bytes condafix itself wrote
    /// earlier); deleted on commit.
    pub(crate) rollback_only: Vec<RelPath>,
    /// The receipt's entries as loaded, to tell whether this transaction changed them.
    loaded_entries: Vec<ReceiptEntry>,
    loaded_registry: Vec<crate::RegistryEntry>,
    /// In a user's or the machine's store: the prefix the changes are made for.
    pub(crate) for_prefix: Option<String>,
}

/// The options files are written with: their permission bits kept, new ones 0o644.
fn public(policy: RetryPolicy) -> WriteOptions {
    WriteOptions {
        retry: policy,
        ..WriteOptions::public()
    }
}

impl<'f> Transaction<'f> {
    /// Start a transaction in `store`; an interrupted one is finished first (and reported). The
    /// receipt is read and checked: a receipt naming anything the store may not change refuses
    /// the transaction, before anything changes. `for_prefix`: in a user's or the machine's
    /// store, the prefix the changes are made for (kept in the receipt for `undo --prefix`).
    pub fn begin(
        store: &'f Store,
        command: TxnCommand,
        cx: Context<'f>,
        for_prefix: Option<String>,
    ) -> Result<(Self, Option<Recovery>), TxnError> {
        let recovery = recover(store, &cx)?;
        let checked = load_receipt(store)?;
        let state = store.state(true)?;
        let txn = checked.receipt.next_txn_id();
        Ok((
            Self {
                store,
                state,
                journal: Journal {
                    txn,
                    command,
                    ops: Vec::new(),
                    receipt_written: false,
                },
                files: Vec::new(),
                loaded_entries: checked.receipt.entries.clone(),
                loaded_registry: checked.receipt.registry.clone(),
                receipt: checked.receipt,
                receipt_files: checked.entries,
                cx,
                policy: RetryPolicy::default(),
                committed: false,
                rollback_only: Vec::new(),
                for_prefix: if store.prefix().is_some() {
                    None
                } else {
                    for_prefix
                },
            },
            recovery,
        ))
    }

    pub fn receipt(&self) -> &Receipt {
        &self.receipt
    }

    pub fn txn(&self) -> &str {
        &self.journal.txn
    }

    pub fn store(&self) -> &Store {
        self.store
    }

    /// Changes made so far.
    pub fn changes(&self) -> usize {
        self.journal.ops.len()
    }

    pub(crate) fn persist(&self, step: &str) -> Result<(), TxnError> {
        let text = serde_json::to_vec_pretty(&self.journal).expect("journal serializes");
        self.state
            .write(&journal_rel(), &text, &state_options(self.policy))?;
        self.cx.faults.step(step);
        Ok(())
    }

    pub(crate) fn push_op(&mut self, op: JournalOp, file: Option<FileOp>) {
        self.journal.ops.push(op);
        self.files.push(file);
    }

    /// Set (`Some`) or delete (`None`) a registry value, journalled; the receipt keeps the
    /// value as it was before condafix first changed it, with its type. Only the values of
    /// this store's own environment may change.
    pub fn set_registry(
        &mut self,
        hive: Hive,
        key: &str,
        name: &str,
        after: Option<RegValue>,
        origin: &str,
    ) -> Result<(), TxnError> {
        let shown = format!("{}\\{key}\\{name}", hive.short());
        if !self.store.registry_scope().allows(hive, key, name) {
            return Err(TxnError::Refused {
                file: PathBuf::from(&shown),
                field: "registry value".into(),
                why: format!(
                    "condafix only writes Path and the TLS variables of the environment, each through the store it belongs to ({} here)",
                    self.store.kind()
                ),
            });
        }
        let reg = self.cx.registry.ok_or_else(|| TxnError::NoRegistry {
            value: shown.clone(),
        })?;
        let before = read_registry(self.store, reg, hive, key, name)?;
        if before == after {
            return Ok(());
        }
        self.push_op(
            JournalOp {
                path: shown,
                kind: OpKind::Registry,
                new_sha256: None,
                backup: None,
                existed: before.is_some(),
                mode: None,
                state: OpState::Pending,
                registry: Some(RegistryOp {
                    hive,
                    key: key.to_string(),
                    name: name.to_string(),
                    before: before.clone(),
                    after: after.clone(),
                }),
            },
            None,
        );
        self.persist("journal: registry change planned")?;
        restore_registry(self.store, reg, hive, key, name, after.as_ref())?;
        self.cx.faults.step("registry written");
        self.finish_op()?;
        let txn = self.journal.txn.clone();
        // One entry per value and prefix: in a user's or the machine's store, each prefix's
        // change is stacked on the ones before it (its `before` is what they left), so each
        // prefix's undo takes back its own change.
        // Only the newest entry of a value can still be changed in place, and only if it is
        // this prefix's.
        match self
            .receipt
            .registry
            .iter()
            .rposition(|e| e.same_value(hive, key, name))
            .filter(|&i| self.mine(self.receipt.registry[i].for_prefix.as_deref()))
        {
            Some(i) => {
                if self.receipt.registry[i].before == after {
                    self.receipt.registry.remove(i);
                } else {
                    self.receipt.registry[i].after = after;
                    self.receipt.registry[i].origin = origin.to_string();
                }
            }
            None => self.receipt.registry.push(crate::RegistryEntry {
                hive,
                key: key.to_string(),
                name: name.to_string(),
                before,
                after,
                origin: origin.to_string(),
                txn,
                for_prefix: self.for_prefix.clone(),
            }),
        }
        Ok(())
    }

    /// Journal an op on `target`, and back up the file there when there is one. A link or a
    /// special file at the target is refused before anything changes.
    fn start_op(
        &mut self,
        target: &Target,
        kind: OpKind,
        new_sha256: Option<Sha256>,
    ) -> Result<(Reach<'f>, RelPath, Backup), TxnError> {
        let (loc, rel) = self.store.reach(target)?;
        let existing = loc.stat(&rel)?;
        let shown = rel.under(loc.root());
        let mode = match &existing {
            None => None,
            Some(m) if m.kind == Kind::File => Some(m.unix_mode),
            Some(m) if m.kind == Kind::Link => {
                return Err(TxnError::Fs(condafix_actor::FsError::Link { path: shown }))
            }
            Some(m) => {
                return Err(TxnError::Fs(condafix_actor::FsError::NotAFile {
                    path: shown,
                    kind: m.kind.word(),
                }))
            }
        };
        let existed = existing.is_some();
        let backup = existed.then(|| target.backup_rel(&self.journal.txn));
        self.push_op(
            JournalOp {
                path: target.text(),
                kind,
                new_sha256,
                backup: backup.as_ref().map(|b| b.as_str().to_string()),
                existed,
                mode: mode.filter(|_| cfg!(unix)),
                state: OpState::Pending,
                registry: None,
            },
            Some(FileOp {
                target: target.clone(),
                backup: backup.clone(),
            }),
        );
        self.persist("journal: op planned")?;
        let mut backed_up = None;
        if let Some(b) = backup {
            let (sha, _) = files::copy(&loc, &rel, &self.state, &b, &state_options(self.policy))?;
            self.cx.faults.step("backup written");
            self.journal.ops.last_mut().expect("op").state = OpState::BackedUp;
            self.persist("journal: backed up")?;
            backed_up = Some((b, sha));
        }
        Ok((loc, rel, backed_up))
    }

    pub(crate) fn finish_op(&mut self) -> Result<(), TxnError> {
        self.journal.ops.last_mut().expect("op").state = OpState::Done;
        self.persist("journal: op done")
    }

    /// Whether a receipt entry made for `entry_prefix` is this transaction's prefix's (in a
    /// prefix's store, every entry is).
    fn mine(&self, entry_prefix: Option<&str>) -> bool {
        match (entry_prefix, self.for_prefix.as_deref()) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => a == b,
        }
    }

    /// Record in the receipt what an op did, relative to the original state.
    fn track(
        &mut self,
        target: &Target,
        after: Option<(Sha256, u64)>,
        backup: Backup,
        origin: &str,
    ) {
        let txn = self.journal.txn.clone();
        let mode = self.journal.ops.last().and_then(|o| o.mode);
        // As for registry values: one entry per file and prefix, a later prefix's change
        // stacked on the earlier ones (its backup holds what they left).
        if let Some(i) = self
            .receipt
            .entries
            .iter()
            .rposition(|e| target.same(&e.path))
            .filter(|&i| self.mine(self.receipt.entries[i].for_prefix.as_deref()))
        {
            // condafix already changed this path for this prefix: the original backup stays the
            // one to undo to; this transaction's backup (of condafix's own bytes) is only for
            // rollback.
            if let Some((b, _)) = &backup {
                self.rollback_only.push(b.clone());
            }
            let e = &mut self.receipt.entries[i];
            match (e.action, after) {
                (Action::Created, None) => {
                    self.receipt.entries.remove(i);
                    self.receipt_files.remove(i);
                }
                (_, None) => {
                    e.action = Action::Removed;
                    e.sha256 = None;
                    e.size = None;
                    e.origin = origin.to_string();
                }
                (action, Some((sha, size))) => {
                    e.action = if action == Action::Removed {
                        Action::Replaced
                    } else {
                        action
                    };
                    e.sha256 = Some(sha);
                    e.size = Some(size);
                    e.origin = origin.to_string();
                }
            }
            return;
        }
        let action = match (&backup, after) {
            (None, _) => Action::Created,
            (Some(_), Some(_)) => Action::Replaced,
            (Some(_), None) => Action::Removed,
        };
        self.receipt.entries.push(ReceiptEntry {
            path: target.text(),
            action,
            sha256: after.map(|(s, _)| s),
            size: after.map(|(_, n)| n),
            backup_sha256: backup.as_ref().map(|(_, s)| *s),
            backup: backup.as_ref().map(|(b, _)| b.as_str().to_string()),
            mode,
            origin: origin.to_string(),
            txn,
            for_prefix: self.for_prefix.clone(),
        });
        self.receipt_files.push(FileOp {
            target: target.clone(),
            backup: backup.map(|(b, _)| b),
        });
    }

    /// Check what is there now against what was meant to be written.
    fn verify_written(loc: &Location, rel: &RelPath, expected: Sha256) -> Result<(), TxnError> {
        let actual = hash(loc, rel)?.0;
        if actual != expected {
            return Err(TxnError::VerifyAfterWrite {
                path: rel.under(loc.root()),
                expected,
                actual,
            });
        }
        Ok(())
    }

    pub(crate) fn write_from_inner(
        &mut self,
        target: &Target,
        source: &mut dyn Read,
        expected: Sha256,
    ) -> Result<(u64, Backup), TxnError> {
        let (loc, rel, backup) = self.start_op(target, OpKind::Write, Some(expected))?;
        let shown = rel.under(loc.root());
        let (_, size) = write_stream(
            &loc,
            &rel,
            source,
            &public(self.policy),
            MAX_DLL_BYTES,
            |actual, _| {
                if actual == expected {
                    Ok(())
                } else {
                    Err(TxnError::VerifyAfterWrite {
                        path: shown.clone(),
                        expected,
                        actual,
                    })
                }
            },
        )?;
        self.cx.faults.step("file written");
        Self::verify_written(&loc, &rel, expected)?;
        self.finish_op()?;
        Ok((size, backup))
    }

    /// Write `bytes` at `target`, backing up what is there.
    pub fn write(&mut self, target: &Target, bytes: &[u8], origin: &str) -> Result<(), TxnError> {
        let sha = Sha256::of_bytes(bytes);
        let (size, backup) = self.write_from_inner(target, &mut &bytes[..], sha)?;
        self.track(target, Some((sha, size)), backup, origin);
        Ok(())
    }

    /// Stream `source` into `target`, backing up what is there; the bytes must hash to
    /// `expected` (checked before the file takes its place, and again after).
    pub fn write_from(
        &mut self,
        target: &Target,
        source: &mut dyn Read,
        expected: Sha256,
        origin: &str,
    ) -> Result<(), TxnError> {
        let (size, backup) = self.write_from_inner(target, source, expected)?;
        self.track(target, Some((expected, size)), backup, origin);
        Ok(())
    }

    /// Take over an existing file whose bytes are already right: back it up and record it, so
    /// that later runs refresh it and `undo` knows it (it leaves the file where it is).
    pub fn adopt(&mut self, target: &Target, origin: &str) -> Result<(), TxnError> {
        let (loc, rel, backup) = self.start_op(target, OpKind::Adopt, None)?;
        let size = loc.stat(&rel)?.map(|m| m.len).unwrap_or(0);
        let sha = backup.as_ref().map(|(_, s)| *s);
        self.finish_op()?;
        if let Some(sha) = sha {
            self.track(target, Some((sha, size)), backup, origin);
        }
        Ok(())
    }

    pub(crate) fn remove_inner(&mut self, target: &Target) -> Result<Backup, TxnError> {
        let (loc, rel, backup) = self.start_op(target, OpKind::Remove, None)?;
        loc.remove(&rel, self.policy)?;
        self.cx.faults.step("file removed");
        self.finish_op()?;
        Ok(backup)
    }

    /// Remove the file at `target`, backing it up.
    pub fn remove(&mut self, target: &Target, origin: &str) -> Result<(), TxnError> {
        let backup = self.remove_inner(target)?;
        self.track(target, None, backup, origin);
        Ok(())
    }

    /// Persist the receipt and end the transaction. With no change, nothing is written.
    pub fn commit(mut self) -> Result<Receipt, TxnError> {
        let changed = !self.journal.ops.is_empty()
            || self.receipt.entries != self.loaded_entries
            || self.receipt.registry != self.loaded_registry;
        if changed {
            self.receipt.history.push(HistoryEntry {
                txn: self.journal.txn.clone(),
                command: self.journal.command,
                changes: self.journal.ops.len(),
            });
            let text = serde_json::to_vec_pretty(&self.receipt).expect("receipt serializes");
            self.state
                .write(&receipt_rel(), &text, &state_options(self.policy))?;
            self.cx.faults.step("receipt written");
            if !self.journal.ops.is_empty() {
                self.journal.receipt_written = true;
                self.persist("journal: committed")?;
                self.state.remove(&journal_rel(), self.policy)?;
                self.cx.faults.step("journal removed");
            }
        }
        for p in std::mem::take(&mut self.rollback_only) {
            let _ = self.state.remove(&p, self.policy);
        }
        self.committed = true;
        Ok(self.receipt.clone())
    }

    /// Undo every change this transaction made, now, and say whether that worked. When it did
    /// not, the journal stays and the next run finishes the rollback.
    pub fn rollback(mut self) -> Result<(), TxnError> {
        self.committed = true; // Drop has nothing left to do.
        self.rollback_now()
    }

    fn rollback_now(&mut self) -> Result<(), TxnError> {
        if self.journal.ops.is_empty() {
            return Ok(());
        }
        rollback_ops(
            self.store,
            &self.state,
            &self.journal.ops,
            &self.files,
            self.policy,
            self.cx.registry,
        )
        .map_err(|e| TxnError::RollbackFailed {
            journal: self.state.root().join(condafix_prefix::JOURNAL_FILE),
            source: Box::new(e),
        })?;
        remove_stray_temp_files(self.store, &self.state, &self.files);
        let _ = self.state.remove(&journal_rel(), self.policy);
        prune_backups(&self.state, &self.journal.txn);
        Ok(())
    }
}

/// condafix's own state files: owner-only.
pub(crate) fn state_options(policy: RetryPolicy) -> WriteOptions {
    WriteOptions {
        retry: policy,
        ..WriteOptions::private()
    }
}

/// A transaction dropped without `commit` (a panic, an early return) rolls back as best it can;
/// what it cannot undo stays in the journal for the next run.
impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let _ = self.rollback_now();
        }
    }
}
