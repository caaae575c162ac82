//! Webhook mode: results pushed by the API, committed by the driver, with polling kept only as
//! a rare safety net.
//!
//! The receiver ([`crate::webhook::receiver`]) verifies each delivery and hands it here with a
//! oneshot. The driver records it in one transaction — the event row (deduplicated on
//! `eventId`) and, for the terminal event of a call it follows, the result with the attempt's
//! finish — and only then answers, so the receiver acknowledges nothing that is not committed
//! (a power cut may still take the commit's page writes: the call is then polled for its result).
//! Events of calls the driver does not follow are recorded and kept, but for three kinds: an
//! event whose number and objective match exactly one lost placement (being settled, or given
//! up as unknown) settles it with its call (see [`Runner::adopt_by_event`]); a call whose
//! terminal event came before the runner knew its id (the POST's answer still on its way) is
//! finished from that record as soon as it is followed; and a call given up as unknown (see
//! [`super::follow::Deadlines`]) is finished by its late terminal event, which also moves its
//! contact on. The rest stay in the state file, counted by `status` as unmatched.
//!
//! Safety net: a followed call is first polled [`FIRST_POLL`] after placement — after the
//! longest plausible call and the sender's retries — then every [`POLL_EVERY`]. A lost webhook
//! costs a late result, never a stuck contact, and a run whose receiver is unreachable still
//! finishes.

use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;

use super::following::Via;
use super::{RunError, Runner, later};
use crate::api::CallRecord;
use crate::store::{Effect, LateCall, Pushed};
use crate::webhook::receiver::{Event, Inbound};

/// First poll of a call in webhook mode: the sandbox's calls last under five minutes, and a
/// failing delivery is retried for 75 s more.
pub const FIRST_POLL: Duration = Duration::from_secs(10 * 60);
/// Between later polls of a call whose terminal event has not come.
pub const POLL_EVERY: Duration = Duration::from_secs(2 * 60);

/// When to poll a call in webhook mode, having just placed (`polls == 0`) or polled it.
pub fn next_poll(placed_at: Timestamp, now: Timestamp, polls: u32) -> Timestamp {
    if polls == 0 {
        later(placed_at, FIRST_POLL).max(now)
    } else {
        later(now, POLL_EVERY)
    }
}

/// [`next_poll`] with `webhooks`, else the usual [`super::follow::next_poll`].
pub(super) fn schedule(
    webhooks: bool,
    placed_at: Timestamp,
    now: Timestamp,
    polls: u32,
) -> Timestamp {
    if webhooks {
        next_poll(placed_at, now, polls)
    } else {
        super::follow::next_poll(placed_at, now, polls)
    }
}

/// The driver's end of the receiver, and what came through it.
#[derive(Debug)]
pub struct Inbox {
    rx: mpsc::Receiver<Inbound>,
    /// Sent as `webhookUrl` with every call.
    url: String,
    pub(super) tally: Tally,
    /// The receiver is gone: nothing more will come (and `recv` would answer at once, forever).
    closed: bool,
}

/// Deliveries seen by this run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Verified events, retries included.
    pub received: u64,
    /// Retried deliveries of an event already recorded.
    pub duplicates: u64,
    /// Results committed from an event.
    pub results: u64,
    /// Deliveries refused (signature, size, not an event).
    pub refused: u64,
}

impl Inbox {
    pub fn new(rx: mpsc::Receiver<Inbound>, url: String) -> Inbox {
        Inbox {
            rx,
            url,
            tally: Tally::default(),
            closed: false,
        }
    }
}

/// The next delivery; never resolves without a receiver.
pub(super) async fn next(inbox: Option<&mut Inbox>) -> Option<Inbound> {
    match inbox {
        Some(inbox) if !inbox.closed => inbox.rx.recv().await,
        _ => std::future::pending().await,
    }
}

impl Runner {
    /// Switches the runner to webhook mode: every call carries the inbox's URL, results come
    /// through it, and polling becomes the safety net.
    pub fn with_webhooks(mut self, inbox: Inbox) -> Self {
        self.following.push = Some(inbox);
        self
    }

    /// Deliveries seen so far (all zero without webhooks).
    pub fn webhook_tally(&self) -> Tally {
        self.following
            .push
            .as_ref()
            .map(|p| p.tally)
            .unwrap_or_default()
    }

    pub(super) fn webhook_url(&self) -> Option<String> {
        self.following.push.as_ref().map(|p| p.url.clone())
    }

    pub(super) fn inbound(&mut self, inbound: Option<Inbound>) -> Result<(), RunError> {
        let Some(inbox) = self.following.push.as_mut() else {
            return Ok(());
        };
        match inbound {
            // The receiver stopped (it only should after the run); polling carries on.
            None => {
                inbox.closed = true;
                self.progress
                    .note("the webhook receiver stopped; results are polled for from now on");
                Ok(())
            }
            Some(Inbound::Refused(why)) => {
                inbox.tally.refused += 1;
                if inbox.tally.refused == 1 {
                    self.progress.note(&format!(
                        "webhook delivery refused: {why} (further refusals are counted, not shown; \
                         polling picks up any result they carried)"
                    ));
                }
                Ok(())
            }
            Some(Inbound::Event { event, committed }) => {
                // The receiver answers 2xx once the event is committed: it is not left in
                // the open group, which a kill could take.
                self.commit_group()?;
                let recorded = self.record_event(&event);
                // The receiver answers 2xx only on Ok; a failed commit also ends the run.
                let _ = committed.send(recorded.as_ref().map(drop).map_err(drop));
                recorded.map(drop)
            }
        }
    }

    /// Commits one verified event (see the module header); returns what it did.
    fn record_event(&mut self, event: &Event) -> Result<Effect, RunError> {
        let now = self.clock.now();
        let record = CallRecord::from_json(event.json.clone()).ok();
        // A call nobody follows may be a lost placement's: adopted first, it is then followed
        // (or given up, and a late call) like any other, and the event is its own.
        if let (Some(id), Some(record)) = (event.call_id.as_deref(), &record)
            && self.following.by_call(id).is_none()
        {
            self.adopt_by_event(id, record, now)?;
        }
        let followed = event
            .call_id
            .as_deref()
            .and_then(|id| self.following.by_call(id));
        let pushed = Pushed {
            event_id: &event.event_id,
            event: &event.event,
            call_id: event.call_id.as_deref(),
            status: event.status.as_deref(),
            payload: &event.body,
        };
        let late = match (followed, event.call_id.as_deref(), &record) {
            (None, Some(id), Some(record)) if record.outcome().is_some() => {
                self.store.late_call(id)?
            }
            _ => None,
        };
        let effect = match (followed, record, late) {
            (Some(attempt), Some(record), _) if record.outcome().is_some() => {
                self.ended(attempt, &record, Via::Push(&pushed), now)?
            }
            (None, Some(record), Some(late)) => self.finish_late(&late, &pushed, &record, now)?,
            _ => self.store.record_pushed(&pushed, None, now)?,
        };
        let tally = &mut self.following.push.as_mut().expect("webhook mode").tally;
        tally.received += 1;
        match effect {
            Effect::Duplicate => tally.duplicates += 1,
            Effect::Result => tally.results += 1,
            Effect::Status | Effect::Ignored => {}
        }
        Ok(effect)
    }

    /// Commits the result a terminal event carries for a call given up as unknown.
    fn finish_late(
        &mut self,
        late: &LateCall,
        pushed: &Pushed<'_>,
        record: &CallRecord,
        now: Timestamp,
    ) -> Result<Effect, RunError> {
        let finish = self.late_finish(late, record, pushed.payload, now);
        let outcome = finish.outcome;
        let effect = self.store.record_pushed(pushed, Some(&finish), now)?;
        if effect == Effect::Result {
            // Its late check, if still out, has nothing left to record.
            self.late.done(late.attempt);
            self.late_result(&late.key, outcome);
        }
        Ok(effect)
    }

    /// A call just followed may have sent its terminal event before the runner knew its id;
    /// if one was recorded, its result is committed now instead of waiting for a poll.
    pub(super) fn adopt_pushed(&mut self, attempt: i64) -> Result<(), RunError> {
        if self.following.push.is_none() {
            return Ok(());
        }
        let Some(call_id) = self.following.call_id(attempt).map(str::to_owned) else {
            return Ok(());
        };
        let Some((event_id, payload)) = self.store.pushed_terminal(&call_id)? else {
            return Ok(());
        };
        let Some(record) = serde_json::from_str(&payload)
            .ok()
            .and_then(|json| CallRecord::from_json(json).ok())
            .filter(|r| r.outcome().is_some())
        else {
            return Ok(());
        };
        let now = self.clock.now();
        let recorded = Via::Recorded {
            event_id: &event_id,
            payload: &payload,
        };
        self.ended(attempt, &record, recorded, now)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn a_closed_inbox_waits_instead_of_answering_none_forever() {
        let (tx, rx) = mpsc::channel(1);
        let mut inbox = Inbox::new(rx, "http://127.0.0.1:1/".into());
        drop(tx);
        assert!(next(Some(&mut inbox)).await.is_none());
        // The driver marks it closed on that `None`; from then on it never wakes the loop.
        inbox.closed = true;
        let mut waiting = std::pin::pin!(next(Some(&mut inbox)));
        let polled =
            std::future::poll_fn(|cx| std::task::Poll::Ready(waiting.as_mut().poll(cx))).await;
        assert!(polled.is_pending());
    }

    #[test]
    fn the_safety_net_polls_late_then_slowly() {
        let placed = t("2026-12-07T17:00:00Z");
        assert_eq!(next_poll(placed, placed, 0), t("2026-12-07T17:10:00Z"));
        assert_eq!(
            next_poll(placed, t("2026-12-07T17:10:00Z"), 1),
            t("2026-12-07T17:12:00Z")
        );
        // Recovered long after: the first poll is now, not in the past.
        assert_eq!(
            next_poll(placed, t("2026-12-07T18:00:00Z"), 0),
            t("2026-12-07T18:00:00Z")
        );
    }
}
