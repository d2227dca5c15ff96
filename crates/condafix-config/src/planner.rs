//! What a config target sees while it plans, and the edits it makes to the plan: one place for
//! reading the files it changes (never through a link, never more than a config file can be)
//! and for where each change goes (the prefix's store, another prefix's, the user's, the
//! machine's).

use std::path::{Path, PathBuf};

use condafix_detect::locations::ConfigLocations;
use condafix_detect::redact::redact_credentials;
use condafix_detect::tls::MachineConfig;
use condafix_detect::{display_path, PrefixReport};
use condafix_prefix::registry::RegistryWrite;
use condafix_prefix::safe_read;
use condafix_txn::{Place, Target};

use crate::model::{ConfigAction, ConfigOptions, ConfigPlan};
use crate::text_edit::{edit_condarc, edit_ini, IniEdit, YamlValue};
use crate::trust::Trust;

/// What a config target sees while it plans, and the plan it adds to.
pub(crate) struct Planner<'a> {
    pub report: &'a PrefixReport,
    pub machine: &'a MachineConfig,
    pub locations: &'a ConfigLocations,
    pub registry: &'a dyn RegistryWrite,
    pub opts: &'a ConfigOptions,
    pub prefix: PathBuf,
    pub trust: Trust,
    pub plan: ConfigPlan,
}

/// Where a change to `path` goes, and the target its store gets: inside the prefix (or its
/// base) through the guard; one of the machine's own files (from the machine's environment,
/// never a user's) to the machine's store; any other file to the user's, done as the user
/// (their store's allow-list checks it again).
fn txn_target(
    prefix: &Path,
    base: Option<&Path>,
    machine_files: &[PathBuf],
    path: &Path,
) -> Result<(Place, Target), String> {
    let inside = |root: &Path| {
        path.strip_prefix(root)
            .ok()
            .map(|rel| Target::inside(&rel.to_string_lossy()).map_err(|r| r.to_string()))
    };
    if let Some(t) = inside(prefix) {
        return Ok((Place::Prefix, t?));
    }
    if let Some(b) = base.filter(|b| *b != prefix) {
        if let Some(t) = inside(b) {
            return Ok((Place::OtherPrefix(b.to_path_buf()), t?));
        }
    }
    let target = Target::Outside(dunce::simplified(path).to_path_buf());
    let key = |p: &Path| {
        dunce::simplified(p)
            .to_string_lossy()
            .replace('\\', "/")
            .to_lowercase()
    };
    if machine_files.iter().any(|m| key(m) == key(path)) {
        Ok((Place::Machine, target))
    } else {
        Ok((Place::User, target))
    }
}

/// Read a config file (never through a link, never more than a config file can be).
pub(crate) fn read_config(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match safe_read::read(path, safe_read::MAX_CONFIG_BYTES) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

impl Planner<'_> {
    /// Plan writing `after` at `path` (replacing an earlier edit of the same file in this plan).
    pub fn write_text(&mut self, path: &Path, what: &str, before: Option<&[u8]>, after: String) {
        let before_text =
            before.map(|b| redact_credentials(&condafix_prefix::text::decode_text(b).text));
        let base = self.report.base.as_ref().map(PathBuf::from);
        let (place, target) = match txn_target(
            &self.prefix,
            base.as_deref(),
            &self.opts.machine_files,
            path,
        ) {
            Ok(t) => t,
            Err(why) => {
                self.refuse(format!("{} is left untouched: {why}", display_path(path)));
                return;
            }
        };
        self.plan
            .actions
            .retain(|a| !matches!(a, ConfigAction::WriteFile { target: t, .. } if *t == target));
        self.plan.actions.push(ConfigAction::WriteFile {
            path: display_path(path),
            what: what.to_string(),
            before: before_text,
            after: redact_credentials(&after),
            place,
            target,
            bytes: after.into_bytes(),
        });
    }

    /// The current content of a file, as planned so far in this run or as on disk.
    pub fn current(&self, path: &Path) -> Result<Option<Vec<u8>>, String> {
        let base = self.report.base.as_ref().map(PathBuf::from);
        if let Ok((_, target)) = txn_target(
            &self.prefix,
            base.as_deref(),
            &self.opts.machine_files,
            path,
        ) {
            for a in self.plan.actions.iter().rev() {
                if let ConfigAction::WriteFile {
                    target: t, bytes, ..
                } = a
                {
                    if *t == target {
                        return Ok(Some(bytes.clone()));
                    }
                }
            }
        }
        read_config(path)
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.plan.notes.push(note.into());
    }

    pub fn refuse(&mut self, why: impl Into<String>) {
        self.plan.refused.push(why.into());
    }

    pub fn edit_ini_file(&mut self, path: &Path, what: &str, edit: &IniEdit) {
        let before = match self.current(path) {
            Ok(b) => b,
            Err(why) => {
                return self.refuse(format!("{} is left untouched: {why}", display_path(path)))
            }
        };
        match edit_ini(before.as_deref(), edit) {
            Ok(e) if e.changed => {
                for n in &e.notes {
                    self.note(format!("{}: {n}", display_path(path)));
                }
                let on_disk = read_config(path).ok().flatten();
                self.write_text(path, what, on_disk.as_deref(), e.text);
            }
            Ok(_) => {}
            Err(r) => self.refuse(format!("{} is left untouched: {}", display_path(path), r.0)),
        }
    }

    pub fn edit_condarc_file(
        &mut self,
        path: &Path,
        what: &str,
        set: &[(String, YamlValue)],
        remove_if: &[(String, String)],
    ) {
        let before = match self.current(path) {
            Ok(b) => b,
            Err(why) => {
                return self.refuse(format!("{} is left untouched: {why}", display_path(path)))
            }
        };
        match edit_condarc(before.as_deref(), set, remove_if) {
            Ok(e) if e.changed => {
                for n in &e.notes {
                    self.note(format!("{}: {n}", display_path(path)));
                }
                let on_disk = read_config(path).ok().flatten();
                self.write_text(path, what, on_disk.as_deref(), e.text);
            }
            Ok(_) => {}
            Err(r) => self.refuse(format!("{} is left untouched: {}", display_path(path), r.0)),
        }
    }

    /// Every config file that applies to this prefix: the machine's, then the prefix's own.
    pub fn config_files(&self) -> impl Iterator<Item = &condafix_detect::tls::ConfigFile> {
        self.machine.config_files.iter().chain(
            self.report
                .tls
                .as_ref()
                .map(|t| t.config_files.as_slice())
                .unwrap_or_default(),
        )
    }
}
