//! Environment variables: `--fix-env` removes (or repoints at the bundle) CA variables that point
//! at missing files; `--remove-insecure` removes `PIP_TRUSTED_HOST`. User variables live in
//! `HKCU\Environment`, machine ones (with `--system`) in HKLM; a variable set only in this
//! process goes to `$GITHUB_ENV` under GitHub Actions, else it is named for the user to remove.

use std::path::Path;

use condafix_detect::display_path;
use condafix_detect::tls::env::{EnvOrigin, CA_DIR_VARS, CA_FILE_VARS};
use condafix_prefix::registry::{Hive, RegValue};

use super::ConfigTarget;
use crate::model::ConfigAction;
use crate::planner::Planner;
use crate::ConfigError;

pub(crate) struct EnvVars;

impl ConfigTarget for EnvVars {
    fn plan(&self, p: &mut Planner<'_>) -> Result<(), ConfigError> {
        let opts = p.opts;
        if !(opts.fix_env || opts.remove_insecure) {
            return Ok(());
        }
        let bundle = p.trust.want_bundle.then(|| p.trust.bundle_str.clone());
        let machine = p.machine;
        for e in &machine.environment {
            let name = e.name.as_str();
            let dangling = (CA_FILE_VARS.contains(&name) && !Path::new(&e.raw).is_file())
                || (CA_DIR_VARS.contains(&name) && !Path::new(&e.raw).is_dir());
            let insecure = name == "PIP_TRUSTED_HOST" && opts.remove_insecure;
            if !(insecure || (dangling && opts.fix_env)) {
                continue;
            }
            // A CA-file variable is repointed at the bundle when there is one; others removed.
            let after = match (&bundle, CA_FILE_VARS.contains(&name) && !insecure) {
                (Some(b), true) => Some(RegValue::Sz(b.clone())),
                _ => None,
            };
            let hive = match e.source {
                EnvOrigin::Registry(Hive::CurrentUser | Hive::Users) => Hive::CurrentUser,
                EnvOrigin::Registry(Hive::LocalMachine) => {
                    if !opts.system {
                        p.refuse(format!("{name} is set in the machine environment; fixing it needs --system and an elevated prompt"));
                        continue;
                    }
                    Hive::LocalMachine
                }
                EnvOrigin::Process => {
                    match (opts.github.as_ref().and_then(|g| g.env.clone()), &bundle) {
                        (Some(gh), Some(b)) => p.plan.actions.push(ConfigAction::AppendGithub {
                            file: display_path(&gh),
                            what: format!("{name} for later steps"),
                            lines: vec![format!("{name}={b}")],
                        }),
                        _ => p.note(format!("{name} is set in this process's environment only (a shell, a parent program, a CI step): remove it where it is set")),
                    }
                    continue;
                }
            };
            let key = EnvOrigin::Registry(hive)
                .key()
                .expect("a registry origin has a key");
            let before = p.registry.value(hive, key, name)?;
            p.plan.actions.push(ConfigAction::SetRegistry {
                value: format!("{}\\{key}\\{name}", hive.short()),
                what: match (&after, insecure) {
                    (_, true) => "remove PIP_TRUSTED_HOST (it turns certificate checks off)".into(),
                    (Some(_), _) => {
                        format!("repoint {name} at the CA bundle (it pointed at a missing file)")
                    }
                    (None, _) => format!("remove {name} (it points at a missing file)"),
                },
                before,
                after,
                hive,
                key: key.to_string(),
                name: name.to_string(),
            });
        }
        Ok(())
    }
}
