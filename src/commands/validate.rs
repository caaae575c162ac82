//! `bys-campaign validate`: every check that can be made without calling anyone.

use anyhow::Context as _;

use crate::campaign::Campaign;
use crate::cli::ValidateArgs;
use crate::exit::Exit;
use crate::report::{self, Options};

pub fn run(args: &ValidateArgs) -> anyhow::Result<Exit> {
    let campaign = Campaign::load(&args.campaign)?;
    let report = report::scan(&campaign, &Options::default())
        .with_context(|| format!("validating {}", args.campaign.display()))?;
    crate::out!("{}", report::human(&campaign, &report))?;
    let invalid = report.invalid_count();
    crate::outln!()?;
    if args.strict && invalid > 0 {
        crate::outln!(
            "Not ready: {invalid} invalid {} (--strict).",
            if invalid == 1 { "row" } else { "rows" }
        )?;
        return Ok(Exit::DataErr);
    }
    match report.to_call {
        0 => crate::outln!("Valid, but there is no row to call.")?,
        1 => crate::outln!("Ready: 1 call to place.")?,
        n => crate::outln!("Ready: {n} calls to place.")?,
    }
    Ok(Exit::Ok)
}
