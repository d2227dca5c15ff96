use std::path::PathBuf;
use std::time::Duration;

use condafix_config::{apply_config_into, finish_config, plan_config, ConfigOptions, ConfigPlan};
use condafix_detect::{Code, PrefixKind, PrefixReport, Report, Severity};
use condafix_prefix::Layout;
use condafix_stage::archive::Bundle;
use condafix_stage::{apply_into, plan_prefix, Plan, StageOptions};
use condafix_txn::{Faults, Transaction};
use condafix_verify::{verify_prefix, PrefixVerify, VerifyOptions};
use serde::Serialize;

use crate::cli::PostInstallArgs;
use crate::exit::ExitStatus;
use crate::log::{default_log_dir, Log};
use crate::machine::Machine;

/// The verdict for one prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Healthy,
    Fixed,
    StillBroken,
    NeedsElevation,
    Skipped,
}

#[derive(Serialize)]
pub struct PrefixResult {
    pub prefix: String,
    pub verdict: Verdict,
    pub changed: bool,
    pub changes: usize,
    /// Why: the finding left, or why it was skipped.
    pub reason: Option<String>,
    pub next_step: Option<String>,
    pub openssl_version: Option<String>,
    /// Did detection's prediction hold against the real interpreter?
    pub prediction_confirmed: Option<bool>,
    pub stage: Option<Plan>,
    pub config: Option<ConfigPlan>,
    pub verify: Option<PrefixVerify>,
    /// Error and warning findings after the run.
    pub findings_after: Vec<String>,
}

#[derive(Serialize)]
struct PostInstallReport<'a> {
    schema_version: u32,
    dry_run: bool,
    changed: bool,
    exit_code: u8,
    prefixes: &'a [PrefixResult],
}

/// One prefix after the apply step: its name, the number of changes, the error (if any),
/// and the two plans.
type Applied = (
    String,
    usize,
    Option<String>,
    Option<Plan>,
    Option<ConfigPlan>,
);

fn order(report: &Report) -> Vec<&PrefixReport> {
    // Base first, then its envs; each base's envs right after it.
    let mut v: Vec<&PrefixReport> = report.prefixes.iter().collect();
    v.sort_by_key(|p| {
        let group = match p.kind {
            PrefixKind::Base => p.prefix.to_lowercase(),
            PrefixKind::Env => p
                .base
                .clone()
                .unwrap_or_else(|| p.prefix.clone())
                .to_lowercase(),
        };
        (group, p.kind == PrefixKind::Env, p.prefix.to_lowercase())
    });
    v
}

pub fn run(args: &PostInstallArgs) -> anyhow::Result<ExitStatus> {
    let unattended =
        std::env::var_os("INSTALLER_UNATTENDED").is_some_and(|v| !v.is_empty() && v != "0");
    let never_fail = args.never_fail || unattended;
    let github = std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true");
    let log_path = args.log_file.clone().or_else(|| {
        unattended.then(default_log_dir).flatten().map(|d| {
            d.join(format!(
                "post-install-{}.log",
                crate::log::timestamp().replace(':', "")
            ))
        })
    });
    let mut log = log_path.as_deref().map(Log::open).unwrap_or_else(Log::none);
    log.line(&format!(
        "condafix {} post-install{}",
        env!("CARGO_PKG_VERSION"),
        if args.dry_run { " --dry-run" } else { "" }
    ));
    let result = run_inner(args, github, &mut log);
    match result {
        Ok(status) => {
            log.line(&format!("exit status {status:?}"));
            Ok(if never_fail {
                ExitStatus::Healthy
            } else {
                status
            })
        }
        Err(e) => {
            log.line(&format!("error: {e:#}"));
            if never_fail && !unattended_hard_failure(&e) {
                eprintln!(
                    "condafix: error: {e:#} (exit 0: --never-fail / unattended installer step)"
                );
                return Ok(ExitStatus::Healthy);
            }
            Err(e)
        }
    }
}

/// Failures that mean condafix itself could not run (even an unattended step reports those).
fn unattended_hard_failure(_e: &anyhow::Error) -> bool {
    false
}

fn run_inner(args: &PostInstallArgs, github: bool, log: &mut Log) -> anyhow::Result<ExitStatus> {
    let machine = Machine::new();
    let host = machine.host();
    for d in condafix_detect::discover::discover(&host, &args.target.prefixes).prefixes {
        if let Some(r) = condafix_txn::recover_with(
            &d.path,
            condafix_txn::RetryPolicy::default(),
            Some(machine.registry.as_ref()),
        )? {
            log.line(&format!(
                "{}: an interrupted run ({}) was {}",
                d.prefix, r.txn, r.outcome
            ));
        }
    }
    let before = machine.detect(&args.target)?;
    let human = !args.json && !args.quiet;
    if before.prefixes.is_empty() {
        let msg = "No conda installation found: nothing to do. Point condafix at one with --prefix <folder>.";
        log.line(msg);
        if human {
            eprintln!("{msg}");
        }
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&PostInstallReport {
                    schema_version: 1,
                    dry_run: args.dry_run,
                    changed: false,
                    exit_code: 0,
                    prefixes: &[]
                })?
            );
        }
        return Ok(ExitStatus::Healthy);
    }
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
    let system_roots = args
        .trust_system_store
        .then(|| condafix_config::bundle::system_roots().0);
    let config_opts = ConfigOptions {
        ca_files: args.ca_files.clone(),
        trust_system_store: args.trust_system_store,
        system_roots,
        scope: args.scope.into(),
        condarc: None,
        index_url: args.index_url.clone(),
        proxy: args.proxy.clone(),
        remove_insecure: args.remove_insecure,
        insecure_trusted_hosts: Vec::new(),
        add_to_path: args.add_to_path,
        system: args.system,
        fix_env: args.fix_env,
        github: if github { super::github_files() } else { None },
        now_unix: super::now_unix(),
    };
    let faults = Faults::from_env();
    let progress = crate::progress::Progress::new(before.prefixes.len() as u64, !human);
    let mut applied: Vec<Applied> = Vec::new();
    for p in order(&before) {
        progress.message(format!("fixing {}", p.prefix));
        log.line(&format!(
            "{}: detect: unactivated {}, activated {}",
            p.prefix, p.prediction.unactivated.result, p.prediction.activated.result
        ));
        let stage = plan_prefix(p, &stage_opts, bundle.as_mut())?;
        let config = match plan_config(
            p,
            &before.machine,
            &machine.env,
            machine.registry.as_ref(),
            cfg!(windows),
            &config_opts,
        ) {
            Ok(c) => Some(c),
            Err(e) => {
                log.line(&format!("{}: config not planned: {e}", p.prefix));
                None
            }
        };
        let mut error = None;
        let mut changes = 0;
        if !args.dry_run {
            let outcome = (|| -> anyhow::Result<usize> {
                let (t, _) =
                    Transaction::begin(std::path::Path::new(&p.prefix), "post-install", &faults)?;
                let mut t = t.with_registry(machine.registry.as_ref());
                apply_into(&stage, &mut t)?;
                if let Some(c) = &config {
                    apply_config_into(c, &mut t)?;
                }
                let n = t.changes();
                t.commit()?;
                if let Some(c) = &config {
                    finish_config(c, machine.registry.as_ref())?;
                }
                Ok(n)
            })();
            match outcome {
                Ok(n) => changes = n,
                Err(e) => error = Some(e),
            }
        }
        let error_text = error.as_ref().map(|e| {
            let denied = crate::exit::status_for_error(e) == ExitStatus::NeedsElevation;
            format!("{}{e:#}", if denied { "needs elevation: " } else { "" })
        });
        log.line(&format!(
            "{}: {} change(s){}",
            p.prefix,
            changes,
            error_text
                .as_ref()
                .map(|e| format!("; {e}"))
                .unwrap_or_default()
        ));
        applied.push((p.prefix.clone(), changes, error_text, Some(stage), config));
        progress.inc();
    }
    progress.finish();

    // Prove it: detect again, and run the real interpreter where it can run.
    let after = machine.detect(&args.target)?;
    let verify_opts = VerifyOptions {
        online: args
            .online
            .as_ref()
            .map(|u| (!u.is_empty()).then(|| u.clone())),
        timeout: Duration::from_secs(args.timeout.max(1)),
        env: std::env::vars_os().collect(),
        cwd: std::env::temp_dir(),
    };
    let mut results = Vec::new();
    for (prefix, changes, error, stage, config) in applied {
        let Some(a) = after.prefixes.iter().find(|p| p.prefix == prefix) else {
            continue;
        };
        let can_run = a.python.is_some() && (a.layout == Layout::Windows) == cfg!(windows);
        let verify =
            (can_run && !args.dry_run && !args.no_verify).then(|| verify_prefix(a, &verify_opts));
        let problems: Vec<&condafix_detect::Finding> = a
            .findings
            .iter()
            .filter(|f| f.severity > Severity::Info && !matches!(f.code, Code::P001 | Code::P002))
            .collect();
        let dll_ok = matches!(a.prediction.unactivated.result, "ok" | "not-applicable");
        let verified_ok = verify.as_ref().is_none_or(|v| v.healthy);
        let blocked = stage
            .as_ref()
            .map(|s| s.blocked.clone())
            .unwrap_or_default();
        let refused = config
            .as_ref()
            .map(|c| c.refused.clone())
            .unwrap_or_default();
        let (verdict, reason, next_step) = if let Some(e) = &error {
            if e.starts_with("needs elevation") {
                (
                    Verdict::NeedsElevation,
                    Some(e.clone()),
                    Some("run condafix from an elevated prompt (Run as administrator)".to_string()),
                )
            } else {
                (
                    Verdict::StillBroken,
                    Some(e.clone()),
                    Some("see the error above; nothing was changed in this prefix".to_string()),
                )
            }
        } else if a.python.is_none() {
            (
                Verdict::Skipped,
                Some("no Python in this prefix".to_string()),
                None,
            )
        } else if dll_ok
            && verified_ok
            && blocked.is_empty()
            && refused.is_empty()
            && problems.is_empty()
        {
            (
                if changes > 0 {
                    Verdict::Fixed
                } else {
                    Verdict::Healthy
                },
                None,
                None,
            )
        } else {
            let first = problems.first();
            let reason = verify
                .as_ref()
                .filter(|v| !v.healthy)
                .and_then(|v| {
                    v.findings
                        .first()
                        .map(|f| format!("{:?} {}", f.code, f.message))
                })
                .or_else(|| blocked.first().cloned())
                .or_else(|| refused.first().cloned())
                .or_else(|| first.map(|f| format!("{:?} {}", f.code, f.message)));
            (
                Verdict::StillBroken,
                reason,
                first.and_then(|f| f.fix.clone()),
            )
        };
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
            log.line(&format!("{prefix}: {n}"));
        }
        log.line(&format!(
            "{prefix}: verdict {verdict:?}{}",
            reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
        results.push(PrefixResult {
            prefix,
            verdict,
            changed: changes > 0,
            changes,
            reason: reason.or(verify_note),
            next_step,
            openssl_version: verify
                .as_ref()
                .and_then(|v| v.unactivated.openssl_version.clone())
                .or_else(|| a.openssl.as_ref().map(|o| o.version.clone())),
            prediction_confirmed: verify.as_ref().map(|v| v.agrees),
            stage,
            config,
            verify,
            findings_after: a
                .findings
                .iter()
                .filter(|f| f.severity > Severity::Info)
                .map(|f| format!("{:?} {}", f.code, f.message))
                .collect(),
        });
    }
    let changed = results.iter().any(|r| r.changed);
    let status = if results.iter().any(|r| r.verdict == Verdict::StillBroken) {
        ExitStatus::NeedsFix
    } else if results.iter().any(|r| r.verdict == Verdict::NeedsElevation) {
        ExitStatus::NeedsElevation
    } else {
        ExitStatus::Healthy
    };
    if github {
        crate::github::report(&results, &after)?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&PostInstallReport {
                schema_version: 1,
                dry_run: args.dry_run,
                changed,
                exit_code: status as u8,
                prefixes: &results
            })?
        );
    } else if human {
        eprint!("{}", render(&results, args.dry_run, log.path.as_deref()));
    }
    Ok(status)
}

fn render(results: &[PrefixResult], dry_run: bool, log: Option<&std::path::Path>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for r in results {
        let _ = writeln!(out, "{}", r.prefix);
        if let Some(s) = &r.stage {
            for a in &s.actions {
                let _ = writeln!(
                    out,
                    "  stage: {}",
                    serde_json::to_value(a)
                        .ok()
                        .and_then(|v| v["action"].as_str().map(str::to_string))
                        .unwrap_or_default()
                        + " "
                        + &serde_json::to_value(a)
                            .ok()
                            .and_then(|v| v["dest"].as_str().map(|d| d.replace('/', "\\")))
                            .unwrap_or_default()
                );
            }
            for b in &s.blocked {
                let _ = writeln!(out, "  stage blocked: {}", b.lines().next().unwrap_or(""));
            }
        }
        if let Some(c) = &r.config {
            for a in &c.actions {
                let v = serde_json::to_value(a).unwrap_or_default();
                let what = v["what"].as_str().unwrap_or("");
                let target = v["path"]
                    .as_str()
                    .or(v["value"].as_str())
                    .or(v["file"].as_str())
                    .unwrap_or("");
                let _ = writeln!(out, "  config: {what}: {target}");
            }
            for w in &c.warnings {
                let _ = writeln!(out, "  WARNING: {w}");
            }
        }
        if let Some(v) = &r.verify {
            let _ = writeln!(
                out,
                "  verified: import ssl without activation {}{}",
                v.unactivated.result,
                v.unactivated
                    .openssl_version
                    .as_ref()
                    .map(|o| format!(" ({o})"))
                    .unwrap_or_default()
            );
        }
    }
    let _ = writeln!(
        out,
        "\nVerdict{}:",
        if dry_run {
            " (dry run: nothing was changed)"
        } else {
            ""
        }
    );
    for r in results {
        let v = match r.verdict {
            Verdict::Healthy => "healthy",
            Verdict::Fixed => "fixed",
            Verdict::StillBroken => "STILL BROKEN",
            Verdict::NeedsElevation => "NEEDS ELEVATION",
            Verdict::Skipped => "skipped",
        };
        let _ = writeln!(out, "  {v:<15} {}", r.prefix);
        if let Some(reason) = &r.reason {
            let _ = writeln!(out, "                  {reason}");
        }
        if let Some(n) = &r.next_step {
            let _ = writeln!(out, "                  next: {n}");
        }
    }
    if let Some(l) = log {
        let _ = writeln!(out, "Log: {}", l.display());
    }
    out
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
