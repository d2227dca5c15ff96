//! `-o fleet.html`: one self-contained page an admin can read in a minute and forward. No
//! script, no font, no request of any kind (a Content-Security-Policy says so too); inline SVG
//! charts with their numbers beside them, each followed by a table with the same numbers;
//! readable printed. Every text taken from an input is HTML-escaped.

use super::svg::{bars, columns, Bar};
use crate::summary::{Breakdown, Summary};

/// Rows shown in a list on the page (the rest are in `--csv` and `--json`).
const LIST: usize = 1000;

/// Escape for HTML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Text with `code spans` (backticks) shown as code.
fn rich(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("<code>{}</code>", esc(part)));
        } else {
            out.push_str(&esc(part));
        }
    }
    out
}

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1b1b1b; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ccc; padding-bottom: .2rem; }
.meta { color: #555; margin-top: 0; }
.tiles { display: flex; flex-wrap: wrap; gap: .6rem; margin: 1rem 0; }
.tile { border: 1px solid #ccc; border-radius: 6px; padding: .5rem .8rem; min-width: 7rem; }
.tile b { display: block; font-size: 1.5rem; }
figure { margin: 1rem 0 1.5rem; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
svg.chart { max-width: 100%; height: auto; display: block; }
svg text { font: 12px system-ui, sans-serif; fill: #1b1b1b; }
svg text.small { font-size: 10px; }
svg .axis { stroke: #999; }
table { border-collapse: collapse; margin: .4rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, Consolas, monospace; font-size: .85em; background: #f4f4f4; padding: 0 .2em; }
.legend span { display: inline-block; margin-right: 1rem; }
.legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
.healthy { fill: #2e7d32; background: #2e7d32; }
.fixed { fill: #1565c0; background: #1565c0; }
.still_broken { fill: #c62828; background: #c62828; }
.skipped { fill: #9e9e9e; background: #9e9e9e; }
.no_conda { fill: #cfd8dc; background: #cfd8dc; }
.no_result { fill: #ef6c00; background: #ef6c00; }
.none { fill: #607d8b; background: #607d8b; }
.muted { color: #666; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; }
  table, figure, tr { break-inside: avoid; }
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
"#;

fn table(head: &[&str], rows: &[Vec<String>], numeric_from: usize) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in head {
        s.push_str(&format!("<th scope=\"col\">{}</th>", esc(h)));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for (i, cell) in r.iter().enumerate() {
            if i >= numeric_from {
                s.push_str(&format!("<td class=\"n\">{cell}</td>"));
            } else {
                s.push_str(&format!("<td>{cell}</td>"));
            }
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

fn figure(id: &str, caption: &str, svg: String, table: String) -> String {
    format!(
        "<figure id=\"fig-{id}\"><figcaption>{}</figcaption>{svg}{table}</figure>",
        esc(caption)
    )
}

fn verdict_parts(b: &Breakdown) -> Vec<(u64, &'static str)> {
    vec![
        (b.healthy, "healthy"),
        (b.fixed, "fixed"),
        (b.still_broken, "still_broken"),
        (b.skipped, "skipped"),
        (
            b.total
                .saturating_sub(b.healthy + b.fixed + b.still_broken + b.skipped),
            "none",
        ),
    ]
}

fn breakdown_figure(id: &str, caption: &str, what: &str, rows: &[Breakdown]) -> String {
    if rows.is_empty() {
        return format!(
            "<figure id=\"fig-{id}\"><figcaption>{}</figcaption><p class=\"muted\">No {} reported.</p></figure>",
            esc(caption),
            esc(what)
        );
    }
    let bars_rows: Vec<Bar> = rows
        .iter()
        .map(|b| Bar {
            label: b.key.clone(),
            parts: verdict_parts(b),
            value: format!("{} ({} still broken)", b.total, b.still_broken),
        })
        .collect();
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|b| {
            vec![
                esc(&b.key),
                b.total.to_string(),
                b.healthy.to_string(),
                b.fixed.to_string(),
                b.still_broken.to_string(),
                b.skipped.to_string(),
            ]
        })
        .collect();
    figure(
        id,
        caption,
        bars(&format!("chart-{id}"), caption, &bars_rows),
        table(
            &[what, "total", "healthy", "fixed", "still broken", "skipped"],
            &table_rows,
            1,
        ),
    )
}

fn class_of(key: &str) -> &'static str {
    match key {
        "healthy" => "healthy",
        "fixed" => "fixed",
        "still-broken" => "still_broken",
        "skipped" => "skipped",
        "no-conda" => "no_conda",
        "no-result" => "no_result",
        _ => "none",
    }
}

fn counts_figure(id: &str, caption: &str, what: &str, counts: &[crate::summary::Count]) -> String {
    let total: u64 = counts.iter().map(|c| c.count).sum();
    let pct = |n: u64| {
        if total == 0 {
            "0%".to_string()
        } else {
            format!("{:.0}%", n as f64 * 100.0 / total as f64)
        }
    };
    let bars_rows: Vec<Bar> = counts
        .iter()
        .map(|c| Bar {
            label: c.key.clone(),
            parts: vec![(c.count, class_of(&c.key))],
            value: format!("{} ({})", c.count, pct(c.count)),
        })
        .collect();
    let rows: Vec<Vec<String>> = counts
        .iter()
        .map(|c| vec![esc(&c.key), c.count.to_string(), pct(c.count)])
        .collect();
    figure(
        id,
        caption,
        bars(&format!("chart-{id}"), caption, &bars_rows),
        table(&[what, "count", "share"], &rows, 1),
    )
}

fn more(n: usize) -> String {
    if n > LIST {
        format!(
            "<p class=\"muted\">{} more not shown here: see <code>--csv</code> or <code>--json</code>.</p>",
            n - LIST
        )
    } else {
        String::new()
    }
}

/// `2025-03-01T08:28:59Z` as `2025-03-01 08:28`.
fn short_time(t: &str) -> String {
    match (t.get(..10), t.get(11..16)) {
        (Some(d), Some(hm)) => format!("{d} {hm}"),
        _ => t.to_string(),
    }
}

/// A device's earlier states as runs: `still-broken ×5 from 2025-02-24, fixed ×1 from ...`.
fn earlier(history: &[crate::summary::HistoryPoint]) -> String {
    let mut runs: Vec<(crate::model::DeviceState, usize, String)> = Vec::new();
    for h in history {
        let day = h
            .time
            .as_deref()
            .and_then(|t| t.get(..10))
            .unwrap_or("?")
            .to_string();
        match runs.last_mut() {
            Some((state, n, _)) if *state == h.state => *n += 1,
            _ => runs.push((h.state, 1, day)),
        }
    }
    runs.iter()
        .map(|(state, n, from)| {
            if *n == 1 {
                format!("{} on {from}", state.label())
            } else {
                format!("{} ×{n} from {from}", state.label())
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn count_of(s: &Summary, key: &str) -> u64 {
    s.devices
        .iter()
        .find(|c| c.key == key)
        .map_or(0, |c| c.count)
}

/// The page.
pub fn html(s: &Summary, title: &str) -> String {
    let mut b = String::with_capacity(64 * 1024);
    b.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    b.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">");
    b.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    b.push_str(&format!(
        "<title>{}</title><style>{STYLE}</style></head><body>",
        esc(title)
    ));
    b.push_str(&format!("<h1>{}</h1>", esc(title)));
    b.push_str(&format!(
        "<p class=\"meta\">As of {} · {} devices from {} documents in {} files · not heard from for {} days counts as stale</p>",
        esc(&s.as_of),
        s.inputs.devices,
        s.inputs.documents,
        s.inputs.files,
        s.stale_days
    ));
    let installs_total: u64 = s.installs.iter().map(|c| c.count).sum();
    b.push_str("<div class=\"tiles\">");
    for (label, n) in [
        ("devices", s.inputs.devices),
        ("installs", installs_total),
        ("still broken devices", count_of(s, "still-broken")),
        ("fixed devices", count_of(s, "fixed")),
        ("stale devices", s.stale.len() as u64),
        ("inputs with problems", s.inputs.problems),
    ] {
        b.push_str(&format!(
            "<div class=\"tile\"><b>{n}</b>{}</div>",
            esc(label)
        ));
    }
    b.push_str("</div>");
    b.push_str("<p class=\"legend\">");
    for (class, label) in [
        ("healthy", "healthy"),
        ("fixed", "fixed"),
        ("still_broken", "still broken"),
        ("skipped", "skipped"),
        ("no_conda", "no conda"),
        ("no_result", "no condafix result"),
    ] {
        b.push_str(&format!("<span><i class=\"{class}\"></i>{label}</span>"));
    }
    b.push_str("</p>");

    b.push_str("<h2 id=\"verdicts\">Verdicts</h2>");
    b.push_str(&counts_figure(
        "devices",
        "Devices by state",
        "state",
        &s.devices,
    ));
    b.push_str(&counts_figure(
        "installs",
        "Installs by verdict",
        "verdict",
        &s.installs,
    ));
    if !s.over_time.is_empty() {
        let days: Vec<(String, Vec<(u64, &'static str)>)> = s
            .over_time
            .iter()
            .map(|d| {
                (
                    d.day.clone(),
                    vec![
                        (d.healthy, "healthy"),
                        (d.fixed, "fixed"),
                        (d.still_broken, "still_broken"),
                        (d.skipped, "skipped"),
                        (d.no_conda, "no_conda"),
                        (d.no_result, "no_result"),
                    ],
                )
            })
            .collect();
        let rows: Vec<Vec<String>> = s
            .over_time
            .iter()
            .map(|d| {
                vec![
                    esc(&d.day),
                    d.healthy.to_string(),
                    d.fixed.to_string(),
                    d.still_broken.to_string(),
                    d.skipped.to_string(),
                    d.no_conda.to_string(),
                    d.no_result.to_string(),
                ]
            })
            .collect();
        b.push_str(&figure(
            "over-time",
            "Devices reporting per day (UTC), by state",
            columns(
                "chart-over-time",
                "Devices reporting per day, by state",
                &days,
            ),
            table(
                &[
                    "day",
                    "healthy",
                    "fixed",
                    "still broken",
                    "skipped",
                    "no conda",
                    "no result",
                ],
                &rows,
                1,
            ),
        ));
    }

    b.push_str("<h2 id=\"attention\">Still broken and skipped: what to do</h2>");
    if s.attention.is_empty() {
        b.push_str("<p>No device needs attention.</p>");
    } else {
        let rows: Vec<Vec<String>> = s
            .attention
            .iter()
            .take(LIST)
            .map(|a| {
                let installs: Vec<String> = a
                    .installs
                    .iter()
                    .map(|i| {
                        let word = i.said.clone().unwrap_or_else(|| i.verdict.label().into());
                        format!(
                            "{} <span class=\"muted\">({}{})</span>",
                            esc(i.prefix.as_deref().unwrap_or("(not named)")),
                            esc(&word),
                            if i.codes.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", esc(&i.codes.join(", ")))
                            }
                        )
                    })
                    .collect();
                let history = earlier(&a.history);
                vec![
                    esc(&a.host),
                    esc(a.state.label()),
                    installs.join("<br>"),
                    rich(&a.next_step),
                    esc(&a.time.as_deref().map_or_else(|| "?".into(), short_time)),
                    esc(&history),
                ]
            })
            .collect();
        b.push_str(&table(
            &[
                "device",
                "state",
                "installs",
                "next step",
                "reported",
                "earlier",
            ],
            &rows,
            usize::MAX,
        ));
        b.push_str(&more(s.attention.len()));
    }

    b.push_str("<h2 id=\"findings\">Findings by code</h2>");
    if s.findings.is_empty() {
        b.push_str("<p>No error or warning finding in the newest documents.</p>");
    } else {
        let bars_rows: Vec<Bar> = s
            .findings
            .iter()
            .map(|f| Bar {
                label: format!("{} {}", f.code, f.name),
                parts: vec![(
                    f.installs,
                    if f.severity == "error" {
                        "still_broken"
                    } else {
                        "skipped"
                    },
                )],
                value: format!("{} installs, {} devices", f.installs, f.devices),
            })
            .collect();
        let rows: Vec<Vec<String>> = s
            .findings
            .iter()
            .map(|f| {
                vec![
                    format!("<code>{}</code>", esc(&f.code)),
                    esc(&f.name),
                    esc(&f.severity),
                    rich(&f.meaning),
                    rich(&f.fix),
                    f.installs.to_string(),
                    f.devices.to_string(),
                ]
            })
            .collect();
        b.push_str(&figure(
            "findings",
            "Installs by finding code (errors in red, warnings in grey)",
            bars("chart-findings", "Installs by finding code", &bars_rows),
            table(
                &[
                    "code", "name", "severity", "meaning", "fix", "installs", "devices",
                ],
                &rows,
                5,
            ),
        ));
    }

    b.push_str("<h2 id=\"builds\">Builds</h2>");
    b.push_str(&breakdown_figure(
        "eras",
        "Installs by build era (A needs PATH; B finds Library\\bin itself; C is upstream)",
        "era",
        &s.eras,
    ));
    b.push_str(&breakdown_figure(
        "pythons",
        "Installs by Python version",
        "Python",
        &s.pythons,
    ));
    b.push_str(&breakdown_figure(
        "openssl",
        "Installs by OpenSSL version",
        "OpenSSL",
        &s.openssl,
    ));
    b.push_str(&breakdown_figure(
        "scopes",
        "Installs: Just Me or All Users",
        "scope",
        &s.scopes,
    ));
    b.push_str(&breakdown_figure(
        "versions",
        "Devices by condafix version (of their newest document)",
        "condafix",
        &s.condafix_versions,
    ));

    b.push_str(&format!(
        "<h2 id=\"stale\">Not heard from for {} days</h2>",
        s.stale_days
    ));
    if s.stale.is_empty() {
        b.push_str("<p>Every device reported within that time.</p>");
    } else {
        let rows: Vec<Vec<String>> = s
            .stale
            .iter()
            .take(LIST)
            .map(|d| {
                vec![
                    esc(&d.host),
                    esc(d
                        .last_heard
                        .as_deref()
                        .unwrap_or("never (no time in its documents)")),
                    esc(d.state.map_or("not judged", |s| s.label())),
                    d.days.map_or_else(|| "?".into(), |n| n.to_string()),
                ]
            })
            .collect();
        b.push_str(&table(
            &["device", "last heard", "last state", "days"],
            &rows,
            3,
        ));
        b.push_str(&more(s.stale.len()));
    }

    b.push_str("<h2 id=\"inputs\">Inputs</h2>");
    b.push_str(&format!(
        "<p>{} files, {} documents ({} older ones form the devices' history; {} judge no install), {} files of other kinds skipped in the folders given.</p>",
        s.inputs.files,
        s.inputs.documents,
        s.inputs.history,
        s.inputs.without_verdict,
        s.inputs.skipped_files
    ));
    if !s.inputs.paths.is_empty() {
        b.push_str("<p>Read from: ");
        b.push_str(
            &s.inputs
                .paths
                .iter()
                .map(|p| format!("<code>{}</code>", esc(p)))
                .collect::<Vec<_>>()
                .join(", "),
        );
        b.push_str("</p>");
    }
    if s.notes.is_empty() {
        b.push_str("<p>Every input was read.</p>");
    } else {
        let rows: Vec<Vec<String>> = s
            .notes
            .iter()
            .take(LIST)
            .map(|n| vec![esc(&n.file), esc(&n.kind), esc(&n.problem)])
            .collect();
        b.push_str(&table(&["input", "kind", "problem"], &rows, usize::MAX));
        b.push_str(&more(s.notes.len()));
    }
    b.push_str("<p class=\"muted\">Made by <code>condafix report</code>. The same numbers: <code>--json</code>, <code>--csv</code>; one event per install: <code>--ndjson</code>.</p>");
    b.push_str("</body></html>\n");
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_input_is_text() {
        assert_eq!(
            esc("<script>alert('x')</script>&\"\u{7}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;\u{fffd}"
        );
        assert_eq!(rich("run `a<b>`"), "run <code>a&lt;b&gt;</code>");
    }
}
