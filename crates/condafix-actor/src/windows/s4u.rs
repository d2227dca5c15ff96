//! A token for a user who is not logged on, without their password: an S4U ("service for
//! user") logon through `LsaLogonUser`, the way Task Scheduler runs "whether the user is logged on
//! or not". SYSTEM holds SeTcbPrivilege, so the token can be impersonated; a local account goes
//! through MSV1_0, a domain account through Kerberos (tried in that order for a domain name that
//! is not this computer's). Entra ID accounts have no S4U logon: the answer is an error, and the
//! caller gives a verdict instead.
#![allow(unsafe_code)]

use std::os::windows::io::{AsRawHandle as _, FromRawHandle as _, OwnedHandle};

use windows_sys::Win32::Foundation::{HANDLE, LUID};
use windows_sys::Win32::Security::Authentication::Identity::{
    KerbS4ULogon, LsaConnectUntrusted, LsaDeregisterLogonProcess, LsaFreeReturnBuffer,
    LsaLogonUser, LsaLookupAuthenticationPackage, LsaNtStatusToWinError, LsaRegisterLogonProcess,
    MsV1_0S4ULogon, NameSamCompatible, NameUserPrincipal, TranslateNameW, KERB_S4U_LOGON,
    LSA_STRING, LSA_UNICODE_STRING, MSV1_0_S4U_LOGON, SECURITY_LOGON_TYPE,
};
use windows_sys::Win32::Security::{
    AllocateLocallyUniqueId, TokenImpersonationLevel, TokenType, QUOTA_LIMITS, TOKEN_SOURCE,
};

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

/// Whether a token of this type (1 primary, 2 impersonation) and impersonation level can be
/// impersonated for work: a primary token, or an impersonation token at SecurityImpersonation
/// (2) or SecurityDelegation (3). An identification-level token (what LSA gives a caller
/// without SeTcbPrivilege) lets the system say who the user is, not act as them: every open
/// would fail with ERROR_BAD_IMPERSONATION_LEVEL.
pub fn can_act_with(token_type: i32, level: Option<i32>) -> bool {
    match token_type {
        1 => true,
        2 => level.is_some_and(|l| l >= 2),
        _ => false,
    }
}

/// A token's type and, for an impersonation token, its level.
fn token_kind(token: HANDLE) -> Option<(i32, Option<i32>)> {
    use crate::windows::token::token_enum;
    let t = token_enum(token, TokenType)?;
    Some((
        t,
        if t == 2 {
            token_enum(token, TokenImpersonationLevel)
        } else {
            None
        },
    ))
}

/// The user principal name of `DOMAIN\user` (Kerberos S4U wants a UPN), when the directory
/// answers.
fn upn_of(user: &str, domain: &str) -> Option<String> {
    let sam: Vec<u16> = format!("{domain}\\{user}")
        .encode_utf16()
        .chain(Some(0))
        .collect();
    let mut buf = vec![0u16; 1024];
    let mut len = buf.len() as u32;
    // SAFETY: `sam` is NUL-terminated; `buf` holds `len` UTF-16 units, updated by the call.
    let ok = unsafe {
        TranslateNameW(
            sam.as_ptr(),
            NameSamCompatible,
            NameUserPrincipal,
            buf.as_mut_ptr(),
            &mut len,
        )
    };
    if !ok || len == 0 {
        return None;
    }
    let n = (len as usize).min(buf.len());
    let s = String::from_utf16_lossy(&buf[..n]);
    let s = s.trim_end_matches('\0').to_string();
    s.contains('@').then_some(s)
}

/// A handle to LSA for S4U logons: registered as a logon process with SeTcbPrivilege (held by
/// SYSTEM) so the token can be impersonated; else untrusted, whose tokens identify only (then
/// refused by [`token_for`]).
fn connect() -> Result<HANDLE, String> {
    let mut lsa: HANDLE = std::ptr::null_mut();
    let name = lsa_string(b"condafix");
    let mut mode = 0u32;
    let registered = crate::windows::privilege::with_privileges(&["SeTcbPrivilege"], || {
        // SAFETY: on success `lsa` is an LSA handle, deregistered by the caller.
        unsafe { LsaRegisterLogonProcess(&name, &mut lsa, &mut mode) }
    });
    if matches!(registered, Ok(st) if st >= 0) && !lsa.is_null() {
        return Ok(lsa);
    }
    lsa = std::ptr::null_mut();
    // SAFETY: as above.
    let st = unsafe { LsaConnectUntrusted(&mut lsa) };
    if st < 0 {
        return Err(format!("LsaConnectUntrusted: {}", status_text(st)));
    }
    Ok(lsa)
}

/// An S4U token for the account `sid` that condafix can act with, or why there is none.
pub fn token_for(sid: &str) -> Result<OwnedHandle, String> {
    let (_, user, domain) = crate::windows::account::lookup_full(sid)
        .ok_or_else(|| "the account could not be looked up".to_string())?;
    let lsa = connect()?;
    let local = std::env::var("COMPUTERNAME")
        .map(|c| c.eq_ignore_ascii_case(&domain))
        .unwrap_or(false);
    let result = if local {
        logon(lsa, false, &user, &domain)
    } else {
        // Kerberos wants the user's UPN (with no realm, it finds the realm from it); without
        // an answer from the directory, `user@DOMAIN` and the domain as the realm.
        let kerberos = match upn_of(&user, &domain) {
            Some(upn) => logon(lsa, true, &upn, ""),
            None => logon(lsa, true, &format!("{user}@{domain}"), &domain),
        };
        kerberos
            .or_else(|first| logon(lsa, false, &user, &domain).map_err(|e| format!("{first}; {e}")))
    };
    // SAFETY: the handle from LsaRegisterLogonProcess or LsaConnectUntrusted.
    unsafe {
        LsaDeregisterLogonProcess(lsa);
    }
    let token = result?;
    match token_kind(token.as_raw_handle() as HANDLE) {
        Some((t, level)) if can_act_with(t, level) => Ok(token),
        Some(_) => Err("LSA gave an identification-only token (SeTcbPrivilege is not held): condafix cannot act as them with it".into()),
        None => Err(format!(
            "the token's type could not be read: {}",
            std::io::Error::last_os_error()
        )),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_token_that_can_act_is_taken() {
        use super::can_act_with as can;
        assert!(can(1, None), "primary");
        assert!(can(2, Some(2)), "impersonation level");
        assert!(can(2, Some(3)), "delegation level");
        assert!(!can(2, Some(1)), "identification only");
        assert!(!can(2, Some(0)), "anonymous");
        assert!(!can(2, None));
        assert!(!can(0, None));
    }
}
