//! One module per subcommand. Each takes its parsed arguments, does the work and returns the
//! exit status; none of them calls `process::exit`.

pub mod explain;
pub mod export;
pub mod plan;
pub mod run;
pub mod sandbox;
pub mod status;
pub mod validate;

use std::path::PathBuf;

use crate::campaign::Campaign;
use crate::store::Store;

/// `status` or `export` before any `run` created the state file.
#[derive(Debug, thiserror::Error)]
#[error(
    "no run has started for {campaign}: its state file {state} does not exist\n  \
     hint: start one with `bys-campaign run {campaign}` (or `--sandbox` to rehearse), or name \
     another state file with --state"
)]
pub struct NotStarted {
    pub campaign: PathBuf,
    pub state: PathBuf,
}

/// Opens the campaign's state file for reading, without taking the runner's lock (a run may be
/// going on), and checks that it belongs to this campaign.
fn open_state(campaign: &Campaign, given: &crate::cli::ReadStateArg) -> anyhow::Result<Store> {
    let state = campaign.state_path(given.state.as_deref(), given.rehearsal);
    if !state.exists() {
        return Err(NotStarted {
            campaign: campaign.file.clone(),
            state,
        }
        .into());
    }
    let store = Store::open_existing(&state)?;
    store.check_campaign(&campaign.name)?;
    Ok(store)
}
