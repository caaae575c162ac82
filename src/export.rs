//! The results CSV: one line per input row, in CSV order, with what became of it.
//!
//! Columns: the input columns in their original order, then `status`, `attempts`, one column per
//! extracted field, `summary`, `call_id`, `started_at`, `ended_at`, `duration_sec`,
//! `recording_url`, `error`, `transcript` when `output.transcript` is on, then the contact's
//! `timezone` and `tz_source` (where the zone came from: `column`, `number` or `default`). An added column
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

/// The added columns before the field columns, and after them (then `transcript`, if on, then
/// [`ZONE_COLUMNS`]).
const BEFORE_FIELDS: [&str; 2] = ["status", "attempts"];
/// The contact's zone and where it came from, last.
const ZONE_COLUMNS: [&str; 2] = ["timezone", "tz_source"];
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
        cells.push(opt(row.timezone.as_deref()));
        cells.push(opt(row.tz_source.as_deref()));
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
    let rows = crate::atomic::write(path, |file| {
        let mut out = csv::Writer::from_writer(file);
        out.write_record(&layout.header)
            .map_err(|e| failed(e.into()))?;
        let rows = store.for_each_result(|row| {
            out.write_record(layout.cells(&row, options))
                .map_err(|e| failed(e.into()))
        })?;
        out.flush().map_err(failed)?;
        Ok(rows)
    })
    .map_err(|e| match e {
        crate::atomic::Error::Io(source) => failed(source),
        crate::atomic::Error::Fill(e) => e,
    })?;
    Ok(ExportSummary {
        path: path.to_owned(),
        rows,
    })
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
        }
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
        insta::assert_snapshot!(to_csv(&layout(false), &rows, ExportOptions::default()));
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
        let csv = to_csv(&layout(true), &rows, ExportOptions::default());
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
        let safe = visible(to_csv(&layout(false), &rows, ExportOptions::default()));
        let raw = visible(to_csv(&layout(false), &rows, ExportOptions { raw: true }));
        insta::assert_snapshot!("neutralised", safe);
        insta::assert_snapshot!("raw", raw);
    }

    #[test]
    fn neutralise_only_touches_formula_starts() {
        for (cell, expected) in [
            ("=1+1", "'=1+1"),
            ("+14155550101", "'+14155550101"),
            ("-3", "'-3"),
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
                "bys_summary",
                "bys_phone",
                "confirmed",
                "bys_tz_source",
                "summary",
                "call_id",
                "started_at",
                "ended_at",
                "duration_sec",
                "recording_url",
                "bys_bys_error",
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
            assert_eq!(
                layout.cells(r, ExportOptions::default()).len(),
                layout.header.len()
            );
        }
        assert_eq!(layout.cells(&short, ExportOptions::default())[1], "");
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
        });
        let layout = layout(false);
        let cells = layout.cells(&r, ExportOptions::default());
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
        let summary = write(&store, &campaign, &path, ExportOptions::default()).unwrap();
        assert_eq!(
            summary,
            ExportSummary {
                path: path.clone(),
                rows: 7
            }
        );
        let expected = to_csv(
            &Layout::for_campaign(&campaign),
            &rows(&store),
            ExportOptions::default(),
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), expected);
        assert!(expected.starts_with("id,name,phone,status,attempts,summary,"));
        assert_eq!(leftovers(path.parent().unwrap()), Vec::<String>::new());
    }

    #[test]
    fn a_failed_export_leaves_the_previous_file_intact_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let (campaign, store) = midway(dir.path());
        let path = dir.path().join("out.csv");
        write(&store, &campaign, &path, ExportOptions::default()).unwrap();
        let before = fs::read_to_string(&path).unwrap();

        // The stream fails on the fifth row, after the first ones reached the temp file.
        break_contact(&store, "D");
        let err = write(&store, &campaign, &path, ExportOptions::default()).unwrap_err();
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
        let err = write(&store, &campaign, &path, ExportOptions::default()).unwrap_err();
        assert!(matches!(err, ExportError::Write { .. }), "{err}");
        assert!(err.to_string().contains("taken"), "{err}");
        assert_eq!(fs::read_to_string(path.join("keep.txt")).unwrap(), "mine");
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }
}
