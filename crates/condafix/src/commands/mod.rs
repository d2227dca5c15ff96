pub mod audit;
pub mod bundle;
pub mod check;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod detect;
pub mod post_install;
pub mod report;
pub mod stage;
pub mod undo;
pub mod verify;

use condafix_config::ConfigOptions;

use crate::cli::ConfigFlags;
use crate::printer::Printer;

/// Under GitHub Actions (`GITHUB_ACTIONS=true`).
pub fn under_github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true")
}

/// `$GITHUB_PATH` and `$GITHUB_ENV` when running under GitHub Actions.
pub fn github_files() -> Option<condafix_config::GithubFiles> {
    under_github_actions().then(|| condafix_config::GithubFiles {
        path: std::env::var_os("GITHUB_PATH").map(Into::into),
        env: std::env::var_os("GITHUB_ENV").map(Into::into),
    })
}

/// Seconds since the epoch (certificate validity is checked against it).
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The config options the shared flags ask for (the OS trust store read here when wanted).
pub fn config_options(flags: &ConfigFlags, printer: &Printer) -> ConfigOptions {
    let system_roots = flags.trust_system_store.then(|| {
        let (certs, errors) = condafix_config::bundle::system_roots();
        for e in errors {
            printer.warn(&format!("the OS trust store: {e}"));
        }
        certs
    });
    ConfigOptions {
        ca_files: flags.ca_files.clone(),
        trust_system_store: flags.trust_system_store,
        system_roots,
        scope: flags.scope.into(),
        condarc: None,
        index_url: flags.index_url.clone(),
        proxy: flags.proxy.clone(),
        remove_insecure: flags.remove_insecure,
        insecure_trusted_hosts: Vec::new(),
        add_to_path: flags.add_to_path,
        system: flags.system,
        fix_env: flags.fix_env,
        github: github_files(),
        now_unix: now_unix(),
        machine_files: crate::stores::machine_files(),
    }
}

/// Ask before changing files, when a person is at a terminal and did not pass `--yes`.
pub fn confirm(changes: usize, printer: &Printer) -> anyhow::Result<bool> {
    use std::io::IsTerminal as _;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive || changes == 0 {
        return Ok(true);
    }
    printer.info(&format!(
        "Apply {changes} change{}? [y/N] ",
        if changes == 1 { "" } else { "s" }
    ));
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "Yes"))
}
