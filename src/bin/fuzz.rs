//! Run every fuzz target (or the ones named) for a fixed number of executions (`--executions`,
//! what CI runs: the same answer on any machine) or for a fixed time (`--seconds`, campaigns)
//! and print executions and crashes; crashing inputs are saved under
//! `target/fuzz-crashes/<target>/`. Exit 1 on any crash.
//!
//! `--write-seeds` writes every target's seeds into `fuzz/seeds/<target>/` instead, where
//! `scripts/fuzz.sh` starts libFuzzer's campaigns from (with the committed corpus).
//!
//! `cargo run --release -p condafix-suite --bin fuzz -- [--executions N | --seconds N] [--seed N] [--write-seeds] [TARGET]...`

use std::time::Duration;

use condafix_suite::fuzz::{fuzz, targets, Budget};

fn main() -> std::process::ExitCode {
    let mut budget = Budget::Executions(100_000);
    let mut seed = 0x00c0_ffee_u64;
    let mut only: Vec<String> = Vec::new();
    let mut write_seeds = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => {
                if let Some(s) = args.next().and_then(|v| v.parse().ok()) {
                    budget = Budget::Time(Duration::from_secs(s));
                }
            }
            "--executions" => {
                if let Some(n) = args.next().and_then(|v| v.parse().ok()) {
                    budget = Budget::Executions(n);
                }
            }
            "--write-seeds" => write_seeds = true,
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).unwrap_or(seed),
            other => only.push(other.to_string()),
        }
    }
    if write_seeds {
        for t in targets()
            .iter()
            .filter(|t| only.is_empty() || only.iter().any(|o| o == t.name))
        {
            let dir = condafix_suite::fuzz::fuzz_dir().join("seeds").join(t.name);
            fs_err::create_dir_all(&dir).expect("seeds folder");
            for (i, s) in (t.seeds)().iter().enumerate() {
                fs_err::write(dir.join(format!("seed-{i:02}")), s).expect("seed");
            }
        }
        return std::process::ExitCode::SUCCESS;
    }
    let out_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("fuzz-crashes");
    println!(
        "{:<18} {:>12} {:>10} {:>8}",
        "target", "executions", "per sec", "crashes"
    );
    let mut total_crashes = 0;
    for t in targets()
        .iter()
        .filter(|t| only.is_empty() || only.iter().any(|o| o == t.name))
    {
        let start = std::time::Instant::now();
        let o = fuzz(t, budget, seed);
        let rate = o.executions as f64 / start.elapsed().as_secs_f64().max(0.001);
        println!(
            "{:<18} {:>12} {:>10.0} {:>8}",
            t.name,
            o.executions,
            rate,
            o.crashes.len()
        );
        for (i, (input, msg)) in o.crashes.iter().enumerate() {
            let dir = out_dir.join(t.name);
            let _ = fs_err::create_dir_all(&dir);
            let file = dir.join(format!("crash-{i}.bin"));
            let _ = fs_err::write(&file, input);
            println!("  crash {i}: {msg} (input: {})", file.display());
        }
        total_crashes += o.crashes.len();
    }
    if total_crashes == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
