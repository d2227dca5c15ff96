//! `condafix`: the command line.

// Everything the binary writes goes through its Printer (redaction, control characters, -q).
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod cli;
mod commands;
mod exit;
mod log;
mod machine;
mod outfile;
mod output;
mod printer;
mod progress;
mod render;
mod stores;

use clap::Parser;

/// Fault injection for the crash-safety tests (debug builds only), reported on stderr.
pub fn faults() -> condafix_txn::Faults {
    condafix_txn::Faults::from_env().reporting(|msg| printer::Printer::new(false).error(msg))
}

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::PostInstall(args) => commands::post_install::run(&args),
        cli::Command::Check(args) => commands::check::run(&args),
        cli::Command::Bundle(args) => commands::bundle::run(&args),
        #[cfg(feature = "demo")]
        cli::Command::Demo(args) => commands::demo::run(&args),
        cli::Command::Detect(args) => commands::detect::run(&args),
        cli::Command::Stage(args) => commands::stage::run(&args),
        cli::Command::Config(args) => commands::config::run(&args),
        cli::Command::Verify(args) => commands::verify::run(&args),
        cli::Command::Audit(args) => commands::audit::run(&args),
        cli::Command::Undo(args) => commands::undo::run(&args),
        cli::Command::Report(args) => commands::report::run(&args),
    };
    match result {
        Ok(status) => status.into(),
        Err(err) => {
            let mut text = format!("condafix: error: {err}\n");
            for cause in err.chain().skip(1) {
                text.push_str(&format!("  caused by: {cause}\n"));
            }
            printer::Printer::new(false).error(&text);
            exit::status_for_error(&err).into()
        }
    }
}
