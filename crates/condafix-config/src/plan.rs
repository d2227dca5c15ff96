//! From a detection report to a config plan: data, printed by `--dry-run`, the only input of
//! apply. Each config target (`targets/`) adds its actions; this file holds the model and the
//! order the targets run in.

use std::path::{Path, PathBuf};

use condafix_detect::locations::{ConfigLocations, WriteScope};
use condafix_detect::redact::redact_credentials;
use condafix_detect::tls::MachineConfig;
use condafix_detect::{display_path, PrefixReport};
use condafix_prefix::registry::{Hive, RegValue, RegistryWrite};
use condafix_prefix::safe_read;
use condafix_txn::Target;
use rustls_pki_types::CertificateDer;
use serde::Serialize;

use crate::bundle::Bundle;
use crate::targets::{self, Trust};
use crate::text_edit::{edit_condarc, edit_ini, IniEdit, YamlValue};
use crate::ConfigError;

/// `$GITHUB_PATH` and `$GITHUB_ENV`, under GitHub Actions.
#[derive(Debug, Clone, Default)]
pub struct GithubFiles {
    pub path: Option<PathBuf>,
    pub env: Option<PathBuf>,
}

#[derive(Default)]
pub struct ConfigOptions {
    pub ca_files: Vec<PathBuf>,
    pub trust_system_store: bool,
    /// The OS store's certificates (read by the caller when `trust_system_store`).
    pub system_roots: Option<Vec<CertificateDer<'static>>>,
    pub scope: WriteScope,
    pub condarc: Option<PathBuf>,
    pub index_url: Option<String>,
    pub proxy: Option<String>,
    pub remove_insecure: bool,
    pub insecure_trusted_hosts: Vec<String>,
    pub add_to_path: bool,
    pub system: bool,
    pub fix_env: bool,
    pub github: Option<GithubFiles>,
    pub now_unix: i64,
}

/// One change.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum ConfigAction {
    WriteFile {
        path: String,
        what: String,
        /// The text before (credentials redacted); `None` for a new file.
        before: Option<String>,
        after: String,
        #[serde(skip)]
        target: Target,
        #[serde(skip)]
        bytes: Vec<u8>,
    },
    SetRegistry {
        value: String,
        what: String,
        before: Option<RegValue>,
        after: Option<RegValue>,
        #[serde(skip)]
        hive: Hive,
        #[serde(skip)]
        key: String,
        #[serde(skip)]
        name: String,
    },
    AppendGithub {
        file: String,
        what: String,
        lines: Vec<String>,
    },
}

impl ConfigAction {
    /// What the action changes, as shown to people: a file, a registry value, a GitHub file.
    pub fn shown_target(&self) -> &str {
        match self {
            ConfigAction::WriteFile { path, .. } => path,
            ConfigAction::SetRegistry { value, .. } => value,
            ConfigAction::AppendGithub { file, .. } => file,
        }
    }

    /// Why, in words.
    pub fn what(&self) -> &str {
        match self {
            ConfigAction::WriteFile { what, .. }
            | ConfigAction::SetRegistry { what, .. }
            | ConfigAction::AppendGithub { what, .. } => what,
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ConfigPlan {
    pub prefix: String,
    pub actions: Vec<ConfigAction>,
    pub notes: Vec<String>,
    /// What weakens TLS because a flag said so.
    pub warnings: Vec<String>,
    /// Files left untouched because they could not be edited safely.
    pub refused: Vec<String>,
    pub bundle: Option<Bundle>,
    #[serde(skip)]
    pub(crate) prefix_path: PathBuf,
}

impl ConfigPlan {
    pub fn changes(&self) -> usize {
        self.actions.len()
    }

    pub fn prefix_path(&self) -> &Path {
        &self.prefix_path
    }

    /// A plan made for another user (their registry view, their files): their user
    /// environment is `HKU\<SID>` when they are logged on, so that `undo` finds it later;
    /// when they are not, condafix does not write a hive it loaded only for this run, and says
    /// so.
    pub fn for_user(mut self, user: &str, sid: &str, logged_on: bool) -> Self {
        let mut dropped = Vec::new();
        self.actions.retain_mut(|a| {
            let ConfigAction::SetRegistry {
                hive, key, what, ..
            } = a
            else {
                return true;
            };
            if *hive != Hive::CurrentUser {
                return true;
            }
            if logged_on {
                *hive = Hive::Users;
                *key = format!("{sid}\\{key}");
                *what = format!("{what} (user {user})");
                true
            } else {
                dropped.push(what.clone());
                false
            }
        });
        for what in dropped {
            self.notes.push(format!(
                "{what}: not changed, {user} is not logged on (condafix does not write a registry hive it loaded only to read); run condafix again while they are logged on, or as them"
            ));
        }
        self
    }
}

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

/// The target a transaction gets: through the guard when inside the prefix, else the file
/// itself (the allow-list of the transaction checks it again).
fn txn_target(prefix: &Path, path: &Path) -> Result<Target, String> {
    match path.strip_prefix(prefix) {
        Ok(rel) => Target::inside(&rel.to_string_lossy()).map_err(|r| r.to_string()),
        Err(_) => Ok(Target::Outside(dunce::simplified(path).to_path_buf())),
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
        let target = match txn_target(&self.prefix, path) {
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
            target,
            bytes: after.into_bytes(),
        });
    }

    /// The current content of a file, as planned so far in this run or as on disk.
    pub fn current(&self, path: &Path) -> Result<Option<Vec<u8>>, String> {
        if let Ok(target) = txn_target(&self.prefix, path) {
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

/// Plan the configuration of one prefix: each target in turn (the CA bundle first, since pip
/// and conda point at it).
pub fn plan_config(
    report: &PrefixReport,
    machine: &MachineConfig,
    locations: &ConfigLocations,
    registry: &dyn RegistryWrite,
    opts: &ConfigOptions,
) -> Result<ConfigPlan, ConfigError> {
    let prefix = PathBuf::from(&report.prefix);
    let trust = Trust::decide(report, machine, locations, opts, &prefix)?;
    let mut p = Planner {
        report,
        machine,
        locations,
        registry,
        opts,
        prefix: prefix.clone(),
        trust,
        plan: ConfigPlan {
            prefix: report.prefix.clone(),
            actions: Vec::new(),
            notes: Vec::new(),
            warnings: Vec::new(),
            refused: Vec::new(),
            bundle: None,
            prefix_path: prefix,
        },
    };
    for target in targets::ALL {
        target.plan(&mut p)?;
    }
    if p.plan.actions.is_empty() && p.plan.refused.is_empty() && p.plan.notes.is_empty() {
        p.note("nothing to change");
    }
    Ok(p.plan)
}
