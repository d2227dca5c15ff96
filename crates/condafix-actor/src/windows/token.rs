//! Tokens: which account this process is, whether it is elevated, a logged-on user's token
//! (`WTSQueryUserToken`, which only SYSTEM may call), and acting as that user on the calling
//! thread (`ImpersonateLoggedOnUser` / `RevertToSelf`).
#![allow(unsafe_code)]

use std::os::windows::io::{AsRawHandle as _, FromRawHandle as _, OwnedHandle};

use windows_sys::Win32::Foundation::{CloseHandle, GetLastError, LocalFree, HANDLE};
use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
use windows_sys::Win32::Security::{
    GetTokenInformation, ImpersonateLoggedOnUser, RevertToSelf, TokenElevation,
    TokenImpersonationLevel, TokenUser, PSID, TOKEN_ELEVATION, TOKEN_IMPERSONATE,
    TOKEN_INFORMATION_CLASS, TOKEN_QUERY,
};
use windows_sys::Win32::System::RemoteDesktop::{
    WTSEnumerateSessionsW, WTSFreeMemory, WTSGetActiveConsoleSessionId, WTSQueryUserToken,
    WTS_SESSION_INFOW,
};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetCurrentThread, OpenProcessToken, OpenThreadToken, SetThreadToken,
};

use crate::identity::{Account, AccountId, IdentityError};

/// A SID as text (`S-1-5-…`).
pub fn sid_to_string(sid: PSID) -> Option<String> {
    if sid.is_null() {
        return None;
    }
    let mut out: *mut u16 = std::ptr::null_mut();
    // SAFETY: `sid` points at a SID that lives for the call; the string is freed here.
    unsafe {
        if ConvertSidToStringSidW(sid, &mut out) == 0 || out.is_null() {
            return None;
        }
        let mut len = 0;
        while *out.add(len) != 0 {
            len += 1;
        }
        let s = String::from_utf16_lossy(std::slice::from_raw_parts(out, len));
        LocalFree(out as _);
        Some(s)
    }
}

/// The user SID of a token.
pub fn token_sid(token: HANDLE) -> Option<String> {
    let mut buf = vec![0u8; 256];
    let mut len = 0u32;
    // SAFETY: the buffer is ours and its size is passed; TOKEN_USER is read only on success.
    unsafe {
        let ok = GetTokenInformation(
            token,
            TokenUser,
            buf.as_mut_ptr() as *mut core::ffi::c_void,
            buf.len() as u32,
            &mut len,
        );
        if ok == 0 {
            return None;
        }
        let user = std::ptr::read_unaligned(
            buf.as_ptr() as *const windows_sys::Win32::Security::TOKEN_USER
        );
        sid_to_string(user.User.Sid)
    }
}

fn process_token() -> Option<OwnedHandle> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: on success `token` is a new handle, owned from here on.
    unsafe {
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
            return None;
        }
        Some(OwnedHandle::from_raw_handle(token as _))
    }
}

/// The SID of the account this process runs as.
pub fn process_sid() -> Option<String> {
    let t = process_token()?;
    token_sid(t.as_raw_handle() as HANDLE)
}

/// Whether this process runs with an elevated token (or as SYSTEM).
pub fn process_is_elevated() -> bool {
    if process_sid().as_deref() == Some("S-1-5-18") {
        return true;
    }
    let Some(t) = process_token() else {
        return false;
    };
    let mut elevation = TOKEN_ELEVATION { TokenIsElevated: 0 };
    let mut len = 0u32;
    // SAFETY: the structure is sized by its type.
    let ok = unsafe {
        GetTokenInformation(
            t.as_raw_handle() as HANDLE,
            TokenElevation,
            &mut elevation as *mut _ as *mut core::ffi::c_void,
            std::mem::size_of::<TOKEN_ELEVATION>() as u32,
            &mut len,
        )
    };
    ok != 0 && elevation.TokenIsElevated != 0
}

/// Whether a session in this state may hold a signed-in user: active, connected, idle, and
/// disconnected (fast user switching, a closed RDP window, a locked screen left: signed in, not
/// connected); not a listener, one being reset, down or starting, nor session 0 (services).
/// `WTSQueryUserToken` answers 1008 for one that holds no user after all.
pub fn session_may_have_user(id: u32, state: i32) -> bool {
    // WTS_CONNECTSTATE_CLASS: 0 Active, 1 Connected, 2 ConnectQuery, 3 Shadow,
    // 4 Disconnected, 5 Idle, 6 Listen, 7 Reset, 8 Down, 9 Init.
    id != 0 && matches!(state, 0..=5)
}

/// The sessions a user may be signed in to (see [`session_may_have_user`]), and the console's.
pub fn sessions() -> Vec<u32> {
    let mut ids = Vec::new();
    // SAFETY: the array WTSEnumerateSessionsW returns holds `count` entries and is freed once.
    unsafe {
        let mut info: *mut WTS_SESSION_INFOW = std::ptr::null_mut();
        let mut count = 0u32;
        if WTSEnumerateSessionsW(std::ptr::null_mut(), 0, 1, &mut info, &mut count) != 0
            && !info.is_null()
        {
            for s in std::slice::from_raw_parts(info, count as usize) {
                if session_may_have_user(s.SessionId, s.State) {
                    ids.push(s.SessionId);
                }
            }
            WTSFreeMemory(info as *mut core::ffi::c_void);
        }
        let console = WTSGetActiveConsoleSessionId();
        if console != u32::MAX && !ids.contains(&console) {
            ids.push(console);
        }
    }
    ids
}

/// Why `WTSQueryUserToken` gave no token, told apart: no privilege (1314: only SYSTEM may
/// ask), or the user is not logged on to any session.
pub fn logged_on_token(sid: &str) -> Result<OwnedHandle, IdentityError> {
    let mut last_error = 0u32;
    for session in sessions() {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: on success `token` is a primary token this process owns from here on.
        if unsafe { WTSQueryUserToken(session, &mut token) } == 0 || token.is_null() {
            // SAFETY: reads the calling thread's last error.
            last_error = unsafe { GetLastError() };
            if last_error == 1314 {
                break;
            }
            continue;
        }
        // SAFETY: a valid handle, owned by nothing else.
        let owned = unsafe { OwnedHandle::from_raw_handle(token as _) };
        if token_sid(token).is_some_and(|s| s.eq_ignore_ascii_case(sid)) {
            return Ok(owned);
        }
    }
    Err(IdentityError::from_session_token_error(sid, last_error))
}

/// The account `id` names, with a token to act as it: a logged-on user's session token, else an
/// S4U token (`LsaLogonUser`, the way Task Scheduler runs a task for a user who is not logged
/// on), else why not.
pub fn account_for(id: &AccountId) -> Result<Account, IdentityError> {
    let AccountId::Sid(sid) = id else {
        return Err(IdentityError::Unavailable {
            who: id.to_string(),
            why: "it is not a Windows account".into(),
        });
    };
    let name = crate::windows::account::lookup(sid).map(|(_, n)| n);
    let token = match logged_on_token(sid) {
        Ok(t) => t,
        Err(e @ IdentityError::NoPrivilege { .. }) => return Err(e),
        Err(not_logged_on) => match crate::windows::s4u::token_for(sid) {
            Ok(t) => t,
            Err(why) => {
                return Err(match not_logged_on {
                    IdentityError::NotLoggedOn { who, why: first } => IdentityError::NotLoggedOn {
                        who,
                        why: format!("{first}; an S4U token could not be had either: {why}"),
                    },
                    other => other,
                })
            }
        },
    };
    Ok(Account {
        id: id.clone(),
        name,
        token,
    })
}

/// Back to this process's own token when dropped.
pub struct Guard {
    /// The impersonation token the thread had before (an identity entered inside another's
    /// work): put back when this one ends, since `RevertToSelf` would go to the process's.
    previous: Option<OwnedHandle>,
    /// Impersonation belongs to the thread: the guard must end it on the thread it began on.
    _thread_bound: std::marker::PhantomData<*const ()>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let ok = match &self.previous {
            // SAFETY: puts the saved impersonation token back on the calling thread.
            Some(t) => unsafe {
                SetThreadToken(std::ptr::null(), t.as_raw_handle() as HANDLE) != 0
            },
            // SAFETY: ends the impersonation of the calling thread.
            None => unsafe { RevertToSelf() != 0 },
        };
        if !ok {
            // Going on as the user would make every later step wrong: stop here.
            std::process::abort();
        }
    }
}

/// A token's information of an enum class (`TokenType`, `TokenImpersonationLevel`).
pub(crate) fn token_enum(token: HANDLE, class: TOKEN_INFORMATION_CLASS) -> Option<i32> {
    let mut v = 0i32;
    let mut len = 0u32;
    // SAFETY: a 4-byte enum out-parameter sized by its type.
    let ok = unsafe {
        GetTokenInformation(
            token,
            class,
            &mut v as *mut i32 as *mut core::ffi::c_void,
            4,
            &mut len,
        )
    };
    (ok != 0).then_some(v)
}

/// The calling thread's impersonation token, opened with `access` as the process (not as the
/// impersonated user): `Ok(None)` when the thread has none (ERROR_NO_TOKEN), else the error.
fn thread_token(access: u32) -> Result<Option<OwnedHandle>, u32> {
    let mut h: HANDLE = std::ptr::null_mut();
    // SAFETY: on success `h` is a new handle, owned below.
    if unsafe { OpenThreadToken(GetCurrentThread(), access, 1, &mut h) } == 0 || h.is_null() {
        // SAFETY: reads the calling thread's last error.
        return match unsafe { GetLastError() } {
            1008 => Ok(None),
            code => Err(code),
        };
    }
    // SAFETY: a new handle, owned by nothing else.
    Ok(Some(unsafe { OwnedHandle::from_raw_handle(h as _) }))
}

pub fn enter(account: &Account) -> Result<Guard, IdentityError> {
    // What to go back to: without it, ending this identity would go on as SYSTEM.
    let previous = thread_token(TOKEN_IMPERSONATE | TOKEN_QUERY).map_err(|code| {
        IdentityError::Unavailable {
            who: account.id.to_string(),
            why: format!("the thread's current identity could not be saved (error {code})"),
        }
    })?;
    // SAFETY: the token handle is open for the lifetime of `account`.
    if unsafe { ImpersonateLoggedOnUser(account.token.as_raw_handle() as HANDLE) } == 0 {
        // SAFETY: reads the calling thread's last error.
        let code = unsafe { GetLastError() };
        return Err(IdentityError::Unavailable {
            who: account.id.to_string(),
            why: format!("ImpersonateLoggedOnUser answered error {code}"),
        });
    }
    let guard = Guard {
        previous,
        _thread_bound: std::marker::PhantomData,
    };
    // An identification-level token "succeeds" here and fails every open after: refuse it now.
    let level = thread_token(TOKEN_QUERY)
        .ok()
        .flatten()
        .and_then(|t| token_enum(t.as_raw_handle() as HANDLE, TokenImpersonationLevel));
    if !level.is_some_and(|l| l >= 2) {
        drop(guard);
        return Err(IdentityError::Unavailable {
            who: account.id.to_string(),
            why: "its token identifies them but cannot act as them (identification level)".into(),
        });
    }
    Ok(guard)
}

/// Close a raw token handle (for callers that got one from elsewhere).
pub fn close(h: HANDLE) {
    // SAFETY: the caller owns `h`.
    unsafe {
        CloseHandle(h);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_signed_in_user_in_a_disconnected_session_is_still_signed_in() {
        use super::session_may_have_user as may;
        // Active, connected, idle and disconnected (fast user switching, RDP closed).
        for state in [0, 1, 4, 5] {
            assert!(may(1, state), "{state}");
        }
        // A listener, a reset, a down or a starting session; session 0 in any state.
        for state in [6, 7, 8, 9] {
            assert!(!may(2, state), "{state}");
        }
        assert!(!may(0, 0));
        assert!(!may(0, 4));
    }
}
