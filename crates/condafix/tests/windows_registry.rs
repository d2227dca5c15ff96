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

/// A logged-off user's NTUSER.DAT, saved by Windows' own RegSaveKey into a profile folder whose
/// path is over 260 characters: a private copy (with backup semantics) is loaded under
/// `HKU\condafix-<pid>-<SID>`, read, unloaded and deleted, and the user's own file is not held
/// open after. A mount a killed run left behind is unloaded by the next run. An Entra ID SID in
/// ProfileList is a user whose profile is found.
#[test]
fn a_copy_of_a_profile_hive_is_loaded_read_unloaded_and_leftovers_are_cleaned() {
    use condafix_detect::registry::{Hive, Registry, PROFILE_LIST_KEY};
    use condafix_detect::users::{self, HiveAccess, HiveCopies, UserHive};
    if !(is_wine() || std::env::var_os("CONDAFIX_TEST_REAL_REGISTRY").is_some()) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut home = dir.path().to_path_buf();
    for i in 0..6 {
        home.push(format!("a-long-folder-name-to-pass-260-characters-{i:02}"));
    }
    home.push("jo.smith");
    assert!(home.as_os_str().len() > 260, "{}", home.display());
    std::fs::create_dir_all(&home).unwrap();
    // The hive, made as Windows makes them: RegSaveKey of a scratch key (SeBackupPrivilege).
    let scratch = r"Software\condafix-hive-test";
    let (key, _) = RegKey::predef(HKEY_CURRENT_USER)
        .create_subkey(format!(r"{scratch}\Environment"))
        .unwrap();
    key.set_value("PIP_CERT", &"C:\\corp.pem").unwrap();
    drop(key);
    let saved_at = dir.path().join("saved.DAT");
    let saved = save_hive(scratch, &saved_at);
    let _ = RegKey::predef(HKEY_CURRENT_USER).delete_subkey_all(scratch);
    assert_eq!(saved, 0, "RegSaveKey failed");
    std::fs::copy(&saved_at, home.join("NTUSER.DAT")).unwrap();

    // An Entra ID account in ProfileList, its folder the long one.
    let sid = "S-1-12-1-1111111111-2222222222-3333333333-4444444444";
    let list = RegKey::predef(winreg::enums::HKEY_LOCAL_MACHINE);
    let entry = format!(r"{PROFILE_LIST_KEY}\{sid}");
    let (k, _) = list.create_subkey(&entry).unwrap();
    k.set_value("ProfileImagePath", &home.display().to_string())
        .unwrap();
    drop(k);
    let reg = condafix_detect::SystemRegistry::new();
    let env = condafix_detect::ProcessEnv;
    let found = users::profiles(&env, &reg, None);
    let _ = list.delete_subkey_all(&entry);
    let profile = found
        .unwrap()
        .into_iter()
        .find(|p| p.sid == sid)
        .expect("the Entra ID profile is listed");
    assert_eq!(profile.name, "jo.smith");
    assert_eq!(profile.unusable, None);

    let copies_dir = dir.path().join("copies");
    std::fs::create_dir(&copies_dir).unwrap();
    let copies = std::rc::Rc::new(HiveCopies::in_folder(&copies_dir).unwrap());
    let hive = UserHive::open_in(&reg, &profile, copies.clone());
    assert_eq!(hive.access, HiveAccess::LoadedForRun);
    let mount = hive.root.clone().unwrap();
    assert_eq!(mount, format!("condafix-{}-{sid}", std::process::id()));
    let view = hive.view(&reg as &dyn Registry);
    assert_eq!(
        view.value(Hive::CurrentUser, "Environment", "PIP_CERT")
            .unwrap(),
        Some(condafix_detect::registry::RegValue::Sz(
            "C:\\corp.pem".into()
        ))
    );
    drop(view);
    hive.close().unwrap();
    assert_eq!(
        reg.value(Hive::Users, &format!(r"{mount}\Environment"), "PIP_CERT")
            .unwrap(),
        None,
        "unloaded"
    );
    assert_eq!(
        std::fs::read_dir(&copies_dir).unwrap().count(),
        0,
        "copy deleted"
    );
    // The user's own file was never loaded: it opens with no sharing at all, and moves.
    {
        use std::os::windows::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .share_mode(0)
            .open(home.join("NTUSER.DAT"))
            .expect("NTUSER.DAT is not held open");
    }

    // A killed run's mount: loaded under a process id that has ended.
    let mut child = Command::new("cmd").args(["/c", "exit"]).spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let left = format!("condafix-{dead}-{sid}");
    let copy = copies_dir.join(format!("{left}.DAT"));
    std::fs::copy(home.join("NTUSER.DAT"), &copy).unwrap();
    assert!(reg.load_hive(&left, &copy).unwrap());
    assert!(reg
        .subkeys(Hive::Users, "")
        .unwrap()
        .iter()
        .any(|k| k.eq_ignore_ascii_case(&left)));
    let notes = users::clean_leftovers(&reg, &copies);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("was unloaded"), "{notes:?}");
    assert!(!reg
        .subkeys(Hive::Users, "")
        .unwrap()
        .iter()
        .any(|k| k.eq_ignore_ascii_case(&left)));
    assert_eq!(
        std::fs::read_dir(&copies_dir).unwrap().count(),
        0,
        "its copy deleted"
    );
}

/// `RegSaveKey(HKCU\<key>, file)` with SeBackupPrivilege enabled: the Win32 error, 0 on success.
#[allow(unsafe_code)]
fn save_hive(key: &str, file: &std::path::Path) -> u32 {
    use std::os::windows::ffi::OsStrExt as _;
    use windows_sys::Win32::System::Registry::RegSaveKeyW;
    let path: Vec<u16> = file.as_os_str().encode_wide().chain(Some(0)).collect();
    let k = RegKey::predef(HKEY_CURRENT_USER)
        .open_subkey_with_flags(key, KEY_ALL_ACCESS)
        .unwrap();
    // SAFETY: `k` is an open key for the call; `path` is NUL-terminated and outlives it.
    condafix_actor::windows::privilege::with_privileges(&["SeBackupPrivilege"], || unsafe {
        RegSaveKeyW(k.raw_handle() as _, path.as_ptr(), std::ptr::null())
    })
    .unwrap_or(1314)
}
