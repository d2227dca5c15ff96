//! The write-ahead journal (`.condafix/journal.json`, only while a transaction runs) and the
//! checks everything read back from `.condafix` goes through: the journal's ops and the
//! receipt's entries name paths and registry values, and both files are writable by the
//! prefix's owner.

use std::path::{Path, PathBuf};

use condafix_prefix::guard::{is_txn_id, RelPath};
use condafix_prefix::registry::{Hive, RegValue};
use condafix_prefix::safe_read::{self, MAX_STATE_BYTES};
use condafix_prefix::{Receipt, Sha256, JOURNAL_FILE, RECEIPT_SCHEMA_VERSION, STATE_DIR};
use serde::{Deserialize, Serialize};

use crate::target::{backup_path, registry_value_allowed, OutsideFiles, Target};
use crate::TxnError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum OpKind {
    Write,
    Remove,
    Adopt,
    Registry,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum OpState {
    Pending,
    BackedUp,
    Done,
}

/// One op as the journal stores it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub(crate) struct JournalOp {
    /// Prefix-relative (`DLLs/x.dll`), or absolute for a config file outside the prefix.
    pub path: String,
    pub kind: OpKind,
    pub new_sha256: Option<Sha256>,
    /// Prefix-relative backup of the file as it was before this op.
    pub backup: Option<String>,
    pub existed: bool,
    pub state: OpState,
    /// For registry ops: the value and what it held before (`None`: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistryOp>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub(crate) struct RegistryOp {
    pub hive: Hive,
    pub key: String,
    pub name: String,
    pub before: Option<RegValue>,
    pub after: Option<RegValue>,
}

/// The journal file.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub(crate) struct Journal {
    pub txn: String,
    pub command: condafix_prefix::TxnCommand,
    pub ops: Vec<JournalOp>,
    pub receipt_written: bool,
}

/// What a file op points at, checked.
#[derive(Debug, Clone)]
pub(crate) struct FileOp {
    pub target: Target,
    pub backup: Option<RelPath>,
}

pub(crate) fn journal_path(prefix: &Path) -> PathBuf {
    prefix.join(STATE_DIR).join(JOURNAL_FILE)
}

fn refused(file: &Path, field: String, why: impl std::fmt::Display) -> TxnError {
    TxnError::Refused {
        file: file.to_path_buf(),
        field,
        why: why.to_string(),
    }
}

/// Check one op: a file op's path and backup, or a registry op's value.
pub(crate) fn check_op(
    op: &JournalOp,
    txn: &str,
    outside: &OutsideFiles,
    file: &Path,
    index: usize,
) -> Result<Option<FileOp>, TxnError> {
    if let Some(r) = &op.registry {
        if !registry_value_allowed(r.hive, &r.key, &r.name) {
            return Err(refused(
                file,
                format!("ops[{index}].registry"),
                format!(
                    "{}\\{}\\{} is not a registry value condafix writes",
                    r.hive.short(),
                    r.key,
                    r.name
                ),
            ));
        }
        return Ok(None);
    }
    if op.kind == OpKind::Registry {
        return Err(refused(
            file,
            format!("ops[{index}].registry"),
            "a registry op without its value",
        ));
    }
    let target = Target::parse(&op.path, outside)
        .map_err(|why| refused(file, format!("ops[{index}].path"), why))?;
    let backup = op
        .backup
        .as_deref()
        .map(|b| backup_path(b, txn))
        .transpose()
        .map_err(|why| refused(file, format!("ops[{index}].backup"), why))?;
    Ok(Some(FileOp { target, backup }))
}

/// A journal with every op checked (`None` for registry ops).
pub(crate) type CheckedJournal = (Journal, Vec<Option<FileOp>>);

/// Read the journal an interrupted run left, if any, and check every path in it. Nothing is
/// acted on here.
pub(crate) fn load_journal(
    prefix: &Path,
    outside: &OutsideFiles,
) -> Result<Option<CheckedJournal>, TxnError> {
    let path = journal_path(prefix);
    let bytes = match safe_read::read(&path, MAX_STATE_BYTES) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    parse_journal(&bytes, &path, outside).map(Some)
}

/// Parse and check a journal's bytes (`path` is named in errors).
pub(crate) fn parse_journal(
    bytes: &[u8],
    path: &Path,
    outside: &OutsideFiles,
) -> Result<CheckedJournal, TxnError> {
    let path = path.to_path_buf();
    let journal: Journal = serde_json::from_slice(bytes).map_err(|source| TxnError::Corrupt {
        path: path.clone(),
        what: "journal",
        source,
    })?;
    if !is_txn_id(&journal.txn) {
        return Err(refused(&path, "txn".into(), "it is not a transaction id"));
    }
    let ops = journal
        .ops
        .iter()
        .enumerate()
        .map(|(i, op)| check_op(op, &journal.txn, outside, &path, i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((journal, ops))
}

/// The receipt with every entry checked: what `undo` and the next run act on.
pub(crate) struct CheckedReceipt {
    pub receipt: Receipt,
    /// Per entry: its target and its backup.
    pub entries: Vec<FileOp>,
}

/// Load the receipt and check every path, backup, transaction id and registry value in it.
pub(crate) fn load_receipt(
    prefix: &Path,
    outside: &OutsideFiles,
) -> Result<CheckedReceipt, TxnError> {
    check_receipt(Receipt::load(prefix)?, &Receipt::path(prefix), outside)
}

/// Check every path, backup, transaction id and registry value of a receipt read from `file`.
pub(crate) fn check_receipt(
    receipt: Receipt,
    file: &Path,
    outside: &OutsideFiles,
) -> Result<CheckedReceipt, TxnError> {
    let file = file.to_path_buf();
    if receipt.schema_version > RECEIPT_SCHEMA_VERSION {
        return Err(refused(
            &file,
            "schema_version".into(),
            "it is newer than this condafix",
        ));
    }
    for (i, h) in receipt.history.iter().enumerate() {
        if !is_txn_id(&h.txn) {
            return Err(refused(
                &file,
                format!("history[{i}].txn"),
                "it is not a transaction id",
            ));
        }
    }
    let mut entries = Vec::new();
    for (i, e) in receipt.entries.iter().enumerate() {
        if !is_txn_id(&e.txn) {
            return Err(refused(
                &file,
                format!("entries[{i}].txn"),
                "it is not a transaction id",
            ));
        }
        let target = Target::parse(&e.path, outside)
            .map_err(|why| refused(&file, format!("entries[{i}].path"), why))?;
        let backup = e
            .backup
            .as_deref()
            .map(|b| backup_path(b, &e.txn))
            .transpose()
            .map_err(|why| refused(&file, format!("entries[{i}].backup"), why))?;
        if backup.is_some() != e.backup_sha256.is_some() {
            return Err(refused(
                &file,
                format!("entries[{i}].backup_sha256"),
                "a backup without its hash (or a hash without its backup)",
            ));
        }
        entries.push(FileOp { target, backup });
    }
    for (i, r) in receipt.registry.iter().enumerate() {
        if !registry_value_allowed(r.hive, &r.key, &r.name) {
            return Err(refused(
                &file,
                format!("registry[{i}]"),
                format!(
                    "{}\\{}\\{} is not a registry value condafix writes",
                    r.hive.short(),
                    r.key,
                    r.name
                ),
            ));
        }
        if !is_txn_id(&r.txn) {
            return Err(refused(
                &file,
                format!("registry[{i}].txn"),
                "it is not a transaction id",
            ));
        }
    }
    Ok(CheckedReceipt { receipt, entries })
}
