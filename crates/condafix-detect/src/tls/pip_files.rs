//! pip's config files: read the way pip's configparser reads them, with findings for what pip
//! cannot parse (BOM, UTF-16, duplicates, text before a section) and for insecure or dangling
//! settings (`trusted-host`, a `cert` that is missing or not PEM).

use std::path::Path;

use condafix_prefix::ini::{parse_ini, IniError, IniFile};
use condafix_prefix::text::{decode_text, TextEncoding};

use super::{ConfigFile, ConfigSetting};
use crate::display_path;
use crate::locations::ConfigRole;
use crate::redact::redact_credentials;
use crate::{Code, Finding};

/// Read a pip config file: its settings and the findings about it. `None` when it is absent.
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
    let mut unreadable = None;
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
        TextEncoding::Binary => {
            findings.push(
                Finding::new(Code::T007, format!("{shown} holds NUL bytes (it is not text): pip cannot read it"))
                    .path(shown.clone())
                    .fix("fix the file by hand: pip stops with an error while it is like this"),
            );
            unreadable = Some("it holds NUL bytes".to_string());
        }
        _ => {}
    }
    let ini = parse_ini(&decoded.text);
    if let Some(e) = ini.errors.first() {
        unreadable.get_or_insert_with(|| e.to_string());
    }
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
    let settings = settings(&ini);
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
    ConfigFile {
        path: shown,
        role,
        encoding: decoded.encoding,
        line_ending: decoded.line_ending,
        settings,
        unreadable,
    }
}

fn settings(ini: &IniFile) -> Vec<ConfigSetting> {
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
    // The head is enough to tell PEM; a huge file costs nothing.
    let mut head = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(fs_err::File::open(path).ok()?, 1 << 20),
        &mut head,
    )
    .ok()?;
    let text = String::from_utf8_lossy(&head);
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Some(
            Finding::new(Code::T003, format!("pip's `cert` points at {}, which holds no PEM certificate (a DER .cer file, or the wrong file)", path.display()))
                .fix("convert it to PEM, or let `condafix config --ca-file` build a bundle from it"),
        );
    }
    None
}
