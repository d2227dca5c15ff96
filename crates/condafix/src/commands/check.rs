use condafix_detect::redact::redact_credentials;
use condafix_report::summary_line::{self, Line, LineConfig, LineInstall, LineVerdict};

use crate::cli::CheckArgs;
use crate::exit::ExitStatus;
use crate::machine::Machine;
use crate::printer::Printer;

/// Exit 0 when compliant, 1 when remediation is needed, and one summary line on stdout (what
/// Intune shows in its console as the detection output; ConfigMgr's contract is "stdout and
/// exit 0 = compliant"). With `--report-dir`, the detection document is dropped there too.
pub fn run(args: &CheckArgs) -> anyhow::Result<ExitStatus> {
    let report = Machine::new().detect(&args.target)?;
    let fail_on = args.target.fail_on();
    let compliant = report.compliant(fail_on);
    if let Some(dir) = &args.report_dir.report_dir {
        // The detection report is a whole document already (stamped with host and time).
        let text = crate::output::redacted(&report);
        crate::commands::report::drop_document(dir, text, &Printer::new(false), None);
    }
    Printer::new(false).result(&summary_line(&report, fail_on));
    Ok(if compliant {
        ExitStatus::Healthy
    } else {
        ExitStatus::NeedsFix
    })
}

fn era(e: condafix_detect::Era) -> condafix_report::Era {
    use condafix_detect::Era as D;
    match e {
        D::AlteredSearchPath => condafix_report::Era::A,
        D::DefaultMode | D::DefaultModeVariant => condafix_report::Era::B,
        D::Upstream => condafix_report::Era::C,
    }
}

/// Just Me or All Users, for the fleet report.
pub fn user_scope(s: condafix_detect::Scope) -> Option<condafix_report::UserScope> {
    match s {
        condafix_detect::Scope::JustMe => Some(condafix_report::UserScope::JustMe),
        condafix_detect::Scope::AllUsers => Some(condafix_report::UserScope::AllUsers),
        condafix_detect::Scope::Unknown => None,
    }
}

/// The build era of a prefix's Python, for the fleet report.
pub fn prefix_era(p: &condafix_detect::PrefixReport) -> Option<condafix_report::Era> {
    p.python.as_ref().and_then(|py| py.era).map(era)
}

/// `condafix check: compliant (3 prefixes) | condafix=... | ...`: the stable summary line
/// (`condafix_report::summary_line` has the format, and reads it back).
pub fn summary_line(report: &condafix_detect::Report, fail_on: condafix_detect::FailOn) -> String {
    let installs = report
        .prefixes
        .iter()
        .map(|p| {
            let mut codes: Vec<String> = p
                .findings
                .iter()
                .filter(|f| f.severity > condafix_detect::Severity::Info)
                .map(|f| f.code.to_string())
                .collect();
            codes.sort();
            codes.dedup();
            LineInstall {
                path: redact_credentials(&p.prefix),
                verdict: if !p.compliant(fail_on) {
                    LineVerdict::Broken
                } else if p.python.is_none() {
                    LineVerdict::Skipped
                } else {
                    LineVerdict::Healthy
                },
                era: prefix_era(p),
                python: p.python.as_ref().map(|py| py.version.clone()),
                openssl: p.openssl.as_ref().map(|o| o.version.clone()),
                scope: user_scope(p.scope),
                codes,
            }
        })
        .collect();
    // Failing findings about places that are not installs: the machine, a user's settings.
    let mut config: Vec<LineConfig> = Vec::new();
    for (place, f) in report.failing(fail_on) {
        if place.is_some_and(|pl| report.prefixes.iter().any(|p| p.prefix == pl)) {
            continue;
        }
        let place = place.map_or_else(|| summary_line::MACHINE.to_string(), redact_credentials);
        let code = f.code.to_string();
        match config.iter_mut().find(|c| c.place == place) {
            Some(c) if !c.codes.contains(&code) => c.codes.push(code),
            Some(_) => {}
            None => config.push(LineConfig {
                place,
                codes: vec![code],
            }),
        }
    }
    summary_line::format(&Line {
        compliant: report.compliant(fail_on),
        condafix_version: env!("CARGO_PKG_VERSION").to_string(),
        installs,
        config,
    })
}
