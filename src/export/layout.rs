//! The columns of the results CSV and the cells of one row: what each added column says of a
//! contact (its status, its last call, why and when it is called next), and the whole CSV as
//! text ([`to_csv`]), pure functions of the row.

use std::collections::HashSet;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::cell::{Cells, field_cell, transcript_text};
use super::{BOM, ExportOptions};
use crate::api::record::CallRecord;
use crate::campaign::{Campaign, Field, RetryPolicy};
use crate::fate::{self, NextCall, Standing};
use crate::state::ContactState;
use crate::store::ResultRow;

/// Added after the status of an `unknown` row.
pub const UNKNOWN_NOTE: &str =
    "a call may have been placed; not called again unless run with --retry-unknown";

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

/// The whole CSV for these rows, as text. Pure: what [`super::write`] streams, for tests.
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

#[cfg(test)]
pub(super) mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::Outcome;
    use crate::campaign::FieldKind;
    use crate::state::AttemptState;
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
    pub(in crate::export) fn opts() -> ExportOptions {
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
