//! The README documents every finding code with its name and severity, like a linter's rules.

use condafix_detect::{Code, Severity};

#[test]
fn every_finding_code_is_documented_in_the_readme() {
    let readme = include_str!("../../../README.md");
    for code in Code::ALL {
        let sev = match code.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let row = format!("| {code:?} | {} | {sev} |", code.name());
        assert!(readme.contains(&row), "README lacks the row `{row}`");
    }
}
