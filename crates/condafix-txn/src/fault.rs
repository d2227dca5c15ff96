//! Fault injection for crash-safety tests: abort the process (no destructors, like a kill)
//! right after step N of a transaction. Honoured only in debug builds.

use std::cell::Cell;

/// `CONDAFIX_FAULT_AFTER_STEP=N`: abort after the N-th step boundary (debug builds only).
pub const ENV_FAULT_AFTER_STEP: &str = "CONDAFIX_FAULT_AFTER_STEP";
/// `CONDAFIX_STEP_DELAY_MS=N`: sleep N ms at every step boundary (debug builds only), so that
/// concurrency tests see runs overlap.
pub const ENV_STEP_DELAY_MS: &str = "CONDAFIX_STEP_DELAY_MS";

#[derive(Debug, Default)]
pub struct Faults {
    after: Option<u64>,
    delay_ms: u64,
    step: Cell<u64>,
    /// Told which step is about to abort (the binary prints it; a library never does).
    report: Option<fn(&str)>,
}

impl Faults {
    pub fn none() -> Self {
        Self::default()
    }

    /// Read the switch from the environment (ignored in release builds).
    pub fn from_env() -> Self {
        let var = |name: &str| -> Option<u64> {
            if cfg!(debug_assertions) {
                std::env::var(name).ok().and_then(|v| v.parse().ok())
            } else {
                None
            }
        };
        Self {
            after: var(ENV_FAULT_AFTER_STEP),
            delay_ms: var(ENV_STEP_DELAY_MS).unwrap_or(0),
            step: Cell::new(0),
            report: None,
        }
    }

    /// Tell `report` which step a fault is injected after, before aborting.
    pub fn reporting(mut self, report: fn(&str)) -> Self {
        self.report = Some(report);
        self
    }

    /// Mark a step boundary; aborts here when this is the chosen step.
    pub fn step(&self, what: &str) {
        if self.delay_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(self.delay_ms));
        }
        let n = self.step.get() + 1;
        self.step.set(n);
        if self.after == Some(n) {
            if let Some(report) = self.report {
                report(&format!(
                    "condafix: fault injected after step {n} ({what})\n"
                ));
            }
            std::process::abort();
        }
    }

    /// Step boundaries passed so far.
    pub fn steps(&self) -> u64 {
        self.step.get()
    }
}
