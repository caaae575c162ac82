//! The errors of the commands themselves, which [`super::exit::code_for`] turns into exit codes.

use std::path::PathBuf;

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

/// A live run without a key.
#[derive(Debug, thiserror::Error)]
#[error(
    "no API key: set BYS_API_KEY or pass --api-key-file FILE\n  \
     hint: to rehearse without calling anyone, add --sandbox: bys-campaign run {} --sandbox",
    campaign.display()
)]
pub struct NoApiKey {
    pub(crate) campaign: PathBuf,
}
