//! Findings: a stable code, a severity, the evidence and the fix. Codes never change meaning;
//! the README lists them like a linter's rules.

use serde::Serialize;

use crate::LaunchContext;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// Which findings make a command exit 1 (`--fail-on`): errors only (the default), or warnings
/// too. `check`, `detect`, `post-install`'s verdict and the fleet scripts share it, so they
/// agree on what "compliant" is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    #[default]
    Error,
    Warning,
}

impl FailOn {
    /// Whether a finding of this severity fails.
    pub fn fails(self, severity: Severity) -> bool {
        match self {
            FailOn::Error => severity == Severity::Error,
            FailOn::Warning => severity >= Severity::Warning,
        }
    }
}

/// Every finding detection can report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub enum Code {
    /// `DLLs\_ssl.pyd` is missing.
    D001,
    /// `DLLs\_ssl.pyd` is not a usable PE image.
    D002,
    /// `DLLs\_hashlib.pyd` is missing or damaged.
    D003,
    /// A needed DLL is not found in a launch context (families A and C).
    D010,
    /// A different copy of a needed DLL is found first (family B).
    D020,
    /// A copy in `DLLs\` or the prefix root that no conda record owns and whose bytes are not
    /// the recorded ones, or that no module needs any more (families B and C leftovers).
    D021,
    /// An untracked copy with the recorded bytes: works today, goes stale at the next update.
    D022,
    /// condafix's own verified copy (in its receipt): healthy.
    D023,
    /// The recorded copy in `Library\bin` does not match its conda record.
    D030,
    /// A file the openssl record lists is missing from the prefix.
    D031,
    /// A record lists a path that leaves the prefix: refused.
    D032,
    /// The copy the loader would take is built for another CPU.
    D040,
    /// The copy the loader would take is not a usable PE image.
    D041,
    /// No openssl record: the DLLs cannot be verified.
    D050,
    /// Healthy: this build finds `Library\bin` by itself.
    D060,
    /// Healthy, but only because the prefix's folders are on PATH.
    D061,
    /// Healthy: OpenSSL is linked into `_ssl.pyd`.
    D062,
    /// The Python build could not be placed; the loader model is a guess.
    D070,
    /// `python3X.dll` and the record's table place the build in different eras: the binary wins.
    D071,
    /// `python3X.dll` could not be read: the era comes from the record's table.
    D072,
    /// A venv made from an early default-mode build looks for the conda folders beside its own
    /// `Scripts\python.exe`, and misses `Library\bin`.
    D073,
    /// `CONDA_DLL_SEARCH_MODIFICATION_ENABLE` is set: what it does to this build.
    D074,
    /// A venv whose `home =` cannot be followed: its interpreter is gone or unreadable.
    D075,
    /// Not a Windows-layout prefix: the DLL checks do not apply.
    D080,
    /// No Python in this prefix.
    D081,
    /// condafix could not read this install (a malformed, oversized or special file, a refused
    /// input): it is skipped, and every other install is still worked.
    D090,
    /// `import ssl` failed in the real interpreter for another reason (the exception is given).
    V001,
    /// pip's HTTPS request failed certificate verification (family D).
    V030,
    /// pip's HTTPS request failed at the proxy.
    V031,
    /// pip's HTTPS request failed to resolve the host.
    V032,
    /// pip's HTTPS request timed out.
    V033,
    /// pip's HTTPS request failed otherwise (the error is given).
    V034,
    /// the interpreter did not finish in time and was killed with its children.
    V040,
    /// the interpreter could not be started, or printed no result.
    V041,
    /// Verification skipped: condafix runs elevated and someone else may write to the files the
    /// interpreter would run; the verdict rests on detection.
    V042,
    /// detection's prediction differs from what the interpreter did: the loader model is wrong for this build.
    V090,
    /// `environments.txt` names a folder that is gone or not a conda prefix.
    P001,
    /// A registry entry (PEP 514 or Uninstall) names an install folder that is gone.
    P002,
    /// pip's `trusted-host` turns certificate checks off for the hosts it names.
    T001,
    /// pip's `cert` points at a file that does not exist.
    T002,
    /// pip's `cert` points at a file with no PEM certificate.
    T003,
    /// a pip config file starts with a UTF-8 BOM: pip fails to read it.
    T004,
    /// a pip config file is saved as UTF-16: pip cannot read it.
    T005,
    /// a key or section appears twice in a pip config file: pip errors out.
    T006,
    /// a pip config file is not valid INI.
    T007,
    /// `PIP_TRUSTED_HOST` is set.
    T008,
    /// A pip or conda config file is a link: condafix does not read or write through links.
    T009,
    /// `ssl_verify: false` in a `.condarc`.
    T020,
    /// `ssl_verify` points at a file that does not exist.
    T021,
    /// `ssl_verify: truststore` on Python < 3.10 or conda < 23.9.
    T022,
    /// `ssl_verify: truststore` with a proxy on conda < 26.7.
    T023,
    /// a `.condarc` saved with a BOM or CRLF line endings.
    T024,
    /// a `.condarc.txt` that conda never reads.
    T025,
    /// a `.condarc` that is not valid YAML.
    T026,
    /// a pip or conda config file could not be checked (too large, a FIFO or device, unreadable):
    /// pip or conda may read settings from it that turn TLS off.
    T027,
    /// a proxy is configured (credentials redacted).
    T030,
    /// a CA variable (`SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`, ...) points at a missing file.
    T040,
    /// `REQUESTS_CA_BUNDLE`/`CURL_CA_BUNDLE` silently win over pip's `cert`.
    T041,
    /// `CONDA_SSL_VERIFY=false`.
    T042,
    /// pip's vendored TLS code does not match its RECORD.
    T050,
    /// pip has no RECORD to verify its vendored TLS code against.
    T051,
    /// the prefix's CA bundle (`Library\ssl\cacert.pem`, certifi) is missing or empty.
    T060,
}

impl std::fmt::Display for Code {
    /// `D010`: the code as the README lists it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// What a finding is about: the letter of its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// D: the OpenSSL DLLs and the loader (what `stage` fixes).
    Dll,
    /// V: what the real interpreter did (`verify`).
    Verify,
    /// P: discovery leftovers (stale registry or environments.txt entries).
    Discovery,
    /// T: TLS configuration (what `config` fixes).
    Tls,
}

impl Code {
    pub fn family(self) -> Family {
        use Code::*;
        match self {
            D001 | D002 | D003 | D010 | D020 | D021 | D022 | D023 | D030 | D031 | D032 | D040
            | D041 | D050 | D060 | D061 | D062 | D070 | D071 | D072 | D073 | D074 | D075 | D080
            | D081 | D090 => Family::Dll,
            V001 | V030 | V031 | V032 | V033 | V034 | V040 | V041 | V042 | V090 => Family::Verify,
            P001 | P002 => Family::Discovery,
            T001 | T002 | T003 | T004 | T005 | T006 | T007 | T008 | T009 | T020 | T021 | T022
            | T023 | T024 | T025 | T026 | T027 | T030 | T040 | T041 | T042 | T050 | T051 | T060 => {
                Family::Tls
            }
        }
    }

    /// The rule's name, stable like the code.
    pub fn name(self) -> &'static str {
        match self {
            Code::D001 => "ssl-module-missing",
            Code::D002 => "ssl-module-damaged",
            Code::D003 => "hashlib-module-unusable",
            Code::D010 => "dll-not-found",
            Code::D020 => "dll-shadowed",
            Code::D021 => "stale-copy",
            Code::D022 => "untracked-copy",
            Code::D023 => "staged-copy",
            Code::D030 => "dll-record-mismatch",
            Code::D031 => "dll-missing-from-prefix",
            Code::D032 => "record-path-refused",
            Code::D040 => "dll-wrong-machine",
            Code::D041 => "dll-damaged",
            Code::D050 => "openssl-unverifiable",
            Code::D060 => "loader-finds-library-bin",
            Code::D061 => "reachable-only-through-path",
            Code::D062 => "openssl-linked-statically",
            Code::D070 => "build-mode-unknown",
            Code::D071 => "binary-disagrees-with-record",
            Code::D072 => "python-dll-unreadable",
            Code::D073 => "venv-misses-library-bin",
            Code::D074 => "dll-search-modification-set",
            Code::D075 => "venv-home-unusable",
            Code::D080 => "not-windows-layout",
            Code::D081 => "no-python",
            Code::D090 => "install-unreadable",
            Code::V001 => "ssl-import-failed",
            Code::V030 => "https-certificate-verify-failed",
            Code::V031 => "https-proxy-error",
            Code::V032 => "https-dns-error",
            Code::V033 => "https-timeout",
            Code::V034 => "https-failed",
            Code::V040 => "interpreter-timed-out",
            Code::V041 => "interpreter-did-not-run",
            Code::V042 => "verify-skipped-elevated",
            Code::V090 => "prediction-mismatch",
            Code::P001 => "stale-environments-entry",
            Code::P002 => "stale-registry-entry",
            Code::T001 => "pip-trusted-host",
            Code::T002 => "pip-cert-missing",
            Code::T003 => "pip-cert-not-pem",
            Code::T004 => "pip-config-bom",
            Code::T005 => "pip-config-utf16",
            Code::T006 => "pip-config-duplicate",
            Code::T007 => "pip-config-unparsable",
            Code::T008 => "pip-env-trusted-host",
            Code::T009 => "config-file-is-link",
            Code::T020 => "conda-ssl-verify-false",
            Code::T021 => "conda-ssl-verify-missing",
            Code::T022 => "conda-truststore-unsupported",
            Code::T023 => "conda-truststore-with-proxy",
            Code::T024 => "condarc-bom-crlf",
            Code::T025 => "condarc-misnamed",
            Code::T026 => "condarc-unparsable",
            Code::T027 => "config-file-unchecked",
            Code::T030 => "proxy-configured",
            Code::T040 => "ca-env-missing",
            Code::T041 => "ca-env-overrides-pip-cert",
            Code::T042 => "conda-ssl-verify-env-false",
            Code::T050 => "pip-vendored-tls-altered",
            Code::T051 => "pip-vendored-unverifiable",
            Code::T060 => "ca-bundle-missing",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Code::D001
            | Code::D002
            | Code::D010
            | Code::D020
            | Code::D030
            | Code::D031
            | Code::D032
            | Code::D040
            | Code::D041
            | Code::D090 => Severity::Error,
            Code::D003
            | Code::D021
            | Code::D022
            | Code::D050
            | Code::D070
            | Code::D073
            | Code::D075 => Severity::Warning,
            Code::D071 | Code::D072 | Code::D074 => Severity::Info,
            Code::V001 => Severity::Error,
            Code::V030 => Severity::Error,
            Code::V031 => Severity::Error,
            Code::V032 => Severity::Error,
            Code::V033 => Severity::Error,
            Code::V034 => Severity::Error,
            Code::V040 => Severity::Error,
            Code::V041 => Severity::Error,
            Code::V042 => Severity::Info,
            Code::V090 => Severity::Warning,
            Code::P001 | Code::P002 => Severity::Info,
            Code::T001 => Severity::Warning,
            Code::T002 => Severity::Error,
            Code::T003 => Severity::Error,
            Code::T004 => Severity::Error,
            Code::T005 => Severity::Error,
            Code::T006 => Severity::Error,
            Code::T007 => Severity::Error,
            Code::T008 => Severity::Warning,
            Code::T009 => Severity::Info,
            Code::T020 => Severity::Warning,
            Code::T021 => Severity::Error,
            Code::T022 => Severity::Error,
            Code::T023 => Severity::Warning,
            Code::T024 => Severity::Info,
            Code::T025 => Severity::Warning,
            Code::T026 => Severity::Error,
            Code::T027 => Severity::Error,
            Code::T030 => Severity::Info,
            Code::T040 => Severity::Error,
            Code::T041 => Severity::Warning,
            Code::T042 => Severity::Warning,
            Code::T050 => Severity::Error,
            Code::T051 => Severity::Info,
            Code::T060 => Severity::Warning,
            Code::D023 | Code::D060 | Code::D061 | Code::D062 | Code::D080 | Code::D081 => {
                Severity::Info
            }
        }
    }

    pub const ALL: [Code; 62] = [
        Code::V001,
        Code::V030,
        Code::V031,
        Code::V032,
        Code::V033,
        Code::V034,
        Code::V040,
        Code::V041,
        Code::V042,
        Code::V090,
        Code::D001,
        Code::D002,
        Code::D003,
        Code::D010,
        Code::D020,
        Code::D021,
        Code::D022,
        Code::D023,
        Code::D030,
        Code::D031,
        Code::D032,
        Code::D040,
        Code::D041,
        Code::D050,
        Code::D060,
        Code::D061,
        Code::D062,
        Code::D070,
        Code::D071,
        Code::D072,
        Code::D073,
        Code::D074,
        Code::D075,
        Code::D080,
        Code::D081,
        Code::D090,
        Code::P001,
        Code::P002,
        Code::T001,
        Code::T002,
        Code::T003,
        Code::T004,
        Code::T005,
        Code::T006,
        Code::T007,
        Code::T008,
        Code::T009,
        Code::T020,
        Code::T021,
        Code::T022,
        Code::T023,
        Code::T024,
        Code::T025,
        Code::T026,
        Code::T027,
        Code::T030,
        Code::T040,
        Code::T041,
        Code::T042,
        Code::T050,
        Code::T051,
        Code::T060,
    ];
}

/// One finding about one prefix.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Finding {
    pub code: Code,
    pub name: &'static str,
    pub severity: Severity,
    /// One sentence a non-expert can act on.
    pub message: String,
    /// The file the finding is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The 1-based line in that file, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The launch contexts it applies to, when it depends on them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contexts: Vec<LaunchContext>,
    /// Paths, hashes, versions: what the finding rests on.
    pub evidence: serde_json::Map<String, serde_json::Value>,
    /// What fixes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The fix as data, for the crate that applies it.
    #[serde(skip)]
    pub remedy: Option<Remedy>,
}

/// What fixes a finding, as data another crate acts on (`fix` says it in words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// Restore one of pip's files (`rel` inside site-packages, at `path`) from a copy whose
    /// hash is `expected` (pip's RECORD, else conda's record).
    RestorePipFile {
        path: std::path::PathBuf,
        rel: String,
        expected: Option<condafix_prefix::Sha256>,
    },
}

impl Finding {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            name: code.name(),
            severity: code.severity(),
            message: message.into(),
            path: None,
            line: None,
            contexts: Vec::new(),
            evidence: serde_json::Map::new(),
            fix: None,
            remedy: None,
        }
    }

    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    pub fn contexts(mut self, contexts: Vec<LaunchContext>) -> Self {
        self.contexts = contexts;
        self
    }

    pub fn evidence(mut self, key: &str, value: impl Serialize) -> Self {
        self.evidence.insert(
            key.to_string(),
            serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
        );
        self
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    pub fn remedy(mut self, remedy: Remedy) -> Self {
        self.remedy = Some(remedy);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_codes_family_is_the_letter_of_its_code() {
        for code in Code::ALL {
            let letter = format!("{code:?}").chars().next().unwrap();
            let want = match letter {
                'D' => Family::Dll,
                'V' => Family::Verify,
                'P' => Family::Discovery,
                'T' => Family::Tls,
                other => panic!("unexpected letter {other}"),
            };
            assert_eq!(code.family(), want, "{code:?}");
        }
    }
}
