//! Where a verified copy of a DLL comes from, in order: the prefix's `Library\bin`, the package
//! cache's extracted folder, the cache's archive (`.conda`, `.tar.bz2`), an offline bundle.
//! Candidates are hashed by streaming (nothing is buffered) and the one that matches conda's
//! record is kept as a [`Payload`]: where to stream the bytes from again when the plan is
//! applied, where they are checked once more against the same hash.

use std::io::Read;
use std::path::{Path, PathBuf};

use condafix_detect::{display_path, DllReport};
use condafix_prefix::archive::{with_member, ArchiveKind, Bundle};
use condafix_prefix::guard::{bare_file_name, no_links_below, RelPath};
use condafix_prefix::safe_read::{self, MAX_DLL_BYTES, MAX_RECORD_BYTES};
use condafix_prefix::{PathsJson, Sha256};
use serde::Serialize;

use crate::StageError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    LibraryBin,
    PkgsFolder,
    PkgsArchive,
    Bundle,
}

impl SourceKind {
    pub fn label(self) -> &'static str {
        match self {
            SourceKind::LibraryBin => "library-bin",
            SourceKind::PkgsFolder => "pkgs-folder",
            SourceKind::PkgsArchive => "pkgs-archive",
            SourceKind::Bundle => "bundle",
        }
    }
}

/// What vouched for a staged DLL's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum VerifiedAgainst {
    #[serde(rename = "conda-meta record")]
    CondaRecord,
    #[serde(rename = "paths.json")]
    PathsJson,
    #[serde(rename = "bundle manifest")]
    BundleManifest,
    /// `--allow-unverified`: nothing did.
    #[serde(rename = "unverified")]
    Unverified,
}

impl std::fmt::Display for VerifiedAgainst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VerifiedAgainst::CondaRecord => "conda-meta record",
            VerifiedAgainst::PathsJson => "paths.json",
            VerifiedAgainst::BundleManifest => "bundle manifest",
            VerifiedAgainst::Unverified => "unverified",
        })
    }
}

/// Where the bytes of a staged DLL came from and what they were checked against.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SourceInfo {
    pub kind: SourceKind,
    pub path: String,
    /// The member inside an archive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    pub sha256: Sha256,
    pub verified_against: VerifiedAgainst,
}

/// Where to stream a verified DLL's bytes from when the plan is applied.
#[derive(Debug, Clone)]
pub(crate) enum Payload {
    File(PathBuf),
    Archive {
        kind: ArchiveKind,
        path: PathBuf,
        member: String,
    },
    Bundle {
        path: PathBuf,
        member: String,
    },
}

impl Payload {
    /// Hand the bytes to `f` as a reader (capped at the size of any DLL).
    pub fn with_reader<T>(&self, f: impl FnOnce(&mut dyn Read) -> T) -> Result<T, StageError> {
        match self {
            Payload::File(path) => {
                let file = safe_read::open(path)?;
                Ok(f(&mut file.take(MAX_DLL_BYTES + 1)))
            }
            Payload::Archive { kind, path, member } => with_member(*kind, path, member, f)?
                .ok_or_else(|| StageError::SourceGone {
                    source_desc: format!("{} :: {member}", display_path(path)),
                }),
            Payload::Bundle { path, member } => Bundle::open(path)?
                .with_member(member, f)?
                .ok_or_else(|| StageError::SourceGone {
                    source_desc: format!("{} :: {member}", display_path(path)),
                }),
        }
    }
}

pub(crate) struct Found {
    pub info: SourceInfo,
    pub payload: Payload,
}

/// A copy found somewhere, hashed, before verification.
struct Candidate {
    kind: SourceKind,
    path: PathBuf,
    member: Option<String>,
    payload: Payload,
    sha256: Sha256,
    /// The hash the source itself vouches for (paths.json, the bundle manifest).
    own_hash: Option<Sha256>,
    vouched_by: VerifiedAgainst,
}

pub(crate) struct SourceSearch<'a> {
    /// Told before an archive is read (for a progress display).
    pub on_archive: Option<&'a dyn Fn(&Path)>,
    pub prefix: &'a Path,
    /// The base install whose `pkgs\` holds the package cache.
    pub base: &'a Path,
    pub bundle: Option<&'a mut Bundle>,
    pub allow_unverified: bool,
}

/// Hash a stream capped at the size of any DLL; `None` when it is larger (a bomb).
fn hash_capped(r: &mut dyn Read) -> Option<Sha256> {
    Sha256::of_reader(r.take(MAX_DLL_BYTES + 1))
        .ok()
        .filter(|(_, n)| *n <= MAX_DLL_BYTES)
        .map(|(h, _)| h)
}

impl SourceSearch<'_> {
    /// The member path a DLL has in its package (the record's path when it is a safe one).
    fn member_of(dll: &DllReport) -> Option<RelPath> {
        match &dll.recorded {
            Some(r) => RelPath::parse(&r.path).ok(),
            None => RelPath::parse(&format!("Library/bin/{}", dll.name)).ok(),
        }
    }

    /// Every copy of `dll` the sources hold, hashed.
    fn candidates(
        &mut self,
        dll: &DllReport,
        member: &RelPath,
        tried: &mut Vec<String>,
    ) -> Result<Vec<Candidate>, StageError> {
        let mut out = Vec::new();
        // 1. The prefix's own Library\bin (no link on the way, none at the file).
        let in_prefix = member.under(self.prefix);
        tried.push(display_path(&in_prefix));
        if no_links_below(self.prefix, member).is_ok() {
            if let Ok((sha, _)) = safe_read::hash(&in_prefix, MAX_DLL_BYTES) {
                out.push(Candidate {
                    kind: SourceKind::LibraryBin,
                    payload: Payload::File(in_prefix.clone()),
                    path: in_prefix,
                    member: None,
                    sha256: sha,
                    own_hash: None,
                    vouched_by: VerifiedAgainst::CondaRecord,
                });
            }
        }
        // The package cache: its folder is named after the record's dist, which must be a
        // plain name.
        let dist = dll
            .recorded
            .as_ref()
            .and_then(|r| bare_file_name(&r.package).ok().map(str::to_string));
        if let Some(dist) = dist {
            self.cache_candidates(&dist, member, tried, &mut out)?;
        }
        // 4. The offline bundle.
        if let Some(bundle) = self.bundle.as_deref_mut() {
            tried.push(format!("{} (SHA256SUMS)", display_path(bundle.path())));
            let path = bundle.path().to_path_buf();
            for (listed, name) in bundle.entries_named(&dll.name) {
                let Some(sha) = bundle.with_member(&name, hash_capped)? else {
                    continue;
                };
                if sha != Some(listed) {
                    return Err(condafix_prefix::archive::ArchiveError::Hostile {
                        archive: path,
                        entry: name,
                        reason: "it does not match its SHA256SUMS line".into(),
                    }
                    .into());
                }
                out.push(Candidate {
                    kind: SourceKind::Bundle,
                    payload: Payload::Bundle {
                        path: path.clone(),
                        member: name.clone(),
                    },
                    path: path.clone(),
                    member: Some(name),
                    sha256: listed,
                    own_hash: Some(listed),
                    vouched_by: VerifiedAgainst::BundleManifest,
                });
            }
        }
        Ok(out)
    }

    /// The package cache: its extracted folder (its `info\paths.json` vouches when the record
    /// carries no hash), then its archives, streamed.
    fn cache_candidates(
        &mut self,
        dist: &str,
        member: &RelPath,
        tried: &mut Vec<String>,
        out: &mut Vec<Candidate>,
    ) -> Result<(), StageError> {
        let folder_rel = RelPath::parse(&format!("pkgs/{dist}/{member}"))?;
        let file = folder_rel.under(self.base);
        tried.push(display_path(&file));
        if no_links_below(self.base, &folder_rel).is_ok() {
            if let Ok((sha, _)) = safe_read::hash(&file, MAX_DLL_BYTES) {
                let folder = self.base.join("pkgs").join(dist);
                let paths_hash =
                    safe_read::read(&folder.join("info").join("paths.json"), MAX_RECORD_BYTES)
                        .ok()
                        .and_then(|b| serde_json::from_slice::<PathsJson>(&b).ok())
                        .and_then(|p| {
                            p.paths
                                .into_iter()
                                .find(|e| e.path.eq_ignore_ascii_case(member.as_str()))
                        })
                        .and_then(|e| e.sha256);
                out.push(Candidate {
                    kind: SourceKind::PkgsFolder,
                    payload: Payload::File(file.clone()),
                    path: file,
                    member: None,
                    sha256: sha,
                    own_hash: paths_hash,
                    vouched_by: VerifiedAgainst::PathsJson,
                });
            }
        }
        for ext in [".conda", ".tar.bz2"] {
            let archive = self.base.join("pkgs").join(format!("{dist}{ext}"));
            tried.push(format!("{} ({member})", display_path(&archive)));
            if !fs_err::symlink_metadata(&archive).is_ok_and(|m| m.is_file()) {
                continue;
            }
            if let Some(f) = self.on_archive {
                f(&archive);
            }
            let kind = ArchiveKind::of(&archive).expect("a known extension");
            let Some(hashed) = with_member(kind, &archive, member.as_str(), hash_capped)? else {
                continue;
            };
            let Some(sha) = hashed else {
                return Err(condafix_prefix::archive::ArchiveError::Hostile {
                    archive,
                    entry: member.to_string(),
                    reason: "it is larger than any DLL (a decompression bomb?)".into(),
                }
                .into());
            };
            out.push(Candidate {
                kind: SourceKind::PkgsArchive,
                payload: Payload::Archive {
                    kind,
                    path: archive.clone(),
                    member: member.to_string(),
                },
                path: archive,
                member: Some(member.to_string()),
                sha256: sha,
                own_hash: None,
                vouched_by: VerifiedAgainst::CondaRecord,
            });
        }
        Ok(())
    }

    /// Find a verified copy of `dll`.
    pub fn find(&mut self, dll: &DllReport) -> Result<Found, StageError> {
        let expected = dll.recorded.as_ref().and_then(|r| r.sha256);
        let mut tried = Vec::new();
        let Some(member) = Self::member_of(dll) else {
            return Err(StageError::NoSource {
                dll: dll.name.clone(),
                tried: vec!["the openssl record names no safe path for it".into()],
            });
        };
        let candidates = self.candidates(dll, &member, &mut tried)?;
        let mut mismatch: Option<StageError> = None;
        let mut fallback: Option<Found> = None;
        for c in candidates {
            let (reference, against) = match (expected, c.own_hash) {
                (Some(e), _) => (Some(e), VerifiedAgainst::CondaRecord),
                (None, Some(h)) => (Some(h), c.vouched_by),
                (None, None) => (None, VerifiedAgainst::Unverified),
            };
            let info = |against| SourceInfo {
                kind: c.kind,
                path: display_path(&c.path),
                member: c.member.clone(),
                sha256: c.sha256,
                verified_against: against,
            };
            match reference {
                Some(r) if r == c.sha256 => {
                    return Ok(Found {
                        info: info(against),
                        payload: c.payload,
                    })
                }
                Some(r) if mismatch.is_none() => {
                    mismatch = Some(StageError::Unverified {
                        dll: dll.name.clone(),
                        source_desc: display_path(&c.path),
                        expected: r,
                        actual: c.sha256,
                    });
                }
                _ => {}
            }
            if self.allow_unverified && fallback.is_none() {
                fallback = Some(Found {
                    info: info(VerifiedAgainst::Unverified),
                    payload: c.payload.clone(),
                });
            }
        }
        if let Some(f) = fallback {
            return Ok(f);
        }
        Err(mismatch.unwrap_or(StageError::NoSource {
            dll: dll.name.clone(),
            tried,
        }))
    }
}
