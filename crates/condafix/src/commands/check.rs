use crate::cli::CheckArgs;
use crate::exit::ExitStatus;
use crate::machine::Machine;

/// No output: the exit status is the answer (Intune detection scripts, ConfigMgr detection
/// methods). 0 compliant, 1 remediation needed.
pub fn run(args: &CheckArgs) -> anyhow::Result<ExitStatus> {
    let report = Machine::new().detect(&args.target)?;
    Ok(if report.all_healthy() {
        ExitStatus::Healthy
    } else {
        ExitStatus::NeedsFix
    })
}
