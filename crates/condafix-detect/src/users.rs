//! Every user's installs, for a run with more rights than any one user (SYSTEM from Intune, an
//! administrator with `--all-users`): the profiles Windows lists in `ProfileList`, each user's
//! hive (`HKU\<SID>` when they are logged on, else their `NTUSER.DAT` loaded privately for the
//! run and unloaded after, on every path out), and what their programs see: their profile
//! folders, their user environment, their PEP 514 keys, their pip and conda config files.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::context::{expand_env_strings, EnvSource};
use crate::registry::{
    is_user_sid, Hive, LoadedHive, RegValue, Registry, RegistryError, UserView, PROFILE_LIST_KEY,
    USER_ENVIRONMENT_KEY,
};

/// A user profile Windows knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Profile {
    /// The account's SID (`S-1-5-21-...`).
    pub sid: String,
    /// The profile folder's name (the account name, as Windows made the folder).
    pub name: String,
    /// `C:\Users\<name>`.
    pub dir: String,
    #[serde(skip)]
    pub path: PathBuf,
}

/// How a user's settings were reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "hive", rename_all = "kebab-case")]
pub enum HiveAccess {
    /// The user is logged on: `HKU\<SID>`. Changes to it can be undone later.
    LoggedOn,
    /// `NTUSER.DAT` was loaded privately for this run and unloaded after: read, never written.
    LoadedForRun,
    /// Neither: the user's registry settings (user PATH, PEP 514 keys) were not read.
    Unavailable { why: String },
}

/// Every real user's profile whose folder exists, in ProfileList order; `only` narrows to the
/// profile of that name (case-insensitively).
pub fn profiles(
    env: &dyn EnvSource,
    registry: &dyn Registry,
    only: Option<&str>,
) -> Result<Vec<Profile>, RegistryError> {
    let mut out = Vec::new();
    for sid in registry.subkeys(Hive::LocalMachine, PROFILE_LIST_KEY)? {
        if !is_user_sid(&sid) {
            continue;
        }
        let sid = sid.to_ascii_uppercase();
        let key = format!("{PROFILE_LIST_KEY}\\{sid}");
        let dir = match registry.value(Hive::LocalMachine, &key, "ProfileImagePath")? {
            Some(RegValue::ExpandSz(s)) => expand_env_strings(&s, env),
            Some(RegValue::Sz(s)) => s,
            _ => continue,
        };
        let path = PathBuf::from(&dir);
        if !path.is_dir() || condafix_prefix::guard::is_link(&path) {
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| sid.clone());
        if only.is_some_and(|o| !o.eq_ignore_ascii_case(&name)) {
            continue;
        }
        out.push(Profile {
            sid,
            name,
            dir: crate::display_path(&path),
            path,
        });
    }
    Ok(out)
}

/// A user's hive, reached for the time of a run: `HKU\<SID>` when they are logged on, else
/// their `NTUSER.DAT` loaded under a private name (unloaded when this is dropped).
pub struct UserHive<'r> {
    pub access: HiveAccess,
    /// The `HKU` subkey that is this user's `HKCU` (`None`: unavailable).
    pub root: Option<String>,
    _loaded: Option<LoadedHive<'r>>,
}

impl<'r> UserHive<'r> {
    pub fn open(registry: &'r dyn Registry, profile: &Profile) -> Self {
        let logged_on = registry
            .subkeys(Hive::Users, "")
            .map(|keys| keys.iter().any(|k| k.eq_ignore_ascii_case(&profile.sid)))
            .unwrap_or(false)
            || registry
                .subkeys(Hive::Users, &profile.sid)
                .is_ok_and(|k| !k.is_empty());
        if logged_on {
            return UserHive {
                access: HiveAccess::LoggedOn,
                root: Some(profile.sid.clone()),
                _loaded: None,
            };
        }
        let mount = format!("condafix-{}", profile.sid);
        match LoadedHive::load(registry, &mount, &profile.path.join("NTUSER.DAT")) {
            Ok(Some(loaded)) => UserHive {
                access: HiveAccess::LoadedForRun,
                root: Some(mount),
                _loaded: Some(loaded),
            },
            Ok(None) => UserHive {
                access: HiveAccess::Unavailable {
                    why: "NTUSER.DAT could not be loaded".into(),
                },
                root: None,
                _loaded: None,
            },
            Err(e) => UserHive {
                access: HiveAccess::Unavailable {
                    why: format!("{e}: {}", e.source),
                },
                root: None,
                _loaded: None,
            },
        }
    }

    /// The registry as this user's programs see it (`HKCU` is theirs). Without their hive,
    /// `HKCU` reads as empty.
    pub fn view<R: Registry + ?Sized>(&self, registry: &'r R) -> UserView<'r, R> {
        UserView::new(registry, self.root.as_deref().unwrap_or("condafix-no-hive"))
    }
}

/// Variables every program on the machine gets, whoever runs it.
const MACHINE_VARS: [&str; 11] = [
    "SystemRoot",
    "windir",
    "SystemDrive",
    "ProgramData",
    "ALLUSERSPROFILE",
    "ProgramFiles",
    "ProgramFiles(x86)",
    "ProgramW6432",
    "CommonProgramFiles",
    "PUBLIC",
    "PATHEXT",
];

/// The environment a user's programs get: the machine's variables, the user's profile folders
/// and the variables of their user environment; nothing of this process's own (a SYSTEM run's
/// `CONDA_PREFIX` or `APPDATA` are not the user's).
pub struct UserEnv<'a> {
    base: &'a dyn EnvSource,
    vars: BTreeMap<String, OsString>,
}

impl<'a> UserEnv<'a> {
    pub fn new(base: &'a dyn EnvSource, profile: &Profile, registry: &dyn Registry) -> Self {
        let dir = &profile.path;
        let mut vars: BTreeMap<String, OsString> = BTreeMap::new();
        let mut put = |k: &str, v: &Path| {
            vars.insert(k.to_ascii_uppercase(), v.as_os_str().to_owned());
        };
        put("USERPROFILE", dir);
        put("HOME", dir);
        put("APPDATA", &dir.join("AppData").join("Roaming"));
        put("LOCALAPPDATA", &dir.join("AppData").join("Local"));
        vars.insert("USERNAME".into(), profile.name.clone().into());
        let mut env = UserEnv { base, vars };
        // The user's own variables (PIP_CERT, SSL_CERT_FILE...), as their programs get them.
        // `Path` is the machine's and theirs joined, which SearchContext reads itself.
        let names: Vec<String> = USER_ENV_NAMES.iter().map(|s| s.to_string()).collect();
        for name in names {
            let value = match registry.value(Hive::CurrentUser, USER_ENVIRONMENT_KEY, &name) {
                Ok(Some(RegValue::Sz(s))) => s,
                Ok(Some(RegValue::ExpandSz(s))) => expand_env_strings(&s, &env),
                _ => continue,
            };
            env.vars.insert(name.to_ascii_uppercase(), value.into());
        }
        env
    }
}

/// The user environment variables condafix reads for a user (the TLS ones and conda's).
const USER_ENV_NAMES: [&str; 9] = [
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "PIP_CERT",
    "PIP_TRUSTED_HOST",
    "PIP_CONFIG_FILE",
    "CONDARC",
    "CONDA_SSL_VERIFY",
];

impl EnvSource for UserEnv<'_> {
    fn var_os(&self, name: &str) -> Option<OsString> {
        if let Some(v) = self.vars.get(&name.to_ascii_uppercase()) {
            return Some(v.clone());
        }
        MACHINE_VARS
            .iter()
            .any(|m| m.eq_ignore_ascii_case(name))
            .then(|| self.base.var_os(name))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::FakeRegistry;
    use crate::MapEnv;

    #[test]
    fn only_real_accounts_with_an_existing_folder_are_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let alice = dir.path().join("alice");
        fs_err::create_dir(&alice).unwrap();
        let mut reg = FakeRegistry::default();
        let mut add = |sid: &str, path: &str| {
            reg.set(
                Hive::LocalMachine,
                &format!("{PROFILE_LIST_KEY}\\{sid}"),
                "ProfileImagePath",
                RegValue::ExpandSz(path.into()),
            )
        };
        add("S-1-5-21-1-2-3-1001", &alice.display().to_string());
        add("S-1-5-18", &dir.path().display().to_string());
        add(
            "S-1-5-21-1-2-3-1002",
            &dir.path().join("gone").display().to_string(),
        );
        add("S-1-5-21-1-2-3-x", &alice.display().to_string());
        let env = MapEnv::default();
        let p = profiles(&env, &reg, None).unwrap();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(
            (p[0].name.as_str(), p[0].sid.as_str()),
            ("alice", "S-1-5-21-1-2-3-1001")
        );
        assert!(profiles(&env, &reg, Some("ALICE")).unwrap().len() == 1);
        assert!(profiles(&env, &reg, Some("bob")).unwrap().is_empty());
    }

    #[test]
    fn a_hive_that_is_not_loaded_is_loaded_for_the_run_and_unloaded_after_even_on_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let profile = Profile {
            sid: "S-1-5-21-1-2-3-1001".into(),
            name: "alice".into(),
            dir: dir.path().display().to_string(),
            path: dir.path().to_path_buf(),
        };
        let hive: crate::registry::HiveFile = vec![(
            "Environment".into(),
            "PIP_CERT".into(),
            RegValue::Sz("C:\\corp.pem".into()),
        )];
        fs_err::write(
            dir.path().join("NTUSER.DAT"),
            serde_json::to_vec(&hive).unwrap(),
        )
        .unwrap();
        let reg = FakeRegistry::default();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let h = UserHive::open(&reg, &profile);
            assert_eq!(h.access, HiveAccess::LoadedForRun);
            let view = h.view(&reg as &dyn Registry);
            let env = MapEnv::default();
            let user = UserEnv::new(&env, &profile, &view);
            assert_eq!(
                user.var_os("pip_cert").unwrap(),
                OsString::from("C:\\corp.pem")
            );
            panic!("an error half-way");
        }));
        assert!(outcome.is_err());
        let calls = reg.calls.borrow().join("\n");
        assert!(
            calls.contains("load HKU\\condafix-S-1-5-21-1-2-3-1001"),
            "{calls}"
        );
        assert!(
            calls.contains("unload HKU\\condafix-S-1-5-21-1-2-3-1001"),
            "{calls}"
        );
        assert!(
            reg.subkeys(Hive::Users, "").unwrap().is_empty()
                || reg
                    .value(
                        Hive::Users,
                        "condafix-S-1-5-21-1-2-3-1001\\Environment",
                        "PIP_CERT"
                    )
                    .unwrap()
                    .is_none(),
            "nothing of the hive is left mounted"
        );
    }

    #[test]
    fn the_user_environment_is_theirs_not_this_processs() {
        let dir = tempfile::tempdir().unwrap();
        let profile = Profile {
            sid: "S-1-5-21-1-2-3-1001".into(),
            name: "alice".into(),
            dir: dir.path().display().to_string(),
            path: dir.path().to_path_buf(),
        };
        let mut base = MapEnv::default();
        base.0.insert("SystemRoot".into(), "C:\\Windows".into());
        base.0.insert(
            "APPDATA".into(),
            "C:\\Windows\\system32\\config\\systemprofile".into(),
        );
        base.0
            .insert("CONDA_PREFIX".into(), "C:\\system-conda".into());
        let reg = FakeRegistry::default();
        let env = UserEnv::new(&base, &profile, &reg);
        assert_eq!(
            env.var_os("SystemRoot").unwrap(),
            OsString::from("C:\\Windows")
        );
        assert_eq!(
            PathBuf::from(env.var_os("APPDATA").unwrap()),
            dir.path().join("AppData").join("Roaming")
        );
        assert!(env.var_os("CONDA_PREFIX").is_none());
    }
}
