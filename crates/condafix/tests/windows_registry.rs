//! Registry smoke test: `condafix.exe` reads the user `Path` from `HKCU\Environment` as stored
//! (a REG_EXPAND_SZ with a `%VAR%` entry, kept unexpanded in the report) and expands it for the
//! loader model. The value is set with `reg add`, as an admin would.
//!
//! It changes the real `HKCU\Environment\Path`, restored by a guard even on panic: it runs under
//! Wine (a scratch registry), and on real Windows only with CONDAFIX_TEST_REAL_REGISTRY=1.
#![cfg(windows)]

use std::process::Command;

use winreg::enums::{HKEY_CURRENT_USER, KEY_ALL_ACCESS};
use winreg::{RegKey, RegValue};

fn is_wine() -> bool {
    let sr = std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\windows".into());
    std::path::Path::new(&sr)
        .join("system32")
        .join("winecfg.exe")
        .is_file()
}

/// Restores `HKCU\Environment\Path` exactly (bytes and type), or deletes it if it was absent.
struct PathGuard(Option<RegValue>);

impl PathGuard {
    fn save() -> Self {
        let env = RegKey::predef(HKEY_CURRENT_USER)
            .open_subkey("Environment")
            .unwrap();
        Self(env.get_raw_value("Path").ok())
    }
}

impl Drop for PathGuard {
    fn drop(&mut self) {
        let env = RegKey::predef(HKEY_CURRENT_USER)
            .open_subkey_with_flags("Environment", KEY_ALL_ACCESS)
            .unwrap();
        match &self.0 {
            Some(v) => env.set_raw_value("Path", v).unwrap(),
            None => {
                let _ = env.delete_value("Path");
            }
        }
    }
}

#[test]
fn detect_reads_the_user_path_from_the_registry_unexpanded() {
    if !is_wine() && std::env::var_os("CONDAFIX_TEST_REAL_REGISTRY").is_none() {
        eprintln!("registry smoke test did not run: it runs under Wine, or with CONDAFIX_TEST_REAL_REGISTRY=1");
        return;
    }
    let _guard = PathGuard::save();
    let raw = r"%CONDAFIX_SMOKE%\bin;C:\tools";
    let status = Command::new("reg")
        .args([
            "add",
            r"HKCU\Environment",
            "/v",
            "Path",
            "/t",
            "REG_EXPAND_SZ",
            "/d",
            raw,
            "/f",
        ])
        .status()
        .expect("run reg.exe");
    assert!(status.success());

    let dir = tempfile::tempdir().unwrap();
    let s = condafix_fixtures::scenarios::build(
        condafix_fixtures::scenarios::ScenarioName::Anaconda202410Py312DefaultMode,
        dir.path(),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_condafix"))
        .args(["detect", "--json", "--prefix"])
        .arg(&s.prefixes[0])
        .env("CONDAFIX_SMOKE", r"C:\smoke")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let sources = v["search"]["path_sources"]
        .as_array()
        .expect("path_sources");
    let user = sources
        .iter()
        .find(|s| s["source"] == r"HKCU\Environment\Path")
        .unwrap_or_else(|| panic!("no user Path source in {sources:?}"));
    assert_eq!(user["value_type"], "REG_EXPAND_SZ");
    assert_eq!(user["raw"], raw, "the stored value, unexpanded");
    let path: Vec<String> = v["search"]["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    assert!(
        path.iter().any(|p| p == r"C:\smoke\bin"),
        "expanded for the loader model: {path:?}"
    );
    assert!(path.iter().any(|p| p == r"C:\tools"));
}

/// A user's NTUSER.DAT is loaded privately for the run (RegLoadAppKey), read through
/// `HKU\<mount>`, and unloaded after; ProfileList is enumerated from the real registry.
#[test]
fn a_profile_hive_file_is_loaded_read_and_unloaded_and_profiles_are_listed() {
    use condafix_detect::registry::{Hive, Registry};
    if !(is_wine() || std::env::var_os("CONDAFIX_TEST_REAL_REGISTRY").is_some()) {
        return;
    }
    // A hive file, made as Windows makes them: RegSaveKey of a scratch key (SeBackupPrivilege).
    let scratch = r"Software\condafix-hive-test";
    let (key, _) = RegKey::predef(HKEY_CURRENT_USER)
        .create_subkey(format!(r"{scratch}\Environment"))
        .unwrap();
    key.set_value("PIP_CERT", &"C:\\corp.pem").unwrap();
    drop(key);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("NTUSER.DAT");
    let saved = save_hive(scratch, &file);
    let _ = RegKey::predef(HKEY_CURRENT_USER).delete_subkey_all(scratch);
    assert_eq!(saved, 0, "RegSaveKey failed");
    let reg = condafix_detect::SystemRegistry::new();
    assert!(reg.load_hive("condafix-test-hive", &file).unwrap());
    assert_eq!(
        reg.value(Hive::Users, r"condafix-test-hive\Environment", "PIP_CERT")
            .unwrap(),
        Some(condafix_detect::registry::RegValue::Sz(
            "C:\\corp.pem".into()
        ))
    );
    reg.unload_hive("condafix-test-hive");
    assert_eq!(
        reg.value(Hive::Users, r"condafix-test-hive\Environment", "PIP_CERT")
            .unwrap(),
        None,
        "unloaded"
    );
    let env = condafix_detect::ProcessEnv;
    let profiles = condafix_detect::users::profiles(&env, &reg, None).unwrap();
    assert!(
        !profiles.is_empty(),
        "this machine's own user is in ProfileList"
    );
}

/// `RegSaveKey(HKCU\<key>, file)` with SeBackupPrivilege enabled: the Win32 error, 0 on success.
#[allow(unsafe_code)]
fn save_hive(key: &str, file: &std::path::Path) -> u32 {
    use std::os::windows::ffi::OsStrExt as _;
    use windows_sys::Win32::System::Registry::RegSaveKeyW;
    condafix_prefix::enable_privilege("SeBackupPrivilege");
    let path: Vec<u16> = file.as_os_str().encode_wide().chain(Some(0)).collect();
    let k = RegKey::predef(HKEY_CURRENT_USER)
        .open_subkey_with_flags(key, KEY_ALL_ACCESS)
        .unwrap();
    // SAFETY: `k` is an open key for the call; `path` is NUL-terminated and outlives it.
    unsafe { RegSaveKeyW(k.raw_handle() as _, path.as_ptr(), std::ptr::null()) }
}
