//! `condafix`: the command line.

mod cli;
mod commands;
mod exit;
mod machine;
mod progress;
mod render;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Detect(args) => commands::detect::run(&args),
        cli::Command::Stage(args) => commands::stage::run(&args),
        cli::Command::Config(args) => commands::config::run(&args),
        cli::Command::Verify(args) => commands::verify::run(&args),
        cli::Command::Audit(args) => commands::audit::run(&args),
        cli::Command::Undo(args) => commands::undo::run(&args),
    };
    match result {
        Ok(status) => status.into(),
        Err(err) => {
            eprintln!("condafix: error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            exit::status_for_error(&err).into()
        }
    }
}
