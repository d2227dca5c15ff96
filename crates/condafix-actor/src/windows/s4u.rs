//! A token for a user who is not logged on, without their password: an S4U ("service for
//! user") logon through `LsaLogonUser`, the way Task Scheduler runs "whether the user is logged on
//! or not". SYSTEM holds SeTcbPrivilege, so the token can be impersonated; a local account goes
//! through MSV1_0, a domain account through Kerberos (tried in that order for a domain name that
//! is not this computer's). Entra ID accounts have no S4U logon: the answer is an error, and the
//! caller gives a verdict instead.
#![allow(unsafe_code)]

use std::os::windows::io::{FromRawHandle as _, OwnedHandle};

use windows_sys::Win32::Foundation::{HANDLE, LUID};
use windows_sys::Win32::Security::Authentication::Identity::{
    KerbS4ULogon, LsaConnectUntrusted, LsaDeregisterLogonProcess, LsaFreeReturnBuffer,
    LsaLogonUser, LsaLookupAuthenticationPackage, LsaNtStatusToWinError, MsV1_0S4ULogon,
    KERB_S4U_LOGON, LSA_STRING, LSA_UNICODE_STRING, MSV1_0_S4U_LOGON, SECURITY_LOGON_TYPE,
};
use windows_sys::Win32::Security::{AllocateLocallyUniqueId, QUOTA_LIMITS, TOKEN_SOURCE};

fn lsa_string(s: &'static [u8]) -> LSA_STRING {
    LSA_STRING {
        Length: s.len() as u16,
        MaximumLength: s.len() as u16,
        Buffer: s.as_ptr() as *mut u8,
    }
}

fn status_text(status: i32) -> String {
    // SAFETY: a pure conversion.
    let code = unsafe { LsaNtStatusToWinError(status) };
    format!("error {code}")
}

/// The logon buffer: the structure, then the two strings it points at (LSA wants one block).
fn logon_buffer(kerberos: bool, user: &str, domain: &str) -> Vec<u64> {
    let user: Vec<u16> = user.encode_utf16().collect();
    let domain: Vec<u16> = domain.encode_utf16().collect();
    let head = if kerberos {
        std::mem::size_of::<KERB_S4U_LOGON>()
    } else {
        std::mem::size_of::<MSV1_0_S4U_LOGON>()
    };
    let bytes = head + (user.len() + domain.len()) * 2;
    let mut buf = vec![0u64; bytes.div_ceil(8)];
    let base = buf.as_mut_ptr() as *mut u8;
    // SAFETY: `buf` holds the header and both strings; the string pointers point into `buf`,
    // which the caller keeps alive for the LsaLogonUser call.
    unsafe {
        let up = base.add(head) as *mut u16;
        std::ptr::copy_nonoverlapping(user.as_ptr(), up, user.len());
        let dp = up.add(user.len());
        std::ptr::copy_nonoverlapping(domain.as_ptr(), dp, domain.len());
        let us = |p: *mut u16, n: usize| LSA_UNICODE_STRING {
            Length: (n * 2) as u16,
            MaximumLength: (n * 2) as u16,
            Buffer: p,
        };
        if kerberos {
            let s = KERB_S4U_LOGON {
                MessageType: KerbS4ULogon,
                Flags: 0,
                ClientUpn: us(up, user.len()),
                ClientRealm: us(dp, domain.len()),
            };
            std::ptr::write_unaligned(base as *mut KERB_S4U_LOGON, s);
        } else {
            let s = MSV1_0_S4U_LOGON {
                MessageType: MsV1_0S4ULogon,
                Flags: 0,
                UserPrincipalName: us(up, user.len()),
                DomainName: us(dp, domain.len()),
            };
            std::ptr::write_unaligned(base as *mut MSV1_0_S4U_LOGON, s);
        }
    }
    buf.truncate(bytes.div_ceil(8));
    buf
}

fn logon(lsa: HANDLE, kerberos: bool, user: &str, domain: &str) -> Result<OwnedHandle, String> {
    let package_name: &'static [u8] = if kerberos {
        b"Kerberos"
    } else {
        b"MICROSOFT_AUTHENTICATION_PACKAGE_V1_0"
    };
    let package_name = lsa_string(package_name);
    let mut package = 0u32;
    // SAFETY: the LSA handle is open; the package name lives for the call.
    let st = unsafe { LsaLookupAuthenticationPackage(lsa, &package_name, &mut package) };
    if st < 0 {
        return Err(format!("no authentication package: {}", status_text(st)));
    }
    let buf = logon_buffer(kerberos, user, domain);
    let origin = lsa_string(b"condafix");
    let mut source: TOKEN_SOURCE = unsafe { std::mem::zeroed() };
    for (d, s) in source.SourceName.iter_mut().zip(b"condafix") {
        *d = *s as i8;
    }
    // SAFETY: writes a new LUID into `source`.
    unsafe {
        AllocateLocallyUniqueId(&mut source.SourceIdentifier);
    }
    let mut profile: *mut core::ffi::c_void = std::ptr::null_mut();
    let mut profile_len = 0u32;
    let mut logon_id = LUID {
        LowPart: 0,
        HighPart: 0,
    };
    let mut token: HANDLE = std::ptr::null_mut();
    let mut quotas: QUOTA_LIMITS = unsafe { std::mem::zeroed() };
    let mut sub = 0i32;
    // SAFETY: every pointer refers to a local that outlives the call; the logon buffer is one
    // block holding the strings it points at.
    let st = unsafe {
        LsaLogonUser(
            lsa,
            &origin,
            SECURITY_LOGON_TYPE::Network,
            package,
            buf.as_ptr() as *const _,
            (buf.len() * 8) as u32,
            std::ptr::null(),
            &source,
            &mut profile,
            &mut profile_len,
            &mut logon_id,
            &mut token,
            &mut quotas,
            &mut sub,
        )
    };
    if !profile.is_null() {
        // SAFETY: the profile buffer came from LSA.
        unsafe {
            LsaFreeReturnBuffer(profile);
        }
    }
    if st < 0 || token.is_null() {
        return Err(format!("LsaLogonUser: {}", status_text(st)));
    }
    // SAFETY: a new token handle, owned from here on.
    Ok(unsafe { OwnedHandle::from_raw_handle(token as _) })
}

/// An S4U token for the account `sid`, or why there is none.
pub fn token_for(sid: &str) -> Result<OwnedHandle, String> {
    let (_, user, domain) = crate::windows::account::lookup_full(sid)
        .ok_or_else(|| "the account could not be looked up".to_string())?;
    let mut lsa: HANDLE = std::ptr::null_mut();
    // SAFETY: on success `lsa` is an LSA handle, deregistered below.
    let st = unsafe { LsaConnectUntrusted(&mut lsa) };
    if st < 0 {
        return Err(format!("LsaConnectUntrusted: {}", status_text(st)));
    }
    let local = std::env::var("COMPUTERNAME")
        .map(|c| c.eq_ignore_ascii_case(&domain))
        .unwrap_or(false);
    let result = if local {
        logon(lsa, false, &user, &domain)
    } else {
        logon(lsa, true, &format!("{user}@{domain}"), &domain)
            .or_else(|first| logon(lsa, false, &user, &domain).map_err(|e| format!("{first}; {e}")))
    };
    // SAFETY: the handle from LsaConnectUntrusted.
    unsafe {
        LsaDeregisterLogonProcess(lsa);
    }
    result
}
