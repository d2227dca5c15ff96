//! The on-disk model of a conda prefix, read without running anything.
//!
//! Everything here is plain data and pure functions: a Windows-layout prefix can be inspected
//! from Linux (a mounted disk, a fake tree in a test) exactly as on Windows.

// Library crates never print: the binary owns stdout and stderr (its Printer).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod archive;
pub use condafix_actor::guard;
mod digest;
mod envs;
mod error;
pub mod ini;
mod layout;
mod pe;
mod receipt;
mod record;
mod record_pip;
pub mod registry;
mod registry_windows;
pub mod safe_read;
pub mod tar_stream;
pub mod text;
mod version;

pub use digest::{Sha256, HASH_BUFFER_SIZE};
pub use envs::{read_environments_txt, EnvironmentsTxt};
pub use error::Error;
pub use layout::{join_rel, serialize_native_rel, Layout, CONDA_DLL_DIRS};
pub use pe::{read_pe, read_pe_file, Machine, PeInfo, PeProblem};
pub use receipt::{
    Action, HistoryEntry, Receipt, ReceiptEntry, RegistryEntry, TxnCommand, BACKUP_DIR,
    JOURNAL_FILE, RECEIPT_FILE, RECEIPT_SCHEMA_VERSION, STATE_DIR,
};
pub use record::{
    parse_record_file_name, read_json, CondaMeta, MetaEntry, PackageRef, PathEntry, PathEntryRef,
    PathType, PathsData, PathsDataRef, PathsJson, PrefixRecord, RecordFiles, RecordHeader,
};
pub use record_pip::{PipRecord, PipRecordEntry};
#[cfg(windows)]
pub use registry_windows::{enable_privilege, SystemRegistry};
pub use version::Version;

/// The folder, under a prefix, that marks it as a conda prefix.
pub const CONDA_META: &str = "conda-meta";
/// The file whose presence makes a folder a conda prefix.
pub const HISTORY_FILE: &str = "history";
/// Marks a "Just Me" install; its absence under `C:\ProgramData` means "All Users".
pub const NONADMIN_MARKER: &str = ".nonadmin";

/// Whether `path` is a conda prefix (it has `conda-meta/history`).
pub fn is_conda_prefix(path: &std::path::Path) -> bool {
    path.join(CONDA_META).join(HISTORY_FILE).is_file()
}
