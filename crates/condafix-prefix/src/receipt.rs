//! The receipt (read side): what condafix changed in a prefix, relative to how it found it, so
//! that `undo` can restore the exact previous bytes and the next run (and `detect`) knows which
//! files it owns. `condafix-txn` writes it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::registry::{Hive, RegValue};
use crate::{Error, Sha256};

/// The folder condafix keeps its state in, inside a prefix.
pub const STATE_DIR: &str = ".condafix";
pub const RECEIPT_FILE: &str = "receipt.json";
pub const JOURNAL_FILE: &str = "journal.json";
pub const BACKUP_DIR: &str = "backup";

pub const RECEIPT_SCHEMA_VERSION: u32 = 1;

/// What condafix did to a path, relative to the state it found it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The file did not exist; condafix created it.
    Created,
    /// A file existed; condafix backed it up and wrote other bytes (or took it over unchanged).
    Replaced,
    /// A file existed; condafix backed it up and removed it.
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReceiptEntry {
    /// Prefix-relative, `/`-separated.
    pub path: String,
    pub action: Action,
    /// The bytes condafix left there (none after a removal).
    pub sha256: Option<Sha256>,
    pub size: Option<u64>,
    /// The original file, kept under `.condafix/backup/` (none for a creation).
    pub backup: Option<String>,
    pub backup_sha256: Option<Sha256>,
    /// Where the bytes came from and why (free text for people, e.g. a package and a path).
    pub origin: String,
    /// The transaction that first touched the path.
    pub txn: String,
}

/// A registry value condafix changed: what it was and what condafix left, with their types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RegistryEntry {
    pub hive: Hive,
    pub key: String,
    pub name: String,
    /// `None`: the value did not exist.
    pub before: Option<RegValue>,
    /// `None`: condafix deleted it.
    pub after: Option<RegValue>,
    pub origin: String,
    pub txn: String,
}

impl RegistryEntry {
    pub fn same_value(&self, hive: Hive, key: &str, name: &str) -> bool {
        self.hive == hive
            && self.key.eq_ignore_ascii_case(key)
            && self.name.eq_ignore_ascii_case(name)
    }
}

/// The condafix command a transaction belonged to (kept in the journal, the receipt's history
/// and the lock file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TxnCommand {
    Stage,
    Config,
    Undo,
    PostInstall,
}

impl TxnCommand {
    pub fn as_str(self) -> &'static str {
        match self {
            TxnCommand::Stage => "stage",
            TxnCommand::Config => "config",
            TxnCommand::Undo => "undo",
            TxnCommand::PostInstall => "post-install",
        }
    }
}

impl std::fmt::Display for TxnCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HistoryEntry {
    pub txn: String,
    pub command: TxnCommand,
    pub changes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Receipt {
    pub schema_version: u32,
    pub entries: Vec<ReceiptEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registry: Vec<RegistryEntry>,
    pub history: Vec<HistoryEntry>,
}

impl Default for Receipt {
    fn default() -> Self {
        Self {
            schema_version: RECEIPT_SCHEMA_VERSION,
            entries: Vec::new(),
            registry: Vec::new(),
            history: Vec::new(),
        }
    }
}

impl Receipt {
    pub fn path(prefix: &Path) -> PathBuf {
        prefix.join(STATE_DIR).join(RECEIPT_FILE)
    }

    /// Load the receipt of `prefix`; none yet is an empty receipt.
    pub fn load(prefix: &Path) -> Result<Self, Error> {
        let path = Self::path(prefix);
        let bytes = match crate::safe_read::read(&path, crate::safe_read::MAX_STATE_BYTES) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Ok(Self::default()),
            Err(e) => return Err(e.into()),
        };
        let r: Receipt = serde_json::from_slice(&bytes).map_err(|source| Error::Json {
            path: path.clone(),
            what: "condafix receipt",
            source,
        })?;
        if r.schema_version > RECEIPT_SCHEMA_VERSION {
            return Err(Error::NewerSchema {
                path,
                found: r.schema_version,
                supported: RECEIPT_SCHEMA_VERSION,
            });
        }
        Ok(r)
    }

    /// The entry for a prefix-relative path (compared case-insensitively: Windows paths).
    pub fn entry(&self, rel: &str) -> Option<&ReceiptEntry> {
        self.entries
            .iter()
            .find(|e| e.path.eq_ignore_ascii_case(rel))
    }

    /// Whether condafix owns the file at `rel` with these bytes: it wrote them and nobody has
    /// changed them since.
    pub fn owns(&self, rel: &str, current: Option<Sha256>) -> bool {
        self.entry(rel)
            .is_some_and(|e| e.sha256.is_some() && e.sha256 == current)
    }

    /// The id the next transaction gets: `txn-0001`, `txn-0002`...
    pub fn next_txn_id(&self) -> String {
        format!("txn-{:04}", self.history.len() + 1)
    }
}
