//! One module per subcommand. Each takes its parsed arguments, does the work and returns the
//! exit status; none of them calls `process::exit`.

pub mod explain;
pub mod export;
pub mod manual;
pub mod plan;
pub mod run;
pub mod sandbox;
pub mod status;
pub mod validate;

use std::path::PathBuf;

use crate::campaign::{Campaign, LoadOptions};
use crate::cli::{Cli, Command};
use crate::exit::Exit;
use crate::store::Store;

/// Runs the parsed command line and returns how the process should exit.
pub fn dispatch(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Sandbox(args) => sandbox::run(&args),
        Command::Completions(args) => manual::completions(&args),
        Command::Man(args) => manual::man(&args),
    }
}

/// `status`, `explain` or `export` before any `run` created the state file they read.
#[derive(Debug, thiserror::Error)]
pub struct NotStarted {
    pub campaign: PathBuf,
    pub state: PathBuf,
    /// The arguments that were given after `bys-campaign`, for the hint.
    pub command: String,
    /// The rehearsal's state file, when it exists and the live one was asked for: the user
    /// most likely rehearsed with `run --sandbox` and forgot `--rehearsal`.
    pub rehearsal: Option<PathBuf>,
}

impl std::fmt::Display for NotStarted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (campaign, state) = (self.campaign.display(), self.state.display());
        match &self.rehearsal {
            Some(rehearsal) => write!(
                f,
                "no live run has started for {campaign}: its state file {state} does not exist\n  \
                 hint: a rehearsal has ({}): add --rehearsal to read it: `bys-campaign {} \
                 --rehearsal`",
                rehearsal.display(),
                self.command
            ),
            None => write!(
                f,
                "no run has started for {campaign}: its state file {state} does not exist\n  \
                 hint: start one with `bys-campaign run {campaign}` (or `--sandbox` to rehearse), \
                 or name another state file with --state"
            ),
        }
    }
}

/// State-file meta key: the contacts CSV the last run imported (`run --contacts`, a `{date}` in
/// `input.path`), as an absolute path.
pub const CONTACTS_FILE: &str = "contacts_file";

/// Loads the campaign for a reading command (`status`, `explain`, `export`): with the contacts
/// CSV its last run imported while that file is there (a daily CSV), else `input.path` (the
/// latest day's file of a `{date}` path).
fn load_reading(
    file: &std::path::Path,
    given: &crate::cli::ReadStateArg,
) -> anyhow::Result<Campaign> {
    let imported = Campaign::state_path_before_load(file, given.state.as_deref(), given.rehearsal)
        .filter(|state| state.exists())
        .and_then(|state| Store::open_existing(&state).ok())
        .and_then(|store| store.meta(CONTACTS_FILE).ok().flatten())
        .map(PathBuf::from)
        .filter(|path| path.exists());
    let plain = Campaign::load_with(file, &LoadOptions::reading());
    let same = |campaign: &Campaign, path: &PathBuf| {
        std::fs::canonicalize(&campaign.input.path).is_ok_and(|p| &p == path)
    };
    match (plain, imported) {
        // The usual case: the campaign's own CSV, named as the campaign file names it.
        (Ok(campaign), Some(path)) if same(&campaign, &path) => Ok(campaign),
        (Ok(campaign), None) => Ok(campaign),
        (_, Some(path)) => {
            let options = LoadOptions {
                contacts: Some(path),
                ..LoadOptions::reading()
            };
            Ok(Campaign::load_with(file, &options)?)
        }
        (Err(err), None) => Err(err.into()),
    }
}

/// Opens the campaign's state file for reading, without taking the runner's lock (a run may be
/// going on), and checks that it belongs to this campaign.
fn open_state(
    campaign: &Campaign,
    given: &crate::cli::ReadStateArg,
    command: String,
) -> anyhow::Result<Store> {
    let state = campaign.state_path(given.state.as_deref(), given.rehearsal);
    if !state.exists() {
        let rehearsal = Some(campaign.state_path(None, true))
            .filter(|r| given.state.is_none() && !given.rehearsal && r.exists());
        return Err(NotStarted {
            campaign: campaign.file.clone(),
            state,
            command,
            rehearsal,
        }
        .into());
    }
    let store = Store::open_existing(&state)?;
    store.check_campaign(&campaign.name)?;
    Ok(store)
}

/// `text` as one word of a shell command a hint suggests: quoted when it has to be.
pub fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+:=,@".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}
