//! `bys-campaign report`: writes the campaign's report page from the state file, at any time
//! (also while a run is going on: it reads one snapshot and takes no lock).
//!
//! stdout carries the path written (one line, for scripts); the human note goes to stderr.

use anyhow::Context as _;

use super::exit::Exit;
use crate::cli::ReportArgs;
use crate::html_report::{self, ReportOptions};

pub fn run(args: &ReportArgs) -> anyhow::Result<Exit> {
    let campaign = super::reading::load_reading(&args.campaign, &args.state)?;
    let store = super::reading::open_state(
        &campaign,
        &args.state,
        format!(
            "report {}",
            crate::text::shell_word(&args.campaign.to_string_lossy())
        ),
    )?;
    let default = html_report::default_path(&campaign, args.state.rehearsal);
    let path = args.output.as_ref().unwrap_or(&default);
    let options = ReportOptions {
        full: args.full,
        rehearsal: args.state.rehearsal,
        state: args.state.state.clone(),
    };
    let written = html_report::write(&store, &campaign, path, &options)
        .with_context(|| format!("reporting on {}", args.campaign.display()))?;
    crate::outln!("{}", written.path.display())?;
    eprintln!(
        "report written to {} ({:.0} KB){}",
        written.path.display(),
        written.bytes as f64 / 1000.0,
        if args.full {
            " (--full: phone numbers, summaries and transcripts in full; share it with care)"
        } else {
            ""
        }
    );
    Ok(Exit::Ok)
}
