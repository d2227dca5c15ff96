//! `--csv`: the summary's numbers as one long table (a `section` column says which part), for
//! a spreadsheet. A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is
//! prefixed with `'`, so a host name such as `=HYPERLINK(...)` stays text (CSV formula
//! injection).

use crate::summary::{Breakdown, Summary};

const HEADER: [&str; 13] = [
    "section",
    "key",
    "count",
    "devices",
    "healthy",
    "fixed",
    "still_broken",
    "skipped",
    "no_conda",
    "no_result",
    "state",
    "time",
    "detail",
];

/// A cell a spreadsheet will not run.
pub fn neutralize(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

#[derive(Default)]
struct Row {
    section: &'static str,
    key: String,
    count: Option<u64>,
    devices: Option<u64>,
    verdicts: Option<[u64; 4]>,
    no_conda: Option<u64>,
    no_result: Option<u64>,
    state: String,
    time: String,
    detail: String,
}

fn num(n: Option<u64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

fn breakdown_rows(section: &'static str, rows: &[Breakdown], out: &mut Vec<Row>) {
    out.extend(rows.iter().map(|b| Row {
        section,
        key: b.key.clone(),
        count: Some(b.total),
        verdicts: Some([b.healthy, b.fixed, b.still_broken, b.skipped]),
        ..Row::default()
    }));
}

/// The CSV text.
pub fn csv(s: &Summary) -> String {
    let mut rows: Vec<Row> = Vec::new();
    rows.extend(s.devices.iter().map(|c| Row {
        section: "devices",
        key: c.key.clone(),
        count: Some(c.count),
        ..Row::default()
    }));
    rows.extend(s.installs.iter().map(|c| Row {
        section: "installs",
        key: c.key.clone(),
        count: Some(c.count),
        ..Row::default()
    }));
    rows.extend(s.over_time.iter().map(|d| Row {
        section: "day",
        key: d.day.clone(),
        count: Some(d.healthy + d.fixed + d.still_broken + d.skipped + d.no_conda + d.no_result),
        verdicts: Some([d.healthy, d.fixed, d.still_broken, d.skipped]),
        no_conda: Some(d.no_conda),
        no_result: Some(d.no_result),
        ..Row::default()
    }));
    rows.extend(s.findings.iter().map(|f| Row {
        section: "finding",
        key: f.code.clone(),
        count: Some(f.installs),
        devices: Some(f.devices),
        state: f.severity.clone(),
        detail: format!("{}: {} Fix: {}", f.name, f.meaning, f.fix),
        ..Row::default()
    }));
    breakdown_rows("era", &s.eras, &mut rows);
    breakdown_rows("python", &s.pythons, &mut rows);
    breakdown_rows("openssl", &s.openssl, &mut rows);
    breakdown_rows("scope", &s.scopes, &mut rows);
    breakdown_rows("condafix-version", &s.condafix_versions, &mut rows);
    rows.extend(s.attention.iter().map(|a| Row {
        section: "attention",
        key: a.host.clone(),
        count: Some(a.installs.len() as u64),
        state: a.state.label().into(),
        time: a.time.clone().unwrap_or_default(),
        detail: a.next_step.clone(),
        ..Row::default()
    }));
    rows.extend(s.stale.iter().map(|d| Row {
        section: "stale",
        key: d.host.clone(),
        count: d.days,
        state: d.state.map(|s| s.label().to_string()).unwrap_or_default(),
        time: d.last_heard.clone().unwrap_or_default(),
        ..Row::default()
    }));
    rows.extend(s.notes.iter().map(|n| Row {
        section: "problem",
        key: n.file.clone(),
        state: n.kind.clone(),
        detail: n.problem.clone(),
        ..Row::default()
    }));
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let _ = w.write_record(HEADER);
    for r in rows {
        let v = r.verdicts.map(|v| v.map(|n| n.to_string()));
        let verdict = |i: usize| v.as_ref().map(|v| v[i].clone()).unwrap_or_default();
        let cells = [
            r.section.to_string(),
            r.key,
            num(r.count),
            num(r.devices),
            verdict(0),
            verdict(1),
            verdict(2),
            verdict(3),
            num(r.no_conda),
            num(r.no_result),
            r.state,
            r.time,
            r.detail,
        ];
        let _ = w.write_record(cells.iter().map(|c| neutralize(c)));
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_are_kept_as_text() {
        for bad in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert!(neutralize(bad).starts_with('\''), "{bad}");
        }
        assert_eq!(neutralize("PC-0042"), "PC-0042");
        assert_eq!(neutralize("3"), "3");
    }
}
