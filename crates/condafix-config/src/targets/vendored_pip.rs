//! `--remove-insecure`: restore pip's vendored TLS code (the `verify=False` edit of
//! `requests/sessions.py`) from an original copy with pip's recorded hash.

use std::path::PathBuf;

use condafix_detect::{display_path, PrefixKind, Remedy};
use condafix_prefix::Version;

use super::ConfigTarget;
use crate::pkgs_cache::PipSources;
use crate::planner::Planner;
use crate::ConfigError;

pub(crate) struct VendoredPip;

impl ConfigTarget for VendoredPip {
    fn plan(&self, p: &mut Planner<'_>) -> Result<(), ConfigError> {
        if !p.opts.remove_insecure {
            return Ok(());
        }
        let altered: Vec<(PathBuf, String, Option<condafix_prefix::Sha256>)> = p
            .report
            .findings
            .iter()
            .filter_map(|f| match &f.remedy {
                Some(Remedy::RestorePipFile {
                    path,
                    rel,
                    expected,
                }) => Some((path.clone(), rel.clone(), *expected)),
                _ => None,
            })
            .collect();
        let base = match p.report.kind {
            PrefixKind::Base => p.prefix.clone(),
            PrefixKind::Env | PrefixKind::Venv => p
                .report
                .base
                .as_ref()
                .map(PathBuf::from)
                .unwrap_or_else(|| p.prefix.clone()),
        };
        let version = p
            .report
            .tls
            .as_ref()
            .and_then(|t| t.pip.as_ref())
            .map(|x| x.version.clone())
            .unwrap_or_default();
        let prefix = p.prefix.clone();
        let sources = PipSources {
            base: &base,
            prefix: &prefix,
            layout: p.report.layout,
            python: p
                .report
                .python
                .as_ref()
                .map(|py| Version::parse(&py.version).major_minor()),
            pip_version: &version,
        };
        for (path, rel, expected) in altered {
            match expected.and_then(|h| sources.find(&rel, h)) {
                Some((src, bytes)) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    let before = crate::planner::read_config(&path).ok().flatten();
                    p.write_text(
                        &path,
                        &format!("restore {rel} from {}", display_path(&src)),
                        before.as_deref(),
                        text,
                    );
                }
                None => p.note(format!(
                    "{rel} was altered and no copy with pip's recorded hash is in the package cache: reinstall pip ({}) from a trusted wheel: `python -m pip install --force-reinstall --no-deps pip-{version}-py3-none-any.whl`",
                    display_path(&path)
                )),
            }
        }
        Ok(())
    }
}
