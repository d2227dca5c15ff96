//! `condafix report`: the fleet at a glance, from what the machines already send
//! (`condafix_report` reads and renders; this is the command around it), and `--report-dir`,
//! the other end: `check` and `post-install` dropping their document on a share.

use std::path::Path;

use anyhow::{bail, Context as _};
use condafix_detect::redact::redact_credentials;
use condafix_detect::{Code, Family, Severity};
use condafix_report::{CodeInfo, DeviceState, Limits, ReadOptions, SummaryOptions};

use crate::cli::ReportArgs;
use crate::exit::ExitStatus;
use crate::log::Log;
use crate::printer::Printer;

/// Drop this run's document (`text`, as `--json` prints it) into `dir` as
/// `<host>-<UTC time>.json`. A failure is a warning (and a log line): the run's own result
/// never depends on a share being reachable.
pub fn drop_document(
    dir: &Path,
    text: anyhow::Result<String>,
    printer: &Printer,
    log: Option<&mut Log>,
) {
    let written = text.and_then(|text| {
        crate::outfile::drop_document(
            dir,
            &crate::output::host_name(),
            crate::output::run_time(),
            &text,
        )
    });
    let line = match &written {
        Ok(path) => format!("report document written to {}", path.display()),
        Err(e) => format!(
            "the report document could not be written to {}: {e:#} (the run itself is not affected; check that the folder exists and this account may write there)",
            dir.display()
        ),
    };
    if let Some(log) = log {
        log.line(&line);
    }
    if written.is_err() {
        printer.warn(&line);
    }
}

/// The README's table of finding codes: `| D010 | dll-not-found | error | meaning |`.
const README: &str = include_str!("../../../../README.md");

fn meaning(code: &str) -> Option<String> {
    README.lines().find_map(|l| {
        let cells: Vec<&str> = l.split(" | ").collect();
        (cells.len() >= 4 && cells[0].trim_start_matches("| ") == code).then(|| {
            cells[3..]
                .join(" | ")
                .trim_end_matches('|')
                .trim()
                .to_string()
        })
    })
}

fn family_fix(f: Family) -> &'static str {
    match f {
        Family::Dll => "run `condafix post-install` on the device (the remediation script): it stages conda's verified OpenSSL DLLs, or says why it cannot",
        Family::Tls => "run `condafix post-install --remove-insecure` (add `--ca-file` behind a TLS-intercepting proxy); a file pip or conda cannot parse needs fixing by hand",
        Family::Verify => "run `condafix verify` on the device: it shows the interpreter's own error",
        Family::Discovery => "nothing urgent: remove the stale entry `condafix detect` names",
    }
}

/// Every finding code: its name, severity, meaning (the README's words) and general fix.
pub fn catalog() -> Vec<CodeInfo> {
    Code::ALL
        .iter()
        .map(|c| {
            let code = c.to_string();
            CodeInfo {
                meaning: meaning(&code).unwrap_or_default(),
                name: c.name().to_string(),
                severity: match c.severity() {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "info",
                }
                .to_string(),
                fix: family_fix(c.family()).to_string(),
                code,
            }
        })
        .collect()
}

fn is_stdout(p: &Path) -> bool {
    p.as_os_str() == "-"
}

fn write(dest: &Path, text: &str, printer: &Printer) -> anyhow::Result<()> {
    let text = redact_credentials(text);
    if is_stdout(dest) {
        printer.result(&text);
        return Ok(());
    }
    crate::outfile::replace(dest, text.as_bytes(), false)
        .with_context(|| format!("{} could not be written", dest.display()))
}

pub fn run(args: &ReportArgs) -> anyhow::Result<ExitStatus> {
    let to_stdout = usize::from(args.json)
        + usize::from(args.csv.as_deref().is_some_and(is_stdout))
        + usize::from(args.ndjson.as_deref().is_some_and(is_stdout));
    if to_stdout > 1 {
        bail!("only one of --json, --csv - and --ndjson - can use stdout: give the others a file");
    }
    let as_of = match &args.as_of {
        Some(t) => condafix_report::time::parse(t).with_context(|| {
            format!("--as-of {t}: not a time (give RFC 3339, e.g. 2025-03-01T00:00:00Z)")
        })?,
        None => crate::output::run_time(),
    };
    // With --json, as every command, nothing for people but warnings and errors.
    let people = Printer::new(args.quiet || args.json);
    let progress = crate::progress::Progress::new(0, people.quiet());
    let on_file = |done: u64, total: u64| {
        progress.set_length(total);
        progress.inc();
        if done == total {
            progress.finish();
        }
    };
    let redact = |s: &str| redact_credentials(s);
    let fleet = condafix_report::collect(
        &args.paths,
        &ReadOptions {
            limits: Limits::default(),
            threads: args.threads,
            redact: &redact,
            progress: Some(&on_file),
        },
    )?;
    progress.finish();
    let catalog = catalog();
    let summary = condafix_report::summarize(
        &fleet,
        &SummaryOptions {
            as_of,
            stale_days: args.stale_days,
            catalog: &catalog,
            paths: args
                .paths
                .iter()
                .map(|p| redact_credentials(&p.display().to_string()))
                .collect(),
        },
    );
    if let Some(out) = &args.output {
        write(
            out,
            &condafix_report::render::html::html(&summary, &args.title),
            &people,
        )?;
        people.info(&format!("page written to {}\n", out.display()));
    }
    if let Some(out) = &args.csv {
        write(out, &condafix_report::render::csv::csv(&summary), &people)?;
    }
    if let Some(out) = &args.ndjson {
        let mut buf = Vec::new();
        condafix_report::write_ndjson(&fleet, &mut buf)?;
        write(out, &String::from_utf8_lossy(&buf), &people)?;
    }
    if args.json {
        crate::output::print(&people, &summary)?;
    }
    people.info(&condafix_report::render::text::text(&summary));
    let needs_fix = summary.devices.iter().any(|c| {
        c.count > 0
            && (c.key == DeviceState::StillBroken.label() || c.key == DeviceState::NoResult.label())
    });
    Ok(if needs_fix {
        ExitStatus::NeedsFix
    } else {
        ExitStatus::Healthy
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_the_readmes_meaning() {
        for c in catalog() {
            assert!(
                !c.meaning.is_empty(),
                "{} has no meaning in the README",
                c.code
            );
        }
        let d010 = catalog().into_iter().find(|c| c.code == "D010").unwrap();
        assert!(
            d010.meaning.starts_with("a needed DLL is not reachable"),
            "{}",
            d010.meaning
        );
    }

    /// Where the published event schema lives.
    fn event_schema_path() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/report-event.schema.json")
    }

    /// `schema/report-event.schema.json` is what the type says; `CONDAFIX_UPDATE_SCHEMAS=1`
    /// rewrites it.
    #[test]
    fn the_published_event_schema_is_generated_from_the_type() {
        let mut schema = crate::output::schema_of::<condafix_report::Event>();
        schema.insert("title".into(), "condafix report --ndjson event".into());
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        let path = event_schema_path();
        if std::env::var_os("CONDAFIX_UPDATE_SCHEMAS").is_some() {
            fs_err::write(&path, &text).unwrap();
            return;
        }
        let published = fs_err::read_to_string(&path).unwrap_or_default();
        assert!(
            published == text,
            "{} is not what the type says: run `CONDAFIX_UPDATE_SCHEMAS=1 cargo test -p condafix report` and commit it",
            path.display()
        );
    }
}
