//! condafix's own `--json` documents, of every command and every version since schema 2: only
//! the fields the fleet needs are read (the rest is skipped without being kept), and fields
//! that later versions added are optional.

use jiff::Timestamp;
use serde::de::{IgnoredAny, MapAccess};
use serde::Deserialize;

use super::sink::Sink;
use crate::error::Problem;
use crate::model::{
    tidy_codes, DeviceReport, Era, Install, Observation, Source, UserScope, Verdict,
};

/// What a surrounding format knows about a document inside it (Ansible's host name).
#[derive(Debug, Clone, Default)]
pub struct Hint {
    pub host: Option<String>,
    pub time: Option<Timestamp>,
    pub source: Option<Source>,
    /// Appended to the input's name in the observation's origin (`#task 3`).
    pub origin: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FindingLite {
    pub code: Option<String>,
    pub severity: Option<String>,
    pub fix: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PythonLite {
    pub version: Option<String>,
    pub build: Option<String>,
    pub era: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VersionLite {
    pub version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LaunchLite {
    pub openssl_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VerifyLite {
    pub unactivated: Option<LaunchLite>,
}

/// One element of `prefixes`, whichever command wrote it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PrefixLite {
    pub prefix: Option<String>,
    /// post-install.
    pub verdict: Option<String>,
    /// detect, verify.
    pub healthy: Option<bool>,
    pub findings: Option<Vec<FindingLite>>,
    pub findings_after: Option<Vec<FindingLite>>,
    /// detect.
    pub python: Option<PythonLite>,
    pub openssl: Option<VersionLite>,
    /// post-install (and its newer fields).
    pub openssl_version: Option<String>,
    pub python_version: Option<String>,
    pub python_build: Option<String>,
    pub era: Option<String>,
    /// detect and post-install: `just-me`/`all-users`; audit uses the name for something else.
    pub scope: Option<serde_json::Value>,
    pub reason: Option<String>,
    pub next_step: Option<String>,
    /// verify.
    pub unactivated: Option<LaunchLite>,
    /// post-install's verify.
    pub verify: Option<VerifyLite>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConfigLite {
    pub findings: Option<Vec<FindingLite>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UserLite {
    pub config: Option<ConfigLite>,
}

/// The fields of a condafix document the fleet needs.
#[derive(Debug, Default)]
pub struct DocLite {
    pub schema_version: Option<u64>,
    pub condafix_version: Option<String>,
    pub host: Option<String>,
    pub time: Option<String>,
    pub prefixes: Option<Vec<PrefixLite>>,
    pub machine: Option<ConfigLite>,
    pub users: Option<Vec<UserLite>>,
    /// post-install's exit code: marks a post-install document, even one with no prefix.
    pub exit_code: Option<i64>,
}

impl DocLite {
    /// Read `key`'s value into the document when it is one of its fields (`key` lower-case).
    pub fn take<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<bool, A::Error> {
        match key {
            "schema_version" => self.schema_version = map.next_value()?,
            "condafix_version" => self.condafix_version = map.next_value()?,
            "host" => self.host = map.next_value()?,
            "time" => self.time = map.next_value()?,
            "prefixes" => self.prefixes = map.next_value()?,
            "machine" => self.machine = map.next_value()?,
            "users" => self.users = map.next_value()?,
            "exit_code" => self.exit_code = map.next_value()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Whether this is a condafix document at all.
    pub fn is_condafix(&self) -> bool {
        self.schema_version.is_some() && self.condafix_version.is_some()
    }
}

impl<'de> Deserialize<'de> for DocLite {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = DocLite;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a condafix --json document")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DocLite, A::Error> {
                let mut doc = DocLite::default();
                while let Some(key) = map.next_key::<String>()? {
                    if !doc.take(&key.to_ascii_lowercase(), &mut map)? {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(doc)
            }
        }
        d.deserialize_map(V)
    }
}

fn counts(severity: Option<&str>) -> bool {
    matches!(severity, Some("error" | "warning"))
}

/// Error and warning codes of these findings, with their fix texts.
fn codes_of(
    findings: &[FindingLite],
    fixes: &mut Vec<(String, String)>,
    redact: &super::sink::Redact,
) -> Vec<String> {
    let mut codes = Vec::new();
    for f in findings {
        let (Some(code), true) = (&f.code, counts(f.severity.as_deref())) else {
            continue;
        };
        codes.push(code.clone());
        if let Some(fix) = &f.fix {
            fixes.push((code.clone(), redact(fix)));
        }
    }
    tidy_codes(&mut codes);
    codes
}

fn has_error(findings: &[FindingLite]) -> bool {
    findings
        .iter()
        .any(|f| f.severity.as_deref() == Some("error"))
}

/// A `--report-dir` file name, `<host>-<20250102T030405Z>[-N].json`: the host and the time.
pub fn host_and_time_from_name(name: &str) -> (String, Option<Timestamp>) {
    let file = name
        .rsplit(['/', '\\', '!'])
        .next()
        .unwrap_or(name)
        .to_string();
    let stem = match file.rsplit_once('.') {
        Some((s, _)) if !s.is_empty() => s.to_string(),
        _ => file,
    };
    let mut parts: Vec<&str> = stem.split('-').collect();
    if parts.len() >= 3
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        let n = parts.len();
        if crate::time::parse_compact(parts[n - 2]).is_some() {
            parts.pop();
        }
    }
    if parts.len() >= 2 {
        if let Some(t) = parts.last().and_then(|p| crate::time::parse_compact(p)) {
            parts.pop();
            return (parts.join("-"), Some(t));
        }
    }
    (stem, None)
}

/// One install from one element of `prefixes`; `None` when the element does not judge (a
/// stage plan, an undo result, an audit).
fn install(
    p: &PrefixLite,
    fixes: &mut Vec<(String, String)>,
    redact: &super::sink::Redact,
) -> Option<Install> {
    let (verdict, said, codes) = if let Some(word) = &p.verdict {
        let (v, said) = Verdict::from_post_install(word)?;
        let codes = codes_of(
            p.findings_after.as_deref().unwrap_or_default(),
            fixes,
            redact,
        );
        (v, said.map(str::to_string), codes)
    } else if let Some(healthy) = p.healthy {
        let findings = p.findings.as_deref().unwrap_or_default();
        let codes = codes_of(findings, fixes, redact);
        let v = if p.unactivated.is_some() {
            // verify: what the interpreter did.
            if healthy {
                Verdict::Healthy
            } else {
                Verdict::StillBroken
            }
        } else if p.python.is_none() {
            // detect (and check): no Python, nothing to judge.
            Verdict::Skipped
        } else if has_error(findings) {
            // An error finding fails, as `check` judges by default.
            Verdict::StillBroken
        } else {
            Verdict::Healthy
        };
        (v, None, codes)
    } else {
        return None;
    };
    let python = p.python.as_ref();
    let scope = p
        .scope
        .as_ref()
        .and_then(|v| v.as_str())
        .and_then(UserScope::from_word);
    Some(Install {
        prefix: p.prefix.as_deref().map(redact),
        verdict,
        said,
        reason: p.reason.as_deref().map(redact),
        next_step: p.next_step.as_deref().map(redact),
        era: p
            .era
            .as_deref()
            .or(python.and_then(|py| py.era.as_deref()))
            .and_then(Era::from_detect),
        python: p
            .python_version
            .clone()
            .or_else(|| python.and_then(|py| py.version.clone())),
        python_build: p
            .python_build
            .clone()
            .or_else(|| python.and_then(|py| py.build.clone())),
        openssl: p
            .openssl_version
            .clone()
            .or_else(|| {
                p.verify
                    .as_ref()
                    .and_then(|v| v.unactivated.as_ref())
                    .and_then(|l| l.openssl_version.clone())
            })
            .or_else(|| {
                p.unactivated
                    .as_ref()
                    .and_then(|l| l.openssl_version.clone())
            })
            .or_else(|| p.openssl.as_ref().and_then(|o| o.version.clone())),
        scope,
        codes,
    })
}

/// The observation a condafix document makes, or why it cannot be used.
pub fn observation(doc: DocLite, sink: &mut Sink<'_>, hint: &Hint) -> Result<Observation, Problem> {
    let version = doc.schema_version.unwrap_or(0);
    if version < 2 {
        return Err(Problem::OldSchema(version));
    }
    let redact = sink.redact;
    let (name_host, name_time) = host_and_time_from_name(&sink.name);
    let host = match doc.host.clone().or_else(|| hint.host.clone()) {
        Some(h) if !h.trim().is_empty() => h,
        _ => {
            sink.note(None, &Problem::NoHost(redact(&name_host)));
            name_host
        }
    };
    let mut time = None;
    if let Some(t) = &doc.time {
        time = crate::time::parse(t);
        if time.is_none() {
            sink.note(None, &Problem::BadTime(redact(t)));
        }
    }
    let time = time.or(hint.time).or(name_time).or(sink.mtime);
    let mut fixes = Vec::new();
    let installs: Vec<Install> = doc
        .prefixes
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|p| install(p, &mut fixes, redact))
        .collect();
    // detect has `machine`, post-install `exit_code` (also when it found nothing); stage,
    // config, undo and audit judge no install.
    let judges = !installs.is_empty() || doc.machine.is_some() || doc.exit_code.is_some();
    let mut config_codes = Vec::new();
    let config = doc
        .machine
        .iter()
        .chain(doc.users.iter().flatten().filter_map(|u| u.config.as_ref()));
    for c in config {
        let findings = c.findings.as_deref().unwrap_or_default();
        config_codes.extend(
            findings
                .iter()
                .filter(|f| f.severity.as_deref() == Some("error"))
                .filter_map(|f| f.code.clone()),
        );
        codes_of(findings, &mut fixes, redact);
    }
    tidy_codes(&mut config_codes);
    let seq = sink.next_seq();
    let mut origin = sink.name.clone();
    if let Some(o) = &hint.origin {
        origin.push_str(o);
    }
    Ok(Observation {
        host: redact(host.trim()),
        time,
        source: hint.source.unwrap_or(Source::Condafix),
        origin: redact(&origin),
        order: (sink.name.clone(), seq),
        condafix_version: doc.condafix_version,
        state: judges.then_some(DeviceReport {
            installs,
            config_codes,
            no_result: None,
        }),
        fixes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_dir_file_name_gives_its_host_and_time() {
        let (h, t) = host_and_time_from_name("share/PC-0042-20250102T030405Z.json");
        assert_eq!(h, "PC-0042");
        assert_eq!(t, Some("2025-01-02T03:04:05Z".parse().unwrap()));
        let (h, t) = host_and_time_from_name("a.zip!dir/LAB-PC-20250102T030405Z-2.json");
        assert_eq!(h, "LAB-PC");
        assert!(t.is_some());
        let (h, t) = host_and_time_from_name(r"C:\reports\whatever.json");
        assert_eq!(h, "whatever");
        assert_eq!(t, None);
    }
}
