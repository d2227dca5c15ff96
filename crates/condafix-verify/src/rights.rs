//! Who may change what an interpreter runs: `verify` never runs a prefix's `python.exe` with
//! more rights than the people who can write to it. Elevated (an administrator's elevated token,
//! SYSTEM, root), condafix checks the ACL of the folders whose files the interpreter executes
//! (the prefix root with `python.exe` and `python3X.dll`, `DLLs\`, `Lib\`, `Library\bin`; the
//! venv's `Scripts\` too); when anyone but the administrators and the system may write there,
//! the interpreter is not run.

use std::path::{Path, PathBuf};

/// Someone other than the administrators and the system may change these files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WritableByOthers {
    pub path: PathBuf,
    /// Who: a SID or account on Windows, `uid N` or `group/other` on Unix.
    pub who: String,
}

/// Whether this process runs with an administrator's elevated token or as SYSTEM (Windows), or
/// as root (Unix). `CONDAFIX_ASSUME_ELEVATED=1` (debug builds) makes tests take the elevated
/// path without being elevated.
pub fn process_is_elevated() -> bool {
    if cfg!(debug_assertions) {
        match std::env::var("CONDAFIX_ASSUME_ELEVATED").as_deref() {
            Ok("1") => return true,
            Ok("0") => return false,
            _ => {}
        }
    }
    platform::elevated()
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

#[cfg(windows)]
pub(crate) use platform::token_sid;

/// Whether this process runs as SYSTEM (Intune, ConfigMgr, a service): then it works for every
/// user's installs, not for its own profile's.
pub fn process_is_system() -> bool {
    platform::system()
}

/// The folders whose files the interpreter of `prefix` executes.
pub fn executed_from(prefix: &Path, home: Option<&Path>) -> Vec<PathBuf> {
    let home = home.unwrap_or(prefix);
    let mut places = vec![(home, &["", "DLLs", "Lib", "Library/bin", "bin", "lib"][..])];
    if home != prefix {
        // A venv: its own folders too.
        places.push((prefix, &["", "Scripts", "Lib", "bin", "lib"][..]));
    }
    places
        .into_iter()
        .flat_map(|(root, rels)| {
            rels.iter().map(move |rel| {
                if rel.is_empty() {
                    root.to_path_buf()
                } else {
                    condafix_prefix::join_rel(root, rel)
                }
            })
        })
        .filter(|d| d.is_dir())
        .collect()
}

/// One account or group, other than the administrators and the system, that may write to a
/// folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    /// `S-1-5-21-…` on Windows; `uid N`, `gid N` or `everyone` on Unix.
    pub id: String,
    /// How: `its owner`, `group write`, `other write`, or empty for an ACL entry.
    pub how: &'static str,
}

impl Writer {
    fn new(id: String, how: &'static str) -> Self {
        Writer { id, how }
    }

    fn label(&self) -> String {
        if self.how.is_empty() {
            self.id.clone()
        } else {
            format!("{} ({})", self.id, self.how)
        }
    }
}

/// Everyone other than the administrators and the system who may change the files of `dirs`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Writers {
    /// The first folder found writable by others, with who.
    pub first: Option<WritableByOthers>,
    /// Every account or group found, each once, in the order found.
    pub ids: Vec<String>,
    /// A folder's rights could not be read (counts as writable by anyone).
    pub unreadable: bool,
}

impl Writers {
    /// The one user account that alone may change these files, when there is exactly one and
    /// it can be a logged-on user (a `uid` on Unix, an account SID on Windows), not a group.
    pub fn sole_user(&self) -> Option<&str> {
        match self.ids.as_slice() {
            [one] if !self.unreadable && platform::is_user_account(one) => Some(one),
            _ => None,
        }
    }
}

/// Who other than the administrators and the system may write to any of `dirs`.
pub fn writers_of(dirs: &[PathBuf]) -> Writers {
    let mut out = Writers::default();
    for d in dirs {
        match platform::writers(d) {
            Ok(found) => {
                if out.first.is_none() {
                    if let Some(w) = found.first() {
                        out.first = Some(WritableByOthers {
                            path: d.clone(),
                            who: w.label(),
                        });
                    }
                }
                for w in found {
                    if !out.ids.contains(&w.id) {
                        out.ids.push(w.id);
                    }
                }
            }
            Err(e) => {
                out.unreadable = true;
                if out.first.is_none() {
                    out.first = Some(WritableByOthers {
                        path: d.clone(),
                        who: format!("unknown (its rights could not be read: {e})"),
                    });
                }
            }
        }
    }
    out
}

/// The first of `dirs` that someone other than the administrators and the system may write to.
/// A folder whose rights cannot be read counts as writable (the safe answer).
pub fn first_writable_by_others(dirs: &[PathBuf]) -> Option<WritableByOthers> {
    writers_of(dirs).first
}

#[cfg(unix)]
mod platform {
    use std::os::unix::fs::MetadataExt as _;
    use std::path::Path;

    use super::Writer;

    #[allow(unsafe_code)]
    pub fn elevated() -> bool {
        // SAFETY: geteuid(2) has no preconditions and touches no memory.
        unsafe { libc::geteuid() == 0 }
    }

    /// There is no SYSTEM account on Unix.
    pub fn system() -> bool {
        false
    }

    /// Root may start a program as any user.
    pub fn can_start_as_user() -> bool {
        elevated()
    }

    /// An owner's uid names one account; a group or "everyone" does not.
    pub fn is_user_account(id: &str) -> bool {
        id.starts_with("uid ")
    }

    /// The owner when it is not root, and group/other when they have write permission.
    pub fn writers(path: &Path) -> std::io::Result<Vec<Writer>> {
        let m = fs_err::symlink_metadata(path)?;
        let mut found = Vec::new();
        if m.uid() != 0 {
            found.push(Writer::new(format!("uid {}", m.uid()), "its owner"));
        }
        let mode = m.mode();
        if mode & 0o020 != 0 && m.gid() != 0 {
            found.push(Writer::new(format!("gid {}", m.gid()), "group write"));
        }
        if mode & 0o002 != 0 {
            found.push(Writer::new("everyone".into(), "other write"));
        }
        Ok(found)
    }
}

#[cfg(windows)]
#[allow(unsafe_code)]
mod platform {
    use std::os::windows::ffi::OsStrExt as _;
    use std::path::Path;

    use windows_sys::Win32::Foundation::{CloseHandle, LocalFree, HANDLE};
    use windows_sys::Win32::Security::Authorization::{
        ConvertSidToStringSidW, GetNamedSecurityInfoW, SE_FILE_OBJECT,
    };
    use windows_sys::Win32::Security::{
        GetAce, GetTokenInformation, TokenElevation, TokenUser, ACCESS_ALLOWED_ACE, ACE_HEADER,
        ACL, DACL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION, PSID, TOKEN_ELEVATION,
        TOKEN_QUERY,
    };
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

    use super::Writer;

    /// SIDs that may write anywhere anyway: SYSTEM, Administrators, TrustedInstaller, and the
    /// inherit-only placeholders CREATOR OWNER / CREATOR GROUP.
    const TRUSTED: &[&str] = &[
        "S-1-5-18",
        "S-1-5-32-544",
        "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
        "S-1-3-0",
        "S-1-3-1",
    ];

    /// Rights that change a file or folder: write/append data, write attributes, delete,
    /// change the ACL or the owner, GENERIC_WRITE, GENERIC_ALL.
    const WRITE_MASK: u32 = 0x0002
        | 0x0004
        | 0x0100
        | 0x0001_0000
        | 0x0004_0000
        | 0x0008_0000
        | 0x4000_0000
        | 0x1000_0000;
    const INHERIT_ONLY_ACE: u8 = 0x08;
    const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;

    fn sid_string(sid: PSID) -> Option<String> {
        let mut out: *mut u16 = std::ptr::null_mut();
        // SAFETY: `sid` points into a security descriptor still alive; the string is freed.
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

    /// The account of this process's token is SYSTEM (S-1-5-18).
    pub fn system() -> bool {
        token_user_sid().as_deref() == Some("S-1-5-18")
    }

    /// Only SYSTEM holds what `WTSQueryUserToken` and `CreateProcessAsUserW` need.
    pub fn can_start_as_user() -> bool {
        system()
    }

    /// A local or domain account (`S-1-5-21-…`), not a well-known group such as Users or
    /// Everyone.
    pub fn is_user_account(id: &str) -> bool {
        id.starts_with("S-1-5-21-")
    }

    fn token_user_sid() -> Option<String> {
        // SAFETY: the token handle is checked and closed; the buffer is large enough for a
        // TOKEN_USER and its SID and is read only when the call succeeds.
        unsafe {
            let mut token: HANDLE = std::ptr::null_mut();
            if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
                return None;
            }
            let mut buf = vec![0u8; 256];
            let mut len = 0u32;
            let ok = GetTokenInformation(
                token,
                TokenUser,
                buf.as_mut_ptr() as *mut core::ffi::c_void,
                buf.len() as u32,
                &mut len,
            );
            let sid = (ok != 0).then(|| {
                let user = &*(buf.as_ptr() as *const windows_sys::Win32::Security::TOKEN_USER);
                sid_string(user.User.Sid)
            });
            CloseHandle(token);
            sid.flatten()
        }
    }

    pub fn elevated() -> bool {
        if system() {
            return true;
        }
        // SAFETY: the token handle is checked and closed; the buffer is sized by its type.
        unsafe {
            let mut token: HANDLE = std::ptr::null_mut();
            if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
                return false;
            }
            let mut elevation = TOKEN_ELEVATION { TokenIsElevated: 0 };
            let mut len = 0u32;
            let ok = GetTokenInformation(
                token,
                TokenElevation,
                &mut elevation as *mut _ as *mut core::ffi::c_void,
                std::mem::size_of::<TOKEN_ELEVATION>() as u32,
                &mut len,
            );
            CloseHandle(token);
            ok != 0 && elevation.TokenIsElevated != 0
        }
    }

    /// The first principal outside [`TRUSTED`] that owns `path` or is allowed to write to it.
    pub fn writers(path: &Path) -> std::io::Result<Vec<Writer>> {
        let wide: Vec<u16> = path.as_os_str().encode_wide().chain(Some(0)).collect();
        let mut owner: PSID = std::ptr::null_mut();
        let mut dacl: *mut ACL = std::ptr::null_mut();
        let mut sd = std::ptr::null_mut();
        // SAFETY: out-pointers into the descriptor `sd`, freed with LocalFree at the end.
        let err = unsafe {
            GetNamedSecurityInfoW(
                wide.as_ptr(),
                SE_FILE_OBJECT,
                OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                &mut owner,
                std::ptr::null_mut(),
                &mut dacl,
                std::ptr::null_mut(),
                &mut sd,
            )
        };
        if err != 0 {
            return Err(std::io::Error::from_raw_os_error(err as i32));
        }
        let mut found = Vec::new();
        if let Some(o) = sid_string(owner) {
            if !TRUSTED.contains(&o.as_str()) {
                found.push(Writer::new(o, "its owner"));
            }
        }
        if dacl.is_null() {
            // No DACL: everyone has full access.
            found.push(Writer::new("everyone".into(), "no ACL"));
        } else {
            // SAFETY: `dacl` is a valid ACL inside `sd`; each ACE is read within AceCount.
            unsafe {
                for i in 0..u32::from((*dacl).AceCount) {
                    let mut ace: *mut core::ffi::c_void = std::ptr::null_mut();
                    if GetAce(dacl, i, &mut ace) == 0 {
                        continue;
                    }
                    let header = &*(ace as *const ACE_HEADER);
                    if header.AceType != ACCESS_ALLOWED_ACE_TYPE
                        || header.AceFlags & INHERIT_ONLY_ACE != 0
                    {
                        continue;
                    }
                    let allowed = &*(ace as *const ACCESS_ALLOWED_ACE);
                    if allowed.Mask & WRITE_MASK == 0 {
                        continue;
                    }
                    let sid = &allowed.SidStart as *const u32 as PSID;
                    match sid_string(sid) {
                        Some(s) if TRUSTED.contains(&s.as_str()) => {}
                        Some(s) => found.push(Writer::new(s, "")),
                        None => found.push(Writer::new("an unreadable SID".into(), "")),
                    }
                }
            }
        }
        // SAFETY: `sd` came from GetNamedSecurityInfoW.
        unsafe {
            LocalFree(sd as _);
        }
        Ok(found)
    }

    /// The user SID of a token.
    pub(crate) fn token_sid(token: HANDLE) -> Option<String> {
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
            let user = &*(buf.as_ptr() as *const windows_sys::Win32::Security::TOKEN_USER);
            sid_string(user.User.Sid)
        }
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
    pub fn is_user_account(_: &str) -> bool {
        false
    }
    pub fn writers(_: &std::path::Path) -> std::io::Result<Vec<super::Writer>> {
        Ok(vec![super::Writer::new("unknown".into(), "")])
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_folder_others_can_write_is_found_and_roots_own_is_not() {
        if !platform::elevated() {
            // Owned by an ordinary user: writable by them, which is the point.
            let dir = tempfile::tempdir().unwrap();
            assert!(first_writable_by_others(&[dir.path().to_path_buf()]).is_some());
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let safe = dir.path().join("safe");
        fs_err::create_dir(&safe).unwrap();
        fs_err::set_permissions(&safe, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(first_writable_by_others(std::slice::from_ref(&safe)), None);
        let open = dir.path().join("open");
        fs_err::create_dir(&open).unwrap();
        fs_err::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let found = first_writable_by_others(&[safe.clone(), open.clone()]).unwrap();
        assert_eq!(found.path, open);
        let owned = dir.path().join("owned");
        fs_err::create_dir(&owned).unwrap();
        std::os::unix::fs::chown(&owned, Some(65534), None).unwrap();
        assert!(first_writable_by_others(&[owned])
            .unwrap()
            .who
            .contains("65534"));
        // A folder that cannot be read counts as writable.
        assert!(first_writable_by_others(&[dir.path().join("gone")]).is_some());
    }
}

#[cfg(all(test, windows))]
mod windows_tests {
    use super::*;

    /// The real ACL reader runs against a real folder (under Wine in the Windows lane): it
    /// answers, and a folder this user just created is theirs to change.
    #[test]
    fn the_acl_of_a_folder_this_user_created_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let answer = platform::writers(dir.path());
        assert!(answer.is_ok(), "{answer:?}");
        let _ = platform::elevated();
        assert!(
            platform::writers(&dir.path().join("gone")).is_err(),
            "a folder that is not there is an error, which counts as writable"
        );
        assert!(first_writable_by_others(&[dir.path().join("gone")]).is_some());
    }
}
