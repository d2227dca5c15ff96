//! Config writing: a CA bundle (the prefix's public roots + corporate CAs + the OS trust store),
//! pip and conda settings that use it (or truststore where that is enough), the insecure "fixes"
//! removed when asked, the user PATH and environment. Each kind of setting is a target
//! (`targets/`); a plan is data, applied through the one transaction path of `condafix-txn`
//! (`apply.rs`), so `undo` restores each file's exact bytes and each registry value's exact
//! type and data.

// Library crates never print: the binary owns stdout and stderr (its Printer).
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod apply;
pub mod bundle;
mod error;
mod model;
pub mod path_env;
mod pkgs_cache;
mod plan;
mod planner;
mod targets;
pub mod text_edit;
mod trust;

pub use condafix_detect::locations::WriteScope as Scope;
pub use error::ConfigError;
pub use model::{ConfigAction, ConfigOptions, ConfigPlan, GithubFiles};
pub use plan::plan_config;
