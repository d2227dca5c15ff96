//! The human report (stderr): what is wrong, in words a non-expert can act on.

use std::fmt::Write as _;

use condafix_detect::{PrefixKind, PrefixReport, Report, Severity};

pub fn detect_report(report: &Report) -> String {
    let mut out = String::new();
    for p in &report.prefixes {
        prefix_section(&mut out, p);
        out.push('\n');
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

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn prefix_section(out: &mut String, p: &PrefixReport) {
    let kind = match p.kind {
        PrefixKind::Base => "base install",
        PrefixKind::Env => "environment",
    };
    let scope = if p.just_me { "Just Me" } else { "All Users" };
    let _ = writeln!(out, "{}  ({kind}, {scope})", p.prefix);
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
        let _ = writeln!(out, "  DLL search: {}", py.loader.describe());
    }
    if let Some(o) = &p.openssl {
        let _ = writeln!(out, "  OpenSSL {} ({})", o.version, o.build);
    }
    if p.python.is_some() && !p.modules.is_empty() {
        for (label, outcome) in [
            ("import ssl without activation", &p.prediction.unactivated),
            ("import ssl when activated    ", &p.prediction.activated),
        ] {
            let verdict = match outcome.result {
                "ok" => "ok".to_string(),
                "fails" => "FAILS".to_string(),
                "at-risk" => "AT RISK".to_string(),
                other => other.to_string(),
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
    for f in &p.findings {
        let sev = match f.severity {
            Severity::Error => "error  ",
            Severity::Warning => "warning",
            Severity::Info => "info   ",
        };
        let _ = writeln!(out, "  {sev} {:?} {}: {}", f.code, f.name, f.message);
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
