//! The TLS-configuration half of detection: pip's config files in precedence order
//! (`pip_files`), the `.condarc` search path (`condarc`), TLS environment variables (`env`), pip's
//! vendored TLS code against its RECORD (`vendored`), the prefix's CA bundles (`ca_bundles`), and
//! which trust mechanism the prefix's pip uses (docs/formats-and-config.md).

mod ca_bundles;
mod condarc;
pub mod env;
mod pip_files;
mod vendored;

use std::path::{Path, PathBuf};

use condafix_prefix::text::{LineEnding, TextEncoding};
use condafix_prefix::{join_rel, CondaMeta, Layout, Version};
use serde::Serialize;

use crate::context::HostInfo;
use crate::locations::{ConfigLocations, ConfigRole};
use crate::redact::redact_credentials;
use crate::{Code, Finding};
use env::{env_findings, read_tls_env, EnvSetting, OVERRIDES_PIP_CERT};

/// One setting read from a config file (values with credentials redacted).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ConfigSetting {
    /// `global.cert` for pip, `ssl_verify` or `proxy_servers.https` for conda.
    pub key: String,
    pub value: String,
    pub line: usize,
    /// The value as written (never printed: it may hold a password).
    #[serde(skip)]
    pub raw: String,
}

/// A config file condafix read.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ConfigFile {
    pub path: String,
    pub role: ConfigRole,
    pub encoding: TextEncoding,
    pub line_ending: LineEnding,
    pub settings: Vec<ConfigSetting>,
    /// Why pip or conda cannot read it (then condafix does not edit it either).
    #[serde(skip)]
    pub unreadable: Option<String>,
}

impl ConfigFile {
    /// Whether a setting named `key` holds `value` (compared case-insensitively).
    pub fn has(&self, key: &str, value: &str) -> bool {
        self.settings
            .iter()
            .any(|s| s.key == key && s.raw.trim().eq_ignore_ascii_case(value))
    }
}

/// Parse the bytes of a pip config file as detection does: its settings, and the findings about
/// it (`path` is only shown).
pub fn parse_pip_config(bytes: &[u8], path: &Path) -> (ConfigFile, Vec<Finding>) {
    let mut findings = Vec::new();
    let f = pip_files::parse(bytes, path, ConfigRole::PipSite, &mut findings);
    (f, findings)
}

/// Parse the bytes of a `.condarc` as detection does.
pub fn parse_condarc(bytes: &[u8], path: &Path) -> (ConfigFile, Vec<Finding>) {
    let mut findings = Vec::new();
    let f = condarc::parse(bytes, path, ConfigRole::CondarcPrefix, &mut findings);
    (f, findings)
}

/// Read a config file the way detection may: never through a link, never blocking on a FIFO,
/// never more than a config file can be. `None` when it is absent or was not read; a file that
/// is there but could not be read is a finding (T027, an error: pip or conda may read settings
/// from it that condafix cannot check), never a silent pass.
fn read_config_file(path: &Path, findings: &mut Vec<Finding>) -> Option<Vec<u8>> {
    use condafix_prefix::safe_read::{read, ReadError, MAX_CONFIG_BYTES};
    let shown = crate::display_path(path);
    match read(path, MAX_CONFIG_BYTES) {
        Ok(b) => Some(b),
        Err(e) if e.is_not_found() => None,
        Err(ReadError::Link { .. }) => {
            findings.push(
                Finding::new(Code::T009, format!("{shown} is a link (a symlink or junction): condafix does not read or write through links, so its settings are not checked"))
                    .path(shown),
            );
            None
        }
        Err(ReadError::TooLarge { size, .. }) => {
            findings.push(
                Finding::new(
                    Code::T027,
                    format!(
                        "{shown} is {size} bytes, more than a config file can be: condafix does not read it, so it cannot tell whether it turns certificate checks off"
                    ),
                )
                .path(shown)
                .fix("look at the file: pip and conda still read it; shorten it or remove it"),
            );
            None
        }
        Err(e) => {
            findings.push(
                Finding::new(Code::T027, format!("{shown} could not be checked: {e}"))
                    .path(shown)
                    .fix("look at the file: replace it with a plain config file, or remove it"),
            );
            None
        }
    }
}

/// How pip in this prefix decides which certificates to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TrustMode {
    /// pip >= 24.2 on Python >= 3.10: the OS trust store (truststore) plus certifi.
    TruststoreDefault,
    /// pip 22.2-24.1 on Python >= 3.10: truststore only with `--use-feature=truststore`.
    TruststoreOptIn,
    /// certifi only: a corporate root must come through `cert =` with the public roots.
    CertifiOnly,
    Unknown,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PipInfo {
    pub version: String,
    pub trust: TrustMode,
    /// The `cert` pip will use and where it is set (highest precedence wins).
    pub effective_cert: Option<String>,
    pub effective_cert_from: Option<String>,
}

/// The prefix's TLS configuration.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TlsReport {
    pub pip: Option<PipInfo>,
    pub conda_version: Option<String>,
    /// `ssl_verify` as conda will apply it, and where it is set.
    pub conda_ssl_verify: Option<String>,
    pub conda_ssl_verify_from: Option<String>,
    /// Config files that apply to this prefix only.
    pub config_files: Vec<ConfigFile>,
}

/// Machine-wide configuration: user and global files, the environment.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct MachineConfig {
    pub config_files: Vec<ConfigFile>,
    pub environment: Vec<EnvSetting>,
    pub findings: Vec<Finding>,
    #[serde(skip)]
    pip_chain: Vec<ConfigFile>,
    #[serde(skip)]
    pip_disabled_by_devnull: bool,
    #[serde(skip)]
    condarc_user: Vec<ConfigFile>,
}

/// Read the machine-wide configuration once: pip's global and user files, the user's
/// `.condarc` files, TLS environment variables.
pub fn machine_config(host: &HostInfo<'_>) -> MachineConfig {
    let locations = host.locations();
    let mut m = MachineConfig::default();
    let mut findings = Vec::new();
    m.environment = read_tls_env(host.env, host.registry);
    findings.extend(env_findings(&m.environment));
    m.pip_disabled_by_devnull = locations.pip_disabled();
    for (role, path) in locations.pip_machine() {
        if let Some(f) = pip_files::load(&path, role, &mut findings) {
            m.pip_chain.push(f);
        }
    }
    for (role, dir) in locations.condarc_machine() {
        condarc::misnamed(&dir, &mut findings);
        for f in ConfigLocations::condarc_files(role, &dir) {
            if let Some(cf) = condarc::load(&f, role, &mut findings) {
                m.condarc_user.push(cf);
            }
        }
    }
    if let Some(condarc) = &locations.condarc_env {
        if let Some(cf) = condarc::load(condarc, ConfigRole::CondarcEnvVar, &mut findings) {
            m.condarc_user.push(cf);
        }
    }
    m.config_files = m
        .pip_chain
        .iter()
        .chain(m.condarc_user.iter())
        .cloned()
        .collect();
    m.findings = findings;
    m
}

/// Inputs for one prefix's TLS checks.
pub struct PrefixTlsInput<'a> {
    pub prefix: &'a Path,
    pub layout: Layout,
    pub meta: &'a CondaMeta,
    pub python: Option<Version>,
    /// The base install this prefix belongs to (itself for a base).
    pub base: Option<&'a Path>,
    /// conda's version: the prefix's own conda package, else its base's.
    pub conda_version: Option<String>,
}

/// The prefix's TLS configuration and the findings about it.
pub fn prefix_tls(
    host: &HostInfo<'_>,
    machine: &MachineConfig,
    input: &PrefixTlsInput<'_>,
) -> (TlsReport, Vec<Finding>) {
    let locations = host.locations();
    let mut findings = Vec::new();
    let mut own_files = Vec::new();
    let site = input
        .python
        .as_ref()
        .map(|v| join_rel(input.prefix, &input.layout.site_packages(v.major_minor())));

    let chain = pip_chain(&locations, machine, input, &mut own_files, &mut findings);
    let effective_cert = effective_pip_cert(&chain, machine);
    let pip = pip_info(
        input,
        site.as_deref(),
        effective_cert.as_ref(),
        &mut findings,
    );
    if let Some((cert, from)) = &effective_cert {
        findings.extend(env_overrides_pip_cert(machine, cert, from));
    }

    let condarc = condarc_chain(machine, input, &mut own_files, &mut findings);
    let ssl_verify = effective_ssl_verify(&condarc, machine);
    let conda_version = input.conda_version.clone();
    if let Some((v, from)) = &ssl_verify {
        let proxy = condarc_proxy(&condarc);
        findings.extend(truststore_findings(
            v,
            from,
            input.python.as_ref(),
            conda_version.as_deref(),
            proxy.as_deref(),
        ));
    }
    findings.extend(ca_bundles::check(input, site.as_deref()));

    (
        TlsReport {
            pip,
            conda_version,
            conda_ssl_verify: ssl_verify.as_ref().map(|(v, _)| redact_credentials(v)),
            conda_ssl_verify_from: ssl_verify.map(|(_, f)| f),
            config_files: own_files,
        },
        findings,
    )
}

/// pip's files for this prefix: global, user, site, `PIP_CONFIG_FILE`, lowest first.
fn pip_chain(
    locations: &ConfigLocations,
    machine: &MachineConfig,
    input: &PrefixTlsInput<'_>,
    own_files: &mut Vec<ConfigFile>,
    findings: &mut Vec<Finding>,
) -> Vec<ConfigFile> {
    let mut chain: Vec<ConfigFile> = machine.pip_chain.clone();
    if machine.pip_disabled_by_devnull {
        return chain;
    }
    let site = ConfigLocations::pip_site(input.prefix, input.layout);
    if let Some(f) = pip_files::load(&site, ConfigRole::PipSite, findings) {
        own_files.push(f.clone());
        chain.push(f);
    }
    if let Some(p) = locations.pip_env_file() {
        if let Some(f) = pip_files::load(p, ConfigRole::PipEnvFile, findings) {
            chain.push(f);
        }
    }
    chain
}

/// The `cert` pip uses and where it is set: the last file that sets it, then `PIP_CERT`.
fn effective_pip_cert(chain: &[ConfigFile], machine: &MachineConfig) -> Option<(String, String)> {
    let mut effective = None;
    for f in chain {
        for s in f.settings.iter().filter(|s| {
            s.key == "global.cert" || s.key == "install.cert" || s.key == "download.cert"
        }) {
            effective = Some((s.raw.clone(), format!("{} line {}", f.path, s.line)));
        }
    }
    if let Some(e) = machine.environment.iter().find(|e| e.name == "PIP_CERT") {
        effective = Some((e.raw.clone(), format!("PIP_CERT ({})", e.source)));
    }
    effective
}

fn pip_info(
    input: &PrefixTlsInput<'_>,
    site: Option<&Path>,
    effective_cert: Option<&(String, String)>,
    findings: &mut Vec<Finding>,
) -> Option<PipInfo> {
    let site = site?;
    let version = pip_version(input.meta, site)?;
    let trust = trust_mode(&Version::parse(&version), input.python.as_ref());
    findings.extend(vendored::check(input, site, &version));
    Some(PipInfo {
        version,
        trust,
        effective_cert: effective_cert.map(|(c, _)| redact_credentials(c)),
        effective_cert_from: effective_cert.map(|(_, f)| f.clone()),
    })
}

/// T041: a variable naming another file than pip's `cert` changes what pip trusts.
fn env_overrides_pip_cert(machine: &MachineConfig, cert: &str, from: &str) -> Vec<Finding> {
    let same_file = |a: &str, b: &str| {
        let canon = |p: &str| dunce::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p));
        canon(a) == canon(b)
    };
    machine
        .environment
        .iter()
        .filter(|e| OVERRIDES_PIP_CERT.contains(&e.name.as_str()) && !same_file(&e.raw, cert))
        .map(|e| {
            Finding::new(Code::T041, format!("{} is set ({}) and silently wins over pip's `cert = {}` ({from}): requests merges it into every request", e.name, e.source, redact_credentials(cert)))
                .evidence("variable", &e.name)
                .evidence("value", &e.value)
                .evidence("pip_cert", redact_credentials(cert))
                .fix(format!("remove {} or point it at the same bundle (`condafix config --fix-env`)", e.name))
        })
        .collect()
}

/// conda's files for this prefix, in its search order: the machine's, then `$CONDA_ROOT`
/// (the base) and `$CONDA_PREFIX` (an env), then `$CONDARC`.
fn condarc_chain(
    machine: &MachineConfig,
    input: &PrefixTlsInput<'_>,
    own_files: &mut Vec<ConfigFile>,
    findings: &mut Vec<Finding>,
) -> Vec<ConfigFile> {
    let mut chain: Vec<ConfigFile> = machine.condarc_user.clone();
    let mut roots: Vec<(ConfigRole, PathBuf)> = Vec::new();
    if let Some(base) = input.base {
        roots.push((ConfigRole::CondarcRoot, base.to_path_buf()));
    }
    if input.base != Some(input.prefix) {
        roots.push((ConfigRole::CondarcPrefix, input.prefix.to_path_buf()));
    }
    for (role, dir) in roots {
        condarc::misnamed(&dir, findings);
        for f in ConfigLocations::condarc_files(role, &dir) {
            if let Some(cf) = condarc::load(&f, role, findings) {
                own_files.push(cf.clone());
                chain.push(cf);
            }
        }
    }
    chain.sort_by_key(|f| f.role.condarc_rank());
    chain
}

/// `ssl_verify` as conda applies it, and where it is set: the last file, then
/// `CONDA_SSL_VERIFY`.
fn effective_ssl_verify(chain: &[ConfigFile], machine: &MachineConfig) -> Option<(String, String)> {
    let mut effective = None;
    for f in chain {
        for s in f.settings.iter().filter(|s| s.key == "ssl_verify") {
            effective = Some((s.raw.clone(), format!("{} line {}", f.path, s.line)));
        }
    }
    if let Some(e) = machine
        .environment
        .iter()
        .find(|e| e.name == "CONDA_SSL_VERIFY")
    {
        effective = Some((e.raw.clone(), format!("CONDA_SSL_VERIFY ({})", e.source)));
    }
    effective
}

/// Where the last `proxy_servers` entry is set.
fn condarc_proxy(chain: &[ConfigFile]) -> Option<String> {
    chain
        .iter()
        .flat_map(|f| {
            f.settings
                .iter()
                .filter(|s| s.key.starts_with("proxy_servers."))
                .map(move |s| format!("{} line {}", f.path, s.line))
        })
        .last()
}

/// T022/T023: `ssl_verify: truststore` where conda or Python cannot apply it.
fn truststore_findings(
    ssl_verify: &str,
    from: &str,
    python: Option<&Version>,
    conda_version: Option<&str>,
    proxy: Option<&str>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if !ssl_verify.trim().eq_ignore_ascii_case("truststore") {
        return out;
    }
    let old_python = python.is_some_and(|p| !p.at_least("3.10"));
    let old_conda = conda_version.is_some_and(|c| !Version::parse(c).at_least("23.9"));
    if old_python || old_conda {
        out.push(
            Finding::new(Code::T022, format!("`ssl_verify: truststore` ({from}) needs conda >= 23.9 on Python >= 3.10; this prefix has {}{}", python.map(|p| format!("Python {p}")).unwrap_or_default(), conda_version.map(|c| format!(", conda {c}")).unwrap_or_default()))
                .evidence("set_in", from)
                .fix("use `ssl_verify: <bundle>` instead (`condafix config --ca-file` builds one)"),
        );
    }
    let pre_proxy_fix = conda_version.is_none_or(|c| !Version::parse(c).at_least("26.7"));
    if let (Some(p), true) = (proxy, pre_proxy_fix) {
        out.push(
            Finding::new(Code::T023, format!("`ssl_verify: truststore` ({from}) is not applied through the proxy configured at {p} before conda 26.7: requests through it use certifi"))
                .evidence("set_in", from)
                .fix("use `ssl_verify: <bundle>` while a proxy is configured (`condafix config --ca-file`)"),
        );
    }
    out
}

/// The pip version in a prefix: from its conda-meta record name, else its dist-info folder.
fn pip_version(meta: &CondaMeta, site: &Path) -> Option<String> {
    if let Some(e) = meta.find("pip") {
        return Some(e.version.clone());
    }
    let rd = fs_err::read_dir(site).ok()?;
    rd.flatten().find_map(|e| {
        let n = e.file_name().to_string_lossy().into_owned();
        n.strip_prefix("pip-")
            .and_then(|r| r.strip_suffix(".dist-info"))
            .map(str::to_string)
    })
}

fn trust_mode(pip: &Version, python: Option<&Version>) -> TrustMode {
    let Some(py) = python else {
        return TrustMode::Unknown;
    };
    if !py.at_least("3.10") {
        return TrustMode::CertifiOnly;
    }
    if pip.at_least("24.2") {
        TrustMode::TruststoreDefault
    } else if pip.at_least("22.2") {
        TrustMode::TruststoreOptIn
    } else {
        TrustMode::CertifiOnly
    }
}
