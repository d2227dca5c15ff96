//! The TLS-configuration half of detection: pip's config files in precedence order, the
//! `.condarc` search path, TLS environment variables, pip's vendored TLS code against its
//! RECORD, CA bundles, and which trust mechanism the prefix's pip uses (DOMAIN.md section 5).

use std::path::{Path, PathBuf};

use condafix_prefix::ini::{parse_ini, IniError, IniFile};
use condafix_prefix::text::{decode_text, LineEnding, TextEncoding};
use condafix_prefix::{join_rel, CondaMeta, Layout, PipRecord, PrefixRecord, Sha256, Version};
use serde::Serialize;

use crate::discover::HostInfo;
use crate::redact::redact_credentials;
use crate::report::display_path;
use crate::tls_env::{env_findings, read_tls_env, EnvSetting, OVERRIDES_PIP_CERT};
use crate::{Code, Finding};

/// One setting read from a config file (values with credentials redacted).
#[derive(Debug, Clone, Serialize)]
pub struct ConfigSetting {
    /// `global.cert` for pip, `ssl_verify` or `proxy_servers.https` for conda.
    pub key: String,
    pub value: String,
    pub line: usize,
    #[serde(skip)]
    raw: String,
}

/// A config file condafix read (or looked for).
#[derive(Debug, Clone, Serialize)]
pub struct ConfigFile {
    pub path: String,
    /// `pip-global`, `pip-user-legacy`, `pip-user`, `pip-site`, `pip-env-file`, `condarc-*`.
    pub role: String,
    pub encoding: TextEncoding,
    pub line_ending: LineEnding,
    pub settings: Vec<ConfigSetting>,
}

/// How pip in this prefix decides which certificates to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

#[derive(Debug, Clone, Serialize)]
pub struct PipInfo {
    pub version: String,
    pub trust: TrustMode,
    /// The `cert` pip will use and where it is set (highest precedence wins).
    pub effective_cert: Option<String>,
    pub effective_cert_from: Option<String>,
}

/// The prefix's TLS configuration.
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Default, Serialize)]
pub struct MachineConfig {
    pub config_files: Vec<ConfigFile>,
    pub environment: Vec<EnvSetting>,
    pub findings: Vec<Finding>,
    #[serde(skip)]
    pip_chain: Vec<ConfigFile>,
    #[serde(skip)]
    pip_disabled_by_devnull: bool,
    #[serde(skip)]
    condarc_user: Vec<(usize, ConfigFile)>,
}

fn var(host: &HostInfo<'_>, name: &str) -> Option<PathBuf> {
    host.env
        .var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// pip's config files that do not depend on the prefix, lowest precedence first, with roles.
fn pip_machine_locations(host: &HostInfo<'_>, layout: Layout) -> Vec<(&'static str, PathBuf)> {
    let mut out = Vec::new();
    let home = host.home();
    match layout {
        Layout::Windows => {
            if let Some(pd) = var(host, "PROGRAMDATA") {
                out.push(("pip-global", pd.join("pip").join("pip.ini")));
            }
            if let Some(h) = &home {
                out.push(("pip-user-legacy", h.join("pip").join("pip.ini")));
            }
            if let Some(ad) = var(host, "APPDATA") {
                out.push(("pip-user", ad.join("pip").join("pip.ini")));
            }
        }
        Layout::Unix => {
            out.push((
                "pip-global",
                host.etc_dir.join("xdg").join("pip").join("pip.conf"),
            ));
            out.push(("pip-global", host.etc_dir.join("pip.conf")));
            if let Some(h) = &home {
                out.push(("pip-user-legacy", h.join(".pip").join("pip.conf")));
                let xdg = var(host, "XDG_CONFIG_HOME").unwrap_or_else(|| h.join(".config"));
                out.push(("pip-user", xdg.join("pip").join("pip.conf")));
            }
        }
    }
    out
}

fn site_pip_file(prefix: &Path, layout: Layout) -> PathBuf {
    prefix.join(match layout {
        Layout::Windows => "pip.ini",
        Layout::Unix => "pip.conf",
    })
}

/// Read a pip config file: its settings and the findings about it.
fn load_pip_file(path: &Path, role: &str, findings: &mut Vec<Finding>) -> Option<ConfigFile> {
    let bytes = fs_err::read(path).ok()?;
    let decoded = decode_text(&bytes);
    let shown = display_path(path);
    match decoded.encoding {
        TextEncoding::Utf8Bom => findings.push(
            Finding::new(Code::T004, format!("{shown} starts with a UTF-8 byte-order mark (as PowerShell 5.1 writes it): pip reads the first line as garbage and reports no section headers"))
                .path(shown.clone())
                .line(1)
                .fix("save it as UTF-8 without BOM; `condafix config` rewrites it that way, keeping a backup"),
        ),
        TextEncoding::Utf16Le | TextEncoding::Utf16Be => findings.push(
            Finding::new(Code::T005, format!("{shown} is saved as UTF-16 (PowerShell 5 `Out-File` default): pip cannot read it at all"))
                .path(shown.clone())
                .fix("save it as UTF-8 without BOM; `condafix config` rewrites it that way, keeping a backup"),
        ),
        _ => {}
    }
    let ini = parse_ini(&decoded.text);
    for e in &ini.errors {
        let code = match e {
            IniError::DuplicateOption { .. } | IniError::DuplicateSection { .. } => Code::T006,
            _ => Code::T007,
        };
        findings.push(
            Finding::new(code, format!("{shown}: {e}"))
                .path(shown.clone())
                .line(e.line())
                .fix("fix the file by hand: pip stops with an error while it is like this"),
        );
    }
    let settings = pip_settings(&ini);
    for s in settings.iter().filter(|s| s.key.ends_with(".trusted-host")) {
        let hosts: Vec<&str> = s.raw.split_whitespace().collect();
        findings.push(
            Finding::new(Code::T001, format!("{shown} line {}: `trusted-host` turns certificate checks off for {}", s.line, hosts.join(", ")))
                .path(shown.clone())
                .line(s.line)
                .evidence("hosts", &hosts)
                .fix("remove it (`condafix config --remove-insecure`) and give pip the corporate CA instead (`condafix config --ca-file corp.pem`)"),
        );
    }
    for s in settings.iter().filter(|s| s.key.ends_with(".cert")) {
        if let Some(f) = cert_problem(Path::new(&s.raw)) {
            findings.push(
                f.path(shown.clone())
                    .line(s.line)
                    .evidence("cert", &s.value)
                    .evidence("setting", &s.key),
            );
        }
    }
    Some(ConfigFile {
        path: shown,
        role: role.to_string(),
        encoding: decoded.encoding,
        line_ending: decoded.line_ending,
        settings,
    })
}

fn pip_settings(ini: &IniFile) -> Vec<ConfigSetting> {
    ini.sections
        .iter()
        .flat_map(|s| {
            s.entries.iter().map(move |e| ConfigSetting {
                key: format!("{}.{}", s.name, e.key),
                value: redact_credentials(&e.value),
                line: e.line,
                raw: e.value.clone(),
            })
        })
        .collect()
}

/// A `cert` that pip cannot use: missing, or not PEM.
fn cert_problem(path: &Path) -> Option<Finding> {
    if !path.is_file() {
        return Some(
            Finding::new(Code::T002, format!("pip's `cert` points at {}, which does not exist: every HTTPS request fails", path.display()))
                .fix("point `cert` at an existing PEM bundle (`condafix config --ca-file` builds one), or remove it"),
        );
    }
    let head = fs_err::read(path).ok()?;
    let text = String::from_utf8_lossy(&head[..head.len().min(1 << 20)]);
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Some(
            Finding::new(Code::T003, format!("pip's `cert` points at {}, which holds no PEM certificate (a DER .cer file, or the wrong file)", path.display()))
                .fix("convert it to PEM, or let `condafix config --ca-file` build a bundle from it"),
        );
    }
    None
}

/// `.condarc` locations that do not depend on the prefix, lowest precedence first, each with
/// its rank in the full search order.
fn condarc_machine_locations(host: &HostInfo<'_>) -> Vec<(usize, &'static str, PathBuf)> {
    let mut out = Vec::new();
    if host.windows {
        if let Some(pd) = var(host, "PROGRAMDATA") {
            out.push((0, "condarc-system", pd.join("conda")));
        }
    } else {
        out.push((0, "condarc-system", host.etc_dir.join("conda")));
    }
    if let Some(x) = var(host, "XDG_CONFIG_HOME") {
        out.push((2, "condarc-xdg", x.join("conda")));
    }
    if let Some(h) = host.home() {
        out.push((3, "condarc-user-config", h.join(".config").join("conda")));
        out.push((4, "condarc-user-conda", h.join(".conda")));
        out.push((5, "condarc-user", h.clone()));
    }
    out
}

/// The files a `.condarc` location stands for: `.condarc`, `condarc`, `condarc.d/*.yml|yaml`
/// in a folder (the home folder: `.condarc` only).
fn condarc_files(role: &str, dir: &Path) -> Vec<PathBuf> {
    if role == "condarc-user" {
        return vec![dir.join(".condarc")];
    }
    let mut v = vec![dir.join(".condarc"), dir.join("condarc")];
    if let Ok(rd) = fs_err::read_dir(dir.join("condarc.d")) {
        let mut d: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
            .collect();
        d.sort();
        v.extend(d);
    }
    v
}

fn misnamed_condarc(dir: &Path, findings: &mut Vec<Finding>) {
    let Ok(rd) = fs_err::read_dir(dir) else {
        return;
    };
    let mut names: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names {
        let l = n.to_lowercase();
        if l == ".condarc.txt"
            || l == "condarc.txt"
            || l == ".condarc.yml.txt"
            || l == ".condarc.yaml"
        {
            let p = display_path(&dir.join(&n));
            findings.push(
                Finding::new(Code::T025, format!("{p} is named like a .condarc but conda never reads a file of that name (Notepad adds .txt)"))
                    .path(p)
                    .fix("rename it to .condarc (without extension)"),
            );
        }
    }
}

fn load_condarc(path: &Path, role: &str, findings: &mut Vec<Finding>) -> Option<ConfigFile> {
    let bytes = fs_err::read(path).ok()?;
    let decoded = decode_text(&bytes);
    let shown = display_path(path);
    if decoded.encoding == TextEncoding::Utf8Bom || decoded.line_ending == LineEnding::Crlf {
        findings.push(
            Finding::new(Code::T024, format!("{shown} is saved with {} (PowerShell 5.1 `Out-File`); conda reads it, other tools may not", match (decoded.encoding == TextEncoding::Utf8Bom, decoded.line_ending == LineEnding::Crlf) {
                (true, true) => "a UTF-8 byte-order mark and CRLF line endings",
                (true, false) => "a UTF-8 byte-order mark",
                _ => "CRLF line endings",
            }))
            .path(shown.clone()),
        );
    }
    let text = decoded.text.trim_start_matches('\u{feff}');
    let mut settings = Vec::new();
    match yaml_rust2::YamlLoader::load_from_str(text) {
        Err(e) => findings.push(
            Finding::new(Code::T026, format!("{shown} is not valid YAML: {e}"))
                .path(shown.clone())
                .line(e.marker().line())
                .fix("fix the YAML by hand: conda stops with an error while it is like this"),
        ),
        Ok(docs) => {
            if let Some(doc) = docs.first() {
                let line_of = |key: &str, indented: bool| {
                    text.lines()
                        .position(|l| {
                            let t = if indented { l.trim_start() } else { l };
                            t.strip_prefix(key)
                                .is_some_and(|r| r.trim_start().starts_with(':'))
                        })
                        .map(|i| i + 1)
                        .unwrap_or(0)
                };
                let sv = &doc["ssl_verify"];
                let ssl_verify = match sv {
                    yaml_rust2::Yaml::Boolean(b) => Some(b.to_string()),
                    yaml_rust2::Yaml::String(s) => Some(s.clone()),
                    _ => None,
                };
                if let Some(v) = ssl_verify {
                    settings.push(ConfigSetting {
                        key: "ssl_verify".into(),
                        value: redact_credentials(&v),
                        line: line_of("ssl_verify", false),
                        raw: v,
                    });
                }
                if let yaml_rust2::Yaml::Hash(h) = &doc["proxy_servers"] {
                    for (k, v) in h {
                        if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
                            settings.push(ConfigSetting {
                                key: format!("proxy_servers.{k}"),
                                value: redact_credentials(v),
                                line: line_of(k, true),
                                raw: v.to_string(),
                            });
                        }
                    }
                }
            }
        }
    }
    for s in &settings {
        if s.key == "ssl_verify" {
            let v = s.raw.trim().to_lowercase();
            if v == "false" {
                findings.push(
                    Finding::new(Code::T020, format!("{shown} line {}: `ssl_verify: false` turns conda's certificate checks off", s.line))
                        .path(shown.clone())
                        .line(s.line)
                        .fix("remove it (`condafix config --remove-insecure`) and let condafix configure truststore or a CA bundle"),
                );
            } else if v != "true" && v != "truststore" && !Path::new(&s.raw).exists() {
                findings.push(
                    Finding::new(Code::T021, format!("{shown} line {}: `ssl_verify` points at {}, which does not exist: conda fails on every request", s.line, s.value))
                        .path(shown.clone())
                        .line(s.line)
                        .fix("point it at an existing PEM bundle, or use `ssl_verify: truststore` (conda >= 23.9, Python >= 3.10)"),
                );
            }
        }
        if s.key.starts_with("proxy_servers.") {
            findings.push(
                Finding::new(
                    Code::T030,
                    format!("{shown} line {}: conda uses the proxy {}", s.line, s.value),
                )
                .path(shown.clone())
                .line(s.line)
                .evidence("proxy", &s.value),
            );
        }
    }
    Some(ConfigFile {
        path: shown,
        role: role.to_string(),
        encoding: decoded.encoding,
        line_ending: decoded.line_ending,
        settings,
    })
}

fn devnull(path: &Path) -> bool {
    let s = path.to_string_lossy().to_lowercase();
    s == "nul" || s == "/dev/null"
}

/// Read the machine-wide configuration once: pip's global and user files (for `layout`),
/// the user's `.condarc` files, TLS environment variables.
pub fn machine_config(host: &HostInfo<'_>, layout: Layout) -> MachineConfig {
    let mut m = MachineConfig::default();
    let mut findings = Vec::new();
    m.environment = read_tls_env(host.env, host.registry);
    findings.extend(env_findings(&m.environment));
    let env_file = var(host, "PIP_CONFIG_FILE");
    m.pip_disabled_by_devnull = env_file.as_deref().is_some_and(devnull);
    if !m.pip_disabled_by_devnull {
        let skip_user = env_file.as_ref().is_some_and(|p| p.exists());
        for (role, path) in pip_machine_locations(host, layout) {
            if skip_user && role.starts_with("pip-user") {
                continue;
            }
            if let Some(f) = load_pip_file(&path, role, &mut findings) {
                m.pip_chain.push(f);
            }
        }
    }
    for (rank, role, dir) in condarc_machine_locations(host) {
        misnamed_condarc(&dir, &mut findings);
        for f in condarc_files(role, &dir) {
            if let Some(cf) = load_condarc(&f, role, &mut findings) {
                m.condarc_user.push((rank, cf));
            }
        }
    }
    if let Some(condarc) = var(host, "CONDARC") {
        if let Some(cf) = load_condarc(&condarc, "condarc-env-var", &mut findings) {
            m.condarc_user.push((7, cf));
        }
    }
    m.config_files = m
        .pip_chain
        .iter()
        .cloned()
        .chain(m.condarc_user.iter().map(|(_, f)| f.clone()))
        .collect();
    m.findings = findings;
    m
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

/// Inputs for one prefix's TLS checks.
pub struct PrefixTlsInput<'a> {
    pub prefix: &'a Path,
    pub layout: Layout,
    pub meta: &'a CondaMeta,
    pub python: Option<Version>,
    /// The base install this prefix belongs to (itself for a base).
    pub base: Option<&'a Path>,
}

/// The prefix's TLS configuration and the findings about it.
pub fn prefix_tls(
    host: &HostInfo<'_>,
    machine: &MachineConfig,
    input: &PrefixTlsInput<'_>,
) -> (TlsReport, Vec<Finding>) {
    let mut findings = Vec::new();
    let mut own_files = Vec::new();
    let py_mm = input.python.as_ref().map(|v| v.major_minor());

    // pip: global, user, site, PIP_CONFIG_FILE, then PIP_CERT.
    let mut chain: Vec<ConfigFile> = machine.pip_chain.clone();
    if !machine.pip_disabled_by_devnull {
        if let Some(f) = load_pip_file(
            &site_pip_file(input.prefix, input.layout),
            "pip-site",
            &mut findings,
        ) {
            own_files.push(f.clone());
            chain.push(f);
        }
        if let Some(p) = var(host, "PIP_CONFIG_FILE") {
            if let Some(f) = load_pip_file(&p, "pip-env-file", &mut findings) {
                chain.push(f);
            }
        }
    }
    let mut effective_cert: Option<(String, String)> = None;
    for f in &chain {
        for s in f.settings.iter().filter(|s| {
            s.key == "global.cert" || s.key == "install.cert" || s.key == "download.cert"
        }) {
            effective_cert = Some((s.raw.clone(), format!("{} line {}", f.path, s.line)));
        }
    }
    if let Some(e) = machine.environment.iter().find(|e| e.name == "PIP_CERT") {
        effective_cert = Some((e.raw.clone(), format!("PIP_CERT ({})", e.source)));
    }
    let site = py_mm.map(|mm| join_rel(input.prefix, &input.layout.site_packages(mm)));
    let pip = match (
        &site,
        site.as_ref().and_then(|s| pip_version(input.meta, s)),
    ) {
        (Some(site), Some(version)) => {
            let v = Version::parse(&version);
            let trust = trust_mode(&v, input.python.as_ref());
            vendored_tls_check(input, site, &version, &mut findings);
            Some(PipInfo {
                version,
                trust,
                effective_cert: effective_cert.as_ref().map(|(c, _)| redact_credentials(c)),
                effective_cert_from: effective_cert.as_ref().map(|(_, f)| f.clone()),
            })
        }
        _ => None,
    };
    if let Some((cert, from)) = &effective_cert {
        // Only a variable naming another file than pip's `cert` changes what pip trusts.
        let same_file = |a: &str, b: &str| {
            let canon = |p: &str| dunce::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p));
            canon(a) == canon(b)
        };
        for e in machine
            .environment
            .iter()
            .filter(|e| OVERRIDES_PIP_CERT.contains(&e.name.as_str()) && !same_file(&e.raw, cert))
        {
            findings.push(
                Finding::new(Code::T041, format!("{} is set ({}) and silently wins over pip's `cert = {}` ({from}): requests merges it into every request", e.name, e.source, redact_credentials(cert)))
                    .evidence("variable", &e.name)
                    .evidence("value", &e.value)
                    .evidence("pip_cert", redact_credentials(cert))
                    .fix(format!("remove {} or point it at the same bundle (`condafix config --fix-env`)", e.name)),
            );
        }
    }

    // conda: machine files, then $CONDA_ROOT and $CONDA_PREFIX, then $CONDARC.
    let mut condarc: Vec<(usize, ConfigFile)> = machine.condarc_user.clone();
    let mut roots: Vec<(usize, &'static str, PathBuf)> = Vec::new();
    if let Some(base) = input.base {
        roots.push((1, "condarc-root", base.to_path_buf()));
    }
    if input.base != Some(input.prefix) {
        roots.push((6, "condarc-prefix", input.prefix.to_path_buf()));
    }
    for (rank, role, dir) in roots {
        misnamed_condarc(&dir, &mut findings);
        for f in condarc_files(role, &dir) {
            if let Some(cf) = load_condarc(&f, role, &mut findings) {
                own_files.push(cf.clone());
                condarc.push((rank, cf));
            }
        }
    }
    condarc.sort_by_key(|(r, _)| *r);
    let mut ssl_verify: Option<(String, String)> = None;
    let mut proxy: Option<String> = None;
    for (_, f) in &condarc {
        for s in &f.settings {
            if s.key == "ssl_verify" {
                ssl_verify = Some((s.raw.clone(), format!("{} line {}", f.path, s.line)));
            }
            if s.key.starts_with("proxy_servers.") {
                proxy = Some(format!("{} line {}", f.path, s.line));
            }
        }
    }
    if let Some(e) = machine
        .environment
        .iter()
        .find(|e| e.name == "CONDA_SSL_VERIFY")
    {
        ssl_verify = Some((e.raw.clone(), format!("CONDA_SSL_VERIFY ({})", e.source)));
    }
    let conda_version = conda_version(input);
    if let Some((v, from)) = &ssl_verify {
        if v.trim().eq_ignore_ascii_case("truststore") {
            let old_python = input.python.as_ref().is_some_and(|p| !p.at_least("3.10"));
            let old_conda = conda_version
                .as_ref()
                .is_some_and(|c| !Version::parse(c).at_least("23.9"));
            if old_python || old_conda {
                findings.push(
                    Finding::new(Code::T022, format!("`ssl_verify: truststore` ({from}) needs conda >= 23.9 on Python >= 3.10; this prefix has {}{}", input.python.as_ref().map(|p| format!("Python {p}")).unwrap_or_default(), conda_version.as_ref().map(|c| format!(", conda {c}")).unwrap_or_default()))
                        .evidence("set_in", from)
                        .fix("use `ssl_verify: <bundle>` instead (`condafix config --ca-file` builds one)"),
                );
            }
            let pre_proxy_fix = conda_version
                .as_ref()
                .is_none_or(|c| !Version::parse(c).at_least("26.7"));
            if let (Some(p), true) = (&proxy, pre_proxy_fix) {
                findings.push(
                    Finding::new(Code::T023, format!("`ssl_verify: truststore` ({from}) is not applied through the proxy configured at {p} before conda 26.7: requests through it use certifi"))
                        .evidence("set_in", from)
                        .fix("use `ssl_verify: <bundle>` while a proxy is configured (`condafix config --ca-file`)"),
                );
            }
        }
    }

    // CA bundles the prefix ships.
    if input.layout == Layout::Windows && input.meta.find("ca-certificates").is_some() {
        let bundle = join_rel(input.prefix, input.layout.ca_bundle());
        let empty = fs_err::metadata(&bundle)
            .map(|m| m.len() == 0)
            .unwrap_or(true);
        if empty {
            findings.push(
                Finding::new(Code::T060, format!("{} is missing or empty: activation points SSL_CERT_FILE at it, so OpenSSL-based tools fail", display_path(&bundle)))
                    .path(display_path(&bundle))
                    .fix("reinstall ca-certificates from the package cache: `conda install --offline --force-reinstall ca-certificates`"),
            );
        }
    }
    if let (Some(site), Some(_)) = (&site, input.meta.find("certifi")) {
        let bundle = site.join("certifi").join("cacert.pem");
        if fs_err::metadata(&bundle)
            .map(|m| m.len() == 0)
            .unwrap_or(true)
        {
            findings.push(
                Finding::new(Code::T060, format!("{} is missing or empty: requests and conda have no public roots", display_path(&bundle)))
                    .path(display_path(&bundle))
                    .fix("reinstall certifi from the package cache: `conda install --offline --force-reinstall certifi`"),
            );
        }
    }

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

fn conda_version(input: &PrefixTlsInput<'_>) -> Option<String> {
    if let Some(e) = input.meta.find("conda") {
        return Some(e.version.clone());
    }
    let base = input.base.filter(|b| *b != input.prefix)?;
    CondaMeta::scan(base)
        .ok()?
        .find("conda")
        .map(|e| e.version.clone())
}

/// The vendored files pip's TLS rests on, relative to site-packages.
fn is_vendored_tls_file(rel: &str) -> bool {
    rel == "pip/_vendor/requests/sessions.py"
        || rel == "pip/_vendor/requests/adapters.py"
        || rel == "pip/_vendor/certifi/cacert.pem"
        || rel == "pip/_vendor/certifi/core.py"
        || (rel.starts_with("pip/_vendor/urllib3/") && rel.ends_with(".py"))
        || (rel.starts_with("pip/_vendor/truststore/") && rel.ends_with(".py"))
}

/// Hash pip's vendored TLS code against pip's RECORD and, when pip came from conda, the conda
/// record: a mismatch is the `verify=False` edit, or worse.
fn vendored_tls_check(
    input: &PrefixTlsInput<'_>,
    site: &Path,
    version: &str,
    findings: &mut Vec<Finding>,
) {
    let record_path = site.join(format!("pip-{version}.dist-info")).join("RECORD");
    let record = match PipRecord::from_path(&record_path) {
        Ok(r) => r,
        Err(_) => {
            findings.push(
                Finding::new(Code::T051, format!("pip {version} has no readable RECORD ({}): its vendored TLS code cannot be verified", display_path(&record_path)))
                    .path(display_path(&record_path)),
            );
            return;
        }
    };
    let conda_rec: Option<PrefixRecord> = input.meta.load("pip").ok().flatten();
    let py = input.python.as_ref().map(|v| v.major_minor());
    let conda_map = conda_rec
        .as_ref()
        .map(|r| r.entries_by_installed_path(input.layout, py));
    let site_rel = py
        .map(|mm| input.layout.site_packages(mm))
        .unwrap_or_default();
    let mut altered = Vec::new();
    for entry in record
        .entries
        .iter()
        .filter(|e| is_vendored_tls_file(&e.path))
    {
        let file = join_rel(site, &entry.path);
        let actual = match Sha256::of_file(&file) {
            Ok((h, _)) => Some(h),
            Err(_) => None,
        };
        let in_record = entry.sha256;
        let in_conda = conda_map.as_ref().and_then(|m| {
            let key = format!("{site_rel}/{}", entry.path);
            let key = if input.layout == Layout::Windows {
                key.to_lowercase()
            } else {
                key
            };
            m.get(&key).and_then(|e| e.expected_sha256())
        });
        let mismatch = match actual {
            None => true,
            Some(a) => in_record.is_some_and(|r| r != a) || in_conda.is_some_and(|c| c != a),
        };
        if mismatch {
            altered.push((entry.path.clone(), file, in_record.or(in_conda), actual));
        }
    }
    for (rel, file, expected, actual) in altered {
        findings.push(
            Finding::new(Code::T050, format!("pip's vendored TLS code was altered: {rel} {} (the `verify=False` edit turns every certificate check off)", if actual.is_some() { "does not match pip's RECORD" } else { "is missing" }))
                .path(display_path(&file))
                .evidence("file", &rel)
                .evidence("expected_sha256", expected)
                .evidence("actual_sha256", actual)
                .fix("restore it: `condafix config --remove-insecure` takes the original from the package cache, or reinstall pip (`python -m pip install --force-reinstall pip` from an offline wheel)"),
        );
    }
}
