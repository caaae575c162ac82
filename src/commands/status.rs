//! `bys-campaign status`: where a campaign stands, read from its state file.
//!
//! Takes no lock and writes nothing, so it works while a run is going on (WAL); all counts, and
//! the answers of the completed calls, come from one read snapshot. Keys, reasons and errors
//! come from the CSV or the API: they are escaped before reaching the terminal. `--json` prints
//! one document on stdout instead.

use std::fmt::Write as _;

use jiff::Timestamp;

use super::exit::Exit;
use crate::answers::{self, Answers};
use crate::campaign::{Campaign, Limits};
use crate::census;
use crate::cli::StatusArgs;
use crate::runner::eta::{self, Eta, EtaInput};
use crate::state::AttemptState;
use crate::store::{StatusSummary, Store, WaitGroup};
use crate::text::escape_control;

/// How many rows needing attention, and errors, are listed.
const LIST_LIMIT: u32 = 10;

#[derive(serde::Serialize)]
struct JsonStatus<'a> {
    state_file: String,
    #[serde(flatten)]
    summary: &'a StatusSummary,
    /// What the completed calls obtained, field by field.
    answers: &'a Answers,
    /// `null` when nothing is left to call.
    eta: Option<Eta>,
    /// What today spent against the daily caps; `null` without a daily cap.
    today: Option<JsonToday>,
}

/// [`Today`] with the caps it is spent against, for `--json`.
#[derive(serde::Serialize)]
struct JsonToday {
    /// The day in `schedule.timezone` (UTC without a schedule), e.g. `2026-12-03`.
    date: String,
    timezone: String,
    /// When the day started.
    start: Timestamp,
    calls: u64,
    /// Conversation seconds of today's finished calls.
    call_seconds: u64,
    /// `null` when the campaign does not set it.
    max_calls_per_day: Option<u64>,
    max_minutes_per_day: Option<u64>,
}

impl JsonToday {
    fn new(t: &Today, limits: &Limits) -> JsonToday {
        JsonToday {
            date: t
                .day
                .start
                .to_zoned_datetime(t.zone.clone())
                .date()
                .to_string(),
            timezone: t.zone.iana_name().unwrap_or("UTC").to_owned(),
            start: t.day.start,
            calls: t.calls,
            call_seconds: t.secs,
            max_calls_per_day: limits.max_calls_per_day.map(|c| c.get()),
            max_minutes_per_day: limits.max_minutes_per_day.map(|c| c.get()),
        }
    }
}

pub fn run(args: &StatusArgs) -> anyhow::Result<Exit> {
    let campaign = super::reading::load_reading(&args.campaign, &args.state)?;
    let store = super::reading::open_state(
        &campaign,
        &args.state,
        format!(
            "status {}",
            crate::text::shell_word(&args.campaign.to_string_lossy())
        ),
    )?;
    let now = store.reading_time()?;
    // One read snapshot for the counts and the answers, so they agree mid-run.
    let snapshot = store.report_snapshot()?;
    let mut summary = store.status_summary(now, LIST_LIMIT)?;
    let answers = answers::read(&snapshot, &campaign.fields)?;
    drop(snapshot);
    // Written by a run that was killed while it stopped, if its deadline has passed.
    summary.stopping = summary.stopping.filter(|s| s.until > Timestamp::now());
    let today = today(&campaign, &store, now)?;
    let mut input = eta_input(&campaign, &summary, now);
    input.daily = today.as_ref().map(|t| eta::DailyInput {
        zone: t.zone.clone(),
        calls: t.calls,
        secs: t.secs,
    });
    let eta = eta::estimate(&input);
    let state_file = store.path().display().to_string();
    if args.json {
        let doc = JsonStatus {
            state_file,
            summary: &summary,
            answers: &answers,
            eta,
            today: today.as_ref().map(|t| JsonToday::new(t, &campaign.limits)),
        };
        crate::outln!("{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        crate::out!("{}", human(&campaign.name, &state_file, &summary))?;
        crate::out!("{}", answers_text(&answers))?;
        crate::out!("{}", spending(&campaign.limits, &summary, today.as_ref()))?;
        crate::out!("{}", waiting(&summary, eta.as_ref()))?;
    }
    Ok(Exit::Ok)
}

/// What the campaign's estimate is made of, from the summary.
pub fn eta_input<'a>(campaign: &'a Campaign, s: &StatusSummary, now: Timestamp) -> EtaInput<'a> {
    EtaInput {
        now,
        due_now: s.due_now,
        later: s
            .waiting
            .iter()
            .filter_map(|g| Some((g.next_due?, g.last_due?, g.contacts)))
            .collect(),
        in_flight: s.in_flight,
        calls_made: s.pending_calls,
        mean_call_secs: s.mean_call_secs,
        limits: &campaign.limits,
        retry: &campaign.retry,
        calls_placed: s.calls,
        daily: None,
    }
}

/// What today spent, with daily caps (`limits.max_calls_per_day`, `max_minutes_per_day`).
#[derive(Debug)]
pub struct Today {
    pub day: crate::runner::guard::Day,
    /// The zone whose calendar day `day` is (`schedule.timezone`, UTC without a schedule).
    pub zone: jiff::tz::TimeZone,
    pub calls: u64,
    /// Seconds of today's finished calls.
    pub secs: u64,
}

fn today(campaign: &Campaign, store: &Store, now: Timestamp) -> anyhow::Result<Option<Today>> {
    let limits = &campaign.limits;
    if limits.max_calls_per_day.is_none() && limits.max_minutes_per_day.is_none() {
        return Ok(None);
    }
    let zone = campaign
        .schedule
        .as_ref()
        .map_or(jiff::tz::TimeZone::UTC, |s| s.timezone.clone());
    let day = crate::runner::guard::Day::of(now, &zone);
    let (calls, secs, _) = store.spent_since(day.start)?;
    Ok(Some(Today {
        day,
        zone,
        calls,
        secs,
    }))
}

/// The "Answers" section: each field's answers over the completed calls, a line each.
pub fn answers_text(answers: &Answers) -> String {
    if answers.fields.is_empty() || answers.completed_calls == 0 {
        return String::new();
    }
    let mut out = format!(
        "\nAnswers, over the {} completed {}\n",
        answers.completed_calls,
        if answers.completed_calls == 1 {
            "call"
        } else {
            "calls"
        }
    );
    for field in &answers.fields {
        let _ = writeln!(out, "  {}", field.line());
    }
    out
}

/// The caps of `limits` that are set, and how much of each is used.
pub fn spending(limits: &Limits, s: &StatusSummary, today: Option<&Today>) -> String {
    let mut parts = Vec::new();
    if let Some(t) = today {
        if let Some(cap) = limits.max_calls_per_day {
            parts.push(format!(
                "{} of {cap} calls on {} (limits.max_calls_per_day)",
                t.calls, t.day.name
            ));
        }
        if let Some(cap) = limits.max_minutes_per_day {
            parts.push(format!(
                "{:.1} of {cap} minutes on {} (limits.max_minutes_per_day)",
                t.secs as f64 / 60.0,
                t.day.name
            ));
        }
    }
    if let Some(cap) = limits.max_calls {
        parts.push(format!("{} of {cap} calls (limits.max_calls)", s.calls));
    }
    if let Some(cap) = limits.max_minutes {
        parts.push(format!(
            "{:.1} of {cap} minutes (limits.max_minutes; {} min reserved per call in flight)",
            s.call_seconds as f64 / 60.0,
            limits.max_call_minutes
        ));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("Spent: {}\n", parts.join("; "))
    }
}

pub use crate::fate::reason_text;

fn second(at: Timestamp) -> Timestamp {
    at.round(jiff::Unit::Second).unwrap_or(at)
}

/// "next due at T (why, for N contact(s))": the groups whose next contact is due at `next`.
pub fn next_due_line(groups: &[WaitGroup], next: Timestamp) -> String {
    let why: Vec<String> = groups
        .iter()
        .filter(|g| g.next_due == Some(next))
        .map(|g| {
            format!(
                "{}: {}",
                plural(g.contacts, "contact", "contacts"),
                reason_text(g.reason)
            )
        })
        .collect();
    if why.is_empty() {
        format!("next due at {}", second(next))
    } else {
        format!("next due at {} ({})", second(next), why.join("; "))
    }
}

/// The "Waiting" section: each group of contacts not yet settled, why and when it is next due,
/// then the estimate for the whole campaign.
pub fn waiting(s: &StatusSummary, eta: Option<&Eta>) -> String {
    let mut out = String::new();
    let w = &mut out;
    if let Some(tripped) = &s.breaker {
        let _ = writeln!(
            w,
            "\nCircuit breaker: open, no call is placed: it tripped {}\n  run with \
             --reset-breaker once the calls have been checked",
            escape_control(tripped)
        );
    }
    if !s.waiting.is_empty() {
        let _ = writeln!(w, "\nWaiting, by reason");
        for g in &s.waiting {
            let _ = write!(
                w,
                "  {:<11} {:>6}  {}",
                g.reason,
                g.contacts,
                reason_text(g.reason)
            );
            match (g.next_due, g.last_due) {
                (Some(first), Some(last)) if first != last => {
                    let _ = write!(w, "; next due {}, last {}", second(first), second(last));
                }
                (Some(first), _) => {
                    let _ = write!(w, "; next due {}", second(first));
                }
                _ => {}
            }
            let _ = writeln!(w);
        }
    }
    if let Some(eta) = eta {
        let _ = writeln!(
            w,
            "\nEstimate: finished between {} (every call settles its contact: {}) and {} (every \
             call retried until its attempts run out: {}), at {} calls/min",
            second(eta.earliest),
            plural(eta.calls_min, "call", "calls"),
            second(eta.latest),
            plural(eta.calls_max, "call", "calls"),
            eta.calls_per_minute
        );
        let _ = writeln!(
            w,
            "  (calling windows count only as far as each contact's next due time; later \
             windows can push this back)"
        );
        if let Some(d) = &eta.daily_capped {
            let _ = writeln!(
                w,
                "  the daily caps allow about {} a day: the calls left spread over {} more \
                 day(s) at the least, {} at the most (counted from each day's midnight)",
                plural(d.calls_per_day, "call", "calls"),
                d.more_days_min,
                d.more_days_max
            );
        }
        if eta.capped {
            let _ = writeln!(
                w,
                "  limits.max_calls may stop the campaign before every retry is made"
            );
        }
    }
    out
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The human report, as text (printing is left to the caller).
pub fn human(name: &str, state_file: &str, s: &StatusSummary) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "Campaign {name} (state file {state_file})");
    if let Some(stopping) = &s.stopping {
        let _ = writeln!(
            w,
            "\nRun: stopping since {} (Ctrl-C or SIGTERM): no new calls; following {} in \
             flight until {} at the latest, then it exits and the next run follows the rest",
            second(stopping.since),
            plural(s.in_flight, "call", "calls"),
            second(stopping.until)
        );
    }

    if let Some(since) = s.paused {
        let _ = writeln!(
            w,
            "\nRun: placing paused since {} until the API's list of calls has been read again: a \
             lost answer is looked for in it, and it shows only the newest calls",
            second(since)
        );
    }
    if s.unmatched_events > 0 {
        let _ = writeln!(
            w,
            "\nWebhooks: events for {} this campaign has no attempt for (kept in the state \
             file; a lost placement they match is settled by them)",
            plural(s.unmatched_events, "call", "calls")
        );
    }

    let _ = writeln!(w, "\nRows in the CSV: {}", s.census.line());
    for word in census::PROGRESS {
        let Some(n) = s.progress.get(word) else {
            continue;
        };
        let _ = write!(w, "  {word:<11} {n:>6}");
        if word == "pending" {
            let _ = write!(w, "  ({} due now", s.due_now);
            if let Some(next) = s.next_due {
                let _ = write!(w, "; next due {}", second(next));
            }
            let _ = write!(w, ")");
        }
        let _ = writeln!(w);
    }
    if s.absent > 0 {
        let _ = writeln!(
            w,
            "\nHistory: {} of earlier imports no longer in the CSV, never called again: {}",
            plural(s.absent, "contact", "contacts"),
            census::breakdown(&s.history)
        );
    }

    let attempts: u64 = s.attempts.values().sum();
    let _ = writeln!(
        w,
        "\nCalls: {} placed, {} in flight, {} to follow them",
        s.calls,
        s.in_flight,
        plural(s.polls, "poll", "polls"),
    );
    let _ = write!(w, "Attempts: {attempts}");
    let by_state: Vec<String> = AttemptState::ALL
        .iter()
        .filter_map(|a| s.attempts.get(a.as_str()).map(|n| format!("{a} {n}")))
        .collect();
    if !by_state.is_empty() {
        let _ = write!(w, " ({})", by_state.join(", "));
    }
    let _ = writeln!(w);

    if s.attention_total > 0 {
        let _ = writeln!(w, "\nNeeds attention ({})", s.attention_total);
        for a in &s.attention {
            let what = match a.state {
                "unknown" => "a call may have been placed; not called again unless run with \
                              --retry-unknown"
                    .to_owned(),
                _ => "refused by the API".to_owned(),
            };
            let _ = write!(w, "  {}: {what}", escape_control(&a.key));
            if let Some(reason) = &a.reason {
                let _ = write!(w, " ({})", escape_control(reason));
            }
            if !a.present {
                let _ = write!(w, " [no longer in the CSV]");
            }
            let _ = writeln!(w);
        }
        more(w, s.attention.len(), s.attention_total);
    }

    if s.errors_total > 0 {
        let _ = writeln!(w, "\nLast errors, newest first ({})", s.errors_total);
        for e in &s.errors {
            let at = e.at.round(jiff::Unit::Second).unwrap_or(e.at);
            let _ = writeln!(
                w,
                "  {at}  {}: {}",
                escape_control(&e.key),
                escape_control(&e.message)
            );
        }
        more(w, s.errors.len(), s.errors_total);
    }
    out
}

fn more(w: &mut String, shown: usize, total: u64) {
    let rest = total.saturating_sub(shown as u64);
    if rest > 0 {
        let _ = writeln!(w, "  … and {rest} more");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Attention, ErrorEntry};

    #[test]
    fn lists_say_how_many_more_and_removed_rows_are_counted() {
        let at: Timestamp = "2026-12-07T17:00:00.250Z".parse().unwrap();
        let summary = StatusSummary {
            campaign: Some("demo".into()),
            census: census::Census {
                rows: 6,
                to_call: 5,
                duplicates: 1,
                ..Default::default()
            },
            progress: [("pending", 3), ("completed", 2), ("duplicate", 1)]
                .into_iter()
                .collect(),
            history: [("completed", 3), ("no_answer", 1)].into_iter().collect(),
            contacts: [("pending", 3), ("done", 2)].into_iter().collect(),
            absent: 4,
            skipped: [("duplicate", 1)].into_iter().collect(),
            in_flight: 0,
            due_now: 3,
            attention: vec![Attention {
                key: "K\u{7}".into(),
                state: "unknown",
                present: false,
                reason: None,
            }],
            attention_total: 3,
            errors: vec![ErrorEntry {
                at,
                key: "K1".into(),
                message: "line one\nline two".into(),
            }],
            errors_total: 1,
            ..StatusSummary::default()
        };
        insta::assert_snapshot!(human("demo", "demo.state.db", &summary));
    }

    #[test]
    fn a_pause_for_the_list_of_calls_and_unmatched_events_are_said() {
        let summary = StatusSummary {
            paused: Some("2026-12-07T17:00:00Z".parse().unwrap()),
            unmatched_events: 2,
            ..StatusSummary::default()
        };
        let text = human("demo", "demo.state.db", &summary);
        assert!(
            text.contains(
                "Run: placing paused since 2026-12-07T17:00:00Z until the API's list of calls has \
                 been read again"
            ),
            "{text}"
        );
        assert!(
            text.contains("Webhooks: events for 2 calls this campaign has no attempt for"),
            "{text}"
        );
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["paused"], "2026-12-07T17:00:00Z");
        assert_eq!(json["unmatched_events"], 2);
        // Nothing to say: not in the JSON either, which stays as it was.
        let quiet = serde_json::to_value(StatusSummary::default()).unwrap();
        assert!(quiet.get("paused").is_none() && quiet.get("unmatched_events").is_none());
    }
}
