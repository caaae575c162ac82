//! The results CSV: one line per input row, in CSV order, with what became of it.
//!
//! Columns: the input columns in their original order, then `status`, `attempts`, one column per
//! extracted field, `summary`, `call_id`, `started_at`, `ended_at`, `duration_sec`,
//! `recording_url`, `error`, and `transcript` when `output.transcript` is on. An added column
//! whose name is already taken (by an input column, or by an earlier added column) gets a `bys_`
//! prefix, repeated until the name is free: `status` becomes `bys_status` next to an input
//! `status` column.
//!
//! The mapping from a [`ResultRow`] to cells ([`Layout::cells`]) is a pure function, and so is
//! [`to_csv`]; [`write`] streams the rows of a state file through them into a file written
//! atomically (temp file in the same folder, fsync, rename), so a reader never sees half a file
//! and a failed export leaves the previous one intact.
//!
//! Formula neutralisation (default; [`ExportOptions::raw`] turns it off): a cell of text that
//! comes from the contacts CSV or the API and starts with `=`, `+`, `-`, `@`, tab or CR gets a
//! leading `'`, so a spreadsheet shows it instead of running it. This includes phone numbers
//! written `+14155550123` in input columns: a spreadsheet would otherwise evaluate them as
//! arithmetic and drop the `+`, so the quote keeps them intact. Values this program produces
//! (`status`, `attempts`, times, `duration_sec`) and JSON numbers and booleans of typed fields
//! are never touched: `-3` in a `number` field is a number, not a formula.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde_json::Value;

use crate::api::record::CallRecord;
use crate::campaign::{Campaign, Field, FieldKind};
use crate::state::ContactState;
use crate::store::{ResultRow, Store, StoreError};

/// Added after the status of an `unknown` row.
pub const UNKNOWN_NOTE: &str =
    "a call may have been placed; not called again unless run with --retry-unknown";

/// How to write the results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Write cells exactly as received, without neutralising spreadsheet formulas.
    pub raw: bool,
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

/// The columns of the results CSV for one campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The whole header row.
    pub header: Vec<String>,
    inputs: usize,
    fields: Vec<Field>,
    transcript: bool,
}

/// The added columns before the field columns, and after them.
const BEFORE_FIELDS: [&str; 2] = ["status", "attempts"];
const AFTER_FIELDS: [&str; 7] = [
    "summary",
    "call_id",
    "started_at",
    "ended_at",
    "duration_sec",
    "recording_url",
    "error",
];

impl Layout {
    pub fn new(inputs: &[String], fields: &[Field], transcript: bool) -> Layout {
        let mut taken: HashSet<String> = inputs.iter().cloned().collect();
        let mut claim = |name: &str| {
            let mut name = name.to_owned();
            while taken.contains(&name) {
                name.insert_str(0, "bys_");
            }
            taken.insert(name.clone());
            name
        };
        // Fixed names claim theirs first, so a field called `summary` is the one renamed.
        let transcript_column = transcript.then_some("transcript");
        let fixed: Vec<String> = BEFORE_FIELDS
            .iter()
            .chain(&AFTER_FIELDS)
            .copied()
            .chain(transcript_column)
            .map(&mut claim)
            .collect();
        let field_names: Vec<String> = fields.iter().map(|f| claim(&f.name)).collect();
        let (before, after) = fixed.split_at(BEFORE_FIELDS.len());
        let mut header = inputs.to_vec();
        header.extend_from_slice(before);
        header.extend(field_names);
        header.extend_from_slice(after);
        Layout {
            header,
            inputs: inputs.len(),
            fields: fields.to_vec(),
            transcript,
        }
    }

    pub fn for_campaign(campaign: &Campaign) -> Layout {
        Layout::new(
            &campaign.input.columns,
            &campaign.fields,
            campaign.output.transcript,
        )
    }

    /// The cells of one result row, in header order.
    pub fn cells(&self, row: &ResultRow, options: ExportOptions) -> Vec<String> {
        let text = |s: &str| {
            if options.raw {
                s.to_owned()
            } else {
                neutralise(s)
            }
        };
        let mut cells = Vec::with_capacity(self.header.len());
        // A CSV edited since the import may have other columns: keep the header's width.
        cells.extend(
            (0..self.inputs).map(|i| row.cells.get(i).map(|c| text(c)).unwrap_or_default()),
        );
        let record = row
            .call
            .as_ref()
            .and_then(|c| c.record.as_deref())
            .and_then(read_record);
        cells.push(status(row).to_owned());
        cells.push(row.calls.to_string());
        for field in &self.fields {
            let value = record
                .as_ref()
                .and_then(|r| r.extracted.as_ref())
                .and_then(|e| e.get(&field.name));
            cells.push(field_cell(field.kind, value, &text));
        }
        let opt = |s: Option<&str>| s.map(&text).unwrap_or_default();
        cells.push(opt(record.as_ref().and_then(|r| r.summary.as_deref())));
        let call_id = row
            .call
            .as_ref()
            .and_then(|c| c.call_id.as_deref())
            .or(record.as_ref().map(|r| r.id.as_str()));
        cells.push(opt(call_id));
        cells.push(time(record.as_ref().and_then(|r| r.started_at)));
        cells.push(time(
            record
                .as_ref()
                .and_then(|r| r.ended_at)
                .or(row.call.as_ref().and_then(|c| c.ended_at)),
        ));
        cells.push(
            record
                .as_ref()
                .and_then(|r| r.duration_sec)
                .map(|d| d.to_string())
                .unwrap_or_default(),
        );
        cells.push(opt(record
            .as_ref()
            .and_then(|r| r.recording_url.as_deref())));
        cells.push(opt(error(row).as_deref()));
        if self.transcript {
            let transcript = record
                .as_ref()
                .and_then(|r| r.transcript.as_ref())
                .map(transcript_text);
            cells.push(opt(transcript.as_deref()));
        }
        cells
    }
}

/// The `status` column: the outcome of a finished contact; `invalid` for one the API refused;
/// `pending` while it may still be called; otherwise the row's state.
pub fn status(row: &ResultRow) -> &'static str {
    match (row.state, row.outcome) {
        (ContactState::Done, Some(outcome)) => outcome.as_str(),
        (ContactState::Done, None) => "invalid",
        (ContactState::Pending | ContactState::Active, _) => "pending",
        (state, _) => state.as_str(),
    }
}

/// The `error` column: why the row was not (or not fully) called, or the last error met.
fn error(row: &ResultRow) -> Option<String> {
    let last = row.last_error.clone();
    match row.state {
        ContactState::Unknown => Some(match &row.reason {
            Some(reason) => format!("{UNKNOWN_NOTE} ({reason})"),
            None => UNKNOWN_NOTE.to_owned(),
        }),
        ContactState::Invalid | ContactState::Duplicate | ContactState::Suppressed => {
            row.reason.clone().or(last)
        }
        ContactState::Done if row.outcome.is_none() => row.reason.clone().or(last),
        ContactState::Done | ContactState::Pending | ContactState::Active => last,
    }
}

fn read_record(json: &str) -> Option<CallRecord> {
    let value: Value = match serde_json::from_str(json) {
        Ok(value) => value,
        Err(err) => {
            tracing::warn!(%err, "unreadable call record in the state file");
            return None;
        }
    };
    CallRecord::from_json(value)
        .inspect_err(|err| tracing::warn!(%err, "unusable call record in the state file"))
        .ok()
}

/// A typed field's cell: booleans `true`/`false` and numbers as JSON writes them (ours, never
/// neutralised); text, and values of an unexpected type, as untrusted text; empty for null.
fn field_cell(kind: FieldKind, value: Option<&Value>, text: &dyn Fn(&str) -> String) -> String {
    match (kind, value) {
        (_, None | Some(Value::Null)) => String::new(),
        (FieldKind::Boolean, Some(Value::Bool(b))) => b.to_string(),
        (FieldKind::Number, Some(Value::Number(n))) => n.to_string(),
        (_, Some(Value::String(s))) => text(s),
        (_, Some(other)) => text(&other.to_string()),
    }
}

fn time(at: Option<Timestamp>) -> String {
    at.map(|t| t.to_string()).unwrap_or_default()
}

/// A transcript as text: a string as is; an array of turns as `Speaker: text` lines (the speaker
/// from `speaker` or `role`, capitalised; the words from `text`, `content` or `message`).
pub fn transcript_text(transcript: &Value) -> String {
    match transcript {
        Value::String(s) => s.clone(),
        Value::Array(turns) => turns
            .iter()
            .map(|turn| match turn {
                Value::String(s) => s.clone(),
                Value::Object(turn) => {
                    let pick = |names: &[&str]| {
                        names
                            .iter()
                            .find_map(|n| turn.get(*n).and_then(Value::as_str))
                            .unwrap_or_default()
                    };
                    let speaker = capitalise(pick(&["speaker", "role", "name"]));
                    let words = pick(&["text", "content", "message"]);
                    if speaker.is_empty() {
                        words.to_owned()
                    } else {
                        format!("{speaker}: {words}")
                    }
                }
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Prefixes `'` to text a spreadsheet would run as a formula.
pub fn neutralise(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// The whole CSV for these rows, as text. Pure: what [`write`] streams, for tests.
pub fn to_csv<'a>(
    layout: &Layout,
    rows: impl IntoIterator<Item = &'a ResultRow>,
    options: ExportOptions,
) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&layout.header).expect("writing to memory");
    for row in rows {
        out.write_record(layout.cells(row, options))
            .expect("writing to memory");
    }
    String::from_utf8(out.into_inner().expect("writing to memory")).expect("cells are UTF-8")
}

/// Writes the results of `store` to `path` atomically, creating its folder if needed. The
/// runner calls this at the end of a run and on every stop; `export` calls it at any time.
pub fn write(
    store: &Store,
    campaign: &Campaign,
    path: &Path,
    options: ExportOptions,
) -> Result<ExportSummary, ExportError> {
    let layout = Layout::for_campaign(campaign);
    let failed = |source| ExportError::Write {
        path: path.to_owned(),
        source,
    };
    let (temp, file) = TempFile::create(path).map_err(failed)?;
    let mut out = csv::Writer::from_writer(io::BufWriter::new(file));
    out.write_record(&layout.header)
        .map_err(|e| failed(e.into()))?;
    let rows = store.for_each_result(|row| {
        out.write_record(layout.cells(&row, options))
            .map_err(|e| failed(e.into()))
    })?;
    let buffered = out.into_inner().map_err(|e| failed(e.into_error()))?;
    let file = buffered.into_inner().map_err(|e| failed(e.into_error()))?;
    file.sync_all().map_err(failed)?;
    drop(file);
    temp.persist().map_err(failed)?;
    Ok(ExportSummary {
        path: path.to_owned(),
        rows,
    })
}

/// A file being written beside its final path; removed on drop unless [`TempFile::persist`]
/// renamed it into place.
#[derive(Debug)]
struct TempFile {
    temp: PathBuf,
    target: PathBuf,
    persisted: bool,
}

impl TempFile {
    /// Creates the folder of `target` if needed, and a new hidden file beside `target`.
    fn create(target: &Path) -> io::Result<(TempFile, File)> {
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
        // Unique per process and instant, so two exports never share a temp file.
        let temp = dir.join(format!(
            ".{}.{}-{}.tmp",
            name.to_string_lossy(),
            std::process::id(),
            Timestamp::now().as_nanosecond()
        ));
        let file = File::options().write(true).create_new(true).open(&temp)?;
        let guard = TempFile {
            temp,
            target: target.to_owned(),
            persisted: false,
        };
        Ok((guard, file))
    }

    /// Renames the (closed, synced) temp file over the target.
    fn persist(mut self) -> io::Result<()> {
        fs::rename(&self.temp, &self.target)?;
        self.persisted = true;
        // The rename is durable once the folder is synced.
        #[cfg(unix)]
        if let Some(dir) = self.target.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.temp);
        }
    }
}
