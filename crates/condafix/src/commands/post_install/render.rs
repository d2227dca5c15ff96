//! The post-install report for people (stderr).

use std::fmt::Write as _;

use super::model::{PrefixResult, Verdict};

pub fn report(results: &[PrefixResult], dry_run: bool, log: Option<&std::path::Path>) -> String {
    let mut out = String::new();
    for r in results {
        let _ = writeln!(out, "{}", r.prefix);
        if let Some(s) = &r.stage {
            for a in &s.actions {
                let _ = writeln!(
                    out,
                    "  stage: {} {}",
                    a.label(),
                    a.dest().replace('/', "\\")
                );
            }
            for b in &s.blocked {
                let _ = writeln!(out, "  stage blocked: {}", b.lines().next().unwrap_or(""));
            }
        }
        if let Some(c) = &r.config {
            for a in &c.actions {
                let _ = writeln!(out, "  config: {}: {}", a.what(), a.shown_target());
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
            Verdict::FixedNotVerified => "fixed, NOT VERIFIED",
            Verdict::WouldFix => "would fix",
            Verdict::StillBroken => "STILL BROKEN",
            Verdict::NeedsElevation => "NEEDS ELEVATION",
            Verdict::Refused => "REFUSED",
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
