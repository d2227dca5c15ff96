//! The log file: timestamped lines, credentials redacted, appended; never fatal.

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

/// Keep the newest `keep` logs of `command` in `dir` (by modification time), delete the rest.
pub fn prune_logs(dir: &Path, command: &str, keep: usize) {
    let Ok(rd) = fs_err::read_dir(dir) else {
        return;
    };
    let prefix = format!("{command}-");
    let mut logs: Vec<(std::time::SystemTime, PathBuf)> = rd
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(&prefix) && n.ends_with(".log")
        })
        .filter_map(|e| {
            let m = fs_err::symlink_metadata(e.path()).ok()?;
            if !m.is_file() {
                return None;
            }
            Some((m.modified().ok()?, e.path()))
        })
        .collect();
    logs.sort();
    let excess = logs.len().saturating_sub(keep);
    for (_, p) in logs.into_iter().take(excess) {
        let _ = fs_err::remove_file(p);
    }
}

impl Log {
    pub fn none() -> Self {
        Self {
            file: None,
            path: None,
        }
    }

    pub fn open(path: &Path, printer: &crate::printer::Printer) -> Self {
        if let Some(dir) = path.parent() {
            let _ = fs_err::create_dir_all(dir);
        }
        match fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(file) => Self {
                file: Some(file),
                path: Some(path.to_path_buf()),
            },
            Err(e) => {
                printer.warn(&format!("cannot write the log: {e}"));
                Self::none()
            }
        }
    }

    pub fn line(&mut self, text: &str) {
        if let Some(f) = &mut self.file {
            let ts = timestamp();
            for l in redact_credentials(text).lines() {
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
            let p = dir.path().join(format!("post-install-2026112{i:02}.log"));
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
            !left.contains(&"post-install-202611200.log".to_string()),
            "the oldest went"
        );
        assert!(left.contains(&"post-install-202611212.log".to_string()));
        let ts = timestamp();
        assert!(
            ts.len() >= 25 && (ts.contains('+') || ts.contains('-')),
            "{ts}"
        );
    }
}
