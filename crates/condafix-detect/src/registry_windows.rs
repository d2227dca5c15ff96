//! The real registry, through `winreg`.
#![cfg(windows)]

use winreg::enums::{HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, KEY_READ};
use winreg::RegKey;

use crate::registry::{Hive, RegValue, Registry, RegistryError};

/// The registry of this Windows machine (read-only here).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRegistry;

fn root(hive: Hive) -> RegKey {
    RegKey::predef(match hive {
        Hive::CurrentUser => HKEY_CURRENT_USER,
        Hive::LocalMachine => HKEY_LOCAL_MACHINE,
    })
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
        let k = match root(hive).open_subkey_with_flags(key, KEY_READ) {
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
        let k = match root(hive).open_subkey_with_flags(key, KEY_READ) {
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
}
