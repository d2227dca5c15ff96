//! Benchmark: `condafix report` over a share of 100,000 documents, as `--report-dir` fills
//! one: 20,000 devices, five days of post-install documents each (one a day; 1 to 3 installs
//! per device, every verdict, era and finding code), one file per document in a folder per
//! day. Generates them (not timed), then reads them all, summarises, and renders the page,
//! the CSV and the events, in this process, the way the command does; prints the time, the
//! documents per second, the share each phase took, and the peak memory of that run. Asserts
//! nothing about time. Run: `cargo bench --bench report` (target: under 10 s and under
//! 512 MiB on a 2-core machine). `CONDAFIX_BENCH_REPORT_DOCS` changes the count.

use std::path::Path;
use std::time::Instant;

use condafix_detect::redact::redact_credentials;
use condafix_detect::{Code, Severity};
use condafix_fixtures::fleet::{self, Vintage};
use condafix_report::{CodeInfo, Limits, ReadOptions, SummaryOptions};

/// Peak resident memory since the last reset, in KiB (Linux).
fn peak_kib() -> Option<u64> {
    let status = fs_err::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Reset the peak to the current resident size (Linux 4.0+), so that the figure is the
/// report's, not the generator's.
fn reset_peak() -> bool {
    fs_err::write("/proc/self/clear_refs", "5").is_ok()
}

fn codes(s: Severity) -> Vec<(String, String)> {
    Code::ALL
        .iter()
        .filter(|c| c.severity() == s)
        .map(|c| (c.to_string(), format!("the fix for {c}")))
        .collect()
}

fn generate(share: &Path, docs: usize) -> u64 {
    let days = 5usize;
    let devices = docs.div_ceil(days);
    let today = fleet::generated(
        devices,
        59,
        &codes(Severity::Error),
        &codes(Severity::Warning),
        42,
    );
    let mut bytes = 0u64;
    let mut written = 0usize;
    for back in 0..days {
        let day = if back == 0 {
            today.clone()
        } else {
            fleet::before(&today, back as u64)
        };
        let dir = share.join(format!("day-{back}"));
        fs_err::create_dir_all(&dir).expect("a folder");
        for d in &day {
            if written == docs {
                break;
            }
            let text =
                serde_json::to_string_pretty(&fleet::post_install_document(d, Vintage::Current))
                    .expect("JSON");
            bytes += text.len() as u64;
            let compact: String = d.time.chars().filter(|c| *c != '-' && *c != ':').collect();
            fs_err::write(dir.join(format!("{}-{compact}.json", d.host)), text).expect("a file");
            written += 1;
        }
    }
    bytes
}

fn main() {
    let docs: usize = std::env::var("CONDAFIX_BENCH_REPORT_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let share = dir.path().join("share");
    let started = Instant::now();
    let bytes = generate(&share, docs);
    println!(
        "report: {docs} documents ({:.0} MiB) generated in {:.1} s (not timed below)",
        bytes as f64 / (1 << 20) as f64,
        started.elapsed().as_secs_f64()
    );
    let catalog: Vec<CodeInfo> = Code::ALL
        .iter()
        .map(|c| CodeInfo {
            code: c.to_string(),
            name: c.name().into(),
            severity: format!("{:?}", c.severity()).to_lowercase(),
            meaning: String::new(),
            fix: "run condafix post-install".into(),
        })
        .collect();
    let redact = |s: &str| redact_credentials(s);
    let peak_reset = reset_peak();
    let t0 = Instant::now();
    let fleet = condafix_report::collect(
        std::slice::from_ref(&share),
        &ReadOptions {
            limits: Limits::default(),
            threads: 0,
            redact: &redact,
            progress: None,
        },
    )
    .expect("the share reads");
    let read = t0.elapsed();
    let t1 = Instant::now();
    let summary = condafix_report::summarize(
        &fleet,
        &SummaryOptions {
            as_of: "2025-03-02T00:00:00Z".parse().expect("a time"),
            stale_days: 14,
            catalog: &catalog,
            paths: vec![share.display().to_string()],
        },
    );
    let summarised = t1.elapsed();
    let t2 = Instant::now();
    let page = condafix_report::render::html::html(&summary, "bench");
    let csv = condafix_report::render::csv::csv(&summary);
    let json = serde_json::to_string_pretty(&summary).expect("JSON");
    let mut events = Vec::new();
    let n_events = condafix_report::write_ndjson(&fleet, &mut events).expect("events");
    let rendered = t2.elapsed();
    let total = t0.elapsed();
    let peak = peak_kib();
    assert_eq!(
        fleet.stats.documents as usize, docs,
        "every document was read"
    );
    println!(
        "report: {} documents, {} devices, {} cores: {:.2} s, {:.0} documents/s ({:.0} MiB/s)",
        fleet.stats.documents,
        fleet.devices.len(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        total.as_secs_f64(),
        docs as f64 / total.as_secs_f64(),
        bytes as f64 / (1 << 20) as f64 / total.as_secs_f64()
    );
    println!(
        "  read {:.2} s, summarise {:.2} s, render {:.2} s (page {} KiB, CSV {} KiB, JSON {} KiB, {} events)",
        read.as_secs_f64(),
        summarised.as_secs_f64(),
        rendered.as_secs_f64(),
        page.len() >> 10,
        csv.len() >> 10,
        json.len() >> 10,
        n_events
    );
    match (peak, peak_reset) {
        (Some(kib), true) => println!(
            "  peak memory of the report run: {:.1} MiB (target < 512 MiB; time target < 10 s)",
            kib as f64 / 1024.0
        ),
        (Some(kib), false) => println!(
            "  peak memory (generation included: the peak could not be reset): {:.1} MiB",
            kib as f64 / 1024.0
        ),
        (None, _) => println!("  peak memory: not available on this platform"),
    }
}
