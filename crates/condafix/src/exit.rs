/// What the process exit code means; documented in the README and `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Every prefix is healthy (or was fixed).
    Healthy = 0,
    /// At least one prefix needs a fix.
    NeedsFix = 1,
    /// Usage error, or condafix could not read what it needed.
    Error = 2,
    /// The change needs elevation (an All Users install, a machine-wide setting).
    NeedsElevation = 3,
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = match self {
            ExitStatus::Healthy => "healthy",
            ExitStatus::NeedsFix => "needs a fix",
            ExitStatus::Error => "error",
            ExitStatus::NeedsElevation => "needs elevation",
        };
        write!(f, "{} ({word})", *self as u8)
    }
}

/// The exit status for an error: elevation problems get their own code.
pub fn status_for_error(err: &anyhow::Error) -> ExitStatus {
    use condafix_actor::FsError;
    use condafix_txn::TxnError;
    let txn_denied = |e: &TxnError| {
        matches!(
            e,
            TxnError::Denied { .. }
                | TxnError::NeedsElevation
                | TxnError::Fs(FsError::Denied { .. })
        )
    };
    let denied = err.chain().any(|c| {
        c.downcast_ref::<TxnError>().is_some_and(txn_denied)
            || matches!(c.downcast_ref::<FsError>(), Some(FsError::Denied { .. }))
            || matches!(
                c.downcast_ref::<condafix_stage::StageError>(),
                Some(condafix_stage::StageError::Txn(e)) if txn_denied(e)
            )
            || matches!(
                c.downcast_ref::<condafix_config::ConfigError>(),
                Some(condafix_config::ConfigError::Txn(e)) if txn_denied(e)
            )
    });
    if denied {
        ExitStatus::NeedsElevation
    } else {
        ExitStatus::Error
    }
}

/// Whether condafix refused input from a prefix (a path that leaves it, a link, a state file it
/// cannot trust): exit 2, a person must look.
pub fn is_refusal(err: &anyhow::Error) -> bool {
    use condafix_actor::FsError;
    use condafix_txn::TxnError;
    let fs = |e: &FsError| {
        matches!(
            e,
            FsError::Link { .. }
                | FsError::NotAFile { .. }
                | FsError::HardLinked { .. }
                | FsError::Untrusted { .. }
        )
    };
    let txn = |e: &TxnError| match e {
        TxnError::Refused { .. } | TxnError::Corrupt { .. } | TxnError::NoIdentity { .. } => true,
        TxnError::Fs(f) => fs(f),
        _ => false,
    };
    err.chain().any(|c| {
        c.downcast_ref::<TxnError>().is_some_and(txn)
            || matches!(
                c.downcast_ref::<condafix_stage::StageError>(),
                Some(
                    condafix_stage::StageError::Link(_)
                        | condafix_stage::StageError::PathRefused(_)
                        | condafix_stage::StageError::Archive(_)
                )
            )
            || c.downcast_ref::<condafix_prefix::guard::LinkFound>()
                .is_some()
            || c.downcast_ref::<FsError>().is_some_and(fs)
    })
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(s as u8)
    }
}
