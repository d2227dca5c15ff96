//! Every fuzz target for a bounded number of inputs (the seeds first): no panic, and the
//! properties hold. `scripts/fuzz.sh` runs them for a fixed time instead.

use condafix_suite::fuzz::{fuzz, targets, Budget};

#[test]
fn every_fuzz_target_survives_a_bounded_run() {
    for t in targets() {
        let budget = if t.name.starts_with("archive") {
            300
        } else {
            3000
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
}
