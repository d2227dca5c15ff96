//! Fuzzing what condafix reads from places others control: the PE reader, pip.ini and
//! .condarc (read and edited), conda-meta records, condafix's receipt and journal, the archive
//! readers and the bundle manifest, the path guard and the actor's walk below a folder, SDDL
//! strings and the folder-ACL evaluator, the credential redaction, text decoding, and what
//! `condafix report` reads from a fleet.
//!
//! Each target is one `run_*` function taking bytes: it panics on a bug (a crash, or a broken
//! property: an edit pip or conda cannot parse, a guarded path outside its root, a secret left
//! by the redaction...). Structured targets decode their bytes with `arbitrary`. The same
//! functions are called by
//! - the libFuzzer targets in `fuzz/` (coverage-guided campaigns: `scripts/fuzz.sh`),
//! - the in-tree runner ([`engine`], `src/bin/fuzz.rs`): a fixed number of executions from a
//!   fixed seed, what CI runs,
//! - `tests/fuzz.rs`, which replays every committed input (`fuzz/corpus/<target>/` and
//!   `fuzz/regressions/<target>/`) in a plain `cargo test`.

use std::path::{Path, PathBuf};

pub mod engine;
mod files;
mod rights;
mod text;

pub use engine::{fuzz, mutate, Budget, Outcome, Rng};
pub use files::*;
pub use rights::*;
pub use text::*;

/// One fuzz target.
pub struct Target {
    /// Also the libFuzzer target's name and its folders under `fuzz/corpus/` and
    /// `fuzz/regressions/`.
    pub name: &'static str,
    /// Seeds: realistic inputs the mutations start from (`--write-seeds` puts them in the
    /// libFuzzer corpus).
    pub seeds: fn() -> Vec<Vec<u8>>,
    /// Runs one input; panics on a bug (a crash or a broken property).
    pub run: fn(&[u8]),
}

/// Where the libFuzzer crate keeps its committed inputs.
pub fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The committed inputs of a target: its minimized corpus, then every input that ever crashed
/// it, each sorted by file name (the order, and so a seeded run, is the same everywhere).
pub fn committed(name: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for kind in ["corpus", "regressions"] {
        let dir = fuzz_dir().join(kind).join(name);
        let Ok(rd) = fs_err::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for p in files {
            let bytes = fs_err::read(&p).expect("a committed fuzz input");
            out.push((p, bytes));
        }
    }
    out
}

/// Every fuzz target.
pub fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "pe",
            seeds: pe_seeds,
            run: run_pe,
        },
        Target {
            name: "pip-ini",
            seeds: pip_seeds,
            run: run_pip,
        },
        Target {
            name: "condarc",
            seeds: condarc_seeds,
            run: run_condarc,
        },
        Target {
            name: "conda-meta",
            seeds: record_seeds,
            run: run_record,
        },
        Target {
            name: "receipt",
            seeds: state_seeds,
            run: run_receipt,
        },
        Target {
            name: "journal",
            seeds: state_seeds,
            run: run_journal,
        },
        Target {
            name: "archive-conda",
            seeds: conda_seeds,
            run: run_archive_conda,
        },
        Target {
            name: "archive-tar-bz2",
            seeds: tar_bz2_seeds,
            run: run_archive_tar_bz2,
        },
        Target {
            name: "archive-zip",
            seeds: zip_seeds,
            run: run_archive_zip,
        },
        Target {
            name: "bundle-manifest",
            seeds: manifest_seeds,
            run: run_manifest,
        },
        Target {
            name: "guard",
            seeds: guard_seeds,
            run: run_guard,
        },
        Target {
            name: "redact",
            seeds: redact_seeds,
            run: run_redact,
        },
        Target {
            name: "redact-complete",
            seeds: structured_seeds,
            run: run_redact_complete,
        },
        Target {
            name: "text",
            seeds: pip_seeds,
            run: run_text,
        },
        Target {
            name: "report-input",
            seeds: report_seeds,
            run: run_report_input,
        },
        Target {
            name: "summary-line",
            seeds: summary_line_seeds,
            run: run_summary_line,
        },
        Target {
            name: "sddl",
            seeds: sddl_seeds,
            run: run_sddl,
        },
        Target {
            name: "acl",
            seeds: structured_seeds,
            run: run_acl,
        },
        Target {
            name: "actor-walk",
            seeds: structured_seeds,
            run: run_actor_walk,
        },
    ]
}
