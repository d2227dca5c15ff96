//! Benchmark: `audit --all` over a generated prefix of about 2 GB in 40,000 files, next to
//! `openssl dgst -sha256` over the same files in the same run (one process at a time: the
//! practical single-core limit, using the CPU's SHA instructions). Also: peak memory of the
//! audit, the share of the run spent parsing conda-meta, and what `verify` adds to the
//! interpreter's own start-up. Prints figures; asserts nothing about time.
//!
//! Size: CONDAFIX_BENCH_AUDIT_MB (default 2048) and CONDAFIX_BENCH_AUDIT_FILES (default 40000).
//! Run: `cargo bench --bench audit`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident memory of this process, from /proc (Linux).
fn peak_rss_kib() -> Option<u64> {
    let s = fs_err::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn child_audit(prefix: &Path) {
    let r = condafix_verify::audit::audit_prefix(prefix, true, &|_, _, _| {}).expect("audit");
    println!(
        "{} {} {} {} {}",
        r.files,
        r.bytes,
        r.parse_ms,
        r.hash_ms,
        peak_rss_kib().unwrap_or(0)
    );
}

fn generate(prefix: &Path, files: u64, total_mb: u64) -> Vec<String> {
    let per = (total_mb << 20) / files.max(1);
    let mut rels = Vec::new();
    let mut paths = Vec::new();
    let mut buf = vec![0u8; per as usize];
    for i in 0..files {
        let rel = format!("Lib/site-packages/pkg{:03}/mod{i:06}.bin", i % 500);
        let p = prefix.join(&rel);
        if i % 500 == i {
            fs_err::create_dir_all(p.parent().unwrap()).unwrap();
        }
        // Different bytes per file.
        for (j, b) in buf.iter_mut().enumerate().step_by(4096) {
            *b = (i as usize ^ j) as u8;
        }
        buf[0..8].copy_from_slice(&i.to_le_bytes());
        fs_err::write(&p, &buf).unwrap();
        let h = condafix_prefix::Sha256::of_bytes(&buf);
        paths.push(serde_json::json!({"_path": rel, "path_type": "hardlink", "sha256": h.to_hex(), "sha256_in_prefix": h.to_hex(), "size_in_bytes": per}));
        rels.push(rel);
    }
    let record = serde_json::json!({
        "name": "bigpkg", "version": "1.0", "build": "0", "files": rels, "paths_data": {"paths": paths, "paths_version": 1}
    });
    fs_err::create_dir_all(prefix.join("conda-meta")).unwrap();
    fs_err::write(
        prefix.join("conda-meta").join("bigpkg-1.0-0.json"),
        serde_json::to_vec(&record).unwrap(),
    )
    .unwrap();
    fs_err::write(prefix.join("conda-meta").join("history"), b"").unwrap();
    rels
}

fn openssl_dgst(prefix: &Path, rels: &[String]) -> Option<Duration> {
    // Batches through xargs so the argument list fits; one openssl at a time (-P1).
    let list = prefix.join("filelist0");
    let mut f = fs_err::File::create(&list).unwrap();
    for r in rels {
        f.write_all(r.as_bytes()).unwrap();
        f.write_all(b"\0").unwrap();
    }
    drop(f);
    let t = Instant::now();
    let ok = Command::new("sh")
        .arg("-c")
        .arg("xargs -0 -P1 openssl dgst -sha256 < filelist0 > /dev/null")
        .current_dir(prefix)
        .status()
        .ok()?
        .success();
    ok.then(|| t.elapsed())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child-audit") {
        child_audit(&PathBuf::from(&args[i + 1]));
        return;
    }
    let files = env_num("CONDAFIX_BENCH_AUDIT_FILES", 40_000);
    let mb = env_num("CONDAFIX_BENCH_AUDIT_MB", 2048);
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("big");
    let t = Instant::now();
    let rels = generate(&prefix, files, mb);
    eprintln!(
        "generated {files} files, {mb} MiB in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Warm the page cache the same way for both.
    let _ = openssl_dgst(&prefix, &rels);
    let dgst = openssl_dgst(&prefix, &rels);
    let t = Instant::now();
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("--child-audit")
        .arg(&prefix)
        .output()
        .unwrap();
    let audit_wall = t.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<u64> = text
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    let [nfiles, bytes, parse_ms, hash_ms, peak_kib] = nums[..] else {
        panic!(
            "child audit printed {text:?} / {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let mib = bytes as f64 / (1u64 << 20) as f64;
    let audit_tp = mib / audit_wall.as_secs_f64();
    println!(
        "audit --all: {nfiles} files, {mib:.0} MiB in {:.2} s = {audit_tp:.0} MiB/s; conda-meta parse {parse_ms} ms ({:.1}% of the run), hashing {hash_ms} ms; peak memory {:.1} MiB (target < 64 MiB)",
        audit_wall.as_secs_f64(),
        100.0 * parse_ms as f64 / audit_wall.as_millis().max(1) as f64,
        peak_kib as f64 / 1024.0
    );
    match dgst {
        Some(d) => {
            let tp = mib / d.as_secs_f64();
            println!(
                "openssl dgst -sha256 (one process at a time): {:.2} s = {tp:.0} MiB/s; audit is {:.2}x that (target >= 1.6x)",
                d.as_secs_f64(),
                audit_tp / tp
            );
        }
        None => println!("openssl dgst -sha256: not available here"),
    }
    verify_overhead(dir.path());
}

/// What `verify` adds to the interpreter's own start-up: `python -I -B -c <probe>` run directly,
/// against the same probe run through verify (two launches), medians of 5.
fn verify_overhead(dir: &Path) {
    let venv = dir.join("venv");
    if !Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success())
    {
        println!("verify overhead: no python3 here");
        return;
    }
    let python = venv.join("bin").join("python");
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let direct = median(
        (0..5)
            .map(|_| {
                let t = Instant::now();
                let _ = Command::new(&python)
                    .args(["-I", "-B", "-c", condafix_verify::PROBE])
                    .output();
                t.elapsed()
            })
            .collect(),
    );
    let env = condafix_detect::MapEnv::default();
    let reg = condafix_detect::registry::FakeRegistry::empty();
    let host = condafix_detect::HostInfo::new(&env, &reg, false);
    let report = condafix_detect::detect_with(
        &host,
        std::slice::from_ref(&venv),
        &condafix_detect::SearchContext::default(),
    )
    .unwrap();
    let opts = condafix_verify::VerifyOptions {
        online: None,
        timeout: Duration::from_secs(60),
        env: Vec::new(),
        cwd: std::env::temp_dir(),
        elevated: false,
    };
    let through = median(
        (0..5)
            .map(|_| {
                let t = Instant::now();
                let _ = condafix_verify::verify_prefix(&report.prefixes[0], &opts);
                t.elapsed()
            })
            .collect(),
    );
    let own = through.saturating_sub(direct * 2);
    println!(
        "verify: the probe alone {:.1} ms; verify (two launches) {:.1} ms; verify's own share {:.1} ms (target < 50 ms)",
        direct.as_secs_f64() * 1000.0,
        through.as_secs_f64() * 1000.0,
        own.as_secs_f64() * 1000.0
    );
}
