use std::time::Duration;

use condafix_verify::{verify_prefix, PrefixVerify, VerifyOptions};
use serde::Serialize;

use crate::cli::VerifyArgs;
use crate::exit::ExitStatus;
use crate::machine::Machine;
use crate::printer::Printer;

/// `verify --json`.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct VerifyBody<'a> {
    prefixes: &'a [PrefixVerify],
    healthy: bool,
}

pub fn run(args: &VerifyArgs) -> anyhow::Result<ExitStatus> {
    let printer = Printer::new(args.quiet || args.json);
    let machine = Machine::new();
    let report = machine.detect(&args.target)?;
    if report.prefixes.is_empty() {
        anyhow::bail!("no conda installation found: pass --prefix <folder>");
    }
    let opts = VerifyOptions {
        online: args
            .online
            .as_ref()
            .map(|u| (!u.is_empty()).then(|| u.clone())),
        timeout: Duration::from_secs(args.timeout.max(1)),
        env: std::env::vars_os().collect(),
        cwd: std::env::temp_dir(),
        elevated: condafix_verify::rights::process_is_elevated(),
    };
    let progress =
        crate::progress::Progress::new(report.prefixes.len() as u64, args.json || args.quiet);
    let results: Vec<PrefixVerify> = report
        .prefixes
        .iter()
        .map(|p| {
            progress.message(format!("running {}", p.prefix));
            let r = verify_prefix(p, &opts);
            progress.inc();
            r
        })
        .collect();
    progress.finish();
    let fail_on = args.target.fail_on();
    let healthy = results
        .iter()
        .all(|r| r.healthy && !r.findings.iter().any(|f| fail_on.fails(f.severity)));
    if args.json {
        crate::output::print(
            &printer,
            VerifyBody {
                prefixes: &results,
                healthy,
            },
        )?;
    } else {
        printer.info(&render(&results));
    }
    Ok(if healthy {
        ExitStatus::Healthy
    } else {
        ExitStatus::NeedsFix
    })
}

fn render(results: &[PrefixVerify]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for r in results {
        let _ = writeln!(out, "{}", r.prefix);
        if let Some(who) = &r.run_as {
            let _ = writeln!(out, "  run as {who}, the one user who may change it");
        }
        for l in [&r.unactivated, &r.activated] {
            let ctx = match l.context {
                condafix_detect::LaunchContext::Unactivated => "without activation",
                condafix_detect::LaunchContext::Activated => "when activated    ",
            };
            let detail = match (&l.openssl_version, &l.error) {
                (_, Some(e)) => e.clone(),
                (Some(v), None) => format!("{v} from {}", l.ssl_file.as_deref().unwrap_or("?")),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  import ssl {ctx}: {} ({} ms) {detail}",
                l.result, l.duration_ms
            );
        }
        if let Some(o) = &r.online {
            let _ = writeln!(
                out,
                "  HTTPS to {} through pip: {}{}",
                o.url,
                if o.ok { "ok" } else { "FAILS" },
                o.error_class
                    .as_ref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(
            out,
            "  detect's prediction: {} / {} ({})",
            r.predicted_unactivated,
            r.predicted_activated,
            match (r.ran, r.agrees) {
                (false, _) => "not checked: the interpreter was not run",
                (true, true) => "confirmed",
                (true, false) => "WRONG",
            }
        );
        for f in &r.findings {
            let _ = writeln!(out, "  {} {} {}: {}", f.severity, f.code, f.name, f.message);
        }
    }
    out
}
