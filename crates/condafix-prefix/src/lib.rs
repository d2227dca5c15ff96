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
pub use registry_windows::{launch_path, verbatim, SystemRegistry};

/// A Windows path for a raw Win32 call, as Rust's std makes it for its own calls: an absolute
/// drive path gets `\\?\`, a UNC path `\\?\UNC\`, with `/` turned into `\` (a verbatim path is
/// not normalised by Windows), so a path over 260 characters works; a relative or already
/// verbatim path (or a device path) is left as it is.
pub fn verbatim_str(s: &str) -> String {
    if s.starts_with(r"\\?\") || s.starts_with(r"\\.\") {
        return s.to_string();
    }
    let b = s.as_bytes();
    if let Some(unc) = s.strip_prefix(r"\\") {
        return format!(r"\\?\UNC\{}", unc.replace('/', r"\"));
    }
    if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/')
    {
        let path = s.replace('/', r"\");
        // `.` and `..` are not resolved in a verbatim path: such a path is left to Windows.
        if path.split('\\').any(|c| c == "." || c == "..") {
            return s.to_string();
        }
        return format!(r"\\?\{path}");
    }
    s.to_string()
}

/// A path for a program to start, as std gives `CreateProcessW`: as it is when shorter than
/// 248 UTF-16 units, [`verbatim_str`] only when longer. A started Python sees its own path
/// (`sys.executable`, `sys.prefix`) as given, and a `\\?\` one changes what it computes
/// (CPython 3.11+ keeps the prefix; `..` joins break).
pub fn launch_path_str(s: &str) -> String {
    if s.encode_utf16().count() < 248 {
        s.to_string()
    } else {
        verbatim_str(s)
    }
}

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

#[cfg(test)]
mod verbatim_tests {
    #[test]
    fn long_paths_get_the_verbatim_prefix_as_std_gives_it() {
        use super::verbatim_str as v;
        assert_eq!(v(r"C:\Users\me\NTUSER.DAT"), r"\\?\C:\Users\me\NTUSER.DAT");
        assert_eq!(v("C:/Users/me"), r"\\?\C:\Users\me");
        assert_eq!(
            v(r"\\srv\share\me\AppData"),
            r"\\?\UNC\srv\share\me\AppData"
        );
        for same in [
            r"\\?\C:\x",
            r"\\.\pipe\x",
            r"rel\x",
            r"C:x",
            r"C:\a\..\b",
            "",
        ] {
            assert_eq!(v(same), same);
        }
        let long = format!(r"C:\{}", "d\\".repeat(200));
        assert!(v(&long).starts_with(r"\\?\C:\d\d"));
    }

    #[test]
    fn a_program_is_started_by_its_plain_path_unless_too_long() {
        use super::launch_path_str as l;
        let short = r"C:\Users\José\anaconda3\python.exe";
        assert_eq!(l(short), short);
        let at_limit = format!(r"C:\{}", "x".repeat(244));
        assert_eq!(at_limit.encode_utf16().count(), 247);
        assert_eq!(l(&at_limit), at_limit);
        let over = format!(r"C:\{}", "x".repeat(245));
        assert_eq!(l(&over), format!(r"\\?\{over}"));
    }
}
