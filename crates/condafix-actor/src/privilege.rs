//! What rights this process has: elevated (an administrator's elevated token, SYSTEM, root),
//! and whether it is SYSTEM.

/// Whether this process runs with an administrator's elevated token or as SYSTEM (Windows), or
/// as root (Unix). `CONDAFIX_ASSUME_ELEVATED=1` or `=0` (debug builds) makes tests take the
/// elevated path, or the ordinary one, whatever the process really is.
pub fn process_is_elevated() -> bool {
    if cfg!(debug_assertions) {
        match std::env::var(ENV_ASSUME_ELEVATED).as_deref() {
            Ok("1") => return true,
            Ok("0") => return false,
            _ => {}
        }
    }
    platform::elevated()
}

/// The test seam of [`process_is_elevated`] (debug builds only).
pub const ENV_ASSUME_ELEVATED: &str = "CONDAFIX_ASSUME_ELEVATED";

/// Whether this process runs as SYSTEM (Intune, ConfigMgr, a service): then it works for every
/// user's installs, not for its own profile's. There is no SYSTEM on Unix.
pub fn process_is_system() -> bool {
    platform::system()
}

/// Whether this process may start a program as another user: as SYSTEM on Windows (it holds
/// the privileges `CreateProcessAsUserW` needs, and `WTSQueryUserToken` answers only it), as
/// root on Unix. `CONDAFIX_ASSUME_SYSTEM=1` (debug builds, Windows) lets the Windows lane take
/// that path under Wine, whose `WTSQueryUserToken` answers for its one user.
pub fn can_start_as_user() -> bool {
    if cfg!(all(windows, debug_assertions))
        && std::env::var("CONDAFIX_ASSUME_SYSTEM").as_deref() == Ok("1")
    {
        return true;
    }
    platform::can_start_as_user()
}

#[cfg(unix)]
mod platform {
    #[allow(unsafe_code)]
    pub fn elevated() -> bool {
        // SAFETY: geteuid(2) has no preconditions and touches no memory.
        unsafe { libc::geteuid() == 0 }
    }

    pub fn system() -> bool {
        false
    }

    pub fn can_start_as_user() -> bool {
        elevated()
    }
}

#[cfg(windows)]
mod platform {
    pub fn elevated() -> bool {
        crate::windows::token::process_is_elevated()
    }

    pub fn system() -> bool {
        crate::windows::token::process_sid().as_deref() == Some("S-1-5-18")
    }

    pub fn can_start_as_user() -> bool {
        system()
    }
}

#[cfg(not(any(unix, windows)))]
mod platform {
    pub fn elevated() -> bool {
        false
    }
    pub fn system() -> bool {
        false
    }
    pub fn can_start_as_user() -> bool {
        false
    }
}
