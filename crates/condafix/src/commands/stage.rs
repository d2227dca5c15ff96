use anyhow::Context as _;
use condafix_detect::{Family, Finding, ImportResult, PrefixReport, Severity};
use condafix_prefix::archive::Bundle;
use condafix_prefix::TxnCommand;
use condafix_stage::{plan_prefix, Plan, StageOptions};
use condafix_txn::Applied;
use serde::Serialize;

use crate::cli::StageArgs;
use crate::exit::ExitStatus;
use crate::machine::Machine;
use crate::printer::Printer;
use crate::render;

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct PrefixResult<'a> {
    plan: &'a Plan,
    applied: Option<&'a Applied>,
    /// After applying (or, with --dry-run, now): does `import ssl` load without activation?
    import_ssl_unactivated: ImportResult,
    /// DLL findings left (errors and warnings).
    remaining: Vec<Finding>,
}

/// `stage --json`.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct StageBody<'a> {
    dry_run: bool,
    changed: bool,
    prefixes: Vec<PrefixResult<'a>>,
}

/// DLL-side problems staging is about (D0xx errors and warnings; a build that could not be
/// placed is not one).
fn dll_problems(p: &PrefixReport) -> Vec<Finding> {
    p.findings
        .iter()
        .filter(|f| {
            f.severity > Severity::Info
                && f.code.family() == Family::Dll
                && f.code != condafix_detect::Code::D070
        })
        .cloned()
        .collect()
}

pub fn run(args: &StageArgs) -> anyhow::Result<ExitStatus> {
    let printer = Printer::new(args.quiet || args.json);
    let machine = Machine::new();
    machine.check_given(&args.target.prefixes)?;
    let faults = crate::faults();
    // The prefixes are locked, and an earlier run that was killed half-way is rolled back,
    // before anything is planned (with --dry-run: reported, nothing written).
    let targets = machine.targets(&args.target)?;
    let held = machine.hold_all(
        &targets,
        TxnCommand::Stage,
        args.write.timeout(),
        args.dry_run,
        false,
        &faults,
    )?;
    printer.info(&render::held(&held));
    let before = machine.detect(&args.target)?;
    let progress =
        crate::progress::Progress::new(before.prefixes.len() as u64, args.json || args.quiet);
    let on_archive = |p: &std::path::Path| progress.message(format!("reading {}", p.display()));
    let opts = StageOptions {
        on_archive: Some(&on_archive),
        from_bundle: args.from_bundle.clone(),
        allow_unverified: args.allow_unverified,
        replace_foreign: args.replace_foreign,
    };
    let mut bundle = match &opts.from_bundle {
        Some(p) => Some(
            Bundle::open(p).with_context(|| format!("the bundle {} is refused", p.display()))?,
        ),
        None => None,
    };
    let plans = before
        .prefixes
        .iter()
        .map(|p| {
            progress.message(format!("planning {}", p.prefix));
            let plan = plan_prefix(p, &opts, bundle.as_mut());
            progress.inc();
            plan
        })
        .collect::<Result<Vec<_>, _>>()?;
    progress.finish();
    let total: usize = plans.iter().map(Plan::changes).sum();
    printer.info(&render::stage_plans(&plans, args.dry_run));
    let mut outcomes: Vec<Option<Applied>> = vec![None; plans.len()];
    if !args.dry_run {
        if !args.yes && !args.json && !super::confirm(total, &printer)? {
            printer.info("Nothing changed.\n");
            return Ok(ExitStatus::NeedsFix);
        }
        for (i, plan) in plans.iter().enumerate() {
            let outcome = machine
                .apply(
                    &held,
                    plan.prefix_path(),
                    TxnCommand::Stage,
                    &[plan],
                    &faults,
                )
                .with_context(|| {
                    format!(
                        "staging failed for {}; nothing was changed there",
                        plan.prefix
                    )
                })?;
            printer.info(&render::applied(&outcome, "files"));
            outcomes[i] = Some(outcome);
        }
    }
    // Prove it: detect again (after applying) and report what is left.
    let after = if args.dry_run {
        before.clone()
    } else {
        machine.detect(&args.target)?
    };
    let results: Vec<PrefixResult> = plans
        .iter()
        .zip(&outcomes)
        .map(|(plan, outcome)| {
            let p = after.prefixes.iter().find(|p| p.prefix == plan.prefix);
            PrefixResult {
                plan,
                applied: outcome.as_ref(),
                import_ssl_unactivated: p
                    .map(|p| p.prediction.unactivated.result)
                    .unwrap_or(ImportResult::NotApplicable),
                remaining: p.map(dll_problems).unwrap_or_default(),
            }
        })
        .collect();
    let changed = outcomes.iter().flatten().any(|o| o.changes > 0);
    // Still needs a fix: `import ssl` would not load without activation, staging was blocked,
    // or a copy was deliberately left alone.
    let still_broken = results.iter().any(|r| {
        !r.import_ssl_unactivated.is_fine()
            || !r.plan.blocked.is_empty()
            || r.plan.actions.iter().any(|a| !a.changes_something())
    });
    if args.json {
        crate::output::print(
            &printer,
            StageBody {
                dry_run: args.dry_run,
                changed,
                prefixes: results,
            },
        )?;
    } else if !args.dry_run {
        printer.info(&render::stage_after(&after, changed));
    }
    let needs_fix = if args.dry_run {
        total > 0 || still_broken
    } else {
        still_broken
    };
    Ok(if needs_fix {
        ExitStatus::NeedsFix
    } else {
        ExitStatus::Healthy
    })
}
