use crate::cli::DetectArgs;
use crate::exit::ExitStatus;
use crate::machine::Machine;
use crate::render;

pub fn run(args: &DetectArgs) -> anyhow::Result<ExitStatus> {
    let machine = Machine::new();
    let report = machine.detect(&args.target)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if !args.quiet {
        eprint!("{}", render::detect_report(&report));
    }
    Ok(if report.all_healthy() {
        ExitStatus::Healthy
    } else {
        ExitStatus::NeedsFix
    })
}
