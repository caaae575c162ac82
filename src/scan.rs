//! The scan of a campaign's contacts, above the store: every row read, checked and its request
//! rendered once, in CSV order. `validate` and `plan` tally the rows ([`crate::report`]); `run`
//! hands them to the state file ([`import`]), which stores what it is given and reads nothing.

use crate::campaign::Campaign;
use crate::contacts::{self, ReadError, Row, RowProblem, Scanned, Suppression};
use crate::render;
use crate::state::{ContactState, RowKind};
use crate::store::{ContactRow, ImportRow, ImportSummary, SkippedRow, Store, StoreError};

/// The contacts could not be read to the end.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot read a suppression file: {0}")]
    Suppression(std::io::Error),
    #[error("cannot open the contacts CSV: {0}")]
    Open(std::io::Error),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("cannot write the invalid rows: {0}")]
    Invalid(std::io::Error),
}

/// A campaign's contacts CSV, opened with its suppression lists loaded, ready to scan.
#[derive(Debug)]
pub struct Scan<'a> {
    campaign: &'a Campaign,
    suppression: Suppression,
    reader: contacts::Reader<'a>,
}

impl<'a> Scan<'a> {
    /// Loads the suppression lists, then opens the CSV.
    pub fn open(campaign: &'a Campaign) -> Result<Scan<'a>, ScanError> {
        let suppression = Suppression::load(&campaign.suppress, campaign.input.default_region)
            .map_err(ScanError::Suppression)?;
        let reader = contacts::Reader::open(campaign).map_err(ScanError::Open)?;
        Ok(Scan {
            campaign,
            suppression,
            reader,
        })
    }

    /// For a caller that writes every row: see [`contacts::Reader::writing`].
    pub fn writing(self) -> Self {
        Scan {
            reader: self.reader.writing(),
            ..self
        }
    }

    /// Suppression entries that are not phone numbers: they suppress nothing.
    pub fn unreadable(&self) -> &[String] {
        &self.suppression.unreadable
    }

    /// Hands every row to `each`, in CSV order, a callable row only once its request renders
    /// (see [`contacts::Reader::for_each`]). Stops at the first error of `each`, or of the CSV.
    pub fn for_each<E: From<ReadError>>(
        self,
        each: impl FnMut(Scanned<'_, ()>) -> Result<(), E>,
    ) -> Result<(), E> {
        let campaign = self.campaign;
        self.reader.for_each(
            &self.suppression,
            |contact| render::check(campaign, contact),
            each,
        )
    }
}

/// The result of an import, with the suppression entries it could not read (the runner checks
/// the lists again before each placement).
#[derive(Debug)]
pub struct Imported {
    pub summary: ImportSummary,
    pub suppression_warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Scan(#[from] ScanError),
}

impl From<ReadError> for ImportError {
    fn from(err: ReadError) -> ImportError {
        ImportError::Scan(err.into())
    }
}

/// Reads the whole CSV into the state file, in one transaction (see [`Store::import`]).
pub fn import(
    store: &mut Store,
    campaign: &Campaign,
    now: jiff::Timestamp,
) -> Result<Imported, ImportError> {
    let scan = Scan::open(campaign)?.writing();
    let suppression_warnings = scan.unreadable().to_vec();
    let summary = store.import(now, |importer| {
        scan.for_each(|scanned| Ok::<_, ImportError>(importer.write(to_store(scanned))?))
    })?;
    Ok(Imported {
        summary,
        suppression_warnings,
    })
}

/// What the state file keeps of a row: a contact for a row with an identity of its own (a
/// suppressed or invalid row too, so that its history follows it), a skipped row otherwise.
fn to_store(scanned: Scanned<'_, ()>) -> ImportRow {
    let Scanned { row, cells, .. } = scanned;
    let keyed = |line, key, kind, phone, reason| {
        ImportRow::Contact(ContactRow {
            line,
            key,
            kind,
            phone,
            timezone: None,
            tz_source: None,
            cutoff: None,
            reason,
            cells: cells.to_strings(),
        })
    };
    let skipped = |line, state, reason| {
        ImportRow::Skipped(SkippedRow {
            line,
            state,
            reason,
            cells: cells.to_strings(),
        })
    };
    match row {
        Row::Callable(contact) => ImportRow::Contact(ContactRow {
            line: contact.line,
            key: contact.key,
            kind: RowKind::Callable,
            phone: Some(contact.phone),
            timezone: contact.timezone,
            tz_source: contact.tz_source,
            cutoff: contact.cutoff,
            reason: None,
            cells: contact.values,
        }),
        Row::Suppressed { line, key, phone } => {
            let reason = format!("{phone} is on a suppression list");
            keyed(line, key, RowKind::Suppressed, Some(phone), Some(reason))
        }
        // A row repeating an earlier key is not that key's contact.
        Row::Invalid {
            line,
            key: Some(key),
            problems,
        } if !matches!(problems.first(), RowProblem::DuplicateKey { .. }) => keyed(
            line,
            key,
            RowKind::Invalid,
            None,
            Some(problems.to_string()),
        ),
        Row::Invalid { line, problems, .. } => {
            skipped(line, ContactState::Invalid, problems.to_string())
        }
        Row::Duplicate {
            line,
            phone,
            first_line,
        } => skipped(
            line,
            ContactState::Duplicate,
            format!("{phone} is also on line {first_line}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::testing;
    use crate::schedule::zone::TzSource;

    /// Every row of `campaign`'s CSV as the scan hands it to the state file.
    fn rows(campaign: &Campaign) -> Vec<ImportRow> {
        let mut rows = Vec::new();
        Scan::open(campaign)
            .unwrap()
            .for_each(|scanned| {
                rows.push(to_store(scanned));
                Ok::<_, ScanError>(())
            })
            .unwrap();
        rows
    }

    fn cells(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|s| s.to_string()).collect()
    }

    fn contact(line: u64, key: &str, kind: RowKind, phone: Option<&str>) -> ContactRow {
        ContactRow {
            line,
            key: key.into(),
            kind,
            phone: phone.map(Into::into),
            timezone: None,
            tz_source: None,
            cutoff: None,
            reason: None,
            cells: vec![],
        }
    }

    #[test]
    fn each_row_becomes_what_the_state_file_keeps_of_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dnc.txt"), "+14155550104\nnot a number\n").unwrap();
        let csv = "id,name,phone\nA,Ana,(212) 555-0101\nB,Wei,555-0102\nA,Lin,(212) 555-0103\n\
                   ,Sam,(212) 555-0105\nD,Eve,(415) 555-0104\n";
        let campaign = testing::campaign(
            dir.path(),
            "  key_column: id\n",
            "suppress: [dnc.txt]\n",
            csv,
        );
        let dnc = dir.path().join("dnc.txt");
        let unreadable = format!(
            "{}:2: \"not a number\": not a valid phone number",
            dnc.display()
        );
        assert_eq!(Scan::open(&campaign).unwrap().unreadable(), [unreadable]);
        let expected = vec![
            ImportRow::Contact(ContactRow {
                timezone: Some("America/New_York".into()),
                tz_source: Some(TzSource::Number),
                cells: cells(&["A", "Ana", "(212) 555-0101"]),
                ..contact(2, "A", RowKind::Callable, Some("+12125550101"))
            }),
            ImportRow::Contact(ContactRow {
                reason: Some("\"555-0102\": not a valid phone number".into()),
                cells: cells(&["B", "Wei", "555-0102"]),
                ..contact(3, "B", RowKind::Invalid, None)
            }),
            // A repeated key and an empty one: rows without an identity of their own.
            ImportRow::Skipped(SkippedRow {
                line: 4,
                state: ContactState::Invalid,
                reason: "key \"A\" is also on line 2".into(),
                cells: cells(&["A", "Lin", "(212) 555-0103"]),
            }),
            ImportRow::Skipped(SkippedRow {
                line: 5,
                state: ContactState::Invalid,
                reason: "has an empty `id` (the key column)".into(),
                cells: cells(&["", "Sam", "(212) 555-0105"]),
            }),
            ImportRow::Contact(ContactRow {
                reason: Some("+14155550104 is on a suppression list".into()),
                cells: cells(&["D", "Eve", "(415) 555-0104"]),
                ..contact(6, "D", RowKind::Suppressed, Some("+14155550104"))
            }),
        ];
        assert_eq!(rows(&campaign), expected);

        // Keyed by the number: a second row with it is a duplicate.
        let csv = "name,phone\nAna,(212) 555-0101\nWei,212-555-0101\n";
        let campaign = testing::campaign(dir.path(), "", "", csv);
        let expected = vec![
            ImportRow::Contact(ContactRow {
                timezone: Some("America/New_York".into()),
                tz_source: Some(TzSource::Number),
                cells: cells(&["Ana", "(212) 555-0101"]),
                ..contact(2, "+12125550101", RowKind::Callable, Some("+12125550101"))
            }),
            ImportRow::Skipped(SkippedRow {
                line: 3,
                state: ContactState::Duplicate,
                reason: "+12125550101 is also on line 2".into(),
                cells: cells(&["Wei", "212-555-0101"]),
            }),
        ];
        assert_eq!(rows(&campaign), expected);
    }
}
