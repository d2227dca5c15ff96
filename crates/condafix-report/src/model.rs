//! What one document says about one device: its installs, each with a verdict, and where the
//! document came from. Every input format (condafix's `--json` documents, Intune's Graph JSON
//! and CSV export, Ansible's JSON callback) is turned into these values, and only these values
//! are aggregated.

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::Serialize;

/// The verdict for one install, as the fleet page counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Nothing to fix.
    Healthy,
    /// condafix fixed it (a post-install verdict, or broken before an Intune remediation and
    /// healthy after it).
    Fixed,
    /// Still needs a fix (also: a dry run's "would fix", "needs elevation", "refused").
    StillBroken,
    /// Not judged: no Python in the prefix.
    Skipped,
}

impl Verdict {
    pub const ALL: [Verdict; 4] = [
        Verdict::Healthy,
        Verdict::Fixed,
        Verdict::StillBroken,
        Verdict::Skipped,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::Fixed => "fixed",
            Verdict::StillBroken => "still-broken",
            Verdict::Skipped => "skipped",
        }
    }

    /// A post-install verdict's word (any condafix version), as this report counts it, with
    /// the original word kept when it is folded into another (`needs-elevation` is still
    /// broken).
    pub fn from_post_install(word: &str) -> Option<(Verdict, Option<&str>)> {
        Some(match word {
            "healthy" => (Verdict::Healthy, None),
            "fixed" => (Verdict::Fixed, None),
            // Fixed as detection sees it, the interpreter not run to prove it: counted as
            // fixed, the word kept.
            "fixed-not-verified" => (Verdict::Fixed, Some(word)),
            "still-broken" => (Verdict::StillBroken, None),
            "skipped" => (Verdict::Skipped, None),
            "would-fix" | "needs-elevation" | "refused" => (Verdict::StillBroken, Some(word)),
            _ => return None,
        })
    }
}

/// How a device stands: its worst install's verdict, or why there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceState {
    Healthy,
    Fixed,
    StillBroken,
    /// Every install was skipped.
    Skipped,
    /// condafix ran and found no conda install.
    NoConda,
    /// The device reported, but not a condafix result (the detection script could not find
    /// condafix.exe, a script error, an Ansible task that failed before condafix printed).
    NoResult,
}

impl DeviceState {
    pub const ALL: [DeviceState; 6] = [
        DeviceState::Healthy,
        DeviceState::Fixed,
        DeviceState::StillBroken,
        DeviceState::Skipped,
        DeviceState::NoConda,
        DeviceState::NoResult,
    ];

    pub fn label(self) -> &'static str {
        match self {
            DeviceState::Healthy => "healthy",
            DeviceState::Fixed => "fixed",
            DeviceState::StillBroken => "still-broken",
            DeviceState::Skipped => "skipped",
            DeviceState::NoConda => "no-conda",
            DeviceState::NoResult => "no-result",
        }
    }

    /// A person should look at this device.
    pub fn needs_attention(self) -> bool {
        matches!(
            self,
            DeviceState::StillBroken | DeviceState::Skipped | DeviceState::NoResult
        )
    }
}

/// The era of a Python build: how it finds `_ssl.pyd`'s OpenSSL DLLs (see the README's loader
/// model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
pub enum Era {
    /// Altered search path: `Library\bin` only through PATH.
    A,
    /// conda's default mode: finds `Library\bin` by itself.
    B,
    /// Upstream: no conda patch.
    C,
}

impl Era {
    /// From detect's JSON (`python.era`).
    pub fn from_detect(word: &str) -> Option<Era> {
        match word {
            "altered-search-path" => Some(Era::A),
            "default-mode" | "default-mode-variant" => Some(Era::B),
            "upstream" => Some(Era::C),
            "A" | "a" => Some(Era::A),
            "B" | "b" => Some(Era::B),
            "C" | "c" => Some(Era::C),
            _ => None,
        }
    }

    pub fn letter(self) -> &'static str {
        match self {
            Era::A => "A",
            Era::B => "B",
            Era::C => "C",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Era::A => "A (altered search path: needs PATH)",
            Era::B => "B (conda default mode)",
            Era::C => "C (upstream, no conda patch)",
        }
    }
}

/// Just Me (`.nonadmin`) or All Users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UserScope {
    JustMe,
    AllUsers,
}

impl UserScope {
    pub fn from_word(word: &str) -> Option<UserScope> {
        match word {
            "just-me" => Some(UserScope::JustMe),
            "all-users" => Some(UserScope::AllUsers),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UserScope::JustMe => "just-me",
            UserScope::AllUsers => "all-users",
        }
    }
}

/// One install (a conda prefix) on one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Install {
    /// The prefix; `None` when the document counted it without naming it (an older `check`
    /// summary line, or one cut at Intune's 2,048 characters).
    pub prefix: Option<String>,
    pub verdict: Verdict,
    /// The verdict as the document said it, when it was folded (`needs-elevation`,
    /// `would-fix`, `refused`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub said: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
    pub era: Option<Era>,
    pub python: Option<String>,
    /// The Python package's build string (`h6244533_1`), when the document has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python_build: Option<String>,
    pub openssl: Option<String>,
    pub scope: Option<UserScope>,
    /// Error and warning finding codes, sorted, each once.
    pub codes: Vec<String>,
}

impl Install {
    pub fn unnamed(verdict: Verdict) -> Self {
        Install {
            prefix: None,
            verdict,
            said: None,
            reason: None,
            next_step: None,
            era: None,
            python: None,
            python_build: None,
            openssl: None,
            scope: None,
            codes: Vec::new(),
        }
    }
}

/// Where a document came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// A `condafix ... --json` document (or one `--report-dir` wrote).
    Condafix,
    /// Microsoft Graph `deviceHealthScripts/{id}/deviceRunStates`.
    IntuneGraph,
    /// The Intune console's CSV export of a remediation's device status.
    IntuneCsv,
    /// Ansible's `json` stdout callback.
    Ansible,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Condafix => "condafix-json",
            Source::IntuneGraph => "intune-graph",
            Source::IntuneCsv => "intune-csv",
            Source::Ansible => "ansible",
        }
    }
}

/// What one document says about one device at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub host: String,
    pub time: Option<Timestamp>,
    pub source: Source,
    /// The file (and member, line or row) it was read from, for people.
    pub origin: String,
    /// Orders documents with the same time deterministically: (file, position in file).
    pub order: (String, u64),
    pub condafix_version: Option<String>,
    /// `None`: a document that does not judge installs (`stage`, `config`, `undo`, `audit`):
    /// the device was heard from, its state is what its other documents say.
    pub state: Option<DeviceReport>,
    /// Fix texts the document gave per finding code.
    pub fixes: Vec<(String, String)>,
}

/// A document's judgement of a device.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeviceReport {
    pub installs: Vec<Install>,
    /// Error and warning codes about the machine or a user's settings, not an install.
    pub config_codes: Vec<String>,
    /// Why the device has no condafix result (what its output said instead).
    pub no_result: Option<String>,
}

impl DeviceReport {
    pub fn state(&self) -> DeviceState {
        if self.no_result.is_some() && self.installs.is_empty() {
            return DeviceState::NoResult;
        }
        let has = |v: Verdict| self.installs.iter().any(|i| i.verdict == v);
        if has(Verdict::StillBroken) {
            DeviceState::StillBroken
        } else if has(Verdict::Fixed) {
            DeviceState::Fixed
        } else if has(Verdict::Healthy) {
            DeviceState::Healthy
        } else if has(Verdict::Skipped) {
            DeviceState::Skipped
        } else {
            DeviceState::NoConda
        }
    }
}

/// What a finding code means and what fixes it, for the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeInfo {
    pub code: String,
    pub name: String,
    pub severity: String,
    pub meaning: String,
    /// The general next step for this code (the documents' own fix text wins when they give one).
    pub fix: String,
}

/// Sort and de-duplicate finding codes.
pub fn tidy_codes(codes: &mut Vec<String>) {
    codes.sort();
    codes.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn install(v: Verdict) -> Install {
        Install::unnamed(v)
    }

    #[test]
    fn a_device_is_as_bad_as_its_worst_install() {
        let mut d = DeviceReport::default();
        assert_eq!(d.state(), DeviceState::NoConda);
        d.installs.push(install(Verdict::Skipped));
        assert_eq!(d.state(), DeviceState::Skipped);
        d.installs.push(install(Verdict::Healthy));
        assert_eq!(d.state(), DeviceState::Healthy);
        d.installs.push(install(Verdict::Fixed));
        assert_eq!(d.state(), DeviceState::Fixed);
        d.installs.push(install(Verdict::StillBroken));
        assert_eq!(d.state(), DeviceState::StillBroken);
    }

    #[test]
    fn a_device_with_no_condafix_output_has_no_result_not_no_conda() {
        let d = DeviceReport {
            no_result: Some("condafix.exe not found".into()),
            ..DeviceReport::default()
        };
        assert_eq!(d.state(), DeviceState::NoResult);
    }

    #[test]
    fn folded_post_install_verdicts_keep_their_word_and_unknown_ones_are_refused() {
        assert_eq!(
            Verdict::from_post_install("needs-elevation"),
            Some((Verdict::StillBroken, Some("needs-elevation")))
        );
        assert_eq!(
            Verdict::from_post_install("fixed"),
            Some((Verdict::Fixed, None))
        );
        assert_eq!(Verdict::from_post_install("splendid"), None);
    }
}
