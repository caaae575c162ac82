//! Following: every placed call is followed to its end. Polls (on the schedule of
//! [`super::follow`], or the safety net of [`super::push`] in webhook mode) and webhook events
//! bring its terminal record, and both record it through one path, [`Runner::ended`]. A call
//! not seen to end by its give-up instant (see [`super::follow::Deadlines`]), or one the API
//! keeps saying it does not know, becomes `unknown` and is handed to the late checks
//! ([`super::late`]).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::time::Duration;

use jiff::Timestamp;

use super::follow::{self, Deadlines};
use super::{Ending, Event, RunError, Runner, later, push};
use crate::api::{ApiError, BackoffPolicy, CallRecord, ErrorClass};
use crate::state::{self, AfterCall};
use crate::store::{Effect, Finish, LateCall, Pushed};
use crate::text::escape_control;

/// How many polls in a row may answer `not_found` before a followed call is given up as
/// unknown (a transient 404 from a load balancer should not settle anything; a call that is
/// gone should not be polled forever).
pub const NOT_FOUND_LIMIT: u32 = 5;

/// How many polls in a row must fail, besides [`follow::GIVE_UP_GRACE`] without a status,
/// before a call past its give-up instant is given up for a status that cannot be read: in a
/// rehearsal the grace is a fraction of a real second, a poll or two.
pub const UNREADABLE_POLLS: u32 = 5;

/// The calls being followed, when each is polled next, and the webhook inbox.
#[derive(Debug, Default)]
pub(super) struct Follow {
    calls: HashMap<i64, Followed>,
    due: BinaryHeap<Reverse<(Timestamp, i64)>>,
    /// Polls out.
    polling: HashSet<i64>,
    backoff: BackoffPolicy,
    /// Webhook mode (see [`push`]): `None` polls every call on the usual schedule.
    pub(super) push: Option<push::Inbox>,
}

/// A call being followed.
#[derive(Debug)]
struct Followed {
    key: String,
    call_id: String,
    placed_at: Timestamp,
    /// Polls made, counting those not yet written to the state file.
    polls: u32,
    /// The status last recorded, if known: a poll that finds it again writes nothing.
    status: Option<String>,
    /// Polls in a row answered `not_found` (see [`NOT_FOUND_LIMIT`]).
    not_found: u32,
    /// Polls in a row that failed (see [`UNREADABLE_POLLS`]).
    failed: u32,
    /// The contact's calls, this one included.
    calls: u32,
    /// When it is overdue, and when it is given up.
    deadlines: Deadlines,
    /// It has been polled in this run (and the answer handled).
    polled: bool,
    /// When a poll last read its status, or when this run began to follow it.
    read_at: Timestamp,
}

/// How the terminal record of a followed call came (see [`Runner::ended`]).
#[derive(Clone, Copy)]
pub(super) enum Via<'a> {
    /// A poll's answer.
    Poll,
    /// A webhook event, recorded with the result.
    Push(&'a Pushed<'a>),
    /// A terminal event recorded before the call was followed: its id and payload.
    Recorded { event_id: &'a str, payload: &'a str },
}

impl Follow {
    pub(super) fn len(&self) -> usize {
        self.calls.len()
    }

    /// The status the state file holds for a call just followed.
    pub(super) fn seen(&mut self, attempt: i64, status: Option<String>) {
        if let Some(following) = self.calls.get_mut(&attempt) {
            following.status = status;
        }
    }

    /// The attempt following `call_id`, if any.
    pub(super) fn by_call(&self, call_id: &str) -> Option<i64> {
        self.calls
            .iter()
            .find(|(_, f)| f.call_id == call_id)
            .map(|(attempt, _)| *attempt)
    }

    pub(super) fn call_id(&self, attempt: i64) -> Option<&str> {
        self.calls.get(&attempt).map(|f| f.call_id.as_str())
    }

    /// The earliest give-up instant of the calls followed.
    pub(super) fn first_give_up(&self) -> Option<Timestamp> {
        self.calls.values().map(|f| f.deadlines.give_up).min()
    }

    /// How many calls this run has polled that are overdue at `now` (`--until-idle` does not
    /// wait for them).
    pub(super) fn overdue(&self, now: Timestamp) -> usize {
        self.calls
            .values()
            .filter(|f| f.polled && now >= f.deadlines.overdue)
            .count()
    }

    /// How many polls are out.
    #[cfg(test)]
    pub(super) fn polls_out(&self) -> usize {
        self.polling.len()
    }

    /// When the next poll is due.
    pub(super) fn wake(&self) -> Option<Timestamp> {
        self.due.peek().map(|Reverse((at, _))| *at)
    }
}

impl Runner {
    /// Sends the polls that are due.
    pub(super) fn start_polls(&mut self, now: Timestamp) {
        while let Some(Reverse((at, attempt))) = self.following.due.peek().copied() {
            if at > now {
                break;
            }
            self.following.due.pop();
            let Some(following) = self.following.calls.get(&attempt) else {
                continue;
            };
            if !self.following.polling.insert(attempt) {
                continue;
            }
            let client = self.client.clone();
            let tx = self.tx.clone();
            let call_id = following.call_id.clone();
            tokio::spawn(async move {
                let result = client.get_call(&call_id).await;
                let _ = tx.send(Event::Polled {
                    attempt,
                    result: Box::new(result),
                });
            });
        }
    }

    /// Follows `call_id`, placed at `placed_at` for `key`'s `calls`th call, polled `polls` times.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn follow(
        &mut self,
        attempt: i64,
        key: String,
        call_id: String,
        placed_at: Timestamp,
        polls: u32,
        calls: u32,
        now: Timestamp,
    ) {
        let deadlines = Deadlines::new(placed_at, self.max_call());
        // A call past its give-up instant (a run resumed late) is looked at at once.
        let next = if deadlines.give_up <= now {
            now
        } else {
            deadlines.clamp(self.next_poll(placed_at, now, polls), now)
        };
        self.following.calls.insert(
            attempt,
            Followed {
                key,
                call_id,
                placed_at,
                polls,
                status: None,
                not_found: 0,
                failed: 0,
                calls,
                deadlines,
                polled: false,
                read_at: now,
            },
        );
        self.following.due.push(Reverse((next, attempt)));
    }

    /// When to poll a followed call: the usual schedule, or the safety net in webhook mode.
    pub(super) fn next_poll(&self, placed_at: Timestamp, now: Timestamp, polls: u32) -> Timestamp {
        push::schedule(self.following.push.is_some(), placed_at, now, polls)
    }

    /// The answer to a poll (of a followed call, or a late check).
    pub(super) fn polled(
        &mut self,
        attempt: i64,
        result: Result<CallRecord, ApiError>,
        now: Timestamp,
    ) -> Result<(), RunError> {
        self.following.polling.remove(&attempt);
        self.summary.polls += 1;
        if let Some((late, first)) = self.late.answered(attempt) {
            return self.late_checked((&late, first), result, now);
        }
        match &result {
            Ok(_) => self.api_answered(),
            Err(err) => self.api_failed(err, None, now),
        }
        let webhooks = self.following.push.is_some();
        let Some(following) = self.following.calls.get_mut(&attempt) else {
            return Ok(());
        };
        following.polled = true;
        match result {
            Ok(record) if record.outcome().is_some() => {
                self.ended(attempt, &record, Via::Poll, now)?;
            }
            Ok(record) => {
                following.polls += 1;
                following.read_at = now;
                following.failed = 0;
                let next = push::schedule(webhooks, following.placed_at, now, following.polls);
                let status = record.status.as_str();
                if following.status.as_deref() != Some(status) {
                    self.store
                        .record_poll(attempt, Some(status), None, following.polls, now)?;
                    following.status = Some(status.to_owned());
                }
                if now >= following.deadlines.give_up {
                    return self.give_up(attempt, Ok(status), now);
                }
                let next = following.deadlines.clamp(next, now);
                self.following.due.push(Reverse((next, attempt)));
            }
            Err(err) => {
                following.polls += 1;
                following.failed += 1;
                following.not_found = if err.class() == ErrorClass::NotFound {
                    following.not_found + 1
                } else {
                    0
                };
                if following.not_found >= NOT_FOUND_LIMIT {
                    return self.call_lost(attempt, &err, now);
                }
                let wait = match err.class() {
                    ErrorClass::RetryAfter(wait) => wait,
                    ErrorClass::StopRun => {
                        self.stop.stop(Ending::Refused(err.to_string()));
                        follow::POLL_LONG_CALL
                    }
                    _ => self
                        .following
                        .backoff
                        .delay_random(following.polls.min(6), err.retry_after())
                        .max(follow::POLL_EVERY),
                };
                let next = following.deadlines.clamp(later(now, wait), now);
                let read_at = following.read_at;
                let give_up = now >= following.deadlines.give_up
                    && now >= later(read_at, follow::GIVE_UP_GRACE)
                    && following.failed >= UNREADABLE_POLLS;
                let polls = following.polls;
                let error = err.to_string();
                self.store
                    .record_poll(attempt, None, Some(&error), polls, now)?;
                if give_up {
                    return self.give_up(attempt, Err((&error, read_at)), now);
                }
                self.following.due.push(Reverse((next, attempt)));
            }
        }
        Ok(())
    }

    /// The one path by which the result of a followed call is recorded, whether a poll or a
    /// webhook event brought its terminal `record` (see [`Via`]): its contact's fate by the
    /// retry rules, then, once recorded, the call is no longer followed and the guards see it.
    pub(super) fn ended(
        &mut self,
        attempt: i64,
        record: &CallRecord,
        via: Via<'_>,
        now: Timestamp,
    ) -> Result<Effect, RunError> {
        let outcome = record.outcome().expect("a terminal record");
        let following = &self.following.calls[&attempt];
        let retry = &self.campaign.retry;
        let after = state::after_result(outcome, following.calls, retry, record.ended_at, now);
        let key = following.key.clone();
        let polls = following.polls;
        let finish = |payload, polls| Finish {
            attempt,
            key: &key,
            outcome,
            record: payload,
            ended_at: record.ended_at,
            after,
            polls: Some(polls),
        };
        let effect = match via {
            Via::Poll => {
                let raw = serde_json::to_string(&record.raw).expect("JSON serializes");
                if self.store.record_finished(&finish(&raw, polls + 1), now)? {
                    Effect::Result
                } else {
                    // Finished meanwhile by the path that recorded its result.
                    self.following.calls.remove(&attempt);
                    Effect::Ignored
                }
            }
            Via::Push(pushed) => {
                self.store
                    .record_pushed(pushed, Some(&finish(pushed.payload, polls)), now)?
            }
            Via::Recorded { event_id, payload } => {
                if !self
                    .store
                    .adopt_pushed(event_id, &finish(payload, polls), now)?
                {
                    return Ok(Effect::Ignored);
                }
                if let Some(inbox) = self.following.push.as_mut() {
                    inbox.tally.results += 1;
                }
                Effect::Result
            }
        };
        if effect == Effect::Result {
            self.following.calls.remove(&attempt);
            self.summary.finished += 1;
            self.progress
                .finished(outcome, matches!(after, AfterCall::RetryAt(_)));
            self.call_ended(outcome, record, now)?;
        }
        Ok(effect)
    }

    /// A followed call not seen to end by its give-up instant (see [`follow::Deadlines`]):
    /// stuck at the provider, or its status unreadable. `seen` is its last status, or the
    /// error of the last poll and when a poll last read the status.
    fn give_up(
        &mut self,
        attempt: i64,
        seen: Result<&str, (&str, Timestamp)>,
        now: Timestamp,
    ) -> Result<(), RunError> {
        let Some(following) = self.following.calls.get(&attempt) else {
            return Ok(());
        };
        let reason = follow::given_up_reason(seen, following.placed_at, now, self.max_call());
        self.unknown(attempt, &reason, now)
    }

    /// A followed call the API keeps saying it does not know: the account changed under the
    /// key, or (in a rehearsal resumed after a kill) the sandbox that made it is gone. It may
    /// have rung someone, so the contact becomes `unknown`, never placed again unless the user
    /// says so (`--retry-unknown`).
    fn call_lost(&mut self, attempt: i64, err: &ApiError, now: Timestamp) -> Result<(), RunError> {
        let Some(following) = self.following.calls.get(&attempt) else {
            return Ok(());
        };
        let reason = format!(
            "the API no longer knows call {} ({err}, {NOT_FOUND_LIMIT} times in a row); it may have \
             been placed: not called again unless the run is given --retry-unknown",
            following.call_id
        );
        self.unknown(attempt, &reason, now)
    }

    /// A followed call whose fate this run gives up learning becomes `unknown` with `reason`,
    /// and holds its number (see [`Runner::number_held_until`]).
    fn unknown(&mut self, attempt: i64, reason: &str, now: Timestamp) -> Result<(), RunError> {
        let Some(following) = self.following.calls.remove(&attempt) else {
            return Ok(());
        };
        let held_until = self.number_held_until(now);
        if !self.store.record_call_unknown(
            attempt,
            &following.key,
            reason,
            following.polls,
            held_until,
            now,
        )? {
            // Settled meanwhile (its result came by another path).
            return Ok(());
        }
        self.guards.unknown_call();
        self.progress.note(&format!(
            "contact {} is unknown: {reason}; {}",
            escape_control(&following.key),
            held_note(held_until)
        ));
        // Its result may still come while this run goes on: it is asked for now and then.
        let call = LateCall {
            attempt,
            key: following.key,
            call_id: following.call_id,
            calls: following.calls,
        };
        let next = later(now, self.late_every());
        self.late.ask_later(call, next);
        Ok(())
    }

    /// Until when a call that may have been placed could still be going on, counted from
    /// `now` (when it became unknown):
    /// `limits.max_call_minutes`. Until then no other contact with the same number is called.
    pub(super) fn number_held_until(&self, now: Timestamp) -> Timestamp {
        later(now, self.max_call())
    }

    /// `limits.max_call_minutes`.
    fn max_call(&self) -> Duration {
        Duration::from_secs(u64::from(self.campaign.limits.max_call_minutes.get()) * 60)
    }
}

/// What a contact becoming unknown means for the rows that share its number.
pub(super) fn held_note(held_until: Timestamp) -> String {
    format!(
        "no row with its number is called before {} (limits.max_call_minutes: its call may be going on until then)",
        held_until.round(jiff::Unit::Second).unwrap_or(held_until)
    )
}

#[cfg(test)]
mod tests {
    use tokio::sync::{mpsc, oneshot};

    use super::super::testing::Rig;
    use super::*;
    use crate::api::Outcome;
    use crate::sandbox::SandboxConfig;
    use crate::state::ContactState;
    use crate::webhook::receiver::{Event as Pushed, Inbound};

    #[tokio::test]
    async fn a_poll_records_the_result_and_the_call_is_no_longer_followed() {
        let mut rig = Rig::new(&["+14155550190"], "", SandboxConfig::default()).await;
        rig.start().await;
        rig.place().await;
        // Not due yet: the first poll waits until a call could have ended.
        assert_eq!(rig.poll().await, 0);
        rig.advance(600);
        assert_eq!(rig.poll().await, 1);
        let row = &rig.rows()[0];
        assert_eq!(
            (row.state, row.outcome, row.calls),
            (ContactState::Done, Some(Outcome::Completed), 1)
        );
        assert_eq!(rig.runner.following.len(), 0);
        assert_eq!(rig.runner.summary.finished, 1);
    }

    #[tokio::test]
    async fn a_webhook_event_records_the_result_through_the_same_path() {
        let mut rig = Rig::new(&["+14155550190"], "", SandboxConfig::default()).await;
        let (_tx, rx) = mpsc::channel(1);
        let inbox = push::Inbox::new(rx, "http://127.0.0.1:9/hook".into());
        rig.runner.following.push = Some(inbox);
        rig.start().await;
        rig.place().await;
        rig.advance(600);
        let attempt = *rig.runner.following.calls.keys().next().unwrap();
        let call_id = rig.runner.following.call_id(attempt).unwrap().to_owned();
        let record = rig.runner.client.get_call(&call_id).await.unwrap();
        let mut json = record.raw.clone();
        json["event"] = "call.completed".into();
        json["eventId"] = "evt-1".into();
        json["callId"] = call_id.clone().into();
        let event = Pushed::parse(json.to_string().as_bytes()).unwrap();
        let (committed, answered) = oneshot::channel();
        rig.runner
            .inbound(Some(Inbound::Event { event, committed }))
            .unwrap();
        assert_eq!(answered.await.unwrap(), Ok(()));
        let row = &rig.rows()[0];
        assert_eq!(
            (row.state, row.outcome),
            (ContactState::Done, Some(Outcome::Completed))
        );
        assert_eq!(rig.runner.following.len(), 0);
        assert_eq!(rig.runner.summary.finished, 1);
        assert_eq!(rig.runner.webhook_tally().results, 1);
        // No poll was needed, and none is left to send.
        assert_eq!(rig.runner.summary.polls, 0);
        assert_eq!(rig.poll().await, 0);
    }

    #[tokio::test]
    async fn a_call_not_seen_to_end_is_given_up_as_unknown_and_asked_about_later() {
        // 555-0195 answers and never finishes.
        let config = SandboxConfig::default();
        let mut rig = Rig::new(&["+14155550195"], "  max_call_minutes: 1\n", config).await;
        rig.start().await;
        rig.place().await;
        let placed = rig.now();
        // Polled until its give-up instant, one minute and the grace after placement.
        while rig.now() < later(placed, Duration::from_secs(60) + follow::GIVE_UP_GRACE) {
            rig.advance(60);
            rig.poll().await;
            if rig.runner.following.len() == 0 {
                break;
            }
        }
        assert_eq!(rig.runner.following.len(), 0);
        assert_eq!(rig.states(), [ContactState::Unknown]);
        assert_eq!(rig.runner.summary.finished, 0);
        // The late checks ask about it again.
        assert!(rig.runner.late.wake().is_some());
    }
}
