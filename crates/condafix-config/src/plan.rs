//! From a detection report to a config plan: each config target (`targets/`) adds its actions
//! through the [`Planner`]; this file holds the order the targets run in.

use std::path::PathBuf;

use condafix_detect::locations::ConfigLocations;
use condafix_detect::tls::MachineConfig;
use condafix_detect::PrefixReport;
use condafix_prefix::registry::RegistryWrite;

use crate::model::{ConfigOptions, ConfigPlan};
use crate::planner::Planner;
use crate::targets;
use crate::trust::Trust;
use crate::ConfigError;

/// Plan the configuration of one prefix: each target in turn (the CA bundle first, since pip
/// and conda point at it).
pub fn plan_config(
    report: &PrefixReport,
    machine: &MachineConfig,
    locations: &ConfigLocations,
    registry: &dyn RegistryWrite,
    opts: &ConfigOptions,
) -> Result<ConfigPlan, ConfigError> {
    let prefix = PathBuf::from(&report.prefix);
    let trust = Trust::decide(report, machine, locations, opts, &prefix)?;
    let mut p = Planner {
        report,
        machine,
        locations,
        registry,
        opts,
        prefix: prefix.clone(),
        trust,
        plan: ConfigPlan {
            prefix: report.prefix.clone(),
            actions: Vec::new(),
            notes: Vec::new(),
            warnings: Vec::new(),
            refused: Vec::new(),
            bundle: None,
            prefix_path: prefix,
        },
    };
    for target in targets::ALL {
        target.plan(&mut p)?;
    }
    // A config file detection could not read is not "nothing to change": say so (the plan is
    // then refused in part, and `config` exits 1).
    let unchecked: Vec<String> = machine
        .findings
        .iter()
        .chain(&report.findings)
        .filter(|f| f.code == condafix_detect::Code::T027)
        .map(|f| f.message.clone())
        .collect();
    for m in unchecked {
        p.refuse(format!("{m}; condafix changed nothing there"));
    }
    if p.plan.actions.is_empty() && p.plan.refused.is_empty() && p.plan.notes.is_empty() {
        p.note("nothing to change");
    }
    Ok(p.plan)
}
