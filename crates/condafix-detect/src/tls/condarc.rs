//! `.condarc` files: the settings that decide conda's TLS (`ssl_verify`, `proxy_servers`),
//! read from YAML as conda reads it, with findings for what conda cannot read or turns insecure.

use std::path::Path;

use condafix_prefix::text::{decode_text, LineEnding, TextEncoding};

use super::{ConfigFile, ConfigSetting};
use crate::display_path;
use crate::locations::ConfigRole;
use crate::redact::redact_credentials;
use crate::{Code, Finding};

/// T025: files named like a `.condarc` that conda never reads.
pub(super) fn misnamed(dir: &Path, findings: &mut Vec<Finding>) {
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

/// Read a `.condarc`: `ssl_verify` and `proxy_servers`, with findings. `None` when it is absent.
pub(super) fn load(
    path: &Path,
    role: ConfigRole,
    findings: &mut Vec<Finding>,
) -> Option<ConfigFile> {
    let bytes = super::read_config_file(path, findings)?;
    Some(parse(&bytes, path, role, findings))
}

/// Read the bytes of a file found at `path` (shown in findings; not read again).
pub(super) fn parse(
    bytes: &[u8],
    path: &Path,
    role: ConfigRole,
    findings: &mut Vec<Finding>,
) -> ConfigFile {
    let decoded = decode_text(bytes);
    let shown = display_path(path);
    if decoded.encoding == TextEncoding::Binary {
        findings.push(
            Finding::new(
                Code::T026,
                format!("{shown} holds NUL bytes (it is not text): conda cannot read it"),
            )
            .path(shown.clone())
            .fix("fix the file by hand: conda stops with an error while it is like this"),
        );
        return ConfigFile {
            path: shown,
            role,
            encoding: decoded.encoding,
            line_ending: decoded.line_ending,
            settings: Vec::new(),
            unreadable: Some("it holds NUL bytes".into()),
        };
    }
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
    let (settings, unreadable) = match yaml_rust2::YamlLoader::load_from_str(text) {
        Err(e) => {
            findings.push(
                Finding::new(Code::T026, format!("{shown} is not valid YAML: {e}"))
                    .path(shown.clone())
                    .line(e.marker().line())
                    .fix("fix the YAML by hand: conda stops with an error while it is like this"),
            );
            (Vec::new(), Some(format!("it is not valid YAML: {e}")))
        }
        Ok(docs) => (
            docs.first()
                .map(|d| settings_of(d, text))
                .unwrap_or_default(),
            None,
        ),
    };
    findings.extend(settings.iter().filter_map(|s| setting_finding(s, &shown)));
    ConfigFile {
        path: shown,
        role,
        encoding: decoded.encoding,
        line_ending: decoded.line_ending,
        settings,
        unreadable,
    }
}

/// The 1-based line where `key:` is written (indented for a nested key), 0 when not found.
fn line_of(text: &str, key: &str, indented: bool) -> usize {
    text.lines()
        .position(|l| {
            let t = if indented { l.trim_start() } else { l };
            t.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
        .unwrap_or(0)
}

/// `ssl_verify` and `proxy_servers.*` of a parsed `.condarc`, credentials redacted for show.
fn settings_of(doc: &yaml_rust2::Yaml, text: &str) -> Vec<ConfigSetting> {
    let mut settings = Vec::new();
    let ssl_verify = match &doc["ssl_verify"] {
        yaml_rust2::Yaml::Boolean(b) => Some(b.to_string()),
        yaml_rust2::Yaml::String(s) => Some(s.clone()),
        _ => None,
    };
    if let Some(v) = ssl_verify {
        settings.push(ConfigSetting {
            key: "ssl_verify".into(),
            value: redact_credentials(&v),
            line: line_of(text, "ssl_verify", false),
            raw: v,
        });
    }
    if let yaml_rust2::Yaml::Hash(h) = &doc["proxy_servers"] {
        for (k, v) in h {
            if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
                settings.push(ConfigSetting {
                    key: format!("proxy_servers.{k}"),
                    value: redact_credentials(v),
                    line: line_of(text, k, true),
                    raw: v.to_string(),
                });
            }
        }
    }
    settings
}

/// T020/T021 for `ssl_verify`, T030 for a proxy.
fn setting_finding(s: &ConfigSetting, shown: &str) -> Option<Finding> {
    if s.key.starts_with("proxy_servers.") {
        return Some(
            Finding::new(
                Code::T030,
                format!("{shown} line {}: conda uses the proxy {}", s.line, s.value),
            )
            .path(shown.to_string())
            .line(s.line)
            .evidence("proxy", &s.value),
        );
    }
    if s.key != "ssl_verify" {
        return None;
    }
    let v = s.raw.trim().to_lowercase();
    if v == "false" {
        Some(
            Finding::new(Code::T020, format!("{shown} line {}: `ssl_verify: false` turns conda's certificate checks off", s.line))
                .path(shown.to_string())
                .line(s.line)
                .fix("remove it (`condafix config --remove-insecure`) and let condafix configure truststore or a CA bundle"),
        )
    } else if v != "true" && v != "truststore" && !Path::new(&s.raw).exists() {
        Some(
            Finding::new(Code::T021, format!("{shown} line {}: `ssl_verify` points at {}, which does not exist: conda fails on every request", s.line, s.value))
                .path(shown.to_string())
                .line(s.line)
                .fix("point it at an existing PEM bundle, or use `ssl_verify: truststore` (conda >= 23.9, Python >= 3.10)"),
        )
    } else {
        None
    }
}
