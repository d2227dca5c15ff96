//! Builds realistic fake conda installs from a declarative description, for tests, benchmarks
//! and `condafix demo`: PE files with real import tables, conda-meta records in conda's own
//! format whose hashes are computed from the bytes written, `conda-meta/history`, `.nonadmin`,
//! a fake `Windows\System32` and PATH folders. Nothing here depends on condafix's own parsers,
//! so the tests read what an independent writer produced.

// Library crates never print: the binary owns stdout and stderr (its Printer).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod archives;
pub mod fleet;
pub mod loader;
mod openssl;
mod pe;
mod python;
pub mod scenarios;
mod tree;

pub use openssl::{OpenSsl, OpenSslLib};
pub use pe::{build_pe, Arch, Import, PeSpec};
pub use python::{Patch, Python, SslLink};
pub use scenarios::Scenario;
pub use tree::{
    install_package, lfs_pointer, FakeMachine, Package, PrefixSpec, Tweak, PUBLIC_ROOTS_PEM,
    SESSIONS_PY, SESSIONS_PY_VERIFY_FALSE,
};
