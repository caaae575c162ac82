//! The command line: clap definitions for every subcommand and the dispatch to [`crate::commands`].
//!
//! Arguments are parsed here into plain values; each command turns them into validated types
//! (a [`crate::campaign::Campaign`], an API client, …) before doing anything.

use clap::{Parser, Subcommand};

use crate::commands;
use crate::exit::Exit;

/// Run outbound AI phone-call campaigns on the By Your Side Agent API.
///
/// A campaign is a YAML file naming a CSV of contacts, an objective template and the fields to
/// extract from each conversation. Start with `validate` and `plan`: they need no API key and
/// call nobody.
#[derive(Debug, Parser)]
#[command(
    name = "bys-campaign",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a local simulator of the By Your Side API, for tests and rehearsals.
    ///
    /// Example:
    ///   bys-campaign sandbox --port 8080 --time-scale 0.01
    #[command(verbatim_doc_comment)]
    Sandbox(crate::sandbox::SandboxArgs),
}

/// Runs the parsed command line and returns how the process should exit.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Sandbox(args) => commands::sandbox::run(&args),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
