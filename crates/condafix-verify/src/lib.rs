//! Verification: detection predicts, this proves. The prefix's own interpreter is run the way an
//! unactivated shell runs it and the way an activated one does; optionally it goes online through
//! pip's own stack; and `audit` hashes the TLS chain files against conda's and pip's records.

// Library crates never print: the binary owns stdout and stderr (its Printer).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod audit;
pub mod rights;
mod run;
pub mod runas;
mod verify;

/// A path for people and JSON.
pub(crate) fn display(p: &std::path::Path) -> String {
    condafix_detect::display_path(p)
}

pub use run::{
    job_start, job_verdict, python_of, run_with_timeout, windows_command_line, ExitKind, JobStart,
    RunOutput, Spec, LIMIT_BREAKAWAY_OK, LIMIT_SILENT_BREAKAWAY_OK,
};
pub use verify::{
    verify_prefix, ErrorClass, Launch, LaunchResult, OnlineResult, PrefixVerify, VerifyOptions,
    PROBE,
};
