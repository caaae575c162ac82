//! What the API answers, typed: call statuses, outcomes, the `POST` answer and call records.
//!
//! Reading is tolerant on purpose (the vendor adds fields, and the list's item shape is not
//! documented): unknown fields are ignored, a missing or `null` optional field is `None`, and
//! an optional field of an unexpected type or format is `None` too. Only what the runner cannot
//! do without is required: an id (`id` or `callId`) and, for records, a `status`. Every record
//! keeps the whole JSON it came from in `raw`, so nothing the API said is lost.
//!
//! Invariant: a status that is not one of the five terminal ones means "still running"
//! (bys-api.md, Statuses), including statuses this code has never heard of.

use std::fmt;

use jiff::Timestamp;
use serde_json::{Map, Value};

/// A call's status. Unknown names are kept in [`CallStatus::Other`] and count as running.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CallStatus {
    Queued,
    Ringing,
    InProgress,
    Completed,
    NoAnswer,
    Voicemail,
    Declined,
    Failed,
    /// A status this client does not know (the API has one unpublished non-terminal status,
    /// and may add more). Never terminal.
    Other(String),
}

impl CallStatus {
    /// The status from its API name. Never fails: unknown names become [`CallStatus::Other`].
    pub fn parse(name: &str) -> CallStatus {
        match name {
            "queued" => CallStatus::Queued,
            "ringing" => CallStatus::Ringing,
            "in_progress" => CallStatus::InProgress,
            "completed" => CallStatus::Completed,
            "no_answer" => CallStatus::NoAnswer,
            "voicemail" => CallStatus::Voicemail,
            "declined" => CallStatus::Declined,
            "failed" => CallStatus::Failed,
            other => CallStatus::Other(other.to_owned()),
        }
    }

    /// The API name.
    pub fn as_str(&self) -> &str {
        match self {
            CallStatus::Queued => "queued",
            CallStatus::Ringing => "ringing",
            CallStatus::InProgress => "in_progress",
            CallStatus::Completed => "completed",
            CallStatus::NoAnswer => "no_answer",
            CallStatus::Voicemail => "voicemail",
            CallStatus::Declined => "declined",
            CallStatus::Failed => "failed",
            CallStatus::Other(name) => name,
        }
    }

    /// Whether the call has ended for good: exactly the five terminal statuses.
    pub fn is_terminal(&self) -> bool {
        self.outcome().is_some()
    }

    /// The outcome, for a terminal status.
    pub fn outcome(&self) -> Option<Outcome> {
        Some(match self {
            CallStatus::Completed => Outcome::Completed,
            CallStatus::NoAnswer => Outcome::NoAnswer,
            CallStatus::Voicemail => Outcome::Voicemail,
            CallStatus::Declined => Outcome::Declined,
            CallStatus::Failed => Outcome::Failed,
            CallStatus::Queued
            | CallStatus::Ringing
            | CallStatus::InProgress
            | CallStatus::Other(_) => return None,
        })
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An unknown status comes from the network: escape it before it reaches a terminal.
        f.write_str(&crate::text::escape_control(self.as_str()))
    }
}

/// How a call ended: the API's five terminal statuses; one type for the client, the state
/// machines and the results. The name is also the `status` column of
/// the results.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    NoAnswer,
    Voicemail,
    Declined,
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Completed,
        Outcome::NoAnswer,
        Outcome::Voicemail,
        Outcome::Declined,
        Outcome::Failed,
    ];

    /// Whether someone (or something) picked up, so the call went through `in_progress`.
    pub fn answered(self) -> bool {
        matches!(self, Outcome::Completed | Outcome::Voicemail)
    }
}

impl From<Outcome> for CallStatus {
    fn from(outcome: Outcome) -> CallStatus {
        match outcome {
            Outcome::Completed => CallStatus::Completed,
            Outcome::NoAnswer => CallStatus::NoAnswer,
            Outcome::Voicemail => CallStatus::Voicemail,
            Outcome::Declined => CallStatus::Declined,
            Outcome::Failed => CallStatus::Failed,
        }
    }
}

/// A status that is not terminal has no outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("status {0} is not terminal")]
pub struct NotTerminal(pub CallStatus);

impl TryFrom<&CallStatus> for Outcome {
    type Error = NotTerminal;

    fn try_from(status: &CallStatus) -> Result<Outcome, NotTerminal> {
        status.outcome().ok_or_else(|| NotTerminal(status.clone()))
    }
}

/// The answer to a successful `POST /v1/agent/calls`.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub call_id: String,
    /// `queued` in practice; the API documents that a new call starts queued, so that is
    /// assumed when the answer leaves it out.
    pub status: CallStatus,
    /// The whole answer (newer API versions add `language`, `languageSource`, `voice`).
    pub raw: Value,
}

impl Placed {
    /// Reads `{"callId": …, "status": …}`; `id` is accepted in place of `callId`.
    pub fn from_json(raw: Value) -> Result<Placed, String> {
        let call_id = id_of(&raw)?;
        let status = string(&raw, "status")
            .map(|s| CallStatus::parse(&s))
            .unwrap_or(CallStatus::Queued);
        Ok(Placed {
            call_id,
            status,
            raw,
        })
    }
}

/// One call as `GET /v1/agent/calls/{id}` (or an item of the list) describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// `id`, or `callId` when `id` is absent (list items may carry either).
    pub id: String,
    pub status: CallStatus,
    pub to: Option<String>,
    pub objective: Option<String>,
    pub summary: Option<String>,
    /// Requested field → value; values the call did not obtain are `null`.
    pub extracted: Option<Map<String, Value>>,
    /// Kept as JSON: a string today, perhaps an array of turns tomorrow.
    pub transcript: Option<Value>,
    pub recording_url: Option<String>,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    /// Not documented for `GET`; present in list items of the sandbox.
    pub created_at: Option<Timestamp>,
    pub duration_sec: Option<u64>,
    /// The whole record as received.
    pub raw: Value,
}

impl CallRecord {
    /// Reads a record tolerantly (see the module header). Fails only without an id or status.
    pub fn from_json(raw: Value) -> Result<CallRecord, String> {
        if !raw.is_object() {
            return Err(format!(
                "a call record should be an object, not {}",
                kind(&raw)
            ));
        }
        let id = id_of(&raw)?;
        let status = string(&raw, "status")
            .map(|s| CallStatus::parse(&s))
            .ok_or_else(|| format!("the record of call {id} has no status"))?;
        Ok(CallRecord {
            status,
            to: string(&raw, "to"),
            objective: string(&raw, "objective"),
            summary: string(&raw, "summary"),
            extracted: raw.get("extracted").and_then(Value::as_object).cloned(),
            transcript: raw.get("transcript").filter(|v| !v.is_null()).cloned(),
            recording_url: string(&raw, "recordingUrl"),
            started_at: timestamp(&raw, "startedAt"),
            ended_at: timestamp(&raw, "endedAt"),
            created_at: timestamp(&raw, "createdAt"),
            duration_sec: seconds(&raw, "durationSec"),
            id,
            raw,
        })
    }

    /// The outcome, once the call has ended.
    pub fn outcome(&self) -> Option<Outcome> {
        self.status.outcome()
    }
}

/// Reads the `calls` array of `GET /v1/agent/calls`.
pub(crate) fn list_from_json(body: Value) -> Result<Vec<CallRecord>, String> {
    let Value::Object(mut body) = body else {
        return Err(format!("the list should be an object, not {}", kind(&body)));
    };
    match body.remove("calls") {
        Some(Value::Array(items)) => items.into_iter().map(CallRecord::from_json).collect(),
        Some(other) => Err(format!("`calls` should be an array, not {}", kind(&other))),
        None => Err("the answer has no `calls` array".into()),
    }
}

fn id_of(raw: &Value) -> Result<String, String> {
    string(raw, "id")
        .or_else(|| string(raw, "callId"))
        .filter(|id| !id.is_empty())
        .ok_or_else(|| "the answer has no call id (`id` or `callId`)".to_owned())
}

fn string(raw: &Value, name: &str) -> Option<String> {
    raw.get(name).and_then(Value::as_str).map(str::to_owned)
}

fn timestamp(raw: &Value, name: &str) -> Option<Timestamp> {
    let text = raw.get(name)?.as_str()?;
    match text.parse() {
        Ok(t) => Some(t),
        Err(err) => {
            // Tolerated (the raw record keeps the text), but worth a trace when debugging.
            tracing::debug!(field = name, %err, "unreadable timestamp in a call record");
            None
        }
    }
}

fn seconds(raw: &Value, name: &str) -> Option<u64> {
    let value = raw.get(name)?;
    // `12.0` is still twelve seconds; negative or fractional-garbage values are not.
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| s.round() as u64)
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_round_trip_and_only_five_are_terminal() {
        let all = [
            ("queued", false),
            ("ringing", false),
            ("in_progress", false),
            ("completed", true),
            ("no_answer", true),
            ("voicemail", true),
            ("declined", true),
            ("failed", true),
        ];
        for (name, terminal) in all {
            let status = CallStatus::parse(name);
            assert!(!matches!(status, CallStatus::Other(_)), "{name}");
            assert_eq!(status.as_str(), name);
            assert_eq!(status.to_string(), name);
            assert_eq!(status.is_terminal(), terminal, "{name}");
        }
        for outcome in Outcome::ALL {
            let status = CallStatus::from(outcome);
            assert_eq!(status.as_str(), outcome.as_str());
            assert_eq!(Outcome::try_from(&status), Ok(outcome));
        }
        assert_eq!(
            Outcome::try_from(&CallStatus::Ringing),
            Err(NotTerminal(CallStatus::Ringing))
        );
    }

    #[test]
    fn an_unknown_status_is_kept_and_counts_as_running() {
        let record = CallRecord::from_json(json!({
            "id": "c1", "status": "transferring", "someFutureField": {"x": 1}
        }))
        .unwrap();
        assert_eq!(record.status, CallStatus::Other("transferring".into()));
        assert!(!record.status.is_terminal());
        assert_eq!(record.outcome(), None);
        assert_eq!(record.status.as_str(), "transferring");
        // Case matters: the API's names are lower snake case.
        assert!(!CallStatus::parse("COMPLETED").is_terminal());
        assert_eq!(
            CallStatus::Other("a\u{1b}[2Jb".into()).to_string(),
            "a\\u{1b}[2Jb"
        );
    }

    #[test]
    fn a_full_record_reads_every_field() {
        let raw = json!({
            "id": "7f1c", "callId": "7f1c", "status": "completed", "to": "+14155550123",
            "objective": "Confirm.", "summary": "Confirmed.",
            "extracted": {"confirmed": true, "time": null},
            "transcript": [{"role": "agent", "text": "Hello"}],
            "recordingUrl": "http://127.0.0.1:1/v1/agent/calls/7f1c/recording",
            "startedAt": "2026-01-05T09:00:20Z", "endedAt": "2026-01-05T09:02:20.5Z",
            "createdAt": "2026-01-05T09:00:00.000Z", "durationSec": 120, "language": "en-US"
        });
        let r = CallRecord::from_json(raw.clone()).unwrap();
        assert_eq!(r.id, "7f1c");
        assert_eq!(r.outcome(), Some(Outcome::Completed));
        assert_eq!(r.to.as_deref(), Some("+14155550123"));
        assert_eq!(r.objective.as_deref(), Some("Confirm."));
        assert_eq!(r.summary.as_deref(), Some("Confirmed."));
        let extracted = r.extracted.as_ref().unwrap();
        assert_eq!(extracted["confirmed"], json!(true));
        assert_eq!(extracted["time"], Value::Null);
        assert!(r.transcript.as_ref().unwrap().is_array());
        assert!(r.recording_url.as_deref().unwrap().ends_with("/recording"));
        assert_eq!(r.started_at, Some("2026-01-05T09:00:20Z".parse().unwrap()));
        assert_eq!(r.ended_at, Some("2026-01-05T09:02:20.5Z".parse().unwrap()));
        assert_eq!(r.created_at, Some("2026-01-05T09:00:00Z".parse().unwrap()));
        assert_eq!(r.duration_sec, Some(120));
        assert_eq!(r.raw, raw);
    }

    #[test]
    fn missing_null_and_odd_optional_fields_are_none() {
        let r = CallRecord::from_json(json!({
            "callId": "c2", "status": "queued", "summary": null, "extracted": null,
            "transcript": null, "startedAt": "yesterday", "endedAt": 5,
            "durationSec": -3, "to": 14155550123_u64
        }))
        .unwrap();
        assert_eq!(r.id, "c2");
        assert_eq!(r.status, CallStatus::Queued);
        assert_eq!(
            (&r.to, &r.objective, &r.summary, &r.extracted, &r.transcript),
            (&None, &None, &None, &None, &None)
        );
        assert_eq!((r.started_at, r.ended_at, r.created_at), (None, None, None));
        assert_eq!((r.duration_sec, &r.recording_url), (None, &None));

        let r = CallRecord::from_json(json!({"id": "c3", "status": "completed",
            "transcript": "Agent: Hello", "durationSec": 12.0}))
        .unwrap();
        assert_eq!(r.transcript, Some(json!("Agent: Hello")));
        assert_eq!(r.duration_sec, Some(12));
    }

    #[test]
    fn id_and_status_are_required() {
        assert!(CallRecord::from_json(json!({"status": "queued"})).is_err());
        assert!(CallRecord::from_json(json!({"id": "", "status": "queued"})).is_err());
        assert!(CallRecord::from_json(json!({"id": "c"})).is_err());
        assert!(CallRecord::from_json(json!([])).is_err());
    }

    #[test]
    fn the_post_answer_tolerates_extra_and_missing_fields() {
        let p = Placed::from_json(json!({"callId": "c9", "status": "queued",
            "language": "en-US", "languageSource": "default", "voice": "Aoede"}))
        .unwrap();
        assert_eq!((p.call_id.as_str(), &p.status), ("c9", &CallStatus::Queued));
        assert_eq!(p.raw["voice"], "Aoede");
        let p = Placed::from_json(json!({"id": "c10"})).unwrap();
        assert_eq!(
            (p.call_id.as_str(), &p.status),
            ("c10", &CallStatus::Queued)
        );
        assert!(Placed::from_json(json!({"status": "queued"})).is_err());
        assert!(Placed::from_json(json!("c11")).is_err());
    }

    #[test]
    fn lists_read_calls_with_either_id() {
        let list = list_from_json(json!({"calls": [
            {"id": "a", "callId": "a", "status": "ringing", "createdAt": "2026-01-05T09:00:00Z"},
            {"callId": "b", "status": "failed"},
        ], "next": null}))
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].id, "a");
        assert!(list[0].created_at.is_some());
        assert_eq!(list[1].id, "b");
        assert_eq!(list[1].created_at, None);
        assert!(list_from_json(json!({"calls": []})).unwrap().is_empty());
        assert!(list_from_json(json!({"items": []})).is_err());
        assert!(list_from_json(json!({"calls": {}})).is_err());
        assert!(list_from_json(json!({"calls": [{"status": "queued"}]})).is_err());
    }
}
