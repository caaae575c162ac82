//! `bys-campaign explain CAMPAIGN KEY`: one contact's history — every attempt, the request
//! sent, each status seen, the result, the errors — and why and when it will be called next,
//! or why never.
//!
//! Reads the state file only (no lock), like `status`. Everything printed that came from the CSV
//! or the API is escaped before reaching the terminal.

use std::fmt::Write as _;

use jiff::Timestamp;
use serde_json::Value;

use super::exit::Exit;
use crate::campaign::Campaign;
use crate::cli::ExplainArgs;
use crate::fate::{self, Standing};
use crate::state::{AttemptState, ContactState};
use crate::store::{AttemptHistory, History};
use crate::text::escape_control;

/// A key the state file does not know.
#[derive(Debug, thiserror::Error)]
#[error("no contact has the key {key:?} in the state file {state}{hint}")]
pub struct UnknownKey {
    pub key: String,
    pub state: String,
    /// "\n  hint: …", or empty.
    pub hint: String,
}

pub fn run(args: &ExplainArgs) -> anyhow::Result<Exit> {
    let campaign = super::reading::load_reading(&args.campaign, &args.state)?;
    let store = super::reading::open_state(
        &campaign,
        &args.state,
        format!(
            "explain {} {}",
            crate::text::shell_word(&args.campaign.to_string_lossy()),
            crate::text::shell_word(&args.key)
        ),
    )?;
    let mut history = store.history(&args.key)?;
    if history.is_none() && campaign.input.key_column.is_none() {
        // Without a key column the key is the number in E.164; accept it as written in the CSV.
        if let Ok(e164) = crate::phone::normalize(&args.key, campaign.input.default_region) {
            history = store.history(&e164)?;
        }
    }
    let Some(history) = history else {
        let keys = store.keys()?;
        return Err(UnknownKey {
            key: args.key.clone(),
            state: store.path().display().to_string(),
            hint: hint(&campaign, &args.key, &keys),
        }
        .into());
    };
    crate::out!("{}", explain(&campaign, &history, store.reading_time()?))?;
    Ok(Exit::Ok)
}

/// Up to three keys close to `key`, or what keys look like.
fn hint(campaign: &Campaign, key: &str, keys: &[String]) -> String {
    let lower = key.to_lowercase();
    let mut close: Vec<(usize, &str)> = keys
        .iter()
        .map(|k| {
            (
                strsim::damerau_levenshtein(&lower, &k.to_lowercase()),
                k.as_str(),
            )
        })
        .filter(|&(d, k)| d <= (k.chars().count() / 3).max(2))
        .collect();
    close.sort();
    let close: Vec<String> = close
        .iter()
        .take(3)
        .map(|(_, k)| format!("{:?}", escape_control(k)))
        .collect();
    let what = match &campaign.input.key_column {
        Some(column) => format!("keys are the `{}` column", column.name),
        None => "keys are phone numbers in E.164 form, e.g. +14155550123".to_owned(),
    };
    if close.is_empty() {
        format!("\n  hint: {what} ({} contacts known)", keys.len())
    } else {
        format!("\n  hint: did you mean {}? ({what})", close.join(", "))
    }
}

fn second(at: Timestamp) -> Timestamp {
    at.round(jiff::Unit::Second).unwrap_or(at)
}

/// Why and when the contact is called next, or why never.
pub fn next_step(campaign: &Campaign, h: &History, now: Timestamp) -> String {
    let standing = Standing {
        present: h.present,
        state: h.state,
        reason: h.reason.as_deref(),
        outcome: h.outcome,
        calls: h.calls,
        due_at: h.due_at,
        wait: h.wait,
        attempted: !h.attempts.is_empty(),
    };
    fate::fate(fate::Rules::of(campaign), &standing, now).why
}

/// The whole explanation, as text.
pub fn explain(campaign: &Campaign, h: &History, now: Timestamp) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = write!(
        w,
        "Contact {} (line {} of {})",
        escape_control(&h.key),
        h.line,
        campaign.input.path.display()
    );
    if let Some(phone) = &h.phone {
        let _ = write!(w, ", {phone}");
    }
    let _ = writeln!(w);
    let status = match (h.state, h.outcome) {
        (ContactState::Done, Some(outcome)) => format!("done, last outcome {outcome}"),
        (state, Some(outcome)) => format!("{state}, last outcome {outcome}"),
        (state, None) => state.to_string(),
    };
    let _ = writeln!(w, "State: {status}; {} call(s) placed", h.calls);
    let _ = writeln!(w, "Next: {}", next_step(campaign, h, now));
    if h.attempts.is_empty() {
        let _ = writeln!(w, "\nNo attempt yet.");
    }
    for (i, a) in h.attempts.iter().enumerate() {
        attempt(w, i + 1, a);
    }
    out
}

fn attempt(w: &mut String, n: usize, a: &AttemptHistory) {
    let what = match a.state {
        AttemptState::NotPlaced => "not placed (costs no attempt)",
        AttemptState::Placing => "being placed",
        AttemptState::Placed => "placed, being followed",
        AttemptState::Ambiguous => "answer lost, being resolved",
        AttemptState::Finished => "finished",
        AttemptState::Unknown => "unknown: a call may have gone out",
    };
    let _ = writeln!(
        w,
        "\nAttempt {n} (#{}), {}: {what}",
        a.id,
        second(a.created_at)
    );
    let _ = writeln!(w, "  request: {}", escape_control(&a.request));
    if let Some(call_id) = &a.call_id {
        let _ = write!(w, "  call {}", escape_control(call_id));
        if let Some(placed) = a.placed_at {
            let _ = write!(w, ", placed {}", second(placed));
        }
        if let Some(ended) = a.ended_at {
            let _ = write!(w, ", ended {}", second(ended));
        }
        let _ = writeln!(w, "; {} poll(s)", a.polls);
    }
    for (at, kind, detail) in &a.events {
        let _ = writeln!(w, "  {}  {kind:<8} {}", second(*at), escape_control(detail));
    }
    if let Some(record) = a.record.as_deref() {
        let record: Value = serde_json::from_str(record).unwrap_or(Value::Null);
        if let Some(summary) = record["summary"].as_str() {
            let _ = writeln!(w, "  summary: {}", escape_control(summary));
        }
        if let Some(extracted) = record["extracted"].as_object() {
            let fields: Vec<String> = extracted
                .iter()
                .map(|(k, v)| escape_control(&format!("{k}={v}")).into_owned())
                .collect();
            let _ = writeln!(w, "  extracted: {}", fields.join(" "));
        }
        if let Some(secs) = record["durationSec"].as_u64() {
            let _ = writeln!(w, "  duration: {secs} s");
        }
    }
    if let Some(error) = &a.error
        && !a.events.iter().any(|(_, _, d)| d == error)
    {
        let _ = writeln!(w, "  error: {}", escape_control(error));
    }
}
