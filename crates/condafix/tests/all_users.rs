//! Run as SYSTEM (or with --all-users), condafix works for every user: the profiles in
//! ProfileList, each user's hive (HKU\<SID> while they are logged on, else their NTUSER.DAT
//! loaded for the run and unloaded after), their installs, their config files and their user
//! environment. The registry is the file-backed stand-in (`CONDAFIX_FAKE_REGISTRY`); a fake
//! NTUSER.DAT is that registry's hive file. The Windows lane runs the same flow against Wine's
//! real registry (windows_registry.rs).

mod common;

use std::path::{Path, PathBuf};

use common::{run, TestContext};
use condafix_detect::registry::{
    FileRegistry, Hive, HiveFile, RegValue, Registry, RegistryWrite, ENV_FAKE_REGISTRY,
    PROFILE_LIST_KEY,
};
use condafix_fixtures::scenarios::{anaconda_2019_10, anaconda_2024_10, system_path};
use condafix_fixtures::FakeMachine;

const ALICE: &str = "S-1-5-21-1111-2222-3333-1001";
const BOB: &str = "S-1-5-21-1111-2222-3333-1002";

struct Lab {
    ctx: TestContext,
    m: FakeMachine,
    registry: PathBuf,
    alice: PathBuf,
    bob: PathBuf,
}

/// The user-scope pip file of a profile on this host's layout.
fn user_pip_file(profile: &Path) -> PathBuf {
    if cfg!(windows) {
        profile
            .join("AppData")
            .join("Roaming")
            .join("pip")
            .join("pip.ini")
    } else {
        profile.join(".config").join("pip").join("pip.conf")
    }
}

impl Lab {
    fn new() -> Self {
        let ctx = TestContext::new();
        let m = FakeMachine::new(&ctx.path().join("machine"));
        let alice = m.path("C:\\Users\\alice");
        let bob = m.path("C:\\Users\\bob");
        // alice: a Just Me Anaconda 2019.10 (needs staging) and a pip file that turns
        // certificate checks off; she is not logged on (her hive is a file).
        m.install("C:\\Users\\alice\\anaconda3", &anaconda_2019_10());
        fs_err::create_dir_all(user_pip_file(&alice).parent().unwrap()).unwrap();
        fs_err::write(
            user_pip_file(&alice),
            "[global]\ntrusted-host = pypi.org\ntimeout = 60\n",
        )
        .unwrap();
        let hive: HiveFile = vec![(
            "Environment".into(),
            "TEMP".into(),
            RegValue::ExpandSz("%USERPROFILE%\\AppData\\Local\\Temp".into()),
        )];
        fs_err::write(alice.join("NTUSER.DAT"), serde_json::to_vec(&hive).unwrap()).unwrap();
        // bob: a healthy Miniconda and PIP_TRUSTED_HOST in his user environment; he is
        // logged on (HKU\<SID>).
        m.install("C:\\Users\\bob\\miniconda3", &anaconda_2024_10());
        let registry = ctx.path().join("registry.json");
        let reg = FileRegistry::new(&registry);
        for (sid, dir) in [(ALICE, &alice), (BOB, &bob)] {
            reg.set_value(
                Hive::LocalMachine,
                &format!("{PROFILE_LIST_KEY}\\{sid}"),
                "ProfileImagePath",
                &RegValue::ExpandSz(dir.display().to_string()),
            )
            .unwrap();
        }
        reg.set_value(
            Hive::LocalMachine,
            &format!("{PROFILE_LIST_KEY}\\S-1-5-18"),
            "ProfileImagePath",
            &RegValue::ExpandSz(
                m.path("C:\\Windows\\system32\\config\\systemprofile")
                    .display()
                    .to_string(),
            ),
        )
        .unwrap();
        reg.set_value(
            Hive::Users,
            &format!("{BOB}\\Environment"),
            "PIP_TRUSTED_HOST",
            &RegValue::Sz("pypi.org".into()),
        )
        .unwrap();
        Lab {
            ctx,
            m,
            registry,
            alice,
            bob,
        }
    }

    fn cmd(&self, sub: &str, extra: &[&str]) -> common::Run {
        let mut c = self.ctx.command();
        c.arg(sub)
            .arg("--system-root")
            .arg(self.m.windows_dir())
            .arg("--search-path")
            .arg(
                system_path(&self.m)
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(";"),
            )
            .args(extra)
            .env(ENV_FAKE_REGISTRY, &self.registry);
        run(c)
    }

    fn reg(&self) -> FileRegistry {
        FileRegistry::new(&self.registry)
    }
}

#[test]
fn every_users_installs_and_settings_are_found_and_grouped_by_user() {
    let lab = Lab::new();
    let r = lab.cmd("detect", &["--all-users", "--json"]);
    assert_eq!(r.code, 1, "alice's install needs a fix: {}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let users: Vec<(&str, &str)> = v["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["name"].as_str().unwrap(), u["hive"].as_str().unwrap()))
        .collect();
    assert_eq!(
        users,
        [("alice", "loaded-for-run"), ("bob", "logged-on")],
        "SYSTEM's own profile is not a user"
    );
    let prefixes: Vec<(&str, &str)> = v["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["user"].as_str().unwrap(),
                p["prediction"]["unactivated"]["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(prefixes, [("alice", "fails"), ("bob", "ok")]);
    let codes = |i: usize| -> Vec<String> {
        v["users"][i]["config"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        codes(0).contains(&"T001".to_string()),
        "alice's pip file: {:?}",
        codes(0)
    );
    assert!(
        codes(1).contains(&"T008".to_string()),
        "bob's user environment: {:?}",
        codes(1)
    );
    // Her hive was loaded for the run and is unloaded again.
    assert!(lab
        .reg()
        .subkeys(Hive::Users, "")
        .unwrap()
        .iter()
        .all(|k| !k.contains("condafix-")));
    // --user narrows to one profile.
    let bob_only = lab.cmd("detect", &["--user", "bob", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&bob_only.stdout).unwrap();
    assert_eq!(v["prefixes"].as_array().unwrap().len(), 1);
    assert_eq!(v["prefixes"][0]["user"], "bob");
    // The report for people is grouped by user.
    let text = lab.cmd("detect", &["--all-users"]);
    let alice_at = text.stderr.find("== user alice").expect("alice's section");
    let bob_at = text.stderr.find("== user bob").expect("bob's section");
    let alice_prefix = text.stderr.find("alice/anaconda3").unwrap_or_else(|| {
        text.stderr
            .find("alice\\anaconda3")
            .expect("alice's install in the report")
    });
    assert!(
        alice_at < alice_prefix && alice_prefix < bob_at,
        "{}",
        text.stderr
    );
    // check names what is wrong and where.
    let check = lab.cmd("check", &["--all-users"]);
    assert_eq!(check.code, 1);
    assert!(check.stdout.contains("NOT COMPLIANT"), "{}", check.stdout);
    assert!(check.stdout.contains("alice"), "{}", check.stdout);
}

#[test]
fn post_install_fixes_each_users_install_and_settings_in_their_own_places_and_undo_restores_them() {
    let lab = Lab::new();
    let pip_before = fs_err::read(user_pip_file(&lab.alice)).unwrap();
    let hive_before = fs_err::read(lab.alice.join("NTUSER.DAT")).unwrap();
    let r = lab.cmd(
        "post-install",
        &["--all-users", "--remove-insecure", "--no-verify", "--json"],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // alice's install is staged, her own pip file loses trusted-host and keeps the rest.
    assert!(lab
        .alice
        .join("anaconda3")
        .join("DLLs")
        .join("libssl-1_1-x64.dll")
        .is_file());
    let pip = fs_err::read_to_string(user_pip_file(&lab.alice)).unwrap();
    assert!(!pip.contains("trusted-host"), "{pip}");
    assert!(pip.contains("timeout = 60"), "{pip}");
    // bob's variable goes from HKU\<his SID>, where undo can find it again.
    assert_eq!(
        lab.reg()
            .value(
                Hive::Users,
                &format!("{BOB}\\Environment"),
                "PIP_TRUSTED_HOST"
            )
            .unwrap(),
        None
    );
    // alice's hive was only read: the file is as it was, and nothing of it stays mounted.
    assert_eq!(
        fs_err::read(lab.alice.join("NTUSER.DAT")).unwrap(),
        hive_before
    );
    let check = lab.cmd("check", &["--all-users"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    // Nothing outside the two profiles' own places was written: SYSTEM's home has no pip file.
    assert!(!user_pip_file(&lab.ctx.path().join("home")).exists());

    let undo = lab.cmd("undo", &["--all-users", "--json"]);
    assert_eq!(undo.code, 0, "{}\n{}", undo.stdout, undo.stderr);
    assert_eq!(fs_err::read(user_pip_file(&lab.alice)).unwrap(), pip_before);
    assert_eq!(
        lab.reg()
            .value(
                Hive::Users,
                &format!("{BOB}\\Environment"),
                "PIP_TRUSTED_HOST"
            )
            .unwrap(),
        Some(RegValue::Sz("pypi.org".into()))
    );
    assert!(!lab
        .alice
        .join("anaconda3")
        .join("DLLs")
        .join("libssl-1_1-x64.dll")
        .exists());
    let _ = &lab.bob;
}
