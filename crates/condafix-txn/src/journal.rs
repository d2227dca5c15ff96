//! The write-ahead journal (`journal.json` in a store's state folder, only while a transaction
//! runs) and the checks everything read back from a state folder goes through: the journal's
//! ops and the receipt's entries name paths and registry values, and a state folder is writable
//! by whoever the store acts as. Each store's state may only name what that store may change.

use std::path::{Path, PathBuf};

use condafix_prefix::guard::{is_txn_id, RelPath};
use condafix_prefix::registry::{Hive, RegValue};
use condafix_prefix::safe_read::MAX_STATE_BYTES;
use condafix_prefix::{Receipt, Sha256, JOURNAL_FILE, RECEIPT_FILE, RECEIPT_SCHEMA_VERSION};
use serde::{Deserialize, Serialize};

use crate::target::{backup_path, OutsideFiles, RegistryScope, Target};
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
    /// Prefix-relative (`DLLs/x.dll`) in a prefix's store; absolute in a user's or the
    /// machine's.
    pub path: String,
    pub kind: OpKind,
    pub new_sha256: Option<Sha256>,
    /// The backup of the file as it was before this op, relative to the state folder.
    pub backup: Option<String>,
    pub existed: bool,
    /// The Unix permission bits of the file as it was (restored with its bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
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

pub(crate) fn journal_rel() -> RelPath {
    RelPath::parse(JOURNAL_FILE).expect("valid")
}

pub(crate) fn receipt_rel() -> RelPath {
    RelPath::parse(RECEIPT_FILE).expect("valid")
}

/// What a store's state may name: the files (`None`: only paths inside its prefix) and the
/// registry values it may change.
#[derive(Debug, Clone)]
pub struct Checks {
    pub outside: Option<OutsideFiles>,
    pub registry: RegistryScope,
}

impl Checks {
    /// A prefix's store: paths inside the prefix, no registry value.
    pub fn prefix() -> Self {
        Self {
            outside: None,
            registry: RegistryScope::None,
        }
    }

    pub(crate) fn of(store: &crate::Store) -> Self {
        Self {
            outside: store.outside().cloned(),
            registry: store.registry_scope(),
        }
    }
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
    checks: &Checks,
    file: &Path,
    index: usize,
) -> Result<Option<FileOp>, TxnError> {
    if let Some(r) = &op.registry {
        if !checks.registry.allows(r.hive, &r.key, &r.name) {
            return Err(refused(
                file,
                format!("ops[{index}].registry"),
                format!(
                    "{}\\{}\\{} is not a registry value this state may change",
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
    let target = Target::parse(&op.path, checks.outside.as_ref())
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

/// Read the journal an interrupted run left in `store`, if any, and check every path in it.
/// Nothing is acted on here.
pub(crate) fn load_journal(store: &crate::Store) -> Result<Option<CheckedJournal>, TxnError> {
    let state = match store.state(false) {
        Ok(s) => s,
        Err(TxnError::NoState) => return Ok(None),
        Err(e) => return Err(e),
    };
    let bytes = match state.read(&journal_rel(), MAX_STATE_BYTES) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    parse_journal(&bytes, &state.root().join(JOURNAL_FILE), &Checks::of(store)).map(Some)
}

/// Parse and check a journal's bytes (`path` is named in errors).
pub(crate) fn parse_journal(
    bytes: &[u8],
    path: &Path,
    checks: &Checks,
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
        .map(|(i, op)| check_op(op, &journal.txn, checks, &path, i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((journal, ops))
}

/// The receipt with every entry checked: what `undo` and the next run act on.
pub(crate) struct CheckedReceipt {
    pub receipt: Receipt,
    /// Per entry: its target and its backup.
    pub entries: Vec<FileOp>,
}

/// Load `store`'s receipt (none yet: an empty one) and check every path, backup, transaction
/// id and registry value in it.
pub(crate) fn load_receipt(store: &crate::Store) -> Result<CheckedReceipt, TxnError> {
    let state = match store.state(false) {
        Ok(s) => s,
        Err(TxnError::NoState) => {
            return Ok(CheckedReceipt {
                receipt: Receipt::default(),
                entries: Vec::new(),
            })
        }
        Err(e) => return Err(e),
    };
    let path = state.root().join(RECEIPT_FILE);
    let receipt = match state.read(&receipt_rel(), MAX_STATE_BYTES) {
        Ok(b) => Receipt::parse(&b, &path)?,
        Err(e) if e.is_not_found() => Receipt::default(),
        Err(e) => return Err(e.into()),
    };
    check_receipt(receipt, &path, &Checks::of(store))
}

/// Check every path, backup, transaction id and registry value of a receipt read from `file`.
pub(crate) fn check_receipt(
    receipt: Receipt,
    file: &Path,
    checks: &Checks,
) -> Result<CheckedReceipt, TxnError> {
    let file: PathBuf = file.to_path_buf();
    if receipt.schema_version > RECEIPT_SCHEMA_VERSION {
        return Err(refused(
            &file,
            "schema_version".into(),
            "it is newer than this condafix",
        ));
    }
    if receipt.schema_version < RECEIPT_SCHEMA_VERSION
        && !(receipt.entries.is_empty() && receipt.registry.is_empty())
    {
        return Err(refused(
            &file,
            "schema_version".into(),
            "it was written by an earlier condafix that kept all changes in the prefix; undo those by hand (its backups are under .condafix\\backup) and remove the file",
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
        let target = Target::parse(&e.path, checks.outside.as_ref())
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
        if !checks.registry.allows(r.hive, &r.key, &r.name) {
            return Err(refused(
                &file,
                format!("registry[{i}]"),
                format!(
                    "{}\\{}\\{} is not a registry value this state may change",
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
