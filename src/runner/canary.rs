//! The table `run --canary N` prints once its calls have ended: one line per call, so a person
//! can see on real calls whether the objective and the fields work before the rest go out.
//!
//! Keys, values and summaries come from the CSV or the API: control characters are escaped and
//! long text is clipped, so the table stays one line per call.

use std::fmt::Write as _;

use serde_json::Value;

use crate::campaign::Campaign;
use crate::store::PlacedCall;
use crate::text::escape_control;

/// How many characters of a summary are shown.
const SUMMARY_CHARS: usize = 60;

fn clip(text: &str, max: usize) -> String {
    let text = escape_control(text.trim());
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}

/// One call's cells: key, status, fields as `name=value` (`-` when none was obtained), summary.
fn cells(campaign: &Campaign, call: &PlacedCall) -> [String; 4] {
    let record: Option<Value> = call
        .record
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok());
    let status = match (&record, &call.status) {
        (Some(r), _) if r["status"].is_string() => r["status"].as_str().unwrap_or("").to_owned(),
        (_, Some(status)) => status.clone(),
        _ => call.state.as_str().to_owned(),
    };
    let extracted = record.as_ref().map(|r| &r["extracted"]);
    let fields: Vec<String> = campaign
        .fields
        .iter()
        .map(|f| {
            let value = match extracted.and_then(|e| e.get(&f.name)) {
                None | Some(Value::Null) => "-".to_owned(),
                Some(Value::String(s)) => clip(s, 30),
                Some(other) => other.to_string(),
            };
            format!("{}={value}", f.name)
        })
        .collect();
    let summary = record
        .as_ref()
        .and_then(|r| r["summary"].as_str())
        .map(|s| clip(s, SUMMARY_CHARS))
        .or_else(|| call.error.as_deref().map(|e| clip(e, SUMMARY_CHARS)))
        .unwrap_or_default();
    [clip(&call.key, 24), status, fields.join(" "), summary]
}

/// The table, with a header line; columns padded to their widest cell.
pub fn table(campaign: &Campaign, calls: &[PlacedCall]) -> String {
    let header = ["key", "status", "fields", "summary"].map(str::to_owned);
    let rows: Vec<[String; 4]> = std::iter::once(header)
        .chain(calls.iter().map(|c| cells(campaign, c)))
        .collect();
    let mut widths = [0; 4];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = format!("Canary: {} call(s)\n", calls.len());
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = w - cell.chars().count();
                let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
            }
        }
        let _ = writeln!(out, "  {}", line.trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::testing;
    use crate::state::AttemptState;

    #[test]
    fn one_line_per_call_with_fields_and_summary() {
        let dir = tempfile::tempdir().unwrap();
        let campaign = testing::campaign(
            dir.path(),
            "  key_column: id\n",
            "fields:\n  - { name: confirmed, type: boolean }\n  - { name: note }\n",
            "id,name,phone\nA,Ana,(415) 555-0101\n",
        );
        let call = |key: &str, state, status: Option<&str>, record: Option<&str>| PlacedCall {
            key: key.into(),
            state,
            status: status.map(str::to_owned),
            record: record.map(str::to_owned),
            error: None,
        };
        let calls = [
            call(
                "A-1",
                AttemptState::Finished,
                Some("completed"),
                Some(
                    r#"{"status":"completed","extracted":{"confirmed":true,"note":null},
                        "summary":"Confirmed Tuesday at ten; asked for a reminder the day before, by text message."}"#,
                ),
            ),
            call(
                "B\u{1b}[2J",
                AttemptState::Finished,
                Some("no_answer"),
                Some(r#"{"status":"no_answer","extracted":{"confirmed":null,"note":null}}"#),
            ),
            call("C", AttemptState::Unknown, None, None),
        ];
        insta::assert_snapshot!(table(&campaign, &calls), @r"
        Canary: 3 call(s)
          key         status     fields                 summary
          A-1         completed  confirmed=true note=-  Confirmed Tuesday at ten; asked for a reminder the day befor…
          B\u{1b}[2J  no_answer  confirmed=- note=-
          C           unknown    confirmed=- note=-
        ");
    }
}
