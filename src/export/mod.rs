//! The results CSV: one line per row of the CSV last imported, in CSV order, with what became
//! of it; with [`ExportOptions::history`], then the contacts of earlier imports that were
//! called and are no longer in the CSV (a daily CSV leaves yesterday's rows out).
//!
//! Columns: the input columns in their original order, then `status`, `attempts`,
//! `last_outcome`, one column per extracted field, `summary`, `call_id`, `dialled`, `started_at`,
//! `ended_at`, `duration_sec`, `recording_url`, `error`, `reason`, `next_call_at`, `transcript`
//! when `output.transcript` is on, then the contact's `timezone` and `tz_source` (where the
//! zone came from: `column`, `number` or `default`). An added column whose name is already taken
//! (by an input column, or by an earlier added column) gets a `bys_` prefix, repeated until the
//! name is free: `status` becomes `bys_status` next to an input `status` column.
//!
//! The columns keep the story: `dialled` is the number the call shown was placed to (the
//! `phone` cell may have been edited since), `last_outcome` is the outcome of the last call even
//! when the row has since become `suppressed`, and `reason` and `next_call_at` say for every row
//! why and when it is called next, or why never (the same words as `explain`, from
//! [`crate::fate`]).
//!
//! The mapping from a [`ResultRow`] to cells ([`Layout::cells`]) is a pure function, and so is
//! [`to_csv`]; [`write`] streams the rows of a state file through them into a file written
//! atomically (temp file in the same folder, fsync, rename), so a reader never sees half a file
//! and a failed export leaves the previous one intact.
//!
//! Here: the options and the atomic write; in `layout`: the columns and the cells of a row; in
//! `cell`: how one cell is written (neutralised, kept as text, a time, a transcript).
//!
//! Formula neutralisation (default; [`ExportOptions::raw`] turns it off): a cell of text that
//! comes from the contacts CSV or the API and starts with `=`, `+`, `-`, `@`, tab or CR gets a
//! leading `'`, so a spreadsheet shows it instead of running it. This includes phone numbers
//! written `+14155550123` in input columns: a spreadsheet would otherwise evaluate them as
//! arithmetic and drop the `+`, so the quote keeps them intact. A cell that is a plain number
//! (`-15.00`, `3`) is not a formula and is left as it is, so a spreadsheet reads its value.
//! Values this program produces (`status`, `attempts`, times, `duration_sec`) and JSON numbers
//! and booleans of typed fields are never touched.
//!
//! For spreadsheets ([`ExportOptions::excel`], `output.excel: true`, `export --excel`): a UTF-8
//! byte-order mark (Excel reads the file as UTF-8, so `Zoë Ó'Brien` stays whole), times in
//! `schedule.timezone` as `2026-12-04 09:00:12` (no fraction, no zone suffix: Excel reads them
//! as date-times), and cells a spreadsheet would turn into numbers and damage written as
//! `="02079460107"`, which it keeps as that text: the phone column and `dialled` always, any
//! other cell when it is a number with a leading zero, of 12 digits or more, or with a leading
//! `+`.

mod cell;
mod layout;

use std::io;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::campaign::Campaign;
use crate::store::{Store, StoreError};

pub use cell::{neutralise, transcript_text};
pub use layout::{Layout, UNKNOWN_NOTE, status, to_csv};

/// The UTF-8 byte-order mark a spreadsheet file starts with.
pub const BOM: &str = "\u{feff}";

/// How to write the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportOptions {
    /// Write cells exactly as received, without neutralising spreadsheet formulas.
    pub raw: bool,
    /// For a spreadsheet: byte-order mark, local times, phone-like cells kept as text.
    pub excel: bool,
    /// Also the contacts of earlier imports no longer in the CSV that were called, after the
    /// rows of the CSV (`export --all`).
    pub history: bool,
    /// The instant `reason` and `next_call_at` are judged at.
    pub now: Timestamp,
}

impl ExportOptions {
    /// Plain results (formulas neutralised, times in UTC), judged at `now`.
    pub fn at(now: Timestamp) -> ExportOptions {
        ExportOptions {
            raw: false,
            excel: false,
            history: false,
            now,
        }
    }
}

/// What [`write`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExportSummary {
    pub path: PathBuf,
    /// Data rows (the header not counted).
    pub rows: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the results to {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// Writes the results of `store` to `path` atomically, creating its folder if needed. The
/// runner calls this at the end of a run and on every stop; `export` calls it at any time.
pub fn write(
    store: &Store,
    campaign: &Campaign,
    path: &Path,
    options: ExportOptions,
) -> Result<ExportSummary, ExportError> {
    let failed = |source| ExportError::Write {
        path: path.to_owned(),
        source,
    };
    let rows = crate::atomic::write(path, |file| stream(store, campaign, file, options, &failed))
        .map_err(|e| match e {
        crate::atomic::Error::Io(source) => failed(source),
        crate::atomic::Error::Fill(e) => e,
    })?;
    Ok(ExportSummary {
        path: path.to_owned(),
        rows,
    })
}

/// Streams the results of `store` into `out` (a file, or standard output for `export -o -`),
/// the header first; returns how many rows it wrote. `failed` names where a write error
/// happened.
pub fn stream(
    store: &Store,
    campaign: &Campaign,
    mut out: impl io::Write,
    options: ExportOptions,
    failed: &dyn Fn(io::Error) -> ExportError,
) -> Result<u64, ExportError> {
    let layout = Layout::for_campaign(campaign);
    if options.excel {
        out.write_all(BOM.as_bytes()).map_err(failed)?;
    }
    let mut out = csv::Writer::from_writer(out);
    out.write_record(&layout.header)
        .map_err(|e| failed(e.into()))?;
    let rows = store.for_each_result(options.history, |row| {
        out.write_record(layout.cells(&row, options))
            .map_err(|e| failed(e.into()))
    })?;
    out.flush().map_err(failed)?;
    Ok(rows)
}

#[cfg(test)]
mod write_tests {
    use std::fs;

    use super::layout::tests::opts;
    use super::*;
    use crate::store::results_tests::{break_contact, midway, rows};

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn writes_the_rows_of_the_state_file_into_a_new_folder() {
        let dir = tempfile::tempdir().unwrap();
        let (campaign, store) = midway(dir.path());
        let path = dir.path().join("results/deep/out.csv");
        let summary = write(&store, &campaign, &path, opts()).unwrap();
        assert_eq!(
            summary,
            ExportSummary {
                path: path.clone(),
                rows: 6
            },
            "Z, called and then removed from the CSV, is history"
        );
        let all = rows(&store);
        let expected = to_csv(&Layout::for_campaign(&campaign), &all[..6], opts());
        assert_eq!(fs::read_to_string(&path).unwrap(), expected);
        assert!(expected.starts_with("id,name,phone,status,attempts,last_outcome,summary,"));
        assert_eq!(leftovers(path.parent().unwrap()), Vec::<String>::new());
        // With the history, Z follows the rows of the CSV.
        let history = ExportOptions {
            history: true,
            ..opts()
        };
        let summary = write(&store, &campaign, &path, history).unwrap();
        assert_eq!(summary.rows, 7);
        let expected = to_csv(&Layout::for_campaign(&campaign), &all, history);
        assert_eq!(fs::read_to_string(&path).unwrap(), expected);
    }

    #[test]
    fn a_failed_export_leaves_the_previous_file_intact_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let (campaign, store) = midway(dir.path());
        let path = dir.path().join("out.csv");
        write(&store, &campaign, &path, opts()).unwrap();
        let before = fs::read_to_string(&path).unwrap();

        // The stream fails on the fifth row, after the first ones reached the temp file.
        break_contact(&store, "D");
        let err = write(&store, &campaign, &path, opts()).unwrap_err();
        assert!(
            matches!(err, ExportError::Store(StoreError::Corrupt { .. })),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), before);
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn a_folder_in_the_way_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let (campaign, store) = midway(dir.path());
        let path = dir.path().join("taken");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep.txt"), "mine").unwrap();
        let err = write(&store, &campaign, &path, opts()).unwrap_err();
        assert!(matches!(err, ExportError::Write { .. }), "{err}");
        assert!(err.to_string().contains("taken"), "{err}");
        assert_eq!(fs::read_to_string(path.join("keep.txt")).unwrap(), "mine");
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }
}
