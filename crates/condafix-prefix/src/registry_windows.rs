//! The real registry, through `winreg`.
#![cfg(windows)]

use winreg::enums::{HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, HKEY_USERS, KEY_READ};
use winreg::RegKey;

use crate::registry::{Hive, RegValue, Registry, RegistryError, RegistryWrite};

/// The registry of this Windows machine. A hive file (a private copy of a user's
/// `NTUSER.DAT`, see `condafix_detect::users`) is loaded under `HKU\<mount>` with `RegLoadKey`
/// and unloaded with `RegUnLoadKey`, with SeRestorePrivilege and SeBackupPrivilege enabled
/// around those two calls only (an elevated process holds them; without them the load is
/// refused, and the user's settings are a verdict, not read).
#[derive(Debug, Default)]
pub struct SystemRegistry;

fn wide(s: &std::ffi::OsStr) -> Vec<u16> {
    use std::os::windows::ffi::OsStrExt as _;
    s.encode_wide().chain(Some(0)).collect()
}

/// A path for a raw Win32 call (see [`crate::verbatim_str`]).
pub fn verbatim(path: &std::path::Path) -> std::path::PathBuf {
    match path.to_str() {
        Some(s) => std::path::PathBuf::from(crate::verbatim_str(s)),
        None => path.to_path_buf(),
    }
}

/// A program's path for `CreateProcess*`, as std gives it: as it is, or [`verbatim`] past 247
/// UTF-16 units (see [`crate::launch_path_str`]); a path that is not valid Unicode is kept.
pub fn launch_path(path: &std::path::Path) -> std::path::PathBuf {
    use std::os::windows::ffi::OsStrExt as _;
    if path.as_os_str().encode_wide().count() < 248 {
        path.to_path_buf()
    } else {
        verbatim(path)
    }
}

const HIVE_PRIVILEGES: [&str; 2] = ["SeRestorePrivilege", "SeBackupPrivilege"];

fn privilege_error(mount: &str, why: String) -> RegistryError {
    RegistryError {
        hive: Hive::Users,
        key: mount.to_string(),
        name: String::new(),
        // ERROR_PRIVILEGE_NOT_HELD
        source: std::io::Error::new(
            std::io::Error::from_raw_os_error(1314).kind(),
            format!("{why} (error 1314)"),
        ),
    }
}

/// A hive call on `HKU\<mount>` (`RegLoadKey`, `RegUnLoadKey`) with the privileges it needs
/// held around it, its Win32 answer checked.
fn hive_call(mount: &str, call: impl FnOnce() -> u32) -> Result<(), RegistryError> {
    let code = condafix_actor::windows::privilege::with_privileges(&HIVE_PRIVILEGES, call)
        .map_err(|why| privilege_error(mount, why))?;
    if code == 0 {
        return Ok(());
    }
    Err(RegistryError {
        hive: Hive::Users,
        key: mount.to_string(),
        name: String::new(),
        source: std::io::Error::from_raw_os_error(code as i32),
    })
}

/// `RegLoadKey(HKEY_USERS, mount, file)`.
#[allow(unsafe_code)]
fn reg_load_key(mount: &str, file: &std::path::Path) -> Result<(), RegistryError> {
    use windows_sys::Win32::System::Registry::{RegLoadKeyW, HKEY_USERS as HKU};
    let m = wide(std::ffi::OsStr::new(mount));
    let f = wide(verbatim(file).as_os_str());
    // SAFETY: NUL-terminated UTF-16 strings that outlive the call.
    hive_call(mount, || unsafe {
        RegLoadKeyW(HKU, m.as_ptr(), f.as_ptr())
    })
}

/// `RegUnLoadKey(HKEY_USERS, mount)`.
#[allow(unsafe_code)]
fn reg_unload_key(mount: &str) -> Result<(), RegistryError> {
    use windows_sys::Win32::System::Registry::{RegUnLoadKeyW, HKEY_USERS as HKU};
    let m = wide(std::ffi::OsStr::new(mount));
    // SAFETY: a NUL-terminated UTF-16 string that outlives the call.
    hive_call(mount, || unsafe { RegUnLoadKeyW(HKU, m.as_ptr()) })
}

impl SystemRegistry {
    pub fn new() -> Self {
        Self
    }

    /// The predefined root to open `key` under.
    fn root(&self, hive: Hive, key: &str) -> (RegKey, String) {
        let predef = match hive {
            Hive::CurrentUser => HKEY_CURRENT_USER,
            Hive::LocalMachine => HKEY_LOCAL_MACHINE,
            Hive::Users => HKEY_USERS,
        };
        (RegKey::predef(predef), key.to_string())
    }
}

fn not_found(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
}

impl Registry for SystemRegistry {
    fn value(&self, hive: Hive, key: &str, name: &str) -> Result<Option<RegValue>, RegistryError> {
        let err = |source| RegistryError {
            hive,
            key: key.to_string(),
            name: name.to_string(),
            source,
        };
        let (base, rel) = self.root(hive, key);
        let k = match base.open_subkey_with_flags(&rel, KEY_READ) {
            Ok(k) => k,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        match k.get_raw_value(name) {
            Ok(raw) => Ok(Some(RegValue::from_raw(raw.vtype as u32, &raw.bytes))),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    fn subkeys(&self, hive: Hive, key: &str) -> Result<Vec<String>, RegistryError> {
        let (base, rel) = self.root(hive, key);
        let k = match base.open_subkey_with_flags(&rel, KEY_READ) {
            Ok(k) => k,
            Err(e) if not_found(&e) => return Ok(Vec::new()),
            Err(source) => {
                return Err(RegistryError {
                    hive,
                    key: key.to_string(),
                    name: String::new(),
                    source,
                })
            }
        };
        Ok(k.enum_keys().filter_map(Result::ok).collect())
    }

    fn load_hive(&self, mount: &str, file: &std::path::Path) -> Result<bool, RegistryError> {
        if !file.is_file() {
            return Ok(false);
        }
        reg_load_key(mount, file)?;
        Ok(true)
    }

    fn unload_hive(&self, mount: &str) -> Result<(), RegistryError> {
        reg_unload_key(mount)
    }
}

impl RegistryWrite for SystemRegistry {
    fn set_value(
        &self,
        hive: Hive,
        key: &str,
        name: &str,
        value: &RegValue,
    ) -> Result<(), RegistryError> {
        let err = |source| RegistryError {
            hive,
            key: key.to_string(),
            name: name.to_string(),
            source,
        };
        let (base, rel) = self.root(hive, key);
        let (k, _) = base.create_subkey(&rel).map_err(err)?;
        let (kind, bytes) = value.to_raw();
        let vtype = match kind {
            1 => winreg::enums::RegType::REG_SZ,
            2 => winreg::enums::RegType::REG_EXPAND_SZ,
            4 => winreg::enums::RegType::REG_DWORD,
            7 => winreg::enums::RegType::REG_MULTI_SZ,
            11 => winreg::enums::RegType::REG_QWORD,
            _ => winreg::enums::RegType::REG_BINARY,
        };
        k.set_raw_value(
            name,
            &winreg::RegValue {
                bytes: bytes.into(),
                vtype,
            },
        )
        .map_err(err)
    }

    fn delete_value(&self, hive: Hive, key: &str, name: &str) -> Result<(), RegistryError> {
        let err = |source| RegistryError {
            hive,
            key: key.to_string(),
            name: name.to_string(),
            source,
        };
        let (base, rel) = self.root(hive, key);
        let k = match base.open_subkey_with_flags(&rel, winreg::enums::KEY_ALL_ACCESS) {
            Ok(k) => k,
            Err(e) if not_found(&e) => return Ok(()),
            Err(e) => return Err(err(e)),
        };
        match k.delete_value(name) {
            Err(e) if not_found(&e) => Ok(()),
            other => other.map_err(err),
        }
    }

    #[allow(unsafe_code)]
    fn broadcast_environment_change(&self) {
        use windows_sys::Win32::UI::WindowsAndMessaging::{
            SendMessageTimeoutW, HWND_BROADCAST, SMTO_ABORTIFHUNG, WM_SETTINGCHANGE,
        };
        let text: Vec<u16> = "Environment".encode_utf16().chain([0]).collect();
        let mut result = 0usize;
        // SAFETY: `text` is a NUL-terminated UTF-16 string that outlives the call; the result
        // pointer is a valid usize. SMTO_ABORTIFHUNG with a 5 s timeout cannot block forever.
        unsafe {
            SendMessageTimeoutW(
                HWND_BROADCAST,
                WM_SETTINGCHANGE,
                0,
                text.as_ptr() as isize,
                SMTO_ABORTIFHUNG,
                5000,
                &mut result,
            );
        }
    }
}
