//! Running an interpreter with a deadline, through duct: an explicit environment, stdout and
//! stderr captured in full, and a run that hangs killed together with everything it started (a
//! Job Object on Windows, its process group on Unix), never waited on forever.

use std::path::Path;
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

/// One interpreter run: the program, its arguments, its whole environment (nothing is
/// inherited), and the folder it runs in.
#[derive(Debug, Clone)]
pub struct Spec {
    pub program: std::path::PathBuf,
    pub args: Vec<std::ffi::OsString>,
    pub env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    pub cwd: std::path::PathBuf,
}

/// Everything a run started, so that a timeout ends all of it: a Job Object with
/// kill-on-close on Windows (pip's children included), the child's process group on Unix.
struct Tree {
    #[cfg(windows)]
    job: Option<windows_job::Job>,
    #[cfg(unix)]
    group: Option<u32>,
}

impl Tree {
    fn attach(handle: &duct::Handle) -> Self {
        let pids = handle.pids();
        #[cfg(windows)]
        {
            let job = windows_job::Job::new().ok();
            if let Some(j) = &job {
                for pid in &pids {
                    j.assign(*pid);
                }
            }
            Tree { job }
        }
        #[cfg(unix)]
        {
            // The child leads its own process group (set before it ran).
            Tree {
                group: pids.first().copied(),
            }
        }
        #[cfg(not(any(unix, windows)))]
        {
            let _ = pids;
            Tree {}
        }
    }

    fn kill(&self) {
        #[cfg(windows)]
        if let Some(j) = &self.job {
            j.terminate();
        }
        #[cfg(unix)]
        if let Some(pgid) = self.group.and_then(|p| i32::try_from(p).ok()) {
            unix_kill_group(pgid);
        }
    }
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn unix_kill_group(pgid: i32) {
    // SAFETY: kill(2) with a negative pid signals that process group; it touches no memory.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

#[cfg(windows)]
#[allow(unsafe_code)]
mod windows_job {
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::System::JobObjects::{
        AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation,
        SetInformationJobObject, TerminateJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
        JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    };
    use windows_sys::Win32::System::Threading::{
        OpenProcess, PROCESS_SET_QUOTA, PROCESS_TERMINATE,
    };

    /// A Job Object that kills every process in it when it is closed.
    pub struct Job(HANDLE);

    impl Job {
        pub fn new() -> std::io::Result<Self> {
            // SAFETY: an anonymous job with default security; the handle is owned by `Job`.
            let h = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
            if h.is_null() {
                return Err(std::io::Error::last_os_error());
            }
            let job = Job(h);
            // SAFETY: a zeroed JOBOBJECT_EXTENDED_LIMIT_INFORMATION is valid; the size passed
            // is its own.
            let ok = unsafe {
                let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
                info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
                SetInformationJobObject(
                    job.0,
                    JobObjectExtendedLimitInformation,
                    &info as *const _ as *const core::ffi::c_void,
                    std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
                )
            };
            if ok == 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(job)
        }

        /// Put a process (and so everything it starts from now on) in the job.
        pub fn assign(&self, pid: u32) {
            // SAFETY: the process handle is checked, used once and closed.
            unsafe {
                let p = OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, 0, pid);
                if !p.is_null() {
                    AssignProcessToJobObject(self.0, p);
                    CloseHandle(p);
                }
            }
        }

        /// End every process in the job.
        pub fn terminate(&self) {
            // SAFETY: `self.0` is a valid job handle until drop.
            unsafe {
                TerminateJobObject(self.0, 1);
            }
        }
    }

    impl Drop for Job {
        fn drop(&mut self) {
            // SAFETY: the handle is owned and closed once; kill-on-close ends what is left.
            unsafe {
                CloseHandle(self.0);
            }
        }
    }
}

/// Run `spec` for at most `timeout`, through duct: a cleared, explicit environment, stdin
/// closed, stdout and stderr captured in full; a run past its deadline is killed with every
/// process it started.
pub fn run_with_timeout(spec: &Spec, timeout: Duration) -> RunOutput {
    let expr = duct::cmd(&spec.program, &spec.args)
        .full_env(spec.env.iter().cloned())
        .dir(&spec.cwd)
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked();
    #[cfg(unix)]
    let expr = expr.before_spawn(|cmd| {
        use std::os::unix::process::CommandExt as _;
        cmd.process_group(0);
        Ok(())
    });
    let start = Instant::now();
    let handle = match expr.start() {
        Ok(h) => h,
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
    let tree = Tree::attach(&handle);
    let exit = loop {
        match handle.try_wait() {
            Ok(Some(out)) => {
                break ExitKind::Exited {
                    code: out.status.code(),
                }
            }
            Ok(None) if start.elapsed() >= timeout => {
                tree.kill();
                let _ = handle.kill();
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
    let (stdout, stderr) = match handle.wait() {
        Ok(out) => (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
        Err(_) => (String::new(), String::new()),
    };
    // The job (Windows) closes here: anything the run left behind is ended with it.
    let _ = tree;
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
