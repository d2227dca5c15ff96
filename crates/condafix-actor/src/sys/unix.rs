//! Unix: folders as file descriptors, every step `openat` relative to the folder's descriptor
//! with `O_NOFOLLOW` (a link at any step is refused, not followed), files opened
//! `O_NONBLOCK` and checked on the descriptor (a FIFO never blocks), renames and removals
//! relative to the folder's descriptor.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::identity::AccountId;
use crate::location::{Kind, Meta};

/// An open folder.
#[derive(Debug)]
pub struct DirHandle(OwnedFd);

impl DirHandle {
    pub fn try_clone(&self) -> std::io::Result<Self> {
        Ok(Self(self.0.try_clone()?))
    }
}

fn io(e: rustix::io::Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e.raw_os_error())
}

/// A link where `O_NOFOLLOW` met one (`ELOOP`), or a folder step that is a link to a file
/// (`ENOTDIR` from `O_NOFOLLOW|O_DIRECTORY` is not that: the caller checks the type).
pub fn is_link_error(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

fn kind_of(ft: FileType) -> Kind {
    match ft {
        FileType::RegularFile => Kind::File,
        FileType::Directory => Kind::Dir,
        FileType::Symlink => Kind::Link,
        FileType::Fifo => Kind::Fifo,
        FileType::Socket => Kind::Socket,
        FileType::CharacterDevice | FileType::BlockDevice => Kind::Device,
        _ => Kind::Other,
    }
}

// `as` casts: the field types differ between architectures (nlink is u32 on some).
#[allow(clippy::unnecessary_cast)]
fn meta_of(st: &rustix::fs::Stat) -> Meta {
    Meta {
        kind: kind_of(FileType::from_raw_mode(st.st_mode)),
        len: st.st_size as u64,
        links: st.st_nlink as u64,
        owner: AccountId::Uid(st.st_uid),
        unix_gid: st.st_gid,
        unix_mode: st.st_mode & 0o7777,
        volume: st.st_dev,
        index: st.st_ino,
        modified_ns: (st.st_mtime as i128 * 1_000_000_000 + st.st_mtime_nsec as i128).max(0)
            as u128,
        readonly: false,
    }
}

/// Open the folder at `path` (a path condafix was given or found, followed as the system
/// resolves it; below it nothing is followed).
pub fn open_root(path: &Path) -> std::io::Result<DirHandle> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map(DirHandle)
    .map_err(io)
}

/// Open the folder `name` in `dir`, refusing a link (`ELOOP`, also where Linux answers
/// `ENOTDIR` for a link met with `O_DIRECTORY`).
pub fn open_dir(dir: &DirHandle, name: &OsStr) -> std::io::Result<DirHandle> {
    match rustix::fs::openat(
        &dir.0,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => Ok(DirHandle(fd)),
        Err(e) if e == rustix::io::Errno::NOTDIR => {
            if stat_at(dir, name).is_ok_and(|m| m.kind == Kind::Link) {
                Err(std::io::Error::from_raw_os_error(libc::ELOOP))
            } else {
                Err(io(e))
            }
        }
        Err(e) => Err(io(e)),
    }
}

pub fn make_dir(dir: &DirHandle, name: &OsStr, mode: u32) -> std::io::Result<()> {
    // (MACHINE_FOLDER's extra bit only tells Windows which DACL to give.)
    rustix::fs::mkdirat(&dir.0, name, Mode::from_raw_mode(mode & 0o777)).map_err(io)
}

/// How a file is opened.
#[derive(Debug, Clone, Copy)]
pub enum FileHow {
    Read,
    /// Create it; fail if anything (a file, a link) is there.
    CreateNew {
        mode: u32,
    },
    /// Open for reading and writing, creating it when missing (a lock file).
    ReadWriteCreate {
        mode: u32,
    },
    /// Open for appending, creating it when missing (a log).
    AppendCreate {
        mode: u32,
    },
}

// std::fs::File: what callers read, write and lock.
#[allow(clippy::disallowed_types)]
pub fn open_file(dir: &DirHandle, name: &OsStr, how: FileHow) -> std::io::Result<std::fs::File> {
    let base = OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY;
    let (flags, mode) = match how {
        // O_NONBLOCK: a FIFO opened for reading would wait for a writer.
        FileHow::Read => (base | OFlags::RDONLY | OFlags::NONBLOCK, 0),
        FileHow::CreateNew { mode } => {
            (base | OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL, mode)
        }
        FileHow::ReadWriteCreate { mode } => (
            base | OFlags::RDWR | OFlags::CREATE | OFlags::NONBLOCK,
            mode,
        ),
        FileHow::AppendCreate { mode } => (
            base | OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::NONBLOCK,
            mode,
        ),
    };
    let fd = rustix::fs::openat(&dir.0, name, flags, Mode::from_raw_mode(mode)).map_err(io)?;
    let file = std::fs::File::from(fd);
    if matches!(
        how,
        FileHow::Read | FileHow::ReadWriteCreate { .. } | FileHow::AppendCreate { .. }
    ) {
        // Back to blocking reads for a regular file (O_NONBLOCK means nothing for one, but
        // clear it so that nothing downstream sees EAGAIN). F_SETFL takes only the status
        // flags of what it is given (O_APPEND here) and ignores the access mode and the
        // creation flags: the open's own flags without O_NONBLOCK, in one call.
        rustix::fs::fcntl_setfl(&file, flags - OFlags::NONBLOCK).map_err(io)?;
    }
    Ok(file)
}

#[allow(clippy::disallowed_types)]
pub fn stat_file(file: &std::fs::File) -> std::io::Result<Meta> {
    rustix::fs::fstat(file).map(|s| meta_of(&s)).map_err(io)
}

pub fn stat_dir(dir: &DirHandle) -> std::io::Result<Meta> {
    rustix::fs::fstat(&dir.0).map(|s| meta_of(&s)).map_err(io)
}

/// The entry `name` in `dir`, not followed.
pub fn stat_at(dir: &DirHandle, name: &OsStr) -> std::io::Result<Meta> {
    rustix::fs::statat(&dir.0, name, AtFlags::SYMLINK_NOFOLLOW)
        .map(|s| meta_of(&s))
        .map_err(io)
}

pub fn rename_at(dir: &DirHandle, from: &OsStr, to: &OsStr) -> std::io::Result<()> {
    rustix::fs::renameat(&dir.0, from, &dir.0, to).map_err(io)
}

/// Rename `from` to `to` in `dir` unless `to` exists (`AlreadyExists` then): renameat2's
/// RENAME_NOREPLACE; where the file system lacks it, a hard link (which fails on a taken name)
/// and the old name removed.
pub fn rename_new_at(dir: &DirHandle, from: &OsStr, to: &OsStr) -> std::io::Result<()> {
    match rustix::fs::renameat_with(&dir.0, from, &dir.0, to, rustix::fs::RenameFlags::NOREPLACE) {
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            rustix::fs::linkat(&dir.0, from, &dir.0, to, AtFlags::empty()).map_err(io)?;
            let _ = remove_file_at(dir, from);
            Ok(())
        }
        other => other.map_err(io),
    }
}

pub fn remove_file_at(dir: &DirHandle, name: &OsStr) -> std::io::Result<()> {
    rustix::fs::unlinkat(&dir.0, name, AtFlags::empty()).map_err(io)
}

pub fn remove_dir_at(dir: &DirHandle, name: &OsStr) -> std::io::Result<()> {
    rustix::fs::unlinkat(&dir.0, name, AtFlags::REMOVEDIR).map_err(io)
}

/// The names in `dir`, with what each is (not followed).
pub fn list(dir: &DirHandle) -> std::io::Result<Vec<(OsString, Kind)>> {
    let mut out = Vec::new();
    let d = rustix::fs::Dir::read_from(dir.0.as_fd()).map_err(io)?;
    for e in d {
        let e = e.map_err(io)?;
        let name = e.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let kind = match e.file_type() {
            FileType::Unknown => stat_at(dir, OsStr::from_bytes(name))
                .map(|m| m.kind)
                .unwrap_or(Kind::Other),
            t => kind_of(t),
        };
        out.push((OsString::from_vec(name.to_vec()), kind));
    }
    Ok(out)
}

/// Give a file condafix created the permission bits it should have (on the descriptor).
#[allow(clippy::disallowed_types)]
pub fn set_mode(file: &std::fs::File, mode: u32) -> std::io::Result<()> {
    rustix::fs::fchmod(file, Mode::from_raw_mode(mode & 0o7777)).map_err(io)
}

/// Make what was written to the folder durable (the rename itself).
pub fn sync_dir(dir: &DirHandle) {
    let _ = rustix::fs::fsync(&dir.0);
}

/// Windows-only notion: the DACL a replaced file had, carried to its replacement.
pub struct Carried;

#[allow(clippy::disallowed_types)]
pub fn carry_from(_: &std::fs::File) -> Option<Carried> {
    None
}

#[allow(clippy::disallowed_types)]
pub fn carry_to(_: &Carried, _: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// Whether this error means "in use, try again" (never on Unix).
pub fn in_use(_: &std::io::Error) -> bool {
    false
}

/// Who may change the folder: its owner unless root, its group when it may write and is not
/// root's, everyone when others may write.
pub fn control_of_dir(dir: &DirHandle) -> std::io::Result<crate::Control> {
    let m = stat_dir(dir)?;
    Ok(crate::Control::from_writers(
        &crate::control::unix_writers(
            match m.owner {
                AccountId::Uid(u) => u,
                AccountId::Sid(_) => u32::MAX,
            },
            m.unix_gid,
            m.unix_mode,
        ),
        crate::control::unix_is_user,
    ))
}

/// A state folder condafix made: its mode was set when it was made.
pub fn protect_new_state_folder(_: &crate::Location) {}

/// Who, besides root, may replace what is inside the folder at `path` (not followed: a link
/// counts its owner).
pub fn replacers_of_folder(path: &Path) -> std::io::Result<Vec<crate::Writer>> {
    use std::os::unix::fs::MetadataExt as _;
    let m = fs_err::symlink_metadata(path)?;
    if m.file_type().is_symlink() {
        return Ok(crate::control::unix_writers(m.uid(), m.gid(), 0));
    }
    Ok(crate::control::unix_replacers(m.uid(), m.gid(), m.mode()))
}

/// Who, besides root, may change the file or folder at `path`: for a link, whoever may change
/// the link and whoever may change what it points at.
pub fn writers_of_path(path: &Path) -> std::io::Result<Vec<crate::Writer>> {
    use std::os::unix::fs::MetadataExt as _;
    let m = fs_err::symlink_metadata(path)?;
    let mut out = Vec::new();
    if m.file_type().is_symlink() {
        if m.uid() != 0 {
            out.push(crate::Writer::new(
                format!("uid {}", m.uid()),
                "owns the link",
            ));
        }
        let t = fs_err::metadata(path)?;
        out.extend(crate::control::unix_writers(t.uid(), t.gid(), t.mode()));
    } else {
        out.extend(crate::control::unix_writers(m.uid(), m.gid(), m.mode()));
    }
    Ok(out)
}

/// A `uid N` is one account; a group or everyone is not.
pub fn is_user_account(id: &str) -> bool {
    crate::control::unix_is_user(id)
}

/// Open a file to copy it (no link followed at its end, a FIFO refused).
#[allow(clippy::disallowed_types)]
pub fn open_for_backup(path: &Path) -> std::io::Result<std::fs::File> {
    crate::read::open(path).map_err(|e| std::io::Error::other(e.to_string()))
}

/// Whether a process with this id is running (one another account runs counts).
pub fn process_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    }
}
