//! Who condafix acts as. condafix runs as SYSTEM or root over folders that ordinary users own;
//! work in such a folder is done with the owner's rights, so that the operating system, not a
//! check condafix makes first, decides what the work may reach.
//!
//! Acting as someone is per thread: Linux switches the calling thread's filesystem identity
//! (`setfsuid`, `setfsgid` and the supplementary groups, by raw system call, so no other thread
//! changes); Windows impersonates the owner's token on the calling thread
//! (`ImpersonateLoggedOnUser`, `RevertToSelf`). [`Identity::act`] switches, runs the work and
//! switches back, also when the work panics; a switch back that fails ends the process rather
//! than let it go on with the wrong rights.

use std::fmt;
use std::sync::Arc;

/// An account on this machine: a uid on Unix, a SID on Windows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountId {
    Uid(u32),
    Sid(String),
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountId::Uid(u) => write!(f, "uid {u}"),
            AccountId::Sid(s) => f.write_str(s),
        }
    }
}

impl AccountId {
    /// Read back the form [`Display`](fmt::Display) writes (`uid 1001`, `S-1-5-21-…`).
    pub fn parse(text: &str) -> Option<Self> {
        if let Some(n) = text.strip_prefix("uid ") {
            return n.parse().ok().map(AccountId::Uid);
        }
        text.starts_with("S-1-")
            .then(|| AccountId::Sid(text.to_ascii_uppercase()))
    }
}

/// Another account condafix acts as, with what the platform needs to take on its rights.
pub struct Account {
    pub id: AccountId,
    /// The account's name, when the system knows one.
    pub name: Option<String>,
    #[cfg(unix)]
    pub(crate) gid: u32,
    #[cfg(unix)]
    pub(crate) groups: Vec<u32>,
    #[cfg(windows)]
    pub(crate) token: std::os::windows::io::OwnedHandle,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish()
    }
}

/// Who a piece of work is done as.
#[derive(Debug, Clone)]
pub enum Identity {
    /// condafix's own rights: the account it runs as.
    Process,
    /// Another account's rights, taken on for the work.
    As(Arc<Account>),
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::Process => f.write_str("condafix's own account"),
            Identity::As(a) => match &a.name {
                Some(n) => write!(f, "{n} ({})", a.id),
                None => write!(f, "{}", a.id),
            },
        }
    }
}

/// Why condafix cannot act as an account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The user is not logged on, and no token could be had for them otherwise.
    #[error("condafix cannot act as {who}: they are not logged on ({why})")]
    NotLoggedOn { who: String, why: String },
    /// Only SYSTEM may get a user's token (`WTSQueryUserToken` error 1314): an elevated
    /// administrator may not.
    #[error("condafix cannot act as {who}: only SYSTEM may take on a logged-on user's rights (error 1314, a privilege this process does not hold); run condafix as SYSTEM (Intune, ConfigMgr, a scheduled task) or as {who}")]
    NoPrivilege { who: String },
    /// The account could not be taken on for another reason.
    #[error("condafix cannot act as {who}: {why}")]
    Unavailable { who: String, why: String },
}

impl IdentityError {
    /// Why `WTSQueryUserToken` gave no token for `who`, from the last error it answered across
    /// the sessions (0: no session of theirs): 1314, the privilege only SYSTEM holds; 1008
    /// (`ERROR_NO_TOKEN`) or none, not logged on; anything else named.
    pub fn from_session_token_error(who: &str, last_error: u32) -> Self {
        match last_error {
            1314 => IdentityError::NoPrivilege {
                who: who.to_string(),
            },
            0 => IdentityError::NotLoggedOn {
                who: who.to_string(),
                why: "no session of theirs was found".into(),
            },
            1008 => IdentityError::NotLoggedOn {
                who: who.to_string(),
                why: "no session of theirs has a signed-in token (error 1008)".into(),
            },
            other => IdentityError::Unavailable {
                who: who.to_string(),
                why: format!("WTSQueryUserToken answered error {other}"),
            },
        }
    }
}

impl PartialEq for Identity {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Identity::Process, Identity::Process) => true,
            (Identity::As(a), Identity::As(b)) => a.id == b.id,
            _ => false,
        }
    }
}

impl Identity {
    /// Run `f` with this identity's rights on the calling thread, and switch back after (also
    /// when `f` panics).
    pub fn act<T>(&self, f: impl FnOnce() -> T) -> Result<T, IdentityError> {
        match self {
            Identity::Process => Ok(f()),
            Identity::As(account) => {
                let _guard = platform::enter(account)?;
                Ok(f())
            }
        }
    }

    /// The account, when it is not condafix's own.
    pub fn account(&self) -> Option<&AccountId> {
        match self {
            Identity::Process => None,
            Identity::As(a) => Some(&a.id),
        }
    }

    /// The identity to act as for a folder `owner` alone controls: condafix's own when it runs
    /// as that owner or without extra rights (then the OS already limits it to its own
    /// rights), else the owner's.
    pub fn for_owner(owner: &AccountId) -> Result<Identity, IdentityError> {
        if !crate::privilege::process_is_elevated() || process_account().as_ref() == Some(owner) {
            return Ok(Identity::Process);
        }
        platform::account(owner).map(|a| Identity::As(Arc::new(a)))
    }
}

/// The identity to act as in the folder at `path`: its owner's when one account alone controls
/// it, condafix's own for a folder only the administrators control, and an error (naming who)
/// when several accounts may change it.
pub fn for_folder(path: &std::path::Path) -> Result<Identity, String> {
    match crate::control_of(path) {
        crate::Control::Owner(id) => Identity::for_owner(&id).map_err(|e| e.to_string()),
        crate::Control::Machine => Ok(Identity::Process),
        crate::Control::Shared(w) => Err(shared(path, &w)),
    }
}

/// Why no one identity fits a folder several accounts may change.
fn shared(path: &std::path::Path, writers: &[crate::Writer]) -> String {
    format!(
        "several accounts may change {} ({})",
        path.display(),
        writers
            .iter()
            .map(crate::Writer::label)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The identity of the user of a profile: on Windows the account its SID names, elsewhere
/// the user who owns the profile folder (the registry stand-in's SIDs name no Unix account),
/// also when they opened it to others.
pub fn for_profile(sid: &str, dir: &std::path::Path) -> Result<Identity, String> {
    if cfg!(windows) {
        return Identity::for_owner(&AccountId::Sid(sid.to_ascii_uppercase()))
            .map_err(|e| e.to_string());
    }
    match crate::control_of(dir) {
        crate::Control::Owner(id) => Identity::for_owner(&id).map_err(|e| e.to_string()),
        crate::Control::Machine => Ok(Identity::Process),
        crate::Control::Shared(w) => crate::user_owner(&w)
            .and_then(|id| Identity::for_owner(&id).ok())
            .ok_or_else(|| shared(dir, &w)),
    }
}

/// Who reads what is in the folder at `path` when condafix runs elevated:
/// - one account alone controls it: that account;
/// - `user` given (the user whose settings led there, in an all-users run): that user, for a
///   folder the administrators control (their settings name the files read) or several
///   accounts may change;
/// - else, for a folder several accounts may change: its owner when that is a user account,
///   else (Unix) an account with no rights of its own (`nobody`): what anyone can plant there
///   must not make condafix read with root's rights;
/// - else condafix's own account.
pub fn for_reading(path: &std::path::Path, user: Option<&Identity>) -> Identity {
    if !crate::privilege::process_is_elevated() {
        return Identity::Process;
    }
    match (crate::control_of(path), user) {
        (crate::Control::Owner(id), _) => Identity::for_owner(&id).unwrap_or_else(|_| nobody()),
        (_, Some(user)) => user.clone(),
        (crate::Control::Machine, None) => Identity::Process,
        (crate::Control::Shared(w), None) => crate::user_owner(&w)
            .and_then(|id| Identity::for_owner(&id).ok())
            .unwrap_or_else(nobody),
    }
}

/// An identity with no rights of its own, where the system has one (Unix: uid and gid 65534,
/// `nobody`); elsewhere condafix's own (Windows has no such account to take on).
fn nobody() -> Identity {
    #[cfg(unix)]
    {
        Identity::As(Arc::new(Account {
            id: AccountId::Uid(65534),
            name: Some("nobody".into()),
            gid: 65534,
            groups: Vec::new(),
        }))
    }
    #[cfg(not(unix))]
    {
        Identity::Process
    }
}

/// Run `f` with the rights of [`for_reading`]`(path, user)`; as condafix itself when that
/// identity cannot be taken on (the safe readers still refuse links, FIFOs and huge files).
pub fn reading_as<T>(path: &std::path::Path, user: Option<&Identity>, f: impl FnOnce() -> T) -> T {
    let id = for_reading(path, user);
    let mut f = Some(f);
    match id.act(|| (f.take().expect("once"))()) {
        Ok(v) => v,
        Err(_) => (f.take().expect("not run"))(),
    }
}

/// [`reading_as`] with no user whose settings led there.
pub fn reading_as_owner_of<T>(path: &std::path::Path, f: impl FnOnce() -> T) -> T {
    reading_as(path, None, f)
}

/// The account this process runs as.
pub fn process_account() -> Option<AccountId> {
    platform::process_account()
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod platform {
    use super::{Account, AccountId, IdentityError};

    /// What `getpwuid_r` says of a uid: name, primary group, home.
    pub struct PasswdEntry {
        pub name: String,
        pub gid: u32,
        pub home: std::path::PathBuf,
    }

    pub fn passwd(uid: u32) -> Option<PasswdEntry> {
        use std::ffi::CStr;
        use std::os::unix::ffi::OsStrExt as _;
        // SAFETY: `passwd` is plain data (integers and pointers); all-zero is a valid value.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut buf = vec![0u8; 16 * 1024];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: getpwuid_r writes into `pw` and `buf` (its size passed) and points `result`
        // at `pw` on success; the strings read below live in `buf`.
        unsafe {
            let rc = libc::getpwuid_r(
                uid,
                &mut pw,
                buf.as_mut_ptr() as *mut libc::c_char,
                buf.len(),
                &mut result,
            );
            if rc != 0 || result.is_null() {
                return None;
            }
            let s = |p: *const libc::c_char| {
                if p.is_null() {
                    Vec::new()
                } else {
                    CStr::from_ptr(p).to_bytes().to_vec()
                }
            };
            Some(PasswdEntry {
                name: String::from_utf8_lossy(&s(pw.pw_name)).into_owned(),
                gid: pw.pw_gid,
                home: std::path::PathBuf::from(std::ffi::OsStr::from_bytes(&s(pw.pw_dir))),
            })
        }
    }

    fn group_list(name: &str, gid: u32) -> Vec<u32> {
        let Ok(cname) = std::ffi::CString::new(name) else {
            return vec![gid];
        };
        let mut n: libc::c_int = 64;
        loop {
            let mut groups = vec![0 as libc::gid_t; n as usize];
            let want = n;
            // SAFETY: `groups` has room for `n` entries; getgrouplist writes at most that many
            // and sets `n` to the number the user has.
            let rc =
                unsafe { libc::getgrouplist(cname.as_ptr(), gid, groups.as_mut_ptr(), &mut n) };
            if rc >= 0 {
                groups.truncate(n as usize);
                return groups;
            }
            if n <= want {
                // No answer: the primary group only.
                return vec![gid];
            }
        }
    }

    /// The gid of "nogroup": the primary group of a uid the system has no account for.
    const NOGROUP: u32 = 65534;

    pub fn account(id: &AccountId) -> Result<Account, IdentityError> {
        let AccountId::Uid(uid) = id else {
            return Err(IdentityError::Unavailable {
                who: id.to_string(),
                why: "it is not a Unix account".into(),
            });
        };
        let (name, gid, groups) = match passwd(*uid) {
            Some(pw) => {
                let groups = group_list(&pw.name, pw.gid);
                (Some(pw.name), pw.gid, groups)
            }
            None => (None, NOGROUP, vec![NOGROUP]),
        };
        Ok(Account {
            id: id.clone(),
            name,
            gid,
            groups,
        })
    }

    pub fn process_account() -> Option<AccountId> {
        // SAFETY: geteuid(2) has no preconditions.
        Some(AccountId::Uid(unsafe { libc::geteuid() }))
    }

    /// The calling thread's filesystem identity (uid, gid, groups), as the kernel keeps it
    /// per thread.
    struct ThreadCreds {
        fsuid: u32,
        fsgid: u32,
        groups: Vec<libc::gid_t>,
    }

    // Raw system calls: glibc's setgroups (and setuid family) change every thread of the
    // process; the kernel's calls change only the calling thread, which is what is wanted.
    fn set_fsuid(uid: u32) -> u32 {
        // SAFETY: setfsuid takes an integer and returns the previous fsuid.
        unsafe { libc::syscall(libc::SYS_setfsuid, uid as libc::c_long) as u32 }
    }

    fn set_fsgid(gid: u32) -> u32 {
        // SAFETY: setfsgid takes an integer and returns the previous fsgid.
        unsafe { libc::syscall(libc::SYS_setfsgid, gid as libc::c_long) as u32 }
    }

    fn set_groups(groups: &[libc::gid_t]) -> std::io::Result<()> {
        // SAFETY: the pointer and length describe `groups`, which outlives the call.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_setgroups,
                groups.len() as libc::c_long,
                groups.as_ptr(),
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    fn current() -> ThreadCreds {
        // setfsuid(-1) changes nothing and returns the current fsuid.
        let fsuid = set_fsuid(u32::MAX);
        let fsgid = set_fsgid(u32::MAX);
        // SAFETY: getgroups(0, NULL) returns the count; the second call fills `groups`.
        let groups = unsafe {
            let n = libc::getgroups(0, std::ptr::null_mut());
            let mut g = vec![0 as libc::gid_t; n.max(0) as usize];
            let n = libc::getgroups(g.len() as libc::c_int, g.as_mut_ptr());
            g.truncate(n.max(0) as usize);
            g
        };
        ThreadCreds {
            fsuid,
            fsgid,
            groups,
        }
    }

    fn apply(uid: u32, gid: u32, groups: &[libc::gid_t]) -> std::io::Result<()> {
        // Groups and gid first: setfsuid to a user drops the filesystem capabilities, but
        // CAP_SETGID and CAP_SETUID stay, so the switch back works.
        set_groups(groups)?;
        set_fsgid(gid);
        set_fsuid(uid);
        let now = current();
        if now.fsuid != uid || now.fsgid != gid {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "the system kept uid {} gid {} instead of uid {uid} gid {gid}",
                    now.fsuid, now.fsgid
                ),
            ));
        }
        Ok(())
    }

    /// Back to the thread's own identity when dropped.
    pub struct Guard {
        saved: ThreadCreds,
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            if apply(self.saved.fsuid, self.saved.fsgid, &self.saved.groups).is_err() {
                // Going on with another account's rights (or without condafix's own) would
                // make every later step wrong: stop here.
                std::process::abort();
            }
        }
    }

    pub fn enter(account: &Account) -> Result<Guard, IdentityError> {
        let saved = current();
        let guard = Guard { saved };
        apply(account.id_uid(), account.gid, &account.groups).map_err(|e| {
            IdentityError::Unavailable {
                who: account.id.to_string(),
                why: e.to_string(),
            }
        })?;
        Ok(guard)
    }

    impl Account {
        fn id_uid(&self) -> u32 {
            match self.id {
                AccountId::Uid(u) => u,
                AccountId::Sid(_) => u32::MAX,
            }
        }
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
mod platform {
    use super::{Account, AccountId, IdentityError};

    pub fn account(id: &AccountId) -> Result<Account, IdentityError> {
        Err(IdentityError::Unavailable {
            who: id.to_string(),
            why: "acting as another account is only built for Linux and Windows".into(),
        })
    }

    #[allow(unsafe_code)]
    pub fn process_account() -> Option<AccountId> {
        // SAFETY: geteuid(2) has no preconditions.
        Some(AccountId::Uid(unsafe { libc::geteuid() }))
    }

    pub struct Guard;

    pub fn enter(account: &Account) -> Result<Guard, IdentityError> {
        Err(IdentityError::Unavailable {
            who: account.id.to_string(),
            why: "not supported on this system".into(),
        })
    }
}

#[cfg(windows)]
mod platform {
    use super::{Account, AccountId, IdentityError};

    pub fn account(id: &AccountId) -> Result<Account, IdentityError> {
        crate::windows::token::account_for(id)
    }

    pub fn process_account() -> Option<AccountId> {
        crate::windows::token::process_sid().map(AccountId::Sid)
    }

    pub use crate::windows::token::enter;
}

#[cfg(target_os = "linux")]
pub use platform::passwd;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_session_token_is_told_apart() {
        let e = |code| IdentityError::from_session_token_error("S-1-12-1-1-2-3-4", code);
        assert!(matches!(e(1314), IdentityError::NoPrivilege { .. }));
        assert!(e(1314).to_string().contains("only SYSTEM"));
        assert!(matches!(e(0), IdentityError::NotLoggedOn { .. }));
        assert!(matches!(e(1008), IdentityError::NotLoggedOn { .. }));
        let IdentityError::Unavailable { why, .. } = e(5) else {
            panic!("{:?}", e(5))
        };
        assert!(why.contains("error 5"), "{why}");
    }

    #[test]
    fn account_ids_read_back_what_they_print() {
        for id in [
            AccountId::Uid(1001),
            AccountId::Sid("S-1-5-21-1-2-3-1001".into()),
            AccountId::Sid("S-1-12-1-111-222-333-444".into()),
        ] {
            assert_eq!(AccountId::parse(&id.to_string()), Some(id));
        }
        assert_eq!(AccountId::parse("everyone"), None);
        assert_eq!(AccountId::parse("uid x"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn acting_as_a_user_limits_this_thread_to_their_rights_and_switches_back() {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        if process_account() != Some(AccountId::Uid(0)) {
            return; // Only root can take on another uid.
        }
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        fs_err::write(&secret, b"root only").unwrap();
        fs_err::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        let theirs = dir.path().join("theirs");
        fs_err::create_dir(&theirs).unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        fs_err::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let nobody = Identity::As(Arc::new(platform::account(&AccountId::Uid(65534)).unwrap()));
        // A thread that runs while this one acts stays root.
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn({
            let secret = secret.clone();
            move || {
                go_rx.recv().unwrap();
                fs_err::read(&secret).is_ok()
            }
        });
        let (read, created) = nobody
            .act(|| {
                let read = fs_err::read(&secret).map_err(|e| e.kind());
                let f = theirs.join("made-by-nobody");
                fs_err::write(&f, b"x").unwrap();
                go_tx.send(()).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(20));
                (read, fs_err::metadata(&f).unwrap().uid())
            })
            .unwrap();
        assert!(other.join().unwrap(), "another thread kept its own rights");
        assert_eq!(read, Err(std::io::ErrorKind::PermissionDenied));
        assert_eq!(created, 65534, "a file made while acting is the user's");
        // Back to root on this thread: the secret reads again.
        assert_eq!(fs_err::read(&secret).unwrap(), b"root only");
        // A panic inside switches back too.
        let r = std::panic::catch_unwind(|| nobody.act(|| panic!("inside")));
        assert!(r.is_err());
        assert_eq!(fs_err::read(&secret).unwrap(), b"root only");
    }
}
