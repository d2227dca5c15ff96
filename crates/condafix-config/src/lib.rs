//! Config writing: a CA bundle (the prefix's public roots + corporate CAs + the OS trust store),
//! pip and conda settings that use it (or truststore where that is enough), the insecure "fixes"
//! removed when asked, the user PATH and environment; all through the transaction and receipt,
//! so `undo` restores each file's exact bytes and each registry value's exact type and data.

pub mod bundle;
mod error;
pub mod path_env;
mod plan;
pub mod text_edit;

pub use error::ConfigError;
pub use plan::{
    apply_config, apply_config_into, finish_config, plan_config, ConfigAction, ConfigOptions,
    ConfigOutcome, ConfigPlan, GithubFiles, Scope,
};
