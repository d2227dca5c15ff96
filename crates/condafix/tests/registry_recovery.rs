//! A `config --add-to-path` killed at every step boundary: whichever command runs next
//! (`config`, `stage`, `undo`, `post-install`) recovers with the registry, so the user PATH is
//! exactly what it was (type and data) unless the killed run had already committed, and then
//! `undo` brings it back. The registry is one kept in a file (`CONDAFIX_FAKE_REGISTRY`) so that
//! the killed process and the next one share it; the real one is tested in the Windows lane.

mod common;

use std::path::Path;

use common::{run, TestContext};
use condafix_fixtures::scenarios::{self, ScenarioName};
use condafix_prefix::registry::{
    FileRegistry, Hive, RegValue, Registry, RegistryWrite, ENV_FAKE_REGISTRY, USER_ENVIRONMENT_KEY,
};

fn path_value(reg: &Path) -> Option<RegValue> {
    FileRegistry::new(reg)
        .value(Hive::CurrentUser, USER_ENVIRONMENT_KEY, "Path")
        .unwrap()
}

#[test]
fn a_killed_add_to_path_is_rolled_back_by_whichever_command_runs_next() {
    let original = RegValue::ExpandSz("%USERPROFILE%\\bin;C:\\tools".into());
    let mut killed_at_least_once = false;
    for next in [
        vec!["config"],
        vec!["stage"],
        vec!["undo"],
        vec!["post-install", "--no-verify"],
    ] {
        let mut step = 1;
        loop {
            let ctx = TestContext::new();
            let s = scenarios::build(
                ScenarioName::Anaconda202410Py312DefaultMode,
                &ctx.path().join("machine"),
            );
            let reg = ctx.path().join("registry.json");
            FileRegistry::new(&reg)
                .set_value(Hive::CurrentUser, USER_ENVIRONMENT_KEY, "Path", &original)
                .unwrap();
            let r = run({
                let mut c = ctx.on("config", &s);
                c.arg("--add-to-path")
                    .env(ENV_FAKE_REGISTRY, &reg)
                    .env("CONDAFIX_FAULT_AFTER_STEP", step.to_string());
                c
            });
            if r.code == 0 {
                assert!(
                    step > 3,
                    "config --add-to-path has several steps: {}",
                    r.stderr
                );
                assert!(killed_at_least_once);
                break;
            }
            killed_at_least_once = true;
            assert!(
                r.stderr
                    .contains(&format!("fault injected after step {step}")),
                "step {step}: {}",
                r.stderr
            );
            let prefix = &s.prefixes[0];
            // The user PATH is the user's: its change is in their own state folder.
            let committed = fs_err::read_to_string(ctx.user_state().join("receipt.json"))
                .is_ok_and(|t| t.contains("Path"));
            let r = run({
                let mut c = ctx.on(next[0], &s);
                c.args(&next[1..]).env(ENV_FAKE_REGISTRY, &reg);
                c
            });
            assert!(
                r.code == 0 || r.code == 1,
                "{next:?} after a kill at step {step}: {}",
                r.stderr
            );
            let now = path_value(&reg);
            if !committed || next[0] == "undo" {
                assert_eq!(
                    now,
                    Some(original.clone()),
                    "{next:?} after a kill at step {step} leaves PATH as it was"
                );
            }
            for state in [prefix.join(".condafix"), ctx.user_state()] {
                assert!(
                    !state.join("journal.json").exists(),
                    "{next:?} finished the interrupted run in {} (step {step})",
                    state.display()
                );
            }
            // Whatever was committed, undo restores the exact type and data.
            let r = run({
                let mut c = ctx.on("undo", &s);
                c.env(ENV_FAKE_REGISTRY, &reg);
                c
            });
            assert_eq!(r.code, 0, "{}", r.stderr);
            assert_eq!(
                path_value(&reg),
                Some(original.clone()),
                "after undo (step {step})"
            );
            step += 1;
        }
    }
}
