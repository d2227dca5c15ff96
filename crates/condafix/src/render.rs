//! The human report (stderr): what is wrong, in words a non-expert can act on.

use std::fmt::Write as _;

use condafix_detect::tls::TrustMode;
use condafix_detect::{Finding, ImportResult, PrefixKind, PrefixReport, Report, Severity};
use condafix_detect::{Origin, Scope};

pub fn detect_report(report: &Report) -> String {
    let mut out = String::new();
    if report.prefixes.is_empty() {
        out.push_str("No conda installation found.\n");
        out.push_str("condafix looked at --prefix, PREFIX (installer step), CONDA_PREFIX, CONDA_EXE, CONDA, the registry (PEP 514 and Uninstall entries), the usual install folders (anaconda3, miniconda3, miniforge3, mambaforge under your profile, LOCALAPPDATA, PROGRAMDATA and C:\\) and ~/.conda/environments.txt.\n");
        out.push_str("Point it at an install with --prefix <folder>, e.g. condafix detect --prefix D:\\tools\\anaconda3\n");
    }
    if report.users.is_empty() {
        for p in &report.prefixes {
            prefix_section(&mut out, p);
            out.push('\n');
        }
    } else {
        users_sections(&mut out, report);
    }
    if !report.machine.findings.is_empty() {
        out.push_str("This machine (user and global settings, environment):\n");
        findings(&mut out, &report.machine.findings);
        out.push('\n');
    }
    if report.prefixes.is_empty() {
        return out;
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "{} checked: {} healthy, {} {} a fix ({} {}, {} {}).",
        plural(s.prefixes, "prefix", "prefixes"),
        s.healthy,
        s.needs_fix,
        if s.needs_fix == 1 { "needs" } else { "need" },
        s.errors,
        if s.errors == 1 { "error" } else { "errors" },
        s.warnings,
        if s.warnings == 1 {
            "warning"
        } else {
            "warnings"
        },
    );
    out
}

/// An all-users report: each user's installs and own settings under their name, then the
/// installs nobody owns (All Users).
fn users_sections(out: &mut String, report: &Report) {
    use condafix_detect::users::HiveAccess;
    for u in &report.users {
        let hive = match &u.access {
            HiveAccess::LoggedOn => "logged on".to_string(),
            HiveAccess::LoadedForRun => {
                "not logged on; their settings were read from NTUSER.DAT".to_string()
            }
            HiveAccess::Unavailable { why } => {
                format!("their registry settings could not be read: {why}")
            }
        };
        let _ = writeln!(
            out,
            "== user {} ({}, {hive}) ==",
            u.profile.name, u.profile.dir
        );
        let mine: Vec<&PrefixReport> = report
            .prefixes
            .iter()
            .filter(|p| p.user.as_deref() == Some(u.profile.name.as_str()))
            .collect();
        if mine.is_empty() {
            out.push_str("No conda installation in this profile.\n\n");
        }
        for p in mine {
            prefix_section(out, p);
            out.push('\n');
        }
        for note in &u.notes {
            let _ = writeln!(out, "note: {note}");
        }
        if !u.config.findings.is_empty() {
            let _ = writeln!(
                out,
                "{}'s settings (pip and conda files, user environment):",
                u.profile.name
            );
            findings(out, &u.config.findings);
            out.push('\n');
        }
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let shared: Vec<&PrefixReport> = report
        .prefixes
        .iter()
        .filter(|p| p.user.is_none())
        .collect();
    if !shared.is_empty() {
        out.push_str("== installs for all users ==\n");
        for p in shared {
            prefix_section(out, p);
            out.push('\n');
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn prefix_section(out: &mut String, p: &PrefixReport) {
    let kind = match p.kind {
        PrefixKind::Base => "base install",
        PrefixKind::Env => "environment",
        PrefixKind::Venv => "venv",
    };
    let scope = match p.scope {
        Scope::JustMe => ", Just Me",
        Scope::AllUsers => ", All Users",
        Scope::Unknown => "",
    };
    let found = p
        .found_by
        .first()
        .map(|o| format!(", found by {}", origin_words(o)))
        .unwrap_or_default();
    let _ = writeln!(out, "{}  ({kind}{scope}{found})", p.prefix);
    if let Some(py) = &p.python {
        let mut details = vec![];
        if !py.build.is_empty() {
            details.push(py.build.clone());
        }
        if let Some(ch) = &py.channel {
            details.push(short_channel(ch));
        }
        if let Some(d) = &py.build_date {
            details.push(format!("built {d}"));
        }
        let machine = py
            .machine
            .map(|m| format!(", {}", m.label()))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  Python {} ({}){machine}",
            py.version,
            details.join(", ")
        );
        if let Some(v) = &py.venv {
            let _ = writeln!(out, "  venv of the interpreter in {}", v.home);
        }
        let _ = writeln!(out, "  DLL search: {}", py.loader.describe());
        let _ = writeln!(out, "    because {}", py.loader_reason);
    }
    if let Some(o) = &p.openssl {
        let _ = writeln!(out, "  OpenSSL {} ({})", o.version, o.build);
    }
    if let Some(pip) = p.tls.as_ref().and_then(|t| t.pip.as_ref()) {
        let trust = match pip.trust {
            TrustMode::TruststoreDefault => "uses the Windows trust store (truststore) and certifi",
            TrustMode::TruststoreOptIn => "certifi; truststore only with --use-feature=truststore",
            TrustMode::CertifiOnly => "certifi only (a corporate root needs `cert =`)",
            TrustMode::Unknown => "unknown",
        };
        let _ = writeln!(out, "  pip {}: {trust}", pip.version);
    }
    if p.python.is_some() && !p.modules.is_empty() {
        for (label, outcome) in [
            ("import ssl without activation", &p.prediction.unactivated),
            ("import ssl when activated    ", &p.prediction.activated),
        ] {
            let verdict = match outcome.result {
                ImportResult::Ok => "ok",
                ImportResult::Fails => "FAILS",
                ImportResult::AtRisk => "AT RISK",
                ImportResult::NotApplicable => "not-applicable",
            };
            match &outcome.error {
                Some(e) => {
                    let _ = writeln!(out, "  {label}: {verdict}: {e}");
                }
                None => {
                    let _ = writeln!(out, "  {label}: {verdict}");
                }
            }
        }
    }
    if p.findings.is_empty() {
        return;
    }
    out.push('\n');
    findings(out, &p.findings);
}

fn origin_words(o: &Origin) -> String {
    match o {
        Origin::Argument => "--prefix".into(),
        Origin::InstallerPrefix => "the installer's PREFIX".into(),
        Origin::EnvVar { name } => name.clone(),
        Origin::Pep514 { key } | Origin::Uninstall { key } => format!("the registry ({key})"),
        Origin::KnownFolder => "its usual install folder".into(),
        Origin::EnvironmentsTxt { file, line } => format!("{file} line {line}"),
        Origin::EnvsFolder => "its base's envs folder".into(),
    }
}

fn findings(out: &mut String, list: &[Finding]) {
    for f in list {
        let sev = match f.severity {
            Severity::Error => "error  ",
            Severity::Warning => "warning",
            Severity::Info => "info   ",
        };
        let _ = writeln!(out, "  {sev} {} {}: {}", f.code, f.name, f.message);
        if let (Some(path), None) = (&f.path, f.line) {
            if !f.message.contains(path.as_str()) {
                let _ = writeln!(out, "          file: {path}");
            }
        }
        if let Some(fix) = &f.fix {
            let _ = writeln!(out, "          fix: {fix}");
        }
    }
}

fn short_channel(channel: &str) -> String {
    if channel.contains("conda-forge") {
        "conda-forge".into()
    } else if channel.contains("pkgs/main") || channel.contains("repo.anaconda.com") {
        "defaults".into()
    } else {
        channel.to_string()
    }
}

/// The staging plans, as a person reads them.
pub fn stage_plans(plans: &[condafix_stage::Plan], dry_run: bool) -> String {
    use condafix_stage::PlannedAction;
    let mut out = String::new();
    for plan in plans {
        let _ = writeln!(out, "{}", plan.prefix);
        let win = |s: &str| s.replace('/', "\\");
        for a in &plan.actions {
            match a {
                PlannedAction::Place {
                    dest,
                    source,
                    reason,
                    ..
                }
                | PlannedAction::Replace {
                    dest,
                    source,
                    reason,
                    ..
                } => {
                    let verb = if matches!(a, PlannedAction::Place { .. }) {
                        "place  "
                    } else {
                        "replace"
                    };
                    let member = source
                        .member
                        .as_ref()
                        .map(|m| format!(" :: {m}"))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "  {verb}  {}  <- {}{member}  [{reason}]",
                        win(dest),
                        source.path
                    );
                    let _ = writeln!(
                        out,
                        "           sha256 {} (checked against {})",
                        source.sha256, source.verified_against
                    );
                }
                PlannedAction::Remove { dest, reason, .. } => {
                    let _ = writeln!(out, "  remove   {}  [{reason}]", win(dest));
                }
                PlannedAction::Adopt { dest, reason, .. } => {
                    let _ = writeln!(out, "  adopt    {}  [{reason}]", win(dest));
                }
                PlannedAction::KeepForeign { dest, reason, .. } => {
                    let _ = writeln!(out, "  keep     {}  [{reason}]", win(dest));
                }
            }
        }
        for n in &plan.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        for b in &plan.blocked {
            for (i, line) in b.lines().enumerate() {
                let _ = writeln!(
                    out,
                    "  {}{line}",
                    if i == 0 { "cannot stage: " } else { "  " }
                );
            }
        }
    }
    let total: usize = plans.iter().map(condafix_stage::Plan::changes).sum();
    out.push_str(&changes_footer(total, dry_run));
    out
}

/// An interrupted earlier run, and what recovery did with it.
pub fn recovery(r: &condafix_txn::Recovery) -> String {
    format!(
        "{}: an interrupted run ({}, {}) was {} first\n",
        r.store, r.txn, r.command, r.outcome
    )
}

/// What holding the prefixes found: interrupted runs recovered (or, for a dry run, that would
/// be), and prefixes another condafix is changing.
pub fn held(h: &crate::stores::Held) -> String {
    let mut out = String::new();
    for r in &h.recovered {
        out.push_str(&recovery(r));
    }
    for r in &h.pending {
        let _ = writeln!(
            out,
            "{}: an interrupted run ({}, {}) would be {} first (dry run: nothing was changed)",
            r.store, r.txn, r.command, r.outcome
        );
    }
    for n in &h.notes {
        let _ = writeln!(out, "{n}");
    }
    out
}

/// What applying changed in one prefix, and how to undo it (`restores` says what comes back).
pub fn applied(o: &condafix_txn::Applied, restores: &str) -> String {
    let mut out = String::new();
    if let Some(r) = &o.recovered {
        out.push_str(&recovery(r));
    }
    if o.changes > 0 {
        let prefix = condafix_detect::display_path(&o.prefix);
        let _ = writeln!(
            out,
            "{prefix}: applied {} change{} ({}); `condafix undo --prefix \"{prefix}\"` restores the previous {restores}",
            o.changes,
            if o.changes == 1 { "" } else { "s" },
            o.txn.as_deref().unwrap_or(""),
        );
    }
    out
}

pub fn stage_after(after: &Report, changed: bool) -> String {
    let mut out = String::new();
    if changed {
        out.push_str("After staging:\n");
    }
    for p in &after.prefixes {
        if p.python.is_none() || p.modules.is_empty() {
            continue;
        }
        let u = &p.prediction.unactivated;
        let _ = writeln!(
            out,
            "  {}: import ssl without activation: {}{}",
            p.prefix,
            u.result,
            u.error
                .as_ref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
    }
    out
}

/// The last line of a plan: nothing to change, or how many changes a dry run would make.
pub fn changes_footer(total: usize, dry_run: bool) -> String {
    if total == 0 {
        "Nothing to change.\n".to_string()
    } else if dry_run {
        format!(
            "Dry run: {total} change{} would be made; nothing was changed.\n",
            if total == 1 { "" } else { "s" }
        )
    } else {
        String::new()
    }
}
