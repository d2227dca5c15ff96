//! conda's config: `ssl_verify` (`truststore` or the bundle) and `proxy_servers` in the
//! `.condarc` that wins for the prefix; `ssl_verify: false` removed with `--remove-insecure`.

use std::path::{Path, PathBuf};

use condafix_detect::locations::{ConfigLocations, ConfigRole, WriteScope};
use condafix_detect::tls::ConfigFile;

use super::ConfigTarget;
use crate::planner::Planner;
use crate::text_edit::YamlValue;
use crate::ConfigError;

pub(crate) struct CondaConfig;

impl ConfigTarget for CondaConfig {
    fn plan(&self, p: &mut Planner<'_>) -> Result<(), ConfigError> {
        if !condafix_prefix::is_conda_prefix(&p.prefix) {
            return Ok(());
        }
        let opts = p.opts;
        let mut set: Vec<(String, YamlValue)> = Vec::new();
        if p.trust.want_bundle {
            let value = if p.trust.conda_needs_bundle {
                p.trust.bundle_str.clone()
            } else {
                "truststore".to_string()
            };
            set.push(("ssl_verify".into(), YamlValue::Scalar(value)));
        }
        if let Some(u) = &opts.proxy {
            set.push((
                "proxy_servers".into(),
                YamlValue::Map(vec![
                    ("http".into(), u.clone()),
                    ("https".into(), u.clone()),
                ]),
            ));
        }
        let remove: Vec<(String, String)> = if opts.remove_insecure {
            vec![("ssl_verify".into(), "false".into())]
        } else {
            vec![]
        };
        let files: Vec<ConfigFile> = p
            .config_files()
            .filter(|f| f.role.is_condarc())
            .cloned()
            .collect();
        let target = write_target(p, &files)?;
        // conda cannot read these: they are not edited, and the run says so.
        if !set.is_empty() || !remove.is_empty() {
            for f in files.iter().filter(|f| f.unreadable.is_some()) {
                p.refuse(format!(
                    "{} is left untouched: {}; conda cannot read it either, fix it by hand",
                    f.path,
                    f.unreadable.as_deref().unwrap_or_default()
                ));
            }
        }
        if !set.is_empty() {
            p.edit_condarc_file(&target, "conda settings", &set, &remove);
        }
        if !remove.is_empty() {
            for f in files.iter().filter(|f| f.has("ssl_verify", "false")) {
                let path = PathBuf::from(&f.path);
                p.edit_condarc_file(&path, "remove ssl_verify: false", &[], &remove);
            }
        }
        if p.trust.want_bundle && !p.trust.conda_needs_bundle {
            p.note("conda uses `ssl_verify: truststore` (conda >= 23.9 on Python >= 3.10): the OS trust store, no bundle");
        }
        Ok(())
    }
}

/// The `.condarc` files conda reads for this prefix, in its order.
fn condarc_search_path(p: &Planner<'_>) -> Vec<PathBuf> {
    let mut dirs: Vec<(ConfigRole, PathBuf)> = p.locations.condarc_machine();
    if let Some(base) = &p.report.base {
        dirs.push((ConfigRole::CondarcRoot, PathBuf::from(base)));
    }
    dirs.push((
        if p.report.kind == condafix_detect::PrefixKind::Base {
            ConfigRole::CondarcRoot
        } else {
            ConfigRole::CondarcPrefix
        },
        p.prefix.clone(),
    ));
    let mut out: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|(role, dir)| ConfigLocations::condarc_files(*role, dir))
        .collect();
    out.extend(p.locations.condarc_env.clone());
    out
}

/// `--condarc`, else for the site scope the prefix's own `.condarc` (or its base's), else the
/// user's `~/.condarc`.
fn write_target(p: &Planner<'_>, files: &[ConfigFile]) -> Result<PathBuf, ConfigError> {
    if let Some(c) = &p.opts.condarc {
        // Only a file conda reads for this prefix: anything else would change nothing (and
        // condafix writes no file it did not choose).
        let reads = condarc_search_path(p);
        let key = |x: &Path| {
            dunce::simplified(x)
                .to_string_lossy()
                .to_lowercase()
                .replace('\\', "/")
        };
        if !reads.iter().any(|r| key(r) == key(c)) {
            return Err(ConfigError::Usage(format!(
                "--condarc {}: conda does not read that file for this prefix; it reads:\n{}",
                c.display(),
                reads
                    .iter()
                    .map(|r| format!("  {}", r.display()))
                    .collect::<Vec<_>>()
                    .join("\n")
            )));
        }
        return Ok(c.clone());
    }
    match p.opts.scope {
        WriteScope::Site => Ok(files
            .iter()
            .filter(|f| f.role.is_prefix_condarc())
            .max_by_key(|f| f.role == ConfigRole::CondarcPrefix)
            .map(|f| PathBuf::from(&f.path))
            .unwrap_or_else(|| p.prefix.join(".condarc"))),
        _ => p
            .locations
            .user_condarc()
            .ok_or_else(|| ConfigError::Usage("--scope user needs a home folder".into())),
    }
}
