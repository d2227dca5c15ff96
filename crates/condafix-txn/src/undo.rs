//! `undo`: every change in a store's receipt reversed, newest first, through the same
//! transaction path as any other change. A file changed by someone else since condafix wrote it
//! is left alone and named.

use serde::Serialize;

use crate::files::{hash_of, is_file};
use crate::journal::{FileOp, JournalOp, OpKind, OpState, RegistryOp};
use crate::recovery::{read_registry, restore_options, restore_registry};
use crate::{Action, ReceiptEntry, Transaction, TxnError};

/// What `undo` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct UndoOutcome {
    /// Put back as they were (from their backups), or registry values restored.
    pub restored: Vec<String>,
    /// Created by condafix, now removed.
    pub removed: Vec<String>,
    /// Adopted (taken into the receipt without a byte changed): out of the receipt, the file
    /// left as it is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
    /// Changed by someone else since condafix wrote them: not clobbered.
    pub left_alone: Vec<String>,
    /// The backup to restore from is gone or damaged.
    pub backup_missing: Vec<String>,
}

impl UndoOutcome {
    /// Add another store's outcome to this one.
    pub fn extend(&mut self, other: UndoOutcome) {
        self.restored.extend(other.restored);
        self.removed.extend(other.removed);
        self.kept.extend(other.kept);
        self.left_alone.extend(other.left_alone);
        self.backup_missing.extend(other.backup_missing);
    }
}

impl Transaction<'_> {
    /// Whether a receipt entry belongs to what is undone: everything in a prefix's store; in a
    /// user's or the machine's, the entries made for `for_prefix` (all of them when `None`).
    fn selected(&self, entry_prefix: Option<&str>, only: Option<&str>) -> bool {
        match (self.store.prefix(), only) {
            (Some(_), _) | (None, None) => true,
            (None, Some(p)) => entry_prefix.is_some_and(|e| e.eq_ignore_ascii_case(p)),
        }
    }

    /// Undo every change in the receipt (in a user's or the machine's store, those made for
    /// `only` when given), newest first.
    pub fn undo_all(&mut self, only: Option<&str>) -> Result<UndoOutcome, TxnError> {
        let mut outcome = UndoOutcome::default();
        let entries: Vec<(usize, ReceiptEntry, FileOp)> = self
            .receipt
            .entries
            .iter()
            .cloned()
            .zip(self.receipt_files.iter().cloned())
            .enumerate()
            .filter(|(_, (e, _))| self.selected(e.for_prefix.as_deref(), only))
            .map(|(i, (e, f))| (i, e, f))
            .rev()
            .collect();
        for (i, e, file) in &entries {
            if self.undo_entry(e, file, &mut outcome)? {
                self.hand_over(*i);
            }
        }
        for (i, _, _) in &entries {
            // Newest first: the indexes stay valid.
            self.receipt.entries.remove(*i);
            self.receipt_files.remove(*i);
        }
        self.undo_registry(only, &mut outcome)?;
        Ok(outcome)
    }

    /// Undo one entry; `true` when it was left alone (changed since condafix wrote it).
    fn undo_entry(
        &mut self,
        e: &ReceiptEntry,
        file: &FileOp,
        outcome: &mut UndoOutcome,
    ) -> Result<bool, TxnError> {
        let (loc, rel) = self.store.reach(&file.target)?;
        let current = if is_file(&loc, &rel) {
            hash_of(&loc, &rel)
        } else {
            None
        };
        // The original, when there was one: its backup, checked against the recorded hash.
        let original = match (&file.backup, e.backup_sha256) {
            (Some(b), Some(sha)) => {
                if hash_of(&self.state, b) != Some(sha) {
                    outcome.backup_missing.push(e.path.clone());
                    return Ok(false);
                }
                Some((b.clone(), sha))
            }
            _ => None,
        };
        let ours = current.is_some() && current == e.sha256;
        let already_original = match &original {
            Some((_, sha)) => current == Some(*sha),
            None => current.is_none(),
        };
        let done = if already_original {
            true
        } else if ours || (e.action == Action::Removed && current.is_none()) {
            match &original {
                Some((b, sha)) => {
                    let mut source = self.state.open_file(b)?;
                    self.restore_inner(&file.target, &mut source, *sha, e.mode)?;
                }
                None => {
                    if let Some((b, _)) = self.remove_inner(&file.target)? {
                        // The bytes condafix had written: kept only for this transaction.
                        self.rollback_only.push(b);
                    }
                }
            }
            true
        } else {
            outcome.left_alone.push(e.path.clone());
            false
        };
        if done {
            let adopted = e.sha256.is_some() && e.sha256 == e.backup_sha256;
            match original {
                Some(_) if adopted => outcome.kept.push(e.path.clone()),
                Some(_) => outcome.restored.push(e.path.clone()),
                None => outcome.removed.push(e.path.clone()),
            }
        }
        if let (Some(b), true) = (&file.backup, done) {
            self.rollback_only.push(b.clone());
        }
        Ok(!done)
    }

    /// Entry `i` was left alone because a later prefix's change (a later entry for the same
    /// file, whose original is what entry `i` left) sits on it: that later entry takes over
    /// entry `i`'s original, so its undo puts the file back as it was before either change.
    fn hand_over(&mut self, i: usize) {
        let e = self.receipt.entries[i].clone();
        let file = self.receipt_files[i].clone();
        let Some(j) = (i + 1..self.receipt.entries.len()).find(|&j| {
            let n = &self.receipt.entries[j];
            file.target.same(&n.path) && n.backup_sha256.is_some() && n.backup_sha256 == e.sha256
        }) else {
            return;
        };
        if let Some(b) = self.receipt_files[j].backup.take() {
            // The later change's own original (the bytes entry `i` left) is not needed any more.
            self.rollback_only.push(b);
        }
        let n = &mut self.receipt.entries[j];
        n.action = match (&e.backup, n.sha256) {
            (None, _) => Action::Created,
            (Some(_), Some(_)) => Action::Replaced,
            (Some(_), None) => Action::Removed,
        };
        n.backup = e.backup;
        n.backup_sha256 = e.backup_sha256;
        n.mode = e.mode;
        // A backup lives in the folder of the transaction that made it.
        n.txn = e.txn;
        self.receipt_files[j].backup = file.backup;
    }

    /// Put the original bytes (and permission bits) back at `target`, journalled like a write.
    fn restore_inner(
        &mut self,
        target: &crate::Target,
        source: &mut dyn std::io::Read,
        expected: condafix_prefix::Sha256,
        mode: Option<u32>,
    ) -> Result<(), TxnError> {
        let (loc, rel) = self.store.reach(target)?;
        let backup = if is_file(&loc, &rel) {
            let b = target.backup_rel(&self.journal.txn);
            Some(b)
        } else {
            None
        };
        self.push_op(
            JournalOp {
                path: target.text(),
                kind: OpKind::Write,
                new_sha256: Some(expected),
                backup: backup.as_ref().map(|b| b.as_str().to_string()),
                existed: backup.is_some(),
                mode,
                state: OpState::Pending,
                registry: None,
            },
            Some(FileOp {
                target: target.clone(),
                backup: backup.clone(),
            }),
        );
        self.persist("journal: restore planned")?;
        if let Some(b) = &backup {
            crate::files::copy(
                &loc,
                &rel,
                &self.state,
                b,
                &crate::transaction::state_options(self.policy),
            )?;
            self.journal.ops.last_mut().expect("op").state = OpState::BackedUp;
            self.persist("journal: backed up")?;
            self.rollback_only.push(b.clone());
        }
        let shown = rel.under(loc.root());
        crate::files::write_stream(
            &loc,
            &rel,
            source,
            &restore_options(mode, self.policy),
            condafix_prefix::safe_read::MAX_DLL_BYTES,
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
        self.finish_op()
    }

    fn undo_registry(
        &mut self,
        only: Option<&str>,
        outcome: &mut UndoOutcome,
    ) -> Result<(), TxnError> {
        let values: Vec<(usize, crate::RegistryEntry)> = self
            .receipt
            .registry
            .iter()
            .cloned()
            .enumerate()
            .filter(|(_, e)| self.selected(e.for_prefix.as_deref(), only))
            .rev()
            .collect();
        for (i, e) in &values {
            let shown = format!("{}\\{}\\{}", e.hive.short(), e.key, e.name);
            let Some(reg) = self.cx.registry else {
                outcome.left_alone.push(shown);
                continue;
            };
            let current = read_registry(self.store, reg, e.hive, &e.key, &e.name)?;
            if current == e.before {
                outcome.restored.push(shown);
            } else if current == e.after {
                self.push_op(
                    JournalOp {
                        path: shown.clone(),
                        kind: OpKind::Registry,
                        new_sha256: None,
                        backup: None,
                        existed: current.is_some(),
                        mode: None,
                        state: OpState::Pending,
                        registry: Some(RegistryOp {
                            hive: e.hive,
                            key: e.key.clone(),
                            name: e.name.clone(),
                            before: current.clone(),
                            after: e.before.clone(),
                        }),
                    },
                    None,
                );
                self.persist("journal: registry restore planned")?;
                restore_registry(self.store, reg, e.hive, &e.key, &e.name, e.before.as_ref())?;
                self.finish_op()?;
                outcome.restored.push(shown);
            } else {
                outcome.left_alone.push(shown);
                // A later prefix's change stacked on this one: when that one is undone, the
                // value goes back to what it was before this change too.
                if let Some(next) = self.receipt.registry[i + 1..]
                    .iter_mut()
                    .find(|n| n.same_value(e.hive, &e.key, &e.name) && n.before == e.after)
                {
                    next.before = e.before.clone();
                }
            }
            self.receipt.registry.remove(*i);
        }
        Ok(())
    }
}
