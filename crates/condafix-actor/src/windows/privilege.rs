//! Privileges held only around the one call that needs them: enabled (their earlier state
//! kept), the call made, the earlier state put back. `AdjustTokenPrivileges` succeeds even when
//! it assigned nothing; `ERROR_NOT_ALL_ASSIGNED` says so, and is an error here.
#![allow(unsafe_code)]

use std::os::windows::io::{AsRawHandle as _, FromRawHandle as _, OwnedHandle};

use windows_sys::Win32::Foundation::{GetLastError, HANDLE, LUID};
use windows_sys::Win32::Security::{
    AdjustTokenPrivileges, LookupPrivilegeValueW, LUID_AND_ATTRIBUTES, SE_PRIVILEGE_ENABLED,
    TOKEN_ADJUST_PRIVILEGES, TOKEN_PRIVILEGES, TOKEN_QUERY,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

const ERROR_NOT_ALL_ASSIGNED: u32 = 1300;

fn luid(name: &str) -> Result<LUID, String> {
    let wide: Vec<u16> = name.encode_utf16().chain(Some(0)).collect();
    let mut l = LUID {
        LowPart: 0,
        HighPart: 0,
    };
    // SAFETY: a NUL-terminated string and a writable LUID.
    if unsafe { LookupPrivilegeValueW(std::ptr::null(), wide.as_ptr(), &mut l) } == 0 {
        return Err(format!("{name} is not a privilege this system knows"));
    }
    Ok(l)
}

/// Set one privilege's attributes; the earlier attributes are returned.
fn adjust(token: HANDLE, l: LUID, attributes: u32, name: &str) -> Result<u32, String> {
    let tp = TOKEN_PRIVILEGES {
        PrivilegeCount: 1,
        Privileges: [LUID_AND_ATTRIBUTES {
            Luid: l,
            Attributes: attributes,
        }],
    };
    let mut previous: TOKEN_PRIVILEGES = unsafe { std::mem::zeroed() };
    let mut len = 0u32;
    // SAFETY: the structures live across the call; `previous` has room for one privilege.
    let ok = unsafe {
        AdjustTokenPrivileges(
            token,
            0,
            &tp,
            std::mem::size_of::<TOKEN_PRIVILEGES>() as u32,
            &mut previous,
            &mut len,
        )
    };
    // SAFETY: reads the calling thread's last error, set by the call above.
    let err = unsafe { GetLastError() };
    if ok == 0 {
        return Err(format!("{name} could not be adjusted (error {err})"));
    }
    if err == ERROR_NOT_ALL_ASSIGNED {
        return Err(format!(
            "this process does not hold {name} (run condafix as SYSTEM or elevated)"
        ));
    }
    Ok(if previous.PrivilegeCount == 0 {
        attributes
    } else {
        previous.Privileges[0].Attributes
    })
}

/// Run `f` with the privileges `names` enabled, and put their earlier state back after (also
/// when a privilege could not be enabled: `f` is not run then).
pub fn with_privileges<T>(names: &[&str], f: impl FnOnce() -> T) -> Result<T, String> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: on success `token` is a new handle, owned below.
    if unsafe {
        OpenProcessToken(
            GetCurrentProcess(),
            TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY,
            &mut token,
        )
    } == 0
    {
        return Err("the process token could not be opened".into());
    }
    // SAFETY: a new handle, owned by nothing else.
    let token = unsafe { OwnedHandle::from_raw_handle(token as _) };
    let h = token.as_raw_handle() as HANDLE;
    let mut restore = Vec::new();
    let mut failure = None;
    for name in names {
        match luid(name).and_then(|l| adjust(h, l, SE_PRIVILEGE_ENABLED, name).map(|p| (l, p))) {
            Ok(x) => restore.push(x),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let result = match failure {
        None => Ok(f()),
        Some(e) => Err(e),
    };
    for (l, previous) in restore.into_iter().rev() {
        let _ = adjust(h, l, previous, "a privilege");
    }
    result
}
