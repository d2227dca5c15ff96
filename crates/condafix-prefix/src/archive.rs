//! Reading one member out of an untrusted archive, streaming: a `.conda` package (an
//! uncompressed zip holding `pkg-<dist>.tar.zst`), a `.tar.bz2` package, a wheel (a zip), or an
//! offline bundle (a zip with a `SHA256SUMS` manifest). Nothing is extracted and nothing is
//! buffered: the member is handed to a closure as a reader capped at [`MAX_MEMBER_BYTES`].
//! Entry names go through the path guard: `..`, absolute paths, device names and links refuse
//! the whole archive.

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use crate::guard::RelPath;
use crate::Sha256;

/// Why an archive was not read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{} is refused as hostile: entry {entry:?}: {reason}; nothing was written", archive.display())]
    Hostile {
        archive: PathBuf,
        entry: String,
        reason: String,
    },
    #[error("{} cannot be read as a {what}", path.display())]
    Read {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the bundle {} has no SHA256SUMS manifest; an offline bundle must list the hash of every file", path.display())]
    NoManifest { path: PathBuf },
    #[error("the bundle {} has a SHA256SUMS line {line} that is not `<sha256>  <path>`: {text:?}", path.display())]
    BadManifest {
        path: PathBuf,
        line: usize,
        text: String,
    },
}

/// No OpenSSL DLL comes near this (libcrypto-3-x64.dll is about 5 MB): a larger member is a bomb.
pub const MAX_MEMBER_BYTES: u64 = crate::safe_read::MAX_DLL_BYTES;

/// Why an entry name is unsafe, if it is: the path guard's answer, in words.
pub fn unsafe_entry_name(name: &str) -> Option<String> {
    let trimmed = name
        .strip_prefix("./")
        .unwrap_or(name)
        .trim_end_matches('/');
    if trimmed.is_empty() {
        return None;
    }
    RelPath::parse(trimmed).err().map(|r| r.to_string())
}

/// A member read whole (only for small files: a pip source file, a manifest).
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub bytes: Vec<u8>,
    pub sha256: Sha256,
}

fn io<'a>(path: &'a Path, what: &'static str) -> impl Fn(std::io::Error) -> ArchiveError + 'a {
    move |source| ArchiveError::Read {
        path: path.to_path_buf(),
        what,
        source,
    }
}

fn zip_err<'a>(
    path: &'a Path,
    what: &'static str,
) -> impl Fn(zip::result::ZipError) -> ArchiveError + 'a {
    move |e| ArchiveError::Read {
        path: path.to_path_buf(),
        what,
        source: std::io::Error::other(e),
    }
}

fn hostile(archive: &Path, entry: &str, reason: impl Into<String>) -> ArchiveError {
    ArchiveError::Hostile {
        archive: archive.to_path_buf(),
        entry: entry.to_string(),
        reason: reason.into(),
    }
}

/// The kinds of archive a member can be read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    /// `.conda` (CEP 35).
    Conda,
    /// `.tar.bz2`.
    TarBz2,
    /// A plain zip (a wheel).
    Zip,
}

impl ArchiveKind {
    pub fn of(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_string_lossy().to_lowercase();
        if name.ends_with(".conda") {
            Some(ArchiveKind::Conda)
        } else if name.ends_with(".tar.bz2") {
            Some(ArchiveKind::TarBz2)
        } else if name.ends_with(".zip") || name.ends_with(".whl") {
            Some(ArchiveKind::Zip)
        } else {
            None
        }
    }
}

// std::fs::File: what the no-follow open of `safe_read` hands back.
#[allow(clippy::disallowed_types)]
fn open_zip(
    path: &Path,
    what: &'static str,
) -> Result<zip::ZipArchive<std::io::BufReader<std::fs::File>>, ArchiveError> {
    let file = crate::safe_read::open(path).map_err(|e| ArchiveError::Read {
        path: path.to_path_buf(),
        what,
        source: std::io::Error::other(e.to_string()),
    })?;
    let mut reader = std::io::BufReader::new(file);
    let entries = zip_entry_count(&mut reader).map_err(io(path, what))?;
    if entries > MAX_ZIP_ENTRIES {
        return Err(hostile(
            path,
            "",
            format!("it lists {entries} entries (no package or bundle has more than {MAX_ZIP_ENTRIES}); its directory is not read"),
        ));
    }
    let zip = zip::ZipArchive::new(reader).map_err(zip_err(path, what))?;
    check_zip_names(&zip, path)?;
    Ok(zip)
}

fn check_zip_names<R: Read + Seek>(
    zip: &zip::ZipArchive<R>,
    archive: &Path,
) -> Result<(), ArchiveError> {
    for name in zip.file_names() {
        let name = name.map_err(zip_err(archive, "zip archive"))?;
        if let Some(reason) = unsafe_entry_name(&name) {
            return Err(hostile(archive, &name, reason));
        }
    }
    Ok(())
}

/// More entries than any package, wheel or offline bundle has: a zip that lists more is refused
/// before its central directory is read (its cost is per entry).
pub const MAX_ZIP_ENTRIES: u64 = 100_000;

/// The number of entries a zip's end-of-central-directory record (or its ZIP64 one) declares.
fn zip_entry_count<R: Read + Seek>(r: &mut R) -> std::io::Result<u64> {
    use std::io::SeekFrom;
    let len = r.seek(SeekFrom::End(0))?;
    let tail = len.min(22 + 65_535);
    r.seek(SeekFrom::Start(len - tail))?;
    let mut buf = vec![0u8; tail as usize];
    r.read_exact(&mut buf)?;
    let Some(eocd) = (0..buf.len().saturating_sub(21))
        .rev()
        .find(|&i| buf[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
    else {
        return Ok(0); // not a zip: the zip reader says so
    };
    let total = u64::from(u16::from_le_bytes([buf[eocd + 10], buf[eocd + 11]]));
    // ZIP64: a locator right before the record points at the ZIP64 record.
    if eocd >= 20 && buf[eocd - 20..eocd - 16] == [0x50, 0x4b, 0x06, 0x07] {
        let mut off = [0u8; 8];
        off.copy_from_slice(&buf[eocd - 12..eocd - 4]);
        let at = u64::from_le_bytes(off);
        if at.checked_add(56).is_some_and(|end| end <= len) {
            r.seek(SeekFrom::Start(at))?;
            let mut rec = [0u8; 56];
            r.read_exact(&mut rec)?;
            if rec[..4] == [0x50, 0x4b, 0x06, 0x06] {
                let mut n = [0u8; 8];
                n.copy_from_slice(&rec[32..40]);
                return Ok(u64::from_le_bytes(n).max(total));
            }
        }
        return Ok(u64::MAX);
    }
    Ok(total)
}

/// Hand one zip entry (by index) to `f`, refusing links and oversized entries.
fn zip_entry<R: Read + Seek, T>(
    zip: &mut zip::ZipArchive<R>,
    index: usize,
    archive: &Path,
    name: &str,
    f: impl FnOnce(&mut dyn Read) -> T,
) -> Result<T, ArchiveError> {
    let entry = zip
        .by_index(index)
        .map_err(zip_err(archive, "zip archive"))?;
    if entry.is_symlink() {
        return Err(hostile(archive, name, "it is a link, not a file"));
    }
    if entry.size() > MAX_MEMBER_BYTES {
        return Err(hostile(
            archive,
            name,
            "it is larger than any DLL (a decompression bomb?)",
        ));
    }
    Ok(f(&mut entry.take(MAX_MEMBER_BYTES + 1)))
}

fn zip_index(
    zip: &mut zip::ZipArchive<impl Read + Seek>,
    wanted: impl Fn(&str) -> bool,
) -> Option<usize> {
    (0..zip.len()).find(|&i| {
        zip.by_index_raw(i)
            .ok()
            .and_then(|f| f.name().ok().map(|n| wanted(&n)))
            .unwrap_or(false)
    })
}

/// Stream `member` (e.g. `Library/bin/libssl-3-x64.dll`) of the archive at `path` to `f`.
/// `Ok(None)`: no such member.
pub fn with_member<T>(
    kind: ArchiveKind,
    path: &Path,
    member: &str,
    f: impl FnOnce(&mut dyn Read) -> T,
) -> Result<Option<T>, ArchiveError> {
    match kind {
        ArchiveKind::TarBz2 => {
            let file = crate::safe_read::open(path).map_err(|e| ArchiveError::Read {
                path: path.to_path_buf(),
                what: ".tar.bz2 package",
                source: std::io::Error::other(e.to_string()),
            })?;
            let (counted, compressed) = crate::tar_stream::Counted::new(file);
            crate::tar_stream::find_member(
                bzip2::read::BzDecoder::new(std::io::BufReader::new(counted)),
                Some(compressed),
                path,
                member,
                f,
            )
        }
        ArchiveKind::Conda => {
            let mut zip = open_zip(path, ".conda package")?;
            let inner = zip_index(&mut zip, |n| {
                n.starts_with("pkg-") && n.ends_with(".tar.zst")
            })
            .ok_or_else(|| ArchiveError::Read {
                path: path.to_path_buf(),
                what: ".conda package",
                source: std::io::Error::other("no pkg-*.tar.zst inside"),
            })?;
            let entry = zip
                .by_index(inner)
                .map_err(zip_err(path, ".conda package"))?;
            if entry.is_symlink() {
                return Err(hostile(path, "pkg-*.tar.zst", "it is a link, not a file"));
            }
            let (counted, compressed) = crate::tar_stream::Counted::new(entry);
            let zst = ruzstd::decoding::StreamingDecoder::new(counted).map_err(|e| {
                ArchiveError::Read {
                    path: path.to_path_buf(),
                    what: "zstd stream",
                    source: std::io::Error::other(e.to_string()),
                }
            })?;
            crate::tar_stream::find_member(zst, Some(compressed), path, member, f)
        }
        ArchiveKind::Zip => {
            let mut zip = open_zip(path, "zip archive")?;
            let Some(i) = zip_index(&mut zip, |n| n.eq_ignore_ascii_case(member)) else {
                return Ok(None);
            };
            zip_entry(&mut zip, i, path, member, f).map(Some)
        }
    }
}

/// Read a small member whole (at most `cap` bytes).
pub fn read_member(
    kind: ArchiveKind,
    path: &Path,
    member: &str,
    cap: u64,
) -> Result<Option<Member>, ArchiveError> {
    let read = with_member(kind, path, member, |r| {
        let mut bytes = Vec::new();
        r.take(cap + 1).read_to_end(&mut bytes).map(|_| bytes)
    })?;
    match read {
        None => Ok(None),
        Some(Err(e)) => Err(io(path, "archive member")(e)),
        Some(Ok(bytes)) if bytes.len() as u64 > cap => Err(hostile(
            path,
            member,
            "it is larger than such a file can be",
        )),
        Some(Ok(bytes)) => Ok(Some(Member {
            sha256: Sha256::of_bytes(&bytes),
            name: member.to_string(),
            bytes,
        })),
    }
}

/// An offline bundle: a zip with a `SHA256SUMS` manifest (`<hex>  <path>` lines).
#[allow(clippy::disallowed_types)]
pub struct Bundle {
    path: PathBuf,
    zip: zip::ZipArchive<std::io::BufReader<std::fs::File>>,
    pub manifest: Vec<(Sha256, String)>,
}

/// The manifest's own cap: a line per file, a few hundred bytes.
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

impl Bundle {
    /// Open and check a bundle: every entry name must be safe, and the manifest present and
    /// well-formed (a line that is not `<sha256>  <path>` refuses the bundle).
    pub fn open(path: &Path) -> Result<Self, ArchiveError> {
        let mut zip = open_zip(path, "bundle (zip)")?;
        let Some(i) = zip_index(&mut zip, |n| n == "SHA256SUMS") else {
            return Err(ArchiveError::NoManifest {
                path: path.to_path_buf(),
            });
        };
        let text = zip_entry(&mut zip, i, path, "SHA256SUMS", |r| {
            let mut bytes = Vec::new();
            r.take(MAX_MANIFEST_BYTES + 1)
                .read_to_end(&mut bytes)
                .map(|_| bytes)
        })?
        .map_err(io(path, "bundle manifest"))?;
        if text.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(hostile(
                path,
                "SHA256SUMS",
                "it is larger than any manifest",
            ));
        }
        let manifest = parse_manifest(path, &text)?;
        Ok(Self {
            path: path.to_path_buf(),
            zip,
            manifest,
        })
    }
}

/// Parse a bundle's `SHA256SUMS` (`<sha256>  <path>` lines; blank lines and `#` comments
/// skipped): a malformed line or an unsafe path refuses the bundle.
pub fn parse_manifest(path: &Path, text: &[u8]) -> Result<Vec<(Sha256, String)>, ArchiveError> {
    {
        let mut manifest = Vec::new();
        for (n, line) in String::from_utf8_lossy(text).lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || ArchiveError::BadManifest {
                path: path.to_path_buf(),
                line: n + 1,
                text: line.chars().take(120).collect(),
            };
            let (hash, name) = line.split_once(char::is_whitespace).ok_or_else(bad)?;
            let name = name.trim().trim_start_matches('*').to_string();
            if name.is_empty() {
                return Err(bad());
            }
            // A manifest names files: the guard's rules exactly (no trailing `/`).
            if let Err(reason) = RelPath::parse(&name) {
                return Err(hostile(path, &name, reason.to_string()));
            }
            let h = Sha256::from_hex(hash).map_err(|_| bad())?;
            manifest.push((h, name));
        }
        Ok(manifest)
    }
}

impl Bundle {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every manifest entry whose file name is `dll`.
    pub fn entries_named(&self, dll: &str) -> Vec<(Sha256, String)> {
        self.manifest
            .iter()
            .filter(|(_, n)| {
                n.rsplit('/')
                    .next()
                    .is_some_and(|b| b.eq_ignore_ascii_case(dll))
            })
            .cloned()
            .collect()
    }

    /// Stream the member `name` to `f`. `Ok(None)`: the manifest lists it but the zip lacks it.
    pub fn with_member<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut dyn Read) -> T,
    ) -> Result<Option<T>, ArchiveError> {
        let Some(i) = zip_index(&mut self.zip, |n| n == name) else {
            return Ok(None);
        };
        let path = self.path.clone();
        zip_entry(&mut self.zip, i, &path, name, f).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_named() {
        assert!(unsafe_entry_name("Library/bin/libssl-3-x64.dll").is_none());
        assert!(unsafe_entry_name("./info/index.json").is_none());
        assert!(unsafe_entry_name("info/").is_none());
        assert!(unsafe_entry_name("../../Windows/System32/x.dll").is_some());
        assert!(unsafe_entry_name("/etc/passwd").is_some());
        assert!(unsafe_entry_name("C:\\Windows\\x.dll").is_some());
        assert!(unsafe_entry_name("a\\..\\..\\b").is_some());
        assert!(unsafe_entry_name("Library/bin/NUL").is_some());
        assert!(unsafe_entry_name("x\0y").is_some());
    }
}
