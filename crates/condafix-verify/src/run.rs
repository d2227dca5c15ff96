//! Running a child with a deadline: stdout and stderr captured in full, and a child that hangs
//! killed together with its children (its process group on Unix, `taskkill /T` on Windows),
//! never waited on forever.

use std::io::Read as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ExitKind {
    Exited { code: Option<i32> },
    TimedOut { after_ms: u64 },
    SpawnFailed { error: String },
}

impl std::fmt::Display for ExitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitKind::Exited { code: Some(c) } => write!(f, "exit code {c}"),
            ExitKind::Exited { code: None } => f.write_str("ended by a signal"),
            ExitKind::TimedOut { after_ms } => write!(f, "killed after {} s", after_ms / 1000),
            ExitKind::SpawnFailed { error } => write!(f, "could not start: {error}"),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct RunOutput {
    pub exit: ExitKind,
    pub stdout: String,
    pub stderr: String,
    pub duration_ms: u64,
}

#[cfg(unix)]
fn own_process_group(cmd: &mut Command) {
    use std::os::unix::process::CommandExt as _;
    cmd.process_group(0);
}

#[cfg(not(unix))]
fn own_process_group(_cmd: &mut Command) {}

/// Kill the child and everything it started.
fn kill_tree(child: &mut Child) {
    let pid = child.id().to_string();
    if cfg!(unix) {
        // The child leads its own process group: kill the group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
    } else {
        let _ = Command::new("taskkill")
            .args(["/T", "/F", "/PID", &pid])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
}

/// Run `cmd` (its stdio is replaced) for at most `timeout`.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> RunOutput {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    own_process_group(&mut cmd);
    let start = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return RunOutput {
                exit: ExitKind::SpawnFailed {
                    error: e.to_string(),
                },
                stdout: String::new(),
                stderr: String::new(),
                duration_ms: 0,
            }
        }
    };
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let out_thread = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out_pipe.read_to_end(&mut b);
        b
    });
    let err_thread = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err_pipe.read_to_end(&mut b);
        b
    });
    let exit = loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                break ExitKind::Exited {
                    code: status.code(),
                }
            }
            Ok(None) if start.elapsed() >= timeout => {
                kill_tree(&mut child);
                let _ = child.wait();
                break ExitKind::TimedOut {
                    after_ms: timeout.as_millis() as u64,
                };
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                break ExitKind::SpawnFailed {
                    error: e.to_string(),
                }
            }
        }
    };
    let stdout = String::from_utf8_lossy(&out_thread.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_thread.join().unwrap_or_default()).into_owned();
    RunOutput {
        exit,
        stdout,
        stderr,
        duration_ms: start.elapsed().as_millis() as u64,
    }
}

/// The interpreter of a prefix.
pub fn python_of(prefix: &Path, windows_layout: bool) -> std::path::PathBuf {
    if windows_layout {
        let root = prefix.join("python.exe");
        let venv = prefix.join("Scripts").join("python.exe");
        // A venv's interpreter is its Scripts\python.exe (a conda prefix has a root one).
        if !root.is_file() && venv.is_file() {
            venv
        } else {
            root
        }
    } else {
        let bin = prefix.join("bin");
        ["python", "python3"]
            .iter()
            .map(|n| bin.join(n))
            .find(|p| p.exists())
            .unwrap_or_else(|| bin.join("python"))
    }
}
