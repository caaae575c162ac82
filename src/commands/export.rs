//! `bys-campaign export`: writes the results CSV from the state file, at any time (also while a
//! run is going on: the export reads one consistent snapshot and takes no lock).
//!
//! stdout carries the path written (one line, for scripts), or with `-o -` the CSV itself; the
//! human note goes to stderr.

use std::path::Path;

use anyhow::Context as _;

use super::exit::Exit;
use crate::cli::ExportArgs;
use crate::export::{self, ExportError, ExportOptions};
use crate::out::StdoutError;

pub fn run(args: &ExportArgs) -> anyhow::Result<Exit> {
    let campaign = super::reading::load_reading(&args.campaign, &args.state)?;
    let store = super::reading::open_state(
        &campaign,
        &args.state,
        format!(
            "export {}",
            crate::text::shell_word(&args.campaign.to_string_lossy())
        ),
    )?;
    let default = campaign.results_path(args.state.rehearsal);
    let path = args.output.as_ref().unwrap_or(&default);
    let options = ExportOptions {
        raw: args.raw,
        excel: (args.excel || campaign.output.excel) && !args.raw,
        history: args.all,
        now: store.reading_time()?,
    };
    let exporting = || format!("exporting {}", args.campaign.display());
    let (rows, to) = if path == Path::new("-") {
        let failed = |source| ExportError::Write {
            path: "standard output".into(),
            source,
        };
        let stdout = std::io::BufWriter::new(std::io::stdout().lock());
        let rows = match export::stream(&store, &campaign, stdout, options, &failed) {
            Ok(rows) => rows,
            // A reader that went away (`| head`) ends the export quietly.
            Err(ExportError::Write { source, .. }) => return Err(StdoutError(source).into()),
            Err(err) => return Err(anyhow::Error::new(err).context(exporting())),
        };
        (rows, "standard output".to_owned())
    } else {
        let summary = export::write(&store, &campaign, path, options).with_context(exporting)?;
        crate::outln!("{}", summary.path.display())?;
        (summary.rows, summary.path.display().to_string())
    };
    let (census, _) = store.census()?;
    let history = rows.saturating_sub(census.rows);
    eprintln!(
        "exported to {to}: {}{}{}",
        census.line(),
        match history {
            0 => String::new(),
            n => format!(", and {n} called earlier and no longer in the CSV (--all)"),
        },
        if args.raw {
            " (--raw: formulas not neutralised)"
        } else if options.excel {
            " (for a spreadsheet: UTF-8 with a byte-order mark, local times, phone numbers as text)"
        } else {
            ""
        }
    );
    Ok(Exit::Ok)
}
