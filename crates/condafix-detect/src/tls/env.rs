//! TLS-related environment variables, from the process and (on Windows) the user and machine
//! environment in the registry, each with where it came from.

use std::path::Path;

use serde::Serialize;

use crate::redact::redact_credentials;
use crate::registry::{Hive, RegValue, Registry, MACHINE_ENVIRONMENT_KEY, USER_ENVIRONMENT_KEY};
use crate::{expand_env_strings, Code, EnvSource, Finding};

/// Variables that point at CA files.
pub const CA_FILE_VARS: [&str; 4] = [
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "PIP_CERT",
];
/// Variables that point at CA folders.
pub const CA_DIR_VARS: [&str; 1] = ["SSL_CERT_DIR"];
/// Variables that win over pip's `cert` (requests merges them into every request).
pub const OVERRIDES_PIP_CERT: [&str; 2] = ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"];
/// Proxy variables (reported with credentials redacted).
pub const PROXY_VARS: [&str; 4] = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"];
/// Every variable read here.
pub const TLS_VARS: [&str; 12] = [
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "PIP_CERT",
    "PIP_TRUSTED_HOST",
    "PIP_CONFIG_FILE",
    "CONDA_SSL_VERIFY",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
];

/// Where a variable is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvOrigin {
    /// This process's environment (a shell, a parent program, a CI step).
    Process,
    /// The user (`HKCU\Environment`) or machine environment in the registry: what new
    /// processes get.
    Registry(Hive),
}

impl EnvOrigin {
    /// The registry key of a registry origin.
    pub fn key(self) -> Option<&'static str> {
        match self {
            EnvOrigin::Process => None,
            EnvOrigin::Registry(Hive::CurrentUser | Hive::Users) => Some(USER_ENVIRONMENT_KEY),
            EnvOrigin::Registry(Hive::LocalMachine) => Some(MACHINE_ENVIRONMENT_KEY),
        }
    }
}

impl std::fmt::Display for EnvOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self, self.key()) {
            (EnvOrigin::Registry(hive), Some(key)) => write!(f, "{}\\{key}", hive.short()),
            _ => f.write_str("process"),
        }
    }
}

impl Serialize for EnvOrigin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl schemars::JsonSchema for EnvOrigin {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EnvOrigin".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "`process`, or the registry key of the user or machine environment (`HKCU\\Environment`)."
        })
    }
}

/// One variable, where it is set, and its value (credentials redacted).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EnvSetting {
    pub name: String,
    pub source: EnvOrigin,
    pub value: String,
    #[serde(skip)]
    pub raw: String,
}

/// Read every TLS variable from the process, then from the user and machine environment in
/// the registry (what new processes get).
pub fn read_tls_env(env: &dyn EnvSource, registry: &dyn Registry) -> Vec<EnvSetting> {
    let mut out = Vec::new();
    for name in TLS_VARS {
        let lower = name.to_lowercase();
        let value = env.var_os(name).or_else(|| {
            if name.ends_with("_PROXY") {
                env.var_os(&lower)
            } else {
                None
            }
        });
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            let raw = v.to_string_lossy().into_owned();
            out.push(EnvSetting {
                name: name.to_string(),
                source: EnvOrigin::Process,
                value: redact_credentials(&raw),
                raw,
            });
        }
        for (hive, key) in [
            (Hive::CurrentUser, USER_ENVIRONMENT_KEY),
            (Hive::LocalMachine, MACHINE_ENVIRONMENT_KEY),
        ] {
            let Ok(Some(value)) = registry.value(hive, key, name) else {
                continue;
            };
            let raw = match &value {
                RegValue::ExpandSz(s) => expand_env_strings(s, env),
                RegValue::Sz(s) => s.clone(),
                _ => continue,
            };
            if raw.is_empty() {
                continue;
            }
            out.push(EnvSetting {
                name: name.to_string(),
                source: EnvOrigin::Registry(hive),
                value: redact_credentials(&raw),
                raw,
            });
        }
    }
    out
}

/// Findings about the variables themselves (machine-wide).
pub fn env_findings(settings: &[EnvSetting]) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in settings {
        let where_ = match s.source {
            EnvOrigin::Process => "in this process's environment".to_string(),
            EnvOrigin::Registry(_) => format!("in {}", s.source),
        };
        let name = s.name.as_str();
        if CA_FILE_VARS.contains(&name) && !Path::new(&s.raw).is_file() {
            out.push(
                Finding::new(Code::T040, format!("{name} ({where_}) points at {}, which does not exist: pip, requests and conda fail on every HTTPS request", s.value))
                    .evidence("variable", name)
                    .evidence("source", s.source)
                    .evidence("value", &s.value)
                    .fix(format!("remove {name} (`condafix config --fix-env`), or point it at an existing PEM bundle")),
            );
        }
        if CA_DIR_VARS.contains(&name) && !Path::new(&s.raw).is_dir() {
            out.push(
                Finding::new(
                    Code::T040,
                    format!(
                        "{name} ({where_}) points at {}, which is not a folder",
                        s.value
                    ),
                )
                .evidence("variable", name)
                .evidence("source", s.source)
                .evidence("value", &s.value)
                .fix(format!(
                    "remove {name}, or point it at an existing certificate folder"
                )),
            );
        }
        if name == "PIP_TRUSTED_HOST" {
            out.push(
                Finding::new(Code::T008, format!("PIP_TRUSTED_HOST ({where_}) turns certificate checks off for: {}", s.value))
                    .evidence("variable", name)
                    .evidence("source", s.source)
                    .evidence("hosts", s.value.split_whitespace().collect::<Vec<_>>())
                    .fix("remove it (`condafix config --remove-insecure`) and give pip the corporate CA instead (`condafix config --ca-file`)"),
            );
        }
        if name == "CONDA_SSL_VERIFY" {
            let v = s.raw.trim().to_lowercase();
            if ["false", "0", "no", "off"].contains(&v.as_str()) {
                out.push(
                    Finding::new(
                        Code::T042,
                        format!(
                            "CONDA_SSL_VERIFY={} ({where_}) turns conda's certificate checks off",
                            s.value
                        ),
                    )
                    .evidence("source", s.source)
                    .fix("remove it and let condafix configure a CA bundle or truststore"),
                );
            } else if !["true", "1", "yes", "on", "truststore"].contains(&v.as_str())
                && !Path::new(&s.raw).exists()
            {
                out.push(
                    Finding::new(
                        Code::T040,
                        format!(
                            "CONDA_SSL_VERIFY ({where_}) points at {}, which does not exist",
                            s.value
                        ),
                    )
                    .evidence("variable", name)
                    .evidence("source", s.source)
                    .evidence("value", &s.value)
                    .fix("remove it, or point it at an existing PEM bundle"),
                );
            }
        }
        if PROXY_VARS.contains(&name) {
            out.push(
                Finding::new(Code::T030, format!("{name} is set {where_}: {}", s.value))
                    .evidence("variable", name)
                    .evidence("source", s.source)
                    .evidence("value", &s.value),
            );
        }
    }
    out
}
