use std::path::PathBuf;

use anyhow::{bail, Context as _};
use condafix_detect::{split_windows_path_list, EnvSource, PathSource, ProcessEnv, SearchContext};

use crate::cli::DetectArgs;
use crate::exit::ExitStatus;
use crate::render;

pub fn run(args: &DetectArgs) -> anyhow::Result<ExitStatus> {
    let env = ProcessEnv;
    let mut ctx = host_search_context(&env);
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
    let prefixes = prefixes_to_check(args, &env)?;
    let report = condafix_detect::detect(&prefixes, &ctx).context("detection failed")?;
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

/// What an unactivated program on this machine sees: on Windows the machine and user `Path`
/// from the registry (this process's PATH may be an activated shell's); elsewhere nothing.
fn host_search_context(env: &ProcessEnv) -> SearchContext {
    #[cfg(windows)]
    {
        match SearchContext::from_registry(env, &condafix_detect::SystemRegistry) {
            Ok(ctx) => return ctx,
            Err(e) => eprintln!("condafix: warning: {e}; using this process's PATH instead"),
        }
    }
    SearchContext::from_env(env, cfg!(windows))
}

fn prefixes_to_check(args: &DetectArgs, env: &dyn EnvSource) -> anyhow::Result<Vec<PathBuf>> {
    if !args.prefixes.is_empty() {
        return Ok(args.prefixes.clone());
    }
    let installer_step =
        env.var_os("INSTALLER_NAME").is_some() || env.var_os("INSTALLER_UNATTENDED").is_some();
    let from_env = if installer_step {
        env.var_os("PREFIX")
    } else {
        None
    }
    .or_else(|| env.var_os("CONDA_PREFIX"))
    .filter(|v| !v.is_empty());
    match from_env {
        Some(p) => Ok(vec![PathBuf::from(p)]),
        None => bail!(
            "no conda prefix to check: pass --prefix <folder of the install>, e.g. --prefix \"%USERPROFILE%\\anaconda3\""
        ),
    }
}
