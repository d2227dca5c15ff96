//! The log file: timestamped lines, credentials redacted and control characters escaped (as on
//! the terminal), appended; never fatal. It is opened by handle in a folder condafix checked
//! (`outfile::output_folder`), never through a link, owner-only (it may carry config contents);
//! rotation deletes only files proven to be condafix's own logs.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use condafix_detect::redact::redact_credentials;

pub struct Log {
    file: Option<fs_err::File>,
    pub path: Option<PathBuf>,
}

/// Now in the machine's local time with its offset (`2026-11-29T08:21:04+01:00`): what the
/// administrator reading the log on that machine expects; UTC when the time zone is unknown.
pub fn timestamp() -> String {
    let now = jiff::Zoned::now();
    now.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// How many runs' logs the machine-wide log folder keeps.
pub const KEEP_LOGS: usize = 10;

/// Where logs go by default: when elevated (SYSTEM, an admin installer) the machine's
/// `%ProgramData%\condafix\Logs`; else `%LOCALAPPDATA%\condafix\logs` (elsewhere
/// `~/.local/state/condafix/logs`).
pub fn default_log_dir() -> Option<PathBuf> {
    if cfg!(windows) && condafix_verify::rights::process_is_elevated() {
        if let Some(pd) = std::env::var_os("ProgramData") {
            return Some(PathBuf::from(pd).join("condafix").join("Logs"));
        }
    }
    if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA").map(|d| PathBuf::from(d).join("condafix").join("logs"))
    } else {
        std::env::var_os("HOME").map(|h| {
            PathBuf::from(h)
                .join(".local")
                .join("state")
                .join("condafix")
                .join("logs")
        })
    }
}

/// The file name of a new run's log: the command and the local time, sortable.
pub fn run_log_name(command: &str) -> String {
    let now = jiff::Zoned::now();
    format!("{command}-{}.log", now.strftime("%Y%m%dT%H%M%S%z"))
}

/// Whether `name` is a log file condafix names for `command` (`<command>-YYYYMMDDTHHMMSS±hhmm.log`).
fn is_run_log_name(name: &str, command: &str) -> bool {
    let Some(rest) = name
        .strip_prefix(command)
        .and_then(|r| r.strip_prefix('-'))
        .and_then(|r| r.strip_suffix(".log"))
    else {
        return false;
    };
    let b = rest.as_bytes();
    b.len() == 20
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && (b[15] == b'+' || b[15] == b'-')
        && b[16..].iter().all(u8::is_ascii_digit)
}

/// Keep the newest `keep` logs of `command` in `dir` (by modification time), delete the rest.
/// Only condafix's own logs go: named as it names them, regular files (looked at by handle,
/// links never followed) owned by this account with no other hard link.
pub fn prune_logs(dir: &Path, command: &str, keep: usize) {
    let Ok(loc) = crate::outfile::output_folder(dir, false) else {
        return;
    };
    let Ok(entries) = loc.list(None) else {
        return;
    };
    let me = condafix_actor::identity::process_account();
    let mut logs: Vec<(u128, condafix_actor::guard::RelPath)> = entries
        .into_iter()
        .filter(|(n, k)| *k == condafix_actor::Kind::File && is_run_log_name(n, command))
        .filter_map(|(n, _)| {
            let rel = condafix_actor::guard::RelPath::parse(&n).ok()?;
            let m = loc.stat(&rel).ok()??;
            (m.kind == condafix_actor::Kind::File
                && m.links <= 1
                && (cfg!(windows) || Some(&m.owner) == me.as_ref()))
            .then_some((m.modified_ns, rel))
        })
        .collect();
    logs.sort();
    let excess = logs.len().saturating_sub(keep);
    for (_, rel) in logs.into_iter().take(excess) {
        let _ = loc.remove(&rel, condafix_actor::RetryPolicy::default());
    }
}

impl Log {
    pub fn none() -> Self {
        Self {
            file: None,
            path: None,
        }
    }

    // std::fs::File: what the folder's location opens; wrapped in fs_err's at once.
    #[allow(clippy::disallowed_types)]
    pub fn open(path: &Path, printer: &crate::printer::Printer) -> Self {
        let opened = (|| -> anyhow::Result<std::fs::File> {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let rel = condafix_actor::guard::RelPath::parse(&name)
                .map_err(|why| anyhow::anyhow!("{name:?}: {why}"))?;
            let loc = crate::outfile::output_folder(dir, true)?;
            Ok(loc.open_append(&rel, 0o600)?)
        })();
        match opened {
            Ok(file) => Self {
                file: Some(fs_err::File::from_parts(file, path)),
                path: Some(path.to_path_buf()),
            },
            Err(e) => {
                printer.warn(&format!("cannot write the log {}: {e:#}", path.display()));
                Self::none()
            }
        }
    }

    pub fn line(&mut self, text: &str) {
        if let Some(f) = &mut self.file {
            let ts = timestamp();
            for l in crate::printer::escape_controls(&redact_credentials(text)).lines() {
                let _ = writeln!(f, "{ts} {l}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_newest_runs_logs_are_kept_and_nothing_else_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..13 {
            let p = dir
                .path()
                .join(format!("post-install-202611{i:02}T080000+0100.log"));
            fs_err::write(&p, b"x").unwrap();
            let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000 + i);
            fs_err::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
        fs_err::write(dir.path().join("notes.txt"), b"mine").unwrap();
        prune_logs(dir.path(), "post-install", 10);
        let mut left: Vec<String> = fs_err::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), 11, "{left:?}");
        assert!(left.contains(&"notes.txt".to_string()));
        assert!(
            !left.contains(&"post-install-20261100T080000+0100.log".to_string()),
            "the oldest went"
        );
        assert!(left.contains(&"post-install-20261112T080000+0100.log".to_string()));
        let ts = timestamp();
        assert!(
            ts.len() >= 25 && (ts.contains('+') || ts.contains('-')),
            "{ts}"
        );
    }
}
