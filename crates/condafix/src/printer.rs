//! The one place that writes to the terminal: results (JSON) on stdout, diagnostics and reports
//! for people on stderr. `-q` means errors only, for every command. Everything written goes
//! through the one credential redaction (whatever a value held, no password reaches a terminal
//! or a CI log), and text for people has its control characters escaped (a file name holding
//! ESC or NUL from a user-writable prefix must not reach the terminal raw); JSON escapes them
//! itself.

use std::io::Write as _;

use condafix_detect::redact::redact_credentials;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Printer {
    quiet: bool,
}

/// Escape C0 and C1 control characters (other than newline and tab) and the Unicode
/// bidirectional overrides, so a name cannot move the cursor, clear the screen or reorder text.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if (c.is_control() && c != '\n' && c != '\t') || bidi {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

impl Printer {
    pub fn new(quiet: bool) -> Self {
        Self { quiet }
    }

    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// A result for programs (a JSON document, a summary line): stdout, even with `-q`.
    pub fn result(&self, text: &str) {
        let text = redact_credentials(text);
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    /// Text for people on stderr (a report, a plan, a note); nothing with `-q`.
    pub fn info(&self, text: &str) {
        if !self.quiet {
            self.stderr(text);
        }
    }

    /// A warning for people on stderr; nothing with `-q`.
    pub fn warn(&self, text: &str) {
        if !self.quiet {
            self.stderr(&format!("condafix: warning: {text}\n"));
        }
    }

    /// GitHub workflow commands (`::group::`, `::error ...::`): stderr, always (the runner
    /// reads them from both streams; stdout stays the results').
    pub fn workflow(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(redact_credentials(text).as_bytes());
        let _ = err.flush();
    }

    /// An error on stderr, always.
    pub fn error(&self, text: &str) {
        self.stderr(text);
    }

    fn stderr(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(escape_controls(&redact_credentials(text)).as_bytes());
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_bidi_overrides_are_escaped_newlines_kept() {
        assert_eq!(
            escape_controls("a\x1b[2Jb\0c\nd\te\u{202e}f\u{85}"),
            "a\\u{1b}[2Jb\\u{0}c\nd\te\\u{202e}f\\u{85}"
        );
        assert_eq!(escape_controls("C:\\Users\\홍 길동"), "C:\\Users\\홍 길동");
    }
}
