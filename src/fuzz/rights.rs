//! Targets for who may change a folder and how condafix walks into it: SDDL strings (parsed and
//! written back), the folder-ACL evaluator over ACE lists (structured), and the path guard with
//! `condafix_actor`'s walk below a folder it opened (structured: a tree with links out, and
//! paths into it).

use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use condafix_actor::control::{windows_trusted, windows_writers, Ace, AceKind, Descriptor};
use condafix_actor::guard::RelPath;
use condafix_actor::{sddl, Control, Identity, Location};

pub fn sddl_seeds() -> Vec<Vec<u8>> {
    [
        "O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICIIO;GA;;;CO)(A;OICI;0x1200a9;;;BU)(A;CI;DCLCRPCR;;;BU)",
        "O:S-1-5-21-1-2-3-1001D:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;FA;;;S-1-5-21-1-2-3-1001)",
        "O:BAD:AI(A;OIIO;0x1301bf;;;BU)(D;CI;FW;;;IU)(XA;OICI;FA;;;WD;(@User.Dept==\"R(&)D\"))S:(AU;SAFA;FA;;;WD)",
        "O:BAD:NO_ACCESS_CONTROL",
        "D:P(OA;;RP;bf967a86-0de6-11d0-a285-00aa003049e2;;AU)",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

/// Any text: parsing never panics, and a descriptor it yields is written back to an SDDL string
/// that parses to the same descriptor; the evaluator takes it.
pub fn run_sddl(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(d) = sddl::parse(&text) else {
        return;
    };
    let again = sddl::to_sddl(&d);
    assert_eq!(
        sddl::parse(&again).as_ref(),
        Ok(&d),
        "{text:?} was written back as {again:?}"
    );
    let _ = windows_writers(&d, windows_trusted);
}

/// SIDs the structured ACE lists draw from: the trusted ones, groups, placeholders and users.
const SIDS: &[&str] = &[
    "S-1-5-18",
    "S-1-5-32-544",
    "S-1-5-32-545",
    "S-1-5-11",
    "S-1-1-0",
    "S-1-3-0",
    "S-1-3-4",
    "S-1-5-21-1-2-3-1001",
    "S-1-5-21-1-2-3-1002",
    "S-1-12-1-1234567890-1234567890-1234567890-1234567890",
];

/// Masks the structured ACE lists draw from besides any number: the ones real folders carry.
const MASKS: &[u32] = &[
    0x001F_01FF, // FA
    0x0013_01BF, // modify
    0x0012_00A9, // read and execute
    0x0000_0116, // ProgramData's add file / add folder
    0x0012_0116, // FW
    0x0000_0040, // delete child
    0x1000_0000, // GA
    0x4000_0000, // GW
    0x0004_0000, // WD
];

#[derive(Debug, Arbitrary)]
struct ArbAce {
    kind: u8,
    flags: u8,
    mask: Result<u8, u32>,
    sid: u8,
}

impl ArbAce {
    fn ace(&self) -> Ace {
        Ace {
            kind: [
                AceKind::Allow,
                AceKind::Deny,
                AceKind::AllowCallback,
                AceKind::Other,
            ][usize::from(self.kind % 4)],
            flags: self.flags,
            mask: match self.mask {
                Ok(i) => MASKS[usize::from(i) % MASKS.len()],
                Err(m) => m,
            },
            sid: SIDS[usize::from(self.sid) % SIDS.len()].to_string(),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct ArbDescriptor {
    owner: Option<u8>,
    null_dacl: bool,
    aces: Vec<ArbAce>,
    extra: ArbAce,
}

fn ids(sd: &Descriptor) -> Vec<String> {
    let mut v: Vec<String> = windows_writers(sd, windows_trusted)
        .into_iter()
        .map(|w| w.id)
        .collect();
    v.sort();
    v
}

/// Structured ACE lists: the SDDL round trip, and the evaluator's laws: a writer is the owner,
/// `everyone` (no DACL) or an ACE's SID, never a trusted one; an allow ACE added at the end takes
/// no writer away; taking the deny ACEs away takes no writer away; no writer is `Machine`.
pub fn run_acl(data: &[u8]) {
    let Ok(arb) = ArbDescriptor::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let sd = Descriptor {
        owner: arb
            .owner
            .map(|i| SIDS[usize::from(i) % SIDS.len()].to_string()),
        dacl: (!arb.null_dacl).then(|| arb.aces.iter().map(ArbAce::ace).collect()),
    };
    let written = sddl::to_sddl(&sd);
    assert_eq!(sddl::parse(&written).as_ref(), Ok(&sd), "{written}");
    let writers = ids(&sd);
    for w in &writers {
        assert!(!windows_trusted(w), "{written}: trusted {w} counted");
        assert!(
            sd.owner.as_ref() == Some(w)
                || (w == "everyone" && sd.dacl.is_none())
                || sd.dacl.iter().flatten().any(|a| &a.sid == w),
            "{written}: {w} came from nowhere"
        );
    }
    let control = Control::from_writers(
        &windows_writers(&sd, windows_trusted),
        condafix_actor::control::sid_is_user_account,
    );
    assert_eq!(control == Control::Machine, writers.is_empty(), "{written}");
    let Some(aces) = &sd.dacl else {
        return;
    };
    let mut extra = arb.extra.ace();
    extra.kind = AceKind::Allow;
    let mut more = sd.clone();
    more.dacl = Some(aces.iter().cloned().chain([extra]).collect());
    let after = ids(&more);
    assert!(
        writers.iter().all(|w| after.contains(w)),
        "{written}: an allow ACE at the end took a writer away ({writers:?} -> {after:?})"
    );
    let mut no_deny = sd.clone();
    no_deny.dacl = Some(
        aces.iter()
            .filter(|a| a.kind != AceKind::Deny)
            .cloned()
            .collect(),
    );
    let undenied = ids(&no_deny);
    assert!(
        writers.iter().all(|w| undenied.contains(w)),
        "{written}: removing the denies took a writer away ({writers:?} -> {undenied:?})"
    );
}

/// Names a structured tree is built from, and the components its paths are made of (these add
/// the ways out: `..`, `.`, empty, a drive, a stream, a device, a trailing space).
const NAMES: &[&str] = &["a", "b", "DLLs", "Library"];
const COMPONENTS: &[&str] = &[
    "a",
    "b",
    "DLLs",
    "Library",
    "out",
    "secret.txt",
    "..",
    ".",
    "",
    "C:",
    "x:y",
    "NUL",
    "x ",
];
const SECRET: &[u8] = b"outside the prefix";

#[derive(Debug, Arbitrary)]
struct ArbEntry {
    /// Up to three names below the root.
    path: [u8; 3],
    depth: u8,
    /// A folder, a file, a link to the outside folder, a link to the outside file, a link to
    /// `..`.
    kind: u8,
}

#[derive(Debug, Arbitrary)]
struct ArbWalk {
    entries: Vec<ArbEntry>,
    paths: Vec<(Vec<u8>, bool)>,
}

/// A tree with links out of it and paths into it: a path the guard accepts stays below the
/// root, `no_links_below` hands back only a path with no link on the way, and nothing read,
/// looked at or listed through a [`Location`] comes from outside it.
pub fn run_actor_walk(data: &[u8]) {
    let Ok(walk) = ArbWalk::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("prefix");
    let outside = dir.path().join("outside");
    fs_err::create_dir_all(&root).expect("root");
    fs_err::create_dir_all(&outside).expect("outside");
    fs_err::write(outside.join("secret.txt"), SECRET).expect("secret");
    for e in walk.entries.iter().take(16) {
        let depth = usize::from(e.depth % 3) + 1;
        let mut p = root.clone();
        for &n in &e.path[..depth] {
            p.push(NAMES[usize::from(n) % NAMES.len()]);
        }
        if let Some(parent) = p.parent() {
            // A link or file on the way makes this fail: that entry is skipped.
            if fs_err::create_dir_all(parent).is_err() || p.exists() || p.is_symlink() {
                continue;
            }
        }
        let _ = match e.kind % 5 {
            0 => fs_err::create_dir(&p),
            1 => fs_err::write(&p, b"inside"),
            k => link(
                &p,
                &match k {
                    2 => outside.clone(),
                    3 => outside.join("secret.txt"),
                    _ => dir.path().to_path_buf(),
                },
            ),
        };
    }
    let loc = Location::open(&root, Identity::Process).expect("open the root");
    for (components, backslash) in walk.paths.iter().take(16) {
        let sep = if *backslash { "\\" } else { "/" };
        let text = components
            .iter()
            .take(6)
            .map(|&c| COMPONENTS[usize::from(c) % COMPONENTS.len()])
            .collect::<Vec<_>>()
            .join(sep);
        let Ok(rel) = RelPath::parse(&text) else {
            continue;
        };
        check_walk(&root, &loc, &rel, &text);
    }
}

fn check_walk(root: &Path, loc: &Location, rel: &RelPath, text: &str) {
    let under = rel.under(root);
    assert!(under.starts_with(root), "{text:?} left the root");
    if let Ok(p) = condafix_actor::guard::no_links_below(root, rel) {
        let mut q = root.to_path_buf();
        for c in p.strip_prefix(root).expect("below the root").components() {
            q.push(c);
            assert!(
                !q.is_symlink(),
                "{text:?}: no_links_below passed the link {}",
                q.display()
            );
        }
    }
    if let Ok(bytes) = loc.read(rel, 1 << 20) {
        assert_ne!(bytes, SECRET, "{text:?} read a file outside the root");
    }
    if let Ok(Some(m)) = loc.stat(rel) {
        let _ = m.kind;
    }
    if let Ok(names) = loc.list(Some(rel)) {
        assert!(
            names.iter().all(|(n, _)| n != "secret.txt"),
            "{text:?} listed the outside folder"
        );
    }
}

#[cfg(unix)]
fn link(at: &Path, to: &Path) -> std::io::Result<()> {
    fs_err::os::unix::fs::symlink(to, at)
}

/// No symbolic links without the privilege to make them: the tree has folders and files only.
#[cfg(not(unix))]
fn link(_: &Path, _: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Fixed inputs for the structured targets: libFuzzer and the in-tree runner mutate from them.
pub fn structured_seeds() -> Vec<Vec<u8>> {
    let mut rng = super::engine::Rng::new(0x5151);
    (0..8)
        .map(|n| (0..16 + 32 * n).map(|_| rng.next_u64() as u8).collect())
        .collect()
}
