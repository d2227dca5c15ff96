//! A config plan as data: what `--dry-run` prints and apply consumes.

use std::path::{Path, PathBuf};

use condafix_detect::locations::WriteScope;
use condafix_prefix::registry::{Hive, RegValue};
use condafix_txn::{Place, Target};
use rustls_pki_types::CertificateDer;
use serde::Serialize;

use crate::bundle::Bundle;

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
    /// The machine's own config files (from the machine's environment): changes to them go
    /// through the machine's store; every other file outside the prefix through the user's.
    pub machine_files: Vec<PathBuf>,
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
        place: Place,
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
        let mut signed_in = Vec::new();
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
                signed_in.push(what.clone());
                true
            } else {
                dropped.push(what.clone());
                false
            }
        });
        for what in signed_in {
            // WM_SETTINGCHANGE from this session does not reach their Explorer (session 0, or
            // another user's session): programs they start from it keep the old environment.
            self.notes.push(format!(
                "{what}: takes effect for {user}'s programs after they sign out and in again (the change is announced only in this session, which their Explorer does not hear)"
            ));
        }
        for what in dropped {
            self.notes.push(format!(
                "{what}: not changed, {user} is not logged on (condafix does not write a registry hive it loaded only to read); run condafix again while they are logged on, or as them"
            ));
        }
        self
    }
}
