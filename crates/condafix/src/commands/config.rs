use std::io::IsTerminal as _;

use anyhow::Context as _;
use condafix_config::{apply_config, plan_config, ConfigAction, ConfigOptions, ConfigPlan};
use condafix_txn::Faults;
use serde::Serialize;

use crate::cli::ConfigArgs;
use crate::exit::ExitStatus;
use crate::machine::Machine;

#[derive(Serialize)]
struct ConfigReport<'a> {
    schema_version: u32,
    dry_run: bool,
    changed: bool,
    prefixes: &'a [ConfigPlan],
}

pub fn run(args: &ConfigArgs) -> anyhow::Result<ExitStatus> {
    let machine = Machine::new();
    let report = machine.detect(&args.target)?;
    let github = super::github_files();
    let system_roots = if args.trust_system_store {
        let (certs, errors) = condafix_config::bundle::system_roots();
        for e in errors {
            eprintln!("condafix: warning: the OS trust store: {e}");
        }
        Some(certs)
    } else {
        None
    };
    let opts = ConfigOptions {
        ca_files: args.ca_files.clone(),
        trust_system_store: args.trust_system_store,
        system_roots,
        scope: args.scope.into(),
        condarc: args.condarc.clone(),
        index_url: args.index_url.clone(),
        proxy: args.proxy.clone(),
        remove_insecure: args.remove_insecure,
        insecure_trusted_hosts: args.insecure_trusted_hosts.clone(),
        add_to_path: args.add_to_path,
        system: args.system,
        fix_env: args.fix_env,
        github,
        now_unix: super::now_unix(),
    };
    if report.prefixes.is_empty() {
        anyhow::bail!("no conda installation found: pass --prefix <folder>");
    }
    let plans = report
        .prefixes
        .iter()
        .map(|p| {
            plan_config(
                p,
                &report.machine,
                &machine.env,
                machine.registry.as_ref(),
                cfg!(windows),
                &opts,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let total: usize = plans.iter().map(ConfigPlan::changes).sum();
    let human = !args.json && !args.quiet;
    if human {
        eprint!("{}", render(&plans, args.dry_run));
    }
    let mut changed = false;
    if !args.dry_run && total > 0 {
        let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        if interactive && !args.yes && !args.json {
            eprint!(
                "Apply {total} change{}? [y/N] ",
                if total == 1 { "" } else { "s" }
            );
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            if !matches!(line.trim(), "y" | "Y" | "yes") {
                eprintln!("Nothing changed.");
                return Ok(ExitStatus::NeedsFix);
            }
        }
        let faults = Faults::from_env();
        for plan in &plans {
            let o = apply_config(plan, machine.registry.as_ref(), &faults).with_context(|| {
                format!(
                    "configuring {} failed; nothing was changed there",
                    plan.prefix
                )
            })?;
            if o.changes > 0 {
                changed = true;
                if human {
                    eprintln!(
                        "{}: applied {} change{} ({}); `condafix undo --prefix \"{}\"` restores the previous state",
                        o.prefix,
                        o.changes,
                        if o.changes == 1 { "" } else { "s" },
                        o.txn.as_deref().unwrap_or(""),
                        o.prefix
                    );
                }
            }
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&ConfigReport {
                schema_version: 1,
                dry_run: args.dry_run,
                changed,
                prefixes: &plans
            })?
        );
    }
    // Variables that defeat what was written: requests merges REQUESTS_CA_BUNDLE and
    // CURL_CA_BUNDLE into every request, over pip's `cert`.
    if human && !args.dry_run {
        for e in report
            .machine
            .environment
            .iter()
            .filter(|e| e.name == "REQUESTS_CA_BUNDLE" || e.name == "CURL_CA_BUNDLE")
        {
            eprintln!(
                "note: {} is set ({}): it silently wins over pip's `cert`, so pip will use {} instead; remove it or point it at the same bundle",
                e.name, e.source, e.value
            );
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
