//! What a user account is, decided in one place: `LookupAccountSidW` says `SidTypeUser`; when
//! the system cannot answer (a domain controller out of reach, an Entra ID account on a machine
//! offline), a local or domain SID (`S-1-5-21-…`) or an Entra ID SID (`S-1-12-1-…`) is one.
#![allow(unsafe_code)]

use windows_sys::Win32::Foundation::LocalFree;
use windows_sys::Win32::Security::Authorization::ConvertStringSidToSidW;
use windows_sys::Win32::Security::{LookupAccountSidW, PSID, SID_NAME_USE};

const SID_TYPE_USER: SID_NAME_USE = 1;

/// What the system says a SID is: its kind and name (`None`: it cannot say).
pub fn lookup(sid: &str) -> Option<(SID_NAME_USE, String)> {
    lookup_full(sid).map(|(k, n, _)| (k, n))
}

/// What the system says a SID is: its kind, name and domain (`None`: it cannot say).
pub fn lookup_full(sid: &str) -> Option<(SID_NAME_USE, String, String)> {
    let w: Vec<u16> = sid.encode_utf16().chain(Some(0)).collect();
    let mut psid: PSID = std::ptr::null_mut();
    // SAFETY: `w` is NUL-terminated; `psid` is freed with LocalFree; the name buffers are ours
    // and their sizes are passed.
    unsafe {
        if ConvertStringSidToSidW(w.as_ptr(), &mut psid) == 0 {
            return None;
        }
        let mut name = vec![0u16; 256];
        let mut name_len = name.len() as u32;
        let mut domain = vec![0u16; 256];
        let mut domain_len = domain.len() as u32;
        let mut kind: SID_NAME_USE = 0;
        let ok = LookupAccountSidW(
            std::ptr::null(),
            psid,
            name.as_mut_ptr(),
            &mut name_len,
            domain.as_mut_ptr(),
            &mut domain_len,
            &mut kind,
        );
        LocalFree(psid as _);
        (ok != 0).then(|| {
            (
                kind,
                String::from_utf16_lossy(&name[..name_len as usize]),
                String::from_utf16_lossy(&domain[..domain_len as usize]),
            )
        })
    }
}

/// Whether `sid` is a user account (see the module documentation).
pub fn is_user(sid: &str) -> bool {
    match lookup(sid) {
        Some((kind, _)) => kind == SID_TYPE_USER,
        None => crate::control::sid_is_user_account(sid),
    }
}
