//! A transaction over a prefix's files: journalled on disk before every step, rolled back on
//! failure (or, after a crash, by the next run), committed into the receipt. Every path it
//! touches is a checked [`Target`]; every path it reads back from `.condafix` (journal,
//! receipt, backups) goes through the guard first (`journal.rs`).

use condafix_prefix::TxnCommand;
use std::io::Read;
use std::path::{Path, PathBuf};

use condafix_prefix::guard::{self, RelPath};
use condafix_prefix::registry::{Hive, RegValue, RegistryWrite};
use condafix_prefix::safe_read::{self, MAX_DLL_BYTES};
use condafix_prefix::{Sha256, BACKUP_DIR, STATE_DIR};
use serde::Serialize;

#[cfg(test)]
use crate::journal::check_op;
use crate::journal::{
    journal_path, load_journal, load_receipt, FileOp, Journal, JournalOp, OpKind, OpState,
    RegistryOp,
};
use crate::target::{registry_value_allowed, OutsideFiles, Target};
use crate::{
    copy_atomic, remove_with_retry, write_atomic, write_stream_checked, Action, Faults,
    HistoryEntry, Receipt, ReceiptEntry, RetryPolicy, TxnError,
};

/// What a transaction may touch and how: the faults to inject (tests), the registry to change
/// and roll back (`None`: registry changes are refused), the files outside the prefix it may
/// write.
#[derive(Clone, Copy)]
pub struct Context<'f> {
    pub faults: &'f Faults,
    pub registry: Option<&'f dyn RegistryWrite>,
    pub outside: &'f OutsideFiles,
}

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
    pub prefix: PathBuf,
    pub txn: String,
    pub command: TxnCommand,
    pub outcome: RecoveryOutcome,
    pub ops: usize,
}

fn save_receipt(receipt: &Receipt, prefix: &Path) -> Result<(), TxnError> {
    let rel = RelPath::parse(&format!("{STATE_DIR}/{}", condafix_prefix::RECEIPT_FILE))
        .expect("the receipt path is valid");
    let path = guard::no_links_below(prefix, &rel).map_err(|link| TxnError::Link { link })?;
    let text = serde_json::to_vec_pretty(receipt).expect("receipt serializes");
    write_atomic(&path, &text, RetryPolicy::default())
}

/// Remove condafix's state folders when a rollback left them empty, so that a transaction that
/// changed nothing leaves nothing behind. Folders that still hold anything stay.
fn prune_state_dirs(prefix: &Path, txn: &str) {
    let state = prefix.join(STATE_DIR);
    if guard::is_link(&state) || !guard::is_txn_id(txn) {
        return;
    }
    let backup = state.join(BACKUP_DIR);
    if !guard::is_link(&backup) {
        let _ = fs_err::remove_dir_all(backup.join(txn));
        let _ = fs_err::remove_dir(&backup);
    }
    let _ = fs_err::remove_dir(&state);
}

/// Temp files an interrupted atomic write left in the folders a journal touched.
fn remove_stray_temp_files(prefix: &Path, ops: &[Option<FileOp>]) {
    let mut dirs: Vec<PathBuf> = ops
        .iter()
        .flatten()
        .filter_map(|op| op.target.resolve(prefix).ok())
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    dirs.push(prefix.join(STATE_DIR));
    dirs.sort();
    dirs.dedup();
    for d in dirs.into_iter().filter(|d| !guard::is_link(d)) {
        let Ok(rd) = fs_err::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().contains(".condafix-tmp-") {
                let _ = fs_err::remove_file(e.path());
            }
        }
    }
}

/// The hash of a file that is there, not a link, and not larger than any file condafix writes.
fn hash_of(path: &Path) -> Option<Sha256> {
    safe_read::hash(path, MAX_DLL_BYTES).ok().map(|(h, _)| h)
}

fn is_file(path: &Path) -> bool {
    fs_err::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

/// What an unfinished transaction left, read and checked but not acted on (`--dry-run`).
pub fn pending_recovery(
    prefix: &Path,
    outside: &OutsideFiles,
) -> Result<Option<Recovery>, TxnError> {
    let Some((journal, _)) = load_journal(prefix, outside)? else {
        return Ok(None);
    };
    let committed = committed(prefix, &journal);
    Ok(Some(Recovery {
        prefix: prefix.to_path_buf(),
        txn: journal.txn,
        command: journal.command,
        outcome: if committed {
            RecoveryOutcome::Completed
        } else {
            RecoveryOutcome::RolledBack
        },
        ops: journal.ops.len(),
    }))
}

/// Check condafix's state in a prefix without acting on it (`--dry-run`): the state folder is
/// not a link, the journal and the receipt name nothing the guard refuses. Returns what
/// recovery would do.
pub fn check_state(prefix: &Path, outside: &OutsideFiles) -> Result<Option<Recovery>, TxnError> {
    let state = prefix.join(STATE_DIR);
    if guard::is_link(&state) {
        return Err(TxnError::Link {
            link: guard::LinkFound { link: state },
        });
    }
    load_receipt(prefix, outside)?;
    pending_recovery(prefix, outside)
}

/// The receipt is written atomically: when it already records this transaction, the
/// transaction completed and only its cleanup was interrupted.
fn committed(prefix: &Path, journal: &Journal) -> bool {
    journal.receipt_written
        || Receipt::load(prefix).is_ok_and(|r| r.history.iter().any(|h| h.txn == journal.txn))
}

/// Finish what an interrupted run left: roll it back unless its receipt was already written.
/// Registry changes in the journal are rolled back through `cx.registry`. A journal naming a
/// path the guard refuses is refused whole: nothing is changed and the journal stays.
pub fn recover(prefix: &Path, cx: &Context<'_>) -> Result<Option<Recovery>, TxnError> {
    let Some((journal, ops)) = load_journal(prefix, cx.outside)? else {
        return Ok(None);
    };
    let committed = committed(prefix, &journal);
    let outcome = if committed {
        RecoveryOutcome::Completed
    } else {
        rollback_ops(
            prefix,
            &journal.ops,
            &ops,
            RetryPolicy::default(),
            cx.registry,
        )?;
        RecoveryOutcome::RolledBack
    };
    remove_stray_temp_files(prefix, &ops);
    remove_with_retry(&journal_path(prefix), RetryPolicy::default())?;
    if !committed {
        prune_state_dirs(prefix, &journal.txn);
    }
    Ok(Some(Recovery {
        prefix: prefix.to_path_buf(),
        txn: journal.txn,
        command: journal.command,
        outcome,
        ops: journal.ops.len(),
    }))
}

/// Undo `ops` in reverse: restore backups, remove what was created, put registry values back.
fn rollback_ops(
    prefix: &Path,
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
            restore_registry(reg, r.hive, &r.key, &r.name, r.before.as_ref())?;
            continue;
        }
        let Some(file) = file else { continue };
        let dest = file
            .target
            .resolve(prefix)
            .map_err(|link| TxnError::Link { link })?;
        let backup = file.backup.as_ref().map(|b| b.under(prefix));
        if let (Some(b), true) = (&backup, op.state >= OpState::BackedUp) {
            guard::no_links_below(prefix, file.backup.as_ref().expect("backup"))
                .map_err(|link| TxnError::Link { link })?;
            // The file as it was is in the backup (written atomically: whole or absent). When the
            // destination still holds those bytes (the write never happened), leave it be: the
            // copy would fail for the same reason the write did.
            let unchanged = is_file(&dest) && hash_of(&dest) == hash_of(b);
            if is_file(b) && !unchanged && (op.kind != OpKind::Adopt || !is_file(&dest)) {
                copy_atomic(b, &dest, MAX_DLL_BYTES, policy)?;
            }
        } else if !op.existed && is_file(&dest) && hash_of(&dest) == op.new_sha256 {
            // Created by this op: remove it.
            remove_with_retry(&dest, policy)?;
        }
    }
    Ok(())
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

fn restore_registry(
    reg: &dyn RegistryWrite,
    hive: Hive,
    key: &str,
    name: &str,
    value: Option<&RegValue>,
) -> Result<(), TxnError> {
    match value {
        Some(v) => reg.set_value(hive, key, name, v),
        None => reg.delete_value(hive, key, name),
    }
    .map_err(registry_error)
}

/// A file's backup: where it is (prefix-relative) and the hash of the bytes it holds.
type Backup = Option<(RelPath, Sha256)>;

/// One transaction over one prefix.
pub struct Transaction<'f> {
    prefix: PathBuf,
    journal: Journal,
    /// Per journal op: what it points at (`None` for registry ops).
    files: Vec<Option<FileOp>>,
    receipt: Receipt,
    /// Per receipt entry, checked when the receipt was loaded.
    receipt_files: Vec<FileOp>,
    cx: Context<'f>,
    policy: RetryPolicy,
    committed: bool,
    /// Backups made only so this transaction can roll back (of bytes condafix itself wrote
    /// earlier); deleted on commit.
    rollback_only: Vec<PathBuf>,
    /// The receipt's entries as loaded, to tell whether this transaction changed them.
    loaded_entries: Vec<ReceiptEntry>,
    loaded_registry: Vec<crate::RegistryEntry>,
}

impl<'f> Transaction<'f> {
    /// Start a transaction; an interrupted one is rolled back first (and reported). The
    /// receipt is read and checked: a receipt naming a path the guard refuses refuses the
    /// transaction, before anything changes.
    pub fn begin(
        prefix: &Path,
        command: TxnCommand,
        cx: Context<'f>,
    ) -> Result<(Self, Option<Recovery>), TxnError> {
        let recovery = recover(prefix, &cx)?;
        let checked = load_receipt(prefix, cx.outside)?;
        let txn = checked.receipt.next_txn_id();
        Ok((
            Self {
                prefix: prefix.to_path_buf(),
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

    /// Changes made so far.
    pub fn changes(&self) -> usize {
        self.journal.ops.len()
    }

    fn persist(&self, step: &str) -> Result<(), TxnError> {
        let rel = RelPath::parse(&format!("{STATE_DIR}/{}", condafix_prefix::JOURNAL_FILE))
            .expect("the journal path is valid");
        let path =
            guard::no_links_below(&self.prefix, &rel).map_err(|link| TxnError::Link { link })?;
        let text = serde_json::to_vec_pretty(&self.journal).expect("journal serializes");
        write_atomic(&path, &text, self.policy)?;
        self.cx.faults.step(step);
        Ok(())
    }

    fn push_op(&mut self, op: JournalOp, file: Option<FileOp>) {
        self.journal.ops.push(op);
        self.files.push(file);
    }

    /// Set (`Some`) or delete (`None`) a registry value, journalled; the receipt keeps the
    /// value as it was before condafix first changed it, with its type.
    pub fn set_registry(
        &mut self,
        hive: Hive,
        key: &str,
        name: &str,
        after: Option<RegValue>,
        origin: &str,
    ) -> Result<(), TxnError> {
        let shown = format!("{}\\{key}\\{name}", hive.short());
        if !registry_value_allowed(hive, key, name) {
            return Err(TxnError::Refused {
                file: PathBuf::from(&shown),
                field: "registry value".into(),
                why: "condafix only writes Path and the TLS variables of the environment".into(),
            });
        }
        let reg = self.cx.registry.ok_or_else(|| TxnError::NoRegistry {
            value: shown.clone(),
        })?;
        let before = reg.value(hive, key, name).map_err(registry_error)?;
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
        restore_registry(reg, hive, key, name, after.as_ref())?;
        self.cx.faults.step("registry written");
        self.finish_op()?;
        let txn = self.journal.txn.clone();
        match self
            .receipt
            .registry
            .iter()
            .position(|e| e.same_value(hive, key, name))
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
            }),
        }
        Ok(())
    }

    /// Journal an op on `target`, and back up the file there when there is one. A link at the
    /// target, on the way to it, or on the way to its backup is refused before anything changes.
    fn start_op(
        &mut self,
        target: &Target,
        kind: OpKind,
        new_sha256: Option<Sha256>,
    ) -> Result<(PathBuf, Backup), TxnError> {
        if let Target::Outside(p) = target {
            if !self.cx.outside.allows(p) {
                return Err(TxnError::Refused {
                    file: p.clone(),
                    field: "target".into(),
                    why: "it is outside the prefix and not a config file condafix writes for it"
                        .into(),
                });
            }
        }
        let dest = target
            .resolve(&self.prefix)
            .map_err(|link| TxnError::Link { link })?;
        if guard::is_link(&dest) {
            return Err(TxnError::Link {
                link: guard::LinkFound { link: dest },
            });
        }
        let existed = is_file(&dest);
        let backup = existed.then(|| target.backup_rel(&self.journal.txn));
        let backup_path = backup
            .as_ref()
            .map(|b| guard::no_links_below(&self.prefix, b))
            .transpose()
            .map_err(|link| TxnError::Link { link })?;
        self.push_op(
            JournalOp {
                path: target.text(),
                kind,
                new_sha256,
                backup: backup.as_ref().map(|b| b.as_str().to_string()),
                existed,
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
        if let (Some(b), Some(bp)) = (backup, backup_path) {
            let (sha, _) = copy_atomic(&dest, &bp, MAX_DLL_BYTES, self.policy)?;
            self.cx.faults.step("backup written");
            self.journal.ops.last_mut().expect("op").state = OpState::BackedUp;
            self.persist("journal: backed up")?;
            backed_up = Some((b, sha));
        }
        Ok((dest, backed_up))
    }

    fn finish_op(&mut self) -> Result<(), TxnError> {
        self.journal.ops.last_mut().expect("op").state = OpState::Done;
        self.persist("journal: op done")
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
        if let Some(i) = self
            .receipt
            .entries
            .iter()
            .position(|e| target.same(&e.path))
        {
            // condafix already changed this path: the original backup stays the one to undo to;
            // this transaction's backup (of condafix's own bytes) is only for rollback.
            if let Some((b, _)) = &backup {
                self.rollback_only.push(b.under(&self.prefix));
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
            origin: origin.to_string(),
            txn,
        });
        self.receipt_files.push(FileOp {
            target: target.clone(),
            backup: backup.map(|(b, _)| b),
        });
    }

    /// Check what is on disk now against what was meant to be written.
    fn verify_written(dest: &Path, expected: Sha256) -> Result<(), TxnError> {
        let actual = safe_read::hash(dest, MAX_DLL_BYTES)?.0;
        if actual != expected {
            return Err(TxnError::VerifyAfterWrite {
                path: dest.to_path_buf(),
                expected,
                actual,
            });
        }
        Ok(())
    }

    fn write_inner(&mut self, target: &Target, bytes: &[u8]) -> Result<(Sha256, Backup), TxnError> {
        let sha = Sha256::of_bytes(bytes);
        let (dest, backup) = self.start_op(target, OpKind::Write, Some(sha))?;
        write_atomic(&dest, bytes, self.policy)?;
        self.cx.faults.step("file written");
        Self::verify_written(&dest, sha)?;
        self.finish_op()?;
        Ok((sha, backup))
    }

    /// Write `bytes` at `target`, backing up what is there.
    pub fn write(&mut self, target: &Target, bytes: &[u8], origin: &str) -> Result<(), TxnError> {
        let (sha, backup) = self.write_inner(target, bytes)?;
        self.track(target, Some((sha, bytes.len() as u64)), backup, origin);
        Ok(())
    }

    fn write_from_inner(
        &mut self,
        target: &Target,
        source: &mut dyn Read,
        expected: Sha256,
    ) -> Result<(u64, Backup), TxnError> {
        let (dest, backup) = self.start_op(target, OpKind::Write, Some(expected))?;
        let size = write_stream_checked(&dest, source, expected, MAX_DLL_BYTES, self.policy)?;
        self.cx.faults.step("file written");
        Self::verify_written(&dest, expected)?;
        self.finish_op()?;
        Ok((size, backup))
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
        let (dest, backup) = self.start_op(target, OpKind::Adopt, None)?;
        let size = fs_err::symlink_metadata(&dest)
            .map(|m| m.len())
            .unwrap_or(0);
        let sha = backup.as_ref().map(|(_, s)| *s);
        self.finish_op()?;
        if let Some(sha) = sha {
            self.track(target, Some((sha, size)), backup, origin);
        }
        Ok(())
    }

    fn remove_inner(&mut self, target: &Target) -> Result<Backup, TxnError> {
        let (dest, backup) = self.start_op(target, OpKind::Remove, None)?;
        remove_with_retry(&dest, self.policy)?;
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

    /// Undo every change in the receipt, newest first. Files changed by someone else since
    /// condafix wrote them are left alone and returned.
    pub fn undo_all(&mut self) -> Result<UndoOutcome, TxnError> {
        let mut outcome = UndoOutcome::default();
        let entries: Vec<(ReceiptEntry, FileOp)> = self
            .receipt
            .entries
            .iter()
            .cloned()
            .zip(self.receipt_files.iter().cloned())
            .rev()
            .collect();
        for (e, file) in entries {
            self.undo_entry(&e, &file, &mut outcome)?;
        }
        self.receipt.entries.clear();
        self.receipt_files.clear();
        self.undo_registry(&mut outcome)?;
        Ok(outcome)
    }

    fn undo_entry(
        &mut self,
        e: &ReceiptEntry,
        file: &FileOp,
        outcome: &mut UndoOutcome,
    ) -> Result<(), TxnError> {
        let dest = file
            .target
            .resolve(&self.prefix)
            .map_err(|link| TxnError::Link { link })?;
        let current = if is_file(&dest) { hash_of(&dest) } else { None };
        // The original, when there was one: its backup, checked against the recorded hash.
        let original = match (&file.backup, e.backup_sha256) {
            (Some(b), Some(sha)) => {
                let p = guard::no_links_below(&self.prefix, b)
                    .map_err(|link| TxnError::Link { link })?;
                if hash_of(&p) != Some(sha) {
                    outcome.backup_missing.push(e.path.clone());
                    return Ok(());
                }
                Some((p, sha))
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
                Some((p, sha)) => {
                    let mut source = safe_read::open(p)?;
                    self.write_from_inner(&file.target, &mut source, *sha)?;
                }
                None => {
                    self.remove_inner(&file.target)?;
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
            self.rollback_only.push(b.under(&self.prefix));
        }
        Ok(())
    }

    fn undo_registry(&mut self, outcome: &mut UndoOutcome) -> Result<(), TxnError> {
        let values: Vec<crate::RegistryEntry> =
            self.receipt.registry.iter().rev().cloned().collect();
        for e in values {
            let shown = format!("{}\\{}\\{}", e.hive.short(), e.key, e.name);
            let Some(reg) = self.cx.registry else {
                outcome.left_alone.push(shown);
                continue;
            };
            let current = reg.value(e.hive, &e.key, &e.name).map_err(registry_error)?;
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
                restore_registry(reg, e.hive, &e.key, &e.name, e.before.as_ref())?;
                self.finish_op()?;
                outcome.restored.push(shown);
            } else {
                outcome.left_alone.push(shown);
            }
        }
        self.receipt.registry.clear();
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
            save_receipt(&self.receipt, &self.prefix)?;
            self.cx.faults.step("receipt written");
            if !self.journal.ops.is_empty() {
                self.journal.receipt_written = true;
                self.persist("journal: committed")?;
                remove_with_retry(&journal_path(&self.prefix), self.policy)?;
                self.cx.faults.step("journal removed");
            }
        }
        for p in std::mem::take(&mut self.rollback_only) {
            let _ = fs_err::remove_file(&p);
        }
        self.committed = true;
        Ok(self.receipt.clone())
    }

    /// Undo every change this transaction made, now, and say whether that worked. When it did
    /// not, the journal stays on disk and the next run finishes the rollback.
    pub fn rollback(mut self) -> Result<(), TxnError> {
        self.committed = true; // Drop has nothing left to do.
        self.rollback_now()
    }

    fn rollback_now(&mut self) -> Result<(), TxnError> {
        if self.journal.ops.is_empty() {
            return Ok(());
        }
        rollback_ops(
            &self.prefix,
            &self.journal.ops,
            &self.files,
            self.policy,
            self.cx.registry,
        )
        .map_err(|e| TxnError::RollbackFailed {
            journal: journal_path(&self.prefix),
            source: Box::new(e),
        })?;
        remove_stray_temp_files(&self.prefix, &self.files);
        let _ = fs_err::remove_file(journal_path(&self.prefix));
        prune_state_dirs(&self.prefix, &self.journal.txn);
        Ok(())
    }
}

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

/// A transaction dropped without `commit` (a panic, an early return) rolls back as best it can;
/// what it cannot undo stays in the journal for the next run. [`crate::apply`] rolls back
/// explicitly, to report a failed rollback.
impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let _ = self.rollback_now();
        }
    }
}

/// Check an op of this transaction's own journal (used by tests of hostile journals).
#[cfg(test)]
pub(crate) fn check(op: &JournalOp, txn: &str, outside: &OutsideFiles) -> bool {
    check_op(op, txn, outside, Path::new("journal.json"), 0).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs_err::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    if !p.ends_with(STATE_DIR) {
                        stack.push(p);
                    }
                } else {
                    out.push((
                        p.strip_prefix(dir).unwrap().display().to_string(),
                        fs_err::read(&p).unwrap(),
                    ));
                }
            }
        }
        out.sort();
        out
    }

    fn t(rel: &str) -> Target {
        Target::inside(rel).unwrap()
    }

    static NONE: OutsideFiles = OutsideFiles::none();

    fn cx<'a>(faults: &'a Faults, registry: Option<&'a dyn RegistryWrite>) -> Context<'a> {
        Context {
            faults,
            registry,
            outside: &NONE,
        }
    }

    #[test]
    fn undo_restores_exact_bytes_and_undo_of_undo_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs_err::create_dir_all(p.join("DLLs")).unwrap();
        fs_err::write(p.join("DLLs").join("old.dll"), b"foreign").unwrap();
        fs_err::write(p.join("stale.dll"), b"stale").unwrap();
        let before = files(p);
        let faults = Faults::none();
        let (mut tx, _) = Transaction::begin(p, TxnCommand::Stage, cx(&faults, None)).unwrap();
        tx.write(&t("DLLs/new.dll"), b"verified", "test").unwrap();
        tx.write(&t("DLLs/old.dll"), b"verified2", "test").unwrap();
        tx.remove(&t("stale.dll"), "test").unwrap();
        let r = tx.commit().unwrap();
        assert_eq!(r.entries.len(), 3);
        assert_ne!(files(p), before);
        let (mut tx, _) = Transaction::begin(p, TxnCommand::Undo, cx(&faults, None)).unwrap();
        let out = tx.undo_all().unwrap();
        tx.commit().unwrap();
        assert_eq!(out.restored.len(), 2);
        assert_eq!(out.removed, vec!["DLLs/new.dll".to_string()]);
        assert_eq!(files(p), before);
        let (mut tx, _) = Transaction::begin(p, TxnCommand::Undo, cx(&faults, None)).unwrap();
        let out = tx.undo_all().unwrap();
        assert!(out.restored.is_empty() && out.left_alone.is_empty());
        tx.commit().unwrap();
        assert_eq!(files(p), before);
    }

    #[test]
    fn a_file_changed_by_someone_else_is_left_alone_by_undo() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let faults = Faults::none();
        let (mut tx, _) = Transaction::begin(p, TxnCommand::Stage, cx(&faults, None)).unwrap();
        tx.write(&t("DLLs/a.dll"), b"ours", "test").unwrap();
        tx.commit().unwrap();
        fs_err::write(p.join("DLLs").join("a.dll"), b"theirs").unwrap();
        let (mut tx, _) = Transaction::begin(p, TxnCommand::Undo, cx(&faults, None)).unwrap();
        let out = tx.undo_all().unwrap();
        tx.commit().unwrap();
        assert_eq!(out.left_alone, vec!["DLLs/a.dll".to_string()]);
        assert_eq!(
            fs_err::read(p.join("DLLs").join("a.dll")).unwrap(),
            b"theirs"
        );
    }

    #[test]
    fn dropping_an_uncommitted_transaction_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs_err::write(p.join("x.dll"), b"original").unwrap();
        let faults = Faults::none();
        {
            let (mut tx, _) = Transaction::begin(p, TxnCommand::Stage, cx(&faults, None)).unwrap();
            tx.write(&t("x.dll"), b"new", "test").unwrap();
            tx.write(&t("y.dll"), b"new", "test").unwrap();
        }
        assert_eq!(fs_err::read(p.join("x.dll")).unwrap(), b"original");
        assert!(!p.join("y.dll").exists());
        assert!(!journal_path(p).exists());
        assert!(!Receipt::path(p).exists());
    }

    #[test]
    fn registry_values_are_undone_with_their_exact_type() {
        use condafix_prefix::registry::{FakeRegistry, Registry};
        let dir = tempfile::tempdir().unwrap();
        let mut reg = FakeRegistry::default();
        reg.set(
            Hive::CurrentUser,
            "Environment",
            "Path",
            RegValue::ExpandSz("%USERPROFILE%\\bin".into()),
        );
        let faults = Faults::none();
        let (mut tx, _) =
            Transaction::begin(dir.path(), TxnCommand::Config, cx(&faults, Some(&reg))).unwrap();
        tx.set_registry(
            Hive::CurrentUser,
            "Environment",
            "Path",
            Some(RegValue::ExpandSz("C:\\p;%USERPROFILE%\\bin".into())),
            "test",
        )
        .unwrap();
        tx.set_registry(
            Hive::CurrentUser,
            "Environment",
            "SSL_CERT_FILE",
            None,
            "test",
        )
        .unwrap();
        tx.commit().unwrap();
        let (mut tx, _) =
            Transaction::begin(dir.path(), TxnCommand::Undo, cx(&faults, Some(&reg))).unwrap();
        let out = tx.undo_all().unwrap();
        tx.commit().unwrap();
        assert_eq!(out.restored.len(), 1);
        assert_eq!(
            reg.value(Hive::CurrentUser, "Environment", "Path").unwrap(),
            Some(RegValue::ExpandSz("%USERPROFILE%\\bin".into()))
        );
    }

    #[test]
    fn a_registry_value_condafix_does_not_write_is_refused() {
        use condafix_prefix::registry::FakeRegistry;
        let dir = tempfile::tempdir().unwrap();
        let reg = FakeRegistry::default();
        let faults = Faults::none();
        let (mut tx, _) =
            Transaction::begin(dir.path(), TxnCommand::Config, cx(&faults, Some(&reg))).unwrap();
        let err = tx
            .set_registry(
                Hive::CurrentUser,
                "Software\\Microsoft\\Windows\\CurrentVersion\\Run",
                "x",
                Some(RegValue::Sz("evil.exe".into())),
                "test",
            )
            .unwrap_err();
        assert!(matches!(err, TxnError::Refused { .. }), "{err}");
        assert!(reg.calls.borrow().is_empty());
    }

    #[test]
    fn a_refresh_keeps_the_original_backup_for_undo() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs_err::write(p.join("x.dll"), b"original").unwrap();
        let faults = Faults::none();
        let (mut tx, _) = Transaction::begin(p, TxnCommand::Stage, cx(&faults, None)).unwrap();
        tx.write(&t("x.dll"), b"v1", "test").unwrap();
        tx.commit().unwrap();
        let (mut tx, _) = Transaction::begin(p, TxnCommand::Stage, cx(&faults, None)).unwrap();
        tx.write(&t("x.dll"), b"v2", "test").unwrap();
        let r = tx.commit().unwrap();
        assert_eq!(r.entries.len(), 1);
        assert_eq!(r.entries[0].action, Action::Replaced);
        let (mut tx, _) = Transaction::begin(p, TxnCommand::Undo, cx(&faults, None)).unwrap();
        tx.undo_all().unwrap();
        tx.commit().unwrap();
        assert_eq!(fs_err::read(p.join("x.dll")).unwrap(), b"original");
    }

    #[test]
    fn a_write_through_a_streamed_source_must_match_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let faults = Faults::none();
        let (mut tx, _) = Transaction::begin(p, TxnCommand::Stage, cx(&faults, None)).unwrap();
        let err = tx
            .write_from(
                &t("DLLs/x.dll"),
                &mut &b"tampered"[..],
                Sha256::of_bytes(b"verified"),
                "test",
            )
            .unwrap_err();
        assert!(matches!(err, TxnError::VerifyAfterWrite { .. }), "{err}");
        drop(tx);
        assert!(!p.join("DLLs").join("x.dll").exists());
        assert!(!p.join(STATE_DIR).exists());
    }

    #[test]
    fn journal_ops_that_leave_the_prefix_are_refused() {
        let op = |path: &str, backup: Option<&str>| JournalOp {
            path: path.into(),
            kind: OpKind::Write,
            new_sha256: None,
            backup: backup.map(str::to_string),
            existed: true,
            state: OpState::BackedUp,
            registry: None,
        };
        assert!(check(
            &op("DLLs/x.dll", Some(".condafix/backup/txn-0001/DLLs/x.dll")),
            "txn-0001",
            &NONE
        ));
        assert!(!check(&op("/etc/passwd", None), "txn-0001", &NONE));
        assert!(!check(&op("../../x", None), "txn-0001", &NONE));
        assert!(!check(
            &op("DLLs/x.dll", Some(".condafix/backup/txn-0001/../../../x")),
            "txn-0001",
            &NONE
        ));
        assert!(!check(&op("DLLs/x.dll", Some("/tmp/x")), "txn-0001", &NONE));
    }
}
