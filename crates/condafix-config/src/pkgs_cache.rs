//! Finding an original copy of one of pip's files, by hash: the package cache's extracted pip
//! (noarch: files under `site-packages/`), its `.conda` archive, and the wheel `ensurepip`
//! bundles. Read-only; the caller decides what to do with the bytes.

use std::path::{Path, PathBuf};

use condafix_prefix::archive::{read_member, ArchiveKind};
use condafix_prefix::guard::{bare_file_name, RelPath};
use condafix_prefix::safe_read::{self, MAX_CONFIG_BYTES};
use condafix_prefix::{join_rel, Layout, Sha256};

/// Where to look: the base install (its `pkgs\`) and the prefix (its `ensurepip` wheels).
pub(crate) struct PipSources<'a> {
    pub base: &'a Path,
    pub prefix: &'a Path,
    pub layout: Layout,
    pub python: Option<(u64, u64)>,
    pub pip_version: &'a str,
}

impl PipSources<'_> {
    /// A copy of `rel` (inside site-packages) whose bytes hash to `expected`, and where it was.
    pub fn find(&self, rel: &str, expected: Sha256) -> Option<(PathBuf, Vec<u8>)> {
        let good = |bytes: &[u8]| Sha256::of_bytes(bytes) == expected;
        let version = bare_file_name(self.pip_version).ok()?;
        let stem = format!("pip-{version}-");
        let pkgs: Vec<PathBuf> = fs_err::read_dir(self.base.join("pkgs"))
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        let named = |p: &PathBuf| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&stem))
        };
        let rel_path = RelPath::parse(&format!("site-packages/{rel}")).ok()?;
        for dir in pkgs
            .iter()
            .filter(|p| named(p) && p.is_dir() && !condafix_prefix::guard::is_link(p))
        {
            if condafix_prefix::guard::no_links_below(dir, &rel_path).is_err() {
                continue;
            }
            let candidate = rel_path.under(dir);
            if let Ok(bytes) = safe_read::read(&candidate, MAX_CONFIG_BYTES) {
                if good(&bytes) {
                    return Some((candidate, bytes));
                }
            }
        }
        let mut archives: Vec<(PathBuf, String)> = pkgs
            .iter()
            .filter(|p| named(p) && p.extension().is_some_and(|x| x == "conda"))
            .map(|p| (p.clone(), format!("site-packages/{rel}")))
            .collect();
        archives.extend(
            self.ensurepip_wheels()
                .into_iter()
                .map(|w| (w, rel.to_string())),
        );
        for (archive, member) in archives {
            let Some(kind) = ArchiveKind::of(&archive) else {
                continue;
            };
            if let Ok(Some(m)) = read_member(kind, &archive, &member, MAX_CONFIG_BYTES) {
                if good(&m.bytes) {
                    return Some((archive, m.bytes));
                }
            }
        }
        None
    }

    fn ensurepip_wheels(&self) -> Vec<PathBuf> {
        let Some(mm) = self.python else {
            return Vec::new();
        };
        let lib = match self.layout {
            Layout::Windows => "Lib".to_string(),
            Layout::Unix => format!("lib/python{}.{}", mm.0, mm.1),
        };
        let bundled = join_rel(self.prefix, &format!("{lib}/ensurepip/_bundled"));
        let stem = format!("pip-{}-", self.pip_version);
        fs_err::read_dir(&bundled)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name().is_some_and(|n| {
                            let n = n.to_string_lossy();
                            n.starts_with(&stem) && n.ends_with(".whl")
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}
