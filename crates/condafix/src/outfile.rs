//! Files condafix writes for people and other programs, outside any prefix: the document
//! `--report-dir` drops on a share, and `report`'s page, CSV and events. Always a temp file
//! in the same folder, then a rename, so a reader never sees half a file; never through a
//! link (the folder and the file are checked, the temp file is created new and not followed).
//! A `--report-dir` file never replaces one that is there (another run's, another machine's).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};

/// A host name as a file name: letters, digits, `.`, `_` and `-` kept, the rest `_`.
pub fn file_safe(host: &str) -> String {
    let mut s: String = host
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with('.') {
        s.replace_range(..1, "_");
    }
    if s.is_empty() {
        s.push_str("unknown-host");
    }
    s
}

/// Write a document into `dir` as `<host>-<UTC time>.json` (`-2`, `-3`, ... when that name is
/// taken), by handle: the folder reached without following a link at any step (made when
/// missing), a temp file made new in it and renamed to a name nothing holds (never replacing
/// another run's or another machine's file). Run elevated, the document (every user's
/// installs) is owner-only and never goes into a folder one other user controls. The path
/// written.
pub fn drop_document(
    dir: &Path,
    host: &str,
    time: jiff::Timestamp,
    text: &str,
) -> anyhow::Result<PathBuf> {
    let loc = open_folder(dir, true, 0o755, Policy::Share)?;
    let elevated = condafix_actor::process_is_elevated();
    let stem = format!(
        "{}-{}",
        file_safe(host),
        condafix_report::time::compact(time)
    );
    for n in 1..100u32 {
        let name = if n == 1 {
            format!("{stem}.json")
        } else {
            format!("{stem}-{n}.json")
        };
        let rel = condafix_actor::guard::RelPath::parse(&name)
            .map_err(|why| anyhow::anyhow!("{name}: {why}"))?;
        let placed = loc
            .place_new(&rel, text.as_bytes(), if elevated { 0o600 } else { 0o644 })
            .with_context(|| format!("{} could not be written", dir.join(&name).display()))?;
        if placed {
            return Ok(dir.join(name));
        }
    }
    bail!(
        "{} and 98 more names beside it are taken",
        dir.join(format!("{stem}.json")).display()
    )
}

/// Which folders an elevated condafix writes its output into.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// Its own, the administrators', or a sticky shared one (`/tmp`).
    Own,
    /// Also a share several accounts write to (a fleet's report folder); never one that one
    /// other user controls.
    Share,
}

/// The folder for condafix's own output (a bundle, a log, a page), opened by handle and, with
/// `create`, made when missing. Run elevated, condafix refuses a folder another account
/// controls (they could swap what it writes, or read what only its owner should): its own or
/// the administrators' folders, or a shared one with the sticky bit (`/tmp`), are fine.
pub fn output_folder(dir: &Path, create: bool) -> anyhow::Result<condafix_actor::Location> {
    open_folder(dir, create, 0o700, Policy::Own)
}

/// [`output_folder`], what is missing made with `mode`, checked by `policy`.
fn open_folder(
    dir: &Path,
    create: bool,
    mode: u32,
    policy: Policy,
) -> anyhow::Result<condafix_actor::Location> {
    use condafix_actor::{Identity, Location};
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    // The deepest folder that is there, reached without following a link at any step (a link
    // swapped in on the way cannot send condafix's output elsewhere) and checked; what is
    // missing below it is made there, owner-only, by handle.
    let mut existing = dir.to_path_buf();
    let mut missing: Vec<String> = Vec::new();
    while create && !existing.exists() {
        let Some(name) = existing.file_name() else {
            break;
        };
        missing.push(name.to_string_lossy().into_owned());
        existing.pop();
    }
    if fs_err::symlink_metadata(&existing).is_ok_and(|m| !m.is_dir() && !m.file_type().is_symlink())
    {
        bail!("{} is not a folder", existing.display());
    }
    let loc = Location::open_unfollowed(&existing, Identity::Process)
        .with_context(|| format!("{} could not be opened", existing.display()))?;
    check_ours(&loc, &existing, policy)?;
    if missing.is_empty() {
        return Ok(loc);
    }
    missing.reverse();
    let rel = condafix_actor::guard::RelPath::parse(&missing.join("/"))
        .map_err(|why| anyhow::anyhow!("{}: {why}", dir.display()))?;
    let made = loc
        .subdir(&rel, Some(mode))
        .with_context(|| format!("{} could not be created", dir.display()))?;
    // Someone may have made it first, between the look and the make: judge what was opened.
    check_ours(&made, dir, policy)?;
    Ok(made)
}

/// Run elevated, condafix refuses a folder another account controls: its own or the
/// administrators' folders, or a shared one with the sticky bit (`/tmp`), are fine.
fn check_ours(loc: &condafix_actor::Location, dir: &Path, policy: Policy) -> anyhow::Result<()> {
    use condafix_actor::Control;
    if !condafix_actor::process_is_elevated() {
        return Ok(());
    }
    let me = condafix_actor::identity::process_account();
    let sticky = loc.meta().is_ok_and(|m| m.unix_mode & 0o1000 != 0);
    // A shared folder that a user other than this account owns is theirs: its owner may
    // delete or replace anything in it, sticky or not, opened to their group or not.
    let users_own = |w: &[condafix_actor::Writer]| {
        condafix_actor::user_owner(w).is_some_and(|owner| me.as_ref() != Some(&owner))
    };
    match loc.control()? {
        Control::Machine => Ok(()),
        Control::Owner(id) if Some(&id) == me.as_ref() => Ok(()),
        // `/tmp`: only an entry's owner may remove it.
        Control::Shared(w) if sticky && !users_own(&w) => Ok(()),
        // A share several accounts write to.
        Control::Shared(w) if policy == Policy::Share && !users_own(&w) => Ok(()),
        other => bail!(
            "{} may be changed by {}: condafix, running elevated, does not write its output there (give a folder of your own)",
            dir.display(),
            other.describe()
        ),
    }
}

fn file_rel(dest: &Path) -> anyhow::Result<(PathBuf, condafix_actor::guard::RelPath)> {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rel = condafix_actor::guard::RelPath::parse(&name).map_err(|why| {
        anyhow::anyhow!(
            "{} is not a file name condafix writes: {why}",
            dest.display()
        )
    })?;
    Ok((dir, rel))
}

/// Write (or replace) `dest` atomically, by handle: a temp file made new beside it, renamed
/// over it; a link or a folder at `dest` is refused. `private`: owner-only (it may carry config
/// contents).
pub fn replace(dest: &Path, bytes: &[u8], private: bool) -> anyhow::Result<()> {
    replace_with(dest, private, |f| Ok(f.write_all(bytes)?))
}

/// [`replace`], the bytes written by `fill` (a zip, streamed).
#[allow(clippy::disallowed_types)]
pub fn replace_with(
    dest: &Path,
    private: bool,
    fill: impl FnOnce(&mut std::fs::File) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use condafix_actor::{NewMode, WriteOptions};
    let (dir, rel) = file_rel(dest)?;
    let loc = output_folder(&dir, true)?;
    let opts = WriteOptions {
        mode: if private {
            NewMode::Exactly(0o600)
        } else {
            NewMode::KeepOr(0o644)
        },
        create_dirs: None,
        retry: condafix_actor::RetryPolicy::default(),
    };
    let result: Result<(), OutError> =
        loc.replace(&rel, &opts, |f| fill(f).map_err(OutError::Fill), |_| Ok(()));
    result.map_err(|e| match e {
        OutError::Fs(e) => anyhow::Error::from(e),
        OutError::Fill(e) => e,
    })
}

/// Why an output was not written.
enum OutError {
    Fs(condafix_actor::FsError),
    Fill(anyhow::Error),
}

impl From<condafix_actor::FsError> for OutError {
    fn from(e: condafix_actor::FsError) -> Self {
        OutError::Fs(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_name_becomes_a_safe_file_name() {
        assert_eq!(file_safe("PC-0042"), "PC-0042");
        assert_eq!(file_safe("../..\\evil<script>"), "_._.._evil_script_");
        assert_eq!(file_safe(""), "unknown-host");
    }

    #[test]
    fn a_dropped_document_never_replaces_one_that_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let t: jiff::Timestamp = "2025-01-02T03:04:05Z".parse().unwrap();
        let a = drop_document(dir.path(), "PC-1", t, "one").unwrap();
        let b = drop_document(dir.path(), "PC-1", t, "two").unwrap();
        assert_eq!(a.file_name().unwrap(), "PC-1-20250102T030405Z.json");
        assert_eq!(b.file_name().unwrap(), "PC-1-20250102T030405Z-2.json");
        assert_eq!(fs_err::read_to_string(&a).unwrap(), "one");
        assert_eq!(fs_err::read_to_string(&b).unwrap(), "two");
        // No temp file is left behind.
        assert_eq!(fs_err::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn nothing_is_written_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        fs_err::write(&target, "keep").unwrap();
        let link = dir.path().join("out.html");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = replace(&link, b"page", false).unwrap_err();
        assert!(e.to_string().contains("is a link"), "{e}");
        assert_eq!(fs_err::read_to_string(&target).unwrap(), "keep");
        let linked_dir = dir.path().join("share");
        std::os::unix::fs::symlink(dir.path(), &linked_dir).unwrap();
        let t: jiff::Timestamp = "2025-01-02T03:04:05Z".parse().unwrap();
        assert!(drop_document(&linked_dir, "PC", t, "x").is_err());
    }
}
