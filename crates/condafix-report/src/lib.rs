//! `condafix report`: the fleet at a glance, from what the machines already send. Reads
//! condafix's `--json` documents (files, folders, patterns, zips, JSON Lines), Intune's
//! remediation results (Graph JSON and the console's CSV export, whose detection output is
//! `condafix check`'s summary line) and Ansible's json callback output; keeps each device's
//! newest document (the older ones are its history); and renders one summary as a
//! self-contained HTML page, JSON, CSV, and one NDJSON event per install.
//!
//! Pure: no terminal, no clock (the caller says what "now" is), no writing; the caller owns
//! where the outputs go.

// Library crates never print: the binary owns stdout and stderr.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod collect;
mod error;
mod fleet;
mod inputs;
mod limits;
mod model;
mod read;
pub mod render;
mod summary;
pub mod summary_line;
pub mod time;

pub use collect::{collect, read_bytes, ReadOptions};
pub use error::{Note, Problem, ReportError};
pub use fleet::{Device, Fleet, InputStats, Point};
pub use inputs::{expand, matches as wildcard_matches, Expanded};
pub use limits::Limits;
pub use model::{
    CodeInfo, DeviceReport, DeviceState, Era, Install, Observation, Source, UserScope, Verdict,
};
pub use read::sink::Redact;
pub use render::events::{events, write_ndjson, Event, EVENT};
pub use summary::{
    summarize, AttentionDevice, AttentionInstall, Breakdown, Count, Day, FindingRow, HistoryPoint,
    Inputs, StaleDevice, Summary, SummaryOptions,
};
