//! Placing: due contacts become attempts and POSTs under the limits (the pacer, the caps and
//! guards, `limits.max_concurrent`, the chain of reads of [`super::resolve`]), and each POST's
//! answer is recorded. What an error answer makes of the attempt is
//! [`state::after_place_error`]'s decision; this part holds the run's backoff and pauses.
//!
//! A round is what the pacer allows at once (see [`super::pace::ROUND`]): its attempts are
//! committed `placing` in one transaction with one disk flush, and only then are its POSTs sent.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;

use super::pace::Pacer;
use super::{Cap, Ending, Event, RunError, Runner, later, lost, resolve, windows};
use crate::api::{ApiError, BackoffPolicy, ErrorClass, Placed};
use crate::campaign::Campaign;
use crate::clock::Clock;
use crate::render;
use crate::state::{self, AttemptState, ContactState, PlaceResult};
use crate::store::account;
use crate::store::{Due, NewCall, Posted};
use crate::text::escape_control;

pub use crate::state::{MAX_PLACEMENT_FAILURES, MINUTE_CAP_PAUSE};

/// How long a contact waits when another campaign on the account holds its number and objective
/// (see [`crate::store::account`]): a POST's answer usually comes within a second.
const HELD_ELSEWHERE: Duration = Duration::from_secs(10);

/// The placing part's own state.
#[derive(Debug)]
pub(super) struct Placing {
    /// POSTs in flight, by attempt.
    pub(super) posts: HashMap<i64, Posting>,
    pacer: Pacer,
    backoff: BackoffPolicy,
    /// Placements wait until then (a Retry-After, a backoff, the minute cap).
    pub(super) hold_until: Option<Timestamp>,
    /// When the pacer next allows a placement, as it said when it last refused one.
    pace_until: Option<Timestamp>,
    /// 5xx answers in a row, for the backoff.
    failures: u32,
    /// Whether the user was told that a cap stopped placements while calls were in flight.
    cap_noted: bool,
    /// Placements refused with a 5xx per contact in this run (see [`MAX_PLACEMENT_FAILURES`]).
    refusals: HashMap<String, u32>,
    /// A POST was spawned in this turn of the driver loop.
    pub(super) posted: bool,
    /// Calls placed, or possibly placed, for the campaign before this run (`limits.max_calls`).
    pub(super) placed_before: u64,
}

impl Placing {
    pub(super) fn new(campaign: &Campaign, clock: Clock) -> Placing {
        Placing {
            posts: HashMap::new(),
            pacer: Pacer::new(
                campaign.limits.calls_per_minute,
                campaign.limits.burst,
                clock,
            ),
            backoff: BackoffPolicy::default(),
            hold_until: None,
            pace_until: None,
            failures: 0,
            cap_noted: false,
            refusals: HashMap::new(),
            posted: false,
            placed_before: 0,
        }
    }

    /// Pauses placements until `wait` after `now` at least.
    fn hold(&mut self, now: Timestamp, wait: Duration) {
        let until = later(now, wait);
        self.hold_until = Some(self.hold_until.map_or(until, |h| h.max(until)));
    }
}

/// A POST in flight.
#[derive(Debug)]
pub(super) struct Posting {
    pub(super) key: String,
    pub(super) sent: lost::Sent,
    /// When its attempt was committed.
    pub(super) created_at: Timestamp,
    /// The contact's calls, this one included if it is placed.
    pub(super) calls: u32,
    /// Where it stands among the account's calls, should its answer be lost.
    pub(super) stand: resolve::Stand,
    /// What it holds in the account's shared record (see [`crate::store::account`]).
    pub(super) subject: Option<String>,
}

/// A claimed attempt: its id, its request and its idempotency key.
type Claimed = (i64, render::CallRequest, String);

impl Runner {
    pub(super) fn cap_reached(
        &mut self,
        now: Timestamp,
    ) -> Result<Option<(Cap, String)>, RunError> {
        if let Some(cap) = self.options.max_calls
            && self.summary.placed >= cap
        {
            return Ok(Some((
                Cap::Run,
                format!("{} reached", self.options.max_calls_by),
            )));
        }
        // Counted from the state file once, at start: counting it before every placement
        // grew with the campaign. This run's placements are `summary.placed`, which keeps a
        // lost placement later found absent (an over-count: the cap can only bind early, and
        // the next run counts exactly).
        if let Some(cap) = self.campaign.limits.max_calls
            && self.place.placed_before + self.summary.placed >= cap.get()
        {
            return Ok(Some((
                Cap::Campaign,
                format!("limits.max_calls {cap} reached for the campaign"),
            )));
        }
        // A lost placement being resolved may be a call in flight too: reserve for it.
        let open = (self.in_flight() + self.resolve.unsettled.len()) as u64;
        if let Some(why) = self.guards.refuses(open) {
            return Ok(Some((Cap::Campaign, why)));
        }
        // A new day (the first check of the run, or midnight passed) is counted from the state
        // file once, then this run's placements and minutes are added.
        if let Some(day) = self.guards.day_to_count(now) {
            let (calls, secs, unknown) = self.store.spent_since(day.start)?;
            let secs = self.guards.charge(secs, unknown);
            self.guards.begin_day(day, calls, secs, self.summary.placed);
        }
        Ok(self
            .guards
            .refuses_today(self.summary.placed, open)
            .map(|why| (Cap::Day, why)))
    }

    /// Places a round of due calls as the limits allow; returns when to try again, if waiting.
    ///
    /// A round's attempts are committed `placing` in one transaction with one disk flush, and
    /// only then are its POSTs sent. The flush is what each placement must wait for (a power cut
    /// after a POST must not take the attempt), and it costs more than all the rest of a call; a
    /// round shares it.
    pub(super) fn place_due(&mut self, now: Timestamp) -> Result<Option<Timestamp>, RunError> {
        if let Some(hold) = self.place.hold_until {
            if hold > now {
                return Ok(Some(hold));
            }
            self.place.hold_until = None;
        }
        // The driver comes here after every event (mostly poll answers); until the pacer allows
        // the next placement there is nothing to do, and no reason to query the state file.
        if let Some(pace) = self.place.pace_until {
            if pace > now {
                return Ok(Some(pace));
            }
            self.place.pace_until = None;
        }
        if windows::campaign_over(&self.campaign, now) {
            return Ok(None);
        }
        let max = self.campaign.limits.max_concurrent.get() as usize;
        if self.in_flight() >= max {
            return Ok(None);
        }
        if self.stop_placing(now)? {
            return Ok(None);
        }
        let Some(first) = self.next_callable(now)? else {
            return Ok(None);
        };
        // A round takes no more of the rate than there are contacts to place (counted no
        // further than a round: the count runs before every round).
        let room = (max - self.in_flight())
            .min(self.place.pacer.round())
            .min(self.reach_room(now)?);
        if room == 0 {
            // The chain of reads is as long as it may grow: the read asked now lets placing go on.
            return Ok(None);
        }
        let due = self.store.due_count(now, room)?.max(1);
        let size = match self.place.pacer.take_round(room.min(due)) {
            Ok(size) => size as usize,
            Err(wait) => {
                let at = later(now, wait);
                self.place.pace_until = Some(at);
                return Ok(Some(at));
            }
        };
        self.open_group()?;
        self.store.begin_round()?;
        let round = match self.claim_round(first, size, now) {
            Ok(round) => round,
            Err(err) => {
                // Commit no attempt whose POST will not be sent: the next run would have to
                // treat it as possibly placed. The answers grouped before the round are kept
                // (the run stops on this error); all is dropped if the round cannot be undone.
                if self.store.undo_round().is_ok() {
                    let _ = self.commit_group();
                } else {
                    self.abandon_group();
                }
                return Err(err);
            }
        };
        self.store.end_round()?;
        self.commit_group()?;
        if round.is_empty() {
            return Ok(None);
        }
        for (attempt, request, idempotency_key) in round {
            let client = self.client.clone();
            let tx = self.tx.clone();
            tokio::spawn(async move {
                let result = client.place_call(&request, &idempotency_key).await;
                let _ = tx.send(Event::Placed { attempt, result });
            });
        }
        self.place.posted = true;
        // The loop yields before waiting: these POSTs go out before the next round is
        // committed (a burst would otherwise reach the API only after all its commits).
        // Come back at once for the next round.
        Ok(Some(now))
    }

    /// Whether a cap or a guard stops placements now (said once while calls are in flight).
    fn stop_placing(&mut self, now: Timestamp) -> Result<bool, RunError> {
        let Some((_, why)) = self.cap_reached(now)? else {
            return Ok(false);
        };
        if !self.place.cap_noted && self.in_flight() > 0 {
            self.place.cap_noted = true;
            self.progress.note(&format!(
                "stopped placing: {why}; following {} call(s) in flight to their end",
                self.in_flight()
            ));
        }
        Ok(true)
    }

    /// The next due contact that may be called now: contacts added to a suppression file
    /// since the import, or outside their calling window, are set aside on the way.
    fn next_callable(&mut self, now: Timestamp) -> Result<Option<Due>, RunError> {
        loop {
            let Some(due) = self.store.next_due(now)? else {
                return Ok(None);
            };
            if self.guards.suppressed(&due.phone) {
                // Added to a suppression file since the import: never placed.
                if self
                    .store
                    .set_contact_suppressed(&due.key, &due.phone, now)?
                {
                    self.progress.note(&format!(
                        "contact {} was added to a suppression list during the run: not called",
                        escape_control(&due.key)
                    ));
                }
                continue;
            }
            // A retry the campaign's retry rule no longer allows (edited since): never placed.
            if state::rule_spent(due.outcome, due.calls, &self.campaign.retry) {
                let why = format!(
                    "no more calls: the retry rule now allows {} call(s) after this outcome",
                    due.calls
                );
                if self.store.set_contact_spent(&due.key, &why, now)? {
                    self.progress.note(&format!(
                        "contact {}: the campaign's retry rule no longer allows another call; done",
                        escape_control(&due.key)
                    ));
                }
                continue;
            }
            // Deadlines (issue 19): never placed at or after its cutoff.
            if self.past_deadline(&due, now)? {
                continue;
            }
            if self.hold_back(&due, now)? {
                continue;
            }
            return Ok(Some(due));
        }
    }

    /// Commits up to `size` attempts `placing`, `first` first, inside the caller's group;
    /// returns what to send for each. The next contacts are looked up inside the group, so a
    /// contact claimed here is active for them (two calls to one number are never in flight).
    fn claim_round(
        &mut self,
        first: Due,
        size: usize,
        now: Timestamp,
    ) -> Result<Vec<Claimed>, RunError> {
        // `size` is within the room under max_concurrent; caps and guards are asked again
        // after each claim.
        let mut round = Vec::with_capacity(size);
        let mut next = Some(first);
        while let Some(due) = next.take() {
            if let Some(claimed) = self.claim(&due, now)? {
                round.push(claimed);
            }
            if round.len() >= size || self.cap_reached(now)?.is_some() {
                break;
            }
            next = self.next_callable(now)?;
        }
        Ok(round)
    }

    /// Renders `due`'s request and commits its attempt `placing`; `None` if it is not to be
    /// placed after all (its row no longer renders, or it is no longer pending).
    fn claim(&mut self, due: &Due, now: Timestamp) -> Result<Option<Claimed>, RunError> {
        let mut request = match render::request(&self.campaign, &due.phone, &due.cells) {
            Ok(request) => request,
            Err(err) => {
                // The CSV changed shape since import checked it; never place a half-rendered call.
                self.store
                    .set_contact_invalid(&due.key, &err.to_string(), now)?;
                return Ok(None);
            }
        };
        request.webhook_url = self.webhook_url();
        let subject = self.hold_subject(&due.key, &request, now)?;
        let Some(subject) = subject else {
            return Ok(None);
        };
        let body = serde_json::to_string(&request).expect("a request serializes");
        let idempotency_key = uuid::Uuid::new_v4().to_string();
        let Some(stand) = self.next_stand() else {
            return Ok(None);
        };
        let Some(attempt) = self.store.begin_attempt(
            &due.key,
            &idempotency_key,
            &body,
            stand.anchor.to_column(),
            stand.wall,
            now,
        )?
        else {
            return Ok(None);
        };
        let sent = lost::Sent {
            to: request.to.clone(),
            objective: request.objective.clone(),
        };
        self.place.posts.insert(
            attempt,
            Posting {
                key: due.key.clone(),
                sent,
                created_at: now,
                calls: due.calls + 1,
                stand,
                subject,
            },
        );
        self.summary.placed += 1;
        Ok(Some((attempt, request, idempotency_key)))
    }

    /// Holds the number and objective of `request` in the account's shared record before its
    /// POST: `Some(None)` without a record, `Some(Some(subject))` held; `None` if another
    /// campaign holds them (its POST is out or being settled), and the contact waits a little.
    fn hold_subject(
        &mut self,
        key: &str,
        request: &render::CallRequest,
        now: Timestamp,
    ) -> Result<Option<Option<String>>, RunError> {
        let Some(record) = &self.account else {
            return Ok(Some(None));
        };
        let subject = account::subject(&request.to, &request.objective);
        let Some(holder) = record.hold(&subject, Timestamp::now())? else {
            return Ok(Some(Some(subject)));
        };
        let until = later(now, HELD_ELSEWHERE);
        self.store.defer_contact(key, until, now)?;
        self.progress.note(&format!(
            "contact {}: another campaign on this account ({}) is placing a call to the same \
             number with the same objective; trying again after {}",
            escape_control(key),
            escape_control(&holder),
            until.round(jiff::Unit::Second).unwrap_or(until)
        ));
        Ok(None)
    }

    /// A call is this campaign's (`call_id`, unless empty) and `subject` no longer needs its
    /// hold (from `until` on, if given), in the account's shared record.
    pub(super) fn owned(
        &mut self,
        call_id: &str,
        subject: Option<&str>,
        until: Option<Timestamp>,
    ) -> Result<(), RunError> {
        let Some(record) = &self.account else {
            return Ok(());
        };
        if !call_id.is_empty() {
            record.claim(call_id, Timestamp::now())?;
        }
        if let Some(subject) = subject {
            record.release(subject, until)?;
        }
        Ok(())
    }

    /// The answer to the POST of `attempt`.
    pub(super) fn placed(
        &mut self,
        attempt: i64,
        result: Result<Placed, ApiError>,
        now: Timestamp,
    ) -> Result<(), RunError> {
        let Some(posting) = self.place.posts.remove(&attempt) else {
            return Ok(());
        };
        let placed = match result {
            Ok(placed) => placed,
            Err(err) => {
                self.api_failed(&err, Some(&posting.key), now);
                return self.place_failed(attempt, posting, &err, now);
            }
        };
        let Posting {
            key,
            calls,
            subject,
            ..
        } = posting;
        self.api_answered();
        self.learned(&placed.call_id);
        self.owned(&placed.call_id, subject.as_deref(), None)?;
        self.place.failures = 0;
        // Its refusals are counted in a row: a placed call ends the row.
        self.place.refusals.remove(&key);
        let placement = state::after_place(&PlaceResult::Placed, now);
        let next = self.next_poll(now, now, 0);
        let status = placed.status.as_str().to_owned();
        let call = NewCall {
            id: &placed.call_id,
            status: Some(&status),
            next_poll_at: Some(next),
        };
        let posted = Posted {
            placement,
            call: Some(call),
            note: None,
        };
        if !self.store.record_placement(attempt, &key, &posted, now)? {
            // Settled meanwhile by the path that moved it: it follows the call.
            return Ok(());
        }
        self.follow(attempt, key, placed.call_id, now, 0, calls, now);
        self.following.seen(attempt, Some(status));
        self.adopt_pushed(attempt)
    }

    /// A POST answered with `err`: the run's pauses and backoff first, then what
    /// [`state::after_place_error`] makes of the attempt.
    fn place_failed(
        &mut self,
        attempt: i64,
        posting: Posting,
        err: &ApiError,
        now: Timestamp,
    ) -> Result<(), RunError> {
        let key = posting.key.clone();
        let class = err.class();
        let (mut backoff, mut refusals) = (Duration::ZERO, 0);
        match class {
            ErrorClass::RetryAfter(wait) => self.place.hold(now, wait),
            ErrorClass::Backoff => {
                // The POSTs of a round fail together: one failure deepens the backoff, not
                // one for each of them.
                if self.place.hold_until.is_none_or(|hold| hold <= now) {
                    self.place.failures += 1;
                }
                backoff = self
                    .place
                    .backoff
                    .delay_random(self.place.failures, err.retry_after());
                self.place.hold(now, backoff);
                // A refusal of this number, not an outage (which would otherwise give up every
                // contact it meets); `placed` counted this answer as trouble first. Any 5xx
                // counts: a number answered nothing but errors while the API answers other
                // requests must not keep the run going for ever.
                if self.stop.refuses(&key) {
                    let n = self.place.refusals.entry(key.clone()).or_default();
                    *n += 1;
                    refusals = *n;
                }
            }
            ErrorClass::PauseRun => {
                // Said once for the POSTs of a round that meet the cap together.
                let paused = self
                    .place
                    .hold_until
                    .is_some_and(|hold| hold >= later(now, MINUTE_CAP_PAUSE / 2));
                self.place.hold(now, MINUTE_CAP_PAUSE);
                if !paused {
                    self.progress.note(&format!(
                        "the account's call minutes are used up ({err}); pausing placements for {} min",
                        MINUTE_CAP_PAUSE.as_secs() / 60
                    ));
                }
            }
            ErrorClass::StopRun | ErrorClass::NotFound => {
                self.stop.stop(Ending::Refused(err.to_string()));
            }
            ErrorClass::RowFatal | ErrorClass::Ambiguous => {}
        }
        let result = state::after_place_error(class, backoff, refusals);
        let placement = state::after_place(&result, now);
        let note = match result {
            PlaceResult::RowRefused if class == ErrorClass::Backoff => format!(
                "the API refused to place this call {MAX_PLACEMENT_FAILURES} times in a row ({err}); given up"
            ),
            PlaceResult::RowRefused => format!("the API refused this contact: {err}"),
            PlaceResult::Lost => {
                format!("the answer to the POST was lost ({err}); checking whether the call exists")
            }
            _ => err.to_string(),
        };
        let posted = Posted::no_call(placement, &note);
        if !self.store.record_placement(attempt, &key, &posted, now)? {
            return Ok(());
        }
        if result == PlaceResult::Lost {
            self.lost_answer(attempt, posting, now);
            return Ok(());
        }
        self.owned("", posting.subject.as_deref(), None)?;
        if (placement.attempt == AttemptState::NotPlaced
            && placement.contact == ContactState::Pending)
            || placement.contact == ContactState::Invalid
        {
            // Did not cost an attempt; the placement counter of this run gives it back.
            self.summary.placed = self.summary.placed.saturating_sub(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::Rig;
    use super::*;
    use crate::sandbox::SandboxConfig;
    use crate::sandbox::faults::Faults;

    #[tokio::test]
    async fn a_round_is_committed_then_posted_and_each_answered_call_is_followed() {
        let limits = "  calls_per_minute: 600\n  burst: 10\n";
        let phones = ["+14155550190", "+14155550191"];
        let mut rig = Rig::new(&phones, limits, SandboxConfig::default()).await;
        rig.start().await;
        assert_eq!(rig.place().await, 2);
        assert_eq!(rig.sandbox.calls().len(), 2);
        assert_eq!(rig.states(), [ContactState::Active, ContactState::Active]);
        assert_eq!(rig.runner.following.len(), 2);
        assert_eq!(rig.runner.summary.placed, 2);
        // Nothing more is due: the next round sends nothing.
        assert_eq!(rig.place().await, 0);
    }

    #[tokio::test]
    async fn a_5xx_holds_placements_and_costs_the_contact_no_attempt() {
        // 555-0196 is always refused with 503 placement_failed.
        let mut rig = Rig::new(&["+14155550196"], "", SandboxConfig::default()).await;
        rig.start().await;
        let now = rig.now();
        assert_eq!(rig.place().await, 1);
        assert_eq!(rig.states(), [ContactState::Pending]);
        assert_eq!(rig.runner.summary.placed, 0);
        let hold = rig.runner.place.hold_until.expect("placements wait");
        assert!(hold > now);
        // Until then nothing is placed, and the driver is told when to come back.
        assert_eq!(rig.runner.place_due(now).unwrap(), Some(hold));
        assert!(rig.runner.place.posts.is_empty());
    }

    #[tokio::test]
    async fn a_blocked_destination_makes_the_row_invalid() {
        // 555-0197 is always refused with 400 destination_blocked.
        let mut rig = Rig::new(&["+14155550197"], "", SandboxConfig::default()).await;
        rig.start().await;
        assert_eq!(rig.place().await, 1);
        assert_eq!(rig.states(), [ContactState::Invalid]);
        assert_eq!(rig.runner.summary.placed, 0);
        assert!(rig.runner.place.hold_until.is_none());
    }

    #[tokio::test]
    async fn the_minute_cap_pauses_every_placement() {
        let config = SandboxConfig {
            faults: Faults {
                minute_cap: Some(0),
                ..Faults::default()
            },
            ..SandboxConfig::default()
        };
        let mut rig = Rig::new(&["+14155550190"], "", config).await;
        rig.start().await;
        let now = rig.now();
        assert_eq!(rig.place().await, 1);
        assert_eq!(rig.states(), [ContactState::Pending]);
        assert_eq!(
            rig.runner.place.hold_until,
            Some(later(now, MINUTE_CAP_PAUSE))
        );
    }

    #[tokio::test]
    async fn max_calls_stops_placing() {
        let options = super::super::Options {
            max_calls: Some(1),
            max_calls_by: "--max-calls 1".into(),
            ..Default::default()
        };
        let phones = ["+14155550190", "+14155550191"];
        let mut rig = Rig::with(&phones, "", SandboxConfig::default(), options).await;
        rig.start().await;
        assert_eq!(rig.place().await, 1);
        assert_eq!(rig.place().await, 0);
        assert_eq!(
            rig.runner.cap_reached(rig.now()).unwrap(),
            Some((Cap::Run, "--max-calls 1 reached".to_owned()))
        );
        assert_eq!(rig.states(), [ContactState::Active, ContactState::Pending]);
    }

    #[tokio::test]
    async fn a_placed_call_ends_its_contacts_row_of_refusals() {
        // 555-0199: the first POST answers 503 placement_failed, the next is placed.
        let mut rig = Rig::new(&["+14155550199"], "", SandboxConfig::default()).await;
        rig.start().await;
        assert_eq!(rig.place().await, 1);
        assert_eq!(rig.runner.place.refusals.get("+14155550199"), Some(&1));
        let hold = rig.runner.place.hold_until.expect("placements wait");
        rig.advance(hold.duration_since(rig.now()).as_secs().unsigned_abs() + 1);
        assert_eq!(rig.place().await, 1);
        assert_eq!(rig.sandbox.calls().len(), 1);
        assert_eq!(rig.runner.place.refusals.get("+14155550199"), None);
    }
}
