//! The verdict for one prefix, from what detection, staging, config and verification found: a
//! pure function, so every combination is unit-tested.

use condafix_detect::Finding;

use super::model::{ApplyFailure, Verdict};

/// Everything the verdict rests on.
#[derive(Debug, Default)]
pub struct Evidence<'a> {
    /// Applying the plan failed (nothing was changed).
    pub failure: Option<&'a ApplyFailure>,
    pub has_python: bool,
    /// Detection (after the run) predicts `import ssl` loads without activation.
    pub import_ok: bool,
    /// The interpreter's verdict when it ran: healthy, and its first finding.
    pub verified: Option<(bool, Option<&'a Finding>)>,
    /// Verification was wanted but the interpreter was not run (V042): why.
    pub not_run: Option<&'a Finding>,
    /// Why staging could not proceed.
    pub blocked: &'a [String],
    /// Config files left untouched.
    pub refused: &'a [String],
    /// Error and warning findings left after the run.
    pub problems: &'a [&'a Finding],
    pub changes: usize,
    /// A dry run: how many changes the plans hold (`None`: a real run).
    pub planned: Option<usize>,
}

/// A verdict with its reason and the next step, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub reason: Option<String>,
    pub next_step: Option<String>,
}

fn code_and_message(f: &Finding) -> String {
    format!("{} {}", f.code, f.message)
}

pub fn verdict(e: &Evidence<'_>) -> Judgement {
    if let Some(failure) = e.failure {
        let next = match failure {
            ApplyFailure::NeedsElevation(_) => {
                "run condafix from an elevated prompt (Run as administrator)"
            }
            ApplyFailure::Refused(_) => {
                "look at the file named above (it may have been tampered with); nothing was changed in this prefix"
            }
            ApplyFailure::Failed(_) => "see the error above; nothing was changed in this prefix",
        };
        return Judgement {
            verdict: match failure {
                ApplyFailure::NeedsElevation(_) => Verdict::NeedsElevation,
                ApplyFailure::Refused(_) => Verdict::Refused,
                ApplyFailure::Failed(_) => Verdict::StillBroken,
            },
            reason: Some(failure.text()),
            next_step: Some(next.to_string()),
        };
    }
    if !e.has_python {
        return Judgement {
            verdict: Verdict::Skipped,
            reason: Some("no Python in this prefix".to_string()),
            next_step: None,
        };
    }
    let verified_ok = e.verified.is_none_or(|(healthy, _)| healthy);
    let clean = e.import_ok
        && verified_ok
        && e.blocked.is_empty()
        && e.refused.is_empty()
        && e.problems.is_empty();
    if clean {
        // A verdict never claims what did not happen: fixed by the prediction, but not proven
        // by the interpreter, says so.
        return match (e.changes > 0, e.not_run) {
            (true, Some(f)) => Judgement {
                verdict: Verdict::FixedNotVerified,
                reason: Some(format!("fixed, not verified: {}", code_and_message(f))),
                next_step: f.fix.clone(),
            },
            (false, Some(f)) => Judgement {
                verdict: Verdict::Healthy,
                reason: Some(format!("not verified: {}", code_and_message(f))),
                next_step: f.fix.clone(),
            },
            (true, None) => Judgement {
                verdict: Verdict::Fixed,
                reason: None,
                next_step: None,
            },
            (false, None) => Judgement {
                verdict: Verdict::Healthy,
                reason: None,
                next_step: None,
            },
        };
    }
    if let Some(planned) = e.planned.filter(|n| *n > 0 && e.blocked.is_empty()) {
        return Judgement {
            verdict: Verdict::WouldFix,
            reason: Some(format!(
                "{planned} change{} planned (dry run: nothing was changed)",
                if planned == 1 { "" } else { "s" }
            )),
            next_step: Some("run it again without --dry-run".to_string()),
        };
    }
    let first = e.problems.first();
    let reason = e
        .verified
        .filter(|(healthy, _)| !healthy)
        .and_then(|(_, f)| f.map(code_and_message))
        .or_else(|| e.blocked.first().cloned())
        .or_else(|| e.refused.first().cloned())
        .or_else(|| first.map(|f| code_and_message(f)));
    Judgement {
        verdict: Verdict::StillBroken,
        reason,
        next_step: first.and_then(|f| f.fix.clone()),
    }
}

#[cfg(test)]
mod tests {
    use condafix_detect::Code;

    use super::*;

    fn finding(code: Code, fix: &str) -> Finding {
        Finding::new(code, format!("{code:?} happened")).fix(fix)
    }

    #[test]
    fn a_dry_run_that_plans_the_fix_would_fix_and_one_that_cannot_is_still_broken() {
        let d010 = finding(Code::D010, "stage");
        let problems = [&d010];
        let e = Evidence {
            has_python: true,
            problems: &problems,
            planned: Some(2),
            ..Evidence::default()
        };
        assert_eq!(verdict(&e).verdict, Verdict::WouldFix);
        let blocked = ["no verified source".to_string()];
        let e2 = Evidence {
            blocked: &blocked,
            ..Evidence { ..e }
        };
        assert_eq!(verdict(&e2).verdict, Verdict::StillBroken);
        let e3 = Evidence {
            has_python: true,
            problems: &problems,
            planned: Some(0),
            ..Evidence::default()
        };
        assert_eq!(verdict(&e3).verdict, Verdict::StillBroken);
    }

    #[test]
    fn a_clean_prefix_is_healthy_or_fixed_by_whether_anything_changed() {
        let e = Evidence {
            has_python: true,
            import_ok: true,
            ..Evidence::default()
        };
        assert_eq!(verdict(&e).verdict, Verdict::Healthy);
        let e = Evidence { changes: 2, ..e };
        assert_eq!(verdict(&e).verdict, Verdict::Fixed);
    }

    #[test]
    fn a_failed_apply_wins_and_elevation_has_its_own_verdict() {
        let denied = ApplyFailure::NeedsElevation("C:\\ProgramData\\x is read-only".into());
        let e = Evidence {
            failure: Some(&denied),
            has_python: true,
            import_ok: true,
            ..Evidence::default()
        };
        let j = verdict(&e);
        assert_eq!(j.verdict, Verdict::NeedsElevation);
        assert!(j.reason.unwrap().starts_with("needs elevation: "));
        let failed = ApplyFailure::Failed("disk full".into());
        let j = verdict(&Evidence {
            failure: Some(&failed),
            ..Evidence::default()
        });
        assert_eq!(j.verdict, Verdict::StillBroken);
        assert_eq!(j.reason.as_deref(), Some("disk full"));
    }

    #[test]
    fn a_fix_the_interpreter_did_not_confirm_is_fixed_not_verified() {
        let v042 = finding(Code::V042, "run verify as the owner");
        let e = Evidence {
            has_python: true,
            import_ok: true,
            changes: 2,
            not_run: Some(&v042),
            ..Evidence::default()
        };
        let j = verdict(&e);
        assert_eq!(j.verdict, Verdict::FixedNotVerified);
        assert!(j.reason.unwrap().starts_with("fixed, not verified: V042"));
        let j = verdict(&Evidence { changes: 0, ..e });
        assert_eq!(j.verdict, Verdict::Healthy);
        assert!(j.reason.unwrap().starts_with("not verified"));
    }

    #[test]
    fn no_python_is_skipped() {
        assert_eq!(verdict(&Evidence::default()).verdict, Verdict::Skipped);
    }

    #[test]
    fn the_reason_is_the_interpreter_first_then_blocked_refused_and_findings() {
        let d010 = finding(Code::D010, "stage it");
        let v001 = finding(Code::V001, "");
        let problems = [&d010];
        let blocked = vec!["no verified copy".to_string()];
        let base = Evidence {
            has_python: true,
            import_ok: false,
            problems: &problems,
            ..Evidence::default()
        };
        let j = verdict(&Evidence {
            verified: Some((false, Some(&v001))),
            blocked: &blocked,
            ..base
        });
        assert_eq!(j.verdict, Verdict::StillBroken);
        assert_eq!(j.reason.as_deref(), Some("V001 V001 happened"));
        assert_eq!(j.next_step.as_deref(), Some("stage it"));
        let j = verdict(&Evidence {
            blocked: &blocked,
            ..base
        });
        assert_eq!(j.reason.as_deref(), Some("no verified copy"));
        let j = verdict(&Evidence { ..base });
        assert_eq!(j.reason.as_deref(), Some("D010 D010 happened"));
    }

    #[test]
    fn a_healthy_prediction_the_interpreter_contradicts_is_still_broken() {
        let e = Evidence {
            has_python: true,
            import_ok: true,
            verified: Some((false, None)),
            ..Evidence::default()
        };
        assert_eq!(verdict(&e).verdict, Verdict::StillBroken);
    }
}
