//! What the reading commands (`status`, `explain`, `export`, `report`) share: the campaign as its
//! last run imported it, and the state file opened without the runner's lock.

use std::path::PathBuf;

use super::error::NotStarted;
use crate::campaign::{Campaign, LoadOptions};
use crate::store::Store;

/// State-file meta key: the contacts CSV the last run imported (`run --contacts`, a `{date}` in
/// `input.path`), as an absolute path.
pub const CONTACTS_FILE: &str = "contacts_file";

/// Loads the campaign for a reading command (`status`, `explain`, `export`): with the contacts
/// CSV its last run imported while that file is there (a daily CSV), else `input.path` (the
/// latest day's file of a `{date}` path).
pub(super) fn load_reading(
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
pub(super) fn open_state(
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
