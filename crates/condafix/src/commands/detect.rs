use crate::cli::DetectArgs;
use crate::exit::ExitStatus;
use crate::machine::Machine;
use crate::printer::Printer;
use crate::render;

pub fn run(args: &DetectArgs) -> anyhow::Result<ExitStatus> {
    let printer = Printer::new(args.quiet || args.json);
    let machine = Machine::new();
    let report = machine.detect(&args.target)?;
    if args.json {
        printer.result(&serde_json::to_string_pretty(&report)?);
    } else {
        printer.info(&render::detect_report(&report));
    }
    Ok(if report.compliant(args.target.fail_on()) {
        ExitStatus::Healthy
    } else {
        ExitStatus::NeedsFix
    })
}
