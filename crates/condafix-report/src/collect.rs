//! Reading every input into a [`Fleet`], the files spread over worker threads; one thread
//! aggregates what they send (bounded channel: readers wait rather than pile up results).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::error::{Note, Problem, ReportError};
use crate::fleet::Fleet;
use crate::limits::Limits;
use crate::model::Observation;
use crate::read::sink::{Redact, Sink};

/// How to read.
pub struct ReadOptions<'a> {
    pub limits: Limits,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Removes credentials from every text taken from an input.
    pub redact: &'a Redact,
    /// Called after each file, with (files done, files in all).
    pub progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
}

enum Msg {
    Batch(Vec<Observation>),
    Done { notes: Vec<Note> },
}

/// Read every PATH (files, folders, patterns, zips) into the fleet.
pub fn collect(paths: &[PathBuf], opts: &ReadOptions<'_>) -> Result<Fleet, ReportError> {
    let expanded = crate::inputs::expand(paths, &opts.limits);
    if expanded.files.is_empty() && expanded.notes.is_empty() && !expanded.missing.is_empty() {
        return Err(ReportError::NoInput {
            paths: expanded.missing,
        });
    }
    let mut fleet = Fleet::default();
    fleet.notes.extend(
        expanded
            .missing
            .iter()
            .map(|p| Note::new((opts.redact)(&p.display().to_string()), &Problem::Missing)),
    );
    fleet.notes.extend(expanded.notes);
    fleet.stats.skipped = expanded.skipped;
    let files = expanded.files;
    let total = files.len() as u64;
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    }
    .clamp(1, 16)
    .min(files.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::sync_channel::<Msg>(threads * 4);
    let mut worker_failed = None;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let tx = tx.clone();
                let next = &next;
                let files = &files;
                scope.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else {
                        break;
                    };
                    let mut send = |batch: Vec<Observation>| {
                        let _ = tx.send(Msg::Batch(batch));
                    };
                    let mut sink = Sink::new(
                        (opts.redact)(&path.display().to_string()),
                        None,
                        opts.limits,
                        opts.redact,
                        &mut send,
                    );
                    crate::read::read_file(path, &mut sink);
                    sink.finish();
                    let notes = std::mem::take(&mut sink.notes);
                    drop(sink);
                    let _ = tx.send(Msg::Done { notes });
                })
            })
            .collect();
        drop(tx);
        let mut done = 0u64;
        for msg in rx {
            match msg {
                Msg::Batch(batch) => batch.into_iter().for_each(|o| fleet.add(o)),
                Msg::Done { notes } => {
                    fleet.notes.extend(notes);
                    done += 1;
                    if let Some(p) = opts.progress {
                        p(done, total);
                    }
                }
            }
        }
        for h in handles {
            if let Err(e) = h.join() {
                let what = e
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| e.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into());
                worker_failed = Some(what);
            }
        }
    });
    if let Some(what) = worker_failed {
        return Err(ReportError::Worker { what });
    }
    fleet.stats.files = total;
    fleet.settle();
    fleet.notes.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(fleet)
}

/// Read one input from memory, as if it were a file called `name` (fuzzing, tests): the
/// observations it makes and its notes.
pub fn read_bytes(
    name: &str,
    bytes: &[u8],
    limits: Limits,
    redact: &Redact,
) -> (Vec<Observation>, Vec<Note>) {
    let mut got = Vec::new();
    let mut out = |batch: Vec<Observation>| got.extend(batch);
    let mut sink = Sink::new(name.to_string(), None, limits, redact, &mut out);
    crate::read::read_stream(bytes, &mut sink);
    sink.finish();
    let notes = std::mem::take(&mut sink.notes);
    drop(sink);
    (got, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, text: &str) -> (Vec<Observation>, Vec<Note>) {
        let redact = |s: &str| s.replace("hunter2", "****");
        read_bytes(name, text.as_bytes(), Limits::default(), &redact)
    }

    const DOC: &str = r#"{"schema_version": 2, "condafix_version": "0.1.0", "host": "PC-1",
        "time": "2025-03-01T00:00:00.000Z", "exit_code": 0,
        "prefixes": [{"prefix": "C:\\u\\hunter2\\m3", "verdict": "fixed", "findings_after": []}]}"#;

    #[test]
    fn a_document_an_array_of_them_and_concatenated_ones_all_read() {
        let (o, n) = read("a.json", DOC);
        assert_eq!((o.len(), n.len()), (1, 0));
        assert_eq!(o[0].host, "PC-1");
        let installs = &o[0].state.as_ref().unwrap().installs;
        assert_eq!(
            installs[0].prefix.as_deref(),
            Some("C:\\u\\****\\m3"),
            "redacted"
        );
        let (o, n) = read("b.json", &format!("[{DOC}, {DOC}]"));
        assert_eq!((o.len(), n.len()), (2, 0));
        let (o, n) = read("c.json", &format!("{DOC}\n{DOC}\n"));
        assert_eq!((o.len(), n.len()), (2, 0));
    }

    #[test]
    fn a_bad_line_of_json_lines_is_noted_and_the_next_one_read() {
        let text = format!(
            "{}\n{{\"broken\": \n{}\n",
            DOC.replace('\n', " "),
            DOC.replace('\n', " ")
        );
        let (o, n) = read("d.jsonl", &text);
        assert_eq!(o.len(), 2);
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(n[0].file.ends_with("d.jsonl:2"), "{n:?}");
    }

    #[test]
    fn schema_one_foreign_json_and_ansible_without_condafix_each_have_their_note() {
        let (_, n) = read(
            "old.json",
            r#"{"schema_version": 1, "condafix_version": "0.0.1"}"#,
        );
        assert_eq!(n[0].kind, "old-schema");
        let (_, n) = read("x.json", r#"{"name": "something else", "items": []}"#);
        assert_eq!(n[0].kind, "foreign-json");
        assert!(n[0].problem.contains("name, items"), "{n:?}");
        let ansible = r#"{"plays": [{"play": {"name": "p"}, "tasks": [{"hosts": {"pc1": {"rc": 0, "stdout": "hello", "cmd": "whoami"}}, "task": {"name": "t"}}]}], "stats": {}}"#;
        let (o, n) = read("a.json", ansible);
        assert!(o.is_empty());
        assert_eq!(n[0].kind, "ansible-without-condafix");
        let failed = r#"{"plays": [{"tasks": [{"hosts": {"pc1": {"rc": 2, "failed": true, "msg": "non-zero return code", "stderr": "condafix: error: access denied", "cmd": "C:\\tools\\condafix.exe post-install --json"}}, "task": {"name": "t", "duration": {"end": "2025-03-01T10:00:00.000000Z"}}}]}]}"#;
        let (o, n) = read("f.json", failed);
        assert!(n.is_empty(), "{n:?}");
        let s = o[0].state.as_ref().unwrap();
        assert_eq!(s.state(), crate::DeviceState::NoResult);
        assert!(
            s.no_result.as_deref().unwrap().contains("exit code 2"),
            "{s:?}"
        );
        assert_eq!(o[0].time, Some("2025-03-01T10:00:00Z".parse().unwrap()));
    }
}
