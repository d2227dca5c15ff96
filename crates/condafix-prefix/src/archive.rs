//! Reading one member out of an untrusted archive, streaming: a `.conda` package (an
//! uncompressed zip holding `pkg-<dist>.tar.zst`), a `.tar.bz2` package, or an offline bundle
//! (a zip with a `SHA256SUMS` manifest). Nothing is extracted but the member asked for; entries
//! with `..`, absolute paths or links are refused, and so are members larger than any DLL.

use std::io::{Read, Seek};
use std::path::Path;

use crate::Sha256;

/// Why an archive was not read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{} is refused as hostile: entry {entry:?} {reason}; nothing was written", archive.display())]
    Hostile {
        archive: std::path::PathBuf,
        entry: String,
        reason: &'static str,
    },
    #[error("{} cannot be read as a {what}", path.display())]
    Read {
        path: std::path::PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the bundle {} has no SHA256SUMS manifest; an offline bundle must list the hash of every file", path.display())]
    NoManifest { path: std::path::PathBuf },
}

/// No OpenSSL DLL comes near this (libcrypto-3-x64.dll is about 5 MB): a larger member is a bomb.
pub const MAX_MEMBER_BYTES: u64 = 64 * 1024 * 1024;

/// Why an entry name is unsafe, if it is.
pub fn unsafe_entry_name(name: &str) -> Option<&'static str> {
    if name.contains('\0') {
        return Some("contains a NUL byte");
    }
    let n = name.replace('\\', "/");
    if n.starts_with('/') || n.as_bytes().get(1) == Some(&b':') {
        return Some("is an absolute path");
    }
    if n.split('/').any(|c| c == "..") {
        return Some("climbs out of the archive with `..`");
    }
    None
}

/// A member read out of an archive.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub bytes: Vec<u8>,
    pub sha256: Sha256,
}

fn read_limited(mut r: impl Read, archive: &Path, entry: &str) -> Result<Vec<u8>, ArchiveError> {
    let mut bytes = Vec::new();
    (&mut r)
        .take(MAX_MEMBER_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ArchiveError::Read {
            path: archive.to_path_buf(),
            what: "archive member",
            source,
        })?;
    if bytes.len() as u64 > MAX_MEMBER_BYTES {
        return Err(ArchiveError::Hostile {
            archive: archive.to_path_buf(),
            entry: entry.to_string(),
            reason: "is larger than any DLL (a decompression bomb?)",
        });
    }
    Ok(bytes)
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

/// Find `member` (a `/` path, compared case-insensitively) in a tar stream. Every entry is
/// checked before anything is read; links and unsafe names refuse the whole archive.
fn tar_member(
    reader: impl Read,
    archive: &Path,
    member: &str,
) -> Result<Option<Member>, ArchiveError> {
    let mut tar = tar::Archive::new(reader);
    let entries = tar.entries().map_err(io(archive, "tar archive"))?;
    let wanted = member.to_lowercase();
    for entry in entries {
        let mut entry = entry.map_err(io(archive, "tar archive"))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if let Some(reason) = unsafe_entry_name(&name) {
            return Err(ArchiveError::Hostile {
                archive: archive.to_path_buf(),
                entry: name,
                reason,
            });
        }
        let kind = entry.header().entry_type();
        let is_link = kind.is_symlink() || kind.is_hard_link();
        if is_link {
            if let Some(target) = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
            {
                if unsafe_entry_name(&target).is_some() {
                    return Err(ArchiveError::Hostile {
                        archive: archive.to_path_buf(),
                        entry: name,
                        reason: "is a link that points outside the archive",
                    });
                }
            }
        }
        if name.trim_start_matches("./").to_lowercase() != wanted {
            continue;
        }
        if is_link {
            return Err(ArchiveError::Hostile {
                archive: archive.to_path_buf(),
                entry: name,
                reason: "is a link, not a file",
            });
        }
        if entry.header().size().unwrap_or(0) > MAX_MEMBER_BYTES {
            return Err(ArchiveError::Hostile {
                archive: archive.to_path_buf(),
                entry: name,
                reason: "is larger than any DLL (a decompression bomb?)",
            });
        }
        let bytes = read_limited(&mut entry, archive, &name)?;
        return Ok(Some(Member {
            sha256: Sha256::of_bytes(&bytes),
            name,
            bytes,
        }));
    }
    Ok(None)
}

fn check_zip_names<R: Read + Seek>(
    zip: &zip::ZipArchive<R>,
    archive: &Path,
) -> Result<(), ArchiveError> {
    for name in zip.file_names() {
        let name = name.map_err(zip_err(archive, "zip archive"))?;
        if let Some(reason) = unsafe_entry_name(&name) {
            return Err(ArchiveError::Hostile {
                archive: archive.to_path_buf(),
                entry: name.into_owned(),
                reason,
            });
        }
    }
    Ok(())
}

/// Read `member` (e.g. `Library/bin/libssl-3-x64.dll`) from a `.conda` package.
pub fn conda_member(path: &Path, member: &str) -> Result<Option<Member>, ArchiveError> {
    let file = fs_err::File::open(path).map_err(io(path, ".conda package"))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(zip_err(path, ".conda package"))?;
    check_zip_names(&zip, path)?;
    let inner = (0..zip.len()).find(|&i| {
        zip.by_index(i)
            .ok()
            .and_then(|f| {
                f.name()
                    .ok()
                    .map(|n| n.starts_with("pkg-") && n.ends_with(".tar.zst"))
            })
            .unwrap_or(false)
    });
    let Some(i) = inner else {
        return Err(ArchiveError::Read {
            path: path.to_path_buf(),
            what: ".conda package",
            source: std::io::Error::other("no pkg-*.tar.zst inside"),
        });
    };
    let f = zip.by_index(i).map_err(zip_err(path, ".conda package"))?;
    if f.is_symlink() {
        return Err(ArchiveError::Hostile {
            archive: path.to_path_buf(),
            entry: "pkg-*.tar.zst".into(),
            reason: "is a link, not a file",
        });
    }
    let zst = ruzstd::decoding::StreamingDecoder::new(f).map_err(|e| ArchiveError::Read {
        path: path.to_path_buf(),
        what: "zstd stream",
        source: std::io::Error::other(e.to_string()),
    })?;
    tar_member(zst, path, member)
}

/// Read `member` from a plain zip (a wheel), streaming, with the same refusals.
pub fn zip_member(path: &Path, member: &str) -> Result<Option<Member>, ArchiveError> {
    let file = fs_err::File::open(path).map_err(io(path, "zip archive"))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(zip_err(path, "zip archive"))?;
    check_zip_names(&zip, path)?;
    let Some(i) = (0..zip.len()).find(|&i| {
        zip.by_index(i)
            .ok()
            .and_then(|f| f.name().ok().map(|n| n.eq_ignore_ascii_case(member)))
            .unwrap_or(false)
    }) else {
        return Ok(None);
    };
    let f = zip.by_index(i).map_err(zip_err(path, "zip archive"))?;
    if f.is_symlink() {
        return Err(ArchiveError::Hostile {
            archive: path.to_path_buf(),
            entry: member.to_string(),
            reason: "is a link, not a file",
        });
    }
    if f.size() > MAX_MEMBER_BYTES {
        return Err(ArchiveError::Hostile {
            archive: path.to_path_buf(),
            entry: member.to_string(),
            reason: "is larger than any DLL (a decompression bomb?)",
        });
    }
    let bytes = read_limited(f, path, member)?;
    Ok(Some(Member {
        sha256: Sha256::of_bytes(&bytes),
        name: member.to_string(),
        bytes,
    }))
}

/// Read `member` from a `.tar.bz2` package.
pub fn tar_bz2_member(path: &Path, member: &str) -> Result<Option<Member>, ArchiveError> {
    let file = fs_err::File::open(path).map_err(io(path, ".tar.bz2 package"))?;
    tar_member(
        bzip2::read::BzDecoder::new(std::io::BufReader::new(file)),
        path,
        member,
    )
}

/// An offline bundle: a zip with a `SHA256SUMS` manifest (`<hex>  <path>` lines).
pub struct Bundle {
    path: std::path::PathBuf,
    zip: zip::ZipArchive<std::io::BufReader<fs_err::File>>,
    pub manifest: Vec<(Sha256, String)>,
}

impl Bundle {
    /// Open and check a bundle: every entry name must be safe, and the manifest present.
    pub fn open(path: &Path) -> Result<Self, ArchiveError> {
        let file = fs_err::File::open(path).map_err(io(path, "bundle"))?;
        let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
            .map_err(zip_err(path, "bundle (zip)"))?;
        check_zip_names(&zip, path)?;
        let manifest_text = match zip.by_name("SHA256SUMS") {
            Ok(f) => read_limited(f, path, "SHA256SUMS")?,
            Err(_) => {
                return Err(ArchiveError::NoManifest {
                    path: path.to_path_buf(),
                })
            }
        };
        let mut manifest = Vec::new();
        for line in String::from_utf8_lossy(&manifest_text).lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((hash, name)) = line.split_once(char::is_whitespace) else {
                continue;
            };
            let name = name.trim().trim_start_matches('*').to_string();
            if let Some(reason) = unsafe_entry_name(&name) {
                return Err(ArchiveError::Hostile {
                    archive: path.to_path_buf(),
                    entry: name,
                    reason,
                });
            }
            if let Ok(h) = Sha256::from_hex(hash) {
                manifest.push((h, name));
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            zip,
            manifest,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every manifest entry whose file name is `dll`, read and checked against the manifest.
    /// A member whose bytes do not match its manifest line refuses the whole bundle.
    pub fn members_named(&mut self, dll: &str) -> Result<Vec<Member>, ArchiveError> {
        let wanted: Vec<(Sha256, String)> = self
            .manifest
            .iter()
            .filter(|(_, n)| {
                n.rsplit('/')
                    .next()
                    .is_some_and(|b| b.eq_ignore_ascii_case(dll))
            })
            .cloned()
            .collect();
        let mut out = Vec::new();
        for (hash, name) in wanted {
            let path = self.path.clone();
            let f = match self.zip.by_name(&name) {
                Ok(f) => f,
                Err(_) => continue,
            };
            if f.is_symlink() {
                return Err(ArchiveError::Hostile {
                    archive: path,
                    entry: name,
                    reason: "is a link, not a file",
                });
            }
            if f.size() > MAX_MEMBER_BYTES {
                return Err(ArchiveError::Hostile {
                    archive: path,
                    entry: name,
                    reason: "is larger than any DLL (a decompression bomb?)",
                });
            }
            let bytes = read_limited(f, &path, &name)?;
            let sha = Sha256::of_bytes(&bytes);
            if sha != hash {
                return Err(ArchiveError::Hostile {
                    archive: path,
                    entry: name,
                    reason: "does not match its SHA256SUMS line",
                });
            }
            out.push(Member {
                name,
                bytes,
                sha256: sha,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_named() {
        assert!(unsafe_entry_name("Library/bin/libssl-3-x64.dll").is_none());
        assert!(unsafe_entry_name("../../Windows/System32/x.dll").is_some());
        assert!(unsafe_entry_name("/etc/passwd").is_some());
        assert!(unsafe_entry_name("C:\\Windows\\x.dll").is_some());
        assert!(unsafe_entry_name("a\\..\\..\\b").is_some());
    }
}
