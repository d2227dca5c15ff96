//! Findings: a stable code, a severity, the evidence and the fix. Codes never change meaning;
//! the README lists them like a linter's rules.

use serde::Serialize;

use crate::LaunchContext;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// Every finding detection can report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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
    /// The recorded copy in `Library\bin` does not match its conda record.
    D030,
    /// A file the openssl record lists is missing from the prefix.
    D031,
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
    /// Not a Windows-layout prefix: the DLL checks do not apply.
    D080,
    /// No Python in this prefix.
    D081,
}

impl Code {
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
            Code::D030 => "dll-record-mismatch",
            Code::D031 => "dll-missing-from-prefix",
            Code::D040 => "dll-wrong-machine",
            Code::D041 => "dll-damaged",
            Code::D050 => "openssl-unverifiable",
            Code::D060 => "loader-finds-library-bin",
            Code::D061 => "reachable-only-through-path",
            Code::D062 => "openssl-linked-statically",
            Code::D070 => "build-mode-unknown",
            Code::D080 => "not-windows-layout",
            Code::D081 => "no-python",
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
            | Code::D040
            | Code::D041 => Severity::Error,
            Code::D003 | Code::D021 | Code::D022 | Code::D050 | Code::D070 => Severity::Warning,
            Code::D060 | Code::D061 | Code::D062 | Code::D080 | Code::D081 => Severity::Info,
        }
    }

    pub const ALL: [Code; 18] = [
        Code::D001,
        Code::D002,
        Code::D003,
        Code::D010,
        Code::D020,
        Code::D021,
        Code::D022,
        Code::D030,
        Code::D031,
        Code::D040,
        Code::D041,
        Code::D050,
        Code::D060,
        Code::D061,
        Code::D062,
        Code::D070,
        Code::D080,
        Code::D081,
    ];
}

/// One finding about one prefix.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub code: Code,
    pub name: &'static str,
    pub severity: Severity,
    /// One sentence a non-expert can act on.
    pub message: String,
    /// The file the finding is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The launch contexts it applies to, when it depends on them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contexts: Vec<LaunchContext>,
    /// Paths, hashes, versions: what the finding rests on.
    pub evidence: serde_json::Map<String, serde_json::Value>,
    /// What fixes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            name: code.name(),
            severity: code.severity(),
            message: message.into(),
            path: None,
            contexts: Vec::new(),
            evidence: serde_json::Map::new(),
            fix: None,
        }
    }

    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
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
}
