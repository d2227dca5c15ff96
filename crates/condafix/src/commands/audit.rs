use condafix_verify::audit::{audit_prefix, AuditReport, FileStatus};
use serde::Serialize;

use crate::cli::AuditArgs;
use crate::exit::ExitStatus;
use crate::machine::Machine;
use crate::printer::Printer;

fn render(reports: &[AuditReport]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for r in reports {
        let counts: Vec<String> = r.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let _ = writeln!(
            out,
            "{} ({}): {} files, {} MiB: {}",
            r.prefix,
            r.scope,
            r.files,
            r.bytes >> 20,
            counts.join(", ")
        );
        for p in r
            .problems
            .iter()
            .filter(|p| p.status != FileStatus::Unverifiable)
        {
            let _ = writeln!(
                out,
                "  {:<12} {}  ({})",
                p.status.label(),
                p.path,
                p.recorded_by
            );
            if let (Some(e), Some(a)) = (p.expected, p.actual) {
                let _ = writeln!(
                    out,
                    "               expected sha256 {e}\n               actual   sha256 {a}"
                );
            }
        }
    }
    out
}

/// `audit --json`.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct AuditBody<'a> {
    prefixes: &'a [AuditReport],
}

pub fn run(args: &AuditArgs) -> anyhow::Result<ExitStatus> {
    let printer = Printer::new(args.quiet || args.json);
    let machine = Machine::new();
    let host = machine.host();
    let discovery = condafix_detect::discover::discover(&host, &args.target.prefixes);
    let mut reports: Vec<AuditReport> = Vec::new();
    for d in &discovery.prefixes {
        let progress = crate::progress::Progress::new(0, args.json || args.quiet);
        let r = audit_prefix(&d.path, args.all, &|done, total, bytes| {
            progress.message(format!(
                "{}: {done}/{total} files, {} MiB",
                d.prefix,
                bytes >> 20
            ));
        })?;
        progress.finish();
        reports.push(r);
    }
    let bad = reports.iter().any(|r| {
        r.problems
            .iter()
            .any(|p| matches!(p.status, FileStatus::Altered | FileStatus::Missing))
    });
    if args.json {
        crate::output::print(&printer, AuditBody { prefixes: &reports })?;
    } else {
        printer.info(&render(&reports));
    }
    Ok(if bad {
        ExitStatus::NeedsFix
    } else {
        ExitStatus::Healthy
    })
}
