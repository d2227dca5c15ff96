//! GitHub Actions: a group per prefix, annotations per finding, a step summary table, outputs.
//! The workflow commands go to stderr (the runner reads commands from both streams), so that
//! stdout holds only the results (exactly one JSON document with `--json`).

use std::fmt::Write as _;
use std::io::Write as _;

use condafix_detect::redact::redact_credentials;
use condafix_detect::{Report, Severity};

use crate::printer::Printer;

use super::model::{PrefixResult, Verdict};

/// Workflow-command data escaping (`%`, CR, LF).
fn escape(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn append(var: &str, text: &str) -> anyhow::Result<()> {
    let Some(path) = std::env::var_os(var) else {
        return Ok(());
    };
    let mut f = fs_err::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(redact_credentials(text).as_bytes())?;
    Ok(())
}

pub fn report(results: &[PrefixResult], after: &Report, printer: &Printer) -> anyhow::Result<()> {
    let mut commands = String::new();
    for r in results {
        let _ = writeln!(commands, "::group::condafix {}", r.prefix);
        if let Some(p) = after.prefixes.iter().find(|p| p.prefix == r.prefix) {
            for f in &p.findings {
                let kind = match f.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => continue,
                };
                let mut params = Vec::new();
                if let Some(p) = &f.path {
                    params.push(format!(
                        "file={}",
                        escape(p).replace(',', "%2C").replace(':', "%3A")
                    ));
                }
                if let Some(l) = f.line {
                    params.push(format!("line={l}"));
                }
                params.push(
                    format!("title=condafix {} {}", f.code, f.name)
                        .replace(',', "%2C")
                        .replace(':', "%3A"),
                );
                let _ = writeln!(
                    commands,
                    "::{kind} {}::{}",
                    params.join(","),
                    escape(&f.message)
                );
            }
        }
        let _ = writeln!(commands, "verdict: {}", r.verdict.label());
        let _ = writeln!(commands, "::endgroup::");
    }
    printer.workflow(&commands);
    let mut summary = String::from("### condafix post-install\n\n| prefix | verdict | OpenSSL | changed | next step |\n|---|---|---|---|---|\n");
    for r in results {
        let verdict = match r.verdict {
            Verdict::Healthy => "✅ healthy",
            Verdict::Fixed => "🔧 fixed",
            Verdict::FixedNotVerified => "🔧 fixed, not verified",
            Verdict::WouldFix => "🔧 would fix (dry run)",
            Verdict::StillBroken => "❌ still broken",
            Verdict::NeedsElevation => "🔒 needs elevation",
            Verdict::Refused => "⛔ refused",
            Verdict::Skipped => "⏭ skipped",
        };
        summary.push_str(&format!(
            "| `{}` | {verdict} | {} | {} | {} |\n",
            r.prefix,
            r.openssl_version.as_deref().unwrap_or("-"),
            if r.changed { "yes" } else { "no" },
            r.next_step
                .as_deref()
                .or(r.reason.as_deref())
                .unwrap_or("")
                .replace('|', "\\|")
        ));
    }
    append("GITHUB_STEP_SUMMARY", &summary)?;
    let healthy = results.iter().all(|r| r.verdict.is_good());
    let openssl = results
        .iter()
        .find_map(|r| r.openssl_version.clone())
        .unwrap_or_default();
    let changed = results.iter().any(|r| r.changed);
    append(
        "GITHUB_OUTPUT",
        &format!("healthy={healthy}\nopenssl-version={openssl}\nchanged={changed}\n"),
    )?;
    Ok(())
}
