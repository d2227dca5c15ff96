//! The path guard: every path condafix reads from a file (a journal, a receipt, a conda record,
//! an import table, an archive, a manifest) goes through here before it is joined, read, written
//! or deleted. A prefix is writable by the user who owns it and condafix may run with more rights
//! (SYSTEM, an admin installer), so such a path must not take condafix anywhere else: it must be
//! a plain relative path that stays inside the prefix, and no link may sit on the way to it.
//! See docs/architecture.md ("every path from a file goes through the guard").

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a path from a file is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathRefusal {
    Empty,
    /// Starts at a root, a drive (`C:`) or a server (`\\host`).
    Absolute,
    /// A `..` component: it climbs out.
    ParentDir,
    /// An empty or `.` component (`a//b`, `./a`): not how conda writes paths.
    OddComponent,
    /// A `:` (an NTFS alternate data stream, or a drive).
    Colon,
    /// A character Windows does not allow in names (`<>"|?*`) or a control character.
    BadCharacter(char),
    /// A DOS device name (`NUL`, `CON`, `COM1`...), which opens the device, not a file.
    DeviceName(String),
    /// A trailing `.` or space, which Windows strips (so the name means another file).
    TrailingDotOrSpace,
    /// A separator in what must be a bare file name (a DLL name from an import table).
    NotAFileName,
    /// Longer than any real path condafix handles.
    TooLong,
}

impl fmt::Display for PathRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathRefusal::Empty => f.write_str("it is empty"),
            PathRefusal::Absolute => f.write_str("it is an absolute path"),
            PathRefusal::ParentDir => f.write_str("it climbs out with `..`"),
            PathRefusal::OddComponent => f.write_str("it has an empty or `.` component"),
            PathRefusal::Colon => {
                f.write_str("it holds a `:` (a drive or an alternate data stream)")
            }
            PathRefusal::BadCharacter(c) => write!(f, "it holds the character {c:?}"),
            PathRefusal::DeviceName(n) => write!(f, "`{n}` is a device name, not a file"),
            PathRefusal::TrailingDotOrSpace => {
                f.write_str("a name ends with a dot or a space (Windows strips it)")
            }
            PathRefusal::NotAFileName => f.write_str("it is a path, not a bare file name"),
            PathRefusal::TooLong => f.write_str("it is too long"),
        }
    }
}

impl std::error::Error for PathRefusal {}

const MAX_LEN: usize = 1024;

fn is_device_name(component: &str) -> bool {
    // Windows maps these names to devices whatever the extension (`NUL.txt`) and folder.
    let stem = component
        .split('.')
        .next()
        .unwrap_or("")
        .trim_end_matches(' ')
        .to_uppercase();
    if matches!(
        stem.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" | "CLOCK$"
    ) {
        return true;
    }
    let chars: Vec<char> = stem.chars().collect();
    chars.len() == 4
        && (stem.starts_with("COM") || stem.starts_with("LPT"))
        && (chars[3].is_ascii_digit() || ['¹', '²', '³'].contains(&chars[3]))
}

fn check_component(c: &str) -> Result<(), PathRefusal> {
    if c.is_empty() || c == "." {
        return Err(PathRefusal::OddComponent);
    }
    if c == ".." {
        return Err(PathRefusal::ParentDir);
    }
    if let Some(bad) = c
        .chars()
        .find(|&ch| ch.is_control() || "<>\"|?*".contains(ch))
    {
        return Err(PathRefusal::BadCharacter(bad));
    }
    if c.contains(':') {
        return Err(PathRefusal::Colon);
    }
    if c.ends_with('.') || c.ends_with(' ') {
        return Err(PathRefusal::TrailingDotOrSpace);
    }
    if is_device_name(c) {
        return Err(PathRefusal::DeviceName(c.to_string()));
    }
    Ok(())
}

/// A path relative to a prefix that was checked: plain components only (no root, drive, `..`,
/// `.`, empty component, `:`, device name, trailing dot or space, control character). Kept
/// `/`-separated, as conda writes paths.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelPath(String);

impl RelPath {
    /// Check a path read from a file. `/` and `\` both separate.
    pub fn parse(path: &str) -> Result<Self, PathRefusal> {
        if path.is_empty() {
            return Err(PathRefusal::Empty);
        }
        if path.len() > MAX_LEN {
            return Err(PathRefusal::TooLong);
        }
        if path.starts_with(['/', '\\']) || path.as_bytes().get(1) == Some(&b':') {
            return Err(PathRefusal::Absolute);
        }
        let parts: Vec<&str> = path.split(['/', '\\']).collect();
        for c in &parts {
            check_component(c)?;
        }
        Ok(Self(parts.join("/")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The components, in order.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The path under `root` (lexically inside it: every component is plain).
    pub fn under(&self, root: &Path) -> PathBuf {
        let mut out = root.to_path_buf();
        for c in self.components() {
            out.push(c);
        }
        out
    }

    /// The last component.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// Whether this path starts with the components of `dir`.
    pub fn starts_with(&self, dir: &str) -> bool {
        let mut mine = self.components();
        dir.split('/')
            .filter(|c| !c.is_empty())
            .all(|d| mine.next().is_some_and(|m| m.eq_ignore_ascii_case(d)))
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Check a DLL name from an import table (or any name that must be one file in one folder).
pub fn bare_file_name(name: &str) -> Result<&str, PathRefusal> {
    if name.contains(['/', '\\']) {
        return Err(if name.split(['/', '\\']).any(|c| c == "..") {
            PathRefusal::ParentDir
        } else {
            PathRefusal::NotAFileName
        });
    }
    if name.len() > 255 {
        return Err(PathRefusal::TooLong);
    }
    check_component(name)?;
    Ok(name)
}

/// Whether `id` is a transaction id as condafix writes them (`txn-0001`).
pub fn is_txn_id(id: &str) -> bool {
    id.strip_prefix("txn-")
        .is_some_and(|n| (4..=9).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A link on the way to a path: a symlink, a junction or another reparse point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFound {
    pub link: PathBuf,
}

impl std::error::Error for LinkFound {}

impl fmt::Display for LinkFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is a link (a symlink or junction); condafix does not follow links it did not create",
            self.link.display()
        )
    }
}

/// Whether the entry at `path` itself is a link (not followed). A missing path is not.
pub fn is_link(path: &Path) -> bool {
    let Ok(m) = fs_err::symlink_metadata(path) else {
        return false;
    };
    if m.file_type().is_symlink() {
        return true;
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::MetadataExt as _;
        const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x400;
        if m.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
            return true;
        }
    }
    false
}

/// Refuse when any existing entry from `root` (excluded) down to `rel` (included) is a link.
pub fn no_links_below(root: &Path, rel: &RelPath) -> Result<PathBuf, LinkFound> {
    let mut p = root.to_path_buf();
    for c in rel.components() {
        p.push(c);
        if is_link(&p) {
            return Err(LinkFound { link: p });
        }
        if fs_err::symlink_metadata(&p).is_err() {
            // Nothing further exists; what is created below is condafix's own.
            return Ok(rel.under(root));
        }
    }
    Ok(p)
}

/// Refuse when `path` or its parent folder is a link (files outside a prefix that condafix
/// writes: a user's pip.ini, .condarc).
pub fn no_link_at(path: &Path) -> Result<(), LinkFound> {
    for p in [Some(path), path.parent()].into_iter().flatten() {
        if is_link(p) {
            return Err(LinkFound {
                link: p.to_path_buf(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_paths_pass_and_are_kept_with_slashes() {
        assert_eq!(
            RelPath::parse("Library\\bin\\libssl-3-x64.dll")
                .unwrap()
                .as_str(),
            "Library/bin/libssl-3-x64.dll"
        );
        assert_eq!(
            RelPath::parse("Lib/site-packages/pip/_vendor/requests/sessions.py")
                .unwrap()
                .file_name(),
            "sessions.py"
        );
        assert!(RelPath::parse(".condafix/backup/txn-0001/DLLs/x.dll")
            .unwrap()
            .starts_with(".condafix/backup/txn-0001"));
    }

    #[test]
    fn every_way_out_of_the_prefix_is_refused() {
        for (p, want) in [
            ("", PathRefusal::Empty),
            ("/etc/passwd", PathRefusal::Absolute),
            ("\\Windows\\x.dll", PathRefusal::Absolute),
            ("\\\\server\\share\\x", PathRefusal::Absolute),
            ("C:\\Windows\\x.dll", PathRefusal::Absolute),
            ("C:x.dll", PathRefusal::Absolute),
            ("../../x", PathRefusal::ParentDir),
            ("DLLs/../../x", PathRefusal::ParentDir),
            ("DLLs\\..\\..\\x", PathRefusal::ParentDir),
            ("DLLs//x", PathRefusal::OddComponent),
            ("./DLLs", PathRefusal::OddComponent),
            ("DLLs/x.dll:evil", PathRefusal::Colon),
            ("DLLs/NUL", PathRefusal::DeviceName("NUL".into())),
            ("DLLs/con.txt", PathRefusal::DeviceName("con.txt".into())),
            ("COM1/x", PathRefusal::DeviceName("COM1".into())),
            ("DLLs/lpt9.dll", PathRefusal::DeviceName("lpt9.dll".into())),
            ("DLLs/x.dll.", PathRefusal::TrailingDotOrSpace),
            ("DLLs /x.dll", PathRefusal::TrailingDotOrSpace),
            ("DLLs/x\u{1b}.dll", PathRefusal::BadCharacter('\u{1b}')),
            ("DLLs/x\0.dll", PathRefusal::BadCharacter('\0')),
            ("DLLs/x?.dll", PathRefusal::BadCharacter('?')),
        ] {
            assert_eq!(RelPath::parse(p), Err(want), "{p:?}");
        }
        assert_eq!(RelPath::parse(&"a/".repeat(600)), Err(PathRefusal::TooLong));
        // Names that only look like devices are fine.
        assert!(RelPath::parse("DLLs/console.dll").is_ok());
        assert!(RelPath::parse("Library/bin/com10.dll").is_ok());
    }

    #[test]
    fn dll_names_from_import_tables_must_be_bare() {
        assert_eq!(bare_file_name("libssl-3-x64.dll"), Ok("libssl-3-x64.dll"));
        assert_eq!(
            bare_file_name("..\\..\\x\\pwned.dll"),
            Err(PathRefusal::ParentDir)
        );
        assert_eq!(
            bare_file_name("C:\\x\\pwned.dll"),
            Err(PathRefusal::NotAFileName)
        );
        assert_eq!(bare_file_name("x.dll:ads"), Err(PathRefusal::Colon));
        assert_eq!(
            bare_file_name("nul.dll"),
            Err(PathRefusal::DeviceName("nul.dll".into()))
        );
    }

    #[test]
    fn txn_ids_have_their_own_format() {
        assert!(is_txn_id("txn-0001") && is_txn_id("txn-123456"));
        for bad in [
            "../../../../x",
            "txn-1",
            "txn-00a1",
            "/tmp/x",
            "txn-0001/..",
            "",
        ] {
            assert!(!is_txn_id(bad), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_link_on_the_way_is_found_and_a_missing_tail_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("prefix");
        let elsewhere = dir.path().join("elsewhere");
        fs_err::create_dir_all(root.join("DLLs")).unwrap();
        fs_err::create_dir_all(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, root.join(".condafix")).unwrap();
        let rel = RelPath::parse(".condafix/receipt.json").unwrap();
        assert_eq!(
            no_links_below(&root, &rel),
            Err(LinkFound {
                link: root.join(".condafix")
            })
        );
        let ok = RelPath::parse("DLLs/new/x.dll").unwrap();
        assert_eq!(no_links_below(&root, &ok), Ok(ok.under(&root)));
        std::os::unix::fs::symlink("/etc/shadow", root.join("DLLs").join("x.dll")).unwrap();
        assert!(no_links_below(&root, &RelPath::parse("DLLs/x.dll").unwrap()).is_err());
        assert!(no_link_at(&root.join("DLLs").join("x.dll")).is_err());
    }
}
