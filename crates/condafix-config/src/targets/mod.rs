//! The config targets: each one kind of thing condafix configures. A new target (`uv.toml`,
//! conda's `ssl_verify` in another file) is one new type here and one line in [`ALL`].

mod ca_bundle;
mod conda;
mod env_vars;
mod pip;
mod user_path;
mod vendored_pip;

use crate::planner::Planner;
use crate::ConfigError;

/// One kind of configuration: it looks at the report and adds actions, notes or refusals.
pub(crate) trait ConfigTarget: Sync {
    fn plan(&self, p: &mut Planner<'_>) -> Result<(), ConfigError>;
}

/// Every target, in the order they plan.
pub(crate) static ALL: [&dyn ConfigTarget; 6] = [
    &ca_bundle::CaBundle,
    &pip::PipConfig,
    &conda::CondaConfig,
    &vendored_pip::VendoredPip,
    &user_path::UserPath,
    &env_vars::EnvVars,
];
