//! The driver: one task that owns the state file and turns the loop. Each turn it asks every
//! part for what it has to do now (reads, late checks, placements, polls), sleeps until the
//! earliest instant any of them named or an event comes (an answer, a webhook delivery, a stop
//! signal), and hands the events to their part. It decides when the run ends.
//!
//! Its steps go into a group (one transaction) that stays open across turns of the loop until
//! the next round of placements commits it, or [`GROUP_LINGER`] has passed.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

use super::{
    Ending, Event, LATE_CHECKS, LATE_WINDOW, RunError, Runner, Stop, Summary, later, push,
};
use crate::clock::Clock;
use crate::state::AttemptState;
use crate::store::{BREAKER_SINCE, BREAKER_TRIPPED, STOPPING};

/// How many more answers, already waiting, one turn of the driver loop handles.
const EVENT_BATCH: usize = 100;

/// How long (real time) answers may wait in the open group of steps before it is committed
/// when no round of placements commits it first. A kill loses at most this much of what the
/// API said, and the next run asks again; `status` lags the run by as much.
pub(super) const GROUP_LINGER: Duration = Duration::from_secs(1);

/// Skips shorter than this are slept through quietly; longer ones are noted.
const SKIP_NOTED: Duration = Duration::from_secs(600);

/// With `--until-idle`, a contact due within this long is waited for (a rate-limit pause, a
/// retry about to fall due) rather than left to the next run.
pub const IDLE_WAIT: Duration = Duration::from_secs(60);

impl Runner {
    pub(super) async fn drive(
        &mut self,
        mut stop: watch::Receiver<Stop>,
    ) -> Result<Option<Summary>, RunError> {
        self.recover()?;
        self.release_holds()?;
        // Deadlines (issue 19): expire what can no longer be called before placing anything.
        self.expire_late(self.clock.now())?;
        let mut stop_gone = false;
        loop {
            let now = self.clock.now();
            let asked = *stop.borrow();
            if asked == Stop::AtOnce {
                return Ok(None);
            }
            if asked == Stop::Gracefully && self.stop.grace_until.is_none() {
                self.begin_stop()?;
            }
            if self.stop.grace_over(tokio::time::Instant::now()) {
                // Whatever else stopped placements, the run ends because it was told to.
                self.summary.ending = Ending::Interrupted;
                self.summary.grace_ran_out = true;
                self.leave_the_rest();
                break;
            }
            self.start_read(now);
            self.start_late_checks(now);
            let mut wake: Option<Timestamp> = None;
            if !self.stop.is_stopping() && self.unsettled_at_start_done() {
                wake = earliest(wake, self.place_due(now)?);
            }
            self.start_polls(now);
            wake = earliest(wake, self.following.wake());
            // While a read is out, its answer (an event) is what resolution waits for;
            // `listed` schedules the next one.
            wake = earliest(wake, self.resolve.wake());
            wake = earliest(wake, self.late.wake());
            self.progress.update(self.in_flight());
            if self.waited_on(now) == 0 {
                if let Some(ending) = self.stop.ending().cloned() {
                    self.summary.ending = ending;
                    self.leave_the_rest();
                    break;
                }
                // Deadlines (issue 19): what can no longer be called is not "due later".
                self.expire_late(now)?;
                let next = self.store.next_due_at()?;
                if let Some(due) = next
                    && let Some(ending) = self.schedule_over(now, due)?
                {
                    self.summary.ending = ending;
                    self.leave_the_rest();
                    break;
                }
                // `--until-idle` with only overdue calls in flight: they are the next run's.
                let overdue = self.following.first_give_up();
                let full = self.in_flight() >= self.campaign.limits.max_concurrent.get() as usize;
                let next = match (next, overdue) {
                    (None, Some(at)) => Some(Some(at)),
                    (Some(due), Some(at)) if full => Some(Some(due.map_or(at, |d| d.max(at)))),
                    (next, _) => next,
                };
                let Some(due) = next else {
                    self.summary.ending = Ending::Finished;
                    break;
                };
                if let Some((cap, reason)) = self.cap_reached(now)? {
                    self.summary.ending = Ending::CapReached(cap, reason);
                    self.leave_the_rest();
                    break;
                }
                // A pause of the whole run (the account's minutes used up, a Retry-After)
                // delays even the contacts that are due now.
                let next = match (due, self.place.hold_until.filter(|&h| h > now)) {
                    (Some(due), Some(hold)) => Some(due.max(hold)),
                    (Some(due), None) => Some(due),
                    (None, hold) => hold,
                };
                match next {
                    Some(next)
                        if self.options.until_idle
                            && (next > later(now, IDLE_WAIT) || overdue.is_some() && full) =>
                    {
                        self.summary.ending = Ending::Idle(next);
                        self.leave_the_rest();
                        break;
                    }
                    Some(next) if next > now => wake = earliest(wake, Some(next)),
                    _ => {}
                }
                if self.options.skip_idle
                    && self.in_flight() == 0
                    && !self.resolve.reading()
                    && let Some(at) = wake
                    && self.clock.skip_to(at)
                {
                    let skipped = at.duration_since(now);
                    if skipped > SignedDuration::try_from(SKIP_NOTED).unwrap_or_default() {
                        self.progress.note(&format!(
                            "rehearsal: nothing in flight; skipping {:#} of simulated time to {}",
                            skipped.round(jiff::Unit::Minute).unwrap_or(skipped),
                            at.round(jiff::Unit::Second).unwrap_or(at)
                        ));
                    }
                    continue;
                }
            }
            let sleep = wake.map(|at| at.max(now));
            // Let a POST just spawned go out before handling the next event: on a one-thread
            // runtime the driver would otherwise handle a backlog of answers first, and POSTs
            // paced apart would reach the API bunched together. Only then: a yield costs the
            // runtime a look at its sockets, and most turns spawn nothing that is paced.
            // Also when there is no future instant to sleep until: the loop must never go round
            // without letting the runtime run the requests it waits for (one thread runs both).
            if std::mem::take(&mut self.place.posted) || sleep.is_some_and(|at| at <= now) {
                tokio::task::yield_now().await;
            }
            tokio::select! {
                event = self.rx.recv() => {
                    if let Some(event) = event {
                        self.handle_together(event)?;
                    }
                }
                () = sleep_until(&self.clock, sleep) => {}
                inbound = push::next(self.following.push.as_mut()) => self.inbound(inbound)?,
                () = linger(self.group_since), if self.group_since.is_some() => self.commit_group()?,
                () = until_instant(self.stop.grace_until), if self.stop.grace_until.is_some() => {}
                changed = stop.changed(), if !stop_gone => {
                    if changed.is_err() {
                        // The sender is gone: treat as a stop request.
                        stop_gone = true;
                        self.stop.stop(Ending::Interrupted);
                    }
                }
            }
        }
        Ok(Some(self.summary.clone()))
    }

    pub(super) fn in_flight(&self) -> usize {
        self.place.posts.len() + self.following.len()
    }

    /// What the run still waits for before it may end: calls in flight (but, with
    /// `--until-idle`, those past `limits.max_call_minutes` whose status this run has seen),
    /// lost placements being settled (unless the API is down), and late checks.
    fn waited_on(&self, now: Timestamp) -> usize {
        let overdue = if self.options.until_idle {
            self.following.overdue(now)
        } else {
            0
        };
        // Nothing will settle them while the API is down or refuses the run's key.
        let unsettled = if self.stop.hopeless() {
            0
        } else {
            self.resolve.unsettled.len() + usize::from(self.resolve.strays_waiting())
        };
        self.in_flight() - overdue + unsettled + self.late.at_start()
    }

    /// Counts what the run leaves to the next one as it ends (see [`Summary`]).
    fn leave_the_rest(&mut self) {
        self.summary.left_in_flight = self.in_flight() as u64;
        self.summary.left_unsettled = self.resolve.unsettled.len() as u64;
    }

    /// Attempts left open by an earlier run: `placing` ones become ambiguous and are resolved
    /// before anything new is placed; `placed` ones are followed again.
    pub(super) fn recover(&mut self) -> Result<(), RunError> {
        let now = self.clock.now();
        self.place.placed_before = self.store.calls_placed()?;
        let (call_secs, _) = self.store.call_times()?;
        self.guards.start(call_secs, self.store.unknown_calls()?);
        let since = self
            .store
            .meta(BREAKER_SINCE)?
            .and_then(|at| at.parse().ok());
        self.guards.seed(
            &self
                .store
                .recent_results(since, self.campaign.limits.breaker_window.get() as usize)?,
        );
        if let Some(tripped) = self.store.meta(BREAKER_TRIPPED)? {
            self.stop.stop(Ending::Breaker(format!(
                "it tripped {tripped}, and stays open until a run is given --reset-breaker"
            )));
        }
        // State files of earlier versions did not hold the number of an unknown contact.
        self.store
            .hold_unknown_numbers(self.number_held_until(now))?;
        let interrupted = self.store.mark_interrupted_placements(now)?;
        if interrupted > 0 {
            self.progress.note(&format!(
                "{interrupted} call(s) were being placed when the last run stopped; checking the API before placing anything"
            ));
        }
        for open in self.store.open_attempts()? {
            match open.state {
                AttemptState::Placed => {
                    let call_id = open.call_id.clone().unwrap_or_default();
                    let placed_at = open.placed_at.unwrap_or(open.created_at);
                    self.follow(
                        open.id,
                        open.contact_key,
                        call_id,
                        placed_at,
                        open.polls,
                        open.calls,
                        now,
                    );
                    self.adopt_pushed(open.id)?;
                }
                AttemptState::Ambiguous | AttemptState::Placing => self.recovered(open, now)?,
                _ => {}
            }
        }
        self.first_read(now)?;
        let since = now
            .checked_sub(SignedDuration::try_from(LATE_WINDOW).unwrap_or(SignedDuration::MAX))
            .unwrap_or(Timestamp::MIN);
        for call in self.store.late_calls(since, LATE_CHECKS)? {
            self.late.ask_at_start(call, now);
        }
        // Left by a run killed while it stopped (or paused): nobody is stopping now.
        self.store.clear_meta(STOPPING)?;
        self.store.clear_meta(crate::store::PAUSED)?;
        Ok(())
    }

    /// Whether placing may start: the list of calls must have been read once (every attempt is
    /// anchored to a call known to exist, see [`super::lost`]), and calls given up as unknown asked
    /// about (one may have ended, or still ring, before its contact, released by
    /// `--retry-unknown`, is called again).
    fn unsettled_at_start_done(&self) -> bool {
        self.resolve.ready() && (self.late.at_start() == 0 || self.summary.placed > 0)
    }

    /// Handles `first` and the answers already waiting behind it (up to [`EVENT_BATCH`]), in
    /// the open group of steps (see [`Runner::open_group`]).
    pub(super) fn handle_together(&mut self, first: Event) -> Result<(), RunError> {
        self.open_group()?;
        self.handle(first)?;
        for _ in 0..EVENT_BATCH {
            let Ok(event) = self.rx.try_recv() else { break };
            self.handle(event)?;
        }
        // No round will come to commit the group; and what stopped the run (a tripped breaker
        // above all) must not be lost to a kill, or the next run would place calls again.
        if self.stop.is_stopping() {
            self.commit_group()?;
        }
        Ok(())
    }

    /// Opens a group of steps, unless one is open: the answers the run handles, then the next
    /// round of placements, are committed together. A commit costs more than the steps in it,
    /// and most of it is the disk flush a round must wait for anyway (so the group is a
    /// flushed one). What answers lead to that leaves the process is a round's POSTs, sent
    /// only after the round commits the group; with no round to commit it, the group is
    /// committed [`GROUP_LINGER`] after it opened, and when the run ends.
    pub(super) fn open_group(&mut self) -> Result<(), RunError> {
        if self.group_since.is_none() {
            self.store.begin_group()?;
            self.group_since = Some(tokio::time::Instant::now());
        }
        Ok(())
    }

    /// Drops the open group of steps, uncommitted (it could not be made whole).
    pub(super) fn abandon_group(&mut self) {
        self.group_since = None;
        self.store.abandon_group();
    }

    /// Commits the open group of steps, if any.
    pub(super) fn commit_group(&mut self) -> Result<(), RunError> {
        if self.group_since.take().is_some() {
            self.store.end_group()?;
        }
        Ok(())
    }

    fn handle(&mut self, event: Event) -> Result<(), RunError> {
        let now = self.clock.now();
        match event {
            Event::Placed { attempt, result } => self.placed(attempt, result, now),
            Event::Polled { attempt, result } => self.polled(attempt, *result, now),
            Event::Listed { result } => self.listed(result, now),
        }
    }
}

fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Until the group of steps open since `since` is to be committed.
async fn linger(since: Option<tokio::time::Instant>) {
    until_instant(since.map(|since| since + GROUP_LINGER)).await;
}

/// Until `at`; never without one.
async fn until_instant(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(clock: &Clock, at: Option<Timestamp>) {
    match at {
        Some(at) => clock.sleep_until(at).await,
        None => std::future::pending().await,
    }
}
