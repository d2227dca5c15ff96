//! Where a verified copy of a DLL comes from, in order: the prefix's `Library\bin`, the package
//! cache's extracted folder, the cache's archive (`.conda`, `.tar.bz2`), an offline bundle.

use std::path::{Path, PathBuf};

use condafix_detect::{display_path, DllReport};
use condafix_prefix::{join_rel, PathsJson, Sha256};
use serde::Serialize;

use crate::StageError;
use condafix_prefix::archive::{conda_member, tar_bz2_member, Bundle};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    LibraryBin,
    PkgsFolder,
    PkgsArchive,
    Bundle,
}

/// What vouched for a staged DLL's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    pub kind: SourceKind,
    pub path: String,
    /// The member inside an archive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    pub sha256: Sha256,
    pub verified_against: VerifiedAgainst,
}

pub(crate) struct Found {
    pub info: SourceInfo,
    pub bytes: Vec<u8>,
}

/// A copy found somewhere, before verification.
struct Candidate {
    kind: SourceKind,
    path: PathBuf,
    member: Option<String>,
    bytes: Vec<u8>,
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

impl SourceSearch<'_> {
    /// Find a verified copy of `dll`.
    pub fn find(&mut self, dll: &DllReport) -> Result<Found, StageError> {
        let rec = dll.recorded.as_ref();
        let expected = rec.and_then(|r| r.sha256);
        let member = rec
            .map(|r| r.path.clone())
            .unwrap_or_else(|| format!("Library/bin/{}", dll.name));
        let dist = rec.map(|r| r.package.clone());
        let mut tried = Vec::new();
        let mut mismatch: Option<StageError> = None;
        let mut fallback: Option<Found> = None;
        let mut candidates: Vec<Candidate> = Vec::new();

        // 1. The prefix's own Library\bin.
        let in_prefix = join_rel(self.prefix, &member);
        tried.push(display_path(&in_prefix));
        if let Ok(bytes) = fs_err::read(&in_prefix) {
            candidates.push(Candidate {
                kind: SourceKind::LibraryBin,
                path: in_prefix,
                member: None,
                bytes,
                own_hash: None,
                vouched_by: VerifiedAgainst::CondaRecord,
            });
        }
        if let Some(dist) = &dist {
            // 2. The package cache's extracted folder (its info/paths.json vouches when the
            //    record carries no hash).
            let folder = self.base.join("pkgs").join(dist);
            let file = join_rel(&folder, &member);
            tried.push(display_path(&file));
            if let Ok(bytes) = fs_err::read(&file) {
                let paths_hash = fs_err::read(folder.join("info").join("paths.json"))
                    .ok()
                    .and_then(|b| serde_json::from_slice::<PathsJson>(&b).ok())
                    .and_then(|p| {
                        p.paths
                            .into_iter()
                            .find(|e| e.path.eq_ignore_ascii_case(&member))
                    })
                    .and_then(|e| e.sha256);
                candidates.push(Candidate {
                    kind: SourceKind::PkgsFolder,
                    path: file,
                    member: None,
                    bytes,
                    own_hash: paths_hash,
                    vouched_by: VerifiedAgainst::PathsJson,
                });
            }
            // 3. The cache's archives, streamed.
            for ext in [".conda", ".tar.bz2"] {
                let archive = self.base.join("pkgs").join(format!("{dist}{ext}"));
                tried.push(format!("{} ({member})", display_path(&archive)));
                if !archive.is_file() {
                    continue;
                }
                if let Some(f) = self.on_archive {
                    f(&archive);
                }
                let m = if ext == ".conda" {
                    conda_member(&archive, &member)?
                } else {
                    tar_bz2_member(&archive, &member)?
                };
                if let Some(m) = m {
                    candidates.push(Candidate {
                        kind: SourceKind::PkgsArchive,
                        path: archive,
                        member: Some(m.name),
                        bytes: m.bytes,
                        own_hash: None,
                        vouched_by: VerifiedAgainst::CondaRecord,
                    });
                }
            }
        }
        // 4. The offline bundle.
        if let Some(bundle) = self.bundle.as_deref_mut() {
            tried.push(format!("{} (SHA256SUMS)", display_path(bundle.path())));
            let path = bundle.path().to_path_buf();
            for m in bundle.members_named(&dll.name)? {
                let sha = m.sha256;
                candidates.push(Candidate {
                    kind: SourceKind::Bundle,
                    path: path.clone(),
                    member: Some(m.name),
                    bytes: m.bytes,
                    own_hash: Some(sha),
                    vouched_by: VerifiedAgainst::BundleManifest,
                });
            }
        }

        for Candidate {
            kind,
            path,
            member,
            bytes,
            own_hash,
            vouched_by,
        } in candidates
        {
            let actual = Sha256::of_bytes(&bytes);
            let (reference, against) = match (expected, own_hash) {
                (Some(e), _) => (Some(e), VerifiedAgainst::CondaRecord),
                (None, Some(h)) => (Some(h), vouched_by),
                (None, None) => (None, VerifiedAgainst::Unverified),
            };
            let info = |against| SourceInfo {
                kind,
                path: display_path(&path),
                member: member.clone(),
                sha256: actual,
                verified_against: against,
            };
            match reference {
                Some(r) if r == actual => {
                    return Ok(Found {
                        info: info(against),
                        bytes,
                    })
                }
                Some(r) if mismatch.is_none() => {
                    mismatch = Some(StageError::Unverified {
                        dll: dll.name.clone(),
                        source_desc: display_path(&path),
                        expected: r,
                        actual,
                    });
                }
                Some(_) => {}
                None => {}
            }
            if self.allow_unverified && fallback.is_none() {
                fallback = Some(Found {
                    info: info(VerifiedAgainst::Unverified),
                    bytes,
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
