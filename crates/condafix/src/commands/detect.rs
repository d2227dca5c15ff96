use condafix_detect::discover::HostInfo;
use condafix_detect::registry::Registry;
use condafix_detect::{split_windows_path_list, PathSource, ProcessEnv, SearchContext};

use crate::cli::DetectArgs;
use crate::exit::ExitStatus;
use crate::render;

pub fn run(args: &DetectArgs) -> anyhow::Result<ExitStatus> {
    let env = ProcessEnv;
    let registry = host_registry();
    let host = HostInfo::new(&env, registry.as_ref(), cfg!(windows));
    let mut ctx = host_search_context(&env, registry.as_ref());
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
    let report = condafix_detect::detect_with(&host, &args.prefixes, &ctx)?;
    if args.json {
        let text = serde_json::to_string_pretty(&report)?;
        println!("{text}");
    } else if !args.quiet {
        eprint!("{}", render::detect_report(&report));
    }
    Ok(if report.all_healthy() {
        ExitStatus::Healthy
    } else {
        ExitStatus::NeedsFix
    })
}

/// The registry: the real one on Windows; none (an empty one) elsewhere.
fn host_registry() -> Box<dyn Registry> {
    #[cfg(windows)]
    {
        Box::new(condafix_detect::SystemRegistry)
    }
    #[cfg(not(windows))]
    {
        Box::new(condafix_detect::registry::FakeRegistry::empty())
    }
}

/// What an unactivated program on this machine sees: on Windows the machine and user `Path`
/// from the registry (this process's PATH may be an activated shell's); elsewhere nothing.
fn host_search_context(env: &ProcessEnv, registry: &dyn Registry) -> SearchContext {
    if cfg!(windows) {
        match SearchContext::from_registry(env, registry) {
            Ok(ctx) => return ctx,
            Err(e) => eprintln!("condafix: warning: {e}; using this process's PATH instead"),
        }
    }
    SearchContext::from_env(env, cfg!(windows))
}
