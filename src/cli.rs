//! The command line: clap definitions for every subcommand and the dispatch to [`crate::commands`].
//!
//! Arguments are parsed here into plain values; each command turns them into validated types
//! (a [`crate::campaign::Campaign`], an API client, …) before doing anything.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Check a campaign file, its templates and its contacts without calling anyone.
    ///
    /// Prints a report: rows to call, invalid rows grouped by reason (with line numbers),
    /// duplicates, suppressed numbers and warnings. Invalid rows are skipped, not fatal.
    ///
    /// Exit codes: 0 the campaign can run; 78 the campaign file or a template is broken;
    /// 66 a file it names is missing; 65 with --strict when any row is invalid.
    ///
    /// Example:
    ///   bys-campaign validate campaigns/appointment-confirmations.yaml
    #[command(verbatim_doc_comment)]
    Validate(ValidateArgs),

    /// Dry run: show exactly which calls a campaign would place, without calling anyone.
    ///
    /// Prints the validation report, the first N request bodies exactly as they would be sent
    /// to POST /v1/agent/calls, and how long the campaign would take at its configured limits.
    /// Needs no API key and no network.
    ///
    /// Examples:
    ///   bys-campaign plan campaigns/appointment-confirmations.yaml
    ///   bys-campaign plan campaigns/appointment-confirmations.yaml --row A-1007
    ///   bys-campaign plan campaigns/appointment-confirmations.yaml --show 0 --json
    #[command(verbatim_doc_comment)]
    Plan(PlanArgs),

    /// Run a local simulator of the By Your Side API, for tests and rehearsals.
    ///
    /// Example:
    ///   bys-campaign sandbox --port 8080 --time-scale 0.01
    #[command(verbatim_doc_comment)]
    Sandbox(Box<crate::sandbox::SandboxArgs>),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The campaign file (YAML).
    pub campaign: PathBuf,

    /// Fail (exit 65) when any contact row is invalid, instead of skipping it.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The campaign file (YAML).
    pub campaign: PathBuf,

    /// How many request bodies to print.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub show: usize,

    /// Print the request for this row only (its key: the key column's value, or the phone
    /// number in E.164 when the campaign has no key column).
    #[arg(long, value_name = "KEY")]
    pub row: Option<String>,

    /// Print the plan as one JSON document on stdout instead of the human report.
    #[arg(long)]
    pub json: bool,
}

/// Runs the parsed command line and returns how the process should exit.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Validate(args) => commands::validate::run(&args),
        Command::Plan(args) => commands::plan::run(&args),
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
