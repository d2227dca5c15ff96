//! The Windows registry, behind a trait: the real one on Windows (`registry_windows.rs`), a
//! fake with the same semantics everywhere else and in tests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `HKCU\Environment`: the user's environment, `Path` among it.
pub const USER_ENVIRONMENT_KEY: &str = "Environment";
/// The machine environment (writing it needs elevation).
pub const MACHINE_ENVIRONMENT_KEY: &str =
    r"SYSTEM\CurrentControlSet\Control\Session Manager\Environment";

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum Hive {
    #[serde(rename = "HKCU")]
    CurrentUser,
    #[serde(rename = "HKLM")]
    LocalMachine,
    /// `HKEY_USERS`: every loaded user hive, under its SID (and hives condafix loads itself,
    /// under a private name).
    #[serde(rename = "HKU")]
    Users,
}

impl Hive {
    pub fn short(self) -> &'static str {
        match self {
            Hive::CurrentUser => "HKCU",
            Hive::LocalMachine => "HKLM",
            Hive::Users => "HKU",
        }
    }
}

/// Where Windows lists every user profile: one subkey per SID, `ProfileImagePath` its folder.
pub const PROFILE_LIST_KEY: &str = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList";

/// A registry value with its type, as stored (`REG_EXPAND_SZ` is not expanded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", content = "data")]
pub enum RegValue {
    #[serde(rename = "REG_SZ")]
    Sz(String),
    #[serde(rename = "REG_EXPAND_SZ")]
    ExpandSz(String),
    #[serde(rename = "REG_MULTI_SZ")]
    MultiSz(Vec<String>),
    #[serde(rename = "REG_DWORD")]
    Dword(u32),
    #[serde(rename = "REG_QWORD")]
    Qword(u64),
    /// Any other type, raw.
    #[serde(rename = "other")]
    Other { kind: u32, bytes: Vec<u8> },
}

impl std::fmt::Display for RegValue {
    /// The data as `reg query` shows it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegValue::Sz(s) | RegValue::ExpandSz(s) => f.write_str(s),
            RegValue::MultiSz(v) => f.write_str(&v.join("\\0")),
            RegValue::Dword(d) => write!(f, "0x{d:x}"),
            RegValue::Qword(q) => write!(f, "0x{q:x}"),
            RegValue::Other { kind, bytes } => write!(f, "type {kind}, {} bytes", bytes.len()),
        }
    }
}

/// The type of a registry value, as `reg query` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum RegType {
    #[serde(rename = "REG_SZ")]
    Sz,
    #[serde(rename = "REG_EXPAND_SZ")]
    ExpandSz,
    #[serde(rename = "REG_MULTI_SZ")]
    MultiSz,
    #[serde(rename = "REG_DWORD")]
    Dword,
    #[serde(rename = "REG_QWORD")]
    Qword,
    /// Any other type.
    #[serde(rename = "other")]
    Other,
}

impl RegType {
    pub fn as_str(self) -> &'static str {
        match self {
            RegType::Sz => "REG_SZ",
            RegType::ExpandSz => "REG_EXPAND_SZ",
            RegType::MultiSz => "REG_MULTI_SZ",
            RegType::Dword => "REG_DWORD",
            RegType::Qword => "REG_QWORD",
            RegType::Other => "other",
        }
    }
}

impl std::fmt::Display for RegType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RegValue {
    pub fn reg_type(&self) -> RegType {
        match self {
            RegValue::Sz(_) => RegType::Sz,
            RegValue::ExpandSz(_) => RegType::ExpandSz,
            RegValue::MultiSz(_) => RegType::MultiSz,
            RegValue::Dword(_) => RegType::Dword,
            RegValue::Qword(_) => RegType::Qword,
            RegValue::Other { .. } => RegType::Other,
        }
    }

    /// The text of a string value; `None` for other types (a `Path` of the wrong type is left
    /// alone, never guessed at).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            RegValue::Sz(s) | RegValue::ExpandSz(s) => Some(s),
            _ => None,
        }
    }

    /// The registry type code and bytes (UTF-16LE strings with their NUL), the inverse of
    /// [`RegValue::from_raw`].
    pub fn to_raw(&self) -> (u32, Vec<u8>) {
        let utf16 = |s: &str| -> Vec<u8> {
            s.encode_utf16()
                .chain([0])
                .flat_map(|u| u.to_le_bytes())
                .collect()
        };
        match self {
            RegValue::Sz(s) => (1, utf16(s)),
            RegValue::ExpandSz(s) => (2, utf16(s)),
            RegValue::Dword(d) => (4, d.to_le_bytes().to_vec()),
            RegValue::MultiSz(v) => {
                let mut b: Vec<u8> = v.iter().flat_map(|s| utf16(s)).collect();
                b.extend([0, 0]);
                (7, b)
            }
            RegValue::Qword(q) => (11, q.to_le_bytes().to_vec()),
            RegValue::Other { kind, bytes } => (*kind, bytes.clone()),
        }
    }

    /// Decode a raw value (type code and bytes, UTF-16LE strings) the way the registry API
    /// hands it over.
    pub fn from_raw(kind: u32, bytes: &[u8]) -> Self {
        const REG_SZ: u32 = 1;
        const REG_EXPAND_SZ: u32 = 2;
        const REG_DWORD: u32 = 4;
        const REG_MULTI_SZ: u32 = 7;
        const REG_QWORD: u32 = 11;
        let utf16 = || -> Vec<u16> {
            bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect()
        };
        let text = |units: &[u16]| {
            let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
            String::from_utf16_lossy(&units[..end])
        };
        match kind {
            REG_SZ => RegValue::Sz(text(&utf16())),
            REG_EXPAND_SZ => RegValue::ExpandSz(text(&utf16())),
            REG_MULTI_SZ => RegValue::MultiSz(
                utf16()
                    .split(|&u| u == 0)
                    .filter(|s| !s.is_empty())
                    .map(String::from_utf16_lossy)
                    .collect(),
            ),
            REG_DWORD if bytes.len() >= 4 => {
                RegValue::Dword(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
            }
            REG_QWORD if bytes.len() >= 8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&bytes[..8]);
                RegValue::Qword(u64::from_le_bytes(b))
            }
            kind => RegValue::Other {
                kind,
                bytes: bytes.to_vec(),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read the registry value {hive}\\{key}\\{name}", hive = hive.short())]
pub struct RegistryError {
    pub hive: Hive,
    pub key: String,
    pub name: String,
    #[source]
    pub source: std::io::Error,
}

/// Read access to the registry.
pub trait Registry {
    /// A value, or `None` when the key or the value does not exist.
    fn value(&self, hive: Hive, key: &str, name: &str) -> Result<Option<RegValue>, RegistryError>;
    /// The names of a key's subkeys (empty when the key does not exist).
    fn subkeys(&self, hive: Hive, key: &str) -> Result<Vec<String>, RegistryError>;
    /// Load the hive file `file` (a user's `NTUSER.DAT`) privately under `HKU\<mount>`;
    /// `Ok(false)` when this registry cannot (then the user's settings are not read). Every
    /// successful load is paired with [`Registry::unload_hive`] (see [`LoadedHive`]).
    fn load_hive(&self, mount: &str, file: &std::path::Path) -> Result<bool, RegistryError> {
        let _ = (mount, file);
        Ok(false)
    }
    /// Unload a hive [`Registry::load_hive`] loaded (or one an earlier run left loaded). An
    /// error is the system's answer (a handle still open in the hive): the hive is still loaded.
    fn unload_hive(&self, mount: &str) -> Result<(), RegistryError> {
        let _ = mount;
        Ok(())
    }
}

/// How often, and after what pauses, an unload is tried: a handle another program opened in the
/// hive (an antivirus scanning it) makes `RegUnLoadKey` fail for a moment. Bounded by count.
pub const UNLOAD_PAUSES_MS: [u64; 5] = [0, 50, 200, 500, 1000];

/// Unload `mount`, retrying with the pauses of [`UNLOAD_PAUSES_MS`]; the last error when every
/// try failed.
pub fn unload_with_retries(registry: &dyn Registry, mount: &str) -> Result<(), RegistryError> {
    let mut last = None;
    for pause in UNLOAD_PAUSES_MS {
        if pause > 0 {
            std::thread::sleep(std::time::Duration::from_millis(pause));
        }
        match registry.unload_hive(mount) {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("at least one try"))
}

/// A hive loaded for the time of a run: unloaded by [`LoadedHive::unload`] (which says whether it
/// worked), or when dropped on every other path out (an error, a panic).
pub struct LoadedHive<'r> {
    registry: &'r dyn Registry,
    mount: String,
    unloaded: bool,
}

impl<'r> LoadedHive<'r> {
    /// Load `file` under `HKU\<mount>`; `None` when the registry cannot.
    pub fn load(
        registry: &'r dyn Registry,
        mount: &str,
        file: &std::path::Path,
    ) -> Result<Option<Self>, RegistryError> {
        Ok(registry.load_hive(mount, file)?.then(|| LoadedHive {
            registry,
            mount: mount.to_string(),
            unloaded: false,
        }))
    }

    pub fn mount(&self) -> &str {
        &self.mount
    }

    /// Unload it, retrying (see [`unload_with_retries`]); the error names the hive.
    pub fn unload(mut self) -> Result<(), RegistryError> {
        self.unloaded = true;
        unload_with_retries(self.registry, &self.mount)
    }
}

impl Drop for LoadedHive<'_> {
    fn drop(&mut self) {
        if !self.unloaded {
            // Nobody is left to tell; the next run unloads what stays (see `users`).
            let _ = unload_with_retries(self.registry, &self.mount);
        }
    }
}

/// A user account's SID (local, domain or Entra ID): what [`condafix_actor::is_user_sid`] says,
/// the one place that decides it.
pub fn is_user_sid(sid: &str) -> bool {
    condafix_actor::is_user_sid(sid)
}

/// A registry in which `HKCU` is another user's hive (`HKU\<root>`): what that user's programs
/// see. `HKLM` and `HKU` pass through.
pub struct UserView<'r, R: ?Sized = dyn RegistryWrite> {
    inner: &'r R,
    root: String,
}

impl<'r, R: ?Sized> UserView<'r, R> {
    pub fn new(inner: &'r R, root: &str) -> Self {
        Self {
            inner,
            root: root.to_string(),
        }
    }

    /// Where a key of this view really is.
    pub fn locate(&self, hive: Hive, key: &str) -> (Hive, String) {
        match hive {
            Hive::CurrentUser if key.is_empty() => (Hive::Users, self.root.clone()),
            Hive::CurrentUser => (Hive::Users, format!("{}\\{key}", self.root)),
            other => (other, key.to_string()),
        }
    }
}

impl<R: Registry + ?Sized> Registry for UserView<'_, R> {
    fn value(&self, hive: Hive, key: &str, name: &str) -> Result<Option<RegValue>, RegistryError> {
        let (h, k) = self.locate(hive, key);
        self.inner.value(h, &k, name)
    }

    fn subkeys(&self, hive: Hive, key: &str) -> Result<Vec<String>, RegistryError> {
        let (h, k) = self.locate(hive, key);
        self.inner.subkeys(h, &k)
    }
}

impl<R: RegistryWrite + ?Sized> RegistryWrite for UserView<'_, R> {
    fn set_value(
        &self,
        hive: Hive,
        key: &str,
        name: &str,
        value: &RegValue,
    ) -> Result<(), RegistryError> {
        let (h, k) = self.locate(hive, key);
        self.inner.set_value(h, &k, name, value)
    }

    fn delete_value(&self, hive: Hive, key: &str, name: &str) -> Result<(), RegistryError> {
        let (h, k) = self.locate(hive, key);
        self.inner.delete_value(h, &k, name)
    }

    fn broadcast_environment_change(&self) {
        self.inner.broadcast_environment_change();
    }
}

/// A hive file as the fake registries keep it: the values of one user's hive, keyed from its
/// root (`Environment`, `Software\...`), as JSON.
pub type HiveFile = Vec<(String, String, RegValue)>;

/// Write access to the registry.
pub trait RegistryWrite: Registry {
    /// Set a value, creating the key if needed; the type is the value's own.
    fn set_value(
        &self,
        hive: Hive,
        key: &str,
        name: &str,
        value: &RegValue,
    ) -> Result<(), RegistryError>;
    /// Delete a value; a missing one is not an error.
    fn delete_value(&self, hive: Hive, key: &str, name: &str) -> Result<(), RegistryError>;
    /// Tell running programs (Explorer) that the environment changed: `WM_SETTINGCHANGE` with
    /// "Environment", `SMTO_ABORTIFHUNG`, 5 s.
    fn broadcast_environment_change(&self);
}

/// An in-memory registry with Windows' case-insensitive key and value names. It records the
/// writes made to it, for tests that show what the real one would have been asked.
#[derive(Debug, Default)]
pub struct FakeRegistry {
    values: std::cell::RefCell<BTreeMap<(Hive, String, String), RegValue>>,
    /// Every write, load and unload, in order, as text.
    pub calls: std::cell::RefCell<Vec<String>>,
    /// Hives loaded from files, and their files.
    mounted: std::cell::RefCell<Vec<(String, std::path::PathBuf)>>,
    /// How many unloads to refuse (as Windows does while a handle is open in the hive).
    pub refuse_unloads: std::cell::Cell<u32>,
}

impl Clone for FakeRegistry {
    fn clone(&self) -> Self {
        Self {
            values: std::cell::RefCell::new(self.values.borrow().clone()),
            calls: std::cell::RefCell::new(self.calls.borrow().clone()),
            mounted: std::cell::RefCell::new(self.mounted.borrow().clone()),
            refuse_unloads: self.refuse_unloads.clone(),
        }
    }
}

/// The fakes' key prefix below which `key`'s subkeys are (all keys for the root).
fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("{}\\", key.to_lowercase())
    }
}

/// What the fakes answer for an unload of a hive that is not loaded (`ERROR_INVALID_PARAMETER`,
/// as Windows does).
fn not_loaded(mount: &str) -> RegistryError {
    RegistryError {
        hive: Hive::Users,
        key: mount.to_string(),
        name: String::new(),
        source: std::io::Error::from_raw_os_error(87),
    }
}

/// Read a fake hive file; `None` when there is none.
fn read_hive_file(file: &std::path::Path) -> std::io::Result<Option<HiveFile>> {
    match fs_err::read(file) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Write a fake hive file back, as unloading a real hive saves it: only when its values changed
/// (names compared as Windows does, case-insensitively).
fn write_hive_file(file: &std::path::Path, values: &HiveFile) -> std::io::Result<()> {
    let norm = |v: &HiveFile| {
        let mut n: Vec<(String, String, RegValue)> = v
            .iter()
            .map(|(k, n, val)| (k.to_lowercase(), n.to_lowercase(), val.clone()))
            .collect();
        n.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        n
    };
    if read_hive_file(file)?.is_some_and(|old| norm(&old) == norm(values)) {
        return Ok(());
    }
    fs_err::write(
        file,
        serde_json::to_vec_pretty(values).map_err(std::io::Error::other)?,
    )
}

impl FakeRegistry {
    pub const fn empty() -> Self {
        Self {
            values: std::cell::RefCell::new(BTreeMap::new()),
            calls: std::cell::RefCell::new(Vec::new()),
            mounted: std::cell::RefCell::new(Vec::new()),
            refuse_unloads: std::cell::Cell::new(0),
        }
    }

    pub fn set(&mut self, hive: Hive, key: &str, name: &str, value: RegValue) {
        self.values
            .borrow_mut()
            .insert((hive, key.to_lowercase(), name.to_lowercase()), value);
    }
}

impl RegistryWrite for FakeRegistry {
    fn set_value(
        &self,
        hive: Hive,
        key: &str,
        name: &str,
        value: &RegValue,
    ) -> Result<(), RegistryError> {
        self.calls
            .borrow_mut()
            .push(format!("set {}\\{key}\\{name} = {value:?}", hive.short()));
        self.values.borrow_mut().insert(
            (hive, key.to_lowercase(), name.to_lowercase()),
            value.clone(),
        );
        Ok(())
    }

    fn delete_value(&self, hive: Hive, key: &str, name: &str) -> Result<(), RegistryError> {
        self.calls
            .borrow_mut()
            .push(format!("delete {}\\{key}\\{name}", hive.short()));
        self.values
            .borrow_mut()
            .remove(&(hive, key.to_lowercase(), name.to_lowercase()));
        Ok(())
    }

    fn broadcast_environment_change(&self) {
        self.calls
            .borrow_mut()
            .push("broadcast WM_SETTINGCHANGE Environment".into());
    }
}

impl Registry for FakeRegistry {
    fn value(&self, hive: Hive, key: &str, name: &str) -> Result<Option<RegValue>, RegistryError> {
        Ok(self
            .values
            .borrow()
            .get(&(hive, key.to_lowercase(), name.to_lowercase()))
            .cloned())
    }

    fn load_hive(&self, mount: &str, file: &std::path::Path) -> Result<bool, RegistryError> {
        let Some(values) = read_hive_file(file).map_err(|source| RegistryError {
            hive: Hive::Users,
            key: mount.to_string(),
            name: String::new(),
            source,
        })?
        else {
            return Ok(false);
        };
        self.calls
            .borrow_mut()
            .push(format!("load HKU\\{mount} from {}", file.display()));
        let mut v = self.values.borrow_mut();
        for (key, name, value) in values {
            v.insert(
                (
                    Hive::Users,
                    format!("{mount}\\{key}").to_lowercase(),
                    name.to_lowercase(),
                ),
                value,
            );
        }
        self.mounted
            .borrow_mut()
            .push((mount.to_lowercase(), file.to_path_buf()));
        Ok(true)
    }

    fn unload_hive(&self, shown: &str) -> Result<(), RegistryError> {
        let mount = shown.to_lowercase();
        let Some(i) = self.mounted.borrow().iter().position(|(m, _)| *m == mount) else {
            return Err(not_loaded(shown));
        };
        if self.refuse_unloads.get() > 0 {
            self.refuse_unloads.set(self.refuse_unloads.get() - 1);
            self.calls
                .borrow_mut()
                .push(format!("unload HKU\\{shown} refused"));
            return Err(RegistryError {
                hive: Hive::Users,
                key: shown.to_string(),
                name: String::new(),
                // ERROR_ACCESS_DENIED, as RegUnLoadKey answers with a handle open in the hive.
                source: std::io::Error::from_raw_os_error(5),
            });
        }
        let (_, file) = self.mounted.borrow_mut().remove(i);
        let prefix = format!("{mount}\\");
        let mut v = self.values.borrow_mut();
        let keys: Vec<_> = v
            .keys()
            .filter(|(h, k, _)| *h == Hive::Users && (k.starts_with(&prefix) || *k == mount))
            .cloned()
            .collect();
        let mut kept: HiveFile = Vec::new();
        for k in keys {
            if let Some(value) = v.remove(&k) {
                kept.push((k.1[prefix.len().min(k.1.len())..].to_string(), k.2, value));
            }
        }
        let _ = write_hive_file(&file, &kept);
        self.calls.borrow_mut().push(format!("unload HKU\\{shown}"));
        Ok(())
    }

    fn subkeys(&self, hive: Hive, key: &str) -> Result<Vec<String>, RegistryError> {
        let prefix = key_prefix(key);
        let mut out: Vec<String> = self
            .values
            .borrow()
            .keys()
            .filter(|(h, k, _)| *h == hive && k.starts_with(&prefix))
            .filter_map(|(_, k, _)| k[prefix.len()..].split('\\').next().map(str::to_string))
            .filter(|k| !k.is_empty())
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// Where a registry kept in a file lives: the test seam that lets a run that is killed and the
/// next run see the same registry on Linux (debug builds only on Windows, where the real one is
/// used otherwise).
pub const ENV_FAKE_REGISTRY: &str = "CONDAFIX_FAKE_REGISTRY";

/// A registry kept in a JSON file (`[[hive, key, name, value], ...]`), read on every call and
/// rewritten atomically on every write. Names are case-insensitive, as on Windows.
#[derive(Debug, Clone)]
pub struct FileRegistry {
    path: std::path::PathBuf,
}

type Stored = Vec<(Hive, String, String, RegValue)>;

impl FileRegistry {
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        Self { path: path.into() }
    }

    fn err(&self, hive: Hive, key: &str, name: &str, source: std::io::Error) -> RegistryError {
        RegistryError {
            hive,
            key: key.to_string(),
            name: name.to_string(),
            source,
        }
    }

    fn load(&self) -> std::io::Result<Stored> {
        match fs_err::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    fn save(&self, values: &Stored) -> std::io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        fs_err::write(
            &tmp,
            serde_json::to_vec_pretty(values).map_err(std::io::Error::other)?,
        )?;
        fs_err::rename(&tmp, &self.path)
    }

    fn same(stored: &(Hive, String, String, RegValue), hive: Hive, key: &str, name: &str) -> bool {
        stored.0 == hive
            && stored.1.eq_ignore_ascii_case(key)
            && stored.2.eq_ignore_ascii_case(name)
    }
}

impl Registry for FileRegistry {
    fn load_hive(&self, mount: &str, file: &std::path::Path) -> Result<bool, RegistryError> {
        let err = |source| self.err(Hive::Users, mount, "", source);
        let Some(hive) = read_hive_file(file).map_err(err)? else {
            return Ok(false);
        };
        let mut values = self.load().map_err(err)?;
        for (key, name, value) in hive {
            values.push((Hive::Users, format!("{mount}\\{key}"), name, value));
        }
        self.save(&values).map_err(err)?;
        let mut mounts: Vec<(String, std::path::PathBuf)> = fs_err::read(self.mounts_file())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        mounts.push((mount.to_string(), file.to_path_buf()));
        fs_err::write(
            self.mounts_file(),
            serde_json::to_vec(&mounts)
                .map_err(std::io::Error::other)
                .map_err(err)?,
        )
        .map_err(err)?;
        Ok(true)
    }

    fn unload_hive(&self, mount: &str) -> Result<(), RegistryError> {
        let mut mounts: Vec<(String, std::path::PathBuf)> = fs_err::read(self.mounts_file())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let Some(i) = mounts
            .iter()
            .position(|(m, _)| m.eq_ignore_ascii_case(mount))
        else {
            return Err(not_loaded(mount));
        };
        let (_, file) = mounts.remove(i);
        let values = self
            .load()
            .map_err(|e| self.err(Hive::Users, mount, "", e))?;
        let prefix = format!("{}\\", mount.to_lowercase());
        let (hive, rest): (Stored, Stored) = values
            .into_iter()
            .partition(|v| v.0 == Hive::Users && v.1.to_lowercase().starts_with(&prefix));
        let kept: HiveFile = hive
            .into_iter()
            .map(|v| (v.1[prefix.len()..].to_string(), v.2, v.3))
            .collect();
        let _ = write_hive_file(&file, &kept);
        let _ = self.save(&rest);
        let _ = serde_json::to_vec(&mounts).map(|b| fs_err::write(self.mounts_file(), b));
        Ok(())
    }

    fn value(&self, hive: Hive, key: &str, name: &str) -> Result<Option<RegValue>, RegistryError> {
        let values = self.load().map_err(|e| self.err(hive, key, name, e))?;
        Ok(values
            .into_iter()
            .find(|v| Self::same(v, hive, key, name))
            .map(|v| v.3))
    }

    fn subkeys(&self, hive: Hive, key: &str) -> Result<Vec<String>, RegistryError> {
        let values = self.load().map_err(|e| self.err(hive, key, "", e))?;
        let prefix = key_prefix(key);
        let mut out: Vec<String> = values
            .iter()
            .filter(|v| v.0 == hive && v.1.to_lowercase().starts_with(&prefix))
            .filter_map(|v| v.1[prefix.len()..].split('\\').next().map(str::to_string))
            .filter(|k| !k.is_empty())
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }
}

impl FileRegistry {
    /// Where a hive loaded from a file is kept until it is unloaded: beside the registry file.
    fn mounts_file(&self) -> std::path::PathBuf {
        self.path.with_extension("mounts.json")
    }
}

impl RegistryWrite for FileRegistry {
    fn set_value(
        &self,
        hive: Hive,
        key: &str,
        name: &str,
        value: &RegValue,
    ) -> Result<(), RegistryError> {
        let mut values = self.load().map_err(|e| self.err(hive, key, name, e))?;
        values.retain(|v| !Self::same(v, hive, key, name));
        values.push((hive, key.to_string(), name.to_string(), value.clone()));
        self.save(&values).map_err(|e| self.err(hive, key, name, e))
    }

    fn delete_value(&self, hive: Hive, key: &str, name: &str) -> Result<(), RegistryError> {
        let mut values = self.load().map_err(|e| self.err(hive, key, name, e))?;
        values.retain(|v| !Self::same(v, hive, key, name));
        self.save(&values).map_err(|e| self.err(hive, key, name, e))
    }

    fn broadcast_environment_change(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16()
            .chain([0])
            .flat_map(|u| u.to_le_bytes())
            .collect()
    }

    #[test]
    fn raw_values_decode_with_their_type_kept() {
        assert_eq!(
            RegValue::from_raw(2, &utf16("%USERPROFILE%\\bin;C:\\x")),
            RegValue::ExpandSz("%USERPROFILE%\\bin;C:\\x".into())
        );
        assert_eq!(RegValue::from_raw(1, &utf16("a")), RegValue::Sz("a".into()));
        assert_eq!(RegValue::from_raw(4, &[1, 0, 0, 0]), RegValue::Dword(1));
        assert!(RegValue::from_raw(4, &[1, 0, 0, 0]).as_str().is_none());
    }

    #[test]
    fn a_file_registry_keeps_values_across_instances_with_their_type() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reg.json");
        let a = FileRegistry::new(&path);
        a.set_value(
            Hive::CurrentUser,
            "Environment",
            "Path",
            &RegValue::ExpandSz("%X%;C:\\p".into()),
        )
        .unwrap();
        let b = FileRegistry::new(&path);
        assert_eq!(
            b.value(Hive::CurrentUser, "environment", "PATH").unwrap(),
            Some(RegValue::ExpandSz("%X%;C:\\p".into()))
        );
        b.delete_value(Hive::CurrentUser, "Environment", "Path")
            .unwrap();
        assert_eq!(
            a.value(Hive::CurrentUser, "Environment", "Path").unwrap(),
            None
        );
    }

    #[test]
    fn fake_names_are_case_insensitive() {
        let mut r = FakeRegistry::default();
        r.set(
            Hive::CurrentUser,
            "Environment",
            "Path",
            RegValue::Sz("x".into()),
        );
        assert!(r
            .value(Hive::CurrentUser, "ENVIRONMENT", "PATH")
            .unwrap()
            .is_some());
        assert!(r
            .value(Hive::LocalMachine, "Environment", "Path")
            .unwrap()
            .is_none());
    }
}
