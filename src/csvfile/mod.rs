//! A CSV file as a table: its header's column names, its first rows, and the line each record
//! starts on. Shared by the campaign's checks (the columns it names exist) and the contacts scan.

mod lines;

use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;

pub use lines::LineIndex;

/// Why the header of the CSV is unusable.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    #[error(transparent)]
    Io(io::Error),
    #[error("the file is empty: the first line must be a header naming the columns")]
    Empty,
    #[error(
        "the header is not valid UTF-8: the file was probably saved by Excel as \"CSV (Comma \
         delimited)\", which writes Windows-1252; save it as \"CSV UTF-8 (Comma delimited)\" \
         instead"
    )]
    NotUtf8,
    #[error("column `{name}` appears twice in the header (columns {first} and {second})")]
    DuplicateColumn {
        name: String,
        first: usize,
        second: usize,
    },
    #[error("cannot read the CSV: {0}")]
    Csv(String),
}

/// The column names of a CSV, from its first row.
pub fn read_header(path: &Path, delimiter: u8) -> Result<Vec<String>, HeaderError> {
    let file = File::open(path).map_err(HeaderError::Io)?;
    if file.metadata().map_err(HeaderError::Io)?.is_dir() {
        return Err(HeaderError::Io(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        )));
    }
    let mut reader = builder(delimiter).from_reader(BufReader::new(file));
    let header = reader
        .byte_headers()
        .map_err(|e| HeaderError::Csv(e.to_string()))?;
    if header.is_empty() {
        return Err(HeaderError::Empty);
    }
    let mut columns: Vec<String> = Vec::with_capacity(header.len());
    for (i, cell) in header.iter().enumerate() {
        let name = std::str::from_utf8(cell)
            .map_err(|_| HeaderError::NotUtf8)?
            .trim()
            .to_owned();
        if let Some(first) = columns.iter().position(|c| *c == name && !name.is_empty()) {
            return Err(HeaderError::DuplicateColumn {
                name,
                first: first + 1,
                second: i + 1,
            });
        }
        columns.push(name);
    }
    Ok(columns)
}

/// The first `n` data rows of a CSV that have as many cells as `width` and are UTF-8, each with
/// the line it starts on: what `validate` tries the templates on before scanning the file.
/// Unreadable rows are skipped (the scan reports them).
pub fn first_rows(path: &Path, delimiter: u8, width: usize, n: usize) -> Vec<(u64, Vec<String>)> {
    let Ok(file) = File::open(path) else {
        return Vec::new();
    };
    let mut reader = builder(delimiter).from_reader(LineIndex::new(BufReader::new(file)));
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    while rows.len() < n && matches!(reader.read_byte_record(&mut record), Ok(true)) {
        let offset = record.position().map_or(0, csv::Position::byte);
        let line = reader.get_mut().line_at(offset);
        let cells: Option<Vec<String>> = record
            .iter()
            .map(|c| std::str::from_utf8(c).ok().map(str::to_owned))
            .collect();
        if let Some(cells) = cells.filter(|c| c.len() == width) {
            rows.push((line, cells));
        }
    }
    rows
}

pub fn builder(delimiter: u8) -> csv::ReaderBuilder {
    let mut b = csv::ReaderBuilder::new();
    // Rows with the wrong number of cells are reported as invalid rows, not read errors.
    b.flexible(true).delimiter(delimiter).has_headers(true);
    b
}
