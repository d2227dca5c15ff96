//! The receipt (read side): what condafix changed, relative to how it found it, so that `undo`
//! can restore the exact previous bytes and the next run (and `detect`) knows which files it
//! owns. `condafix-txn` writes it. Each state folder has one (see `condafix_actor::state`): a
//! prefix's (`<prefix>\.condafix`, or the machine state folder's `prefixes\<key>` for a prefix
//! only the administrators control), a user's, the machine's.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::registry::{Hive, RegValue};
use crate::{Error, Sha256};

/// The folder condafix keeps its state in, inside a prefix.
pub const STATE_DIR: &str = condafix_actor::state::PREFIX_STATE_DIR;
pub const RECEIPT_FILE: &str = "receipt.json";
pub const JOURNAL_FILE: &str = "journal.json";
pub const BACKUP_DIR: &str = "backup";

/// 2: one receipt per state folder, paths of backups relative to it, `for_prefix` on entries of
/// a user's or the machine's receipt.
pub const RECEIPT_SCHEMA_VERSION: u32 = 2;

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
    /// Prefix-relative, `/`-separated, in a prefix's receipt; absolute in a user's or the
    /// machine's.
    pub path: String,
    pub action: Action,
    /// The bytes condafix left there (none after a removal).
    pub sha256: Option<Sha256>,
    pub size: Option<u64>,
    /// The original file, kept under the state folder's `backup/` (none for a creation).
    pub backup: Option<String>,
    pub backup_sha256: Option<Sha256>,
    /// The Unix permission bits the original file had (restored with its bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Where the bytes came from and why (free text for people, e.g. a package and a path).
    pub origin: String,
    /// The transaction that first touched the path.
    pub txn: String,
    /// In a user's or the machine's receipt: the prefix the change was made for (`undo
    /// --prefix` undoes only those).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_prefix: Option<String>,
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
    /// The prefix the change was made for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_prefix: Option<String>,
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
    /// The receipt in the state folder `dir`.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(RECEIPT_FILE)
    }

    /// Parse a receipt's bytes (`path` for messages).
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self, Error> {
        let r: Receipt = serde_json::from_slice(bytes).map_err(|source| Error::Json {
            path: path.to_path_buf(),
            what: "condafix receipt",
            source,
        })?;
        if r.schema_version > RECEIPT_SCHEMA_VERSION {
            return Err(Error::NewerSchema {
                path: path.to_path_buf(),
                found: r.schema_version,
                supported: RECEIPT_SCHEMA_VERSION,
            });
        }
        Ok(r)
    }

    /// Load the receipt of the state folder `dir`; none yet is an empty receipt.
    pub fn load_from(dir: &Path) -> Result<Self, Error> {
        let path = Self::path_in(dir);
        let bytes = match crate::safe_read::read(&path, crate::safe_read::MAX_STATE_BYTES) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Ok(Self::default()),
            Err(e) => return Err(e.into()),
        };
        Self::parse(&bytes, &path)
    }

    /// The state folder of `prefix`: the machine state folder's (for a prefix only the
    /// administrators control, fixed by an elevated run) when it has a receipt, else the
    /// prefix's own `.condafix`.
    pub fn state_dir_of(prefix: &Path, machine_state: &Path) -> PathBuf {
        let machine = machine_state
            .join(condafix_actor::state::MACHINE_PREFIXES_DIR)
            .join(condafix_actor::state::prefix_key(prefix));
        if Self::path_in(&machine).is_file() {
            machine
        } else {
            prefix.join(STATE_DIR)
        }
    }

    /// Load the receipt that describes `prefix` (see [`Receipt::state_dir_of`]).
    pub fn load_for_prefix(prefix: &Path, machine_state: &Path) -> Result<Self, Error> {
        Self::load_from(&Self::state_dir_of(prefix, machine_state))
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
