//! A transaction over a prefix's files: journalled on disk before every step, rolled back on
//! failure (or, after a crash, by the next run), committed into the receipt.

use std::path::{Path, PathBuf};

use condafix_prefix::registry::{Hive, RegValue, RegistryWrite};
use condafix_prefix::{join_rel, Sha256};
use serde::{Deserialize, Serialize};

use crate::{
    copy_atomic, remove_with_retry, write_atomic, Action, Faults, HistoryEntry, Receipt,
    ReceiptEntry, RetryPolicy, TxnError, BACKUP_DIR, JOURNAL_FILE, STATE_DIR,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum OpKind {
    Write,
    Remove,
    Adopt,
    Registry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum OpState {
    Pending,
    BackedUp,
    Done,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct JournalOp {
    path: String,
    kind: OpKind,
    new_sha256: Option<Sha256>,
    /// Prefix-relative backup of the file as it was before this op.
    backup: Option<String>,
    existed: bool,
    state: OpState,
    /// For registry ops: the value and what it held before (`None`: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    registry: Option<RegistryOp>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RegistryOp {
    hive: Hive,
    key: String,
    name: String,
    before: Option<RegValue>,
    after: Option<RegValue>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Journal {
    txn: String,
    command: String,
    ops: Vec<JournalOp>,
    receipt_written: bool,
}

/// What recovery did with a transaction an earlier run left unfinished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// What recovery did with a transaction an earlier run left unfinished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recovery {
    pub prefix: PathBuf,
    pub txn: String,
    pub command: String,
    pub outcome: RecoveryOutcome,
    pub ops: usize,
}

/// Where an op's path points: prefix-relative (`DLLs/x.dll`), or absolute for files outside
/// the prefix (a user's pip.ini or .condarc).
fn target(prefix: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() || path.starts_with('/') || path.as_bytes().get(1) == Some(&b':') {
        p.to_path_buf()
    } else {
        join_rel(prefix, path)
    }
}

fn save_receipt(receipt: &Receipt, prefix: &Path) -> Result<(), TxnError> {
    let text = serde_json::to_vec_pretty(receipt).expect("receipt serializes");
    write_atomic(&Receipt::path(prefix), &text, RetryPolicy::default())
}

fn journal_path(prefix: &Path) -> PathBuf {
    prefix.join(STATE_DIR).join(JOURNAL_FILE)
}

/// Remove condafix's state folders when a rollback left them empty, so that a transaction that
/// changed nothing leaves nothing behind. Folders that still hold anything stay.
fn prune_state_dirs(prefix: &Path, txn: &str) {
    let state = prefix.join(STATE_DIR);
    let backup = state.join(BACKUP_DIR);
    let _ = fs_err::remove_dir_all(backup.join(txn));
    let _ = fs_err::remove_dir(&backup);
    let _ = fs_err::remove_dir(&state);
}

/// Temp files an interrupted atomic write left in the folders a journal touched.
fn remove_stray_temp_files(prefix: &Path, ops: &[JournalOp]) {
    let mut dirs: Vec<PathBuf> = ops
        .iter()
        .filter(|op| op.registry.is_none())
        .filter_map(|op| target(prefix, &op.path).parent().map(Path::to_path_buf))
        .collect();
    dirs.push(prefix.join(STATE_DIR));
    dirs.sort();
    dirs.dedup();
    for d in dirs {
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

fn hash_of(path: &Path) -> Option<Sha256> {
    Sha256::of_file(path).ok().map(|(h, _)| h)
}

/// Finish what an interrupted run left: roll it back unless its receipt was already written.
/// Registry changes in the journal are rolled back through `registry` when given.
pub fn recover(prefix: &Path, policy: RetryPolicy) -> Result<Option<Recovery>, TxnError> {
    recover_with(prefix, policy, None)
}

/// [`recover`], with the registry to roll registry changes back in.
pub fn recover_with(
    prefix: &Path,
    policy: RetryPolicy,
    registry: Option<&dyn RegistryWrite>,
) -> Result<Option<Recovery>, TxnError> {
    let path = journal_path(prefix);
    let bytes = match fs_err::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(TxnError::Read { path, source }),
    };
    let journal: Journal = serde_json::from_slice(&bytes).map_err(|source| TxnError::Corrupt {
        path: path.clone(),
        what: "journal",
        source,
    })?;
    // The receipt is written atomically; if it already records this transaction, the
    // transaction completed and only its cleanup was interrupted.
    let committed = journal.receipt_written
        || Receipt::load(prefix).is_ok_and(|r| r.history.iter().any(|h| h.txn == journal.txn));
    let outcome = if committed {
        RecoveryOutcome::Completed
    } else {
        rollback_ops(prefix, &journal.ops, policy, registry)?;
        RecoveryOutcome::RolledBack
    };
    remove_stray_temp_files(prefix, &journal.ops);
    remove_with_retry(&path, policy)?;
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

/// Undo `ops` in reverse: restore backups, remove what was created.
fn rollback_ops(
    prefix: &Path,
    ops: &[JournalOp],
    policy: RetryPolicy,
    registry: Option<&dyn RegistryWrite>,
) -> Result<(), TxnError> {
    for op in ops.iter().rev() {
        if let Some(r) = &op.registry {
            if let Some(reg) = registry {
                restore_registry(reg, r.hive, &r.key, &r.name, r.before.as_ref())?;
            }
            continue;
        }
        let dest = target(prefix, &op.path);
        let backup = op.backup.as_ref().map(|b| join_rel(prefix, b));
        let backed_up = op.state >= OpState::BackedUp;
        if let (Some(b), true) = (&backup, backed_up) {
            // The file as it was is in the backup (written atomically: whole or absent). When the
            // destination still holds those bytes (the write never happened), leave it be: the
            // copy would fail for the same reason the write did.
            let unchanged = dest.is_file() && hash_of(&dest) == hash_of(b);
            if b.is_file() && !unchanged && (op.kind != OpKind::Adopt || !dest.is_file()) {
                copy_atomic(b, &dest, policy)?;
            }
        } else if !op.existed && dest.is_file() && hash_of(&dest) == op.new_sha256 {
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

/// One transaction over one prefix.
pub struct Transaction<'f> {
    prefix: PathBuf,
    journal: Journal,
    receipt: Receipt,
    faults: &'f Faults,
    policy: RetryPolicy,
    committed: bool,
    /// Backups made only so this transaction can roll back (of bytes condafix itself wrote
    /// earlier); deleted on commit.
    rollback_only: Vec<PathBuf>,
    /// The receipt's entries as loaded, to tell whether this transaction changed them.
    loaded_entries: Vec<ReceiptEntry>,
    loaded_registry: Vec<crate::RegistryEntry>,
    /// Where registry changes go (and are rolled back).
    registry: Option<&'f dyn RegistryWrite>,
}

impl<'f> Transaction<'f> {
    /// Start a transaction; an interrupted one is rolled back first (and reported), its
    /// registry changes through `registry`. Without a registry, registry changes are refused.
    pub fn begin(
        prefix: &Path,
        command: &str,
        faults: &'f Faults,
        registry: Option<&'f dyn RegistryWrite>,
    ) -> Result<(Self, Option<Recovery>), TxnError> {
        let policy = RetryPolicy::default();
        let recovery = recover_with(prefix, policy, registry)?;
        let receipt = Receipt::load(prefix)?;
        let txn = receipt.next_txn_id();
        Ok((
            Self {
                prefix: prefix.to_path_buf(),
                journal: Journal {
                    txn,
                    command: command.to_string(),
                    ops: Vec::new(),
                    receipt_written: false,
                },
                loaded_entries: receipt.entries.clone(),
                loaded_registry: receipt.registry.clone(),
                registry,
                receipt,
                faults,
                policy,
                committed: false,
                rollback_only: Vec::new(),
            },
            recovery,
        ))
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
        let reg = self.registry.ok_or_else(|| TxnError::NoRegistry {
            value: format!("{}\\{key}\\{name}", hive.short()),
        })?;
        let before = reg.value(hive, key, name).map_err(registry_error)?;
        if before == after {
            return Ok(());
        }
        self.journal.ops.push(JournalOp {
            path: format!("{}\\{key}\\{name}", hive.short()),
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
        });
        self.persist("journal: registry change planned")?;
        restore_registry(reg, hive, key, name, after.as_ref())?;
        self.faults.step("registry written");
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
        let text = serde_json::to_vec_pretty(&self.journal).expect("journal serializes");
        write_atomic(&journal_path(&self.prefix), &text, self.policy)?;
        self.faults.step(step);
        Ok(())
    }

    fn backup_rel(&self, rel: &str) -> String {
        // An absolute path is kept under `abs/`, its drive colon and separators flattened.
        let inner = if Path::new(rel).is_absolute() || rel.as_bytes().get(1) == Some(&b':') {
            format!(
                "abs/{}",
                rel.replace(':', "")
                    .replace('\\', "/")
                    .trim_start_matches('/')
            )
        } else {
            rel.to_string()
        };
        format!("{STATE_DIR}/{BACKUP_DIR}/{}/{inner}", self.journal.txn)
    }

    /// Journal an op, and back up the current file when there is one.
    fn start_op(
        &mut self,
        rel: &str,
        kind: OpKind,
        new_sha256: Option<Sha256>,
    ) -> Result<(PathBuf, Option<(String, Sha256)>), TxnError> {
        let dest = target(&self.prefix, rel);
        let existed = dest.is_file();
        let backup = existed.then(|| self.backup_rel(rel));
        self.journal.ops.push(JournalOp {
            path: rel.to_string(),
            kind,
            new_sha256,
            backup: backup.clone(),
            existed,
            state: OpState::Pending,
            registry: None,
        });
        self.persist("journal: op planned")?;
        let mut backed_up = None;
        if let Some(b) = backup {
            let bytes = copy_atomic(&dest, &join_rel(&self.prefix, &b), self.policy)?;
            self.faults.step("backup written");
            self.journal.ops.last_mut().expect("op").state = OpState::BackedUp;
            self.persist("journal: backed up")?;
            backed_up = Some((b, Sha256::of_bytes(&bytes)));
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
        rel: &str,
        after: Option<(Sha256, u64)>,
        backup: Option<(String, Sha256)>,
        origin: &str,
    ) {
        let txn = self.journal.txn.clone();
        if let Some(i) = self
            .receipt
            .entries
            .iter()
            .position(|e| e.path.eq_ignore_ascii_case(rel))
        {
            // condafix already changed this path: the original backup stays the one to undo to;
            // this transaction's backup (of condafix's own bytes) is only for rollback.
            if let Some((b, _)) = &backup {
                self.rollback_only.push(join_rel(&self.prefix, b));
            }
            let e = &mut self.receipt.entries[i];
            match (e.action, after) {
                (Action::Created, None) => {
                    self.receipt.entries.remove(i);
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
            path: rel.to_string(),
            action,
            sha256: after.map(|(s, _)| s),
            size: after.map(|(_, n)| n),
            backup_sha256: backup.as_ref().map(|(_, s)| *s),
            backup: backup.map(|(b, _)| b),
            origin: origin.to_string(),
            txn,
        });
    }

    fn write_inner(
        &mut self,
        rel: &str,
        bytes: &[u8],
    ) -> Result<(Sha256, Option<(String, Sha256)>), TxnError> {
        let sha = Sha256::of_bytes(bytes);
        let (dest, backup) = self.start_op(rel, OpKind::Write, Some(sha))?;
        write_atomic(&dest, bytes, self.policy)?;
        self.faults.step("file written");
        // Hash what is on disk now, not what we meant to write.
        let actual = Sha256::of_file(&dest)
            .map_err(|_| TxnError::Read {
                path: dest.clone(),
                source: std::io::Error::other("re-read failed"),
            })?
            .0;
        if actual != sha {
            return Err(TxnError::VerifyAfterWrite {
                path: dest,
                expected: sha,
                actual,
            });
        }
        self.finish_op()?;
        Ok((sha, backup))
    }

    /// Write `bytes` at `rel` (prefix-relative), backing up what is there.
    pub fn write(&mut self, rel: &str, bytes: &[u8], origin: &str) -> Result<(), TxnError> {
        let (sha, backup) = self.write_inner(rel, bytes)?;
        self.track(rel, Some((sha, bytes.len() as u64)), backup, origin);
        Ok(())
    }

    /// Take over an existing file whose bytes are already right: back it up and record it, so
    /// that later runs refresh it and `undo` knows it.
    pub fn adopt(&mut self, rel: &str, origin: &str) -> Result<(), TxnError> {
        let (dest, backup) = self.start_op(rel, OpKind::Adopt, None)?;
        let size = fs_err::metadata(&dest).map(|m| m.len()).unwrap_or(0);
        let sha = backup.as_ref().map(|(_, s)| *s);
        self.finish_op()?;
        if let Some(sha) = sha {
            self.track(rel, Some((sha, size)), backup, origin);
        }
        Ok(())
    }

    fn remove_inner(&mut self, rel: &str) -> Result<Option<(String, Sha256)>, TxnError> {
        let (dest, backup) = self.start_op(rel, OpKind::Remove, None)?;
        remove_with_retry(&dest, self.policy)?;
        self.faults.step("file removed");
        self.finish_op()?;
        Ok(backup)
    }

    /// Remove the file at `rel`, backing it up.
    pub fn remove(&mut self, rel: &str, origin: &str) -> Result<(), TxnError> {
        let backup = self.remove_inner(rel)?;
        self.track(rel, None, backup, origin);
        Ok(())
    }

    /// Undo every change in the receipt, newest first. Files changed by someone else since
    /// condafix wrote them are left alone and returned.
    pub fn undo_all(&mut self) -> Result<UndoOutcome, TxnError> {
        let mut outcome = UndoOutcome::default();
        let entries: Vec<ReceiptEntry> = self.receipt.entries.iter().rev().cloned().collect();
        for e in entries {
            let dest = target(&self.prefix, &e.path);
            let current = if dest.is_file() { hash_of(&dest) } else { None };
            let original = match (&e.backup, e.backup_sha256) {
                (Some(b), Some(sha)) => {
                    let p = join_rel(&self.prefix, b);
                    match fs_err::read(&p) {
                        Ok(bytes) if Sha256::of_bytes(&bytes) == sha => Some(bytes),
                        _ => {
                            outcome.backup_missing.push(e.path.clone());
                            continue;
                        }
                    }
                }
                _ => None,
            };
            let ours = current.is_some() && current == e.sha256;
            let already_original = match &original {
                Some(bytes) => current == Some(Sha256::of_bytes(bytes)),
                None => current.is_none(),
            };
            if already_original {
                outcome.restored.push(e.path.clone());
            } else if ours || (e.action == Action::Removed && current.is_none()) {
                match original {
                    Some(bytes) => {
                        self.write_inner(&e.path, &bytes)?;
                    }
                    None => {
                        self.remove_inner(&e.path)?;
                    }
                }
                outcome.restored.push(e.path.clone());
            } else {
                outcome.left_alone.push(e.path.clone());
            }
            if let Some(b) = &e.backup {
                if !outcome.left_alone.contains(&e.path) {
                    self.rollback_only.push(join_rel(&self.prefix, b));
                }
            }
        }
        self.receipt.entries.clear();
        let values: Vec<crate::RegistryEntry> =
            self.receipt.registry.iter().rev().cloned().collect();
        for e in values {
            let shown = format!("{}\\{}\\{}", e.hive.short(), e.key, e.name);
            let Some(reg) = self.registry else {
                outcome.left_alone.push(shown);
                continue;
            };
            let current = reg.value(e.hive, &e.key, &e.name).map_err(registry_error)?;
            if current == e.before {
                outcome.restored.push(shown);
            } else if current == e.after {
                self.journal.ops.push(JournalOp {
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
                });
                self.persist("journal: registry restore planned")?;
                restore_registry(reg, e.hive, &e.key, &e.name, e.before.as_ref())?;
                self.finish_op()?;
                outcome.restored.push(shown);
            } else {
                outcome.left_alone.push(shown);
            }
        }
        self.receipt.registry.clear();
        Ok(outcome)
    }

    /// Persist the receipt and end the transaction. With no change, nothing is written.
    pub fn commit(mut self) -> Result<Receipt, TxnError> {
        let changed = !self.journal.ops.is_empty()
            || self.receipt.entries != self.loaded_entries
            || self.receipt.registry != self.loaded_registry;
        if changed {
            self.receipt.history.push(HistoryEntry {
                txn: self.journal.txn.clone(),
                command: self.journal.command.clone(),
                changes: self.journal.ops.len(),
            });
            save_receipt(&self.receipt, &self.prefix)?;
            self.faults.step("receipt written");
            if !self.journal.ops.is_empty() {
                self.journal.receipt_written = true;
                self.persist("journal: committed")?;
                remove_with_retry(&journal_path(&self.prefix), self.policy)?;
                self.faults.step("journal removed");
            }
        }
        for p in std::mem::take(&mut self.rollback_only) {
            let _ = fs_err::remove_file(&p);
        }
        self.committed = true;
        Ok(self.receipt.clone())
    }
}

/// What `undo` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UndoOutcome {
    pub restored: Vec<String>,
    /// Changed by someone else since condafix wrote them: not clobbered.
    pub left_alone: Vec<String>,
    /// The backup to restore from is gone or damaged.
    pub backup_missing: Vec<String>,
}

impl Transaction<'_> {
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
        rollback_ops(&self.prefix, &self.journal.ops, self.policy, self.registry).map_err(|e| {
            TxnError::RollbackFailed {
                journal: journal_path(&self.prefix),
                source: Box::new(e),
            }
        })?;
        remove_stray_temp_files(&self.prefix, &self.journal.ops);
        let _ = fs_err::remove_file(journal_path(&self.prefix));
        prune_state_dirs(&self.prefix, &self.journal.txn);
        Ok(())
    }
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

    #[test]
    fn undo_restores_exact_bytes_and_undo_of_undo_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs_err::create_dir_all(p.join("DLLs")).unwrap();
        fs_err::write(p.join("DLLs").join("old.dll"), b"foreign").unwrap();
        fs_err::write(p.join("stale.dll"), b"stale").unwrap();
        let before = files(p);
        let faults = Faults::none();
        let (mut t, _) = Transaction::begin(p, "stage", &faults, None).unwrap();
        t.write("DLLs/new.dll", b"verified", "test").unwrap();
        t.write("DLLs/old.dll", b"verified2", "test").unwrap();
        t.remove("stale.dll", "test").unwrap();
        let r = t.commit().unwrap();
        assert_eq!(r.entries.len(), 3);
        assert_ne!(files(p), before);
        let (mut t, _) = Transaction::begin(p, "undo", &faults, None).unwrap();
        let out = t.undo_all().unwrap();
        t.commit().unwrap();
        assert_eq!(out.restored.len(), 3);
        assert_eq!(files(p), before);
        let (mut t, _) = Transaction::begin(p, "undo", &faults, None).unwrap();
        let out = t.undo_all().unwrap();
        assert!(out.restored.is_empty() && out.left_alone.is_empty());
        t.commit().unwrap();
        assert_eq!(files(p), before);
    }

    #[test]
    fn a_file_changed_by_someone_else_is_left_alone_by_undo() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let faults = Faults::none();
        let (mut t, _) = Transaction::begin(p, "stage", &faults, None).unwrap();
        t.write("DLLs/a.dll", b"ours", "test").unwrap();
        t.commit().unwrap();
        fs_err::write(p.join("DLLs").join("a.dll"), b"theirs").unwrap();
        let (mut t, _) = Transaction::begin(p, "undo", &faults, None).unwrap();
        let out = t.undo_all().unwrap();
        t.commit().unwrap();
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
            let (mut t, _) = Transaction::begin(p, "stage", &faults, None).unwrap();
            t.write("x.dll", b"new", "test").unwrap();
            t.write("y.dll", b"new", "test").unwrap();
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
        let (mut t, _) = Transaction::begin(dir.path(), "config", &faults, Some(&reg)).unwrap();
        t.set_registry(
            Hive::CurrentUser,
            "Environment",
            "Path",
            Some(RegValue::ExpandSz("C:\\p;%USERPROFILE%\\bin".into())),
            "test",
        )
        .unwrap();
        t.set_registry(
            Hive::CurrentUser,
            "Environment",
            "SSL_CERT_FILE",
            None,
            "test",
        )
        .unwrap();
        t.commit().unwrap();
        let (mut t, _) = Transaction::begin(dir.path(), "undo", &faults, Some(&reg)).unwrap();
        let out = t.undo_all().unwrap();
        t.commit().unwrap();
        assert_eq!(out.restored.len(), 1);
        assert_eq!(
            reg.value(Hive::CurrentUser, "Environment", "Path").unwrap(),
            Some(RegValue::ExpandSz("%USERPROFILE%\\bin".into()))
        );
    }

    #[test]
    fn a_refresh_keeps_the_original_backup_for_undo() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs_err::write(p.join("x.dll"), b"original").unwrap();
        let faults = Faults::none();
        let (mut t, _) = Transaction::begin(p, "stage", &faults, None).unwrap();
        t.write("x.dll", b"v1", "test").unwrap();
        t.commit().unwrap();
        let (mut t, _) = Transaction::begin(p, "stage", &faults, None).unwrap();
        t.write("x.dll", b"v2", "test").unwrap();
        let r = t.commit().unwrap();
        assert_eq!(r.entries.len(), 1);
        assert_eq!(r.entries[0].action, Action::Replaced);
        let (mut t, _) = Transaction::begin(p, "undo", &faults, None).unwrap();
        t.undo_all().unwrap();
        t.commit().unwrap();
        assert_eq!(fs_err::read(p.join("x.dll")).unwrap(), b"original");
    }
}
