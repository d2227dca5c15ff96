//! What every command needs from the machine: the environment, the registry, the loader's
//! search context, and which prefixes to work on.

use std::path::PathBuf;

use clap::Args;
use condafix_detect::registry::RegistryWrite;
use condafix_detect::{
    split_windows_path_list, HostInfo, PathSource, ProcessEnv, Report, SearchContext,
};
use condafix_txn::{Applied, Changes, Faults, Recovery};

/// Options shared by the commands that look at prefixes.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// A conda prefix (base install or env) to work on; repeat for several.
    /// Without it, every install and env on the machine is found: PREFIX (installer step),
    /// CONDA_PREFIX, CONDA_EXE, CONDA, the registry, the usual folders, environments.txt.
    #[arg(long = "prefix", value_name = "DIR")]
    pub prefixes: Vec<PathBuf>,

    /// The Windows folder whose System32 the loader searches (default: %SystemRoot%). Use it to
    /// inspect an install on a mounted disk or in a fixture.
    #[arg(long, value_name = "DIR")]
    pub system_root: Option<PathBuf>,

    /// The PATH an unactivated program gets, as `;`-separated folders (default on Windows: the
    /// machine and user Path from the registry; elsewhere none). Repeat to append.
    #[arg(long = "search-path", value_name = "DIRS")]
    pub search_path: Vec<String>,
}

/// The registry: the real one on Windows; none (an empty one) elsewhere.
pub fn host_registry() -> Box<dyn RegistryWrite> {
    #[cfg(windows)]
    {
        Box::new(condafix_detect::SystemRegistry)
    }
    #[cfg(not(windows))]
    {
        Box::new(condafix_detect::registry::FakeRegistry::empty())
    }
}

pub struct Machine {
    pub env: ProcessEnv,
    pub registry: Box<dyn RegistryWrite>,
}

impl Machine {
    pub fn new() -> Self {
        Self {
            env: ProcessEnv,
            registry: host_registry(),
        }
    }

    pub fn host(&self) -> HostInfo<'_> {
        HostInfo::new(&self.env, self.registry.as_ref(), cfg!(windows))
    }

    /// What an unactivated program on this machine sees, with the command line's overrides.
    pub fn search_context(&self, args: &TargetArgs) -> SearchContext {
        let mut ctx = if cfg!(windows) {
            match SearchContext::from_registry(&self.env, self.registry.as_ref()) {
                Ok(ctx) => ctx,
                Err(e) => {
                    crate::printer::Printer::new(false)
                        .warn(&format!("{e}; using this process's PATH instead"));
                    SearchContext::from_env(&self.env, true)
                }
            }
        } else {
            SearchContext::from_env(&self.env, false)
        };
        if let Some(root) = &args.system_root {
            ctx.system_root = Some(root.clone());
        }
        if !args.search_path.is_empty() {
            ctx.path = args
                .search_path
                .iter()
                .flat_map(|s| split_windows_path_list(s))
                .collect();
            ctx.path_sources = vec![PathSource {
                source: "--search-path".into(),
                value_type: None,
                raw: args.search_path.join(";"),
            }];
        }
        ctx
    }

    /// Roll back (or finish) what interrupted runs left in these prefixes (or every prefix
    /// found), registry values included.
    pub fn recover(&self, prefixes: &[PathBuf]) -> anyhow::Result<Vec<Recovery>> {
        let mut out = Vec::new();
        for d in condafix_detect::discover::discover(&self.host(), prefixes).prefixes {
            if let Some(r) = condafix_txn::recover_with(
                &d.path,
                condafix_txn::RetryPolicy::default(),
                Some(self.registry.as_ref()),
            )? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Apply plan parts to one prefix: the one transaction path, with this machine's registry.
    pub fn apply(
        &self,
        prefix: &std::path::Path,
        command: &str,
        parts: &[&dyn Changes],
        faults: &Faults,
    ) -> Result<Applied, condafix_txn::TxnError> {
        condafix_txn::apply(prefix, command, parts, Some(self.registry.as_ref()), faults)
    }

    /// Discover (or take the given prefixes) and detect.
    pub fn detect(&self, args: &TargetArgs) -> anyhow::Result<Report> {
        let ctx = self.search_context(args);
        Ok(condafix_detect::detect_with(
            &self.host(),
            &args.prefixes,
            &ctx,
        )?)
    }
}
