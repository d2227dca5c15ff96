//! `condafix.exe post-install` against a real loader (Wine's in the Windows lane): the loader
//! fixtures go from failing to working for both loader variants and the shadowing case, the real
//! (fixture) interpreter confirms it, a second run reports no change, and `undo` brings the
//! failure back.
#![cfg(windows)]

mod common;

use std::path::{Path, PathBuf};

use common::windows::{
    activation, base_path, condafix, fixtures, key, run_python, system_root, Real,
};
use condafix_fixtures::loader::{LoaderFixtures, LoaderVariant, LIBSSL};

fn post_install(prefix: &Path, path: &[PathBuf]) -> serde_json::Value {
    let out = condafix(&["post-install", "--json"], prefix, path);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    v
}

fn staged(prefix: &Path) -> Real {
    Real::Loaded {
        libssl: key(&prefix.join("DLLs").join(LIBSSL).display().to_string()),
    }
}

#[test]
fn post_install_fixes_the_altered_search_path_build_and_undo_brings_the_failure_back() {
    let Some(fx) = fixtures() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let prefix = scratch.path().join("anaconda3");
    fx.lay_out_prefix(&prefix, LoaderVariant::AlteredSearchPath);
    let path = base_path();
    assert_eq!(run_python(&prefix, &path), Real::ModuleNotFound);

    let v = post_install(&prefix, &path);
    let p = &v["prefixes"][0];
    assert_eq!(p["verdict"], "fixed", "{v}");
    assert_eq!(
        p["verify"]["unactivated"]["result"], "ok",
        "the real interpreter confirms it: {v}"
    );
    assert_eq!(p["prediction_confirmed"], true);
    assert_eq!(run_python(&prefix, &path), staged(&prefix));

    let again = post_install(&prefix, &path);
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(again["prefixes"][0]["verdict"], "healthy");

    let out = condafix(&["undo"], &prefix, &path);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        run_python(&prefix, &path),
        Real::ModuleNotFound,
        "undo brings the failure back"
    );
}

#[test]
fn post_install_leaves_a_default_mode_build_alone() {
    let Some(fx) = fixtures() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let prefix = scratch.path().join("anaconda3");
    fx.lay_out_prefix(&prefix, LoaderVariant::DefaultMode);
    let v = post_install(&prefix, &base_path());
    assert_eq!(v["prefixes"][0]["verdict"], "healthy", "{v}");
    assert_eq!(v["changed"], false);
    assert_eq!(v["prefixes"][0]["verify"]["unactivated"]["result"], "ok");
}

#[test]
fn post_install_beats_a_foreign_libssl_on_path() {
    let Some(fx) = fixtures() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let prefix = scratch.path().join("anaconda3");
    fx.lay_out_prefix(&prefix, LoaderVariant::AlteredSearchPath);
    let foreign = scratch.path().join("OpenSSL").join("bin");
    LoaderFixtures::copy_dlls(&fx.foreign_dlls(), &foreign);
    let mut path = base_path();
    path.push(foreign);
    path.extend(activation(&prefix));
    assert_ne!(run_python(&prefix, &path), staged(&prefix));
    let v = post_install(&prefix, &path);
    assert_eq!(v["prefixes"][0]["verdict"], "fixed", "{v}");
    assert_eq!(run_python(&prefix, &path), staged(&prefix));
    let out = condafix(&["undo"], &prefix, &path);
    assert_eq!(out.status.code(), Some(0));
    assert_ne!(run_python(&prefix, &path), staged(&prefix));
}

#[test]
fn elevated_condafix_does_not_run_a_user_owned_interpreter() {
    let Some(fx) = fixtures() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let prefix = scratch.path().join("anaconda3");
    fx.lay_out_prefix(&prefix, LoaderVariant::DefaultMode);
    // Elevated for real where the token is (Wine's is), else through the debug-build seam;
    // the prefix's ACL is read for real either way.
    let elevated = condafix_verify::rights::process_is_elevated();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_condafix"));
    cmd.args(["post-install", "--json", "--prefix"])
        .arg(&prefix)
        .arg("--system-root")
        .arg(system_root());
    if !elevated {
        cmd.env("CONDAFIX_ASSUME_ELEVATED", "1");
    }
    let out = cmd.output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let who = condafix_verify::rights::first_writable_by_others(&[prefix.clone()]);
    let verify = &v["prefixes"][0]["verify"];
    match who {
        Some(_) => {
            assert_eq!(verify["findings"][0]["code"], "V042", "{v}");
            assert_eq!(verify["unactivated"]["result"], "did-not-run");
            assert_eq!(
                v["prefixes"][0]["verdict"], "healthy",
                "the verdict rests on detect"
            );
        }
        None => assert_eq!(verify["unactivated"]["result"], "ok", "{v}"),
    }
}

/// As SYSTEM (through the debug-build seam; Wine's `WTSQueryUserToken` answers for its one
/// user), a prefix only one logged-on user may change is verified as that user:
/// `CreateProcessAsUserW` with their token, their environment block and desktop, the probe's
/// arguments quoted for Windows, and the real interpreter's answer read back through pipes.
#[test]
fn as_system_a_prefix_only_its_user_may_change_is_verified_as_that_user() {
    let Some(fx) = fixtures() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let prefix = scratch.path().join("anaconda3");
    fx.lay_out_prefix(&prefix, LoaderVariant::DefaultMode);
    let dirs = condafix_verify::rights::executed_from(&prefix, None);
    // As SYSTEM sees them (condafix runs with the SYSTEM seam; this test process does not).
    let writers = condafix_verify::rights::writers_besides(&dirs, None);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_condafix"));
    cmd.args(["post-install", "--json", "--prefix"])
        .arg(&prefix)
        .arg("--system-root")
        .arg(system_root())
        .env("CONDAFIX_ASSUME_ELEVATED", "1")
        .env("CONDAFIX_ASSUME_SYSTEM", "1");
    let out = cmd.output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let verify = &v["prefixes"][0]["verify"];
    let Some(user) = writers.sole_user() else {
        // More than one account may change it here: not run, and the finding says why.
        assert_eq!(verify["findings"][0]["code"], "V042", "{writers:?}: {v}");
        assert!(verify["run_as"].is_null());
        assert!(
            !common::windows::is_wine(),
            "under Wine the prefix is its one user's: {writers:?}"
        );
        return;
    };
    assert_eq!(verify["run_as"], user, "{v}");
    assert_eq!(verify["unactivated"]["result"], "ok", "{v}");
    assert_eq!(verify["activated"]["result"], "ok", "{v}");
    assert_eq!(
        verify["unactivated"]["openssl_version"], "OpenSSL fixture libcrypto 3.0.15",
        "the probe's answer came back through the pipes: {v}"
    );
    assert_eq!(v["prefixes"][0]["verdict"], "healthy", "{v}");
}
