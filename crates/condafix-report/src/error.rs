//! What can go wrong: for the whole run ([`ReportError`], the command fails) and for one input
//! ([`Problem`], a note on the page and in the summary; never fatal).

use std::path::PathBuf;

/// The report cannot be made at all.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "nothing to read: {} {} not exist (give files, folders, globs such as \\\\server\\share\\*.json, or .zip files of condafix --json documents, Intune exports or Ansible output)",
        list(.paths),
        if .paths.len() == 1 { "does" } else { "do" }
    )]
    NoInput { paths: Vec<PathBuf> },
    #[error("a worker thread stopped: {what}")]
    Worker { what: String },
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why one input (a file, an archive member, a line of JSON Lines, a CSV row) was not read, or
/// not read whole. Each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("does not exist")]
    Missing,
    #[error("is a link: links are not followed (give the file or folder it points to)")]
    Link,
    #[error("cannot be read: {0}")]
    Unreadable(String),
    #[error("is not text (it starts with {start}): not a condafix document, an Intune export, Ansible output or a zip of them")]
    Binary { start: String },
    #[error("is not valid JSON at line {line}, column {column}: {message} (a truncated or half-written file? write it again, or remove it)")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("holds a {what} larger than {limit_mib} MiB: not read further (condafix documents are far smaller; is it the right file?)")]
    TooLarge { what: &'static str, limit_mib: u64 },
    #[error("is JSON, but {0}: not a condafix --json document, a Graph deviceRunStates export or Ansible json callback output")]
    Foreign(String),
    #[error("is a condafix document of schema {0}: this report reads schema 2 and later (run the newer condafix on that machine)")]
    OldSchema(u64),
    #[error("is CSV, but {0} (export the remediation's device status from the Intune console, or give a CSV with a device name column and the detection output)")]
    CsvColumns(String),
    #[error("is CSV that cannot be read at line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("is neither JSON, CSV nor a zip: {0}")]
    Unknown(String),
    #[error("is not a readable zip archive: {0}")]
    Zip(String),
    #[error(
        "expands to more than {ratio} times its compressed size (a zip bomb?): not read further"
    )]
    ZipBomb { ratio: u64 },
    #[error("expands beyond {limit_mib} MiB, more than any member of a zip of reports should (a zip bomb?): not read further")]
    ZipTooLarge { limit_mib: u64 },
    #[error("expands beyond the size the archive gives for it (a zip bomb?): not read further")]
    ZipLies,
    #[error("is an archive inside an archive: not read (unpack the outer one first)")]
    NestedArchive,
    #[error(
        "has a time that cannot be read ({0}): it counts as the oldest of its device's documents"
    )]
    BadTime(String),
    #[error("names no host: it is counted under the name {0} (from its file name)")]
    NoHost(String),
    #[error("has no device name: it is counted as {0} (request the run states with ?$expand=managedDevice, or export with the Device name column)")]
    NoDeviceName(String),
    #[error(
        "is Ansible output with no condafix task (no task ran condafix or printed its document)"
    )]
    AnsibleWithoutCondafix,
    #[error("{0} more problems in this file are not listed")]
    More(usize),
}

impl Problem {
    /// A stable word for scripts.
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::Missing => "missing",
            Problem::Link => "link",
            Problem::Unreadable(_) => "unreadable",
            Problem::Binary { .. } => "binary",
            Problem::Json { .. } => "invalid-json",
            Problem::TooLarge { .. } => "too-large",
            Problem::Foreign(_) => "foreign-json",
            Problem::OldSchema(_) => "old-schema",
            Problem::CsvColumns(_) => "foreign-csv",
            Problem::Csv { .. } => "invalid-csv",
            Problem::Unknown(_) => "unknown-format",
            Problem::Zip(_) => "invalid-zip",
            Problem::ZipBomb { .. } => "zip-bomb",
            Problem::ZipTooLarge { .. } => "zip-bomb",
            Problem::ZipLies => "zip-bomb",
            Problem::NestedArchive => "nested-archive",
            Problem::BadTime(_) => "bad-time",
            Problem::NoHost(_) | Problem::NoDeviceName(_) => "no-host",
            Problem::AnsibleWithoutCondafix => "ansible-without-condafix",
            Problem::More(_) => "more",
        }
    }

    /// The input was not used at all (as opposed to used with a caveat).
    pub fn unread(&self) -> bool {
        !matches!(
            self,
            Problem::BadTime(_) | Problem::NoHost(_) | Problem::NoDeviceName(_) | Problem::More(_)
        )
    }
}

/// A problem with one input, for people and scripts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Note {
    /// The file (`archive.zip!member`, `file.jsonl:17` for a line).
    pub file: String,
    /// A stable word: `invalid-json`, `too-large`, `zip-bomb`, `binary`, `link`, ...
    pub kind: String,
    /// What is wrong and what to do.
    pub problem: String,
}

impl Note {
    pub fn new(file: impl Into<String>, problem: &Problem) -> Self {
        Note {
            file: file.into(),
            kind: problem.kind().to_string(),
            problem: problem.to_string(),
        }
    }
}
