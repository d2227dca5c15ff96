//! The real registry, through `winreg`.
#![cfg(windows)]

use std::cell::RefCell;

use winreg::enums::{HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, HKEY_USERS, KEY_READ};
use winreg::RegKey;

use crate::registry::{Hive, RegValue, Registry, RegistryError, RegistryWrite};

/// The registry of this Windows machine. A user's `NTUSER.DAT` is loaded under
/// `HKU\<mount>` with `RegLoadKey` (SeRestorePrivilege and SeBackupPrivilege, which an
/// elevated process holds, are enabled for it) and unloaded with `RegUnLoadKey`; without those
/// privileges it is loaded as a private app hive (`RegLoadAppKey`), reached the same way.
#[derive(Debug, Default)]
pub struct SystemRegistry {
    mounted: RefCell<Vec<(String, RegKey)>>,
    loaded: RefCell<Vec<String>>,
}

/// Enable a privilege this process's token holds but has disabled, such as
/// `SeRestorePrivilege` or `SeBackupPrivilege` (best effort: nothing happens without it).
#[allow(unsafe_code)]
pub fn enable_privilege(name: &str) {
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, LUID};
    use windows_sys::Win32::Security::{
        AdjustTokenPrivileges, LookupPrivilegeValueW, LUID_AND_ATTRIBUTES, SE_PRIVILEGE_ENABLED,
        TOKEN_ADJUST_PRIVILEGES, TOKEN_PRIVILEGES, TOKEN_QUERY,
    };
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};
    let wide: Vec<u16> = name.encode_utf16().chain(Some(0)).collect();
    // SAFETY: the token handle is checked and closed; the structures live across the calls.
    unsafe {
        let mut token: HANDLE = std::ptr::null_mut();
        if OpenProcessToken(
            GetCurrentProcess(),
            TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY,
            &mut token,
        ) == 0
        {
            return;
        }
        let mut luid = LUID {
            LowPart: 0,
            HighPart: 0,
        };
        if LookupPrivilegeValueW(std::ptr::null(), wide.as_ptr(), &mut luid) != 0 {
            let tp = TOKEN_PRIVILEGES {
                PrivilegeCount: 1,
                Privileges: [LUID_AND_ATTRIBUTES {
                    Luid: luid,
                    Attributes: SE_PRIVILEGE_ENABLED,
                }],
            };
            AdjustTokenPrivileges(token, 0, &tp, 0, std::ptr::null_mut(), std::ptr::null_mut());
        }
        CloseHandle(token);
    }
}

/// `RegLoadKey(HKEY_USERS, mount, file)`: the Win32 error code, 0 on success.
#[allow(unsafe_code)]
fn reg_load_key(mount: &str, file: &std::path::Path) -> u32 {
    use std::os::windows::ffi::OsStrExt as _;
    use windows_sys::Win32::System::Registry::{RegLoadKeyW, HKEY_USERS as HKU};
    let m: Vec<u16> = mount.encode_utf16().chain(Some(0)).collect();
    let f: Vec<u16> = file.as_os_str().encode_wide().chain(Some(0)).collect();
    // SAFETY: NUL-terminated UTF-16 strings that outlive the call.
    unsafe { RegLoadKeyW(HKU, m.as_ptr(), f.as_ptr()) }
}

#[allow(unsafe_code)]
fn reg_unload_key(mount: &str) {
    use windows_sys::Win32::System::Registry::{RegUnLoadKeyW, HKEY_USERS as HKU};
    let m: Vec<u16> = mount.encode_utf16().chain(Some(0)).collect();
    // SAFETY: a NUL-terminated UTF-16 string that outlives the call.
    unsafe {
        RegUnLoadKeyW(HKU, m.as_ptr());
    }
}

impl SystemRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// The key to open `key` under, and the rest of the path: a loaded app hive for
    /// `HKU\<mount>\...`, else the predefined root.
    fn root(&self, hive: Hive, key: &str) -> (RegKey, String) {
        if hive == Hive::Users {
            let (first, rest) = key.split_once('\\').unwrap_or((key, ""));
            for (mount, k) in self.mounted.borrow().iter() {
                if mount.eq_ignore_ascii_case(first) {
                    let own = k
                        .open_subkey_with_flags("", winreg::enums::KEY_ALL_ACCESS)
                        .unwrap_or_else(|_| RegKey::predef(HKEY_USERS));
                    return (own, rest.to_string());
                }
            }
        }
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
        enable_privilege("SeRestorePrivilege");
        enable_privilege("SeBackupPrivilege");
        const ERROR_PRIVILEGE_NOT_HELD: u32 = 1314;
        match reg_load_key(mount, file) {
            0 => {
                self.loaded.borrow_mut().push(mount.to_string());
                return Ok(true);
            }
            ERROR_PRIVILEGE_NOT_HELD => {}
            code => {
                return Err(RegistryError {
                    hive: Hive::Users,
                    key: mount.to_string(),
                    name: String::new(),
                    source: std::io::Error::from_raw_os_error(code as i32),
                })
            }
        }
        // Without the privileges: a private app hive (not locked: the user may log on).
        let key = RegKey::load_app_key(file, false).map_err(|source| RegistryError {
            hive: Hive::Users,
            key: mount.to_string(),
            name: String::new(),
            source,
        })?;
        self.mounted.borrow_mut().push((mount.to_string(), key));
        Ok(true)
    }

    fn unload_hive(&self, mount: &str) {
        let mut loaded = self.loaded.borrow_mut();
        if let Some(i) = loaded.iter().position(|m| m.eq_ignore_ascii_case(mount)) {
            loaded.remove(i);
            reg_unload_key(mount);
            return;
        }
        // Dropping the last handle unloads an app hive.
        self.mounted
            .borrow_mut()
            .retain(|(m, _)| !m.eq_ignore_ascii_case(mount));
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
