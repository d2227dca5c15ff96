//! A security descriptor read from a handle (or made by Windows from an SDDL string), as the pure
//! evaluator's [`Descriptor`].
#![allow(unsafe_code)]

use windows_sys::Win32::Foundation::{LocalFree, HANDLE};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, GetSecurityInfo, SE_FILE_OBJECT,
};
use windows_sys::Win32::Security::{
    GetAce, GetSecurityDescriptorDacl, GetSecurityDescriptorOwner, ACE_HEADER, ACL,
    DACL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID,
};

use crate::control::{Ace, AceKind, Descriptor};

/// The owner and DACL of the object open as `h`.
pub fn descriptor_of(h: HANDLE) -> std::io::Result<Descriptor> {
    let mut owner: PSID = std::ptr::null_mut();
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: out-pointers into `sd`, freed at the end (owner and DACL are read from `sd`).
    let rc = unsafe {
        GetSecurityInfo(
            h,
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
            &mut owner,
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc as i32));
    }
    // SAFETY: `sd` is the descriptor GetSecurityInfo returned, alive until freed below.
    let out = unsafe { descriptor_from(sd) };
    // SAFETY: `sd` came from GetSecurityInfo.
    unsafe {
        LocalFree(sd as _);
    }
    Ok(out)
}

/// The owner and DACL of the security descriptor at `sd` (self-relative or absolute): no DACL or
/// a NULL DACL is `None`.
///
/// # Safety
/// `sd` points at a valid security descriptor for the duration of the call.
pub unsafe fn descriptor_from(sd: PSECURITY_DESCRIPTOR) -> Descriptor {
    let mut owner: PSID = std::ptr::null_mut();
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let (mut defaulted, mut present) = (0, 0);
    if GetSecurityDescriptorOwner(sd, &mut owner, &mut defaulted) == 0 {
        owner = std::ptr::null_mut();
    }
    if GetSecurityDescriptorDacl(sd, &mut present, &mut dacl, &mut defaulted) == 0 || present == 0 {
        dacl = std::ptr::null_mut();
    }
    Descriptor {
        owner: crate::windows::token::sid_to_string(owner),
        // SAFETY: `dacl` is null or a valid ACL inside `sd`.
        dacl: (!dacl.is_null()).then(|| aces(dacl)),
    }
}

/// The descriptor Windows makes of an SDDL string
/// (`ConvertStringSecurityDescriptorToSecurityDescriptorW`), for checking [`crate::sddl`].
pub fn descriptor_from_sddl(sddl: &str) -> std::io::Result<Descriptor> {
    const SDDL_REVISION_1: u32 = 1;
    let wide: Vec<u16> = sddl.encode_utf16().chain(std::iter::once(0)).collect();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: a NUL-terminated string and an out-pointer; `sd` is freed below.
    let ok = unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            wide.as_ptr(),
            SDDL_REVISION_1,
            &mut sd,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 || sd.is_null() {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `sd` is the descriptor just made; freed once, after it is read.
    let out = unsafe { descriptor_from(sd) };
    unsafe {
        LocalFree(sd as _);
    }
    Ok(out)
}

/// The ACEs of `acl`, each with its SID: plain ACEs (header, mask, SID) and object ACEs
/// (header, mask, flags, up to two GUIDs, SID).
unsafe fn aces(acl: *mut ACL) -> Vec<Ace> {
    let mut out = Vec::new();
    for i in 0..u32::from((*acl).AceCount) {
        let mut ace: *mut core::ffi::c_void = std::ptr::null_mut();
        if GetAce(acl, i, &mut ace) == 0 {
            continue;
        }
        let base = ace as *const u8;
        let header = std::ptr::read_unaligned(base as *const ACE_HEADER);
        let mask = std::ptr::read_unaligned(base.add(4) as *const u32);
        let object = matches!(
            header.AceType,
            0x5 | 0x6 | 0x7 | 0x8 | 0xB | 0xC | 0xF | 0x10
        );
        let sid_offset = if object {
            let flags = std::ptr::read_unaligned(base.add(8) as *const u32);
            12 + if flags & 1 != 0 { 16 } else { 0 } + if flags & 2 != 0 { 16 } else { 0 }
        } else {
            8
        };
        if sid_offset >= usize::from(header.AceSize) {
            continue;
        }
        let sid = crate::windows::token::sid_to_string(base.add(sid_offset) as PSID)
            .unwrap_or_else(|| "an unreadable SID".into());
        out.push(Ace {
            kind: AceKind::from_type(header.AceType),
            flags: header.AceFlags,
            mask,
            sid,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    /// Windows reads every SDDL string the evaluator's tests use as `crate::sddl` does.
    #[test]
    fn windows_parses_the_test_strings_as_the_sddl_parser_does() {
        let strings = crate::sddl::tests::windows_comparable();
        assert!(strings.len() >= 10);
        for s in strings {
            let ours = crate::sddl::parse(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
            let windows = super::descriptor_from_sddl(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(ours, windows, "{s}");
        }
    }
}
