//! Whatever the input, condafix stays small: a prefix whose DLL names, records, pip.ini,
//! .condarc and receipt are 2 GiB (sparse) files is run through every command, and the largest
//! resident set of any of those runs stays under 64 MiB (nothing is read whole; hashing streams
//! in fixed buffers). Linux only: it reads the children's peak RSS from `getrusage`. The only
//! test in this binary, so the only children are these runs.
#![cfg(target_os = "linux")]

mod common;

use common::{run, TestContext};
use condafix_fixtures::scenarios::{self, ScenarioName};

const GIB: u64 = 1 << 30;

fn sparse(path: &std::path::Path, len: u64) {
    if let Some(d) = path.parent() {
        fs_err::create_dir_all(d).unwrap();
    }
    fs_err::File::create(path).unwrap().set_len(len).unwrap();
}

/// The largest resident set of any child waited for so far, in bytes.
#[allow(unsafe_code)]
fn children_peak_rss() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it is given.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    assert_eq!(rc, 0);
    // SAFETY: initialised by the successful call above.
    let usage = unsafe { usage.assume_init() };
    usage.ru_maxrss as u64 * 1024
}

#[test]
fn every_command_stays_under_64_mib_on_a_prefix_of_2_gib_files() {
    let ctx = TestContext::new();
    let s = scenarios::build(
        ScenarioName::Anaconda201910Py37Unactivated,
        &ctx.path().join("machine"),
    );
    let p = &s.prefixes[0];
    for name in ["libssl-1_1-x64.dll", "libcrypto-1_1-x64.dll"] {
        sparse(&p.join("DLLs").join(name), 2 * GIB);
    }
    sparse(&p.join("libssl-3-x64.dll"), 2 * GIB);
    sparse(&p.join("pip.ini"), 2 * GIB);
    sparse(&p.join(".condarc"), 2 * GIB);
    sparse(&p.join("conda-meta").join("huge-1.0-0.json"), 2 * GIB);
    sparse(
        &ctx.path()
            .join("home")
            .join(".conda")
            .join("environments.txt"),
        2 * GIB,
    );
    let runs: &[(&str, &[&str])] = &[
        ("detect", &["--json"]),
        ("check", &[]),
        ("stage", &["--replace-foreign"]),
        ("config", &["--remove-insecure"]),
        ("post-install", &["--replace-foreign", "--no-verify"]),
        ("audit", &["--all"]),
        ("undo", &[]),
    ];
    for (sub, extra) in runs {
        let r = run({
            let mut c = ctx.on(sub, &s);
            c.args(*extra);
            c
        });
        assert!(r.code <= 2, "{sub}: {}", r.stderr);
    }
    // The receipt too: refused, not read.
    sparse(&p.join(".condafix").join("receipt.json"), 2 * GIB);
    let r = run(ctx.on("undo", &s));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("receipt.json"), "{}", r.stderr);
    let peak = children_peak_rss();
    eprintln!("largest resident set of any run: {} MiB", peak >> 20);
    assert!(peak < 64 << 20, "a run used {} MiB", peak >> 20);
}
