use anyhow::Context as _;
use condafix_config::{ConfigAction, ConfigPlan};
use condafix_prefix::TxnCommand;
use serde::Serialize;

use crate::cli::ConfigArgs;
use crate::exit::ExitStatus;
use crate::machine::Machine;
use crate::printer::Printer;

/// `config --json`.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct ConfigBody<'a> {
    dry_run: bool,
    changed: bool,
    prefixes: &'a [ConfigPlan],
}

pub fn run(args: &ConfigArgs) -> anyhow::Result<ExitStatus> {
    let printer = Printer::new(args.quiet || args.json);
    let machine = Machine::new();
    machine.check_given(&args.target.prefixes)?;
    let faults = crate::faults();
    let targets = machine.targets(&args.target)?;
    let held = machine.hold_all(
        &targets,
        TxnCommand::Config,
        args.write.timeout(),
        args.dry_run,
        false,
        &faults,
    )?;
    printer.info(&crate::render::held(&held));
    let report = machine.detect(&args.target)?;
    let mut opts = super::config_options(&args.config, &printer);
    opts.condarc = args.condarc.clone();
    opts.insecure_trusted_hosts = args.insecure_trusted_hosts.clone();
    if report.prefixes.is_empty() {
        anyhow::bail!("no conda installation found: pass --prefix <folder>");
    }
    let plans = report
        .prefixes
        .iter()
        .map(|p| machine.plan_config_for(&report, p, &opts))
        .collect::<Result<Vec<_>, _>>()?;
    let total: usize = plans.iter().map(ConfigPlan::changes).sum();
    printer.info(&render(&plans, args.dry_run));
    let mut changed = false;
    if !args.dry_run && total > 0 {
        if !args.yes && !args.json && !super::confirm(total, &printer)? {
            printer.info("Nothing changed.\n");
            return Ok(ExitStatus::NeedsFix);
        }
        for plan in &plans {
            let o = machine
                .apply(
                    &held,
                    plan.prefix_path(),
                    TxnCommand::Config,
                    &[plan],
                    &faults,
                )
                .with_context(|| {
                    format!(
                        "configuring {} failed; nothing was changed there",
                        plan.prefix
                    )
                })?;
            changed |= o.changes > 0;
            printer.info(&crate::render::applied(&o, "state"));
        }
    }
    if args.json {
        crate::output::print(
            &printer,
            ConfigBody {
                dry_run: args.dry_run,
                changed,
                prefixes: &plans,
            },
        )?;
    }
    // Variables that defeat what was written: requests merges REQUESTS_CA_BUNDLE and
    // CURL_CA_BUNDLE into every request, over pip's `cert`.
    if !args.dry_run {
        for e in report
            .machine
            .environment
            .iter()
            .filter(|e| e.name == "REQUESTS_CA_BUNDLE" || e.name == "CURL_CA_BUNDLE")
        {
            printer.info(&format!(
                "note: {} is set ({}): it silently wins over pip's `cert`, so pip will use {} instead; remove it or point it at the same bundle\n",
                e.name, e.source, e.value
            ));
        }
    }
    let refused = plans.iter().any(|p| !p.refused.is_empty());
    Ok(if refused {
        ExitStatus::NeedsFix
    } else {
        ExitStatus::Healthy
    })
}

fn render(plans: &[ConfigPlan], dry_run: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for p in plans {
        let _ = writeln!(out, "{}", p.prefix);
        if let Some(b) = &p.bundle {
            let _ = writeln!(
                out,
                "  bundle: {} certificates ({} from the prefix, {} given, {} from the OS store), {} duplicates dropped",
                b.certs.len(),
                b.count(condafix_config::bundle::CertSource::Prefix),
                b.count(condafix_config::bundle::CertSource::Given),
                b.count(condafix_config::bundle::CertSource::System),
                b.duplicates
            );
            for r in &b.rejected {
                let _ = writeln!(out, "  left out: {} ({}): {}", r.subject, r.from, r.reason);
            }
        }
        for a in &p.actions {
            match a {
                ConfigAction::WriteFile {
                    path, what, before, ..
                } => {
                    let _ = writeln!(
                        out,
                        "  {} {path}  [{what}]",
                        if before.is_some() { "edit " } else { "write" }
                    );
                }
                ConfigAction::SetRegistry { value, what, .. } => {
                    let _ = writeln!(out, "  set   {value}  [{what}]");
                }
                ConfigAction::AppendGithub { file, what, lines } => {
                    let _ = writeln!(out, "  append to {file}  [{what}]: {}", lines.join(", "));
                }
            }
        }
        for w in &p.warnings {
            let _ = writeln!(out, "  WARNING: {w}");
        }
        for n in &p.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        for r in &p.refused {
            let _ = writeln!(out, "  not changed: {r}");
        }
    }
    let total: usize = plans.iter().map(ConfigPlan::changes).sum();
    out.push_str(&crate::render::changes_footer(total, dry_run));
    out
}
