//! One module per subcommand. Each takes its parsed arguments, does the work and returns the
//! exit status; none of them calls `process::exit`.

mod error;
pub mod exit;
pub mod explain;
pub mod export;
pub mod manual;
pub mod plan;
mod reading;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod status;
pub mod validate;

use crate::cli::{Cli, Command};
use exit::Exit;

/// Runs the parsed command line and returns how the process should exit.
pub fn dispatch(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Sandbox(args) => sandbox::run(&args),
        Command::Completions(args) => manual::completions(&args),
        Command::Man(args) => manual::man(&args),
    }
}
