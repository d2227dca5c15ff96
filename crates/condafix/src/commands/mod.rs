pub mod audit;
pub mod bundle;
pub mod check;
pub mod config;
pub mod demo;
pub mod detect;
pub mod post_install;
pub mod stage;
pub mod undo;
pub mod verify;

/// `$GITHUB_PATH` and `$GITHUB_ENV` when running under GitHub Actions.
pub fn github_files() -> Option<condafix_config::GithubFiles> {
    (std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true")).then(|| {
        condafix_config::GithubFiles {
            path: std::env::var_os("GITHUB_PATH").map(Into::into),
            env: std::env::var_os("GITHUB_ENV").map(Into::into),
        }
    })
}

/// Seconds since the epoch (certificate validity is checked against it).
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
