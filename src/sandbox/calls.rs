//! The call store and each call's lifecycle.
//!
//! A call's whole future is fixed when it is placed (its [`Plan`]), so its status at any
//! instant is a pure function of the clock: `queued → ringing → in_progress → terminal`.
//! Nothing runs per call; a `GET` computes the status when asked, which is why thousands of
//! calls in flight cost only their memory.
//!
//! Invariant: calls are never removed or changed after creation; the store only grows.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::content::{self, Content};
use super::outcome::{End, Outcome, Plan};
use super::request::PlaceCall;

/// A call's status at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Queued,
    Ringing,
    InProgress,
    Ended(Outcome),
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Ringing => "ringing",
            Status::InProgress => "in_progress",
            Status::Ended(outcome) => outcome.as_str(),
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Ended(_))
    }
}

/// One placed call, immutable once created.
#[derive(Debug)]
pub struct Call {
    pub id: String,
    /// The API key that placed it; only that key can see it.
    pub api_key: String,
    /// The `Idempotency-Key` header, recorded but not acted on (the real API documents none).
    pub idempotency_key: Option<String>,
    pub created_at: Timestamp,
    pub request: PlaceCall,
    /// The request body exactly as received.
    pub raw_body: String,
    /// How many calls to the same number were placed before this one.
    pub nth: u64,
    pub plan: Plan,
    pub content: Content,
    /// How many times `GET /v1/agent/calls/{id}` has read it (shown by `/sandbox/calls`, so
    /// that tests can hold a client's count of its polls against the server's).
    pub reads: AtomicU64,
}

fn secs(n: u32) -> Duration {
    Duration::from_secs(u64::from(n))
}

fn iso(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_string()))
}

impl Call {
    /// Builds the immutable record and generates its content.
    // Each argument is a distinct part of the record; a builder would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        api_key: String,
        idempotency_key: Option<String>,
        created_at: Timestamp,
        request: PlaceCall,
        raw_body: String,
        nth: u64,
        plan: Plan,
    ) -> Call {
        let content = content::generate(&request, &plan);
        Call {
            id,
            api_key,
            idempotency_key,
            created_at,
            request,
            raw_body,
            nth,
            plan,
            content,
            reads: AtomicU64::new(0),
        }
    }

    /// When the phone starts ringing.
    pub fn ringing_at(&self) -> Timestamp {
        self.created_at + secs(self.plan.queued_secs)
    }

    /// When the call was answered, if it is ever answered.
    pub fn answered_at(&self) -> Option<Timestamp> {
        self.plan
            .answered()
            .then(|| self.ringing_at() + secs(self.plan.ring_secs))
    }

    /// When the call ends, if it ever ends.
    pub fn ended_at(&self) -> Option<Timestamp> {
        match (self.plan.end, self.plan.talk_secs) {
            (End::Never, _) => None,
            (End::Terminal(_), Some(talk)) => self.answered_at().map(|a| a + secs(talk)),
            (End::Terminal(_), None) => Some(self.ringing_at() + secs(self.plan.ring_secs)),
        }
    }

    /// The status at `now`.
    pub fn status_at(&self, now: Timestamp) -> Status {
        if let (End::Terminal(outcome), Some(end)) = (self.plan.end, self.ended_at())
            && now >= end
        {
            return Status::Ended(outcome);
        }
        match self.answered_at() {
            Some(answered) if now >= answered => Status::InProgress,
            _ if now >= self.ringing_at() => Status::Ringing,
            _ => Status::Queued,
        }
    }

    /// Simulated seconds of conversation used by `now` (what a minute cap counts).
    pub fn talk_used_at(&self, now: Timestamp) -> Duration {
        let Some(answered) = self.answered_at() else {
            return Duration::ZERO;
        };
        let end = self.ended_at().map_or(now, |end| end.min(now));
        end.duration_since(answered)
            .try_into()
            .unwrap_or(Duration::ZERO)
    }

    /// The webhook events this call sends, with the simulated instant each happens.
    pub fn events(&self) -> Vec<(Timestamp, String)> {
        let mut events = Vec::with_capacity(2);
        if let Some(answered) = self.answered_at() {
            events.push((answered, "call.in_progress".to_string()));
        }
        if let (End::Terminal(outcome), Some(end)) = (self.plan.end, self.ended_at()) {
            events.push((end, format!("call.{}", outcome.as_str())));
        }
        events
    }

    /// The call as the API shows it at `now`. `base_url` is the sandbox's own address, for
    /// `recordingUrl`.
    pub fn record_at(&self, now: Timestamp, base_url: &str) -> Value {
        let status = self.status_at(now);
        let started = self.answered_at().filter(|&a| now >= a);
        let ended = self.ended_at().filter(|_| status.is_terminal());
        let duration = match (started, ended) {
            (Some(s), Some(e)) => json!(e.duration_since(s).as_secs()),
            _ => Value::Null,
        };
        let finished = status.is_terminal();
        let recording = (finished && started.is_some())
            .then(|| format!("{base_url}/v1/agent/calls/{}/recording", self.id));
        let req = &self.request;
        json!({
            "id": self.id,
            "callId": self.id,
            "status": status.as_str(),
            "to": req.to,
            "callerId": req.caller_id,
            "objective": req.objective,
            "context": req.context,
            "voice": voice(req),
            "language": language(req).0,
            "summary": if finished { json!(self.content.summary) } else { Value::Null },
            "extracted": if finished { Value::Object(self.content.extracted.clone()) } else { Value::Null },
            "transcript": if finished { json!(self.content.transcript) } else { Value::Null },
            "recordingUrl": recording,
            "createdAt": self.created_at.to_string(),
            "startedAt": iso(started),
            "endedAt": iso(ended),
            "durationSec": duration,
        })
    }

    /// The inspection view: the record plus everything the sandbox knows about how the call
    /// was placed.
    pub fn inspection_at(&self, now: Timestamp, base_url: &str) -> Value {
        let mut record = self.record_at(now, base_url);
        let obj = record.as_object_mut().expect("a record is an object");
        obj.insert("apiKey".into(), json!(self.api_key));
        obj.insert("idempotencyKey".into(), json!(self.idempotency_key));
        obj.insert("webhookUrl".into(), json!(self.request.webhook_url));
        // Parsed again on demand rather than stored twice: validation already proved it parses.
        let request = serde_json::from_str(&self.raw_body).unwrap_or(Value::Null);
        obj.insert("request".into(), request);
        obj.insert("requestBody".into(), json!(self.raw_body));
        obj.insert("callIndex".into(), json!(self.nth));
        obj.insert("reads".into(), json!(self.reads.load(Ordering::Relaxed)));
        obj.insert("plan".into(), json!(self.plan));
        obj.insert(
            "finalStatus".into(),
            json!(match self.plan.end {
                End::Terminal(outcome) => Some(outcome.as_str()),
                End::Never => None,
            }),
        );
        record
    }
}

/// The voice the call uses (the request's, or the sandbox default).
pub fn voice(req: &PlaceCall) -> &str {
    req.voice.as_deref().unwrap_or("Aoede")
}

/// The language and where it came from (`request` or `default`).
pub fn language(req: &PlaceCall) -> (&str, &'static str) {
    match req.language.as_deref() {
        Some(lang) => (lang, "request"),
        None => ("auto", "default"),
    }
}

/// How often a number was tried and called.
#[derive(Debug, Default, Clone, Copy)]
pub struct NumberCounts {
    /// `POST`s for the number that passed validation (placed or refused by a fault).
    pub attempts: u64,
    /// Calls actually placed to it.
    pub placed: u64,
}

/// Every call ever placed, in creation order.
#[derive(Debug, Default)]
pub struct Store {
    calls: Vec<Arc<Call>>,
    by_id: HashMap<String, usize>,
    numbers: HashMap<String, NumberCounts>,
}

impl Store {
    pub fn counts(&self, to: &str) -> NumberCounts {
        self.numbers.get(to).copied().unwrap_or_default()
    }

    /// Records a `POST` for `to` that passed validation, returning the counts before it.
    pub fn note_attempt(&mut self, to: &str) -> NumberCounts {
        let counts = self.numbers.entry(to.to_string()).or_default();
        let before = *counts;
        counts.attempts += 1;
        before
    }

    pub fn insert(&mut self, call: Call) -> Arc<Call> {
        self.numbers
            .entry(call.request.to.clone())
            .or_default()
            .placed += 1;
        let call = Arc::new(call);
        self.by_id.insert(call.id.clone(), self.calls.len());
        self.calls.push(Arc::clone(&call));
        call
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Call>> {
        self.by_id.get(id).map(|&i| &self.calls[i])
    }

    /// Every call, oldest first.
    pub fn all(&self) -> &[Arc<Call>] {
        &self.calls
    }

    /// The most recent `limit` calls placed with `api_key`, newest first.
    pub fn recent(&self, api_key: &str, limit: usize) -> Vec<Arc<Call>> {
        self.calls
            .iter()
            .rev()
            .filter(|c| c.api_key == api_key)
            .take(limit)
            .cloned()
            .collect()
    }

    /// Simulated conversation time used by every call so far.
    pub fn talk_used_at(&self, now: Timestamp) -> Duration {
        self.calls.iter().map(|c| c.talk_used_at(now)).sum()
    }

    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::outcome::{Distribution, draw};
    use crate::sandbox::request::validate;

    fn call(to: &str, nth: u64) -> Call {
        let body = format!(
            r#"{{"to":"{to}","objective":"Ask about the order.","fields":[{{"name":"ok","type":"boolean"}}]}}"#
        );
        let req = validate(body.as_bytes(), &["+14155550100".to_string()]).unwrap();
        let plan = draw(5, to, nth, &Distribution::default());
        let t0: Timestamp = "2026-01-05T09:00:00Z".parse().unwrap();
        Call::new(
            "c1".into(),
            "bys_ak_x".into(),
            None,
            t0,
            req,
            body,
            nth,
            plan,
        )
    }

    #[test]
    fn a_completed_call_walks_through_every_status_consistently() {
        let c = call("+14155550190", 0);
        let t0 = c.created_at;
        assert_eq!(c.status_at(t0), Status::Queued);
        assert_eq!(c.status_at(c.ringing_at()), Status::Ringing);
        let answered = c.answered_at().unwrap();
        assert_eq!(c.status_at(answered), Status::InProgress);
        let ended = c.ended_at().unwrap();
        assert_eq!(
            c.status_at(ended - Duration::from_millis(1)),
            Status::InProgress
        );
        assert_eq!(c.status_at(ended), Status::Ended(Outcome::Completed));

        let during = c.record_at(answered, "http://x");
        assert_eq!(during["startedAt"], json!(answered.to_string()));
        assert_eq!(during["endedAt"], Value::Null);
        assert_eq!(during["summary"], Value::Null);
        assert_eq!(during["extracted"], Value::Null);
        assert_eq!(during["durationSec"], Value::Null);

        let done = c.record_at(ended + Duration::from_secs(3600), "http://x");
        assert_eq!(done["endedAt"], json!(ended.to_string()));
        assert_eq!(
            done["durationSec"],
            json!(ended.duration_since(answered).as_secs())
        );
        assert_eq!(
            done["recordingUrl"],
            json!("http://x/v1/agent/calls/c1/recording")
        );
        assert!(done["extracted"].as_object().unwrap().contains_key("ok"));
        assert_eq!(
            c.talk_used_at(ended + Duration::from_secs(99)),
            ended.duration_since(answered).try_into().unwrap()
        );
        let events: Vec<_> = c.events().into_iter().map(|(_, e)| e).collect();
        assert_eq!(events, ["call.in_progress", "call.completed"]);
    }

    #[test]
    fn an_unanswered_call_never_starts() {
        let c = call("+14155550191", 0);
        let ended = c.ended_at().unwrap();
        let done = c.record_at(ended, "http://x");
        assert_eq!(done["status"], "no_answer");
        assert_eq!(done["startedAt"], Value::Null);
        assert_eq!(done["durationSec"], Value::Null);
        assert_eq!(done["recordingUrl"], Value::Null);
        assert_eq!(done["extracted"], json!({"ok": null}));
        assert_eq!(c.talk_used_at(ended), Duration::ZERO);
        let events: Vec<_> = c.events().into_iter().map(|(_, e)| e).collect();
        assert_eq!(events, ["call.no_answer"]);
    }

    #[test]
    fn a_never_finishing_call_stays_in_progress() {
        let c = call("+14155550195", 0);
        assert_eq!(c.ended_at(), None);
        let later = c.created_at + Duration::from_secs(86_400);
        assert_eq!(c.status_at(later), Status::InProgress);
        assert_eq!(c.events().len(), 1);
        assert!(c.talk_used_at(later) > Duration::from_secs(80_000));
    }

    #[test]
    fn the_store_lists_newest_first_per_key() {
        let mut store = Store::default();
        for i in 0..3 {
            let mut c = call("+14155550123", i);
            c.id = format!("c{i}");
            if i == 1 {
                c.api_key = "bys_ak_other".into();
            }
            store.insert(c);
        }
        let ids: Vec<_> = store
            .recent("bys_ak_x", 10)
            .iter()
            .map(|c| c.id.clone())
            .collect();
        assert_eq!(ids, ["c2", "c0"]);
        assert_eq!(store.counts("+14155550123").placed, 3);
        assert!(store.get("c1").is_some());
        assert!(store.get("nope").is_none());
    }
}
