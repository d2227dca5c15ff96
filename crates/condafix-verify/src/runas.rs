//! Running the probe as the user who alone may change a prefix, when condafix runs as SYSTEM
//! (Intune, ConfigMgr) or as root: their code then runs with their own rights, never with
//! condafix's. On Windows the user must be logged on: their token comes from their session
//! (`WTSQueryUserToken`), the process starts with `CreateProcessAsUserW` on their desktop with
//! their own environment block; on Unix the child switches to their uid and gid before it runs.

use std::ffi::OsString;

/// A user to start the interpreter as.
pub struct RunAs {
    /// Who, as [`crate::rights::Writers`] names them (`S-1-5-21-…`, `uid N`).
    pub who: String,
    /// Their environment, the base the launch environment is built from.
    env: UserEnv,
    /// A folder every user can read, to run in (condafix's own temp folder may not be theirs):
    /// `%SystemRoot%` on Windows, `/` on Unix.
    cwd: std::path::PathBuf,
    #[cfg(unix)]
    pub(crate) uid: u32,
    #[cfg(unix)]
    pub(crate) gid: u32,
    #[cfg(windows)]
    pub(crate) token: std::os::windows::io::OwnedHandle,
}

impl std::fmt::Debug for RunAs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunAs").field("who", &self.who).finish()
    }
}

/// A user's environment, as each platform gives it.
enum UserEnv {
    /// Their own whole environment (Windows: their environment block).
    #[cfg_attr(not(windows), allow(dead_code))]
    Own(Vec<(OsString, OsString)>),
    /// This process's, with these of theirs in place (Unix: HOME, USER, LOGNAME).
    #[cfg_attr(windows, allow(dead_code))]
    Over(Vec<(OsString, OsString)>),
}

impl RunAs {
    /// The environment the launch starts from, for this user.
    pub fn base_env(&self, process: &[(OsString, OsString)]) -> Vec<(OsString, OsString)> {
        match &self.env {
            UserEnv::Own(env) => env.clone(),
            UserEnv::Over(theirs) => process
                .iter()
                .filter(|(k, _)| !theirs.iter().any(|(o, _)| o == k))
                .chain(theirs)
                .cloned()
                .collect(),
        }
    }

    /// The folder to run in.
    pub fn cwd(&self) -> &std::path::Path {
        &self.cwd
    }
}

/// The user `id` names, ready to start a process as, or why not.
pub fn as_user(id: &str) -> Result<RunAs, String> {
    platform::as_user(id)
}

#[cfg(unix)]
#[allow(unsafe_code)]
mod platform {
    use std::ffi::{CStr, OsString};
    use std::os::unix::ffi::OsStringExt as _;

    use super::{RunAs, UserEnv};

    pub fn as_user(id: &str) -> Result<RunAs, String> {
        let uid: u32 = id
            .strip_prefix("uid ")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("{id} is not a user"))?;
        let mut pw: libc::passwd = zeroed_passwd();
        let mut buf = vec![0u8; 16 * 1024];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: getpwuid_r writes into `pw` and `buf` (its size passed) and sets `result`
        // to `&mut pw` on success; the strings read below live in `buf`.
        let (gid, home, name) = unsafe {
            let rc = libc::getpwuid_r(
                uid,
                &mut pw,
                buf.as_mut_ptr() as *mut libc::c_char,
                buf.len(),
                &mut result,
            );
            if rc != 0 || result.is_null() {
                return Err(format!("uid {uid} has no account on this machine"));
            }
            let s = |p: *const libc::c_char| {
                if p.is_null() {
                    OsString::new()
                } else {
                    OsString::from_vec(CStr::from_ptr(p).to_bytes().to_vec())
                }
            };
            (pw.pw_gid, s(pw.pw_dir), s(pw.pw_name))
        };
        Ok(RunAs {
            who: id.to_string(),
            env: UserEnv::Over(vec![
                ("HOME".into(), home),
                ("USER".into(), name.clone()),
                ("LOGNAME".into(), name),
            ]),
            cwd: "/".into(),
            uid,
            gid,
        })
    }

    fn zeroed_passwd() -> libc::passwd {
        // SAFETY: `passwd` is plain data (integers and pointers); all-zero is a valid value.
        unsafe { std::mem::zeroed() }
    }
}

#[cfg(windows)]
#[allow(unsafe_code)]
mod platform {
    use std::ffi::OsString;
    use std::os::windows::ffi::OsStringExt as _;
    use std::os::windows::io::AsRawHandle as _;

    use windows_sys::Win32::Foundation::HANDLE;
    use windows_sys::Win32::System::Environment::{
        CreateEnvironmentBlock, DestroyEnvironmentBlock,
    };

    use super::{RunAs, UserEnv};

    pub fn as_user(id: &str) -> Result<RunAs, String> {
        if !condafix_actor::is_user_account(id) {
            return Err(format!("{id} is not a user account"));
        }
        // A logged-on user's own session token (only SYSTEM may ask; the error says which
        // way it failed: not logged on, or a privilege this process does not hold).
        let owned =
            condafix_actor::windows::token::logged_on_token(id).map_err(|e| e.to_string())?;
        let token = owned.as_raw_handle() as HANDLE;
        let env = user_environment(token)
            .ok_or_else(|| format!("the environment of {id} could not be read"))?;
        let cwd = env
            .iter()
            .find(|(k, _)| k.to_string_lossy().eq_ignore_ascii_case("SystemRoot"))
            .map(|(_, v)| std::path::PathBuf::from(v))
            .unwrap_or_else(|| "C:\\Windows".into());
        Ok(RunAs {
            who: id.to_string(),
            env: UserEnv::Own(env),
            cwd,
            token: owned,
        })
    }

    /// The user's own environment block (their profile's variables, not SYSTEM's).
    fn user_environment(token: HANDLE) -> Option<Vec<(OsString, OsString)>> {
        let mut block: *mut core::ffi::c_void = std::ptr::null_mut();
        // SAFETY: the block is a sequence of NUL-terminated UTF-16 strings ending with an
        // empty one; it is read up to there and destroyed once.
        unsafe {
            if CreateEnvironmentBlock(&mut block, token, 0) == 0 || block.is_null() {
                return None;
            }
            let mut out = Vec::new();
            let mut p = block as *const u16;
            loop {
                let mut len = 0;
                while *p.add(len) != 0 {
                    len += 1;
                }
                if len == 0 {
                    break;
                }
                let entry = std::slice::from_raw_parts(p, len);
                // `=C:=C:\…` entries start with '=': the name is up to the second '='.
                if let Some(eq) = entry.iter().skip(1).position(|&c| c == u16::from(b'=')) {
                    let eq = eq + 1;
                    out.push((
                        OsString::from_wide(&entry[..eq]),
                        OsString::from_wide(&entry[eq + 1..]),
                    ));
                }
                p = p.add(len + 1);
            }
            DestroyEnvironmentBlock(block);
            Some(out)
        }
    }
}

#[cfg(not(any(unix, windows)))]
mod platform {
    pub fn as_user(id: &str) -> Result<super::RunAs, String> {
        Err(format!("starting a program as {id} is not supported here"))
    }
}
