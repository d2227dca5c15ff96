//! What post-install found and did, per prefix: the data the verdict, the JSON document, the
//! human report and the GitHub files are made from.

use condafix_config::ConfigPlan;
use condafix_stage::Plan;
use condafix_verify::PrefixVerify;
use serde::Serialize;

/// The verdict for one prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Healthy,
    Fixed,
    /// Fixed as detection sees it, but the interpreter was not run to prove it (V042: someone
    /// else may change what it runs); the reason says why.
    FixedNotVerified,
    /// A dry run planned the changes that fix it (nothing was changed).
    WouldFix,
    StillBroken,
    NeedsElevation,
    /// condafix refused this prefix's state or input (a path that leaves the prefix, a link):
    /// nothing was changed; a person must look (exit 2).
    Refused,
    Skipped,
}

impl Verdict {
    /// The word used in logs and JSON.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::Fixed => "fixed",
            Verdict::FixedNotVerified => "fixed-not-verified",
            Verdict::WouldFix => "would-fix",
            Verdict::StillBroken => "still-broken",
            Verdict::NeedsElevation => "needs-elevation",
            Verdict::Refused => "refused",
            Verdict::Skipped => "skipped",
        }
    }

    /// Nothing left to do here.
    pub fn is_good(self) -> bool {
        matches!(
            self,
            Verdict::Healthy | Verdict::Fixed | Verdict::FixedNotVerified | Verdict::Skipped
        )
    }
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct PrefixResult {
    pub prefix: String,
    pub verdict: Verdict,
    pub changed: bool,
    pub changes: usize,
    /// Why: the finding left, or why it was skipped.
    pub reason: Option<String>,
    pub next_step: Option<String>,
    pub openssl_version: Option<String>,
    /// The Python version and build string (for `condafix report`).
    pub python_version: Option<String>,
    pub python_build: Option<String>,
    /// The era of the Python build: `A`, `B` or `C` (for `condafix report`).
    pub era: Option<condafix_report::Era>,
    /// Just Me or All Users (for `condafix report`).
    pub scope: Option<condafix_report::UserScope>,
    /// Did detection's prediction hold against the real interpreter?
    pub prediction_confirmed: Option<bool>,
    pub stage: Option<Plan>,
    pub config: Option<ConfigPlan>,
    pub verify: Option<PrefixVerify>,
    /// Error and warning findings after the run.
    pub findings_after: Vec<condafix_detect::Finding>,
}

/// Why planning or applying a prefix's changes failed (nothing was changed there).
#[derive(Debug, Clone)]
pub enum ApplyFailure {
    /// A write was denied: an All Users install, run without elevation.
    NeedsElevation(String),
    /// Input from the prefix was refused (a path that leaves it, a link).
    Refused(String),
    Failed(String),
}

impl ApplyFailure {
    pub fn from_error(e: &anyhow::Error) -> Self {
        match crate::exit::status_for_error(e) {
            crate::exit::ExitStatus::NeedsElevation => {
                ApplyFailure::NeedsElevation(format!("{e:#}"))
            }
            _ if crate::exit::is_refusal(e) => ApplyFailure::Refused(format!("{e:#}")),
            _ => ApplyFailure::Failed(format!("{e:#}")),
        }
    }

    /// The message, as the log and the report show it.
    pub fn text(&self) -> String {
        match self {
            ApplyFailure::NeedsElevation(e) => format!("needs elevation: {e}"),
            ApplyFailure::Refused(e) | ApplyFailure::Failed(e) => e.clone(),
        }
    }
}
