//! Who may change what an interpreter runs: `verify` never runs a prefix's `python.exe` with
//! more rights than the people who can write to it. Elevated (an administrator's elevated token,
//! SYSTEM, root), condafix checks everything the probe executes, files as well as folders: the
//! interpreter and its DLL, `DLLs\`, `Library\bin`, `Lib\` and the modules the probe imports,
//! `site-packages` with its `.pth` files and the `pip` and `certifi` packages, a venv's own
//! folders. When anyone but the administrators, the system and condafix's own account may
//! change any of it, the interpreter is run as that one user, or not at all.
//!
//! The judgement of one file or folder is `condafix_actor`'s (`writers_of_path`, the pure
//! evaluators of Unix modes and Windows ACLs, and what counts as a user account).

use std::path::{Path, PathBuf};

pub use condafix_actor::{can_start_as_user, process_is_elevated, process_is_system};

/// Someone other than the administrators and the system may change these files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WritableByOthers {
    pub path: PathBuf,
    /// Who: a SID or account on Windows, `uid N` or `group/other` on Unix.
    pub who: String,
}

/// The most files of one package folder checked (a `pip` is about 1,000).
const MAX_PACKAGE_FILES: usize = 5_000;

/// Files and folders directly in `dir` (not followed), at most `limit`.
fn entries(dir: &Path, limit: usize) -> Vec<PathBuf> {
    fs_err::read_dir(dir)
        .map(|rd| rd.flatten().take(limit).map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Everything under `dir`, depth first, not following links, at most `limit` entries (the
/// flag: there were more), leaving out folders named `skip` (site-packages, judged apart).
fn tree(dir: &Path, limit: usize, skip: Option<&str>) -> (Vec<PathBuf>, bool) {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for p in entries(&d, limit + 1) {
            if out.len() >= limit {
                return (out, true);
            }
            if fs_err::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
                if skip.is_some_and(|s| p.file_name().is_some_and(|n| n == s)) {
                    continue;
                }
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    (out, false)
}

/// The site-packages folders of a prefix, both layouts.
fn site_packages(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![condafix_prefix::join_rel(root, "Lib/site-packages")];
    for lib in entries(&root.join("lib"), 64) {
        if lib
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("python"))
        {
            out.push(lib.join("site-packages"));
        }
    }
    out.retain(|p| p.is_dir());
    out
}

/// The most entries of a standard library checked (CPython's, with its bytecode and its tests,
/// is about 10,000): past it, the rights count as unreadable.
const MAX_STDLIB_FILES: usize = 60_000;

/// What the interpreter of `prefix` executes (`home`: a venv's base): the folders it runs from
/// and the files in them, the whole standard library with its bytecode (any module of it may
/// be imported, a `.pyc` in `__pycache__` is read even with `-B`), site-packages' `.pth` files
/// and the packages the probe imports (`pip`, `certifi`).
pub fn executed_from(prefix: &Path, home: Option<&Path>) -> Vec<PathBuf> {
    executed_from_checked(prefix, home).0
}

/// [`executed_from`], and the folder whose files were too many to check, if one was.
pub fn executed_from_checked(
    prefix: &Path,
    home: Option<&Path>,
) -> (Vec<PathBuf>, Option<PathBuf>) {
    let mut too_many = None;
    let mut walk = |out: &mut Vec<PathBuf>, dir: &Path, limit: usize, skip: Option<&str>| {
        let (found, truncated) = tree(dir, limit, skip);
        if truncated && too_many.is_none() {
            too_many = Some(dir.to_path_buf());
        }
        out.extend(found);
    };
    let home = home.unwrap_or(prefix);
    let mut roots = vec![home.to_path_buf()];
    if home != prefix {
        roots.push(prefix.to_path_buf());
    }
    let mut out = Vec::new();
    for root in &roots {
        // The folders: a writer of any can put a file there.
        let folders: Vec<PathBuf> = ["", "DLLs", "Lib", "Library/bin", "Scripts", "bin", "lib"]
            .iter()
            .map(|rel| {
                if rel.is_empty() {
                    root.clone()
                } else {
                    condafix_prefix::join_rel(root, rel)
                }
            })
            .filter(|d| d.is_dir())
            .collect();
        for d in &folders {
            out.push(d.clone());
            // And what is in them now (the interpreter, its DLLs, the stdlib's top modules).
            out.extend(entries(d, MAX_PACKAGE_FILES));
        }
        // The standard library: `Lib\` (Windows), `lib/pythonX.Y/` (Unix), whole.
        let mut stdlibs = vec![condafix_prefix::join_rel(root, "Lib")];
        stdlibs.extend(entries(&root.join("lib"), 64).into_iter().filter(|lib| {
            lib.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("python"))
        }));
        for lib in stdlibs.iter().filter(|d| d.is_dir()) {
            out.push(lib.clone());
            walk(&mut out, lib, MAX_STDLIB_FILES, Some("site-packages"));
        }
        for sp in site_packages(root) {
            out.push(sp.clone());
            // `.pth` files run at every start; the probe imports pip and certifi.
            out.extend(
                entries(&sp, MAX_PACKAGE_FILES)
                    .into_iter()
                    .filter(|p| p.extension().is_some_and(|e| e == "pth")),
            );
            for pkg in ["pip", "certifi"] {
                let p = sp.join(pkg);
                if p.is_dir() {
                    out.push(p.clone());
                    walk(&mut out, &p, MAX_PACKAGE_FILES, None);
                }
            }
        }
    }
    out.sort();
    out.dedup();
    (out, too_many)
}

/// Everyone other than the administrators, the system and condafix's own account who may
/// change any of the paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Writers {
    /// The first path found changeable by others, with who.
    pub first: Option<WritableByOthers>,
    /// Every account or group found, each once, in the order found.
    pub ids: Vec<String>,
    /// A path's rights could not be read (counts as changeable by anyone).
    pub unreadable: bool,
}

impl Writers {
    /// The one user account that alone may change these files, when there is exactly one and
    /// it is a user account (a `uid` on Unix, a user SID on Windows), not a group.
    pub fn sole_user(&self) -> Option<&str> {
        match self.ids.as_slice() {
            [one] if !self.unreadable && condafix_actor::is_user_account(one) => Some(one),
            _ => None,
        }
    }
}

/// condafix's own account when running what only it may change crosses no identity (an
/// administrator elevated on their own Just Me install): `None` where it can start programs as
/// others (SYSTEM, root: never a prefix's owner; under the Windows lane's SYSTEM seam, Wine's
/// one user is both).
fn own_account() -> Option<String> {
    (!can_start_as_user())
        .then(condafix_actor::identity::process_account)
        .flatten()
        .map(|a| a.to_string())
}

/// Who other than the administrators, the system and condafix's own account may change any of
/// `paths`. Running what only condafix's own account (an administrator elevated on their own
/// Just Me install) may change crosses no identity.
pub fn writers_of(paths: &[PathBuf]) -> Writers {
    writers_besides(paths, own_account().as_deref())
}

/// The folders on the way to `prefix` (and to `home`, a venv's base): every ancestor of the
/// path as given (a link on the way counts its owner) and of the path it resolves to. Whoever
/// may replace an entry in one of them may put another install in its place between condafix's
/// check and the start, so they count as the install's writers.
pub fn ancestors_of(prefix: &Path, home: Option<&Path>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = [Some(prefix), home]
        .into_iter()
        .flatten()
        .flat_map(condafix_actor::ancestors_of)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Who other than the administrators, the system and condafix's own account may change what
/// the interpreter of `prefix` runs ([`executed_from`]) or replace a folder on the way to it
/// ([`ancestors_of`]).
pub fn writers_of_install(prefix: &Path, home: Option<&Path>) -> Writers {
    let me = own_account();
    let (executed, too_many) = executed_from_checked(prefix, home);
    let mut out = writers_besides(&executed, me.as_deref());
    if let Some(dir) = too_many {
        out.unreadable = true;
        if out.first.is_none() {
            out.first = Some(WritableByOthers {
                path: dir,
                who: "unknown (more files than condafix checks)".into(),
            });
        }
    }
    judge(
        &mut out,
        &ancestors_of(prefix, home),
        me.as_deref(),
        condafix_actor::replacers_of_folder,
    );
    out
}

/// Who other than the administrators, the system and `me` may change any of `paths`.
pub fn writers_besides(paths: &[PathBuf], me: Option<&str>) -> Writers {
    let mut out = Writers::default();
    judge(&mut out, paths, me, condafix_actor::writers_of_path);
    out
}

/// Add to `out` who `find` says may change each of `paths`, besides `me`.
fn judge(
    out: &mut Writers,
    paths: &[PathBuf],
    me: Option<&str>,
    find: fn(&Path) -> std::io::Result<Vec<condafix_actor::Writer>>,
) {
    for p in paths {
        match find(p) {
            Ok(found) => {
                let found: Vec<_> = found
                    .into_iter()
                    .filter(|w| me != Some(w.id.as_str()))
                    .collect();
                if out.first.is_none() {
                    if let Some(w) = found.first() {
                        out.first = Some(WritableByOthers {
                            path: p.clone(),
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
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                out.unreadable = true;
                if out.first.is_none() {
                    out.first = Some(WritableByOthers {
                        path: p.clone(),
                        who: format!("unknown (its rights could not be read: {e})"),
                    });
                }
            }
        }
    }
}

/// The first of `paths` that someone other than the administrators and the system may change.
/// A path whose rights cannot be read counts as changeable (the safe answer).
pub fn first_writable_by_others(paths: &[PathBuf]) -> Option<WritableByOthers> {
    writers_of(paths).first
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    /// Whether this test runs as root; `CONDAFIX_REQUIRE_ROOT_TESTS=1` (set by `.ci/run`) makes
    /// running without root a failure rather than a skip.
    fn root() -> bool {
        let root =
            condafix_actor::identity::process_account() == Some(condafix_actor::AccountId::Uid(0));
        assert!(
            root || std::env::var_os("CONDAFIX_REQUIRE_ROOT_TESTS").is_none(),
            "CONDAFIX_REQUIRE_ROOT_TESTS is set but this test does not run as root"
        );
        root
    }

    #[test]
    fn a_folder_or_file_others_can_write_is_found_and_roots_own_is_not() {
        if !root() {
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
        // A file the user owns in a root folder: found (the folder alone would pass).
        let exe = safe.join("python.exe");
        fs_err::write(&exe, b"MZ").unwrap();
        std::os::unix::fs::chown(&exe, Some(65534), None).unwrap();
        let w = writers_of(&executed_from(&safe, None));
        assert_eq!(w.first.as_ref().unwrap().path, exe);
        assert_eq!(w.sole_user(), Some("uid 65534"));
        // A link root owns to a file a user owns: the target counts.
        fs_err::remove_file(&exe).unwrap();
        let theirs = dir.path().join("theirs.dll");
        fs_err::write(&theirs, b"MZ").unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
        std::os::unix::fs::symlink(&theirs, safe.join("python3.dll")).unwrap();
        assert!(first_writable_by_others(&executed_from(&safe, None)).is_some());
    }

    #[test]
    fn whoever_may_replace_a_folder_on_the_way_to_a_roots_install_is_its_writer() {
        if !root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let mk = |rel: &str, uid: u32, mode: u32| {
            let p = dir.path().join(rel);
            fs_err::create_dir_all(&p).unwrap();
            fs_err::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            std::os::unix::fs::chown(&p, Some(uid), None).unwrap();
            p
        };
        // root's install in root's folders, below this test's 0700 folder in sticky /tmp.
        let opt = mk("opt", 0, 0o755);
        let prefix = mk("opt/anaconda3", 0, 0o755);
        fs_err::write(prefix.join("python.exe"), b"MZ").unwrap();
        assert_eq!(writers_of_install(&prefix, None), Writers::default());
        // Reached through a link a user owns (in a folder only root may change): the user may
        // aim it at their own tree between the check and the start.
        let home = mk("home", 0, 0o755);
        let link = home.join("a");
        std::os::unix::fs::symlink(&opt, &link).unwrap();
        std::os::unix::fs::lchown(&link, Some(65534), None).unwrap();
        let via = link.join("anaconda3");
        let w = writers_of_install(&via, None);
        assert_eq!(w.sole_user(), Some("uid 65534"), "{w:?}");
        assert_eq!(w.first.unwrap().path, link);
        // root's install in a user's home: the user may rename it away.
        let theirs = mk("home/u", 65534, 0o755);
        let inside = mk("home/u/miniconda3", 0, 0o755);
        fs_err::write(inside.join("python.exe"), b"MZ").unwrap();
        let w = writers_of_install(&inside, None);
        assert_eq!(w.sole_user(), Some("uid 65534"), "{w:?}");
        assert_eq!(w.first.unwrap().path, theirs);
        // A link to a link: root's link to one in a user's home that leads to root's install.
        // The home of the link in the middle counts (its owner may re-aim it), though neither
        // the path as given nor as resolved passes through it.
        let srv = mk("srv", 0, 0o755);
        let real = mk("srv/conda", 0, 0o755);
        fs_err::write(real.join("python.exe"), b"MZ").unwrap();
        let middle_home = mk("home/m", 65533, 0o755);
        std::os::unix::fs::symlink(&real, middle_home.join("c")).unwrap();
        std::os::unix::fs::lchown(middle_home.join("c"), Some(65533), None).unwrap();
        let front = opt.join("conda");
        std::os::unix::fs::symlink(middle_home.join("c"), &front).unwrap();
        let w = writers_of_install(&front, None);
        assert_eq!(w.sole_user(), Some("uid 65533"), "{w:?}");
        let _ = srv;
        // A sticky world-writable folder on the way (as /tmp) lets no one else replace root's
        // entry; a plain world-writable one does.
        let shared = mk("shared", 0, 0o1777);
        let p = mk("shared/pfx", 0, 0o755);
        assert_eq!(writers_of_install(&p, None), Writers::default());
        fs_err::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        let w = writers_of_install(&p, None);
        assert_eq!(w.ids, vec!["everyone".to_string()], "{w:?}");
        assert_eq!(w.sole_user(), None);
    }

    #[test]
    fn one_file_a_user_may_change_anywhere_in_the_standard_library_counts_bytecode_too() {
        if !root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let stdlib = dir.path().join("lib").join("python3.11");
        let cache = stdlib.join("re").join("__pycache__");
        fs_err::create_dir_all(&cache).unwrap();
        fs_err::write(stdlib.join("re").join("__init__.py"), b"").unwrap();
        let pyc = cache.join("__init__.cpython-311.pyc");
        fs_err::write(&pyc, b"\x00").unwrap();
        // Another user's package in site-packages is not imported by the probe: not counted.
        let other = stdlib.join("site-packages").join("other");
        fs_err::create_dir_all(&other).unwrap();
        fs_err::write(other.join("x.py"), b"").unwrap();
        std::os::unix::fs::chown(other.join("x.py"), Some(65533), None).unwrap();
        assert_eq!(writers_of_install(dir.path(), None), Writers::default());
        // Her bytecode deep in a root folder: read even under -B, so she is its writer.
        std::os::unix::fs::chown(&pyc, Some(65534), None).unwrap();
        let w = writers_of_install(dir.path(), None);
        assert_eq!(w.sole_user(), Some("uid 65534"), "{w:?}");
        assert_eq!(w.first.unwrap().path, pyc);
        // Windows layout: Lib\ whole.
        let win = tempfile::tempdir().unwrap();
        let deep = win.path().join("Lib").join("json").join("__pycache__");
        fs_err::create_dir_all(&deep).unwrap();
        fs_err::write(deep.join("decoder.cpython-311.pyc"), b"\x00").unwrap();
        std::os::unix::fs::chown(deep.join("decoder.cpython-311.pyc"), Some(65534), None).unwrap();
        assert_eq!(
            writers_of_install(win.path(), None).sole_user(),
            Some("uid 65534")
        );
    }

    #[test]
    fn site_packages_pth_files_and_the_imported_packages_are_covered() {
        let dir = tempfile::tempdir().unwrap();
        let sp = dir.path().join("Lib").join("site-packages");
        fs_err::create_dir_all(sp.join("pip").join("_internal")).unwrap();
        fs_err::write(sp.join("evil.pth"), b"import os").unwrap();
        fs_err::write(sp.join("pip").join("_internal").join("x.py"), b"").unwrap();
        fs_err::write(sp.join("other.py"), b"").unwrap();
        let paths = executed_from(dir.path(), None);
        assert!(paths.contains(&sp));
        assert!(paths.contains(&sp.join("evil.pth")));
        assert!(paths.contains(&sp.join("pip").join("_internal").join("x.py")));
        assert!(
            !paths.contains(&sp.join("other.py")),
            "not imported at start"
        );
    }
}
