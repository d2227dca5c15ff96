//! Benchmark: `detect` over an Anaconda-sized machine at real file sizes: a base with 500
//! conda-meta records (one a 2,000-file python record) and 30 envs, each with a ~4.5 MB
//! `python3X.dll`, a ~5 MB libcrypto and a ~0.8 MB libssl, hardlinked from one copy per build as
//! conda links them from its package cache. Prints the median, the share spent hashing and
//! scanning, the bytes read, and the peak memory of the measured runs; asserts nothing about
//! time. Run: `cargo bench --bench detect` (target: under 50 ms median, under 64 MiB peak).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use condafix_detect::{detect_offline_measured, SearchContext, Stats};
use condafix_fixtures::scenarios::{anaconda_2019_10, anaconda_2024_10, system_path};
use condafix_fixtures::{FakeMachine, OpenSslLib, PrefixSpec};

const PYTHON_DLL: usize = 4_500_000;
const LIBCRYPTO: usize = 5_000_000;
const LIBSSL: usize = 800_000;

/// A prefix spec at real sizes.
fn real_size(mut spec: PrefixSpec) -> PrefixSpec {
    spec.python = spec.python.map(|p| p.dll_size(PYTHON_DLL));
    spec.openssl = spec.openssl.map(|o| o.sized(LIBSSL, LIBCRYPTO));
    if let (Some(py), Some(ssl)) = (spec.python.as_mut(), spec.openssl.as_ref()) {
        *py = py.clone().linked_to(ssl);
    }
    spec
}

/// The large files of a prefix, prefix-relative.
fn large_files(spec: &PrefixSpec) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(py) = &spec.python {
        v.push(py.dll_name());
    }
    if let Some(ssl) = &spec.openssl {
        for lib in [OpenSslLib::Ssl, OpenSslLib::Crypto] {
            v.push(format!("Library/bin/{}", ssl.dll_name(lib)));
        }
    }
    v
}

/// Peak resident memory since the last reset, in KiB (Linux).
fn peak_kib() -> Option<u64> {
    let status = fs_err::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Reset the peak to the current resident size (Linux 4.0+), so that the figure is detect's.
fn reset_peak() -> bool {
    fs_err::write("/proc/self/clear_refs", "5").is_ok()
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = FakeMachine::new(dir.path());
    let mut base = real_size(anaconda_2024_10());
    base.filler_records = 495; // + python, openssl, ca-certificates = 498 records
    base.python_record_files = 2_000;
    let base_prefix = m.install("C:\\Users\\me\\anaconda3", &base);
    let mut prefixes = vec![base_prefix.clone()];
    // One copy per build, as in conda's package cache; every other env links to it.
    let mut first_2019: Option<PathBuf> = None;
    for i in 0..30 {
        let newer = i % 2 == 0;
        let mut env = real_size(if newer {
            anaconda_2024_10()
        } else {
            anaconda_2019_10()
        });
        env.base = false;
        env.filler_records = 60;
        env.python_record_files = 2_000;
        let p = m.install(&format!("C:\\Users\\me\\anaconda3\\envs\\env{i:02}"), &env);
        let source: &Path = if newer {
            &base_prefix
        } else {
            first_2019.get_or_insert_with(|| p.clone())
        };
        if source != p {
            m.hardlink_from(source, &p, &large_files(&env));
        }
        prefixes.push(p);
    }
    let records: usize = prefixes
        .iter()
        .map(|p| {
            fs_err::read_dir(p.join("conda-meta"))
                .map(|d| d.count())
                .unwrap_or(0)
        })
        .sum();
    let ctx = SearchContext {
        system_root: Some(m.windows_dir()),
        path: system_path(&m),
        cwd: None,
        dll_search_modification: None,
        path_sources: Vec::new(),
    };
    // Warm the page cache once, then measure.
    let (report, _) = detect_offline_measured(&prefixes, &ctx).expect("detect");
    assert_eq!(report.prefixes.len(), 31);
    assert_eq!(
        report.summary.needs_fix, 15,
        "the fifteen 2019.10 envs need a fix"
    );
    drop(report);
    let peak_reset = reset_peak();
    let runs: usize = std::env::var("CONDAFIX_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let mut samples: Vec<(Duration, Stats)> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let (r, stats) = detect_offline_measured(&prefixes, &ctx).expect("detect");
            std::hint::black_box(r);
            (t.elapsed(), stats)
        })
        .collect();
    let peak = peak_kib();
    samples.sort_by_key(|(d, _)| *d);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (median, stats) = samples[runs / 2];
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "detect: {} prefixes, {} conda-meta files, real sizes (python3X.dll {:.1} MB, libcrypto {:.1} MB, libssl {:.1} MB), hardlinked per build",
        prefixes.len(),
        records,
        PYTHON_DLL as f64 / 1e6,
        LIBCRYPTO as f64 / 1e6,
        LIBSSL as f64 / 1e6,
    );
    println!(
        "  {runs} runs: min {:.2} ms, median {:.2} ms, max {:.2} ms (target < 50 ms)",
        ms(samples[0].0),
        ms(median),
        ms(samples[runs - 1].0),
    );
    println!(
        "  median run: hashing {:.2} ms ({:.0}% of the run; {} files, {:.1} MiB), marker scan {:.2} ms ({:.0}%; {} files, {:.1} MiB)",
        ms(stats.hashing),
        100.0 * stats.hashing.as_secs_f64() / median.as_secs_f64(),
        stats.files_hashed,
        mib(stats.hashed_bytes),
        ms(stats.scanning),
        100.0 * stats.scanning.as_secs_f64() / median.as_secs_f64(),
        stats.files_scanned,
        mib(stats.scanned_bytes),
    );
    match (peak, peak_reset) {
        (Some(kib), true) => println!(
            "  peak memory during the measured runs: {:.1} MiB (target < 64 MiB)",
            kib as f64 / 1024.0
        ),
        (Some(kib), false) => println!(
            "  peak memory of the whole process (fixtures included): {:.1} MiB (target < 64 MiB)",
            kib as f64 / 1024.0
        ),
        _ => println!("  peak memory: not measured on this OS"),
    }
}
