//! `bys-campaign export`: writes the results CSV from the state file, at any time (also while a
//! run is going on: the export reads one consistent snapshot and takes no lock).
//!
//! stdout carries the path written (one line, for scripts); the human note goes to stderr.

use anyhow::Context as _;

use crate::campaign::Campaign;
use crate::cli::ExportArgs;
use crate::exit::Exit;
use crate::export::{self, ExportOptions};

pub fn run(args: &ExportArgs) -> anyhow::Result<Exit> {
    let campaign = Campaign::load(&args.campaign)?;
    let store = super::open_state(
        &campaign,
        &args.state,
        format!(
            "export {}",
            super::shell_word(&args.campaign.to_string_lossy())
        ),
    )?;
    let default = campaign.results_path(args.state.rehearsal);
    let path = args.output.as_ref().unwrap_or(&default);
    let options = ExportOptions { raw: args.raw };
    let summary = export::write(&store, &campaign, path, options)
        .with_context(|| format!("exporting {}", args.campaign.display()))?;
    crate::outln!("{}", summary.path.display())?;
    eprintln!(
        "exported {} to {}{}",
        match summary.rows {
            1 => "1 row".to_owned(),
            n => format!("{n} rows"),
        },
        summary.path.display(),
        if args.raw {
            " (--raw: formulas not neutralised)"
        } else {
            ""
        }
    );
    Ok(Exit::Ok)
}
