//! Several condafix runs on one prefix at once (an Intune remediation, a user, a scheduled task):
//! the lock serializes them, so the receipt has one consistent history, the changes the runs
//! claim add up to what the receipt records, and `undo` restores the original tree exactly.

mod common;

use std::process::Stdio;

use common::{all_files, TestContext};
use condafix_fixtures::scenarios::{self, ScenarioName};

/// How many rounds of simultaneous runs (each on a fresh tree).
const ROUNDS: usize = 6;

#[test]
fn simultaneous_runs_keep_one_history_claim_only_their_changes_and_undo_restores_everything() {
    for round in 0..ROUNDS {
        let ctx = TestContext::new();
        let s = scenarios::build(
            ScenarioName::Stale11CopiesAfterOpenssl3,
            &ctx.path().join("machine"),
        );
        let prefix = s.prefixes[0].clone();
        let original = all_files(&prefix);
        let runs: Vec<(&str, Vec<&str>)> = vec![
            ("stage", vec!["--replace-foreign", "--json"]),
            ("undo", vec!["--json"]),
            (
                "post-install",
                vec!["--replace-foreign", "--no-verify", "--json"],
            ),
            ("stage", vec!["--replace-foreign", "--json"]),
            ("undo", vec!["--json"]),
            ("stage", vec!["--replace-foreign", "--json"]),
        ];
        let children: Vec<_> = runs
            .iter()
            .map(|(sub, extra)| {
                ctx.on(sub, &s)
                    .args(extra)
                    // Every step boundary takes a while: the runs overlap.
                    .env("CONDAFIX_STEP_DELAY_MS", "15")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut claimed = 0u64;
        for ((sub, _), child) in runs.iter().zip(children) {
            let out = child.wait_with_output().unwrap();
            let code = out.status.code().unwrap_or(-1);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                code == 0 || code == 1,
                "round {round}: {sub} exited {code}: {stderr}"
            );
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("round {round}: {sub}: {e}: {stderr}"));
            claimed += match *sub {
                "stage" => doc["prefixes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["applied"]["changes"].as_u64().unwrap_or(0))
                    .sum::<u64>(),
                "post-install" => doc["prefixes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["changes"].as_u64().unwrap())
                    .sum(),
                _ => doc["prefixes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["changes"].as_u64().unwrap_or(0))
                    .sum(),
            };
        }
        let receipt: serde_json::Value = serde_json::from_slice(
            &fs_err::read(prefix.join(".condafix").join("receipt.json")).unwrap(),
        )
        .unwrap();
        let history = receipt["history"].as_array().unwrap();
        let mut txns: Vec<&str> = history.iter().map(|h| h["txn"].as_str().unwrap()).collect();
        let n = txns.len();
        txns.sort();
        txns.dedup();
        assert_eq!(
            txns.len(),
            n,
            "round {round}: one history, unique transactions: {history:?}"
        );
        let recorded: u64 = history.iter().map(|h| h["changes"].as_u64().unwrap()).sum();
        assert_eq!(
            claimed, recorded,
            "round {round}: the runs claim exactly the changes the receipt records"
        );
        assert!(!prefix.join(".condafix").join("journal.json").exists());
        let r = common::run({
            let mut c = ctx.on("undo", &s);
            c.arg("--json");
            c
        });
        assert_eq!(r.code, 0, "{}", r.stderr);
        common::assert_same_tree(&original, &all_files(&prefix), "after the final undo");
    }
}
