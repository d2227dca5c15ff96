//! INI files read exactly as Python's `configparser.RawConfigParser` (which pip uses) reads
//! them: `[section]` headers, `key = value` or `key: value`, full-line `#`/`;` comments,
//! multi-line values continued by lines indented deeper than the key (spaces or TABs), keys
//! lower-cased, and `strict` duplicate checks (a duplicate key or section is an error, and pip
//! refuses the file). Line numbers are kept so findings can point at them and edits can keep
//! every other line as it is.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct IniEntry {
    /// Lower-cased, as configparser's `optionxform` does.
    pub key: String,
    /// Continuation lines joined with `\n`, each stripped; trailing empty lines dropped.
    pub value: String,
    /// 1-based line of the key.
    pub line: usize,
    /// 1-based last line of the value (continuations included).
    pub end_line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct IniSection {
    pub name: String,
    pub line: usize,
    pub entries: Vec<IniEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum IniError {
    /// Text before the first `[section]` (also what a UTF-8 BOM read as cp1252 looks like).
    MissingSectionHeader { line: usize, text: String },
    DuplicateSection {
        name: String,
        line: usize,
        first_line: usize,
    },
    DuplicateOption {
        section: String,
        key: String,
        line: usize,
        first_line: usize,
    },
    /// A line that is neither a header, an option, a comment nor a continuation.
    Parse { line: usize, text: String },
}

impl IniError {
    pub fn line(&self) -> usize {
        match self {
            IniError::MissingSectionHeader { line, .. }
            | IniError::DuplicateSection { line, .. }
            | IniError::DuplicateOption { line, .. }
            | IniError::Parse { line, .. } => *line,
        }
    }
}

impl std::fmt::Display for IniError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IniError::MissingSectionHeader { line, text } => {
                write!(f, "line {line}: text before any [section] header: {text:?}")
            }
            IniError::DuplicateSection { name, line, first_line } => {
                write!(f, "line {line}: section [{name}] already appears on line {first_line}")
            }
            IniError::DuplicateOption { section, key, line, first_line } => write!(
                f,
                "line {line}: `{key}` is set twice in [{section}] (first on line {first_line}); pip refuses the file"
            ),
            IniError::Parse { line, text } => write!(f, "line {line}: cannot parse {text:?}"),
        }
    }
}

/// A parsed INI file; parsing goes on past errors, as far as configparser would report them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct IniFile {
    pub sections: Vec<IniSection>,
    pub errors: Vec<IniError>,
}

impl IniFile {
    pub fn section(&self, name: &str) -> Option<&IniSection> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Every `(section, entry)` whose key is `key`.
    pub fn find<'a>(
        &'a self,
        key: &'a str,
    ) -> impl Iterator<Item = (&'a IniSection, &'a IniEntry)> + 'a {
        self.sections.iter().flat_map(move |s| {
            s.entries
                .iter()
                .filter(move |e| e.key == key)
                .map(move |e| (s, e))
        })
    }
}

/// Parse `text` (already decoded) the configparser way.
pub fn parse_ini(text: &str) -> IniFile {
    let mut file = IniFile::default();
    // (section index, entry index, indent of the key line)
    let mut current: Option<usize> = None;
    let mut open_option: Option<(usize, usize, usize)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        let stripped = line.trim();
        let indent = line.len() - line.trim_start().len();
        if stripped.starts_with('#') || stripped.starts_with(';') {
            continue;
        }
        if stripped.is_empty() {
            // Blank lines may belong to a multi-line value (empty_lines_in_values=True).
            if let Some((s, e, _)) = open_option {
                file.sections[s].entries[e].value.push('\n');
            }
            continue;
        }
        if let Some((s, e, key_indent)) = open_option {
            if indent > key_indent {
                let entry = &mut file.sections[s].entries[e];
                entry.value.push('\n');
                entry.value.push_str(stripped);
                entry.end_line = line_no;
                continue;
            }
        }
        if stripped.starts_with('[') && stripped.ends_with(']') && stripped.len() > 2 {
            let name = stripped[1..stripped.len() - 1].to_string();
            if let Some(prev) = file.sections.iter().find(|s| s.name == name) {
                file.errors.push(IniError::DuplicateSection {
                    name: name.clone(),
                    line: line_no,
                    first_line: prev.line,
                });
            }
            file.sections.push(IniSection {
                name,
                line: line_no,
                entries: Vec::new(),
            });
            current = Some(file.sections.len() - 1);
            open_option = None;
            continue;
        }
        let Some(sec) = current else {
            file.errors.push(IniError::MissingSectionHeader {
                line: line_no,
                text: stripped.to_string(),
            });
            // configparser stops at this error.
            break;
        };
        let delim = stripped.find(['=', ':']);
        let Some(d) = delim.filter(|&d| d > 0) else {
            file.errors.push(IniError::Parse {
                line: line_no,
                text: stripped.to_string(),
            });
            open_option = None;
            continue;
        };
        let key = stripped[..d].trim().to_lowercase();
        let value = stripped[d + 1..].trim().to_string();
        let section_name = file.sections[sec].name.clone();
        let first = file
            .sections
            .iter()
            .filter(|s| s.name == section_name)
            .find_map(|s| s.entries.iter().find(|e| e.key == key).map(|e| e.line));
        if let Some(first_line) = first {
            file.errors.push(IniError::DuplicateOption {
                section: section_name,
                key: key.clone(),
                line: line_no,
                first_line,
            });
        }
        file.sections[sec].entries.push(IniEntry {
            key,
            value,
            line: line_no,
            end_line: line_no,
        });
        open_option = Some((sec, file.sections[sec].entries.len() - 1, indent));
    }
    for s in &mut file.sections {
        for e in &mut s.entries {
            let trimmed = e.value.trim_end_matches('\n').to_string();
            e.value = trimmed;
        }
    }
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_continuation_lines_extend_the_value() {
        let f = parse_ini("[global]\ntrusted-host = pypi.org\n\tfiles.pythonhosted.org\n    pypi.python.org\ntimeout: 60\n");
        let e = f.find("trusted-host").next().unwrap().1;
        assert_eq!(e.value, "pypi.org\nfiles.pythonhosted.org\npypi.python.org");
        assert_eq!((e.line, e.end_line), (2, 4));
        assert_eq!(f.find("timeout").next().unwrap().1.value, "60");
        assert!(f.errors.is_empty());
    }

    #[test]
    fn keys_are_lower_cased_comments_skipped_crlf_tolerated() {
        let f = parse_ini("; comment\r\n[global]\r\n# c\r\nCert = C:\\certs\\corp.pem\r\n[install]\r\ntrusted-host=h\r\n");
        assert_eq!(
            f.find("cert").next().unwrap().1.value,
            "C:\\certs\\corp.pem"
        );
        assert_eq!(f.find("trusted-host").next().unwrap().0.name, "install");
    }

    #[test]
    fn duplicates_and_missing_headers_are_errors_like_configparser() {
        let f = parse_ini("[global]\ncert = a\ncert = b\n[global]\n");
        assert!(matches!(
            f.errors[0],
            IniError::DuplicateOption {
                line: 3,
                first_line: 2,
                ..
            }
        ));
        assert!(matches!(
            f.errors[1],
            IniError::DuplicateSection {
                line: 4,
                first_line: 1,
                ..
            }
        ));
        let f = parse_ini("\u{ef}\u{bb}\u{bf}[global]\ncert = a\n");
        assert!(matches!(
            f.errors[0],
            IniError::MissingSectionHeader { line: 1, .. }
        ));
        let f = parse_ini("[global]\n{{ template }}\n");
        assert!(matches!(f.errors[0], IniError::Parse { line: 2, .. }));
    }

    #[test]
    fn a_less_indented_line_ends_the_value() {
        let f = parse_ini("[global]\n  index-url = a\n  extra = b\n");
        assert_eq!(f.find("index-url").next().unwrap().1.value, "a");
        assert_eq!(f.find("extra").next().unwrap().1.value, "b");
    }
}
