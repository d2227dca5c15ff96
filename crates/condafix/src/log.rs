//! The log file: timestamped lines, credentials redacted, appended; never fatal.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use condafix_detect::redact::redact_credentials;

pub struct Log {
    file: Option<fs_err::File>,
    pub path: Option<PathBuf>,
}

/// `YYYY-MM-DDTHH:MM:SSZ` of now.
pub fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let rem = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        condafix_detect::date(secs),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Where logs go by default: `%LOCALAPPDATA%\condafix\logs` (elsewhere `~/.local/state/condafix/logs`).
pub fn default_log_dir() -> Option<PathBuf> {
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
