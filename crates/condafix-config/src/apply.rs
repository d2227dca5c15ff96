//! A config plan as transaction steps: files and registry values through the transactions of
//! the stores they belong to;
//! `$GITHUB_*` lines and the environment-change broadcast after it commits.

use std::io::Write as _;
use std::path::PathBuf;

use condafix_prefix::registry::RegistryWrite;
use condafix_txn::{Changes, TxnError, Txns};

use crate::model::{ConfigAction, ConfigPlan};

impl Changes for ConfigPlan {
    fn apply(&self, t: &mut Txns<'_>) -> Result<(), TxnError> {
        for a in &self.actions {
            match a {
                ConfigAction::WriteFile {
                    place,
                    target,
                    bytes,
                    what,
                    ..
                } => t.write(place, target, bytes, what)?,
                ConfigAction::SetRegistry {
                    hive,
                    key,
                    name,
                    after,
                    what,
                    ..
                } => t.set_registry(*hive, key, name, after.clone(), what)?,
                ConfigAction::AppendGithub { .. } => {}
            }
        }
        Ok(())
    }

    /// Append the GitHub files (read by later steps, not undone) and tell running programs
    /// that the environment changed.
    fn after_commit(&self, registry: Option<&dyn RegistryWrite>) -> Result<(), TxnError> {
        for a in &self.actions {
            if let ConfigAction::AppendGithub { file, lines, .. } = a {
                let path = PathBuf::from(file);
                let write_error = |source| TxnError::Write {
                    path: path.clone(),
                    source,
                };
                let mut f = fs_err::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(write_error)?;
                for l in lines {
                    writeln!(f, "{l}").map_err(write_error)?;
                }
            }
        }
        let registry_changed = self
            .actions
            .iter()
            .any(|a| matches!(a, ConfigAction::SetRegistry { .. }));
        if let (true, Some(r)) = (registry_changed, registry) {
            r.broadcast_environment_change();
        }
        Ok(())
    }
}
