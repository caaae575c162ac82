//! The command line: clap definitions for every subcommand, and nothing else: the commands
//! (`crate::commands::dispatch`) take the parsed values from here.
//!
//! Arguments are parsed here into plain values; each command turns them into validated types
//! (a [`crate::campaign::Campaign`], an API client, …) before doing anything.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Examples:
    ///   bys-campaign validate campaigns/appointment-confirmations.yaml
    ///   bys-campaign validate campaign.yaml --invalid-csv invalid-rows.csv   # every bad row
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
    ///   bys-campaign plan campaign.yaml --contacts appointments-2026-12-04.csv   # a daily CSV
    #[command(verbatim_doc_comment)]
    Plan(PlanArgs),

    /// Place the campaign's calls, follow each to its end, and keep every result.
    ///
    /// Safe to stop and start again at any moment: a run resumes where the last one stopped and
    /// never calls anyone twice by accident. The state lives in a SQLite file beside the
    /// campaign (<name>.state.db); the results CSV is written at the end and on every stop.
    ///
    /// Exit codes: 0 every contact is settled, or --canary calls were made; 75 work remains for
    /// later: --until-idle found nothing more due now, a cap stopped it with contacts left (the
    /// cap is named), another run holds the state file, or the API answered only errors for 15
    /// minutes; 69 the circuit breaker is open; 77 the API refused the run; 78 a configuration
    /// problem (campaign file, API key); 130 stopped by Ctrl-C or SIGTERM.
    ///
    /// Examples:
    ///   bys-campaign run campaigns/appointment-confirmations.yaml --sandbox
    ///   bys-campaign run campaign.yaml --sandbox --start "2026-12-07 06:00" --time-scale 0.0002
    ///   BYS_API_KEY=bys_ak_... bys-campaign run campaigns/appointment-confirmations.yaml
    ///   bys-campaign run campaign.yaml --yes --canary 5         # check 5 real calls first
    ///   bys-campaign run campaign.yaml --yes --until-idle       # from cron: exits 75 while work remains
    ///   /usr/local/bin/bys-campaign run campaign.yaml --yes --until-idle --api-key-file /srv/key   # cron
    #[command(verbatim_doc_comment)]
    Run(Box<RunArgs>),

    /// Show where a campaign stands: contacts by state and outcome, calls in flight, errors.
    ///
    /// Reads the state file only; works while a run is going on.
    ///
    /// Examples:
    ///   bys-campaign status campaigns/appointment-confirmations.yaml
    ///   bys-campaign status campaigns/appointment-confirmations.yaml --json
    #[command(verbatim_doc_comment)]
    Status(StatusArgs),

    /// Explain one contact: its calls, their results and errors, and when it is called next.
    ///
    /// Every attempt, the request sent, each status seen, the result and the errors, and why and
    /// when the contact will be called next, or why never.
    ///
    /// Reads the state file only; works while a run is going on.
    ///
    /// Examples:
    ///   bys-campaign explain campaigns/appointment-confirmations.yaml A-1007
    ///   bys-campaign explain payment-reminders.yaml "+1 416 555 0142"   # no key column: the number
    #[command(verbatim_doc_comment)]
    Explain(ExplainArgs),

    /// Write the results CSV now: the input columns plus status, extracted fields and call data.
    ///
    /// `run` writes it too, at the end and on every stop; `export` works at any time, also
    /// while a run is going on.
    ///
    /// Examples:
    ///   bys-campaign export campaigns/appointment-confirmations.yaml
    ///   bys-campaign export campaigns/appointment-confirmations.yaml -o /tmp/results.csv
    ///   bys-campaign export campaigns/appointment-confirmations.yaml --excel -o results.csv
    ///   bys-campaign export campaigns/appointment-confirmations.yaml -o - | head
    #[command(verbatim_doc_comment)]
    Export(ExportArgs),

    /// Write the campaign's report: one HTML page of what it achieved, to open in a browser.
    ///
    /// The answers to each field first, then how rows became answers, what retries bought, when
    /// people answer (by their local weekday and hour), the cost against the limits, the rows
    /// that need a person, and every run. Self-contained: it loads nothing from the network and
    /// opens offline or as an e-mail attachment. Phone numbers are masked but for their last four
    /// digits and no summary or transcript is included, unless --full.
    ///
    /// `run` refreshes it at the end of every run; `report` works at any time, also while a run
    /// is going on. Prints the path written.
    ///
    /// Examples:
    ///   bys-campaign report campaigns/appointment-confirmations.yaml --rehearsal
    ///   bys-campaign report campaigns/appointment-confirmations.yaml -o /tmp/report.html --full
    #[command(verbatim_doc_comment)]
    Report(ReportArgs),

    /// Run a local simulator of the By Your Side API, for tests and rehearsals.
    ///
    /// Example:
    ///   bys-campaign sandbox --port 8080 --time-scale 0.01
    #[command(verbatim_doc_comment)]
    Sandbox(Box<crate::sandbox::SandboxArgs>),

    /// Print a shell completion script for bys-campaign.
    ///
    /// Examples:
    ///   bys-campaign completions bash > ~/.local/share/bash-completion/completions/bys-campaign
    ///   bys-campaign completions zsh > ~/.zfunc/_bys-campaign       # with fpath+=~/.zfunc
    ///   bys-campaign completions fish > ~/.config/fish/completions/bys-campaign.fish
    #[command(verbatim_doc_comment)]
    Completions(CompletionsArgs),

    /// Print the man page (roff), or write one page per command into a folder.
    ///
    /// Examples:
    ///   bys-campaign man | man -l -
    ///   bys-campaign man --dir ~/.local/share/man/man1
    #[command(verbatim_doc_comment)]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write bys-campaign.1 and one bys-campaign-COMMAND.1 per command into this folder instead
    /// of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The campaign file (YAML).
    pub campaign: PathBuf,

    /// Fail (exit 65) when any contact row is invalid, instead of skipping it.
    #[arg(long)]
    pub strict: bool,

    /// Write every invalid row to this CSV, with every problem it has: its line, the
    /// problems, then its cells as read (the report lists a few lines per problem).
    #[arg(long, value_name = "FILE")]
    pub invalid_csv: Option<PathBuf>,

    /// Check this contacts CSV instead of input.path (e.g. tomorrow's daily CSV).
    #[arg(long, value_name = "FILE")]
    pub contacts: Option<PathBuf>,
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

    /// Plan this contacts CSV instead of input.path (e.g. tomorrow's daily CSV).
    #[arg(long, value_name = "FILE")]
    pub contacts: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StateArg {
    /// The state file [default: <name>.state.db beside the campaign file; with --sandbox,
    /// <name>.rehearsal.state.db, so that a rehearsal never mixes with the live campaign].
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

/// The state file a reading command (`status`, `explain`, `export`) opens.
#[derive(Debug, Args)]
pub struct ReadStateArg {
    /// The state file [default: <name>.state.db beside the campaign file].
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Read the rehearsal's state (<name>.rehearsal.state.db, written by `run --sandbox`)
    /// instead of the live campaign's.
    #[arg(long, conflicts_with = "state")]
    pub rehearsal: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The campaign file (YAML).
    pub campaign: PathBuf,

    #[command(flatten)]
    pub state: StateArg,

    /// Import this contacts CSV instead of input.path: a daily CSV. Rows of earlier imports
    /// that it no longer has are never called again (`removed` when they were never called;
    /// results kept for those that were, listed by `export --all`).
    #[arg(long, value_name = "FILE")]
    pub contacts: Option<PathBuf>,

    /// Rehearse: run against the built-in simulator on a free loopback port, at a fast time
    /// scale. Nobody is called and no API key is needed.
    #[arg(long)]
    pub sandbox: bool,

    /// With --sandbox: real seconds per simulated second. The default 0.001 runs time 1000x
    /// faster (a 3-minute call takes 0.18 s); 0.0002 plays three days of calling windows and
    /// retries in under a minute.
    #[arg(
        long,
        value_name = "SCALE",
        default_value_t = 0.001,
        requires = "sandbox"
    )]
    pub time_scale: f64,

    /// With --sandbox: the simulated instant the rehearsal starts at [default: now], e.g.
    /// "2026-12-07 06:00" (in schedule.timezone) or "2026-12-07T06:00:00-05:00". Calling windows,
    /// retry delays and the results' times all follow the simulated clock.
    #[arg(long, value_name = "DATETIME", requires = "sandbox")]
    pub start: Option<String>,

    /// With --sandbox: a caller ID the rehearsal's account owns, as your real account does
    /// (repeat for several) [default: the sandbox's +14155550100 only]. A call.caller_id the
    /// account does not own is refused (exit 77), as a real account refuses it.
    #[arg(
        long = "caller-id",
        value_name = "E164",
        requires = "sandbox",
        value_parser = parse_e164
    )]
    pub caller_ids: Vec<String>,

    /// API base URL.
    #[arg(
        long,
        env = "BYS_API_URL",
        value_name = "URL",
        conflicts_with = "sandbox"
    )]
    pub api_url: Option<String>,

    /// Read the API key from this file instead of the BYS_API_KEY environment variable.
    #[arg(long, value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,

    /// Place at most N calls in this run (retries included); with contacts left, the run then
    /// exits 75.
    #[arg(long, value_name = "N")]
    pub max_calls: Option<u64>,

    /// For cron: place what is due now, follow those calls to their end, then exit: 0 when the
    /// campaign is finished, 75 when contacts remain for later (the next due time and why are
    /// printed; `status --json` has them as `next_due` and `waiting`), or when a cap stopped it
    /// (--max-calls, limits.max_calls_per_day, max_minutes_per_day, max_calls, max_minutes: the
    /// cap is named). Safe to run again at any time; rows added to the CSV since the last run are
    /// picked up.
    #[arg(long)]
    pub until_idle: bool,

    /// Place N calls, wait for their results, print them and stop, so a person can check the
    /// campaign on real calls before the rest go out. Run again without it to continue.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub canary: Option<u64>,

    /// Close the circuit breaker after it tripped (once the calls have been checked): this run
    /// places calls again, and the breaker counts only calls that end from now on.
    #[arg(long)]
    pub reset_breaker: bool,

    /// Do not ask for confirmation before the first call (required without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Place contacts whose earlier call may or may not have gone out (status `unknown`) again.
    /// Only after checking, e.g. in the provider's dashboard, that they were not called.
    #[arg(long)]
    pub retry_unknown: bool,

    /// Write cells exactly as received, without neutralising spreadsheet formulas.
    #[arg(long)]
    pub raw: bool,

    /// After the first Ctrl-C or SIGTERM, follow the calls already placed for at most this
    /// long (real time, e.g. 30s, 5m), then write the results and exit 130; the next run
    /// follows the calls still going on. Under systemd keep it below TimeoutStopSec.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub stop_grace: std::time::Duration,

    /// Webhook mode: the address the receiver binds (overrides `webhook.listen`; turns webhook
    /// mode on without a `webhook` section). Results are pushed to it; polling becomes rare.
    #[arg(long, value_name = "ADDR:PORT")]
    pub webhook_listen: Option<std::net::SocketAddr>,

    /// Webhook mode: the public https:// URL sent as `webhookUrl`, a tunnel or reverse proxy
    /// forwarding to the receiver (overrides `webhook.public_url`).
    #[arg(long, value_name = "URL")]
    pub webhook_public_url: Option<reqwest::Url>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The campaign file (YAML).
    pub campaign: PathBuf,

    #[command(flatten)]
    pub state: ReadStateArg,

    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The campaign file (YAML).
    pub campaign: PathBuf,

    /// The contact's key: the key column's value, or its phone number when the campaign has no
    /// key column.
    pub key: String,

    #[command(flatten)]
    pub state: ReadStateArg,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The campaign file (YAML).
    pub campaign: PathBuf,

    #[command(flatten)]
    pub state: ReadStateArg,

    /// Where to write; `-` writes to standard output [default: output.path of the campaign;
    /// with --rehearsal, the same name with `.rehearsal` before the extension].
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write cells exactly as received, without neutralising spreadsheet formulas
    /// (cells starting with =, +, -, @, tab or CR get a leading ' by default).
    #[arg(long, conflicts_with = "excel")]
    pub raw: bool,

    /// Write for Excel or LibreOffice (as `output.excel: true` does): a UTF-8 byte-order mark,
    /// times in schedule.timezone without fractions, phone numbers kept as text.
    #[arg(long)]
    pub excel: bool,

    /// Also list the contacts of earlier imports that were called and are no longer in the CSV
    /// (the campaign's history, with a daily CSV), after the rows of the current one.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The campaign file (YAML).
    pub campaign: PathBuf,

    #[command(flatten)]
    pub state: ReadStateArg,

    /// Where to write [default: <name>.report.html beside the results CSV; with --rehearsal,
    /// <name>.rehearsal.report.html].
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Include phone numbers in full, and the summary and transcript of the calls of the rows
    /// needing attention. Share such a page with care.
    #[arg(long)]
    pub full: bool,
}

/// A phone number in E.164 (`+14155550100`), normalized.
fn parse_e164(text: &str) -> Result<String, String> {
    crate::phone::strict_e164(text)
        .ok_or_else(|| format!("`{text}` is not an E.164 number such as +14155550100"))
}

/// A duration as the campaign file writes them: `90s`, `5m`, `1h30m`.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::campaign::duration::parse(text)
        .ok_or_else(|| format!("`{text}` is not a duration such as 30s, 5m or 1h30m"))
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
