//! `condafix config --add-to-path` and `undo` against the real registry (Wine's in the Windows
//! lane; windows-latest with CONDAFIX_TEST_REAL_REGISTRY=1): whole-entry prepend in
//! HKCU\Environment\Path, REG_EXPAND_SZ kept, `%VAR%` entries untouched, a Path of the wrong
//! type left alone, undo restoring the exact bytes and type. A guard restores the real value.
#![cfg(windows)]

mod common;

use std::process::Command;

use common::windows::{raw_user_env, registry_tests_allowed, EnvValueGuard};

/// Both tests change the same value: one at a time.
static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn reg_add(kind: &str, data: &str) {
    let st = Command::new("reg")
        .args([
            "add",
            r"HKCU\Environment",
            "/v",
            "Path",
            "/t",
            kind,
            "/d",
            data,
            "/f",
        ])
        .status()
        .unwrap();
    assert!(st.success());
}

fn condafix(args: &[&str], prefix: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_condafix"))
        .args(args)
        .arg("--prefix")
        .arg(prefix)
        .output()
        .unwrap()
}

fn utf16(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
        .trim_end_matches('\0')
        .to_string()
}

#[test]
fn add_to_path_prepends_keeps_expand_sz_and_var_entries_and_undo_is_exact() {
    if !registry_tests_allowed() {
        eprintln!("did not run: it changes HKCU\\Environment; it runs under Wine, or with CONDAFIX_TEST_REAL_REGISTRY=1");
        return;
    }
    let _lock = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let _guard = EnvValueGuard::save("Path");
    let original = r"%CONDAFIX_SMOKE%\bin;C:\tools";
    reg_add("REG_EXPAND_SZ", original);
    let before = raw_user_env("Path").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = condafix_fixtures::scenarios::build(
        condafix_fixtures::scenarios::ScenarioName::Anaconda202410Py312DefaultMode,
        dir.path(),
    );
    let prefix = &s.prefixes[0];

    let out = condafix(&["config", "--add-to-path"], prefix);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = raw_user_env("Path").unwrap();
    assert_eq!(after.vtype, winreg::enums::RegType::REG_EXPAND_SZ);
    let text = utf16(&after.bytes);
    let p = prefix.display().to_string();
    assert!(text.starts_with(&format!("{p};{p}\\Library\\mingw-w64\\bin;{p}\\Library\\usr\\bin;{p}\\Library\\bin;{p}\\Scripts;")), "{text}");
    assert!(
        text.ends_with(original),
        "%VAR% entries stay unexpanded, in place: {text}"
    );

    let again = condafix(&["config", "--add-to-path"], prefix);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already first on PATH"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(raw_user_env("Path").unwrap(), after);

    let out = condafix(&["undo"], prefix);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = raw_user_env("Path").unwrap();
    assert_eq!(restored.vtype, before.vtype);
    assert_eq!(
        restored.bytes,
        before.bytes,
        "undo restores the exact bytes; undo said:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_path_of_the_wrong_type_is_left_alone() {
    if !registry_tests_allowed() {
        eprintln!("did not run: it changes HKCU\\Environment; it runs under Wine, or with CONDAFIX_TEST_REAL_REGISTRY=1");
        return;
    }
    let _lock = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let _guard = EnvValueGuard::save("Path");
    reg_add("REG_DWORD", "1");
    let before = raw_user_env("Path").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = condafix_fixtures::scenarios::build(
        condafix_fixtures::scenarios::ScenarioName::Anaconda202410Py312DefaultMode,
        dir.path(),
    );
    let out = condafix(&["config", "--add-to-path"], &s.prefixes[0]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("REG_DWORD"), "{stderr}");
    assert_eq!(raw_user_env("Path").unwrap(), before);
}
