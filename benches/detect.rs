//! Benchmark: `detect` over an Anaconda-sized install (a base with 500 conda-meta records, one
//! of them a 2,000-file python record, plus 30 envs). Prints figures; asserts nothing about time.
//! Run: `cargo bench --bench detect` (target: under 50 ms for the whole machine).

use std::time::{Duration, Instant};

use condafix_detect::{detect, SearchContext};
use condafix_fixtures::scenarios::{anaconda_2019_10, anaconda_2024_10, system_path};
use condafix_fixtures::FakeMachine;

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = FakeMachine::new(dir.path());
    let mut base = anaconda_2024_10();
    base.filler_records = 495; // + python, openssl, ca-certificates = 498 records
    base.python_record_files = 2_000;
    let base_prefix = m.install("C:\\Users\\me\\anaconda3", &base);
    let mut prefixes = vec![base_prefix];
    for i in 0..30 {
        let mut env = if i % 2 == 0 {
            anaconda_2024_10()
        } else {
            anaconda_2019_10()
        };
        env.base = false;
        env.filler_records = 60;
        env.python_record_files = 2_000;
        prefixes.push(m.install(&format!("C:\\Users\\me\\anaconda3\\envs\\env{i:02}"), &env));
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
    let report = detect(&prefixes, &ctx).expect("detect");
    assert_eq!(report.prefixes.len(), 31);
    let runs = 30;
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let r = detect(&prefixes, &ctx).expect("detect");
            std::hint::black_box(r);
            t.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "detect: {} prefixes, {} conda-meta files; {} runs: min {:.2} ms, median {:.2} ms, max {:.2} ms (target < 50 ms)",
        prefixes.len(),
        records,
        runs,
        ms(times[0]),
        ms(times[runs / 2]),
        ms(times[runs - 1]),
    );
}
