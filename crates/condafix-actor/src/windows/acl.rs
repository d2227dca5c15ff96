//! A security descriptor read from a handle, as the pure evaluator's [`Descriptor`].
#![allow(unsafe_code)]

use windows_sys::Win32::Foundation::{LocalFree, HANDLE};
use windows_sys::Win32::Security::Authorization::{GetSecurityInfo, SE_FILE_OBJECT};
use windows_sys::Win32::Security::{
    GetAce, ACE_HEADER, ACL, DACL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION,
    PSECURITY_DESCRIPTOR, PSID,
};

use crate::control::{Ace, AceKind, Descriptor};

/// The owner and DACL of the object open as `h`.
pub fn descriptor_of(h: HANDLE) -> std::io::Result<Descriptor> {
    let mut owner: PSID = std::ptr::null_mut();
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: out-pointers into `sd`, freed at the end.
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
    let out = Descriptor {
        owner: crate::windows::token::sid_to_string(owner),
        // SAFETY: `dacl` is null or a valid ACL inside `sd`.
        dacl: (!dacl.is_null()).then(|| unsafe { aces(dacl) }),
    };
    // SAFETY: `sd` came from GetSecurityInfo.
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
