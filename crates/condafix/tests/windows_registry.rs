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
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, LUID};
    use windows_sys::Win32::Security::{
        AdjustTokenPrivileges, LookupPrivilegeValueW, LUID_AND_ATTRIBUTES, SE_PRIVILEGE_ENABLED,
        TOKEN_ADJUST_PRIVILEGES, TOKEN_PRIVILEGES, TOKEN_QUERY,
    };
    use windows_sys::Win32::System::Registry::RegSaveKeyW;
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};
    let privilege: Vec<u16> = "SeBackupPrivilege".encode_utf16().chain(Some(0)).collect();
    let path: Vec<u16> = file.as_os_str().encode_wide().chain(Some(0)).collect();
    let k = RegKey::predef(HKEY_CURRENT_USER)
        .open_subkey_with_flags(key, KEY_ALL_ACCESS)
        .unwrap();
    // SAFETY: handles checked and closed; strings NUL-terminated and alive across the calls.
    unsafe {
        let mut token: HANDLE = std::ptr::null_mut();
        if OpenProcessToken(
            GetCurrentProcess(),
            TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY,
            &mut token,
        ) != 0
        {
            let mut luid = LUID {
                LowPart: 0,
                HighPart: 0,
            };
            LookupPrivilegeValueW(std::ptr::null(), privilege.as_ptr(), &mut luid);
            let tp = TOKEN_PRIVILEGES {
                PrivilegeCount: 1,
                Privileges: [LUID_AND_ATTRIBUTES {
                    Luid: luid,
                    Attributes: SE_PRIVILEGE_ENABLED,
                }],
            };
            AdjustTokenPrivileges(token, 0, &tp, 0, std::ptr::null_mut(), std::ptr::null_mut());
            CloseHandle(token);
        }
        RegSaveKeyW(k.raw_handle() as _, path.as_ptr(), std::ptr::null())
    }
}

/// A second profile with its own hive file, found through the real ProfileList: `detect
/// --all-users` loads the hive for the run, finds the install under the profile, reads the
/// user's environment from it, and unloads it.
#[test]
fn a_second_profile_is_found_with_its_hive_loaded_for_the_run() {
    use condafix_fixtures::scenarios::{self, ScenarioName};
    if !(is_wine() || std::env::var_os("CONDAFIX_TEST_REAL_REGISTRY").is_some()) {
        return;
    }
    const SID: &str = "S-1-5-21-9-9-9-4242";
    let list = format!(r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\{SID}");
    struct Remove(String);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = RegKey::predef(winreg::enums::HKEY_LOCAL_MACHINE).delete_subkey_all(&self.0);
        }
    }
    let root = tempfile::tempdir().unwrap();
    let s = scenarios::build(ScenarioName::Anaconda202410Py312DefaultMode, root.path());
    let profile = s.prefixes[0].parent().unwrap().to_path_buf();
    // Her hive: a scratch key with PIP_TRUSTED_HOST in its Environment, saved as NTUSER.DAT.
    let scratch = r"Software\condafix-profile-test";
    let (key, _) = RegKey::predef(HKEY_CURRENT_USER)
        .create_subkey(format!(r"{scratch}\Environment"))
        .unwrap();
    key.set_value("PIP_TRUSTED_HOST", &"pypi.org").unwrap();
    drop(key);
    let saved = save_hive(scratch, &profile.join("NTUSER.DAT"));
    let _ = RegKey::predef(HKEY_CURRENT_USER).delete_subkey_all(scratch);
    assert_eq!(saved, 0, "RegSaveKey failed");
    let (entry, _) = RegKey::predef(winreg::enums::HKEY_LOCAL_MACHINE)
        .create_subkey(&list)
        .unwrap();
    let _remove = Remove(list.clone());
    entry
        .set_value("ProfileImagePath", &profile.display().to_string())
        .unwrap();
    drop(entry);
    let out = Command::new(env!("CARGO_BIN_EXE_condafix"))
        .args(["detect", "--all-users", "--json", "--system-root"])
        .arg(s.system_root())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let user = v["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["sid"] == SID)
        .unwrap_or_else(|| panic!("the second profile: {}", v["users"]));
    assert_eq!(user["hive"], "loaded-for-run", "{user}");
    assert!(
        user["config"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "T008"),
        "her PIP_TRUSTED_HOST, from her hive: {user}"
    );
    let name = user["name"].as_str().unwrap();
    assert!(
        v["prefixes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["user"] == name),
        "her install: {}",
        v["prefixes"]
    );
    let mounted = RegKey::predef(winreg::enums::HKEY_USERS)
        .enum_keys()
        .filter_map(Result::ok)
        .any(|k| k.contains(SID));
    assert!(!mounted, "the hive was unloaded");
}
