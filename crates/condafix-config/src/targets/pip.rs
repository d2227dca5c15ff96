//! pip's config: `cert`, `index-url`, `proxy`; `trusted-host` removed with `--remove-insecure`
//! (from every pip file in the chain) or added, loudly, with `--insecure-trusted-host`.

use std::path::PathBuf;

use condafix_detect::locations::WriteScope;
use condafix_prefix::ini::parse_ini;
use condafix_prefix::text::decode_text;

use super::ConfigTarget;
use crate::planner::Planner;
use crate::text_edit::IniEdit;
use crate::ConfigError;

pub(crate) struct PipConfig;

impl ConfigTarget for PipConfig {
    fn plan(&self, p: &mut Planner<'_>) -> Result<(), ConfigError> {
        let opts = p.opts;
        let devnull = p.locations.pip_disabled();
        let pip_file = p
            .locations
            .pip_write_target(opts.scope, &p.prefix, p.report.layout)
            .ok_or_else(|| {
                ConfigError::Usage(match opts.scope {
                    WriteScope::Global => "--scope global needs PROGRAMDATA".into(),
                    _ => "--scope user needs APPDATA (Windows) or HOME".into(),
                })
            })?;
        if devnull && (p.trust.want_bundle || opts.index_url.is_some() || opts.proxy.is_some()) {
            p.note("PIP_CONFIG_FILE is os.devnull: pip reads no config file, so none is written; set PIP_CERT instead");
        }
        let mut edit = IniEdit::default();
        if p.trust.want_bundle {
            if p.trust.pip_needs_bundle {
                edit.set
                    .push(("global".into(), "cert".into(), p.trust.bundle_str.clone()));
            } else {
                let tls = p.report.tls.as_ref();
                let v = tls
                    .and_then(|t| t.pip.as_ref())
                    .map(|p| p.version.clone())
                    .unwrap_or_default();
                let py = p
                    .report
                    .python
                    .as_ref()
                    .map(|py| py.version.clone())
                    .unwrap_or_default();
                p.note(format!(
                    "pip {v} on Python {py} already uses the OS trust store (truststore): no pip setting is written"
                ));
            }
        }
        if let Some(u) = &opts.index_url {
            edit.set
                .push(("global".into(), "index-url".into(), u.clone()));
        }
        if let Some(u) = &opts.proxy {
            edit.set.push(("global".into(), "proxy".into(), u.clone()));
        }
        if !opts.insecure_trusted_hosts.is_empty() {
            add_trusted_hosts(p, &pip_file, &mut edit);
        }
        if opts.remove_insecure && opts.insecure_trusted_hosts.is_empty() {
            edit.remove.push("trusted-host".into());
            remove_trusted_host_elsewhere(p, &pip_file);
        }
        if !devnull && (!edit.set.is_empty() || (!edit.remove.is_empty() && pip_file.is_file())) {
            p.edit_ini_file(&pip_file, "pip settings", &edit);
        }
        Ok(())
    }
}

/// `--insecure-trusted-host`: the hosts already listed in `[global]`, plus the given ones.
fn add_trusted_hosts(p: &mut Planner<'_>, pip_file: &std::path::Path, edit: &mut IniEdit) {
    let opts = p.opts;
    let existing = p
        .current(pip_file)
        .ok()
        .flatten()
        .map(|b| parse_ini(&decode_text(&b).text))
        .and_then(|ini| {
            ini.find("trusted-host")
                .find(|(s, _)| s.name == "global")
                .map(|(_, e)| e.value.clone())
        })
        .unwrap_or_default();
    let mut hosts: Vec<String> = existing.split_whitespace().map(str::to_string).collect();
    for h in &opts.insecure_trusted_hosts {
        if !hosts.iter().any(|x| x.eq_ignore_ascii_case(h)) {
            hosts.push(h.clone());
        }
    }
    edit.set
        .push(("global".into(), "trusted-host".into(), hosts.join(" ")));
    p.plan.warnings.push(format!(
        "--insecure-trusted-host: pip will NOT check certificates for {} (anyone between you and those hosts can impersonate them); recorded in the receipt, `condafix undo` removes it",
        opts.insecure_trusted_hosts.join(", ")
    ));
}

/// `--remove-insecure`: `trusted-host` out of every other pip file in this prefix's chain.
fn remove_trusted_host_elsewhere(p: &mut Planner<'_>, pip_file: &std::path::Path) {
    let others: Vec<PathBuf> = p
        .config_files()
        .filter(|f| f.role.is_pip() && f.settings.iter().any(|s| s.key.ends_with(".trusted-host")))
        .map(|f| PathBuf::from(&f.path))
        .filter(|f| f != pip_file)
        .collect();
    for f in others {
        p.edit_ini_file(
            &f,
            "remove trusted-host",
            &IniEdit {
                set: vec![],
                remove: vec!["trusted-host".into()],
            },
        );
    }
}
