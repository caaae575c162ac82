//! The contacts CSV: streamed row by row, each row classified as callable, invalid, a duplicate
//! or suppressed.
//!
//! Nothing here holds the file in memory: records are read a batch at a time, and row identity
//! is checked against a table of 64-bit fingerprints of the keys seen ([`seen`]: 15 to 30 bytes
//! a row, never the rows themselves). What a row is on its own ([`check`]) is worked out on
//! worker threads; what the rows above decide about it ([`Settle`]: repeated keys or numbers,
//! suppression) in CSV order, on the caller's thread ([`parallel`]).
//! Rows are reported by the line of the file they start on.

mod parallel;
mod seen;
pub mod suppress;

use std::fs::File;
use std::io::{self, BufReader};

use seen::Seen;
pub use suppress::Suppression;

use crate::campaign::Campaign;
use crate::csvfile::{LineIndex, builder};
use crate::phone::{self, PhoneError};
use crate::schedule::zone::TzSource;

/// A row that can be called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The line of the CSV the row starts on.
    pub line: u64,
    /// Row identity: the key column's value, or the phone number in E.164.
    pub key: String,
    /// E.164.
    pub phone: String,
    /// The row's cells, in header order.
    pub values: Vec<String>,
    /// The contact's IANA zone: from the timezone column, else inferred from the number, else
    /// `schedule.timezone` (see [`crate::schedule::zone`]); `None` when nothing tells and the
    /// campaign has no schedule.
    pub timezone: Option<String>,
    /// Where `timezone` came from; `None` exactly when `timezone` is.
    pub tz_source: Option<TzSource>,
    /// When calls stop for it: its `input.deadline_column` less `schedule.stop_before` (see
    /// [`crate::schedule::deadline`]); `None` without a deadline column.
    pub cutoff: Option<jiff::Timestamp>,
}

/// Why a row cannot be called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    #[error("has {found} cells, the header has {expected}")]
    CellCount { found: usize, expected: usize },
    #[error(
        "is not valid UTF-8 (its `{column}` cell{}); the file was probably saved by Excel as \
         \"CSV (Comma delimited)\", which writes Windows-1252: save it as \"CSV UTF-8 (Comma \
         delimited)\" instead",
        windows_1252.as_ref().map(|t| format!(
            " reads {} in Windows-1252",
            crate::text::escape_control(&format!("{t:?}"))
        )).unwrap_or_default()
    )]
    NotUtf8 {
        column: String,
        /// The cell read as Windows-1252, to recognise it by (`None`: not that either).
        windows_1252: Option<String>,
    },
    #[error("{}: {error}", crate::text::escape_control(&format!("{raw:?}")))]
    Phone { raw: String, error: PhoneError },
    #[error("has an empty `{0}` (the key column)")]
    EmptyKey(String),
    #[error("key {key:?} is also on line {first_line}")]
    DuplicateKey { key: String, first_line: u64 },
    #[error("{0:?} is not an IANA time zone{hint}", hint = zone_hint(.0))]
    TimeZone(String),
    #[error(
        "{phone}: no time zone is known for it ({}the number does not tell one) and \
         schedule.require_known_timezone is on, so it is not called; fill in its zone, or turn \
         the option off to call it in schedule.timezone",
        column.as_ref().map(|c| format!("its `{c}` cell is empty and ")).unwrap_or_default()
    )]
    ZoneRequired {
        phone: String,
        column: Option<String>,
    },
    #[error("{0}")]
    Render(crate::template::RenderError),
    #[error(
        "has an empty `{0}` (the deadline column): with no deadline, calls could not know when to stop"
    )]
    NoDeadline(String),
    #[error(
        "{}: its `{column}` is not a date or a date and time; write 2026-12-04 09:00 (in the \
         row's zone), 2026-12-04, or 2026-12-04T09:00:00+00:00",
        crate::text::escape_control(&format!("{raw:?}"))
    )]
    Deadline { column: String, raw: String },
}

/// What to write instead of an unknown zone name.
fn zone_hint(name: &str) -> String {
    match crate::zones::suggest(name) {
        Some(zone) => format!(" (did you mean {zone}?)"),
        None => {
            " (write a name like America/Chicago, or leave the cell empty to use the number's zone)"
                .to_owned()
        }
    }
}

impl RowProblem {
    /// A short label used to group rows in reports.
    pub fn label(&self) -> &'static str {
        match self {
            RowProblem::CellCount { .. } => "wrong number of cells",
            RowProblem::NotUtf8 { .. } => "not UTF-8",
            RowProblem::Phone { error, .. } => error.label(),
            RowProblem::EmptyKey(_) => "empty key",
            RowProblem::DuplicateKey { .. } => "duplicate key",
            RowProblem::TimeZone(_) => "unknown time zone",
            RowProblem::ZoneRequired { .. } => "no known time zone (require_known_timezone)",
            RowProblem::Render(_) => "template could not be rendered",
            RowProblem::NoDeadline(_) => "no deadline",
            RowProblem::Deadline { .. } => "unreadable deadline",
        }
    }
}

/// Every reason a row cannot be called, in the order they were found; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(Vec<RowProblem>);

impl Problems {
    pub fn one(problem: RowProblem) -> Problems {
        Problems(vec![problem])
    }

    pub fn iter(&self) -> std::slice::Iter<'_, RowProblem> {
        self.0.iter()
    }

    /// The first problem found: the one a row is grouped under when one group is enough.
    pub fn first(&self) -> &RowProblem {
        &self.0[0]
    }
}

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// What the campaign does with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Callable(Contact),
    Invalid {
        line: u64,
        key: Option<String>,
        problems: Problems,
    },
    /// Same phone number as an earlier row, in a campaign without a key column: not called.
    Duplicate {
        line: u64,
        phone: String,
        first_line: u64,
    },
    /// The number is on a suppression list: never called.
    Suppressed {
        line: u64,
        key: String,
        phone: String,
    },
}

impl Row {
    pub fn line(&self) -> u64 {
        match self {
            Row::Callable(c) => c.line,
            Row::Invalid { line, .. }
            | Row::Duplicate { line, .. }
            | Row::Suppressed { line, .. } => *line,
        }
    }

    /// The row's identity, when it has one.
    pub fn key(&self) -> Option<&str> {
        match self {
            Row::Callable(c) => Some(&c.key),
            Row::Invalid { key, .. } => key.as_deref(),
            Row::Duplicate { phone, .. } => Some(phone),
            Row::Suppressed { key, .. } => Some(key),
        }
    }
}

/// A CSV read error that stops the scan (the file vanished, a disk error).
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct ReadError {
    pub path: String,
    pub line: u64,
    pub message: String,
}

/// The campaign's contacts CSV, record by record, each with the line it starts on.
pub struct Reader<'a> {
    campaign: &'a Campaign,
    csv: csv::Reader<LineIndex<BufReader<File>>>,
    /// The file's size in bytes, to estimate how many rows it has.
    size: u64,
    /// The caller writes every row somewhere (see [`Reader::writing`]).
    writing: bool,
}

impl std::fmt::Debug for Reader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("path", &self.campaign.input.path)
            .finish_non_exhaustive()
    }
}

impl<'a> Reader<'a> {
    pub fn open(campaign: &'a Campaign) -> io::Result<Reader<'a>> {
        let file = File::open(&campaign.input.path)?;
        let size = file.metadata()?.len();
        let mut csv =
            builder(campaign.input.delimiter).from_reader(LineIndex::new(BufReader::new(file)));
        csv.byte_headers().map_err(io::Error::other)?;
        Ok(Reader {
            campaign,
            csv,
            size,
            writing: false,
        })
    }

    /// Reads the next record into `record`: the line it starts on, or `None` at the end.
    fn read(&mut self, record: &mut csv::ByteRecord) -> Result<Option<u64>, ReadError> {
        match self.csv.read_byte_record(record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let offset = record.position().map_or(0, csv::Position::byte);
                Ok(Some(self.csv.get_mut().line_at(offset)))
            }
            Err(err) => Err(ReadError {
                path: self.campaign.input.path.display().to_string(),
                line: err.position().map_or(0, csv::Position::line),
                message: err.to_string(),
            }),
        }
    }
}

/// One row as the scan hands it over, in CSV order.
#[derive(Debug)]
pub struct Scanned<'r, T> {
    pub row: Row,
    /// What the scan's `work` made of the row: `Some` exactly when `row` is callable.
    pub work: Option<T>,
    pub cells: Cells<'r>,
}

/// The cells of a row as read.
#[derive(Debug, Clone, Copy)]
pub struct Cells<'r>(&'r csv::ByteRecord);

impl Cells<'_> {
    /// The cells as text (invalid UTF-8 replaced), for rows that are reported rather than
    /// called.
    pub fn to_strings(self) -> Vec<String> {
        self.0
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect()
    }
}

/// What a row is on its own, before it is compared with the rows above it.
#[derive(Debug)]
struct Checked<T> {
    line: u64,
    /// The key column's value, trimmed, when the row has a usable one: it claims the key even
    /// when the row is invalid otherwise.
    claim: Option<String>,
    fate: Result<(Contact, T), Invalid>,
}

#[derive(Debug)]
struct Invalid {
    key: Option<String>,
    problems: Vec<RowProblem>,
}

/// Everything about a row that does not depend on other rows, every problem of it, and `work`
/// on it (which may find one more: a template that fails on its values). Pure: the scan runs it
/// on several threads.
fn check<T>(
    campaign: &Campaign,
    record: &csv::ByteRecord,
    line: u64,
    work: &impl Fn(&Contact) -> Result<T, RowProblem>,
) -> Checked<T> {
    let input = &campaign.input;
    let expected = input.columns.len();
    if record.len() != expected {
        // The cells do not line up with the columns: nothing else can be read.
        let found = record.len();
        return Checked {
            line,
            claim: None,
            fate: Err(Invalid {
                key: None,
                problems: vec![RowProblem::CellCount { found, expected }],
            }),
        };
    }
    let mut problems = Vec::new();
    let mut values = Vec::with_capacity(expected);
    let mut unreadable = vec![false; expected];
    for (i, cell) in record.iter().enumerate() {
        match std::str::from_utf8(cell) {
            Ok(text) => values.push(text.to_owned()),
            Err(_) => {
                unreadable[i] = true;
                if problems.is_empty() {
                    problems.push(RowProblem::NotUtf8 {
                        column: input.columns[i].clone(),
                        windows_1252: crate::text::windows_1252(cell),
                    });
                }
                values.push(String::from_utf8_lossy(cell).into_owned());
            }
        }
    }
    let key_from_column = input
        .key_column
        .as_ref()
        .filter(|c| !unreadable[c.index])
        .map(|c| values[c.index].trim().to_owned());
    if let (Some(key), Some(column)) = (&key_from_column, &input.key_column)
        && key.is_empty()
    {
        problems.push(RowProblem::EmptyKey(column.name.clone()));
    }
    let claim = key_from_column.filter(|k| !k.is_empty());
    let raw_phone = &values[input.phone_column.index];
    let phone = match phone::normalize(raw_phone, input.default_region) {
        Ok(phone) => Some(phone),
        Err(error) => {
            let raw = raw_phone.clone();
            problems.push(RowProblem::Phone { raw, error });
            None
        }
    };
    let column_zone = match &input.timezone_column {
        Some(c) if !values[c.index].trim().is_empty() => {
            let name = values[c.index].trim();
            if jiff::tz::db().get(name).is_err() {
                problems.push(RowProblem::TimeZone(name.to_owned()));
                None
            } else {
                Some(name)
            }
        }
        _ => None,
    };
    let zone = phone
        .as_deref()
        .and_then(|phone| crate::schedule::zone::resolve(campaign, column_zone, phone));
    if let Some(phone) = &phone
        && crate::schedule::zone::required_but_unknown(campaign, zone.as_ref())
    {
        let column = input.timezone_column.as_ref().map(|c| c.name.clone());
        let phone = phone.clone();
        problems.push(RowProblem::ZoneRequired { phone, column });
    }
    let cutoff = cutoff(campaign, &values, zone.as_ref(), &mut problems);
    let (timezone, tz_source) = zone.map_or((None, None), |z| (Some(z.name), Some(z.source)));
    let phone = phone.unwrap_or_else(|| raw_phone.trim().to_owned());
    let contact = Contact {
        line,
        key: claim.clone().unwrap_or_else(|| phone.clone()),
        phone,
        values,
        timezone,
        tz_source,
        cutoff,
    };
    let done = match work(&contact) {
        Ok(done) => Some(done),
        Err(problem) => {
            problems.push(problem);
            None
        }
    };
    let fate = match done {
        Some(done) if problems.is_empty() => Ok((contact, done)),
        _ => Err(Invalid {
            key: claim.clone(),
            problems,
        }),
    };
    Checked { line, claim, fate }
}

/// The row's cutoff (see [`crate::schedule::deadline`]), read in its zone (or the campaign's,
/// when the row's is not known); `None` without a deadline column, or with a problem added.
fn cutoff(
    campaign: &Campaign,
    values: &[String],
    zone: Option<&crate::schedule::zone::ContactZone>,
    problems: &mut Vec<RowProblem>,
) -> Option<jiff::Timestamp> {
    let column = campaign.input.deadline_column.as_ref()?;
    let schedule = campaign.schedule.as_ref()?;
    let raw = values[column.index].trim();
    if raw.is_empty() {
        problems.push(RowProblem::NoDeadline(column.name.clone()));
        return None;
    }
    let tz = zone
        .and_then(|z| jiff::tz::db().get(&z.name).ok())
        .unwrap_or_else(|| schedule.timezone.clone());
    let Some(deadline) = crate::schedule::deadline::parse(raw, &tz) else {
        problems.push(RowProblem::Deadline {
            column: column.name.clone(),
            raw: raw.to_owned(),
        });
        return None;
    };
    Some(crate::schedule::deadline::cutoff(
        deadline,
        schedule.stop_before,
        &tz,
    ))
}

fn invalid(line: u64, key: Option<String>, problems: Vec<RowProblem>) -> Row {
    let problems = Problems(problems);
    Row::Invalid {
        line,
        key,
        problems,
    }
}

/// What the rows above decide about a row: repeated identities and suppressed numbers. Rows
/// must come in CSV order.
#[derive(Debug)]
struct Settle<'a> {
    keyed: bool,
    suppression: &'a Suppression,
    seen: Seen,
}

impl Settle<'_> {
    fn row<T>(&mut self, checked: Checked<T>) -> (Row, Option<T>) {
        let line = checked.line;
        // A key is claimed by its first row even when that row is invalid: a later row with the
        // same key is a duplicate, never a silent replacement.
        if let Some(key) = checked.claim
            && let Some(first_line) = self.seen.first_line(&key, line)
        {
            let mut problems = vec![RowProblem::DuplicateKey {
                key: key.clone(),
                first_line,
            }];
            if let Err(invalid) = checked.fate {
                problems.extend(invalid.problems);
            }
            return (invalid(line, Some(key), problems), None);
        }
        let (contact, done) = match checked.fate {
            Ok(callable) => callable,
            Err(Invalid { key, problems }) => return (invalid(line, key, problems), None),
        };
        if !self.keyed
            && let Some(first_line) = self.seen.first_line(&contact.phone, line)
        {
            let phone = contact.phone;
            return (
                Row::Duplicate {
                    line,
                    phone,
                    first_line,
                },
                None,
            );
        }
        if self.suppression.contains(&contact.phone) {
            let Contact { key, phone, .. } = contact;
            return (Row::Suppressed { line, key, phone }, None);
        }
        (Row::Callable(contact), Some(done))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Loads a campaign over `csv` and returns each row's fate as `(line, what, key)`.
    fn rows(key_column: bool, csv: &str) -> Vec<(u64, &'static str, Option<String>)> {
        let dir = tempfile::tempdir().unwrap();
        let key = if key_column { "  key_column: id\n" } else { "" };
        let yaml = format!(
            "input:\n  path: c.csv\n  default_region: US\n{key}call:\n  objective: Hi {{{{ name }}}}\n"
        );
        std::fs::write(dir.path().join("c.yaml"), yaml).unwrap();
        std::fs::write(dir.path().join("c.csv"), csv).unwrap();
        let campaign = Campaign::load(&dir.path().join("c.yaml")).unwrap();
        all_rows(&campaign)
            .into_iter()
            .map(|row| {
                let what = match &row {
                    Row::Callable(_) => "call",
                    Row::Invalid { problems, .. } => problems.first().label(),
                    Row::Duplicate { .. } => "duplicate",
                    Row::Suppressed { .. } => "suppressed",
                };
                (row.line(), what, row.key().map(str::to_owned))
            })
            .collect()
    }

    /// Every row of the campaign's CSV, in the order the scan hands them over.
    pub(crate) fn all_rows(campaign: &Campaign) -> Vec<Row> {
        let mut rows = Vec::new();
        Reader::open(campaign)
            .unwrap()
            .for_each(
                &Suppression::default(),
                |_| Ok(()),
                |scanned| {
                    rows.push(scanned.row);
                    Ok::<_, ReadError>(())
                },
            )
            .unwrap();
        rows
    }

    #[test]
    fn without_a_key_column_the_normalized_number_is_the_identity() {
        let csv =
            "id,name,phone\n1,Ana,(415) 555-0101\n2,Ana,+1 415 555 0101\n3,Wei,212-555-0102\n";
        assert_eq!(
            rows(false, csv),
            vec![
                (2, "call", Some("+14155550101".into())),
                (3, "duplicate", Some("+14155550101".into())),
                (4, "call", Some("+12125550102".into())),
            ]
        );
    }

    #[test]
    fn with_a_key_column_the_key_is_the_identity() {
        // The same number under two keys is two calls; a repeated key is an invalid row, also
        // when the first row with that key is itself invalid.
        let csv = "id,name,phone\nA,Ana,(415) 555-0101\nB,Ana,(415) 555-0101\nA,Wei,212-555-0102\n,Lin,212-555-0103\nC,Bad,555\nC,Good,212-555-0104\n";
        assert_eq!(
            rows(true, csv),
            vec![
                (2, "call", Some("A".into())),
                (3, "call", Some("B".into())),
                (4, "duplicate key", Some("A".into())),
                (5, "empty key", None),
                (6, "invalid phone number", Some("C".into())),
                (7, "duplicate key", Some("C".into())),
            ]
        );
    }
}
