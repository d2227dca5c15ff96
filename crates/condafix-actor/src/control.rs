//! Who controls a folder: who, besides the administrators and the system, may change it or the
//! files in it. That decides whose rights condafix acts with there (the owner's, its own for a
//! folder only the administrators control) and whether it acts at all (not where several
//! accounts can write: no one identity fits).
//!
//! Pure functions over what the platform reports (a Unix owner and mode, a Windows security
//! descriptor as a list of ACEs), tested on every OS; the readers are at the edge.

use crate::identity::AccountId;

/// An account or group, other than the administrators and the system, that may change a folder
/// or the files in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    /// `S-1-5-21-…` (or any SID) on Windows; `uid N`, `gid N` or `everyone` on Unix.
    pub id: String,
    /// How: `its owner`, `group write`, `other write`, `no ACL`, or an ACE's description.
    pub how: String,
}

/// How a folder's or file's owner is named among its writers (the owner may always change its
/// ACL or mode).
pub const OWNER: &str = "its owner";

impl Writer {
    pub fn new(id: impl Into<String>, how: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            how: how.into(),
        }
    }

    /// `who (how)`, for messages.
    pub fn label(&self) -> String {
        if self.how.is_empty() {
            self.id.clone()
        } else {
            format!("{} ({})", self.id, self.how)
        }
    }
}

/// Who controls a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Only the administrators and the system (root) may change it.
    Machine,
    /// One account (besides the administrators) may change it: its owner.
    Owner(AccountId),
    /// Several accounts, a group, or everyone may change it: no one identity fits, so condafix
    /// reads there but does not write or run anything.
    Shared(Vec<Writer>),
}

impl Control {
    /// From the writers of a folder: none, one user account, or more.
    pub fn from_writers(writers: &[Writer], is_user: impl Fn(&str) -> bool) -> Self {
        let mut ids: Vec<&str> = writers.iter().map(|w| w.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        match ids.as_slice() {
            [] => Control::Machine,
            [one] if is_user(one) => match AccountId::parse(one) {
                Some(id) => Control::Owner(id),
                None => Control::Shared(writers.to_vec()),
            },
            _ => Control::Shared(writers.to_vec()),
        }
    }

    /// Who, in words: `the administrators`, `uid 1001`, `uid 1001 (its owner), gid 100 (group write)`.
    pub fn describe(&self) -> String {
        match self {
            Control::Machine => "only the administrators".into(),
            Control::Owner(id) => id.to_string(),
            Control::Shared(w) => w.iter().map(Writer::label).collect::<Vec<_>>().join(", "),
        }
    }
}

/// Unix: the owner when it is not root, the group when it may write and is not root's, and
/// everyone when others may write.
pub fn unix_writers(uid: u32, gid: u32, mode: u32) -> Vec<Writer> {
    let mut found = Vec::new();
    if uid != 0 {
        found.push(Writer::new(format!("uid {uid}"), OWNER));
    }
    if mode & 0o020 != 0 && gid != 0 {
        found.push(Writer::new(format!("gid {gid}"), "group write"));
    }
    if mode & 0o002 != 0 {
        found.push(Writer::new("everyone", "other write"));
    }
    found
}

/// Unix: a `uid N` is one account; a group or everyone is not.
pub fn unix_is_user(id: &str) -> bool {
    id.starts_with("uid ")
}

/// Windows: whether a SID is a user account rather than a group or a service: a local or
/// domain account (`S-1-5-21-…`) or an Entra ID account (`S-1-12-1-…`). The fallback of
/// `LookupAccountSidW`'s `SidTypeUser` when the system cannot answer (see `windows::account`).
pub fn sid_is_user_account(sid: &str) -> bool {
    let upper = sid.to_ascii_uppercase();
    let rest = |prefix: &str| upper.strip_prefix(prefix).map(str::to_string);
    match rest("S-1-5-21-").or_else(|| rest("S-1-12-1-")) {
        // A RID after the domain part, all decimal.
        Some(r) => {
            let parts: Vec<&str> = r.split('-').collect();
            parts.len() >= 2
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        }
        None => false,
    }
}

/// A Windows security descriptor as condafix needs it: the owner and the DACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub owner: Option<String>,
    /// `None`: a NULL DACL (everyone has full access).
    pub dacl: Option<Vec<Ace>>,
}

/// One access control entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ace {
    pub kind: AceKind,
    /// `OBJECT_INHERIT_ACE` 0x1, `CONTAINER_INHERIT_ACE` 0x2, `NO_PROPAGATE_INHERIT_ACE` 0x4,
    /// `INHERIT_ONLY_ACE` 0x8, `INHERITED_ACE` 0x10.
    pub flags: u8,
    pub mask: u32,
    pub sid: String,
}

/// What an ACE does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AceKind {
    Allow,
    Deny,
    /// A conditional (callback) allow ACE: its condition cannot be judged here, so it counts
    /// as allowing.
    AllowCallback,
    /// Audit, label and other entries that grant nothing.
    Other,
}

impl AceKind {
    /// From the ACE header's type byte.
    pub fn from_type(t: u8) -> Self {
        match t {
            // ACCESS_ALLOWED, ACCESS_ALLOWED_OBJECT.
            0x0 | 0x5 => AceKind::Allow,
            // ACCESS_DENIED, ACCESS_DENIED_OBJECT.
            0x1 | 0x6 => AceKind::Deny,
            // ACCESS_ALLOWED_CALLBACK, ACCESS_ALLOWED_CALLBACK_OBJECT.
            0x9 | 0xB => AceKind::AllowCallback,
            _ => AceKind::Other,
        }
    }
}

pub const OBJECT_INHERIT: u8 = 0x1;
pub const CONTAINER_INHERIT: u8 = 0x2;
pub const INHERIT_ONLY: u8 = 0x8;

const FILE_WRITE_DATA: u32 = 0x2; // FILE_ADD_FILE on a folder
const FILE_APPEND_DATA: u32 = 0x4; // FILE_ADD_SUBDIRECTORY on a folder
const FILE_WRITE_EA: u32 = 0x10;
const FILE_DELETE_CHILD: u32 = 0x40;
const FILE_WRITE_ATTRIBUTES: u32 = 0x100;
const DELETE: u32 = 0x0001_0000;
const WRITE_DAC: u32 = 0x0004_0000;
const WRITE_OWNER: u32 = 0x0008_0000;
const GENERIC_ALL: u32 = 0x1000_0000;
const GENERIC_WRITE: u32 = 0x4000_0000;
const MAXIMUM_ALLOWED: u32 = 0x0200_0000;

/// The file rights a mask grants, generic rights mapped as the file system maps them
/// (GENERIC_WRITE: write data, append, write EA and attributes; GENERIC_ALL: everything).
pub fn map_generic(mask: u32) -> u32 {
    let mut m = mask;
    if mask & GENERIC_ALL != 0 {
        m |= 0x001F_01FF;
    }
    if mask & GENERIC_WRITE != 0 {
        m |= FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA | FILE_WRITE_ATTRIBUTES;
    }
    m
}

/// Rights that change a folder (create or delete entries in it, its ACL or owner) or a file
/// (its data, its ACL or owner, delete it).
const CHANGE: u32 = FILE_WRITE_DATA
    | FILE_APPEND_DATA
    | FILE_DELETE_CHILD
    | DELETE
    | WRITE_DAC
    | WRITE_OWNER
    | MAXIMUM_ALLOWED;

/// What an ACE on a folder reaches: the folder itself, the files in it, its subfolders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    Folder,
    Files,
    Subfolders,
}

impl Reach {
    const ALL: [Reach; 3] = [Reach::Folder, Reach::Files, Reach::Subfolders];

    /// Whether an ACE with these flags applies there (Microsoft's "ACE Inheritance Rules"):
    /// the folder unless inherit-only; files (at any depth, or the direct ones under
    /// no-propagate) when object-inherit; subfolders when container-inherit.
    fn applies(self, flags: u8) -> bool {
        match self {
            Reach::Folder => flags & INHERIT_ONLY == 0,
            Reach::Files => flags & OBJECT_INHERIT != 0,
            Reach::Subfolders => flags & CONTAINER_INHERIT != 0,
        }
    }

    /// The rights that change it: a folder's entries (add, delete a child), a file's data; and
    /// for both deleting it, its ACL or its owner.
    fn change(self) -> u32 {
        match self {
            Reach::Folder | Reach::Subfolders => CHANGE,
            Reach::Files => FILE_WRITE_DATA | FILE_APPEND_DATA | DELETE | WRITE_DAC | WRITE_OWNER,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Reach::Folder => "the folder",
            Reach::Files => "its files",
            Reach::Subfolders => "its subfolders",
        }
    }
}

/// Who, besides the `trusted` principals, may change a folder with this descriptor, the files
/// in it or its subfolders (present ones, which usually inherit, and new ones):
/// - each ACE counts where it applies ([`Reach::applies`]): not inherit-only for the folder,
///   object-inherit for the files, container-inherit for the subfolders (a writable
///   `Library\bin` is as bad as a writable prefix);
/// - FILE_DELETE_CHILD on the folder (a file inside can be deleted and replaced);
/// - generic rights mapped to file rights; callback ACEs count as allowing, callback denies
///   cancel nothing (their condition cannot be judged here: the safe direction);
/// - a deny ACE cancels, for the same SID and where it applies, the rights of the allow ACEs
///   after it (the access check reads ACEs in order; canonical order puts denies first). A deny
///   for a group cannot be judged without the group's members, so it cancels nothing for other
///   SIDs: the safe direction;
/// - CREATOR OWNER's inheritable rights go to whoever creates a file, who can already write:
///   it adds no one.
///
/// The owner counts as a writer (it may always change the DACL) unless trusted.
pub fn windows_writers(sd: &Descriptor, trusted: impl Fn(&str) -> bool) -> Vec<Writer> {
    let mut found: Vec<Writer> = Vec::new();
    let push = |found: &mut Vec<Writer>, id: &str, how: String| {
        if !trusted(id) && !found.iter().any(|w| w.id.eq_ignore_ascii_case(id)) {
            found.push(Writer::new(id, how));
        }
    };
    if let Some(o) = &sd.owner {
        push(&mut found, o, OWNER.into());
    }
    let Some(aces) = &sd.dacl else {
        push(&mut found, "everyone", "no ACL".into());
        return found;
    };
    // Per reach, the rights denied so far to each SID.
    let mut denied: Vec<(Reach, &str, u32)> = Vec::new();
    for ace in aces {
        let mask = map_generic(ace.mask);
        let mut reaches: Vec<Reach> = Vec::new();
        for reach in Reach::ALL.into_iter().filter(|r| r.applies(ace.flags)) {
            match ace.kind {
                AceKind::Deny => denied.push((reach, &ace.sid, mask)),
                AceKind::Other => {}
                AceKind::Allow | AceKind::AllowCallback => {
                    let cancelled = denied
                        .iter()
                        .filter(|(r, s, _)| *r == reach && s.eq_ignore_ascii_case(&ace.sid))
                        .fold(0, |m, (_, _, d)| m | d);
                    if mask & !cancelled & reach.change() != 0 {
                        reaches.push(reach);
                    }
                }
            }
        }
        if reaches.is_empty() {
            continue;
        }
        let words: Vec<&str> = reaches.iter().map(|r| r.words()).collect();
        let mut how = match words.as_slice() {
            [one] => format!("may change {one}"),
            [a, b] => format!("may change {a} and {b}"),
            _ => format!("may change {}, {} and {}", words[0], words[1], words[2]),
        };
        if ace.kind == AceKind::AllowCallback {
            how.push_str(", under a condition");
        }
        push(&mut found, &ace.sid, how);
    }
    found
}

/// Rights on a folder on the way to an install that let someone put another folder in the
/// install's place: delete or rename its entries, delete or rename it, take over its ACL or
/// owner. (Adding entries does not: `C:\ProgramData` lets users create folders, not replace
/// `C:\ProgramData\Anaconda3`.)
const REPLACE: u32 = FILE_DELETE_CHILD | DELETE | WRITE_DAC | WRITE_OWNER | MAXIMUM_ALLOWED;

/// Who, besides the `trusted` principals, may replace what is inside a folder on the way to an
/// install (an ancestor of the prefix): its owner, and the ACEs that apply to the folder itself
/// with a right of [`REPLACE`] (denies cancel as in [`windows_writers`]).
pub fn windows_replacers(sd: &Descriptor, trusted: impl Fn(&str) -> bool) -> Vec<Writer> {
    let mut found: Vec<Writer> = Vec::new();
    let push = |found: &mut Vec<Writer>, id: &str, how: &str| {
        if !trusted(id) && !found.iter().any(|w| w.id.eq_ignore_ascii_case(id)) {
            found.push(Writer::new(id, how));
        }
    };
    if let Some(o) = &sd.owner {
        push(&mut found, o, OWNER);
    }
    let Some(aces) = &sd.dacl else {
        push(&mut found, "everyone", "no ACL");
        return found;
    };
    let mut denied: Vec<(&str, u32)> = Vec::new();
    for ace in aces.iter().filter(|a| Reach::Folder.applies(a.flags)) {
        let mask = map_generic(ace.mask);
        match ace.kind {
            AceKind::Deny => denied.push((&ace.sid, mask)),
            AceKind::Other => {}
            AceKind::Allow | AceKind::AllowCallback => {
                let cancelled = denied
                    .iter()
                    .filter(|(s, _)| s.eq_ignore_ascii_case(&ace.sid))
                    .fold(0, |m, (_, d)| m | d);
                if mask & !cancelled & REPLACE != 0 {
                    push(&mut found, &ace.sid, "may replace what is in the folder");
                }
            }
        }
    }
    found
}

/// Unix: who may replace what is inside a folder on the way to an install: its owner when not
/// root, and those who may write to it, except in a sticky folder (`/tmp`), where only an
/// entry's owner may rename or delete it (and that owner is judged at the entry).
pub fn unix_replacers(uid: u32, gid: u32, mode: u32) -> Vec<Writer> {
    if mode & 0o1000 != 0 {
        return unix_writers(uid, gid, 0);
    }
    unix_writers(uid, gid, mode)
}

/// The protected DACL a new folder gets for `mode`: owner-only (condafix's state: SYSTEM, the
/// Administrators and the folder's owner); [`crate::MACHINE_FOLDER`] (a machine folder under
/// `%ProgramData%`, whose stock ACL lets users add entries: SYSTEM and the Administrators
/// change it, users read); `None`: what the parent passes down.
pub fn folder_sddl(mode: u32) -> Option<&'static str> {
    if mode == crate::MACHINE_FOLDER {
        Some("D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)")
    } else if mode & 0o077 == 0 {
        Some("D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)")
    } else {
        None
    }
}

/// The SIDs that may change anything anyway: SYSTEM, the Administrators, TrustedInstaller, and
/// the CREATOR OWNER / CREATOR GROUP / OWNER RIGHTS placeholders.
pub fn windows_trusted(sid: &str) -> bool {
    const TRUSTED: &[&str] = &[
        "S-1-5-18",
        "S-1-5-32-544",
        "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
        "S-1-3-0",
        "S-1-3-1",
        // OWNER RIGHTS: whoever owns the object, who is counted as its owner already.
        "S-1-3-4",
    ];
    TRUSTED.iter().any(|t| t.eq_ignore_ascii_case(sid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_owner_group_and_others_are_writers_root_is_not() {
        assert!(unix_writers(0, 0, 0o755).is_empty());
        assert_eq!(
            Control::from_writers(&unix_writers(1001, 1001, 0o755), unix_is_user),
            Control::Owner(AccountId::Uid(1001))
        );
        assert!(matches!(
            Control::from_writers(&unix_writers(1001, 100, 0o775), unix_is_user),
            Control::Shared(w) if w.len() == 2
        ));
        assert!(matches!(
            Control::from_writers(&unix_writers(0, 0, 0o777), unix_is_user),
            Control::Shared(_)
        ));
        // Root's group with write: root's own.
        assert_eq!(
            Control::from_writers(&unix_writers(0, 0, 0o775), unix_is_user),
            Control::Machine
        );
    }

    #[test]
    fn user_accounts_are_local_domain_and_entra_sids() {
        for (sid, user) in [
            ("S-1-5-21-1111-2222-3333-1001", true),
            ("s-1-5-21-1111-2222-3333-500", true),
            ("S-1-12-1-1234567890-1234567890-1234567890-1234567890", true),
            ("S-1-5-32-545", false), // Users
            ("S-1-1-0", false),      // Everyone
            ("S-1-5-18", false),     // SYSTEM
            ("S-1-5-11", false),     // Authenticated Users
            ("S-1-5-21-", false),
            ("S-1-5-21-x-1", false),
            ("S-1-12-2-1-2", false),
        ] {
            assert_eq!(sid_is_user_account(sid), user, "{sid}");
        }
    }
}
