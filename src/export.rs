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

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use crate::api::record::CallRecord;
use crate::campaign::{Campaign, Field, FieldKind, RetryPolicy};
use crate::fate::{self, NextCall, Standing};
use crate::state::ContactState;
use crate::store::{ResultRow, Store, StoreError};

/// Added after the status of an `unknown` row.
pub const UNKNOWN_NOTE: &str =
    "a call may have been placed; not called again unless run with --retry-unknown";

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

/// The columns of the results CSV for one campaign, and what its cells need to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The whole header row.
    pub header: Vec<String>,
    inputs: usize,
    /// The input column holding the number to call.
    phone_column: Option<usize>,
    fields: Vec<Field>,
    transcript: bool,
    retry: RetryPolicy,
    windows: bool,
    /// Where spreadsheet times are read: `schedule.timezone`, else UTC.
    zone: TimeZone,
}

/// The added columns before the field columns, and after them (then `transcript`, if on, then
/// [`ZONE_COLUMNS`]).
const BEFORE_FIELDS: [&str; 3] = ["status", "attempts", "last_outcome"];
/// The contact's zone and where it came from, last.
const ZONE_COLUMNS: [&str; 2] = ["timezone", "tz_source"];
const AFTER_FIELDS: [&str; 10] = [
    "summary",
    "call_id",
    "dialled",
    "started_at",
    "ended_at",
    "duration_sec",
    "recording_url",
    "error",
    "reason",
    "next_call_at",
];

impl Layout {
    /// The columns for these inputs and fields, with the default retry rules, no calling
    /// windows and UTC (see [`Layout::for_campaign`] for a campaign's own).
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
            .chain(ZONE_COLUMNS)
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
            phone_column: None,
            fields: fields.to_vec(),
            transcript,
            retry: RetryPolicy::default(),
            windows: false,
            zone: TimeZone::UTC,
        }
    }

    pub fn for_campaign(campaign: &Campaign) -> Layout {
        let mut layout = Layout::new(
            &campaign.input.columns,
            &campaign.fields,
            campaign.output.transcript,
        );
        layout.phone_column = Some(campaign.input.phone_column.index);
        layout.retry = campaign.retry.clone();
        layout.windows = campaign.schedule.is_some();
        if let Some(schedule) = &campaign.schedule {
            layout.zone = schedule.timezone.clone();
        }
        layout
    }

    /// The cells of one result row, in header order.
    pub fn cells(&self, row: &ResultRow, options: ExportOptions) -> Vec<String> {
        let cell = Cells {
            options,
            zone: &self.zone,
        };
        let text = |s: &str| cell.text(s);
        let mut cells = Vec::with_capacity(self.header.len());
        // A CSV edited since the import may have other columns: keep the header's width.
        cells.extend((0..self.inputs).map(|i| match row.cells.get(i) {
            Some(c) if Some(i) == self.phone_column => cell.phone(c),
            Some(c) => text(c),
            None => String::new(),
        }));
        let record = row
            .call
            .as_ref()
            .and_then(|c| c.record.as_deref())
            .and_then(read_record);
        cells.push(status(row).to_owned());
        cells.push(row.calls.to_string());
        cells.push(
            row.outcome
                .map(|o| o.as_str())
                .unwrap_or_default()
                .to_owned(),
        );
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
        cells.push(
            row.call
                .as_ref()
                .and_then(|c| c.dialled.as_deref())
                .map(|d| cell.phone(d))
                .unwrap_or_default(),
        );
        cells.push(cell.time(record.as_ref().and_then(|r| r.started_at)));
        cells.push(
            cell.time(
                record
                    .as_ref()
                    .and_then(|r| r.ended_at)
                    .or(row.call.as_ref().and_then(|c| c.ended_at)),
            ),
        );
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
        let fate = self.fate(row, options.now);
        cells.push(text(&fate.why));
        cells.push(match fate.next {
            NextCall::Now => "now".to_owned(),
            NextCall::At(at) => cell.time(Some(at)),
            NextCall::InProgress => "in progress".to_owned(),
            NextCall::Never => "never".to_owned(),
        });
        if self.transcript {
            let transcript = record
                .as_ref()
                .and_then(|r| r.transcript.as_ref())
                .map(transcript_text);
            cells.push(opt(transcript.as_deref()));
        }
        cells.push(opt(row.timezone.as_deref()));
        cells.push(opt(row.tz_source.as_deref()));
        cells
    }

    /// When and why the row is called next, or why never (see [`crate::fate`]).
    fn fate(&self, row: &ResultRow, now: Timestamp) -> fate::Fate {
        let standing = Standing {
            present: row.present,
            state: row.state,
            reason: row.reason.as_deref(),
            outcome: row.outcome,
            calls: row.calls,
            due_at: row.due_at,
            wait: row.wait,
            attempted: row.attempted,
        };
        let rules = fate::Rules {
            retry: &self.retry,
            windows: self.windows,
        };
        fate::fate(rules, &standing, now)
    }
}

/// How one cell is written, by what it holds.
struct Cells<'a> {
    options: ExportOptions,
    zone: &'a TimeZone,
}

impl Cells<'_> {
    /// Text from the CSV or the API: neutralised; for a spreadsheet, kept as text if it would
    /// turn into a damaged number.
    fn text(&self, s: &str) -> String {
        match self.options {
            ExportOptions { raw: true, .. } => s.to_owned(),
            ExportOptions { excel: true, .. } if damaged_as_number(s) => as_text(s),
            _ => neutralise(s),
        }
    }

    /// A phone number: for a spreadsheet, always kept as text.
    fn phone(&self, s: &str) -> String {
        match self.options {
            ExportOptions {
                raw: false,
                excel: true,
                ..
            } if phone_like(s) => as_text(s),
            _ => self.text(s),
        }
    }

    /// An instant: RFC 3339 in UTC to the second; for a spreadsheet, the local date and time in
    /// the campaign's zone, which spreadsheets read as a date-time.
    fn time(&self, at: Option<Timestamp>) -> String {
        let Some(at) = at else {
            return String::new();
        };
        let at = at.round(jiff::Unit::Second).unwrap_or(at);
        if self.options.excel {
            at.to_zoned_datetime(self.zone.clone())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        } else {
            at.to_string()
        }
    }
}

/// `="…"`: a formula whose value is the text itself, which a spreadsheet keeps as text. Only
/// for [`phone_like`] cells, which hold no quote.
fn as_text(s: &str) -> String {
    format!("=\"{s}\"")
}

/// Digits, spaces and `+ - ( ) .` only, with at least seven digits.
fn phone_like(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    digits >= 7
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'))
}

/// Whether a spreadsheet would read `s` as a number and lose something: a leading zero
/// (`02079460107` → 2079460107, `007` → 7), digits past what it shows (`442079460109` →
/// 4.42E+11), or the `+` of a phone number (`+14155550123` → 14155550123).
fn damaged_as_number(s: &str) -> bool {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        return (s.len() >= 2 && s.starts_with('0')) || s.len() >= 12;
    }
    s.starts_with('+') && phone_like(s)
}

/// A plain decimal number (`3`, `-15.00`, `+2.5`), which a spreadsheet reads as its value,
/// never as a formula; a `+` followed by seven digits or more is a phone number, not one.
fn is_number(s: &str) -> bool {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let number = !unsigned.is_empty()
        && unsigned != "."
        && digits(whole)
        && digits(fraction)
        && (!whole.is_empty() || !fraction.is_empty());
    number && !(s.starts_with('+') && whole.len() >= 7)
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
        ContactState::Invalid
        | ContactState::Duplicate
        | ContactState::Suppressed
        | ContactState::Expired => row.reason.clone().or(last),
        ContactState::Removed => last,
        ContactState::Done if row.outcome.is_none() => row.reason.clone().or(last),
        // A pending contact has a reason only when the campaign ended before it was called.
        ContactState::Pending => row.reason.clone().or(last),
        ContactState::Done | ContactState::Active => last,
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

/// Prefixes `'` to text a spreadsheet would run as a formula; a plain number is left alone.
pub fn neutralise(cell: &str) -> String {
    if !is_number(cell) && cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
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
    let start = if options.excel { BOM } else { "" };
    let mut out = csv::Writer::from_writer(start.as_bytes().to_vec());
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
mod tests {
    use serde_json::json;

    use super::*;
    use crate::state::{AttemptState, Outcome};
    use crate::store::CallAttempt;

    fn field(name: &str, kind: FieldKind) -> Field {
        Field {
            name: name.to_owned(),
            kind,
            description: None,
        }
    }

    fn columns(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn layout(transcript: bool) -> Layout {
        Layout::new(
            &columns(&["id", "name", "phone"]),
            &[
                field("confirmed", FieldKind::Boolean),
                field("visits", FieldKind::Number),
                field("note", FieldKind::String),
            ],
            transcript,
        )
    }

    /// A contact row; `record` makes it a finished call with that record.
    fn row(seq: i64, state: ContactState, outcome: Option<Outcome>) -> ResultRow {
        ResultRow {
            seq,
            line: seq + 1,
            key: Some(format!("K{seq}")),
            present: true,
            cells: vec![
                format!("K{seq}"),
                format!("Name {seq}"),
                format!("+1415555{:04}", 100 + seq),
            ],
            state,
            reason: None,
            outcome,
            calls: 0,
            call: None,
            last_error: None,
            attempted: false,
            timezone: Some("America/Los_Angeles".into()),
            tz_source: Some("number".into()),
            due_at: None,
            wait: None,
        }
    }

    /// Plain options, judged at the fixed instant the rows were made at.
    pub(super) fn opts() -> ExportOptions {
        ExportOptions::at("2026-12-07T18:00:00Z".parse().unwrap())
    }

    fn called(mut row: ResultRow, calls: u32, record: &Value) -> ResultRow {
        row.calls = calls;
        row.attempted = true;
        row.call = Some(CallAttempt {
            state: AttemptState::Finished,
            call_id: record["id"].as_str().map(str::to_owned),
            record: Some(record.to_string()),
            ended_at: None,
            error: None,
            dialled: record["id"].as_str().map(|_| "+14155550100".to_owned()),
        });
        row
    }

    fn reason(mut row: ResultRow, reason: &str) -> ResultRow {
        row.reason = Some(reason.to_owned());
        row
    }

    fn rows_of_every_status() -> Vec<ResultRow> {
        use ContactState as C;
        let done = |seq, outcome| row(seq, C::Done, Some(outcome));
        let mut refused = reason(row(6, C::Done, None), "invalid_number: not a valid number");
        refused.attempted = true;
        let mut refused_invalid = reason(row(7, C::Invalid, None), "destination_blocked");
        refused_invalid.attempted = true;
        let mut unknown = reason(row(11, C::Unknown, None), "not in the list of recent calls");
        unknown.calls = 1;
        unknown.call = Some(CallAttempt {
            state: AttemptState::Unknown,
            call_id: None,
            record: None,
            ended_at: None,
            error: Some("timed out".into()),
            dialled: Some("+14155550111".into()),
        });
        let mut pending = row(12, C::Pending, None);
        pending.last_error = Some("store_error: temporary".into());
        let mut active = called(
            row(13, C::Active, Some(Outcome::NoAnswer)),
            1,
            &json!({"id": "c13", "status": "no_answer", "extracted": {"confirmed": null}}),
        );
        active.calls = 2;
        let mut skipped = reason(row(9, C::Duplicate, None), "+14155550108 is also on line 9");
        skipped.key = None;
        (skipped.timezone, skipped.tz_source) = (None, None);
        vec![
            called(
                done(1, Outcome::Completed),
                1,
                &json!({
                    "id": "c1", "status": "completed", "summary": "Confirmed for Monday.",
                    "extracted": {"confirmed": true, "visits": 3, "note": "prefers mornings"},
                    "startedAt": "2026-12-07T17:00:20Z", "endedAt": "2026-12-07T17:02:20Z",
                    "durationSec": 120, "recordingUrl": "http://127.0.0.1:9/v1/agent/calls/c1/recording",
                    "transcript": "Agent: Hello\nContact: Hi"
                }),
            ),
            called(
                done(2, Outcome::NoAnswer),
                3,
                &json!({"id": "c2", "status": "no_answer",
                       "extracted": {"confirmed": null, "visits": null, "note": null}}),
            ),
            called(
                done(3, Outcome::Voicemail),
                2,
                &json!({"id": "c3", "status": "voicemail", "summary": "Left a message.",
                       "durationSec": 21}),
            ),
            called(
                done(4, Outcome::Declined),
                1,
                &json!({"id": "c4", "status": "declined"}),
            ),
            called(
                done(5, Outcome::Failed),
                3,
                &json!({"id": "c5", "status": "failed", "extracted": {"confirmed": false, "visits": -2.5}}),
            ),
            refused,
            refused_invalid,
            reason(row(8, C::Invalid, None), "\"555-01\" is not a phone number"),
            skipped,
            reason(
                row(10, C::Suppressed, None),
                "+14155550110 is on a suppression list",
            ),
            unknown,
            pending,
            active,
        ]
    }

    #[test]
    fn every_status() {
        let rows = rows_of_every_status();
        let statuses: Vec<&str> = rows.iter().map(status).collect();
        assert_eq!(
            statuses,
            [
                "completed",
                "no_answer",
                "voicemail",
                "declined",
                "failed",
                "invalid",
                "invalid",
                "invalid",
                "duplicate",
                "suppressed",
                "unknown",
                "pending",
                "pending"
            ]
        );
        insta::assert_snapshot!(to_csv(&layout(false), &rows, opts()));
    }

    #[test]
    fn transcript_column_when_asked() {
        let rows = [
            called(
                row(1, ContactState::Done, Some(Outcome::Completed)),
                1,
                &json!({"id": "c1", "status": "completed", "transcript": "Agent: Hello\nContact: Hi"}),
            ),
            called(
                row(2, ContactState::Done, Some(Outcome::Completed)),
                1,
                &json!({"id": "c2", "status": "completed", "transcript": [
                    {"role": "agent", "text": "Hello"},
                    {"speaker": "Contact", "content": "=1+1"},
                    "a bare line"
                ]}),
            ),
            row(3, ContactState::Pending, None),
        ];
        let csv = to_csv(&layout(true), &rows, opts());
        // Last of the call's columns, before the zone's.
        assert_eq!(
            layout(true).header[layout(true).header.len() - 3..],
            ["transcript", "timezone", "tz_source"]
        );
        assert!(!layout(false).header.iter().any(|h| h == "transcript"));
        insta::assert_snapshot!(csv);
    }

    #[test]
    fn formulas_are_neutralised_unless_raw() {
        let mut contact = called(
            row(1, ContactState::Done, Some(Outcome::Completed)),
            1,
            &json!({
                "id": "@c1", "status": "completed", "summary": "=HYPERLINK(\"http://x\")",
                "extracted": {"confirmed": "+yes", "visits": -4, "note": "-call back"},
                "recordingUrl": "\thttp://127.0.0.1:9/r", "durationSec": 60
            }),
        );
        contact.cells[1] = "=cmd|' /C calc'!A0".into();
        contact.cells[0] = "\rK1".into();
        let rows = [contact];
        // Tab and CR made visible, so the snapshot files hold plain text.
        let visible = |csv: String| csv.replace('\t', "<TAB>").replace('\r', "<CR>");
        let safe = visible(to_csv(&layout(false), &rows, opts()));
        let raw = visible(to_csv(
            &layout(false),
            &rows,
            ExportOptions {
                raw: true,
                ..opts()
            },
        ));
        insta::assert_snapshot!("neutralised", safe);
        insta::assert_snapshot!("raw", raw);
    }

    #[test]
    fn neutralise_only_touches_formula_starts() {
        for (cell, expected) in [
            ("=1+1", "'=1+1"),
            ("+14155550101", "'+14155550101"),
            ("+44 20 7946 0101", "'+44 20 7946 0101"),
            ("-3", "-3"),
            ("-15.00", "-15.00"),
            ("+2.5", "+2.5"),
            (".5", ".5"),
            ("-", "'-"),
            ("-.", "'-."),
            ("-call back", "'-call back"),
            ("-15.00x", "'-15.00x"),
            ("+1-1", "'+1-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("a=b", "a=b"),
            (" =1", " =1"),
            ("", ""),
            ("Zoë", "Zoë"),
        ] {
            assert_eq!(neutralise(cell), expected, "{cell:?}");
        }
    }

    #[test]
    fn for_a_spreadsheet_numbers_that_would_be_damaged_stay_text_and_times_are_local() {
        let mut r = called(
            row(1, ContactState::Done, Some(Outcome::Completed)),
            1,
            &json!({
                "id": "c1", "status": "completed", "summary": "-15.00",
                "startedAt": "2026-12-07T17:00:20.123456Z", "endedAt": "2026-12-07T17:02:20Z",
                "extracted": {"note": "02079460107"}
            }),
        );
        r.cells = vec![
            "Zoë Ó'Brien".into(),
            "442079460109".into(),
            "02079460107".into(),
        ];
        let mut layout = layout(false);
        layout.phone_column = Some(2);
        layout.zone = jiff::tz::db().get("Europe/London").unwrap();
        let excel = ExportOptions {
            excel: true,
            ..opts()
        };
        let csv = to_csv(&layout, [&r], excel);
        assert!(csv.starts_with(BOM), "{csv}");
        let cells = layout.cells(&r, excel);
        let at = |name: &str| cells[layout.header.iter().position(|h| h == name).unwrap()].clone();
        assert_eq!(
            [&cells[0], &cells[1], &cells[2]],
            ["Zoë Ó'Brien", "=\"442079460109\"", "=\"02079460107\""]
        );
        assert_eq!(at("dialled"), "=\"+14155550100\"");
        assert_eq!(at("note"), "=\"02079460107\"");
        assert_eq!(at("summary"), "-15.00");
        assert_eq!(at("started_at"), "2026-12-07 17:00:20");
        assert_eq!(at("ended_at"), "2026-12-07 17:02:20");
        assert_eq!(at("next_call_at"), "never");
        assert_eq!(at("reason"), "never again: the call was completed");
        // The same row for a program: UTC to the second, numbers as they came.
        let plain = layout.cells(&r, opts());
        let at = |name: &str| plain[layout.header.iter().position(|h| h == name).unwrap()].clone();
        assert_eq!(at("started_at"), "2026-12-07T17:00:20Z");
        assert_eq!(at("dialled"), "'+14155550100");
        assert_eq!(plain[1], "442079460109");
    }

    #[test]
    fn a_pending_row_says_when_it_is_called_next() {
        let mut r = row(1, ContactState::Pending, Some(Outcome::NoAnswer));
        r.due_at = Some("2026-12-07T19:00:00Z".parse().unwrap());
        r.wait = Some(crate::state::Wait::Retry);
        r.calls = 1;
        let layout = layout(false);
        let cells = layout.cells(&r, opts());
        let at = |name: &str| cells[layout.header.iter().position(|h| h == name).unwrap()].clone();
        assert_eq!(at("next_call_at"), "2026-12-07T19:00:00Z");
        assert_eq!(
            at("reason"),
            "next call due at 2026-12-07T19:00:00Z (waiting for the retry delay after an unsuccessful call)"
        );
        assert_eq!(at("last_outcome"), "no_answer");
        assert_eq!(at("status"), "pending");
    }

    #[test]
    fn clashing_column_names_get_a_prefix() {
        let layout = Layout::new(
            &columns(&["id", "status", "phone", "error", "bys_error", "timezone"]),
            &[
                field("summary", FieldKind::String),
                field("phone", FieldKind::String),
                field("confirmed", FieldKind::Boolean),
                field("tz_source", FieldKind::String),
            ],
            true,
        );
        assert_eq!(
            layout.header,
            [
                "id",
                "status",
                "phone",
                "error",
                "bys_error",
                "timezone",
                "bys_status",
                "attempts",
                "last_outcome",
                "bys_summary",
                "bys_phone",
                "confirmed",
                "bys_tz_source",
                "summary",
                "call_id",
                "dialled",
                "started_at",
                "ended_at",
                "duration_sec",
                "recording_url",
                "bys_bys_error",
                "reason",
                "next_call_at",
                "transcript",
                "bys_timezone",
                "tz_source"
            ]
        );
    }

    #[test]
    fn rows_of_another_width_keep_the_header_width() {
        let mut short = row(1, ContactState::Pending, None);
        short.cells.truncate(1);
        let mut long = row(2, ContactState::Pending, None);
        long.cells.push("extra".into());
        let layout = layout(false);
        for r in [&short, &long] {
            assert_eq!(layout.cells(r, opts()).len(), layout.header.len());
        }
        assert_eq!(layout.cells(&short, opts())[1], "");
    }

    #[test]
    fn an_unreadable_record_leaves_the_call_cells_empty() {
        let mut r = row(1, ContactState::Done, Some(Outcome::Completed));
        r.calls = 1;
        r.call = Some(CallAttempt {
            state: AttemptState::Finished,
            call_id: Some("c1".into()),
            record: Some("{not json".into()),
            ended_at: Some("2026-12-07T17:02:00Z".parse().unwrap()),
            error: None,
            dialled: Some("+14155550101".into()),
        });
        let layout = layout(false);
        let cells = layout.cells(&r, opts());
        let at = |name: &str| &cells[layout.header.iter().position(|h| h == name).unwrap()];
        assert_eq!(
            (at("status"), at("call_id"), at("ended_at"), at("summary")),
            (
                &"completed".to_owned(),
                &"c1".to_owned(),
                &"2026-12-07T17:02:00Z".to_owned(),
                &String::new()
            )
        );
    }
}

#[cfg(test)]
mod write_tests {
    use std::fs;

    use super::tests::opts;
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
