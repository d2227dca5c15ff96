use crate::cli::CheckArgs;
use crate::exit::ExitStatus;
use crate::machine::Machine;
use crate::printer::Printer;

/// Exit 0 when compliant, 1 when remediation is needed, and one summary line on stdout (what
/// Intune shows in its console as the detection output; ConfigMgr's contract is "stdout and
/// exit 0 = compliant").
pub fn run(args: &CheckArgs) -> anyhow::Result<ExitStatus> {
    let report = Machine::new().detect(&args.target)?;
    let fail_on = args.target.fail_on();
    let compliant = report.compliant(fail_on);
    Printer::new(false).result(&summary_line(&report, fail_on));
    Ok(if compliant {
        ExitStatus::Healthy
    } else {
        ExitStatus::NeedsFix
    })
}

/// `condafix check: compliant (3 prefixes)`, or the failing codes per prefix.
pub fn summary_line(report: &condafix_detect::Report, fail_on: condafix_detect::FailOn) -> String {
    let n = report.prefixes.len();
    let prefixes = format!("{n} prefix{}", if n == 1 { "" } else { "es" });
    let failing = report.failing(fail_on);
    if failing.is_empty() {
        return format!("condafix check: compliant ({prefixes})");
    }
    // Codes per place, in the order found, each code once.
    let mut places: Vec<(String, Vec<String>)> = Vec::new();
    for (prefix, f) in failing {
        let place = prefix.unwrap_or("machine").to_string();
        let code = f.code.to_string();
        match places.iter_mut().find(|(p, _)| *p == place) {
            Some((_, codes)) if !codes.contains(&code) => codes.push(code),
            Some(_) => {}
            None => places.push((place, vec![code])),
        }
    }
    let listed: Vec<String> = places
        .iter()
        .map(|(p, codes)| format!("{p} {}", codes.join(",")))
        .collect();
    format!(
        "condafix check: NOT COMPLIANT ({} of {prefixes}): {}",
        places.iter().filter(|(p, _)| p != "machine").count(),
        listed.join("; ")
    )
}
