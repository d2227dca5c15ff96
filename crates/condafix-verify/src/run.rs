//! Running an interpreter with a deadline, through duct: an explicit environment, stdout and
//! stderr captured to files (up to 4 MiB each; nothing it leaves behind can hold a pipe open),
//! and a run that hangs, or ends leaving processes behind, killed together with everything it
//! started (a Job Object on Windows, its process group on Unix), never waited on forever.

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
    /// Start it as this user, not as this process's account.
    pub run_as: Option<std::sync::Arc<crate::runas::RunAs>>,
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
            // The child leads its own session and process group (set before it ran).
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

/// The child starts a session of its own (and so leads its own process group, which a timeout
/// kills whole): without a controlling terminal, a program from a user's prefix cannot open
/// `/dev/tty` and push input (TIOCSTI) into the terminal of the root shell that ran condafix.
#[cfg(unix)]
#[allow(unsafe_code)]
fn new_session(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: the closure runs in the forked child before exec and only calls setsid(2), which
    // is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
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

/// How the probe started as a user leaves the job condafix itself runs in (Intune's management
/// extension, ConfigMgr and CI runners start condafix inside a Job Object, which every child
/// joins, kill-on-close and process limits included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStart {
    /// condafix is in no job.
    NotInJob,
    /// The job allows breakaway (`JOB_OBJECT_LIMIT_BREAKAWAY_OK`): the probe is started with
    /// `CREATE_BREAKAWAY_FROM_JOB`, into condafix's own job only.
    Breakaway,
    /// The job lets every child out by itself (`JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK`).
    SilentBreakaway,
    /// The job keeps its children: the probe runs inside it, under its limits.
    StaysIn,
}

/// `JOB_OBJECT_LIMIT_BREAKAWAY_OK`.
pub const LIMIT_BREAKAWAY_OK: u32 = 0x0000_0800;
/// `JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK`.
pub const LIMIT_SILENT_BREAKAWAY_OK: u32 = 0x0000_1000;

/// What to do, from whether condafix is in a job (`IsProcessInJob`) and the job's limit flags.
pub fn job_start(in_job: bool, limit_flags: u32) -> JobStart {
    if !in_job {
        JobStart::NotInJob
    } else if limit_flags & LIMIT_SILENT_BREAKAWAY_OK != 0 {
        JobStart::SilentBreakaway
    } else if limit_flags & LIMIT_BREAKAWAY_OK != 0 {
        JobStart::Breakaway
    } else {
        JobStart::StaysIn
    }
}

/// What a failed start says when the job kept the probe in.
pub fn job_verdict(start: JobStart) -> Option<&'static str> {
    (start == JobStart::StaysIn).then_some(
        "condafix runs inside a job that does not let its programs leave it (no JOB_OBJECT_LIMIT_BREAKAWAY_OK): the interpreter was started inside it, under its limits; run condafix from a context without such a job (a scheduled task as SYSTEM) to verify as the user",
    )
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

        /// Put a process, by handle, in the job.
        pub fn assign_handle(&self, process: HANDLE) {
            // SAFETY: both handles are valid for the call.
            unsafe {
                AssignProcessToJobObject(self.0, process);
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

/// Starting the interpreter as a logged-on user (condafix runs as SYSTEM): their token, their
/// desktop, their environment block, in a kill-on-close job from its first instruction (it
/// starts suspended), stdout and stderr into the same output files as every run.
#[cfg(windows)]
#[allow(unsafe_code)]
mod windows_as_user {
    use std::os::windows::ffi::OsStrExt as _;
    use std::os::windows::io::{AsRawHandle as _, FromRawHandle as _, OwnedHandle};
    use std::time::{Duration, Instant};

    use windows_sys::Win32::Foundation::{
        SetHandleInformation, HANDLE, HANDLE_FLAG_INHERIT, WAIT_TIMEOUT,
    };
    use windows_sys::Win32::System::Threading::{
        CreateProcessAsUserW, DeleteProcThreadAttributeList, GetExitCodeProcess,
        InitializeProcThreadAttributeList, ResumeThread, TerminateProcess,
        UpdateProcThreadAttribute, WaitForSingleObject, CREATE_NO_WINDOW, CREATE_SUSPENDED,
        CREATE_UNICODE_ENVIRONMENT, EXTENDED_STARTUPINFO_PRESENT, LPPROC_THREAD_ATTRIBUTE_LIST,
        PROCESS_INFORMATION, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, STARTF_USESTDHANDLES,
        STARTUPINFOEXW,
    };

    use super::{spawn_failed, ExitKind, OutputFiles, RunOutput, Spec};

    /// Whether this process is in a job, and what its job allows.
    fn own_job() -> super::JobStart {
        use windows_sys::Win32::System::JobObjects::{
            IsProcessInJob, JobObjectExtendedLimitInformation, QueryInformationJobObject,
            JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
        };
        use windows_sys::Win32::System::Threading::GetCurrentProcess;
        let mut in_job = 0;
        // SAFETY: the pseudo-handle of this process; a writable BOOL; a zeroed structure of
        // the size passed (a null job handle asks about this process's own job).
        unsafe {
            if IsProcessInJob(GetCurrentProcess(), std::ptr::null_mut(), &mut in_job) == 0
                || in_job == 0
            {
                return super::JobStart::NotInJob;
            }
            let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
            let flags = if QueryInformationJobObject(
                std::ptr::null_mut(),
                JobObjectExtendedLimitInformation,
                &mut info as *mut _ as *mut core::ffi::c_void,
                std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
                std::ptr::null_mut(),
            ) == 0
            {
                0
            } else {
                info.BasicLimitInformation.LimitFlags
            };
            super::job_start(true, flags)
        }
    }
    use crate::runas::RunAs;

    fn wide(s: &std::ffi::OsStr) -> Vec<u16> {
        s.encode_wide().chain(Some(0)).collect()
    }

    /// One of the output files, opened for the child to inherit (the handle list below keeps
    /// it to this child).
    fn inheritable(path: &std::path::Path) -> std::io::Result<fs_err::File> {
        let f = fs_err::File::create(path)?;
        // SAFETY: a valid handle this process owns; only its inherit flag changes.
        if unsafe {
            SetHandleInformation(
                f.file().as_raw_handle() as HANDLE,
                HANDLE_FLAG_INHERIT,
                HANDLE_FLAG_INHERIT,
            )
        } == 0
        {
            return Err(std::io::Error::last_os_error());
        }
        Ok(f)
    }

    /// The environment block: `NAME=value` strings, sorted by name as Windows keeps them.
    fn env_block(env: &[(std::ffi::OsString, std::ffi::OsString)]) -> Vec<u16> {
        let mut sorted: Vec<_> = env.iter().collect();
        sorted.sort_by_key(|(k, _)| k.to_string_lossy().to_uppercase());
        let mut block = Vec::new();
        for (k, v) in sorted {
            block.extend(k.encode_wide());
            block.push(u16::from(b'='));
            block.extend(v.encode_wide());
            block.push(0);
        }
        block.push(0);
        block
    }

    /// A process attribute list holding one attribute: the handles the child may inherit.
    /// The handle array must outlive the list (it is read when the process is created).
    struct AttributeList {
        buf: Vec<usize>,
    }

    impl AttributeList {
        fn handles(handles: &[HANDLE; 2]) -> Option<Self> {
            let mut size = 0usize;
            // SAFETY: the first call only reports the size; the buffer is that size, aligned
            // for pointers; the attribute points at `handles`, which the caller keeps alive.
            unsafe {
                InitializeProcThreadAttributeList(std::ptr::null_mut(), 1, 0, &mut size);
                let list = AttributeList {
                    buf: vec![0usize; size.div_ceil(std::mem::size_of::<usize>()).max(1)],
                };
                if InitializeProcThreadAttributeList(list.as_ptr(), 1, 0, &mut size) == 0 {
                    return None;
                }
                if UpdateProcThreadAttribute(
                    list.as_ptr(),
                    0,
                    PROC_THREAD_ATTRIBUTE_HANDLE_LIST as usize,
                    handles.as_ptr() as *const core::ffi::c_void,
                    std::mem::size_of_val(handles),
                    std::ptr::null_mut(),
                    std::ptr::null(),
                ) == 0
                {
                    DeleteProcThreadAttributeList(list.as_ptr());
                    std::mem::forget(list);
                    return None;
                }
                Some(list)
            }
        }

        fn as_ptr(&self) -> LPPROC_THREAD_ATTRIBUTE_LIST {
            self.buf.as_ptr() as LPPROC_THREAD_ATTRIBUTE_LIST
        }
    }

    impl Drop for AttributeList {
        fn drop(&mut self) {
            // SAFETY: initialized in `handles`, deleted once.
            unsafe { DeleteProcThreadAttributeList(self.as_ptr()) }
        }
    }

    pub fn run(spec: &Spec, user: &RunAs, timeout: Duration, files: &OutputFiles) -> RunOutput {
        let (out_w, err_w) = match (inheritable(&files.stdout), inheritable(&files.stderr)) {
            (Ok(o), Ok(e)) => (o, e),
            (Err(e), _) | (_, Err(e)) => return spawn_failed(format!("its output files: {e}")),
        };
        let args: Vec<String> = spec
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let line = super::windows_command_line(&spec.program.to_string_lossy(), &args);
        let mut line: Vec<u16> = line.encode_utf16().chain(Some(0)).collect();
        // As std gives it: plain, `\\?\` only past 247 characters (the interpreter sees its
        // own path as given: a verbatim one changes `sys.executable` and `sys.prefix`).
        let program = wide(condafix_prefix::launch_path(&spec.program).as_os_str());
        let cwd = wide(spec.cwd.as_os_str());
        let env = env_block(&spec.env);
        // The user's interactive desktop: libcrypto loads user32, which needs one it may use.
        let mut desktop: Vec<u16> = "winsta0\\default".encode_utf16().chain(Some(0)).collect();
        // Only the two output files cross into the user's process: no other handle of this
        // (SYSTEM) process is inherited, whatever else is inheritable at the moment.
        let inherit: [HANDLE; 2] = [
            out_w.file().as_raw_handle() as HANDLE,
            err_w.file().as_raw_handle() as HANDLE,
        ];
        let Some(attrs) = AttributeList::handles(&inherit) else {
            return spawn_failed(format!(
                "as {}: the handle list could not be set up: {}",
                user.who,
                std::io::Error::last_os_error()
            ));
        };
        // SAFETY: zeroed STARTUPINFOEXW / PROCESS_INFORMATION are valid; every pointer passed
        // lives until the call returns; the handles in `pi` are owned and closed below.
        let mut si: STARTUPINFOEXW = unsafe { std::mem::zeroed() };
        si.StartupInfo.cb = std::mem::size_of::<STARTUPINFOEXW>() as u32;
        si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
        si.StartupInfo.lpDesktop = desktop.as_mut_ptr();
        si.StartupInfo.hStdInput = std::ptr::null_mut();
        si.StartupInfo.hStdOutput = inherit[0];
        si.StartupInfo.hStdError = inherit[1];
        si.lpAttributeList = attrs.as_ptr();
        let mut pi: PROCESS_INFORMATION = unsafe { std::mem::zeroed() };
        let job_start = own_job();
        let breakaway = if job_start == super::JobStart::Breakaway {
            windows_sys::Win32::System::Threading::CREATE_BREAKAWAY_FROM_JOB
        } else {
            0
        };
        let start = Instant::now();
        let ok = unsafe {
            CreateProcessAsUserW(
                user.token.as_raw_handle() as HANDLE,
                program.as_ptr(),
                line.as_mut_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                1,
                CREATE_UNICODE_ENVIRONMENT
                    | CREATE_SUSPENDED
                    | CREATE_NO_WINDOW
                    | EXTENDED_STARTUPINFO_PRESENT
                    | breakaway,
                env.as_ptr() as *const core::ffi::c_void,
                cwd.as_ptr(),
                &si.StartupInfo,
                &mut pi,
            )
        };
        drop(attrs);
        // The child holds its own copies of the output handles.
        drop(out_w);
        drop(err_w);
        if ok == 0 {
            let e = std::io::Error::last_os_error();
            return spawn_failed(match super::job_verdict(job_start) {
                Some(v) => format!("as {}: {e}; {v}", user.who),
                None => format!("as {}: {e}", user.who),
            });
        }
        // SAFETY: both handles came from CreateProcessAsUserW and are owned from here on.
        let process = unsafe { OwnedHandle::from_raw_handle(pi.hProcess as _) };
        let thread = unsafe { OwnedHandle::from_raw_handle(pi.hThread as _) };
        let job = super::windows_job::Job::new().ok();
        if let Some(j) = &job {
            j.assign_handle(process.as_raw_handle() as HANDLE);
        }
        // SAFETY: the thread handle is valid; the process starts only now, inside its job.
        unsafe {
            ResumeThread(thread.as_raw_handle() as HANDLE);
        }
        drop(thread);
        let ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX - 1);
        let h = process.as_raw_handle() as HANDLE;
        // SAFETY: `h` is a valid process handle until `process` drops.
        let exit = unsafe {
            if WaitForSingleObject(h, ms) == WAIT_TIMEOUT {
                if let Some(j) = &job {
                    j.terminate();
                }
                TerminateProcess(h, 1);
                WaitForSingleObject(h, 5000);
                ExitKind::TimedOut {
                    after_ms: timeout.as_millis() as u64,
                }
            } else {
                let mut code = 0u32;
                GetExitCodeProcess(h, &mut code);
                ExitKind::Exited {
                    code: Some(code as i32),
                }
            }
        };
        // Anything the run left behind ends with the job.
        drop(job);
        drop(process);
        let (stdout, stderr) = files.read();
        RunOutput {
            exit,
            stdout,
            stderr,
            duration_ms: start.elapsed().as_millis() as u64,
        }
    }
}

/// The command line Windows programs split back into `program` and `args` (the rules of
/// `CommandLineToArgvW` and the C runtime): an argument with a space, tab, newline or quote is
/// quoted, its quotes escaped, and backslashes doubled only before a quote.
pub fn windows_command_line(program: &str, args: &[String]) -> String {
    let mut line = format!("\"{program}\"");
    for a in args {
        line.push(' ');
        if !a.is_empty() && !a.contains([' ', '\t', '\n', '\x0b', '"']) {
            line.push_str(a);
            continue;
        }
        line.push('"');
        let mut backslashes = 0;
        for c in a.chars() {
            match c {
                '\\' => backslashes += 1,
                '"' => {
                    line.extend(std::iter::repeat_n('\\', backslashes * 2 + 1));
                    line.push('"');
                    backslashes = 0;
                }
                _ => {
                    line.extend(std::iter::repeat_n('\\', backslashes));
                    line.push(c);
                    backslashes = 0;
                }
            }
        }
        line.extend(std::iter::repeat_n('\\', backslashes * 2));
        line.push('"');
    }
    line
}

/// Run `spec` for at most `timeout`, through duct: a cleared, explicit environment, stdin
/// closed, stdout and stderr captured in full; a run past its deadline is killed with every
/// process it started.
pub fn run_with_timeout(spec: &Spec, timeout: Duration) -> RunOutput {
    let files = match OutputFiles::new() {
        Ok(f) => f,
        Err(e) => return spawn_failed(format!("no folder for its output: {e}")),
    };
    #[cfg(windows)]
    if let Some(user) = &spec.run_as {
        return windows_as_user::run(spec, user, timeout, &files);
    }
    let expr = duct::cmd(&spec.program, &spec.args)
        .full_env(spec.env.iter().cloned())
        .dir(&spec.cwd)
        .stdin_null()
        .stdout_path(&files.stdout)
        .stderr_path(&files.stderr)
        .unchecked();
    #[cfg(unix)]
    let expr = expr.before_spawn(|cmd| {
        new_session(cmd);
        Ok(())
    });
    #[cfg(unix)]
    let expr = match &spec.run_as {
        Some(user) => {
            let (uid, gid) = (user.uid, user.gid);
            expr.before_spawn(move |cmd| {
                use std::os::unix::process::CommandExt as _;
                // std drops the supplementary groups when root sets a uid.
                cmd.gid(gid).uid(uid);
                Ok(())
            })
        }
        None => expr,
    };
    let start = Instant::now();
    let handle = match expr.start() {
        Ok(h) => h,
        Err(e) => return spawn_failed(e.to_string()),
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
    // The interpreter is done: whatever it left running in its tree ends with it
    // (kill-on-close job, process group).
    tree.kill();
    let _ = handle.wait();
    let (stdout, stderr) = files.read();
    RunOutput {
        exit,
        stdout,
        stderr,
        duration_ms: start.elapsed().as_millis() as u64,
    }
}

/// Where a run's stdout and stderr go: files in a private temp folder, not pipes, so that a
/// process the interpreter left behind (or one that escaped its tree) cannot keep condafix
/// waiting for the end of a pipe.
struct OutputFiles {
    _dir: tempfile::TempDir,
    stdout: std::path::PathBuf,
    stderr: std::path::PathBuf,
}

impl OutputFiles {
    fn new() -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        Ok(OutputFiles {
            stdout: dir.path().join("stdout"),
            stderr: dir.path().join("stderr"),
            _dir: dir,
        })
    }

    /// Both streams, each up to [`OUTPUT_CAP`].
    fn read(&self) -> (String, String) {
        (read_capped(&self.stdout), read_capped(&self.stderr))
    }
}

/// At most this much of each stream is kept (the probe prints a few KiB).
const OUTPUT_CAP: u64 = 4 * 1024 * 1024;

fn read_capped(path: &Path) -> String {
    use std::io::Read as _;
    let mut buf = Vec::new();
    if let Ok(f) = fs_err::File::open(path) {
        let _ = f.take(OUTPUT_CAP).read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn spawn_failed(error: String) -> RunOutput {
    RunOutput {
        exit: ExitKind::SpawnFailed { error },
        stdout: String::new(),
        stderr: String::new(),
        duration_ms: 0,
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

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn a_run_leads_a_session_of_its_own_without_the_callers_terminal() {
        let spec = super::Spec {
            program: "/bin/sh".into(),
            args: vec![
                "-c".into(),
                "read -r pid comm state ppid pgrp session rest < /proc/$$/stat; echo $pid $pgrp $session $ppid; (exec 3</dev/tty) 2>/dev/null && echo tty-open; exit 0".into(),
            ],
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            cwd: std::env::temp_dir(),
            run_as: None,
        };
        let out = super::run_with_timeout(&spec, std::time::Duration::from_secs(60));
        let ids: Vec<u32> = out
            .stdout
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        assert_eq!(ids.len(), 4, "{out:?}");
        // Its own process group and session (pid = pgrp = session), not this test's.
        assert_eq!(ids[0], ids[1], "{out:?}");
        assert_eq!(ids[0], ids[2], "{out:?}");
        let own_session = fs_err::read_to_string("/proc/self/stat").unwrap();
        let own_session: u32 = own_session
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .nth(3)
            .unwrap()
            .parse()
            .unwrap();
        assert_ne!(ids[2], own_session);
        assert!(!out.stdout.contains("tty-open"), "{out:?}");
    }

    use super::windows_command_line;
    use super::{job_start, job_verdict, JobStart, LIMIT_BREAKAWAY_OK, LIMIT_SILENT_BREAKAWAY_OK};

    #[test]
    fn the_probe_leaves_condafixs_job_only_where_the_job_allows_it() {
        assert_eq!(job_start(false, 0), JobStart::NotInJob);
        assert_eq!(job_start(false, LIMIT_BREAKAWAY_OK), JobStart::NotInJob);
        assert_eq!(job_start(true, 0), JobStart::StaysIn);
        // Intune's and ConfigMgr's jobs: kill-on-close (0x2000) with or without breakaway.
        assert_eq!(job_start(true, 0x2000), JobStart::StaysIn);
        assert_eq!(
            job_start(true, 0x2000 | LIMIT_BREAKAWAY_OK),
            JobStart::Breakaway
        );
        assert_eq!(
            job_start(true, LIMIT_BREAKAWAY_OK | LIMIT_SILENT_BREAKAWAY_OK),
            JobStart::SilentBreakaway
        );
        assert!(job_verdict(JobStart::StaysIn)
            .unwrap()
            .contains("BREAKAWAY_OK"));
        for s in [
            JobStart::NotInJob,
            JobStart::Breakaway,
            JobStart::SilentBreakaway,
        ] {
            assert_eq!(job_verdict(s), None);
        }
    }

    /// How Windows programs split a command line (the rules of `CommandLineToArgvW` for the
    /// arguments after the program, as Microsoft's "Parsing C++ command-line arguments"
    /// documents them), to check the quoting against.
    fn split(line: &str) -> Vec<String> {
        let mut args = Vec::new();
        let mut chars = line.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                chars.next();
            }
            if chars.peek().is_none() {
                return args;
            }
            let (mut arg, mut quoted) = (String::new(), false);
            while let Some(&c) = chars.peek() {
                if !quoted && (c == ' ' || c == '\t') {
                    break;
                }
                chars.next();
                match c {
                    '\\' => {
                        let mut n = 1;
                        while chars.peek() == Some(&'\\') {
                            chars.next();
                            n += 1;
                        }
                        if chars.peek() == Some(&'"') {
                            arg.extend(std::iter::repeat_n('\\', n / 2));
                            if n % 2 == 1 {
                                chars.next();
                                arg.push('"');
                            }
                        } else {
                            arg.extend(std::iter::repeat_n('\\', n));
                        }
                    }
                    '"' if quoted && chars.peek() == Some(&'"') => {
                        chars.next();
                        arg.push('"');
                    }
                    '"' => quoted = !quoted,
                    c => arg.push(c),
                }
            }
            args.push(arg);
        }
    }

    #[test]
    fn the_splitter_follows_microsofts_documented_examples() {
        assert_eq!(split(r#""abc" d e"#), ["abc", "d", "e"]);
        assert_eq!(split(r#"a\\\b d"e f"g h"#), [r"a\\\b", "de fg", "h"]);
        assert_eq!(split(r#"a\\\"b c d"#), [r#"a\"b"#, "c", "d"]);
        assert_eq!(split(r#"a\\\\"b c" d e"#), [r"a\\b c", "d", "e"]);
    }

    #[test]
    fn every_argument_comes_back_as_it_was_given() {
        let args: Vec<String> = [
            "-I",
            "",
            "two words",
            "tab\there",
            "line one\nline two",
            r#"say "hi""#,
            r"C:\dir with space\",
            r#"a\"b"#,
            r"back\\slashes\\",
            r#"trailing\"#,
            "import json, sys\nprint(json.dumps({\"a\": 'b\\\\c'}))",
            include_str!("probe.py"),
            "https://user:p%40ss@example.test/simple/",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let line = windows_command_line(r"C:\Users\José\anaconda3\python.exe", &args);
        assert!(line.starts_with(r#""C:\Users\José\anaconda3\python.exe" "#));
        let after = &line[line[1..].find('"').unwrap() + 2..];
        assert_eq!(split(after), args);
        // Plain arguments stay as they are.
        assert_eq!(
            windows_command_line("p", &["-I".into(), r"x\y".into()]),
            r#""p" -I x\y"#
        );
    }
}
