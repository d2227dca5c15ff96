//! Format-preserving edits of pip's INI files and conda's `.condarc`: every other line, comment,
//! section order and line ending stays as it was. A UTF-8 BOM or UTF-16 file is rewritten as
//! UTF-8 without BOM (pip misreads those anyway), with a note. Files pip or conda could not
//! parse are refused, untouched.

use condafix_prefix::ini::parse_ini;
use condafix_prefix::text::{decode_text, LineEnding, TextEncoding};

/// The result of an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub text: String,
    pub changed: bool,
    pub notes: Vec<String>,
}

/// Why a file is not edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

struct Lines {
    lines: Vec<String>,
    eol: &'static str,
    notes: Vec<String>,
    original: String,
    reencoded: bool,
}

fn lines_of(original: Option<&[u8]>) -> Lines {
    let Some(bytes) = original else {
        return Lines {
            lines: Vec::new(),
            eol: if cfg!(windows) { "\r\n" } else { "\n" },
            notes: Vec::new(),
            original: String::new(),
            reencoded: false,
        };
    };
    let d = decode_text(bytes);
    let mut notes = Vec::new();
    let reencoded = matches!(
        d.encoding,
        TextEncoding::Utf8Bom | TextEncoding::Utf16Le | TextEncoding::Utf16Be
    );
    if reencoded {
        notes.push(format!(
            "the file was saved as {}; it is rewritten as UTF-8 without BOM (pip and conda misread the original; the original is backed up)",
            match d.encoding {
                TextEncoding::Utf8Bom => "UTF-8 with a byte-order mark",
                _ => "UTF-16",
            }
        ));
    }
    let crlf =
        d.line_ending == LineEnding::Crlf || (d.line_ending == LineEnding::None && cfg!(windows));
    let eol = if crlf { "\r\n" } else { "\n" };
    let text = d.text.trim_start_matches('\u{feff}').to_string();
    let lines = text.split_inclusive('\n').map(str::to_string).collect();
    Lines {
        lines,
        eol,
        notes,
        original: text,
        reencoded,
    }
}

fn finish(l: Lines, out: Vec<String>) -> Edited {
    let text: String = out.concat();
    let changed = text != l.original || l.reencoded;
    Edited {
        text,
        changed,
        notes: if changed { l.notes } else { Vec::new() },
    }
}

/// An edit is only handed out when pip can read its result (a file pip could read going in
/// always gives one; this is the guard for the inputs nobody foresaw, found by fuzzing).
fn checked_ini(e: Edited) -> Result<Edited, Refusal> {
    match parse_ini(&e.text).errors.first() {
        None => Ok(e),
        Some(err) => Err(Refusal(format!(
            "condafix cannot edit it safely (the result would not be valid: {err}); edit it by hand"
        ))),
    }
}

/// The same for a `.condarc`: the result must be one YAML mapping.
fn checked_condarc(e: Edited) -> Result<Edited, Refusal> {
    match yaml_rust2::YamlLoader::load_from_str(&e.text).as_deref() {
        Ok([] | [yaml_rust2::Yaml::Hash(_)] | [yaml_rust2::Yaml::Null]) => Ok(e),
        _ => Err(Refusal(
            "condafix cannot edit it safely (the result would not be valid YAML); edit it by hand"
                .into(),
        )),
    }
}

/// An INI edit: keys to set per section, keys to remove everywhere, hosts to add to
/// `trusted-host`.
#[derive(Debug, Clone, Default)]
pub struct IniEdit {
    pub set: Vec<(String, String, String)>,
    pub remove: Vec<String>,
}

/// Edit a pip config file (`None`: it does not exist yet).
pub fn edit_ini(original: Option<&[u8]>, edit: &IniEdit) -> Result<Edited, Refusal> {
    if original.is_some_and(|b| decode_text(b).encoding == TextEncoding::Binary) {
        return Err(Refusal(
            "it holds NUL bytes (it is not text), so pip could not read it either".into(),
        ));
    }
    let l = lines_of(original);
    let ini = parse_ini(&l.original);
    if let Some(e) = ini.errors.first() {
        return Err(Refusal(format!("pip could not read it either: {e}")));
    }
    let eol = l.eol;
    // Per original line: replaced by these lines (empty: deleted), and lines inserted after it.
    let mut replace: Vec<Option<Vec<String>>> = vec![None; l.lines.len()];
    let mut after: Vec<Vec<String>> = vec![Vec::new(); l.lines.len()];
    let mut needs_append = false;
    for s in &ini.sections {
        for e in s.entries.iter().filter(|e| edit.remove.contains(&e.key)) {
            for r in replace.iter_mut().take(e.end_line).skip(e.line - 1) {
                *r = Some(Vec::new());
            }
        }
    }
    for (section, key, value) in &edit.set {
        let new_line = format!("{key} = {value}{eol}");
        let existing = ini
            .sections
            .iter()
            .filter(|s| &s.name == section)
            .flat_map(|s| s.entries.iter())
            .find(|e| &e.key == key);
        if let Some(e) = existing {
            replace[e.line - 1] = Some(vec![new_line]);
            for r in replace.iter_mut().take(e.end_line).skip(e.line) {
                *r = Some(Vec::new());
            }
            continue;
        }
        if let Some(s) = ini.sections.iter().find(|s| &s.name == section) {
            // After the section's last non-blank line.
            let last = s.entries.iter().map(|e| e.end_line).max().unwrap_or(s.line);
            let at = last - 1;
            if !l.lines[at].ends_with('\n') {
                l_fix_newline(&mut replace, &l.lines, at, eol);
            }
            after[at].push(new_line);
        } else {
            needs_append = true;
        }
    }
    let mut out: Vec<String> = Vec::new();
    for (i, line) in l.lines.iter().enumerate() {
        match &replace[i] {
            Some(r) => out.extend(r.iter().cloned()),
            None => out.push(line.clone()),
        }
        out.extend(after[i].iter().cloned());
    }
    if needs_append {
        if let Some(last) = out.last_mut() {
            if !last.ends_with('\n') {
                last.push_str(eol);
            }
        }
        if !out.is_empty() && out.last().is_some_and(|l| !l.trim().is_empty()) {
            out.push(eol.to_string());
        }
        // Several new sections: each header once.
        let mut current: Option<String> = None;
        for (section, key, value) in &edit.set {
            if ini.sections.iter().any(|s| &s.name == section) {
                continue;
            }
            if current.as_deref() != Some(section) {
                out.push(format!("[{section}]{eol}"));
                current = Some(section.clone());
            }
            out.push(format!("{key} = {value}{eol}"));
        }
    }
    checked_ini(finish(l, out))
}

fn l_fix_newline(replace: &mut [Option<Vec<String>>], lines: &[String], at: usize, eol: &str) {
    let base = replace[at]
        .clone()
        .unwrap_or_else(|| vec![lines[at].clone()]);
    let fixed = base
        .into_iter()
        .map(|mut s| {
            if !s.ends_with('\n') {
                s.push_str(eol);
            }
            s
        })
        .collect();
    replace[at] = Some(fixed);
}

/// A top-level `.condarc` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YamlValue {
    Scalar(String),
    Map(Vec<(String, String)>),
}

/// Quote a scalar for YAML when it needs it (paths with `\`, `:`, `#`...).
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && !["true", "false", "yes", "no", "null", "on", "off"]
            .contains(&s.to_lowercase().as_str());
    if plain || s == "truststore" || s == "true" || s == "false" {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// Edit top-level keys of a `.condarc`: set (replacing the key's whole block) or remove keys
/// whose scalar value is one of `remove_if` (e.g. `ssl_verify: false`).
pub fn edit_condarc(
    original: Option<&[u8]>,
    set: &[(String, YamlValue)],
    remove_if: &[(String, String)],
) -> Result<Edited, Refusal> {
    let l = lines_of(original);
    if original.is_some_and(|b| decode_text(b).encoding == TextEncoding::Binary) {
        return Err(Refusal(
            "it holds NUL bytes (it is not text), so conda could not read it either".into(),
        ));
    }
    check_one_mapping(&l.original)?;
    let eol = l.eol;
    let blocks = top_level_blocks(&l.lines);
    let render = |key: &str, v: &YamlValue| -> Vec<String> {
        match v {
            YamlValue::Scalar(s) => vec![format!("{key}: {}{eol}", yaml_scalar(s))],
            YamlValue::Map(m) => std::iter::once(format!("{key}:{eol}"))
                .chain(
                    m.iter()
                        .map(|(k, v)| format!("  {k}: {}{eol}", yaml_scalar(v))),
                )
                .collect(),
        }
    };
    // Per line: `Some(lines)` replaces it (empty: removed).
    let mut replace: Vec<Option<Vec<String>>> = vec![None; l.lines.len()];
    let clear = |replace: &mut Vec<Option<Vec<String>>>, from: usize, to: usize| {
        for r in replace.iter_mut().take(to).skip(from) {
            *r = Some(Vec::new());
        }
    };
    for (key, start, end) in &blocks {
        if let Some((_, value)) = remove_if.iter().find(|(k, _)| k == key) {
            let v = l.lines[*start]
                .split_once(':')
                .map(|(_, v)| v.trim().trim_matches(['\'', '"']))
                .unwrap_or("");
            if v.eq_ignore_ascii_case(value) {
                clear(&mut replace, *start, *end);
            }
        }
    }
    let mut appended = Vec::new();
    for (key, value) in set {
        match blocks.iter().find(|(k, _, _)| k == key) {
            Some((_, start, end)) => {
                clear(&mut replace, *start + 1, *end);
                replace[*start] = Some(render(key, value));
            }
            None => appended.extend(render(key, value)),
        }
    }
    let mut out: Vec<String> = Vec::new();
    for (line, r) in l.lines.iter().zip(&replace) {
        match r {
            Some(r) => out.extend(r.iter().cloned()),
            None => out.push(line.clone()),
        }
    }
    if !appended.is_empty() {
        if let Some(last) = out.last_mut() {
            if !last.ends_with('\n') {
                last.push_str(eol);
            }
        }
        out.extend(appended);
    }
    checked_condarc(finish(l, out))
}

/// conda reads one mapping of settings; anything else it cannot use either, and an edit
/// appended to it would not be YAML at all.
fn check_one_mapping(text: &str) -> Result<(), Refusal> {
    let docs = yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| {
        Refusal(format!(
            "it is not valid YAML, so conda could not read it either: {e}"
        ))
    })?;
    match docs.as_slice() {
        [] | [yaml_rust2::Yaml::Hash(_)] | [yaml_rust2::Yaml::Null] => Ok(()),
        [_] => Err(Refusal(
            "it is not a mapping of settings, so conda could not read it either".into(),
        )),
        _ => Err(Refusal(
            "it holds several YAML documents; conda reads only a single mapping".into(),
        )),
    }
}

/// Each top-level key with its block: its line and the indented or list lines under it
/// (`(key, first line, end)`); trailing blank lines belong to no block.
fn top_level_blocks(lines: &[String]) -> Vec<(String, usize, usize)> {
    let key_of = |line: &str| -> Option<String> {
        if line.starts_with([' ', '\t', '#', '-']) {
            return None;
        }
        let (k, _) = line.split_once(':')?;
        let k = k.trim();
        (!k.is_empty()).then(|| k.to_string())
    };
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(k) = key_of(&lines[i]) else {
            i += 1;
            continue;
        };
        let mut j = i + 1;
        while j < lines.len() {
            let t = &lines[j];
            if t.trim().is_empty() || t.starts_with([' ', '\t']) || t.starts_with('-') {
                j += 1;
            } else {
                break;
            }
        }
        while j > i + 1 && lines[j - 1].trim().is_empty() {
            j -= 1;
        }
        blocks.push((k, i, j));
        i = j;
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str, k: &str, v: &str) -> (String, String, String) {
        (s.into(), k.into(), v.into())
    }

    #[test]
    fn ini_set_replaces_a_continued_value_and_keeps_everything_else() {
        let orig = "# mine\r\n[global]\r\ntrusted-host = a\r\n\tb\r\ntimeout = 60\r\n\r\n[install]\r\nuser = true\r\n";
        let e = edit_ini(
            Some(orig.as_bytes()),
            &IniEdit {
                set: vec![set("global", "cert", "C:\\b.pem")],
                remove: vec!["trusted-host".into()],
            },
        )
        .unwrap();
        assert_eq!(e.text, "# mine\r\n[global]\r\ntimeout = 60\r\ncert = C:\\b.pem\r\n\r\n[install]\r\nuser = true\r\n");
        assert!(e.changed);
    }

    #[test]
    fn ini_creates_the_file_and_sections_it_needs() {
        let e = edit_ini(
            None,
            &IniEdit {
                set: vec![set("global", "cert", "x.pem")],
                remove: vec![],
            },
        )
        .unwrap();
        assert!(e.text.starts_with("[global]"));
        assert!(e.text.contains("cert = x.pem"));
        let e = edit_ini(
            Some(b"[install]\nuser = true"),
            &IniEdit {
                set: vec![set("global", "cert", "x.pem")],
                remove: vec![],
            },
        )
        .unwrap();
        assert_eq!(e.text, "[install]\nuser = true\n\n[global]\ncert = x.pem\n");
    }

    #[test]
    fn ini_edit_is_idempotent_and_refuses_what_pip_refuses() {
        let edit = IniEdit {
            set: vec![set("global", "cert", "x.pem")],
            remove: vec![],
        };
        let once = edit_ini(Some(b"[global]\ntimeout = 5\n"), &edit).unwrap();
        let twice = edit_ini(Some(once.text.as_bytes()), &edit).unwrap();
        assert!(!twice.changed);
        assert!(edit_ini(Some(b"[global]\ncert = a\ncert = b\n"), &edit).is_err());
        assert!(edit_ini(Some(b"{{ if .work }}\n[global]\n{{ end }}\n"), &edit).is_err());
    }

    #[test]
    fn a_bom_or_utf16_file_is_rewritten_as_plain_utf8_with_a_note() {
        let edit = IniEdit {
            set: vec![set("global", "cert", "x.pem")],
            remove: vec![],
        };
        let e = edit_ini(Some(b"\xEF\xBB\xBF[global]\r\ntimeout = 5\r\n"), &edit).unwrap();
        assert_eq!(e.text, "[global]\r\ntimeout = 5\r\ncert = x.pem\r\n");
        assert_eq!(e.notes.len(), 1);
    }

    #[test]
    fn condarc_keys_are_replaced_removed_or_appended_in_place() {
        let orig = "# corp\r\nchannels:\r\n  - defaults\r\nssl_verify: false\r\nproxy_servers:\r\n  http: http://a\r\nshow_channel_urls: true\r\n";
        let e = edit_condarc(
            Some(orig.as_bytes()),
            &[(
                "ssl_verify".into(),
                YamlValue::Scalar("C:\\Users\\me\\bundle.pem".into()),
            )],
            &[],
        )
        .unwrap();
        assert_eq!(e.text, "# corp\r\nchannels:\r\n  - defaults\r\nssl_verify: 'C:\\Users\\me\\bundle.pem'\r\nproxy_servers:\r\n  http: http://a\r\nshow_channel_urls: true\r\n");
        let e = edit_condarc(
            Some(orig.as_bytes()),
            &[],
            &[("ssl_verify".into(), "false".into())],
        )
        .unwrap();
        assert!(!e.text.contains("ssl_verify"));
        assert!(e.text.contains("show_channel_urls"));
        let e = edit_condarc(
            None,
            &[("ssl_verify".into(), YamlValue::Scalar("truststore".into()))],
            &[],
        )
        .unwrap();
        assert!(e.text.starts_with("ssl_verify: truststore"));
        assert!(edit_condarc(Some(b"a: [unclosed\n"), &[], &[]).is_err());
    }
}
