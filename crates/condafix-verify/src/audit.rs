//! `condafix audit`: hash the files TLS rests on (or, with `--all`, every file of every conda
//! record) against conda's records and pip's RECORD, in parallel and streaming. Unlike `conda
//! doctor altered-files`, noarch: python files are mapped to where they were installed, so pip's
//! vendored code is checked too; missing hashes are "unverifiable", not "ok"; and a text file that
//! differs only by CRLF line endings is reported as such.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use condafix_actor::{Identity, Location};
use condafix_prefix::guard::RelPath;
use condafix_prefix::safe_read;
use condafix_prefix::{join_rel, CondaMeta, Layout, PipRecord, RecordFiles, Sha256, Version};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FileStatus {
    Ok,
    /// Differs from the record only by CRLF line endings (a git checkout).
    CrlfOnly,
    Altered,
    Missing,
    /// No hash recorded.
    Unverifiable,
    /// A link (symlink or junction): not read through.
    Link,
    /// The record names a path that leaves the prefix: refused, not read.
    Refused,
}

impl FileStatus {
    pub fn label(self) -> &'static str {
        match self {
            FileStatus::Ok => "ok",
            FileStatus::CrlfOnly => "crlf-only",
            FileStatus::Altered => "altered",
            FileStatus::Missing => "missing",
            FileStatus::Unverifiable => "unverifiable",
            FileStatus::Link => "link",
            FileStatus::Refused => "refused",
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AuditEntry {
    pub path: String,
    /// `conda:<dist>` or `pip RECORD`.
    pub recorded_by: String,
    pub status: FileStatus,
    pub expected: Option<Sha256>,
    pub actual: Option<Sha256>,
}

/// What an audit covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuditScope {
    /// The files TLS rests on.
    TlsChain,
    /// Every file of every record.
    All,
}

impl std::fmt::Display for AuditScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuditScope::TlsChain => "tls-chain",
            AuditScope::All => "all",
        })
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AuditReport {
    pub prefix: String,
    pub scope: AuditScope,
    pub files: usize,
    pub bytes: u64,
    pub counts: BTreeMap<String, usize>,
    /// The entries that are not `ok`, in path order: the first [`MAX_PROBLEMS_LISTED`] of them
    /// (`counts` has them all).
    pub problems: Vec<AuditEntry>,
    /// Entries that are not `ok` beyond those listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub problems_not_listed: usize,
    pub records_parsed: usize,
    pub parse_ms: u64,
    pub hash_ms: u64,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// How many problems a report lists: a prefix whose records list 200,000 files that are not
/// there says so in `counts`, without holding (and printing) every one.
pub const MAX_PROBLEMS_LISTED: usize = 10_000;

struct Job {
    rel: String,
    /// Index into the list of package names.
    recorded_by: usize,
    expected: Option<Sha256>,
    /// The recorded size: a file of another size is altered without being hashed.
    size: Option<u64>,
}

/// Whether `rel` (prefix-relative) is one of the files TLS rests on.
fn tls_chain(rel: &str) -> bool {
    let l = rel.to_lowercase();
    let name = l.rsplit('/').next().unwrap_or(&l);
    (name.starts_with("libssl") || name.starts_with("libcrypto"))
        && (name.ends_with(".dll") || name.contains(".so") || name.ends_with(".dylib"))
        || name.starts_with("_ssl.")
        || name.starts_with("_hashlib.")
        || name == "cacert.pem"
        || l.contains("site-packages/certifi/")
        || l.contains("pip/_vendor/requests/")
        || l.contains("pip/_vendor/urllib3/")
        || l.contains("pip/_vendor/certifi/")
        || l.contains("pip/_vendor/truststore/")
}

fn is_text(rel: &str) -> bool {
    let l = rel.to_lowercase();
    [
        ".py", ".pem", ".txt", ".cfg", ".json", ".bat", ".sh", ".md", ".toml", ".yml", ".yaml",
        ".ini", ".ps1",
    ]
    .iter()
    .any(|e| l.ends_with(e))
}

/// Text files larger than this are not compared line-ending-blind (none of conda's are).
const MAX_TEXT_BYTES: u64 = 16 * 1024 * 1024;

/// The folder a worker has open: the jobs come sorted by path, so one folder serves a run of
/// files, each opened relative to its handle.
struct OpenDir {
    rel: String,
    dir: Result<Location, FileStatus>,
}

/// Hash a recorded file: through the guard (no path that leaves the prefix), by handle from the
/// prefix's (no link followed on the way or at the end), streaming, whatever its size. A file
/// whose size is not the recorded one is altered without being read (`Ok(None)`): a planted
/// 2 GiB file costs nothing.
fn hash_in_prefix(
    prefix: &Location,
    open: &mut Option<OpenDir>,
    rel: &str,
    size: Option<u64>,
) -> Result<Option<(Sha256, u64)>, FileStatus> {
    let rel = RelPath::parse(rel).map_err(|_| FileStatus::Refused)?;
    let (dir, name) = match rel.as_str().rsplit_once('/') {
        Some((dir, name)) => (dir, name),
        None => ("", rel.as_str()),
    };
    if open.as_ref().is_none_or(|o| o.rel != dir) {
        let opened = if dir.is_empty() {
            Location::open(prefix.root(), prefix.identity().clone())
        } else {
            let d = RelPath::parse(dir).map_err(|_| FileStatus::Refused)?;
            prefix.subdir(&d, None)
        };
        *open = Some(OpenDir {
            rel: dir.to_string(),
            dir: opened.map_err(status_of),
        });
    }
    let dir = match open.as_ref().map(|o| &o.dir) {
        Some(Ok(d)) => d,
        Some(Err(status)) => return Err(*status),
        None => return Err(FileStatus::Missing),
    };
    let name = RelPath::parse(name).map_err(|_| FileStatus::Refused)?;
    let (f, len) = dir.open_file_len(&name).map_err(status_of)?;
    if size.is_some_and(|size| size != len) {
        return Ok(None);
    }
    hash_file(f, len).map(Some).map_err(|_| FileStatus::Missing)
}

/// What a refused or failed open means for the audit: a link (a symlink, a junction, or a hard
/// link to another account's file) is not read through; anything else is missing.
fn status_of(e: condafix_actor::FsError) -> FileStatus {
    match e {
        condafix_actor::FsError::Link { .. } | condafix_actor::FsError::HardLinked { .. } => {
            FileStatus::Link
        }
        _ => FileStatus::Missing,
    }
}

/// Audit a prefix. `all`: every file of every record; else the TLS chain only. `progress` is
/// told (files done, bytes hashed) as work goes.
pub fn audit_prefix(
    prefix: &Path,
    all: bool,
    progress: &(dyn Fn(usize, usize, u64) + Sync),
) -> Result<AuditReport, condafix_prefix::Error> {
    let started = Instant::now();
    let work = collect_jobs(prefix, all)?;
    let parse_ms = started.elapsed().as_millis() as u64;
    let hash_started = Instant::now();
    let checked = run_jobs(prefix, &work, progress);
    let hash_ms = hash_started.elapsed().as_millis() as u64;
    let counts = checked
        .counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(status, n)| (status.label().to_string(), *n))
        .collect();
    Ok(AuditReport {
        prefix: dunce::simplified(prefix).display().to_string(),
        scope: if all {
            AuditScope::All
        } else {
            AuditScope::TlsChain
        },
        files: work.jobs.len(),
        bytes: checked.bytes,
        counts,
        problems: checked.problems,
        problems_not_listed: checked.not_listed,
        records_parsed: work.records_parsed,
        parse_ms,
        hash_ms,
    })
}

/// The files to check and who recorded them.
struct Work {
    jobs: Vec<Job>,
    /// `conda:<dist>` or `pip RECORD`, indexed by [`Job::recorded_by`].
    sources: Vec<String>,
    records_parsed: usize,
}

/// Every file the records (and a pip-installed pip's RECORD) list, within the scope.
fn collect_jobs(prefix: &Path, all: bool) -> Result<Work, condafix_prefix::Error> {
    let layout = Layout::detect(prefix);
    let meta = CondaMeta::scan(prefix)?;
    let py = meta
        .find("python")
        .map(|e| Version::parse(&e.version).major_minor());
    let wanted = ["openssl", "python", "ca-certificates", "certifi", "pip"];
    let mut work = Work {
        jobs: Vec::new(),
        sources: Vec::new(),
        records_parsed: 0,
    };
    for entry in meta.entries() {
        if !all && !wanted.contains(&entry.name.as_str()) {
            continue;
        }
        let bytes = safe_read::read(&entry.path, safe_read::MAX_RECORD_BYTES)?;
        let rec: RecordFiles<'_> =
            serde_json::from_slice(&bytes).map_err(|source| condafix_prefix::Error::Json {
                path: entry.path.clone(),
                what: "conda-meta record",
                source,
            })?;
        work.records_parsed += 1;
        work.sources
            .push(format!("conda:{}-{}-{}", rec.name, rec.version, rec.build));
        let src = work.sources.len() - 1;
        record_jobs(&rec, layout, py, all, src, &mut work.jobs);
    }
    // pip installed by pip (no conda record): its RECORD.
    if let (None, Some(mm)) = (meta.find("pip"), py) {
        pip_record_jobs(prefix, layout, mm, all, &mut work);
    }
    Ok(work)
}

/// The jobs of one conda record: its `paths_data`, and the files it lists without one
/// (unverifiable, but checked for presence).
fn record_jobs(
    rec: &RecordFiles<'_>,
    layout: Layout,
    py: Option<(u64, u64)>,
    all: bool,
    src: usize,
    jobs: &mut Vec<Job>,
) {
    let installed = rec.installed(layout, py);
    let complete = installed.len() >= rec.files.len();
    let mut recorded: std::collections::HashSet<String> = std::collections::HashSet::new();
    for f in installed {
        if f.path_type == condafix_prefix::PathType::Directory || (!all && !tls_chain(&f.rel)) {
            continue;
        }
        if !complete {
            recorded.insert(f.rel.to_lowercase());
        }
        jobs.push(Job {
            size: f.size.filter(|_| !is_text(&f.rel)),
            rel: f.rel,
            recorded_by: src,
            expected: f.sha256,
        });
    }
    if complete {
        return;
    }
    for f in rec
        .files
        .iter()
        .filter(|f| !recorded.contains(&f.to_lowercase()))
        .filter(|f| all || tls_chain(f))
    {
        jobs.push(Job {
            rel: f.to_string(),
            recorded_by: src,
            expected: None,
            size: None,
        });
    }
}

/// The jobs of a pip-installed pip's RECORD.
fn pip_record_jobs(prefix: &Path, layout: Layout, mm: (u64, u64), all: bool, work: &mut Work) {
    let site = join_rel(prefix, &layout.site_packages(mm));
    let Ok(rd) = fs_err::read_dir(&site) else {
        return;
    };
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if !(n.starts_with("pip-") && n.ends_with(".dist-info")) {
            continue;
        }
        let Ok(r) = PipRecord::from_path(&e.path().join("RECORD")) else {
            continue;
        };
        work.sources.push("pip RECORD".into());
        let src = work.sources.len() - 1;
        for re in r
            .entries
            .iter()
            .filter(|re| all || tls_chain(&format!("site-packages/{}", re.path)))
        {
            work.jobs.push(Job {
                rel: format!("{}/{}", layout.site_packages(mm), re.path),
                recorded_by: src,
                expected: re.sha256,
                size: None,
            });
        }
    }
}

/// How many jobs a worker takes at a time: neighbours in path order, so mostly one folder.
const BATCH: usize = 64;

/// What checking the jobs found.
struct Checked {
    /// Entries per status.
    counts: Vec<(FileStatus, usize)>,
    /// The first [`MAX_PROBLEMS_LISTED`] entries that are not `ok`, in path order.
    problems: Vec<AuditEntry>,
    not_listed: usize,
    bytes: u64,
}

/// A job whose file is not `ok`: kept small (the job's position in path order), made an
/// [`AuditEntry`] only if it is listed.
struct Problem {
    at: usize,
    status: FileStatus,
    actual: Option<Sha256>,
}

/// Check every job on a few threads (one per core), each taking runs of jobs in path order so
/// that it opens each folder once; the counts per status, the problems listed, and the bytes
/// hashed.
fn run_jobs(prefix: &Path, work: &Work, progress: &(dyn Fn(usize, usize, u64) + Sync)) -> Checked {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let bytes = AtomicU64::new(0);
    let problems: Mutex<Vec<Problem>> = Mutex::new(Vec::new());
    let counts: Mutex<BTreeMap<FileStatus, usize>> = Mutex::new(BTreeMap::new());
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8);
    let total = work.jobs.len();
    let mut order: Vec<u32> = (0..total as u32).collect();
    order.sort_by(|&a, &b| work.jobs[a as usize].rel.cmp(&work.jobs[b as usize].rel));
    // The prefix was found and its records read: a prefix that cannot be opened now leaves every
    // file missing.
    let root = Location::open(prefix, Identity::Process).map_err(status_of);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let mut local = Vec::new();
                let mut local_counts: BTreeMap<FileStatus, usize> = BTreeMap::new();
                let mut open: Option<OpenDir> = None;
                loop {
                    let from = next.fetch_add(BATCH, Ordering::Relaxed);
                    if from >= total {
                        break;
                    }
                    for (k, &i) in order[from..(from + BATCH).min(total)].iter().enumerate() {
                        let job = &work.jobs[i as usize];
                        let (status, actual, n) = match &root {
                            Ok(root) => check(root, &mut open, job),
                            Err(status) => (*status, None, 0),
                        };
                        bytes.fetch_add(n, Ordering::Relaxed);
                        *local_counts.entry(status).or_insert(0) += 1;
                        if status != FileStatus::Ok {
                            local.push(Problem {
                                at: from + k,
                                status,
                                actual,
                            });
                            // Only the first MAX_PROBLEMS_LISTED in path order are listed: a
                            // worker keeps at most that many of its own.
                            if local.len() > 2 * MAX_PROBLEMS_LISTED {
                                local.sort_by_key(|p: &Problem| p.at);
                                local.truncate(MAX_PROBLEMS_LISTED);
                            }
                        }
                        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if d.is_multiple_of(256) || d == total {
                            progress(d, total, bytes.load(Ordering::Relaxed));
                        }
                    }
                }
                problems.lock().expect("problems").extend(local);
                let mut c = counts.lock().expect("counts");
                for (status, n) in local_counts {
                    *c.entry(status).or_insert(0) += n;
                }
            });
        }
    });
    let counts: Vec<(FileStatus, usize)> =
        counts.into_inner().expect("counts").into_iter().collect();
    let not_ok: usize = counts
        .iter()
        .filter(|(s, _)| *s != FileStatus::Ok)
        .map(|(_, n)| n)
        .sum();
    let mut found = problems.into_inner().expect("problems");
    found.sort_by_key(|p| p.at);
    found.truncate(MAX_PROBLEMS_LISTED);
    let listed: Vec<AuditEntry> = found
        .into_iter()
        .map(|p| {
            let job = &work.jobs[order[p.at] as usize];
            AuditEntry {
                path: job.rel.clone(),
                recorded_by: work.sources[job.recorded_by].clone(),
                status: p.status,
                expected: job.expected,
                actual: p.actual,
            }
        })
        .collect();
    Checked {
        counts,
        not_listed: not_ok - listed.len(),
        problems: listed,
        bytes: bytes.load(Ordering::Relaxed),
    }
}

/// One file against its record: the status, the hash found and the bytes hashed. A text file
/// whose only difference is CRLF line endings is told apart.
fn check(
    prefix: &Location,
    open: &mut Option<OpenDir>,
    job: &Job,
) -> (FileStatus, Option<Sha256>, u64) {
    let (actual, n) = match hash_in_prefix(prefix, open, &job.rel, job.size) {
        Err(status) => return (status, None, 0),
        Ok(None) => return (FileStatus::Altered, None, 0),
        Ok(Some(found)) => found,
    };
    let status = match job.expected {
        None => FileStatus::Unverifiable,
        Some(e) if e == actual => FileStatus::Ok,
        Some(e) if is_text(&job.rel) => {
            let lf = RelPath::parse(&job.rel)
                .map_err(|_| ())
                .and_then(|rel| prefix.read(&rel, MAX_TEXT_BYTES).map_err(|_| ()))
                .map(|b| {
                    let text = String::from_utf8_lossy(&b).replace("\r\n", "\n");
                    Sha256::of_bytes(text.as_bytes())
                });
            if lf.is_ok_and(|h| h == e) {
                FileStatus::CrlfOnly
            } else {
                FileStatus::Altered
            }
        }
        Some(_) => FileStatus::Altered,
    };
    (status, Some(actual), n)
}

/// Hash an open file of `len` bytes (its size when opened): those bytes and no more, so a file
/// of the recorded size costs one read (no second read to find its end). A file that shrank
/// since gives fewer bytes, hence another hash; one that grew is judged as it was when opened.
// std::fs::File: what Location::open_file hands back.
#[allow(clippy::disallowed_types)]
fn hash_file(f: std::fs::File, len: u64) -> std::io::Result<(Sha256, u64)> {
    Sha256::of_reader(std::io::Read::take(f, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_missing_every_file_is_counted_whole_and_listed_up_to_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join("conda-meta");
        fs_err::create_dir_all(&meta).unwrap();
        fs_err::write(meta.join("history"), b"").unwrap();
        fs_err::create_dir_all(dir.path().join("Lib")).unwrap();
        fs_err::write(dir.path().join("Lib").join("f00007.py"), b"x").unwrap();
        let n = MAX_PROBLEMS_LISTED + 50;
        // Listed in reverse: the listing is in path order whatever the record's order.
        let files: Vec<String> = (0..n).rev().map(|i| format!("Lib/f{i:05}.py")).collect();
        fs_err::write(
            meta.join("many-1.0-0.json"),
            serde_json::to_vec(&serde_json::json!({
                "name": "many", "version": "1.0", "build": "0", "files": files
            }))
            .unwrap(),
        )
        .unwrap();
        let r = audit_prefix(dir.path(), true, &|_, _, _| {}).unwrap();
        assert_eq!(r.files, n);
        assert_eq!(r.counts.get("missing"), Some(&(n - 1)), "{:?}", r.counts);
        assert_eq!(r.counts.values().sum::<usize>(), n);
        assert_eq!(r.problems.len(), MAX_PROBLEMS_LISTED);
        // The one file there has no hash in its record: unverifiable, also not `ok`.
        assert_eq!(r.counts.get("unverifiable"), Some(&1), "{:?}", r.counts);
        assert_eq!(r.problems_not_listed, n - MAX_PROBLEMS_LISTED);
        assert_eq!(r.problems[0].path, "Lib/f00000.py");
        assert!(r.problems.windows(2).all(|w| w[0].path < w[1].path));
        assert_eq!(r.problems[7].status, FileStatus::Unverifiable);
        assert!(r
            .problems
            .iter()
            .all(|p| p.recorded_by == "conda:many-1.0-0"));
    }

    #[test]
    fn a_file_of_another_size_than_recorded_is_altered_without_being_read() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("a.dll"), b"0123456789").unwrap();
        let root = Location::open(dir.path(), Identity::Process).unwrap();
        let mut open = None;
        assert!(matches!(
            hash_in_prefix(&root, &mut open, "a.dll", Some(10)),
            Ok(Some((_, 10)))
        ));
        assert_eq!(
            hash_in_prefix(&root, &mut open, "a.dll", Some(11)),
            Ok(None)
        );
        assert!(matches!(
            hash_in_prefix(&root, &mut open, "a.dll", None),
            Ok(Some(_))
        ));
        assert_eq!(
            hash_in_prefix(&root, &mut open, "../a.dll", Some(10)),
            Err(FileStatus::Refused)
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_link_on_the_way_or_at_the_end_is_not_read_through() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("prefix");
        let outside = dir.path().join("outside");
        fs_err::create_dir_all(prefix.join("DLLs")).unwrap();
        fs_err::create_dir_all(&outside).unwrap();
        fs_err::write(outside.join("x.dll"), b"secret").unwrap();
        fs_err::write(prefix.join("DLLs").join("y.dll"), b"mine").unwrap();
        fs_err::os::unix::fs::symlink(&outside, prefix.join("Lib")).unwrap();
        fs_err::os::unix::fs::symlink(outside.join("x.dll"), prefix.join("DLLs").join("x.dll"))
            .unwrap();
        let root = Location::open(&prefix, Identity::Process).unwrap();
        let mut open = None;
        // In path order, as the workers take them: the open folder is reused, then replaced.
        for (rel, want) in [
            ("DLLs/x.dll", Err(FileStatus::Link)),
            ("DLLs/y.dll", Ok(Sha256::of_bytes(b"mine"))),
            ("Lib/x.dll", Err(FileStatus::Link)),
            ("Lib/x.dll", Err(FileStatus::Link)),
            ("y.dll", Err(FileStatus::Missing)),
        ] {
            let got = hash_in_prefix(&root, &mut open, rel, None).map(|r| r.unwrap().0);
            assert_eq!(got, want, "{rel}");
        }
    }
}
