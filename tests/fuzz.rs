//! The fuzz targets in a plain `cargo test`, the same answer on any machine: every committed
//! input (the minimized libFuzzer corpus and every input that ever crashed a target) replayed
//! through the targets' `run_*` functions, and every target for a bounded number of mutated
//! inputs from a fixed seed. Campaigns (`scripts/fuzz.sh`) run libFuzzer on the same functions.

use std::panic::AssertUnwindSafe;

use condafix_suite::fuzz::{committed, fuzz, fuzz_dir, targets, Budget};

/// Run `run` on `input`, returning the panic message if it panicked.
fn crash(run: fn(&[u8]), input: &[u8]) -> Option<String> {
    std::panic::catch_unwind(AssertUnwindSafe(|| run(input)))
        .err()
        .map(|p| condafix_suite::fuzz::engine::panic_text(&*p))
}

#[test]
fn every_committed_corpus_input_and_regression_passes_its_target() {
    let mut replayed = 0;
    let mut failures = Vec::new();
    for t in targets() {
        for (path, input) in committed(t.name) {
            replayed += 1;
            if let Some(msg) = crash(t.run, &input) {
                failures.push(format!("{}: {msg}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(replayed > 0, "no committed input was found");
}

#[test]
fn every_target_has_a_corpus_and_a_libfuzzer_target_and_nothing_else_does() {
    let names: Vec<&str> = targets().iter().map(|t| t.name).collect();
    let manifest = fs_err::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let registered = fs_err::read_to_string(src.join("fuzz.rs")).expect("src/fuzz.rs");
    let mut sources = String::new();
    for e in fs_err::read_dir(src.join("fuzz"))
        .expect("src/fuzz")
        .flatten()
    {
        sources.push_str(&fs_err::read_to_string(e.path()).expect("a source file"));
    }
    for name in &names {
        assert!(
            fuzz_dir().join("corpus").join(name).is_dir(),
            "{name}: no fuzz/corpus/{name}/"
        );
        let src = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let code = fs_err::read_to_string(&src).expect("a libFuzzer target per target");
        // CI does not build the libFuzzer crate (cargo-fuzz's sanitizer build costs minutes):
        // check here that it calls the function this target runs, which still exists.
        let run = registered
            .split("Target {")
            .find(|t| t.contains(&format!("name: \"{name}\",")))
            .and_then(|t| t.split("run: ").nth(1))
            .and_then(|r| r.split(',').next())
            .unwrap_or_else(|| panic!("{name}: its run function in src/fuzz.rs"));
        assert!(
            code.contains(&format!("condafix_suite::fuzz::{run}(data)")),
            "{name}: fuzz/fuzz_targets/{name}.rs calls {run}"
        );
        assert!(
            sources.contains(&format!("pub fn {run}(data: &[u8])")),
            "{name}: {run} is a pub fn in src/fuzz/"
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "{name}: a [[bin]] in fuzz/Cargo.toml"
        );
    }
    for kind in ["corpus", "regressions", "fuzz_targets"] {
        for e in fs_err::read_dir(fuzz_dir().join(kind))
            .expect(kind)
            .flatten()
        {
            let file = e.file_name().to_string_lossy().into_owned();
            if file == "README.md" {
                continue;
            }
            let name = file.strip_suffix(".rs").unwrap_or(&file);
            assert!(
                names.contains(&name),
                "fuzz/{kind}/{file} belongs to no target"
            );
        }
    }
}

#[test]
fn every_fuzz_target_survives_a_bounded_run() {
    for t in targets() {
        let budget = match t.name {
            n if n.starts_with("archive") => 300,
            "actor-walk" => 300,
            _ => 3000,
        };
        let o = fuzz(&t, Budget::Executions(budget), 0x5eed);
        assert_eq!(o.executions, budget, "{}: ran every input", t.name);
        assert!(
            o.crashes.is_empty(),
            "{}: {} crash(es), first: {} on {:?}",
            t.name,
            o.crashes.len(),
            o.crashes[0].1,
            String::from_utf8_lossy(&o.crashes[0].0)
        );
    }
}

#[test]
fn a_target_that_panics_is_reported_as_a_crash() {
    use condafix_suite::fuzz::Target;
    let t = Target {
        name: "always-panics-on-z",
        seeds: || vec![b"abc".to_vec()],
        run: |d| assert!(!d.contains(&b'z'), "found a z"),
    };
    let o = fuzz(&t, Budget::Executions(20_000), 1);
    assert!(
        !o.crashes.is_empty(),
        "mutations reach a z within 20,000 inputs"
    );
    assert!(o.crashes[0].1.contains("found a z"));
    // The replay reports a committed input that fails as a failure.
    assert_eq!(crash(t.run, b"xyz").as_deref(), Some("found a z"));
}

#[test]
fn a_seeded_run_is_the_same_run_every_time() {
    use condafix_suite::fuzz::Target;
    let t = Target {
        name: "no-such-target-so-no-corpus",
        seeds: || vec![b"Library/bin/x.dll".to_vec()],
        run: |d| assert!(!d.starts_with(b"..")),
    };
    let a = fuzz(&t, Budget::Executions(5000), 7);
    let b = fuzz(&t, Budget::Executions(5000), 7);
    assert_eq!(a.crashes, b.crashes);
    assert_eq!(a.executions, b.executions);
}
