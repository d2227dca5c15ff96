//! `condafix`: the command line.

mod cli;
mod commands;
mod exit;
mod render;

use clap::Parser;

use crate::exit::ExitStatus;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Detect(args) => commands::detect::run(&args),
    };
    match result {
        Ok(status) => status.into(),
        Err(err) => {
            eprintln!("condafix: error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitStatus::Error.into()
        }
    }
}
