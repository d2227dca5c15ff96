//! From a detection report to a config plan (data, printed by `--dry-run`), and its application.

use std::path::{Path, PathBuf};

use condafix_detect::discover::Scope as InstallScope;
use condafix_detect::redact::redact_credentials;
use condafix_detect::tls::MachineConfig;
use condafix_detect::tls::{ConfigFile, TrustMode};
use condafix_detect::{display_path, Code, EnvSource, Finding, PrefixKind, PrefixReport};
use condafix_prefix::registry::{
    Hive, RegValue, RegistryWrite, MACHINE_ENVIRONMENT_KEY, USER_ENVIRONMENT_KEY,
};
use condafix_prefix::{join_rel, Layout, Sha256, Version};
use condafix_txn::{Faults, Transaction, STATE_DIR};
use rustls_pki_types::CertificateDer;
use serde::Serialize;

use crate::bundle::{build_bundle, Bundle, BundleInputs, CertSource};
use crate::path_env::{add_to_path_entries, prepend_entries};
use crate::text_edit::{edit_condarc, edit_ini, IniEdit, YamlValue};
use crate::ConfigError;

/// Where settings are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// `<prefix>\pip.ini`, `<prefix>\.condarc`, `<prefix>\.condafix\ca-bundle.pem`.
    #[default]
    Site,
    /// `%APPDATA%\pip\pip.ini`, `~\.condarc`, `%LOCALAPPDATA%\condafix\ca-bundle.pem`.
    User,
    /// `%PROGRAMDATA%\pip\pip.ini`, `%PROGRAMDATA%\condafix\ca-bundle.pem` (needs elevation).
    Global,
}

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
    pub scope: Scope,
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
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum ConfigAction {
    WriteFile {
        path: String,
        what: String,
        /// The text before (credentials redacted); `None` for a new file.
        before: Option<String>,
        after: String,
        #[serde(skip)]
        target: String,
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

#[derive(Debug, Clone, Serialize)]
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
    prefix_path: PathBuf,
}

impl ConfigPlan {
    pub fn changes(&self) -> usize {
        self.actions.len()
    }
}

fn var(env: &dyn EnvSource, name: &str) -> Option<PathBuf> {
    env.var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home(env: &dyn EnvSource, windows: bool) -> Option<PathBuf> {
    if windows {
        var(env, "USERPROFILE").or_else(|| var(env, "HOME"))
    } else {
        var(env, "HOME")
    }
}

/// The public root bundles a prefix carries.
fn public_roots(prefix: &Path, layout: Layout, py: Option<(u64, u64)>) -> Vec<PathBuf> {
    let mut v = vec![join_rel(prefix, layout.ca_bundle())];
    if let Some(mm) = py {
        let site = join_rel(prefix, &layout.site_packages(mm));
        v.push(site.join("certifi").join("cacert.pem"));
        v.push(
            site.join("pip")
                .join("_vendor")
                .join("certifi")
                .join("cacert.pem"),
        );
    }
    v
}

/// The path a transaction gets: prefix-relative when inside the prefix, absolute otherwise.
fn txn_target(prefix: &Path, path: &Path) -> String {
    match path.strip_prefix(prefix) {
        Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
        Err(_) => dunce::simplified(path).display().to_string(),
    }
}

struct Planner<'a> {
    report: &'a PrefixReport,
    prefix: PathBuf,
    plan: ConfigPlan,
}

impl Planner<'_> {
    fn write_text(&mut self, path: &Path, what: &str, before: Option<&[u8]>, after: String) {
        let before_text =
            before.map(|b| redact_credentials(&condafix_prefix::text::decode_text(b).text));
        let target = txn_target(&self.prefix, path);
        // A later edit of the same file in this plan replaces the earlier one.
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
    fn current(&self, path: &Path) -> Option<Vec<u8>> {
        let target = txn_target(&self.prefix, path);
        for a in self.plan.actions.iter().rev() {
            if let ConfigAction::WriteFile {
                target: t, bytes, ..
            } = a
            {
                if *t == target {
                    return Some(bytes.clone());
                }
            }
        }
        fs_err::read(path).ok()
    }

    fn edit_ini_file(&mut self, path: &Path, what: &str, edit: &IniEdit) {
        let before = self.current(path);
        match edit_ini(before.as_deref(), edit) {
            Ok(e) if e.changed => {
                for n in &e.notes {
                    self.plan.notes.push(format!("{}: {n}", display_path(path)));
                }
                let on_disk = fs_err::read(path).ok();
                self.write_text(path, what, on_disk.as_deref(), e.text);
            }
            Ok(_) => {}
            Err(r) => {
                self.plan
                    .refused
                    .push(format!("{} is left untouched: {}", display_path(path), r.0))
            }
        }
    }

    fn edit_condarc_file(
        &mut self,
        path: &Path,
        what: &str,
        set: &[(String, YamlValue)],
        remove_if: &[(String, String)],
    ) {
        let before = self.current(path);
        match edit_condarc(before.as_deref(), set, remove_if) {
            Ok(e) if e.changed => {
                for n in &e.notes {
                    self.plan.notes.push(format!("{}: {n}", display_path(path)));
                }
                let on_disk = fs_err::read(path).ok();
                self.write_text(path, what, on_disk.as_deref(), e.text);
            }
            Ok(_) => {}
            Err(r) => {
                self.plan
                    .refused
                    .push(format!("{} is left untouched: {}", display_path(path), r.0))
            }
        }
    }
}

/// Plan the configuration of one prefix. `machine` is the machine-wide part of the report.
pub fn plan_config(
    report: &PrefixReport,
    machine: &MachineConfig,
    env: &dyn EnvSource,
    registry: &dyn RegistryWrite,
    windows: bool,
    opts: &ConfigOptions,
) -> Result<ConfigPlan, ConfigError> {
    let prefix = PathBuf::from(&report.prefix);
    let mut p = Planner {
        report,
        prefix: prefix.clone(),
        plan: ConfigPlan {
            prefix: report.prefix.clone(),
            actions: Vec::new(),
            notes: Vec::new(),
            warnings: Vec::new(),
            refused: Vec::new(),
            bundle: None,
            prefix_path: prefix.clone(),
        },
    };
    let layout = report.layout;
    let py = report.python.as_ref().map(|p| Version::parse(&p.version));
    let py_mm = py.as_ref().map(|v| v.major_minor());
    let tls = report.tls.as_ref();
    let pip_trust = tls.and_then(|t| t.pip.as_ref()).map(|p| p.trust);
    let conda_prefix = condafix_prefix::is_conda_prefix(&prefix);

    // 1. The bundle.
    let want_bundle = !opts.ca_files.is_empty() || opts.trust_system_store;
    let only_system = opts.ca_files.is_empty() && opts.trust_system_store;
    let bundle_path = match opts.scope {
        Scope::Site => prefix.join(STATE_DIR).join("ca-bundle.pem"),
        Scope::User => {
            let base = if windows {
                var(env, "LOCALAPPDATA")
            } else {
                home(env, false).map(|h| h.join(".local").join("share"))
            };
            base.ok_or_else(|| {
                ConfigError::Usage("--scope user needs LOCALAPPDATA (Windows) or HOME".into())
            })?
            .join("condafix")
            .join("ca-bundle.pem")
        }
        Scope::Global => var(env, "PROGRAMDATA")
            .ok_or_else(|| ConfigError::Usage("--scope global needs PROGRAMDATA".into()))?
            .join("condafix")
            .join("ca-bundle.pem"),
    };
    let pip_uses_os_store = pip_trust == Some(TrustMode::TruststoreDefault);
    let conda_version = tls
        .and_then(|t| t.conda_version.as_ref())
        .map(|v| Version::parse(v));
    let proxy_configured = opts.proxy.is_some()
        || machine
            .config_files
            .iter()
            .chain(tls.map(|t| t.config_files.as_slice()).unwrap_or_default())
            .any(|f| {
                f.settings
                    .iter()
                    .any(|s| s.key.starts_with("proxy_servers."))
            });
    let conda_truststore_ok = conda_version.as_ref().is_some_and(|v| v.at_least("23.9"))
        && py.as_ref().is_some_and(|v| v.at_least("3.10"))
        && (!proxy_configured || conda_version.as_ref().is_some_and(|v| v.at_least("26.7")));
    let pip_needs_bundle = want_bundle && !(only_system && pip_uses_os_store);
    let conda_needs_bundle = want_bundle && conda_prefix && !(only_system && conda_truststore_ok);
    if want_bundle && (pip_needs_bundle || conda_needs_bundle) {
        let public = public_roots(&prefix, layout, py_mm);
        let bundle = build_bundle(&BundleInputs {
            public: &public,
            given: &opts.ca_files,
            system: opts.system_roots.clone(),
            now_unix: opts.now_unix,
        })?;
        if !opts.ca_files.is_empty()
            && bundle.count(CertSource::Given) == 0
            && bundle
                .rejected
                .iter()
                .any(|r| opts.ca_files.iter().any(|f| display_path(f) == r.from))
        {
            return Err(ConfigError::Usage(format!(
                "none of the certificates given with --ca-file can be used:\n{}",
                bundle
                    .rejected
                    .iter()
                    .map(|r| format!("  {} ({}): {}", r.subject, r.from, r.reason))
                    .collect::<Vec<_>>()
                    .join("\n")
            )));
        }
        if bundle.count(CertSource::Prefix) == 0 {
            p.plan.notes.push("this prefix carries no public root bundle (Library\\ssl\\cacert.pem, certifi): the bundle holds only the given and system certificates".into());
        }
        let before = fs_err::read(&bundle_path).ok();
        if before.as_deref() != Some(bundle.pem.as_bytes()) {
            let pem = bundle.pem.clone();
            p.write_text(&bundle_path, "CA bundle", before.as_deref(), pem);
        }
        p.plan.bundle = Some(bundle);
    }
    let bundle_str = dunce::simplified(&bundle_path).display().to_string();

    // 2. pip.
    let pip_env_file = var(env, "PIP_CONFIG_FILE");
    let devnull = pip_env_file.as_deref().is_some_and(|f| {
        let s = f.to_string_lossy().to_lowercase();
        s == "nul" || s == "/dev/null"
    });
    let pip_file = match (&pip_env_file, opts.scope) {
        (Some(f), _) if !devnull => f.clone(),
        (_, Scope::Site) => prefix.join(if layout == Layout::Windows {
            "pip.ini"
        } else {
            "pip.conf"
        }),
        (_, Scope::User) => {
            if windows {
                var(env, "APPDATA").map(|a| a.join("pip").join("pip.ini"))
            } else {
                home(env, false).map(|h| h.join(".config").join("pip").join("pip.conf"))
            }
        }
        .ok_or_else(|| ConfigError::Usage("--scope user needs APPDATA (Windows) or HOME".into()))?,
        (_, Scope::Global) => var(env, "PROGRAMDATA")
            .map(|d| d.join("pip").join("pip.ini"))
            .ok_or_else(|| ConfigError::Usage("--scope global needs PROGRAMDATA".into()))?,
    };
    if devnull && (want_bundle || opts.index_url.is_some() || opts.proxy.is_some()) {
        p.plan.notes.push("PIP_CONFIG_FILE is os.devnull: pip reads no config file, so none is written; set PIP_CERT instead".into());
    }
    let mut pip_edit = IniEdit::default();
    if want_bundle {
        if pip_needs_bundle {
            pip_edit
                .set
                .push(("global".into(), "cert".into(), bundle_str.clone()));
        } else {
            let v = tls
                .and_then(|t| t.pip.as_ref())
                .map(|p| p.version.clone())
                .unwrap_or_default();
            p.plan.notes.push(format!(
                "pip {v} on Python {} already uses the OS trust store (truststore): no pip setting is written",
                py.as_ref().map(|v| v.to_string()).unwrap_or_default()
            ));
        }
    }
    if let Some(u) = &opts.index_url {
        pip_edit
            .set
            .push(("global".into(), "index-url".into(), u.clone()));
    }
    if let Some(u) = &opts.proxy {
        pip_edit
            .set
            .push(("global".into(), "proxy".into(), u.clone()));
    }
    if !opts.insecure_trusted_hosts.is_empty() {
        let existing = p
            .current(&pip_file)
            .map(|b| condafix_prefix::ini::parse_ini(&condafix_prefix::text::decode_text(&b).text))
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
        pip_edit
            .set
            .push(("global".into(), "trusted-host".into(), hosts.join(" ")));
        p.plan.warnings.push(format!(
            "--insecure-trusted-host: pip will NOT check certificates for {} (anyone between you and those hosts can impersonate them); recorded in the receipt, `condafix undo` removes it",
            opts.insecure_trusted_hosts.join(", ")
        ));
    }
    if opts.remove_insecure && opts.insecure_trusted_hosts.is_empty() {
        pip_edit.remove.push("trusted-host".into());
        // Every other pip file in this prefix's chain too.
        let others: Vec<PathBuf> = machine
            .config_files
            .iter()
            .chain(tls.map(|t| t.config_files.as_slice()).unwrap_or_default())
            .filter(|f| {
                f.role.starts_with("pip-")
                    && f.settings.iter().any(|s| s.key.ends_with(".trusted-host"))
            })
            .map(|f| PathBuf::from(&f.path))
            .filter(|f| *f != pip_file)
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
    if !devnull && (!pip_edit.set.is_empty() || (!pip_edit.remove.is_empty() && pip_file.is_file()))
    {
        p.edit_ini_file(&pip_file, "pip settings", &pip_edit);
    }

    // 3. conda.
    if conda_prefix {
        let mut set: Vec<(String, YamlValue)> = Vec::new();
        if want_bundle {
            if conda_needs_bundle {
                set.push(("ssl_verify".into(), YamlValue::Scalar(bundle_str.clone())));
            } else {
                set.push(("ssl_verify".into(), YamlValue::Scalar("truststore".into())));
            }
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
        let files: Vec<&ConfigFile> = machine
            .config_files
            .iter()
            .chain(tls.map(|t| t.config_files.as_slice()).unwrap_or_default())
            .filter(|f| f.role.starts_with("condarc-"))
            .collect();
        let target = match (&opts.condarc, opts.scope) {
            (Some(c), _) => c.clone(),
            (None, Scope::Site) => files
                .iter()
                .filter(|f| f.role == "condarc-prefix" || f.role == "condarc-root")
                .max_by_key(|f| f.role == "condarc-prefix")
                .map(|f| PathBuf::from(&f.path))
                .unwrap_or_else(|| prefix.join(".condarc")),
            (None, _) => home(env, windows)
                .map(|h| h.join(".condarc"))
                .ok_or_else(|| ConfigError::Usage("--scope user needs a home folder".into()))?,
        };
        if !set.is_empty() {
            p.edit_condarc_file(&target, "conda settings", &set, &remove);
        }
        if !remove.is_empty() {
            for f in files.iter().filter(|f| {
                f.settings
                    .iter()
                    .any(|s| s.key == "ssl_verify" && s.value.eq_ignore_ascii_case("false"))
            }) {
                let path = PathBuf::from(&f.path);
                p.edit_condarc_file(&path, "remove ssl_verify: false", &[], &remove);
            }
        }
        if want_bundle && !conda_needs_bundle {
            p.plan.notes.push("conda uses `ssl_verify: truststore` (conda >= 23.9 on Python >= 3.10): the OS trust store, no bundle".into());
        }
    }

    // 4. The vendored requests file pip's `verify=False` edit altered.
    if opts.remove_insecure {
        restore_sessions_py(&mut p);
    }

    // 5. PATH.
    if opts.add_to_path {
        plan_path(&mut p, registry, opts)?;
    }

    // 6. Environment variables.
    if opts.fix_env || opts.remove_insecure {
        plan_env(
            &mut p,
            machine,
            registry,
            opts,
            want_bundle.then_some(bundle_str.as_str()),
        )?;
    }
    if p.plan.actions.is_empty() && p.plan.refused.is_empty() && p.plan.notes.is_empty() {
        p.plan.notes.push("nothing to change".into());
    }
    Ok(p.plan)
}

fn restore_sessions_py(p: &mut Planner<'_>) {
    let altered: Vec<Finding> = p
        .report
        .findings
        .iter()
        .filter(|f| f.code == Code::T050)
        .cloned()
        .collect();
    for f in altered {
        let (Some(path), Some(rel)) = (
            f.path.clone(),
            f.evidence
                .get("file")
                .and_then(|v| v.as_str())
                .map(str::to_string),
        ) else {
            continue;
        };
        let expected = f
            .evidence
            .get("expected_sha256")
            .and_then(|v| v.as_str())
            .and_then(|h| Sha256::from_hex(h).ok());
        let base = match p.report.kind {
            PrefixKind::Base => p.prefix.clone(),
            PrefixKind::Env => p
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
        // The package cache's extracted pip (noarch: files under site-packages/), its .conda
        // archive, and pip's own wheel (ensurepip bundles one).
        let mut found: Option<(PathBuf, Vec<u8>)> = None;
        let good = |bytes: &[u8]| expected.is_some_and(|h| h == Sha256::of_bytes(bytes));
        if let Ok(rd) = fs_err::read_dir(base.join("pkgs")) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !name.starts_with(&format!("pip-{version}-")) || !e.path().is_dir() {
                    continue;
                }
                let candidate = join_rel(&e.path(), &format!("site-packages/{rel}"));
                if let Ok(bytes) = fs_err::read(&candidate) {
                    if good(&bytes) {
                        found = Some((candidate, bytes));
                        break;
                    }
                }
            }
        }
        if found.is_none() {
            let mut archives: Vec<(PathBuf, String)> = Vec::new();
            if let Ok(rd) = fs_err::read_dir(base.join("pkgs")) {
                for e in rd.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if name.starts_with(&format!("pip-{version}-")) && name.ends_with(".conda") {
                        archives.push((e.path(), format!("site-packages/{rel}")));
                    }
                }
            }
            if let Some(mm) = p
                .report
                .python
                .as_ref()
                .map(|py| Version::parse(&py.version).major_minor())
            {
                let lib = if p.report.layout == Layout::Windows {
                    "Lib".to_string()
                } else {
                    format!("lib/python{}.{}", mm.0, mm.1)
                };
                let bundled = join_rel(&p.prefix, &format!("{lib}/ensurepip/_bundled"));
                if let Ok(rd) = fs_err::read_dir(&bundled) {
                    for e in rd.flatten() {
                        let name = e.file_name().to_string_lossy().into_owned();
                        if name.starts_with(&format!("pip-{version}-")) && name.ends_with(".whl") {
                            archives.push((e.path(), rel.clone()));
                        }
                    }
                }
            }
            for (archive, member) in archives {
                let m = if archive.extension().is_some_and(|x| x == "conda") {
                    condafix_stage::archive::conda_member(&archive, &member)
                } else {
                    condafix_stage::archive::zip_member(&archive, &member)
                };
                if let Ok(Some(m)) = m {
                    if good(&m.bytes) {
                        found = Some((archive, m.bytes));
                        break;
                    }
                }
            }
        }
        match found {
            Some((src, bytes)) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let before = fs_err::read(&path).ok();
                p.write_text(Path::new(&path), &format!("restore {rel} from {}", display_path(&src)), before.as_deref(), text);
            }
            None => p.plan.notes.push(format!(
                "{rel} was altered and no copy with pip's recorded hash is in the package cache: reinstall pip ({}) from a trusted wheel: `python -m pip install --force-reinstall --no-deps pip-{version}-py3-none-any.whl`",
                path
            )),
        }
    }
}

fn plan_path(
    p: &mut Planner<'_>,
    registry: &dyn RegistryWrite,
    opts: &ConfigOptions,
) -> Result<(), ConfigError> {
    if p.report.layout != Layout::Windows {
        p.plan
            .notes
            .push("--add-to-path: a Unix-layout prefix; nothing to add to a Windows PATH".into());
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
    let all_users = p.report.scope == InstallScope::AllUsers;
    let (hive, key) = if all_users {
        if !opts.system {
            p.plan.refused.push("--add-to-path: this is an All Users install; its PATH belongs in the machine PATH, which needs --system and an elevated prompt (Anaconda ignores \"Add to PATH\" for All Users since 2022.05, CVE-2022-26526)".into());
            return Ok(());
        }
        (Hive::LocalMachine, MACHINE_ENVIRONMENT_KEY)
    } else {
        (Hive::CurrentUser, USER_ENVIRONMENT_KEY)
    };
    let current = registry
        .value(hive, key, "Path")
        .map_err(|e| ConfigError::Usage(e.to_string()))?;
    let text = match &current {
        None => String::new(),
        Some(RegValue::Sz(s) | RegValue::ExpandSz(s)) => s.clone(),
        Some(other) => {
            p.plan.refused.push(format!(
                "{}\\{key}\\Path is a {} value, not text: it is left alone",
                hive.short(),
                other.type_name()
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
        p.plan
            .notes
            .push("the prefix's folders are already first on PATH".into());
    }
    Ok(())
}

fn plan_env(
    p: &mut Planner<'_>,
    machine: &MachineConfig,
    registry: &dyn RegistryWrite,
    opts: &ConfigOptions,
    bundle: Option<&str>,
) -> Result<(), ConfigError> {
    use condafix_detect::tls_env::{CA_DIR_VARS, CA_FILE_VARS};
    for e in &machine.environment {
        let name = e.name.as_str();
        let dangling = (CA_FILE_VARS.contains(&name) && !Path::new(&e.raw).is_file())
            || (CA_DIR_VARS.contains(&name) && !Path::new(&e.raw).is_dir());
        let insecure = name == "PIP_TRUSTED_HOST" && opts.remove_insecure;
        let wanted = insecure || (dangling && opts.fix_env);
        if !wanted {
            continue;
        }
        // A CA-file variable is repointed at the bundle when there is one; others are removed.
        let after = match (bundle, CA_FILE_VARS.contains(&name) && !insecure) {
            (Some(b), true) => Some(RegValue::Sz(b.to_string())),
            _ => None,
        };
        let hive = match e.source.as_str() {
            s if s.starts_with("HKCU") => Hive::CurrentUser,
            s if s.starts_with("HKLM") => {
                if !opts.system {
                    p.plan.refused.push(format!("{name} is set in the machine environment; fixing it needs --system and an elevated prompt"));
                    continue;
                }
                Hive::LocalMachine
            }
            _ => {
                if let (Some(gh), Some(b)) =
                    (opts.github.as_ref().and_then(|g| g.env.clone()), bundle)
                {
                    p.plan.actions.push(ConfigAction::AppendGithub {
                        file: display_path(&gh),
                        what: format!("{name} for later steps"),
                        lines: vec![format!("{name}={b}")],
                    });
                } else {
                    p.plan.notes.push(format!("{name} is set in this process's environment only (a shell, a parent program, a CI step): remove it where it is set"));
                }
                continue;
            }
        };
        let key = if hive == Hive::CurrentUser {
            USER_ENVIRONMENT_KEY
        } else {
            MACHINE_ENVIRONMENT_KEY
        };
        let before = registry
            .value(hive, key, name)
            .map_err(|err| ConfigError::Usage(err.to_string()))?;
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

/// What applying did.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigOutcome {
    pub prefix: String,
    pub changes: usize,
    pub txn: Option<String>,
}

/// Apply a plan in one transaction (files and registry values); GitHub files are appended
/// after it commits (they are read by later steps, not undone).
pub fn apply_config(
    plan: &ConfigPlan,
    registry: &dyn RegistryWrite,
    faults: &Faults,
) -> Result<ConfigOutcome, ConfigError> {
    let (t, _) = Transaction::begin(&plan.prefix_path, "config", faults)?;
    let mut t = t.with_registry(registry);
    let txn = t.txn().to_string();
    apply_config_into(plan, &mut t)?;
    let changes = t.changes();
    t.commit()?;
    finish_config(plan, registry)?;
    Ok(ConfigOutcome {
        prefix: plan.prefix.clone(),
        changes,
        txn: (changes > 0).then_some(txn),
    })
}

/// The file and registry part of a plan, inside a transaction the caller commits (with a
/// registry); then call [`finish_config`].
pub fn apply_config_into(plan: &ConfigPlan, t: &mut Transaction<'_>) -> Result<(), ConfigError> {
    for a in &plan.actions {
        match a {
            ConfigAction::WriteFile {
                target,
                bytes,
                what,
                ..
            } => t.write(target, bytes, what)?,
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

/// After the transaction committed: append the GitHub files (read by later steps, not undone)
/// and tell running programs the environment changed.
pub fn finish_config(plan: &ConfigPlan, registry: &dyn RegistryWrite) -> Result<(), ConfigError> {
    for a in &plan.actions {
        if let ConfigAction::AppendGithub { file, lines, .. } = a {
            use std::io::Write as _;
            let mut f = fs_err::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
                .map_err(|source| ConfigError::Read {
                    path: PathBuf::from(file),
                    source,
                })?;
            for l in lines {
                writeln!(f, "{l}").map_err(|source| ConfigError::Read {
                    path: PathBuf::from(file),
                    source,
                })?;
            }
        }
    }
    if plan
        .actions
        .iter()
        .any(|a| matches!(a, ConfigAction::SetRegistry { .. }))
    {
        registry.broadcast_environment_change();
    }
    Ok(())
}
