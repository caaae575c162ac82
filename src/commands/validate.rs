//! `bys-campaign validate`: every check that can be made without calling anyone.

use anyhow::Context as _;

use super::exit::Exit;
use crate::campaign::{Campaign, LoadOptions};
use crate::cli::ValidateArgs;
use crate::contacts::Problems;
use crate::report::{self, Options};
use crate::scan::ScanError;

pub fn run(args: &ValidateArgs) -> anyhow::Result<Exit> {
    let options = LoadOptions {
        contacts: args.contacts.clone(),
        ..LoadOptions::default()
    };
    let campaign = Campaign::load_with(&args.campaign, &options)?;
    let report = match &args.invalid_csv {
        None => report::scan(&campaign, &Options::default()),
        Some(path) => write_invalid(&campaign, path),
    }
    .with_context(|| format!("validating {}", args.campaign.display()))?;
    crate::out!("{}", report::human(&campaign, &report))?;
    let invalid = report.invalid_count();
    if let Some(path) = &args.invalid_csv {
        crate::outln!(
            "\nEvery invalid row, with every problem it has: {} ({})",
            path.display(),
            match invalid {
                1 => "1 row".to_owned(),
                n => format!("{n} rows"),
            }
        )?;
    }
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

/// Scans the contacts, writing each invalid row to `path` as it comes (the file appears whole,
/// or not at all): `line`, `problems`, then the row's cells as read.
fn write_invalid(campaign: &Campaign, path: &std::path::Path) -> Result<report::Report, ScanError> {
    let written = crate::atomic::write(path, |file| {
        let mut out = csv::WriterBuilder::new().flexible(true).from_writer(file);
        let mut header = vec!["line".to_owned(), "problems".to_owned()];
        header.extend(campaign.input.columns.iter().cloned());
        out.write_record(&header)
            .map_err(|e| ScanError::Invalid(io(e)))?;
        let mut each = |line: u64, cells: Vec<String>, problems: &Problems| {
            let mut record = vec![line.to_string(), problems.to_string()];
            record.extend(cells);
            out.write_record(&record).map_err(io)
        };
        let report = report::scan_each(campaign, &Options::default(), Some(&mut each))?;
        out.flush().map_err(ScanError::Invalid)?;
        Ok(report)
    });
    written.map_err(|e| match e {
        crate::atomic::Error::Io(e) => ScanError::Invalid(e),
        crate::atomic::Error::Fill(e) => e,
    })
}

fn io(err: csv::Error) -> std::io::Error {
    err.into()
}
