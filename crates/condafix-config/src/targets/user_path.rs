//! `--add-to-path`: the prefix's folders first on the user PATH (the machine PATH for an All
//! Users install, with `--system`), or on `$GITHUB_PATH` under GitHub Actions.

use condafix_detect::{display_path, Scope as InstallScope};
use condafix_prefix::registry::{Hive, RegValue, MACHINE_ENVIRONMENT_KEY, USER_ENVIRONMENT_KEY};
use condafix_prefix::Layout;

use super::ConfigTarget;
use crate::model::ConfigAction;
use crate::path_env::{add_to_path_entries, prepend_entries};
use crate::planner::Planner;
use crate::ConfigError;

pub(crate) struct UserPath;

impl ConfigTarget for UserPath {
    fn plan(&self, p: &mut Planner<'_>) -> Result<(), ConfigError> {
        let opts = p.opts;
        if !opts.add_to_path {
            return Ok(());
        }
        if p.report.layout != Layout::Windows {
            p.note("--add-to-path: a Unix-layout prefix; nothing to add to a Windows PATH");
            return Ok(());
        }
        let entries = add_to_path_entries(&p.prefix);
        if let Some(gh) = opts.github.as_ref().and_then(|g| g.path.clone()) {
            // GitHub prepends each line for later steps; the last line ends up first.
            let lines: Vec<String> = entries.iter().rev().cloned().collect();
            p.plan.actions.push(ConfigAction::AppendGithub {
                file: display_path(&gh),
                what: "PATH for later steps".into(),
                lines,
            });
            return Ok(());
        }
        let (hive, key) = if p.report.scope == InstallScope::AllUsers {
            if !opts.system {
                p.refuse("--add-to-path: this is an All Users install; its PATH belongs in the machine PATH, which needs --system and an elevated prompt (Anaconda ignores \"Add to PATH\" for All Users since 2022.05, CVE-2022-26526)");
                return Ok(());
            }
            (Hive::LocalMachine, MACHINE_ENVIRONMENT_KEY)
        } else {
            (Hive::CurrentUser, USER_ENVIRONMENT_KEY)
        };
        let current = p.registry.value(hive, key, "Path")?;
        let text = match &current {
            None => String::new(),
            Some(RegValue::Sz(s) | RegValue::ExpandSz(s)) => s.clone(),
            Some(other) => {
                p.refuse(format!(
                    "{}\\{key}\\Path is a {} value, not text: it is left alone",
                    hive.short(),
                    other.reg_type()
                ));
                return Ok(());
            }
        };
        let (new, changed) = prepend_entries(&text, &entries);
        if changed {
            p.plan.actions.push(ConfigAction::SetRegistry {
                value: format!("{}\\{key}\\Path", hive.short()),
                what: "put the prefix's folders first on PATH".into(),
                before: current,
                after: Some(RegValue::ExpandSz(new)),
                hive,
                key: key.to_string(),
                name: "Path".into(),
            });
        } else {
            p.note("the prefix's folders are already first on PATH");
        }
        Ok(())
    }
}
