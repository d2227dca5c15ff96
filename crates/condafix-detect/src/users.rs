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
    /// The account's SID (`S-1-5-21-...`, `S-1-12-1-...` for Entra ID).
    pub sid: String,
    /// The profile folder's name (the account name, as Windows made the folder).
    pub name: String,
    /// `C:\Users\<name>`.
    pub dir: String,
    #[serde(skip)]
    pub path: PathBuf,
    /// Why this profile cannot be worked (its folder is missing, a link, a `.bak` duplicate
    /// key): a verdict for this user; the others are still worked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unusable: Option<String>,
}

/// How a user's settings were reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "hive", rename_all = "kebab-case")]
pub enum HiveAccess {
    /// The user is logged on: `HKU\<SID>`. Changes to it can be undone later.
    LoggedOn,
    /// A private copy of `NTUSER.DAT` (with its logs) was loaded for this run, read, unloaded
    /// and deleted: never written. Their registry is changed only in a run while they are
    /// logged on.
    LoadedForRun,
    /// Neither: the user's registry settings (user PATH, PEP 514 keys) were not read.
    Unavailable { why: String },
}

/// Every real user's profile in ProfileList order, those that cannot be worked with the reason
/// (see [`Profile::unusable`]); `only` narrows to the profile of that name
/// (case-insensitively).
pub fn profiles(
    env: &dyn EnvSource,
    registry: &dyn Registry,
    only: Option<&str>,
) -> Result<Vec<Profile>, RegistryError> {
    let mut out = Vec::new();
    for key_name in registry.subkeys(Hive::LocalMachine, PROFILE_LIST_KEY)? {
        // `<SID>.bak`: Windows renamed the profile's key after it failed to load it; the user
        // gets a temporary profile until the keys are put right.
        let (sid, bak) = match key_name.len().checked_sub(4).and_then(|i| {
            key_name
                .get(i..)
                .filter(|t| t.eq_ignore_ascii_case(".bak"))
                .map(|_| &key_name[..i])
        }) {
            Some(sid) => (sid, true),
            None => (key_name.as_str(), false),
        };
        if !is_user_sid(sid) {
            continue;
        }
        let sid = sid.to_ascii_uppercase();
        let key = format!("{PROFILE_LIST_KEY}\\{key_name}");
        let dir = match registry.value(Hive::LocalMachine, &key, "ProfileImagePath")? {
            Some(RegValue::ExpandSz(s)) => expand_env_strings(&s, env),
            Some(RegValue::Sz(s)) => s,
            _ => continue,
        };
        let path = PathBuf::from(&dir);
        let name = windows_file_name(&dir).unwrap_or_else(|| sid.clone());
        if only.is_some_and(|o| !o.eq_ignore_ascii_case(&name)) {
            continue;
        }
        let unusable = if bak {
            Some(format!(
                "ProfileList has a `{key_name}` key: Windows could not load this profile and signs {name} in with a temporary one; put the ProfileList keys right (Microsoft's \"You've been signed in with a temporary profile\"), then run condafix again"
            ))
        } else if condafix_prefix::guard::is_link(&path) {
            Some(format!(
                "the profile folder {dir} is a link (a roaming, FSLogix or UPD profile is attached only while the user is signed in): run condafix while {name} is signed in"
            ))
        } else if !path.is_dir() {
            Some(format!(
                "the profile folder {dir} is not there (a drive that is not attached, a profile attached only at sign-in, or a deleted profile)"
            ))
        } else {
            None
        };
        out.push(Profile {
            sid,
            name,
            dir: crate::display_path(&path),
            path,
            unusable,
        });
    }
    Ok(out)
}

/// The last component of a Windows or Unix path.
fn windows_file_name(dir: &str) -> Option<String> {
    dir.trim_end_matches(['\\', '/'])
        .rsplit(['\\', '/'])
        .next()
        .filter(|n| !n.is_empty() && !n.ends_with(':'))
        .map(str::to_string)
}

/// Where private copies of users' hives are made for a run: the machine state folder's
/// `hives` when condafix runs elevated (owner-only, condafix's own), else a new private temporary
/// folder.
pub struct HiveCopies {
    loc: condafix_actor::Location,
    _temp: Option<tempfile::TempDir>,
}

/// The prefix of the names condafix loads hives under (`condafix-<pid>-<SID>`) and gives their
/// copies: the process id tells whether the run that made one is over.
pub const MOUNT_PREFIX: &str = "condafix-";

/// The mount name and process id in `condafix-<pid>-<SID>`.
pub fn parse_mount(name: &str) -> Option<u32> {
    let rest = name
        .get(..MOUNT_PREFIX.len())
        .filter(|h| h.eq_ignore_ascii_case(MOUNT_PREFIX))
        .and_then(|_| name.get(MOUNT_PREFIX.len()..))?;
    let (pid, sid) = rest.split_once('-')?;
    let sid = sid.split('.').next().unwrap_or(sid);
    (!pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) && is_user_sid(sid))
        .then(|| pid.parse().ok())
        .flatten()
}

impl HiveCopies {
    /// The folder this process uses (see [`HiveCopies`]).
    pub fn for_process() -> Result<Self, condafix_actor::FsError> {
        if condafix_actor::process_is_elevated() {
            let state = condafix_actor::state::open_machine_state(
                &condafix_actor::state::process_machine_state_dir(),
                true,
            )?;
            let rel = condafix_actor::guard::RelPath::parse("hives").expect("a plain name");
            return Ok(Self {
                loc: state.subdir(&rel, Some(0o700))?,
                _temp: None,
            });
        }
        let temp = tempfile::Builder::new()
            .prefix("condafix-hives-")
            .tempdir()
            .map_err(|e| {
                condafix_actor::FsError::from_io(
                    &std::env::temp_dir(),
                    "create a folder in",
                    "condafix",
                    e,
                )
            })?;
        Self::in_folder(temp.path()).map(|c| Self {
            _temp: Some(temp),
            ..c
        })
    }

    /// Copies made in `dir` (a folder of condafix's own; tests).
    pub fn in_folder(dir: &Path) -> Result<Self, condafix_actor::FsError> {
        Ok(Self {
            loc: condafix_actor::Location::open(dir, condafix_actor::Identity::Process)?,
            _temp: None,
        })
    }

    fn rel(name: &str) -> Option<condafix_actor::guard::RelPath> {
        condafix_actor::guard::RelPath::parse(name).ok()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.loc.root().join(name)
    }

    /// Remove the copy files of `mount` (its `.DAT` and logs).
    fn remove(&self, mount: &str) {
        for ext in HIVE_FILES {
            if let Some(rel) = Self::rel(&format!("{mount}{}", ext.1)) {
                let _ = self
                    .loc
                    .remove(&rel, condafix_actor::RetryPolicy::default());
            }
        }
    }
}

/// A hive's files: `NTUSER.DAT` and its transaction logs, and the names their copies get after
/// the mount name (the logs must keep the hive file's name with `.LOG1`/`.LOG2` after it).
const HIVE_FILES: [(&str, &str); 3] = [
    ("NTUSER.DAT", ".DAT"),
    ("NTUSER.DAT.LOG1", ".DAT.LOG1"),
    ("NTUSER.DAT.LOG2", ".DAT.LOG2"),
];

/// What an earlier run left behind and this one put right (or could not), for the report.
pub fn clean_leftovers(registry: &dyn Registry, copies: &HiveCopies) -> Vec<String> {
    let own = std::process::id();
    let mut notes = Vec::new();
    let mut still_loaded = Vec::new();
    for name in registry.subkeys(Hive::Users, "").unwrap_or_default() {
        let Some(pid) = parse_mount(&name) else {
            continue;
        };
        if pid == own || condafix_actor::process_alive(pid) {
            continue;
        }
        match crate::registry::unload_with_retries(registry, &name) {
            Ok(()) => notes.push(format!(
                "HKU\\{name}: a user's hive copy left loaded by an earlier run (process {pid}, which has ended) was unloaded"
            )),
            Err(e) => {
                still_loaded.push(name.to_lowercase());
                notes.push(format!(
                    "HKU\\{name}: a user's hive copy left loaded by an earlier run (process {pid}) could not be unloaded: {}; restart Windows to release it",
                    e.source
                ))
            }
        }
    }
    for (name, _) in copies.loc.list(None).unwrap_or_default() {
        let mount = name.split('.').next().unwrap_or(&name).to_string();
        let Some(pid) = parse_mount(&mount) else {
            continue;
        };
        if pid == own
            || condafix_actor::process_alive(pid)
            || still_loaded.contains(&mount.to_lowercase())
        {
            continue;
        }
        if let Some(rel) = HiveCopies::rel(&name) {
            let _ = copies
                .loc
                .remove(&rel, condafix_actor::RetryPolicy::default());
        }
    }
    notes
}

/// A user's hive, reached for the time of a run: `HKU\<SID>` when they are logged on, else a
/// private copy of their `NTUSER.DAT` loaded under `condafix-<pid>-<SID>`, unloaded and deleted
/// by [`UserHive::close`] (or when this is dropped).
pub struct UserHive<'r> {
    pub access: HiveAccess,
    /// The `HKU` subkey that is this user's `HKCU` (`None`: unavailable).
    pub root: Option<String>,
    loaded: Option<LoadedHive<'r>>,
    copies: Option<std::rc::Rc<HiveCopies>>,
}

/// Whether `sid` is signed in now (their hive is live as `HKU\<SID>`).
pub fn is_logged_on(registry: &dyn Registry, sid: &str) -> bool {
    registry
        .subkeys(Hive::Users, "")
        .map(|keys| keys.iter().any(|k| k.eq_ignore_ascii_case(sid)))
        .unwrap_or(false)
        || registry
            .subkeys(Hive::Users, sid)
            .is_ok_and(|k| !k.is_empty())
}

impl<'r> UserHive<'r> {
    /// Open with copies in this process's folder (see [`HiveCopies::for_process`]).
    pub fn open(registry: &'r dyn Registry, profile: &Profile) -> Self {
        let copies = match HiveCopies::for_process() {
            Ok(c) => std::rc::Rc::new(c),
            Err(e) => {
                if is_logged_on(registry, &profile.sid) {
                    return Self::logged_on(profile);
                }
                return Self::unavailable(format!(
                    "no private folder for a copy of their NTUSER.DAT: {e}"
                ));
            }
        };
        Self::open_in(registry, profile, copies)
    }

    fn logged_on(profile: &Profile) -> Self {
        UserHive {
            access: HiveAccess::LoggedOn,
            root: Some(profile.sid.clone()),
            loaded: None,
            copies: None,
        }
    }

    fn unavailable(why: String) -> Self {
        UserHive {
            access: HiveAccess::Unavailable { why },
            root: None,
            loaded: None,
            copies: None,
        }
    }

    /// Open with copies made in `copies`.
    pub fn open_in(
        registry: &'r dyn Registry,
        profile: &Profile,
        copies: std::rc::Rc<HiveCopies>,
    ) -> Self {
        if let Some(why) = &profile.unusable {
            return Self::unavailable(why.clone());
        }
        if is_logged_on(registry, &profile.sid) {
            return Self::logged_on(profile);
        }
        let mount = format!("{MOUNT_PREFIX}{}-{}", std::process::id(), profile.sid);
        // The copy: the hive and its logs, read as a backup program does (never through a
        // link), into condafix's own folder. The user's own file is never loaded, so it is
        // never locked: they can sign in at any moment.
        for (i, (file, ext)) in HIVE_FILES.iter().enumerate() {
            let from = profile.path.join(file);
            if i > 0 && !from.exists() {
                continue;
            }
            let Some(rel) = HiveCopies::rel(&format!("{mount}{ext}")) else {
                return Self::unavailable(format!("{mount}: not a file name"));
            };
            if let Err(e) = condafix_actor::copy_private(&from, &copies.loc, &rel) {
                copies.remove(&mount);
                return Self::unavailable(format!(
                    "a copy of {} could not be made: {e} (a hive in use by a service, or a profile folder condafix may not read)",
                    from.display()
                ));
            }
        }
        // They may have signed in while the copy was made: their live hive wins.
        if is_logged_on(registry, &profile.sid) {
            copies.remove(&mount);
            return Self::logged_on(profile);
        }
        let copy = copies.path(&format!("{mount}.DAT"));
        match LoadedHive::load(registry, &mount, &copy) {
            Ok(Some(loaded)) => UserHive {
                access: HiveAccess::LoadedForRun,
                root: Some(mount),
                loaded: Some(loaded),
                copies: Some(copies),
            },
            Ok(None) => {
                copies.remove(&mount);
                Self::unavailable("their NTUSER.DAT could not be loaded".into())
            }
            Err(e) => {
                copies.remove(&mount);
                Self::unavailable(format!("{e}: {}", e.source))
            }
        }
    }

    /// The registry as this user's programs see it (`HKCU` is theirs). Without their hive,
    /// `HKCU` reads as empty.
    pub fn view<R: Registry + ?Sized>(&self, registry: &'r R) -> UserView<'r, R> {
        UserView::new(registry, self.root.as_deref().unwrap_or("condafix-no-hive"))
    }

    /// Unload the copy and delete it; an error names the hive left loaded (its copy stays, and
    /// the next run unloads and deletes both).
    pub fn close(mut self) -> Result<(), String> {
        let Some(loaded) = self.loaded.take() else {
            return Ok(());
        };
        let mount = loaded.mount().to_string();
        match loaded.unload() {
            Ok(()) => {
                if let Some(c) = self.copies.take() {
                    c.remove(&mount);
                }
                Ok(())
            }
            Err(e) => Err(format!(
                "HKU\\{mount} (a copy of their NTUSER.DAT) could not be unloaded: {}; the next run of condafix unloads it",
                e.source
            )),
        }
    }
}

impl Drop for UserHive<'_> {
    fn drop(&mut self) {
        if let Some(loaded) = self.loaded.take() {
            let mount = loaded.mount().to_string();
            if loaded.unload().is_ok() {
                if let Some(c) = self.copies.take() {
                    c.remove(&mount);
                }
            }
        }
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
    /// What the user's own folders came to, when something is off (a redirected folder that
    /// cannot be reached): a verdict for this user.
    pub notes: Vec<String>,
}

/// Where Explorer keeps a user's folders, `%USERPROFILE%`-relative or redirected (Folder
/// Redirection, often to a share).
pub const USER_SHELL_FOLDERS_KEY: &str =
    r"Software\Microsoft\Windows\CurrentVersion\Explorer\User Shell Folders";

/// The variables set from `User Shell Folders`, and their value names there.
const SHELL_FOLDER_VARS: [(&str, &str); 2] =
    [("APPDATA", "AppData"), ("LOCALAPPDATA", "Local AppData")];

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
        let mut env = UserEnv {
            base,
            vars,
            notes: Vec::new(),
        };
        // Their folders as Explorer gives them to their programs: a redirected AppData (often
        // a share) is where their pip.ini is.
        for (var, value_name) in SHELL_FOLDER_VARS {
            let value = match registry.value(Hive::CurrentUser, USER_SHELL_FOLDERS_KEY, value_name)
            {
                Ok(Some(RegValue::Sz(s))) => s,
                Ok(Some(RegValue::ExpandSz(s))) => expand_env_strings(&s, &env),
                _ => continue,
            };
            if value.is_empty() || value.contains('%') {
                continue;
            }
            if !Path::new(&value).is_dir() {
                env.notes.push(format!(
                    "{var} is redirected to {value}, which cannot be reached from here: their config files there were not read (run condafix while they are signed in, or as them)"
                ));
            }
            env.vars.insert(var.into(), value.into());
        }
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
    use std::rc::Rc;

    fn add_profile(reg: &mut FakeRegistry, key: &str, path: &Path) {
        reg.set(
            Hive::LocalMachine,
            &format!("{PROFILE_LIST_KEY}\\{key}"),
            "ProfileImagePath",
            RegValue::ExpandSz(path.display().to_string()),
        )
    }

    #[test]
    fn users_are_local_domain_and_entra_accounts_and_odd_profiles_are_verdicts() {
        let dir = tempfile::tempdir().unwrap();
        let alice = dir.path().join("alice");
        let entra = dir.path().join("jo.smith");
        fs_err::create_dir(&alice).unwrap();
        fs_err::create_dir(&entra).unwrap();
        let mut reg = FakeRegistry::default();
        add_profile(&mut reg, "S-1-5-21-1-2-3-1001", &alice);
        add_profile(&mut reg, "S-1-12-1-111-222-333-444", &entra);
        add_profile(&mut reg, "S-1-5-18", dir.path());
        add_profile(&mut reg, "S-1-5-21-1-2-3-x", &alice);
        add_profile(&mut reg, "S-1-5-21-1-2-3-1002", &dir.path().join("gone"));
        add_profile(&mut reg, "S-1-5-21-1-2-3-1003.bak", &alice);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&alice, dir.path().join("roaming")).unwrap();
            add_profile(&mut reg, "S-1-5-21-1-2-3-1004", &dir.path().join("roaming"));
        }
        let env = MapEnv::default();
        let p = profiles(&env, &reg, None).unwrap();
        let by_sid = |sid: &str| p.iter().find(|p| p.sid == sid).unwrap();
        assert_eq!(by_sid("S-1-5-21-1-2-3-1001").unusable, None);
        assert_eq!(by_sid("S-1-5-21-1-2-3-1001").name, "alice");
        // Entra ID (most Intune PCs) is a user like any other.
        assert_eq!(by_sid("S-1-12-1-111-222-333-444").unusable, None);
        assert_eq!(by_sid("S-1-12-1-111-222-333-444").name, "jo.smith");
        assert!(p.iter().all(|p| p.sid != "S-1-5-18"), "{p:?}");
        assert!(p.iter().all(|p| !p.sid.ends_with("-X")), "{p:?}");
        let gone = by_sid("S-1-5-21-1-2-3-1002").unusable.clone().unwrap();
        assert!(gone.contains("is not there"), "{gone}");
        let bak = by_sid("S-1-5-21-1-2-3-1003").unusable.clone().unwrap();
        assert!(bak.contains(".bak") && bak.contains("temporary"), "{bak}");
        #[cfg(unix)]
        assert!(by_sid("S-1-5-21-1-2-3-1004")
            .unusable
            .as_deref()
            .unwrap()
            .contains("is a link"));
        assert_eq!(profiles(&env, &reg, Some("ALICE")).unwrap().len(), 2); // and its .bak
        assert!(profiles(&env, &reg, Some("bob")).unwrap().is_empty());
    }

    #[test]
    fn mount_names_carry_the_process_and_only_they_are_ours() {
        assert_eq!(parse_mount("condafix-4242-S-1-5-21-1-2-3-1001"), Some(4242));
        assert_eq!(parse_mount("CONDAFIX-7-s-1-12-1-1-2-3-4"), Some(7));
        assert_eq!(
            parse_mount("condafix-7-S-1-5-21-1-2-3-1001.DAT.LOG1"),
            Some(7)
        );
        for other in [
            "S-1-5-21-1-2-3-1001",
            "condafix-S-1-5-21-1-2-3-1001",
            "condafix--S-1-5-21-1-2-3-1001",
            "condafix-12a-S-1-5-21-1-2-3-1001",
            "condafix-12-S-1-5-18",
            "condafix-99999999999999999999-S-1-5-21-1-2-3-1001",
            ".DEFAULT",
        ] {
            assert_eq!(parse_mount(other), None, "{other}");
        }
    }

    fn alice_with_hive(dir: &Path) -> Profile {
        let home = dir.join("alice");
        fs_err::create_dir_all(&home).unwrap();
        let hive: crate::registry::HiveFile = vec![(
            "Environment".into(),
            "PIP_CERT".into(),
            RegValue::Sz("C:\\corp.pem".into()),
        )];
        fs_err::write(home.join("NTUSER.DAT"), serde_json::to_vec(&hive).unwrap()).unwrap();
        fs_err::write(home.join("NTUSER.DAT.LOG1"), b"log").unwrap();
        Profile {
            sid: "S-1-5-21-1-2-3-1001".into(),
            name: "alice".into(),
            dir: home.display().to_string(),
            path: home,
            unusable: None,
        }
    }

    fn copies_in(dir: &Path) -> Rc<HiveCopies> {
        let c = dir.join("copies");
        fs_err::create_dir_all(&c).unwrap();
        Rc::new(HiveCopies::in_folder(&c).unwrap())
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs_err::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_logged_off_users_hive_is_read_from_a_private_copy_never_from_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let profile = alice_with_hive(dir.path());
        let original = fs_err::read(profile.path.join("NTUSER.DAT")).unwrap();
        let copies = copies_in(dir.path());
        let reg = FakeRegistry::default();
        let mount = format!("condafix-{}-S-1-5-21-1-2-3-1001", std::process::id());
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let h = UserHive::open_in(&reg, &profile, copies.clone());
            assert_eq!(h.access, HiveAccess::LoadedForRun);
            assert_eq!(h.root.as_deref(), Some(mount.as_str()));
            // The hive and its log were copied under the mount's name.
            assert_eq!(
                names_in(&dir.path().join("copies")),
                vec![format!("{mount}.DAT"), format!("{mount}.DAT.LOG1")]
            );
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
        let copy = dir.path().join("copies").join(format!("{mount}.DAT"));
        assert!(
            calls.contains(&format!("load HKU\\{mount} from {}", copy.display())),
            "the copy is loaded, not the user's file: {calls}"
        );
        assert!(calls.contains(&format!("unload HKU\\{mount}")), "{calls}");
        assert!(!calls.contains("NTUSER.DAT"), "{calls}");
        assert!(
            names_in(&dir.path().join("copies")).is_empty(),
            "the copy is deleted after the unload"
        );
        assert!(reg.subkeys(Hive::Users, "").unwrap().is_empty());
        assert_eq!(
            fs_err::read(profile.path.join("NTUSER.DAT")).unwrap(),
            original
        );
    }

    #[test]
    fn an_unload_is_retried_and_one_that_keeps_failing_is_reported_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let profile = alice_with_hive(dir.path());
        let copies = copies_in(dir.path());
        let reg = FakeRegistry::default();
        // Refused twice (a scanner holding a handle for a moment), then it works.
        reg.refuse_unloads.set(2);
        let h = UserHive::open_in(&reg, &profile, copies.clone());
        assert_eq!(h.close(), Ok(()));
        assert!(names_in(&dir.path().join("copies")).is_empty());
        // Refused every time: the error names the hive, the copy stays for the next run.
        reg.refuse_unloads.set(u32::MAX);
        let h = UserHive::open_in(&reg, &profile, copies.clone());
        let err = h.close().unwrap_err();
        let mount = format!("condafix-{}-S-1-5-21-1-2-3-1001", std::process::id());
        assert!(err.contains(&format!("HKU\\{mount}")), "{err}");
        let refused = reg
            .calls
            .borrow()
            .iter()
            .filter(|c| c.ends_with("refused"))
            .count();
        assert_eq!(refused, 2 + crate::registry::UNLOAD_PAUSES_MS.len());
        assert!(!names_in(&dir.path().join("copies")).is_empty());
        reg.refuse_unloads.set(0);
    }

    #[test]
    fn what_a_killed_run_left_loaded_is_unloaded_and_deleted_and_a_live_runs_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let profile = alice_with_hive(dir.path());
        let copies = copies_in(dir.path());
        let reg = FakeRegistry::default();
        // A process that has ended, and one that runs (this one's parent stands in).
        let mut child = std::process::Command::new(if cfg!(windows) { "cmd" } else { "true" })
            .args(if cfg!(windows) {
                vec!["/c", "exit"]
            } else {
                vec![]
            })
            .spawn()
            .unwrap();
        let dead = child.id();
        child.wait().unwrap();
        assert!(!condafix_actor::process_alive(dead));
        // init on Unix; on Windows this process (which clean_leftovers also leaves alone).
        let live = if cfg!(unix) { 1 } else { std::process::id() };
        let mut mounts = Vec::new();
        for pid in [dead, live] {
            let mount = format!("condafix-{pid}-S-1-5-21-1-2-3-1001");
            let copy = dir.path().join("copies").join(format!("{mount}.DAT"));
            fs_err::copy(profile.path.join("NTUSER.DAT"), &copy).unwrap();
            fs_err::write(copy.with_extension("DAT.LOG1"), b"log").unwrap();
            assert!(reg.load_hive(&mount, &copy).unwrap());
            mounts.push(mount);
        }
        let notes = clean_leftovers(&reg, &copies);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].to_lowercase().contains(&mounts[0].to_lowercase())
                && notes[0].contains("was unloaded"),
            "{notes:?}"
        );
        let left: Vec<String> = reg.subkeys(Hive::Users, "").unwrap();
        assert_eq!(left, vec![mounts[1].to_lowercase()]);
        let files = names_in(&dir.path().join("copies"));
        assert!(files.iter().all(|f| f.starts_with(&mounts[1])), "{files:?}");
        assert_eq!(files.len(), 2);
    }

    /// A registry in which the user signs in while their hive is being copied.
    struct SignsInDuringCopy {
        inner: FakeRegistry,
        asked: std::cell::Cell<u32>,
    }

    impl Registry for SignsInDuringCopy {
        fn value(&self, h: Hive, k: &str, n: &str) -> Result<Option<RegValue>, RegistryError> {
            self.inner.value(h, k, n)
        }
        fn subkeys(&self, h: Hive, k: &str) -> Result<Vec<String>, RegistryError> {
            if h == Hive::Users && k.is_empty() {
                self.asked.set(self.asked.get() + 1);
                if self.asked.get() > 1 {
                    return Ok(vec!["S-1-5-21-1-2-3-1001".into()]);
                }
            }
            self.inner.subkeys(h, k)
        }
        fn load_hive(&self, m: &str, f: &Path) -> Result<bool, RegistryError> {
            self.inner.load_hive(m, f)
        }
        fn unload_hive(&self, m: &str) -> Result<(), RegistryError> {
            self.inner.unload_hive(m)
        }
    }

    #[test]
    fn a_user_who_signs_in_during_the_copy_gets_their_live_hive() {
        let dir = tempfile::tempdir().unwrap();
        let profile = alice_with_hive(dir.path());
        let copies = copies_in(dir.path());
        let reg = SignsInDuringCopy {
            inner: FakeRegistry::default(),
            asked: std::cell::Cell::new(0),
        };
        let h = UserHive::open_in(&reg, &profile, copies);
        assert_eq!(h.access, HiveAccess::LoggedOn);
        assert_eq!(h.root.as_deref(), Some("S-1-5-21-1-2-3-1001"));
        assert!(reg.inner.calls.borrow().is_empty(), "nothing was loaded");
        assert!(names_in(&dir.path().join("copies")).is_empty());
    }

    #[test]
    fn a_hive_that_cannot_be_copied_is_a_verdict_for_that_user() {
        let dir = tempfile::tempdir().unwrap();
        let profile = alice_with_hive(dir.path());
        fs_err::remove_file(profile.path.join("NTUSER.DAT")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/shadow", profile.path.join("NTUSER.DAT")).unwrap();
        let copies = copies_in(dir.path());
        let reg = FakeRegistry::default();
        let h = UserHive::open_in(&reg, &profile, copies);
        let HiveAccess::Unavailable { why } = &h.access else {
            panic!("{:?}", h.access)
        };
        assert!(why.contains("could not be made"), "{why}");
        assert!(reg.calls.borrow().is_empty());
        assert!(names_in(&dir.path().join("copies")).is_empty());
    }

    #[test]
    fn the_user_environment_is_theirs_not_this_processs() {
        let dir = tempfile::tempdir().unwrap();
        let profile = Profile {
            sid: "S-1-5-21-1-2-3-1001".into(),
            name: "alice".into(),
            dir: dir.path().display().to_string(),
            path: dir.path().to_path_buf(),
            unusable: None,
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
        assert!(env.notes.is_empty());
    }

    #[test]
    fn redirected_folders_come_from_the_users_shell_folders_and_an_unreachable_one_is_said() {
        let dir = tempfile::tempdir().unwrap();
        let share = dir.path().join("share").join("alice");
        fs_err::create_dir_all(&share).unwrap();
        let profile = Profile {
            sid: "S-1-5-21-1-2-3-1001".into(),
            name: "alice".into(),
            dir: dir.path().display().to_string(),
            path: dir.path().to_path_buf(),
            unusable: None,
        };
        let mut reg = FakeRegistry::default();
        reg.set(
            Hive::CurrentUser,
            USER_SHELL_FOLDERS_KEY,
            "AppData",
            RegValue::ExpandSz(share.display().to_string()),
        );
        reg.set(
            Hive::CurrentUser,
            USER_SHELL_FOLDERS_KEY,
            "Local AppData",
            RegValue::ExpandSz("%USERPROFILE%/gone/Local".into()),
        );
        let base = MapEnv::default();
        let env = UserEnv::new(&base, &profile, &reg);
        assert_eq!(PathBuf::from(env.var_os("APPDATA").unwrap()), share);
        assert_eq!(
            env.var_os("LOCALAPPDATA").unwrap(),
            OsString::from(format!("{}/gone/Local", dir.path().display()))
        );
        assert_eq!(env.notes.len(), 1, "{:?}", env.notes);
        assert!(env.notes[0].starts_with("LOCALAPPDATA is redirected to"));
    }
}
