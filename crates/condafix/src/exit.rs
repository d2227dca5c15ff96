/// What the process exit code means; documented in the README and `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Every prefix is healthy (or was fixed).
    Healthy = 0,
    /// At least one prefix needs a fix.
    NeedsFix = 1,
    /// Usage error, or condafix could not read what it needed.
    Error = 2,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(s as u8)
    }
}
