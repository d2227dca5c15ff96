//! `condafix post-install`: the main job. For every install (base first, then its envs):
//! recover what an interrupted run left, detect, plan staging and config, apply both in one
//! transaction, detect again, verify with the real interpreter, and give a verdict; then report
//! it (human, JSON, GitHub files, log, exit code).

mod github;
pub mod model;
mod render;
mod verdict;

use condafix_prefix::TxnCommand;
use std::path::PathBuf;
use std::time::Duration;

use condafix_config::{ConfigOptions, ConfigPlan};
use condafix_detect::{Code, PrefixKind, PrefixReport, Report, Severity};
use condafix_prefix::archive::Bundle;
use condafix_prefix::Layout;
use condafix_stage::{plan_prefix, Plan, StageOptions};
use condafix_verify::{verify_prefix, VerifyOptions};
use serde::Serialize;

use crate::cli::PostInstallArgs;
use crate::exit::ExitStatus;
use crate::log::{default_log_dir, Log};
use crate::machine::Machine;
use crate::printer::Printer;
use model::{ApplyFailure, PrefixResult, Verdict};
use verdict::{verdict, Evidence};

/// `post-install --json`.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct PostInstallBody<'a> {
    dry_run: bool,
    changed: bool,
    exit_code: u8,
    prefixes: &'a [PrefixResult],
}

/// One prefix after planning and applying.
struct Worked {
    prefix: String,
    changes: usize,
    failure: Option<ApplyFailure>,
    stage: Option<Plan>,
    config: Option<ConfigPlan>,
}

pub fn run(args: &PostInstallArgs) -> anyhow::Result<ExitStatus> {
    let unattended =
        std::env::var_os("INSTALLER_UNATTENDED").is_some_and(|v| !v.is_empty() && v != "0");
    let never_fail = args.never_fail || unattended;
    let printer = Printer::new(args.quiet || args.json);
    // Unattended or elevated runs log by default; the machine-wide folder keeps the last
    // runs only.
    let logs_by_default =
        unattended || (cfg!(windows) && condafix_verify::rights::process_is_elevated());
    let default_dir = logs_by_default.then(default_log_dir).flatten();
    let log_path = args.log_file.clone().or_else(|| {
        default_dir
            .as_ref()
            .map(|d| d.join(crate::log::run_log_name("post-install")))
    });
    let mut log = log_path
        .as_deref()
        .map(|p| Log::open(p, &printer))
        .unwrap_or_else(Log::none);
    if let (Some(dir), None) = (&default_dir, &args.log_file) {
        crate::log::prune_logs(dir, "post-install", crate::log::KEEP_LOGS);
    }
    log.line(&format!(
        "condafix {} post-install{}",
        env!("CARGO_PKG_VERSION"),
        if args.dry_run { " --dry-run" } else { "" }
    ));
    match run_inner(args, &printer, &mut log) {
        Ok(status) => {
            log.line(&format!("exit status {status}"));
            Ok(if never_fail {
                ExitStatus::Healthy
            } else {
                status
            })
        }
        Err(e) => {
            log.line(&format!("error: {e:#}"));
            if never_fail {
                printer.error(&format!(
                    "condafix: error: {e:#} (exit 0: --never-fail / unattended installer step)\n"
                ));
                return Ok(ExitStatus::Healthy);
            }
            Err(e)
        }
    }
}

fn run_inner(
    args: &PostInstallArgs,
    printer: &Printer,
    log: &mut Log,
) -> anyhow::Result<ExitStatus> {
    let machine = Machine::new();
    machine.check_given(&args.target.prefixes)?;
    let faults = crate::faults();
    let targets = machine.targets(&args.target)?;
    let held = machine.hold_all(
        &targets,
        TxnCommand::PostInstall,
        args.write.timeout(),
        args.dry_run,
        true,
        &faults,
    )?;
    for r in &held.recovered {
        log.line(&format!(
            "{}: an interrupted run ({}) was {}",
            r.store, r.txn, r.outcome
        ));
    }
    printer.info(&crate::render::held(&held));
    let before = machine.detect(&args.target)?;
    if before.prefixes.is_empty() {
        return nothing_found(args, printer, log);
    }
    let worked = plan_and_apply(&machine, &held, &before, args, printer, log)?;
    // Prove it: detect again, and run the real interpreter where it can run.
    let after = machine.detect(&args.target)?;
    let results: Vec<PrefixResult> = worked
        .into_iter()
        .filter_map(|w| {
            let a = after.prefixes.iter().find(|p| p.prefix == w.prefix)?;
            Some(judge(a, w, args, log))
        })
        .collect();
    let status = overall_status(&results);
    if crate::commands::under_github_actions() {
        github::report(&results, &after, printer)?;
    }
    let body = PostInstallBody {
        dry_run: args.dry_run,
        changed: results.iter().any(|r| r.changed),
        exit_code: status as u8,
        prefixes: &results,
    };
    drop_report(args, &body, log);
    if args.json {
        crate::output::print(printer, body)?;
    } else {
        printer.info(&render::report(&results, args.dry_run, log.path.as_deref()));
    }
    Ok(status)
}

fn nothing_found(
    args: &PostInstallArgs,
    printer: &Printer,
    log: &mut Log,
) -> anyhow::Result<ExitStatus> {
    let msg =
        "No conda installation found: nothing to do. Point condafix at one with --prefix <folder>.";
    log.line(msg);
    printer.info(&format!("{msg}\n"));
    let body = PostInstallBody {
        dry_run: args.dry_run,
        changed: false,
        exit_code: 0,
        prefixes: &[],
    };
    drop_report(args, &body, log);
    if args.json {
        crate::output::print(printer, body)?;
    }
    Ok(ExitStatus::Healthy)
}

/// `--report-dir`: the run's document, dropped on the share (a failure is a warning).
fn drop_report(args: &PostInstallArgs, body: &PostInstallBody<'_>, log: &mut Log) {
    if let Some(dir) = &args.report_dir.report_dir {
        crate::commands::report::drop_document(
            dir,
            crate::output::text(body),
            &Printer::new(args.quiet),
            Some(log),
        );
    }
}

/// Base first, then its envs; each base's envs right after it.
fn order(report: &Report) -> Vec<&PrefixReport> {
    let mut v: Vec<&PrefixReport> = report.prefixes.iter().collect();
    v.sort_by_key(|p| {
        let group = match p.kind {
            PrefixKind::Base => p.prefix.to_lowercase(),
            PrefixKind::Env | PrefixKind::Venv => p
                .base
                .clone()
                .unwrap_or_else(|| p.prefix.clone())
                .to_lowercase(),
        };
        (group, p.kind != PrefixKind::Base, p.prefix.to_lowercase())
    });
    v
}

/// Plan staging and config for every prefix and (unless `--dry-run`) apply both in one
/// transaction per prefix. A prefix that fails is reported, and the others go on.
fn plan_and_apply(
    machine: &Machine,
    held: &crate::stores::Held,
    before: &Report,
    args: &PostInstallArgs,
    printer: &Printer,
    log: &mut Log,
) -> anyhow::Result<Vec<Worked>> {
    let mut bundle = match &args.from_bundle {
        Some(p) => Some(Bundle::open(p)?),
        None => None,
    };
    let stage_opts = StageOptions {
        on_archive: None,
        from_bundle: args.from_bundle.clone(),
        allow_unverified: args.allow_unverified,
        replace_foreign: args.replace_foreign,
    };
    let config_opts: ConfigOptions = crate::commands::config_options(&args.config, printer);
    let faults = crate::faults();
    let progress = crate::progress::Progress::new(before.prefixes.len() as u64, printer.quiet());
    let mut worked = Vec::new();
    for p in order(before) {
        progress.message(format!("fixing {}", p.prefix));
        log.line(&format!(
            "{}: detect: unactivated {}, activated {}",
            p.prefix, p.prediction.unactivated.result, p.prediction.activated.result
        ));
        if let Some(e) = held.refusal(std::path::Path::new(&p.prefix)) {
            let failure = ApplyFailure::Refused(e.to_string());
            log.line(&format!("{}: refused: {}", p.prefix, failure.text()));
            worked.push(Worked {
                prefix: p.prefix.clone(),
                changes: 0,
                failure: Some(failure),
                stage: None,
                config: None,
            });
            progress.inc();
            continue;
        }
        let stage = match plan_prefix(p, &stage_opts, bundle.as_mut()) {
            Ok(s) => s,
            Err(e) => {
                // This prefix is refused or cannot be planned; the others go on.
                let failure = ApplyFailure::from_error(&e.into());
                log.line(&format!("{}: not planned: {}", p.prefix, failure.text()));
                worked.push(Worked {
                    prefix: p.prefix.clone(),
                    changes: 0,
                    failure: Some(failure),
                    stage: None,
                    config: None,
                });
                progress.inc();
                continue;
            }
        };
        let config = machine
            .plan_config_for(before, p, &config_opts)
            .map_err(|e| log.line(&format!("{}: config not planned: {e}", p.prefix)))
            .ok();
        let (changes, failure) = if args.dry_run {
            (0, None)
        } else {
            let mut parts: Vec<&dyn condafix_txn::Changes> = vec![&stage];
            if let Some(c) = &config {
                parts.push(c);
            }
            match machine.apply(
                held,
                stage.prefix_path(),
                TxnCommand::PostInstall,
                &parts,
                &faults,
            ) {
                Ok(a) => (a.changes, None),
                Err(e) => (0, Some(ApplyFailure::from_error(&e.into()))),
            }
        };
        log.line(&format!(
            "{}: {} change(s){}",
            p.prefix,
            changes,
            failure
                .as_ref()
                .map(|f| format!("; {}", f.text()))
                .unwrap_or_default()
        ));
        worked.push(Worked {
            prefix: p.prefix.clone(),
            changes,
            failure,
            stage: Some(stage),
            config,
        });
        progress.inc();
    }
    progress.finish();
    Ok(worked)
}

/// Verify one prefix (where its interpreter can run) and give the verdict.
fn judge(a: &PrefixReport, w: Worked, args: &PostInstallArgs, log: &mut Log) -> PrefixResult {
    let verify_opts = VerifyOptions {
        online: args
            .online
            .as_ref()
            .map(|u| (!u.is_empty()).then(|| u.clone())),
        timeout: Duration::from_secs(args.timeout.max(1)),
        env: std::env::vars_os().collect(),
        cwd: std::env::temp_dir(),
        elevated: condafix_verify::rights::process_is_elevated(),
    };
    let can_run = a.python.is_some() && (a.layout == Layout::Windows) == cfg!(windows);
    let verify =
        (can_run && !args.dry_run && !args.no_verify).then(|| verify_prefix(a, &verify_opts));
    let problems: Vec<&condafix_detect::Finding> = a
        .findings
        .iter()
        .filter(|f| {
            args.target.fail_on().fails(f.severity) && !matches!(f.code, Code::P001 | Code::P002)
        })
        .collect();
    let judgement = verdict(&Evidence {
        failure: w.failure.as_ref(),
        has_python: a.python.is_some(),
        import_ok: a.prediction.unactivated.result.is_fine(),
        verified: verify
            .as_ref()
            .filter(|v| v.ran)
            .map(|v| (v.healthy, v.findings.first())),
        not_run: verify
            .as_ref()
            .filter(|v| !v.ran)
            .and_then(|v| v.findings.first()),
        blocked: w
            .stage
            .as_ref()
            .map(|s| s.blocked.as_slice())
            .unwrap_or_default(),
        refused: w
            .config
            .as_ref()
            .map(|c| c.refused.as_slice())
            .unwrap_or_default(),
        problems: &problems,
        changes: w.changes,
        planned: args.dry_run.then(|| {
            w.stage.as_ref().map_or(0, |s| s.changes())
                + w.config.as_ref().map_or(0, |c| c.changes())
        }),
    });
    let verify_note = if args.no_verify {
        Some("verify skipped (--no-verify)".to_string())
    } else if !can_run && a.python.is_some() {
        Some(
            "verify skipped: this prefix's interpreter cannot run on this operating system"
                .to_string(),
        )
    } else {
        None
    };
    if let Some(n) = &verify_note {
        log.line(&format!("{}: {n}", w.prefix));
    }
    log.line(&format!(
        "{}: verdict {}{}",
        w.prefix,
        judgement.verdict.label(),
        judgement
            .reason
            .as_ref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    ));
    PrefixResult {
        changed: w.changes > 0,
        changes: w.changes,
        verdict: judgement.verdict,
        reason: judgement.reason.or(verify_note),
        next_step: judgement.next_step,
        openssl_version: verify
            .as_ref()
            .and_then(|v| v.unactivated.openssl_version.clone())
            .or_else(|| a.openssl.as_ref().map(|o| o.version.clone())),
        python_version: a.python.as_ref().map(|py| py.version.clone()),
        python_build: a.python.as_ref().map(|py| py.build.clone()),
        era: crate::commands::check::prefix_era(a),
        scope: crate::commands::check::user_scope(a.scope),
        prediction_confirmed: verify.as_ref().filter(|v| v.ran).map(|v| v.agrees),
        stage: w.stage,
        config: w.config,
        verify,
        findings_after: a
            .findings
            .iter()
            .filter(|f| f.severity > Severity::Info)
            .cloned()
            .collect(),
        prefix: w.prefix,
    }
}

fn overall_status(results: &[PrefixResult]) -> ExitStatus {
    if results.iter().any(|r| r.verdict == Verdict::Refused) {
        ExitStatus::Error
    } else if results
        .iter()
        .any(|r| matches!(r.verdict, Verdict::StillBroken | Verdict::WouldFix))
    {
        ExitStatus::NeedsFix
    } else if results.iter().any(|r| r.verdict == Verdict::NeedsElevation) {
        ExitStatus::NeedsElevation
    } else {
        ExitStatus::Healthy
    }
}

/// For `bundle` and `demo`: the log folder's newest file.
pub fn newest_log() -> Option<PathBuf> {
    let dir = default_log_dir()?;
    let mut v: Vec<PathBuf> = fs_err::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    v.sort();
    v.pop()
}
