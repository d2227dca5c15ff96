//! A location: a folder opened as an identity. Every read, create, rename, removal and lock
//! condafix does in a folder it does not alone control goes through one, relative to the
//! folder's handle, without following a link at any step, with the identity's rights:
//!
//! - a link (symlink, junction) swapped in at any moment redirects nothing: each step is opened
//!   relative to the handle of the step before, refusing links;
//! - a FIFO, socket or device named like a file is refused on the handle, never waited on;
//! - what is created is created by the identity (a user's file is theirs from the start, never
//!   chowned after), replaced by a rename relative to the folder's handle, with its mode set on
//!   the new file's handle;
//! - a file with several hard links that belongs to someone else is neither read for output
//!   nor replaced in place.

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::control::Control;
use crate::guard::RelPath;
use crate::identity::{AccountId, Identity};
use crate::sys::{self, DirHandle, FileHow};
use crate::FsError;

/// What an entry is (not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Link,
    Fifo,
    Socket,
    Device,
    Other,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "folder",
            Kind::Link => "link",
            Kind::Fifo => "FIFO (named pipe)",
            Kind::Socket => "socket",
            Kind::Device => "device",
            Kind::Other => "special file",
        }
    }
}

/// What the system says of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub kind: Kind,
    pub len: u64,
    /// Hard links to the file.
    pub links: u64,
    pub owner: AccountId,
    /// Unix group and permission bits (0 on Windows).
    pub unix_gid: u32,
    pub unix_mode: u32,
    /// Which file it is: the same for every hard link.
    pub volume: u64,
    pub index: u64,
    pub modified_ns: u128,
    /// Windows' read-only attribute (false on Unix).
    pub readonly: bool,
}

/// How long to keep trying when a file is in use (Windows: antivirus holds fresh DLLs, a running
/// python.exe holds its DLLs).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// About 5 s in all: 50 ms doubling to 1 s.
    fn default() -> Self {
        Self {
            attempts: 10,
            first_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// The whole wait, for messages.
    pub fn total(&self) -> Duration {
        let mut d = self.first_delay;
        let mut total = Duration::ZERO;
        for _ in 1..self.attempts {
            total += d;
            d = (d * 2).min(self.max_delay);
        }
        total
    }

    fn run<T>(&self, mut op: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
        let mut delay = self.first_delay;
        let mut attempt = 1;
        loop {
            match op() {
                Err(e) if sys::in_use(&e) && attempt < self.attempts => {
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(self.max_delay);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// The permission bits of a file condafix writes (Unix; Windows files inherit their folder's
/// ACL, and a replaced file's DACL is carried over).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewMode {
    /// A replaced file keeps its bits; a new one gets these.
    KeepOr(u32),
    /// Always these (condafix's own state: 0o600).
    Exactly(u32),
}

/// Options of [`Location::replace`].
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    pub mode: NewMode,
    /// Create missing folders on the way, with these bits.
    pub create_dirs: Option<u32>,
    pub retry: RetryPolicy,
}

impl WriteOptions {
    /// A file people read (a config file, a DLL): a replaced one keeps its bits, a new one is
    /// 0o644; missing folders are created 0o755.
    pub fn public() -> Self {
        Self {
            mode: NewMode::KeepOr(0o644),
            create_dirs: Some(0o755),
            retry: RetryPolicy::default(),
        }
    }

    /// condafix's own state (journal, receipt, backups): owner-only, folders 0o700.
    pub fn private() -> Self {
        Self {
            mode: NewMode::Exactly(0o600),
            create_dirs: Some(0o700),
            retry: RetryPolicy::default(),
        }
    }
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The marker in the names of condafix's temp files (`.<name>.condafix-tmp-<pid>-<n>`).
/// The mode for a machine folder made below a shared root (`%ProgramData%\condafix`): everyone
/// reads it, only the administrators and the system change it. Windows: a protected DACL given
/// when it is made (the stock `%ProgramData%` ACL would let users add entries); Unix: 0755.
pub const MACHINE_FOLDER: u32 = 0o1755;

pub const TEMP_MARKER: &str = ".condafix-tmp-";

/// A folder opened as an identity.
#[derive(Debug)]
pub struct Location {
    root: PathBuf,
    dir: DirHandle,
    identity: Identity,
}

/// A folder reached below a location (the handle of its last step): the location's own handle
/// for a file right in it (no duplicate handle made and closed per file), or one opened on the
/// way down.
struct Reached<'a> {
    dir: Held<'a, DirHandle>,
    /// The path shown in messages.
    shown: PathBuf,
}

/// A handle (a folder's, a location) borrowed from its owner or owned: `Cow` for things that
/// cannot be cloned.
pub enum Held<'a, T> {
    Borrowed(&'a T),
    Owned(T),
}

impl<T> std::ops::Deref for Held<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Held::Borrowed(t) => t,
            Held::Owned(t) => t,
        }
    }
}

impl Location {
    /// Open the folder at `root` as `identity`. The path itself is followed as the system
    /// resolves it (it is given or found by condafix, not read from a file the folder's owner
    /// controls); nothing below it is.
    pub fn open(root: &Path, identity: Identity) -> Result<Self, FsError> {
        let who = identity.to_string();
        let dir = identity
            .act(|| sys::open_root(root))?
            .map_err(|e| FsError::from_io(root, "open the folder", &who, e))?;
        Ok(Self {
            root: root.to_path_buf(),
            dir,
            identity,
        })
    }

    /// Open the folder at `path` as `identity` without following a link at any step below the
    /// file system's root (or the drive, or the share): for a path someone else may have a
    /// hand in (a folder given for condafix's own output), where a link swapped in on the way
    /// must not lead elsewhere.
    pub fn open_unfollowed(path: &Path, identity: Identity) -> Result<Self, FsError> {
        let abs = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| FsError::from_io(path, "find the current folder for", "condafix", e))?
                .join(path)
        };
        let mut root = PathBuf::new();
        let mut rest: Vec<String> = Vec::new();
        for c in abs.components() {
            match c {
                std::path::Component::Prefix(_) | std::path::Component::RootDir => {
                    root.push(c.as_os_str())
                }
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir => {
                    rest.pop();
                }
                std::path::Component::Normal(n) => rest.push(n.to_string_lossy().into_owned()),
            }
        }
        let top = Self::open(&root, identity)?;
        if rest.is_empty() {
            return Ok(top);
        }
        let rel = RelPath::parse(&rest.join("/")).map_err(|why| FsError::Untrusted {
            path: path.to_path_buf(),
            why: why.to_string(),
        })?;
        top.subdir(&rel, None)
    }

    /// The folder `rel` below this location, as a location of its own (same identity); with
    /// `create`, missing folders on the way are made with those permission bits.
    pub fn subdir(&self, rel: &RelPath, create: Option<u32>) -> Result<Self, FsError> {
        let cur = self.reach_parent(rel, create)?;
        let name = OsStr::new(rel.file_name());
        let shown = rel.under(&self.root);
        let dir = self.act(&shown, "open the folder", || {
            match sys::open_dir(&cur.dir, name) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && create.is_some() => {
                    match sys::make_dir(&cur.dir, name, create.unwrap_or(0o755)) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(e),
                    }
                    sys::open_dir(&cur.dir, name)
                }
                other => other,
            }
        })?;
        Ok(Self {
            root: shown,
            dir,
            identity: self.identity.clone(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The same folder and identity, on a handle of its own.
    pub fn clone_handle(&self) -> Result<Self, FsError> {
        Ok(Self {
            root: self.root.clone(),
            dir: self
                .dir
                .try_clone()
                .map_err(|e| self.err(&self.root, "open the folder", e))?,
            identity: self.identity.clone(),
        })
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Who may change this folder (read from its handle).
    pub fn control(&self) -> Result<Control, FsError> {
        crate::control_of_dir(&self.dir, &self.root)
    }

    /// What the folder itself is (its owner, its bits).
    pub fn meta(&self) -> Result<Meta, FsError> {
        sys::stat_dir(&self.dir).map_err(|e| self.err(&self.root, "read the folder", e))
    }

    fn who(&self) -> String {
        self.identity.to_string()
    }

    fn err(&self, path: &Path, op: &'static str, e: std::io::Error) -> FsError {
        FsError::from_io(path, op, &self.who(), e)
    }

    /// Run a system call as this location's identity; an OS error becomes an [`FsError`] on
    /// `path`.
    fn act<T>(
        &self,
        path: &Path,
        op: &'static str,
        f: impl FnOnce() -> std::io::Result<T>,
    ) -> Result<T, FsError> {
        self.identity
            .act(f)?
            .map_err(|e| FsError::from_io(path, op, &self.who(), e))
    }

    /// The folder holding `rel`'s last component, step by step from the root, no link
    /// followed; with `create`, missing folders are made.
    fn reach_parent(&self, rel: &RelPath, create: Option<u32>) -> Result<Reached<'_>, FsError> {
        let comps: Vec<&str> = rel.components().collect();
        let mut cur = Reached {
            dir: Held::Borrowed(&self.dir),
            shown: self.root.clone(),
        };
        for c in &comps[..comps.len().saturating_sub(1)] {
            let shown = cur.shown.join(c);
            let name = OsStr::new(c);
            let next = self.act(&shown, "open the folder", || {
                match sys::open_dir(&cur.dir, name) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && create.is_some() => {
                        match sys::make_dir(&cur.dir, name, create.unwrap_or(0o755)) {
                            Ok(()) => {}
                            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                            Err(e) => return Err(e),
                        }
                        sys::open_dir(&cur.dir, name)
                    }
                    other => other,
                }
            });
            let next = next?;
            cur = Reached {
                dir: Held::Owned(next),
                shown,
            };
        }
        Ok(cur)
    }

    /// What is at `rel` (not followed); `None` when nothing is.
    pub fn stat(&self, rel: &RelPath) -> Result<Option<Meta>, FsError> {
        let parent = match self.reach_parent(rel, None) {
            Ok(p) => p,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let shown = rel.under(&self.root);
        match self
            .identity
            .act(|| sys::stat_at(&parent.dir, OsStr::new(rel.file_name())))?
        {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.err(&shown, "look at", e)),
        }
    }

    /// Whether a regular file is at `rel`.
    pub fn is_file(&self, rel: &RelPath) -> bool {
        matches!(self.stat(rel), Ok(Some(m)) if m.kind == Kind::File)
    }

    /// The account whose files this location holds: the identity's, or (acting as condafix
    /// itself) the folder's owner.
    fn expected_owner(&self) -> Option<AccountId> {
        match self.identity.account() {
            Some(a) => Some(a.clone()),
            None => self.meta().ok().map(|m| m.owner),
        }
    }

    /// A file with several hard links belonging to someone else than this location's owner is
    /// not used (it could be anyone's file, linked in).
    fn check_links(&self, shown: &Path, m: &Meta) -> Result<(), FsError> {
        if m.links <= 1 || cfg!(windows) {
            return Ok(());
        }
        match self.expected_owner() {
            Some(expected) if m.owner != expected => Err(FsError::HardLinked {
                path: shown.to_path_buf(),
                links: m.links,
                owner: m.owner.to_string(),
                expected: expected.to_string(),
            }),
            _ => Ok(()),
        }
    }

    /// Open the regular file at `rel` for reading: no link at any step, a FIFO or device
    /// refused without blocking.
    // std::fs::File: what callers read and hash.
    #[allow(clippy::disallowed_types)]
    pub fn open_file(&self, rel: &RelPath) -> Result<std::fs::File, FsError> {
        self.open_file_len(rel).map(|(file, _)| file)
    }

    /// [`Location::open_file`], with the file's size when it was opened.
    #[allow(clippy::disallowed_types)]
    pub fn open_file_len(&self, rel: &RelPath) -> Result<(std::fs::File, u64), FsError> {
        let (file, m) = self.open_regular(rel, None, FileHow::Read)?;
        self.check_links(&rel.under(&self.root), &m)?;
        Ok((file, m.len))
    }

    /// Read the whole file at `rel`, refusing one over `cap` bytes.
    pub fn read(&self, rel: &RelPath, cap: u64) -> Result<Vec<u8>, FsError> {
        let file = self.open_file(rel)?;
        crate::read::read_capped(file, &rel.under(&self.root), cap)
    }

    /// Replace (or create) the file at `rel` atomically: a temp file created by the identity in
    /// the same folder (relative to the folder's handle, never an existing file or link), filled
    /// by `fill`, synced, given its mode on its handle, checked by `check`, and renamed over
    /// `rel` relative to the folder's handle. Readers see the old file or the new one; on any
    /// failure the temp file is removed and `rel` is as it was.
    #[allow(clippy::disallowed_types)]
    pub fn replace<T, E: From<FsError>>(
        &self,
        rel: &RelPath,
        opts: &WriteOptions,
        fill: impl FnOnce(&mut std::fs::File) -> Result<T, E>,
        check: impl FnOnce(&T) -> Result<(), E>,
    ) -> Result<T, E> {
        let parent = self.reach_parent(rel, opts.create_dirs)?;
        let name = OsStr::new(rel.file_name());
        let shown = rel.under(&self.root);
        let existing = match self
            .identity
            .act(|| sys::stat_at(&parent.dir, name))
            .map_err(FsError::from)?
        {
            Ok(m) => Some(m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(self.err(&shown, "look at", e).into()),
        };
        let mut carried = None;
        if let Some(m) = &existing {
            match m.kind {
                Kind::File => {}
                Kind::Link => return Err(FsError::Link { path: shown }.into()),
                k => {
                    return Err(FsError::NotAFile {
                        path: shown,
                        kind: k.word(),
                    }
                    .into())
                }
            }
            self.check_links(&shown, m)?;
            if cfg!(windows) {
                if let Ok(Ok(f)) = self
                    .identity
                    .act(|| sys::open_file(&parent.dir, name, FileHow::Read))
                {
                    carried = sys::carry_from(&f);
                }
            }
        }
        let (tmp_name, tmp_shown, mut file) = self.new_temp(&parent, rel, &shown)?;
        let tmp = OsStr::new(&tmp_name);
        let result = (|| {
            let value = fill(&mut file)?;
            file.flush()
                .and_then(|()| file.sync_all())
                .map_err(|e| self.err(&tmp_shown, "write", e))?;
            let mode = match (opts.mode, &existing) {
                (NewMode::KeepOr(_), Some(m)) => m.unix_mode,
                (NewMode::KeepOr(m), None) | (NewMode::Exactly(m), _) => m,
            };
            if cfg!(unix) {
                sys::set_mode(&file, mode)
                    .map_err(|e| self.err(&tmp_shown, "set the mode of", e))?;
            }
            if let Some(c) = &carried {
                self.identity
                    .act(|| sys::carry_to(c, &file))
                    .map_err(FsError::from)?
                    .map_err(|e| self.err(&tmp_shown, "set the rights of", e))?;
            }
            check(&value)?;
            drop(file);
            let renamed = self
                .identity
                .act(|| opts.retry.run(|| sys::rename_at(&parent.dir, tmp, name)))
                .map_err(FsError::from)?;
            if let Err(e) = renamed {
                // Windows answers "in use" also as "access denied": unless the file is
                // read-only, that is what it means here (the temp file beside it was made, so
                // the folder can be written).
                let readonly = existing.as_ref().is_some_and(|m| m.readonly);
                return Err(
                    if sys::in_use(&e) && !(readonly && e.raw_os_error() == Some(5)) {
                        FsError::InUse {
                            path: shown.clone(),
                            seconds: opts.retry.total().as_secs().max(1),
                            source: e,
                        }
                    } else {
                        self.err(&shown, "replace", e)
                    }
                    .into(),
                );
            }
            sys::sync_dir(&parent.dir);
            Ok(value)
        })();
        if result.is_err() {
            let _ = self.identity.act(|| sys::remove_file_at(&parent.dir, tmp));
        }
        result
    }

    /// A temp file beside `rel` (in `parent`, its folder), made new by the identity (never an
    /// existing file or a link), owner-only: its name, its path for messages, and the file.
    #[allow(clippy::disallowed_types)]
    fn new_temp(
        &self,
        parent: &Reached<'_>,
        rel: &RelPath,
        shown: &Path,
    ) -> Result<(String, PathBuf, std::fs::File), FsError> {
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp_name = format!(
            ".{}{TEMP_MARKER}{}-{n}",
            rel.file_name(),
            std::process::id()
        );
        let tmp_shown = shown.with_file_name(&tmp_name);
        let file = self.act(shown, "create a file in the folder of", || {
            sys::open_file(
                &parent.dir,
                OsStr::new(&tmp_name),
                FileHow::CreateNew { mode: 0o600 },
            )
        })?;
        Ok((tmp_name, tmp_shown, file))
    }

    /// Put a new file with `bytes` at `rel` (a name directly in this folder) atomically and only
    /// if nothing is there: a temp file made new beside it (never through a link), filled,
    /// synced, given `mode`, then renamed to `rel` without replacing. `Ok(false)`: the name is
    /// taken (by another run, another machine), nothing changed.
    pub fn place_new(&self, rel: &RelPath, bytes: &[u8], mode: u32) -> Result<bool, FsError> {
        let parent = self.reach_parent(rel, None)?;
        let name = OsStr::new(rel.file_name());
        let shown = rel.under(&self.root);
        let (tmp_name, tmp_shown, mut file) = self.new_temp(&parent, rel, &shown)?;
        let tmp = OsStr::new(&tmp_name);
        let result = (|| {
            file.write_all(bytes)
                .and_then(|()| file.sync_all())
                .map_err(|e| self.err(&tmp_shown, "write", e))?;
            if cfg!(unix) {
                sys::set_mode(&file, mode)
                    .map_err(|e| self.err(&tmp_shown, "set the mode of", e))?;
            }
            drop(file);
            match self
                .identity
                .act(|| sys::rename_new_at(&parent.dir, tmp, name))
                .map_err(FsError::from)?
            {
                Ok(()) => {
                    sys::sync_dir(&parent.dir);
                    Ok(true)
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(self.err(&shown, "create", e)),
            }
        })();
        if !matches!(result, Ok(true)) {
            let _ = self.identity.act(|| sys::remove_file_at(&parent.dir, tmp));
        }
        result
    }

    /// Write `bytes` at `rel` atomically (see [`Location::replace`]).
    pub fn write(&self, rel: &RelPath, bytes: &[u8], opts: &WriteOptions) -> Result<(), FsError> {
        let shown = rel.under(&self.root);
        self.replace(
            rel,
            opts,
            |f| f.write_all(bytes).map_err(|e| self.err(&shown, "write", e)),
            |_| Ok(()),
        )
    }

    /// Remove the file at `rel` (a link there is removed as the link, never followed).
    /// `Ok(false)`: nothing was there.
    pub fn remove(&self, rel: &RelPath, retry: RetryPolicy) -> Result<bool, FsError> {
        let parent = match self.reach_parent(rel, None) {
            Ok(p) => p,
            Err(e) if e.is_not_found() => return Ok(false),
            Err(e) => return Err(e),
        };
        let shown = rel.under(&self.root);
        let name = OsStr::new(rel.file_name());
        match self
            .identity
            .act(|| retry.run(|| sys::remove_file_at(&parent.dir, name)))?
        {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.err(&shown, "remove", e)),
        }
    }

    /// Remove the folder at `rel` if it is empty; whether it is gone.
    pub fn remove_empty_dir(&self, rel: &RelPath) -> bool {
        let Ok(parent) = self.reach_parent(rel, None) else {
            return false;
        };
        matches!(
            self.identity
                .act(|| sys::remove_dir_at(&parent.dir, OsStr::new(rel.file_name()))),
            Ok(Ok(()))
        )
    }

    /// Remove the folder at `rel` and everything in it, never following a link (a link inside
    /// is removed as the link). At most `limit` entries: a folder with more is left, partly
    /// removed, and `false` returned.
    pub fn remove_tree(&self, rel: &RelPath, limit: usize) -> bool {
        let Ok(dir) = self.subdir(rel, None) else {
            return false;
        };
        let mut budget = limit;
        let ok = dir.remove_contents(&mut budget, 0);
        ok && self.remove_empty_dir(rel)
    }

    fn remove_contents(&self, budget: &mut usize, depth: usize) -> bool {
        if depth > 64 {
            return false;
        }
        let Ok(Ok(entries)) = self.identity.act(|| sys::list(&self.dir)) else {
            return false;
        };
        let mut ok = true;
        for (name, kind) in entries {
            if *budget == 0 {
                return false;
            }
            *budget -= 1;
            if kind == Kind::Dir {
                let Some(rel) = name.to_str().and_then(|n| RelPath::parse(n).ok()) else {
                    ok = false;
                    continue;
                };
                match self.subdir(&rel, None) {
                    Ok(sub) => {
                        ok &= sub.remove_contents(budget, depth + 1);
                        ok &= self.remove_empty_dir(&rel);
                    }
                    Err(_) => ok = false,
                }
            } else {
                ok &= matches!(
                    self.identity.act(|| sys::remove_file_at(&self.dir, &name)),
                    Ok(Ok(()))
                );
            }
        }
        ok
    }

    /// The names in the folder `rel` (`None`: the location's own folder), with what each is.
    pub fn list(&self, rel: Option<&RelPath>) -> Result<Vec<(String, Kind)>, FsError> {
        let owned;
        let dir = match rel {
            Some(r) => {
                owned = self.subdir(r, None)?;
                &owned
            }
            None => self,
        };
        let entries = dir.act(&dir.root, "list", || sys::list(&dir.dir))?;
        // A name that is not valid Unicode is left out: a lossy copy would name another file
        // (or none), and condafix never makes such names.
        Ok(entries
            .into_iter()
            .filter_map(|(n, k)| n.into_string().ok().map(|n| (n, k)))
            .collect())
    }

    /// Open the regular file at `rel` as `how` says (with `create_dirs`, missing folders on the
    /// way are made); anything else there (a link, a folder, a special file) is refused.
    #[allow(clippy::disallowed_types)]
    fn open_regular(
        &self,
        rel: &RelPath,
        create_dirs: Option<u32>,
        how: FileHow,
    ) -> Result<(std::fs::File, Meta), FsError> {
        let parent = self.reach_parent(rel, create_dirs)?;
        let shown = rel.under(&self.root);
        let file = self.act(&shown, "open", || {
            sys::open_file(&parent.dir, OsStr::new(rel.file_name()), how)
        })?;
        let m = sys::stat_file(&file).map_err(|e| self.err(&shown, "read", e))?;
        if m.kind != Kind::File {
            return Err(FsError::NotAFile {
                path: shown,
                kind: m.kind.word(),
            });
        }
        Ok((file, m))
    }

    /// Open (creating when missing) the file at `rel` for reading and writing: a lock file.
    #[allow(clippy::disallowed_types)]
    pub fn open_lock_file(&self, rel: &RelPath, mode: u32) -> Result<std::fs::File, FsError> {
        self.open_regular(rel, Some(0o700), FileHow::ReadWriteCreate { mode })
            .map(|(file, _)| file)
    }

    /// Open (creating when missing, with `mode`) the regular file at `rel` for appending: a log.
    /// A link or a special file there is refused, and so is a file someone else owns.
    #[allow(clippy::disallowed_types)]
    pub fn open_append(&self, rel: &RelPath, mode: u32) -> Result<std::fs::File, FsError> {
        let (file, m) = self.open_regular(rel, Some(0o700), FileHow::AppendCreate { mode })?;
        if m.links > 1 && !cfg!(windows) {
            self.check_links(&rel.under(&self.root), &m)?;
        }
        Ok(file)
    }

    /// Remove condafix's temp files (`TEMP_MARKER`) an interrupted write left in the folder
    /// `rel` (`None`: this one).
    pub fn remove_temp_files(&self, rel: Option<&RelPath>) {
        let owned;
        let dir = match rel {
            Some(r) => match self.subdir(r, None) {
                Ok(d) => {
                    owned = d;
                    &owned
                }
                Err(_) => return,
            },
            None => self,
        };
        let Ok(Ok(entries)) = dir.identity.act(|| sys::list(&dir.dir)) else {
            return;
        };
        for (name, kind) in entries {
            if kind == Kind::File && name.to_string_lossy().contains(TEMP_MARKER) {
                let _ = dir.identity.act(|| sys::remove_file_at(&dir.dir, &name));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(s: &str) -> RelPath {
        RelPath::parse(s).unwrap()
    }

    #[test]
    fn a_write_replaces_an_existing_file_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let loc = Location::open(dir.path(), Identity::Process).unwrap();
        loc.write(&rel("sub/a.txt"), b"one", &WriteOptions::private())
            .unwrap();
        loc.write(&rel("sub/a.txt"), b"two", &WriteOptions::private())
            .unwrap();
        assert_eq!(loc.read(&rel("sub/a.txt"), 10).unwrap(), b"two");
        let names: Vec<String> = loc
            .list(Some(&rel("sub")))
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["a.txt"]);
        assert!(loc
            .remove(&rel("sub/a.txt"), RetryPolicy::default())
            .unwrap());
        assert!(!loc
            .remove(&rel("sub/a.txt"), RetryPolicy::default())
            .unwrap());
        assert!(loc.remove_empty_dir(&rel("sub")));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_name_that_is_not_unicode_is_not_listed_as_another() {
        use std::os::unix::ffi::OsStrExt as _;
        let dir = tempfile::tempdir().unwrap();
        let odd = std::ffi::OsStr::from_bytes(b"libssl-3-x64\xff.dll");
        fs_err::write(dir.path().join(odd), b"EVIL").unwrap();
        fs_err::write(dir.path().join("libssl-3-x64.dll"), b"MZ").unwrap();
        let loc = Location::open(dir.path(), Identity::Process).unwrap();
        let names: Vec<String> = loc
            .list(None)
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["libssl-3-x64.dll"]);
    }

    #[test]
    fn a_new_file_never_takes_a_name_that_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let loc = Location::open(dir.path(), Identity::Process).unwrap();
        assert!(loc.place_new(&rel("a.json"), b"first", 0o644).unwrap());
        assert!(!loc.place_new(&rel("a.json"), b"second", 0o644).unwrap());
        assert_eq!(loc.read(&rel("a.json"), 10).unwrap(), b"first");
        // A link there is a name taken too, and what it points at stays as it was.
        #[cfg(unix)]
        {
            let target = dir.path().join("target");
            fs_err::write(&target, b"kept").unwrap();
            std::os::unix::fs::symlink(&target, dir.path().join("b.json")).unwrap();
            assert!(!loc.place_new(&rel("b.json"), b"second", 0o644).unwrap());
            assert_eq!(fs_err::read(&target).unwrap(), b"kept");
        }
        let mut names: Vec<String> = loc
            .list(None)
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| n.contains(TEMP_MARKER))
            .collect();
        names.sort();
        assert!(names.is_empty(), "temp files left: {names:?}");
    }
}
