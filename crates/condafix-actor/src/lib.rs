//! Who acts where. condafix runs as SYSTEM or root over folders that ordinary users own; this
//! crate is the one way the rest of condafix touches such a folder:
//!
//! - an [`Identity`] is whose rights a piece of work has: condafix's own, or another account's
//!   taken on for the work on the calling thread ([`Identity::act`]);
//! - a [`Location`] is a folder opened as an identity: every read, create, rename, removal and
//!   lock in it is relative to the folder's handle, never through a link;
//! - [`control`] says who, besides the administrators, may change a folder: that decides the
//!   identity (its owner's) or that condafix only reads there (several accounts may write);
//!   [`sddl`] reads the security descriptor strings Windows shows, for its tests and fuzzing;
//! - [`state`] says where condafix keeps its journal, receipt and backups: with the authority
//!   of what they describe;
//! - [`guard`] checks every path read from a file before it is joined to a folder;
//! - [`read`] reads a file it found by path without following a link at its end, without
//!   blocking on a FIFO, and never more than a cap.

// Library crates never print: the binary owns stdout and stderr (its Printer).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod control;
mod error;
pub mod guard;
pub mod identity;
mod location;
pub mod privilege;
pub mod read;
pub mod sddl;
pub mod state;
mod sys;
#[cfg(windows)]
pub mod windows;

pub use control::{Control, Writer};
pub use error::FsError;
pub use identity::{AccountId, Identity, IdentityError};
pub use location::{Kind, Location, Meta, NewMode, RetryPolicy, WriteOptions, TEMP_MARKER};
pub use privilege::{can_start_as_user, process_is_elevated, process_is_system};

/// Who may change the folder open as `dir` (`path` for messages).
fn control_of_dir(dir: &sys::DirHandle, path: &std::path::Path) -> Result<Control, FsError> {
    sys::control_of_dir(dir)
        .map_err(|e| FsError::from_io(path, "read the rights of", "condafix", e))
}

/// Who may change the folder at `path` (followed as given), read from its handle; a folder whose
/// rights cannot be read counts as changeable by anyone (the safe answer).
pub fn control_of(path: &std::path::Path) -> Control {
    match sys::open_root(path).and_then(|d| sys::control_of_dir(&d)) {
        Ok(c) => c,
        Err(e) => Control::Shared(vec![Writer::new(
            "unknown",
            format!("its rights could not be read: {e}"),
        )]),
    }
}
