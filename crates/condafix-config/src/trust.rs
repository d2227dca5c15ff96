//! What pip and conda should trust, decided once for all targets.

use std::path::Path;

use condafix_detect::locations::{ConfigLocations, WriteScope};
use condafix_detect::tls::{MachineConfig, TrustMode};
use condafix_detect::PrefixReport;
use condafix_prefix::Version;

use crate::model::ConfigOptions;
use crate::ConfigError;

/// What pip and conda should trust, decided once for all targets.
pub(crate) struct Trust {
    /// A CA bundle was asked for (`--ca-file` or `--trust-system-store`).
    pub want_bundle: bool,
    /// pip needs `cert = <bundle>` (it does not use the OS store by itself, or more than the OS
    /// store is wanted).
    pub pip_needs_bundle: bool,
    /// conda needs `ssl_verify: <bundle>` (else `truststore` does).
    pub conda_needs_bundle: bool,
    /// Where the bundle is written, and as it is written into config files.
    pub bundle_path: std::path::PathBuf,
    pub bundle_str: String,
}

impl Trust {
    pub fn decide(
        report: &PrefixReport,
        machine: &MachineConfig,
        locations: &ConfigLocations,
        opts: &ConfigOptions,
        prefix: &Path,
    ) -> Result<Self, ConfigError> {
        let bundle_path = locations
            .ca_bundle_target(opts.scope, prefix)
            .ok_or_else(|| {
                ConfigError::Usage(match opts.scope {
                    WriteScope::Global => "--scope global needs PROGRAMDATA".into(),
                    _ => "--scope user needs LOCALAPPDATA (Windows) or HOME".into(),
                })
            })?;
        let tls = report.tls.as_ref();
        let py = report.python.as_ref().map(|p| Version::parse(&p.version));
        let want_bundle = !opts.ca_files.is_empty() || opts.trust_system_store;
        let only_system = opts.ca_files.is_empty() && opts.trust_system_store;
        let pip_uses_os_store = tls
            .and_then(|t| t.pip.as_ref())
            .is_some_and(|p| p.trust == TrustMode::TruststoreDefault);
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
        let conda_prefix = condafix_prefix::is_conda_prefix(prefix);
        Ok(Self {
            want_bundle,
            pip_needs_bundle: want_bundle && !(only_system && pip_uses_os_store),
            conda_needs_bundle: want_bundle
                && conda_prefix
                && !(only_system && conda_truststore_ok),
            bundle_str: dunce::simplified(&bundle_path).display().to_string(),
            bundle_path,
        })
    }
}
