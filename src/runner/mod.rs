//! The campaign runner: places every due call under the limits, follows each to its end, and
//! records every step, so that it can be killed at any instant and resumed without calling
//! anyone twice.
//!
//! One driver task owns the state file and makes every decision (through [`crate::state`]);
//! HTTP requests run in spawned tasks and report back over a channel. The driver never shares
//! the database. Its steps go into a group (one transaction) that stays open across turns of
//! the loop until the next round of placements commits it, or [`GROUP_LINGER`] has passed.
//! Order of things:
//! 1. an attempt is committed `placing` and flushed to disk (with the others of its round and
//!    the answers handled since the last commit), and only then is its POST sent;
//! 2. the answer is recorded (`placed` with its call id, `not_placed`, or `ambiguous`);
//! 3. statuses and the final record are recorded as polls answer them.
//!
//! Recorded steps are committed with the next round, [`GROUP_LINGER`] after the group opened,
//! at once when the run starts stopping (a tripped breaker must survive a kill), and when the
//! run ends. A kill takes at most the answers of the open group, which the next run learns
//! again: a lost call id makes its attempt `placing`, resolved against the list of calls; a lost
//! result leaves the call `placed`, and it is polled again.
//!
//! On start, attempts left `placing` are ambiguous; every ambiguous attempt is resolved against
//! the API's list of recent calls before anything new is placed. Calls given up as unknown in
//! the last [`LATE_WINDOW`] are asked for once more: a result that comes late is still recorded.
//!
//! Every run ends in bounded time, whatever the API does:
//! - a call not seen to end [`follow::GIVE_UP_GRACE`] after `limits.max_call_minutes` is given
//!   up as unknown (see [`follow::Deadlines`]); `--until-idle` does not even wait for that, and
//!   leaves a call past `max_call_minutes` to the next run;
//! - when every answer has been an outage error ([`ErrorClass::is_outage`]) for [`OUTAGE_LIMIT`],
//!   placements stop and lost placements are left to the next run ([`Ending::Unreachable`]);
//! - a graceful stop follows the calls in flight for `--stop-grace` at most, then leaves them
//!   to the next run.

pub mod canary;
pub mod deadline;
pub mod eta;
pub mod follow;
pub mod guard;
mod late;
pub mod lost;
pub mod pace;
pub mod push;
mod resolve;
mod windows;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::{mpsc, watch};

use crate::api::{ApiError, BackoffPolicy, CallRecord, Client, ErrorClass, Placed};
use crate::campaign::Campaign;
use crate::clock::Clock;
use crate::contacts::Contact;
use crate::progress::Progress;
use crate::render;
use crate::state::{self, AfterCall, AttemptState, ContactState, PlaceResult};
use crate::store::account::{self, Account};
use crate::store::{
    BREAKER_SINCE, BREAKER_TRIPPED, Due, Finish, LateCall, NewCall, Posted, STOPPING, Store,
    StoreError,
};
use crate::text::escape_control;
use guard::Guards;
use pace::Pacer;

/// How long placements pause when the account's minutes are used up (`over_minute_cap`).
pub const MINUTE_CAP_PAUSE: Duration = Duration::from_secs(15 * 60);

/// How many polls in a row may answer `not_found` before a followed call is given up as
/// unknown (a transient 404 from a load balancer should not settle anything; a call that is
/// gone should not be polled forever).
pub const NOT_FOUND_LIMIT: u32 = 5;

/// How many polls in a row must fail, besides [`follow::GIVE_UP_GRACE`] without a status,
/// before a call past its give-up instant is given up for a status that cannot be read: in a
/// rehearsal the grace is a fraction of a real second, a poll or two.
pub const UNREADABLE_POLLS: u32 = 5;

/// How long a contact waits when another campaign on the account holds its number and objective
/// (see [`crate::store::account`]): a POST's answer usually comes within a second.
const HELD_ELSEWHERE: Duration = Duration::from_secs(10);

/// How many more answers, already waiting, one turn of the driver loop handles.
const EVENT_BATCH: usize = 100;

/// How long (real time) answers may wait in the open group of steps before it is committed
/// when no round of placements commits it first. A kill loses at most this much of what the
/// API said, and the next run asks again; `status` lags the run by as much.
const GROUP_LINGER: Duration = Duration::from_secs(1);

/// How many 5xx answers (`placement_failed`, `store_error`, …) one contact's placements may
/// get in one run before it is given up. The API says no call was created, so retrying is
/// safe; but a number the carrier always refuses would otherwise be retried forever and the
/// run would never finish. Ten is far beyond what a passing outage (or a 30 % error rate:
/// 0.3^10 ≈ 6·10⁻⁶) produces. Only refusals while little else fails count (see
/// [`Trouble::refuses`]): in an outage requests that depend on no number fail too, and the run
/// stops after [`OUTAGE_LIMIT`] with every contact kept.
pub const MAX_PLACEMENT_FAILURES: u32 = 10;

/// How long the API may answer nothing but outage errors (5xx, 429, timeouts, the minute cap)
/// before the run stops placing and leaves what it cannot settle to a later run: long enough
/// for a passing incident and one retry after the minute cap's pause, short enough that a cron
/// run does not sit through an outage.
pub const OUTAGE_LIMIT: Duration = Duration::from_secs(15 * 60);

/// Calls given up as unknown this long ago or less are asked for once more at the start of a
/// run (and a webhook may still bring their result at any time).
pub const LATE_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// At most this many of them, the most recently given up first, per run.
pub const LATE_CHECKS: u32 = 100;

/// How many of those requests are out at once.
const LATE_CONCURRENCY: usize = 4;

/// How long a graceful stop follows the calls in flight by default (`--stop-grace`).
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Options {
    /// Cap on placements in this run (`--max-calls`, `--canary`).
    pub max_calls: Option<u64>,
    /// What the user passed to set `max_calls`, for messages: `--max-calls 5`, `--canary 3`.
    pub max_calls_by: String,
    /// `--until-idle`: end when nothing is in flight and nothing is due within [`IDLE_WAIT`],
    /// instead of sleeping until the next contact is due.
    pub until_idle: bool,
    /// A rehearsal on a clock of its own (`run --sandbox`): when nothing is in flight, skip the
    /// simulated wait for the next due contact instead of sleeping through it.
    pub skip_idle: bool,
    /// After a stop signal, how long (real time) calls in flight are followed before they are
    /// left to the next run.
    pub stop_grace: Duration,
    /// The API is a sandbox of this process's own (`run --sandbox`): it ends with the run, so a
    /// POST an earlier run left unanswered cannot have a call on it.
    pub private_api: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_calls: None,
            max_calls_by: "--max-calls".into(),
            until_idle: false,
            skip_idle: false,
            stop_grace: DEFAULT_STOP_GRACE,
            private_api: false,
        }
    }
}

/// Skips shorter than this are slept through quietly; longer ones are noted.
const SKIP_NOTED: Duration = Duration::from_secs(600);

/// With `--until-idle`, a contact due within this long is waited for (a rate-limit pause, a
/// retry about to fall due) rather than left to the next run.
pub const IDLE_WAIT: Duration = Duration::from_secs(60);

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Nothing left to do: every contact is settled.
    Finished,
    /// Stopped by a signal: calls already placed were followed to their end, or for
    /// `--stop-grace` at most (see [`Summary::grace_ran_out`]).
    Interrupted,
    /// A placement cap was reached; contacts remain for a later run.
    CapReached(Cap, String),
    /// The API refused every call (bad key, caller ID not owned); the message says why.
    Refused(String),
    /// `--until-idle`: nothing more is due now; the next contact is due at this instant.
    Idle(Timestamp),
    /// The circuit breaker tripped (see [`guard::Breaker`]); the message says what it saw.
    Breaker(String),
    /// `schedule.not_after` has passed (or comes before every remaining contact's next
    /// window): `left` contacts stay pending, not called unless the campaign is extended.
    ScheduleOver { not_after: Timestamp, left: u64 },
    /// The API answered nothing but outage errors for [`OUTAGE_LIMIT`]: placements stopped;
    /// the message says what it answered.
    Unreachable(String),
}

/// Which cap stopped the placements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// This run's (`--max-calls`, `--canary`).
    Run,
    /// A daily cap (`limits.max_calls_per_day`, `limits.max_minutes_per_day`): the next day's
    /// run goes on.
    Day,
    /// A cap on the whole campaign (`limits.max_calls`, `limits.max_minutes`).
    Campaign,
}

/// What the user asked of a run in progress (Ctrl-C, SIGTERM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stop {
    /// Keep going.
    #[default]
    No,
    /// Place nothing new; follow the calls in flight to their end, for
    /// [`Options::stop_grace`] at most.
    Gracefully,
    /// Return at once: calls in flight are left to a later run (their state is consistent).
    AtOnce,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub ending: Ending,
    /// Calls placed in this run.
    pub placed: u64,
    /// Calls whose result was recorded in this run.
    pub finished: u64,
    pub polls: u64,
    /// Calls (or POSTs) still in flight when the run ended, left to the next run: the stop's
    /// grace ran out, or `--until-idle` did not wait for calls past `limits.max_call_minutes`.
    pub left_in_flight: u64,
    /// Lost placements not yet settled when the run ended (the API's list of calls could not
    /// be read); the next run settles them before placing anything.
    pub left_unsettled: u64,
    /// The stop's `--stop-grace` ran out before every call in flight had ended.
    pub grace_ran_out: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

enum Event {
    Placed {
        attempt: i64,
        result: Result<Placed, ApiError>,
    },
    // Boxed: a call record is large next to the other events.
    Polled {
        attempt: i64,
        result: Box<Result<CallRecord, ApiError>>,
    },
    Listed {
        result: Result<Vec<CallRecord>, ApiError>,
    },
}

/// A call being followed.
struct Following {
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
    deadlines: follow::Deadlines,
    /// It has been polled in this run (and the answer handled).
    polled: bool,
    /// When a poll last read its status, or when this run began to follow it.
    read_at: Timestamp,
}

/// Since when every answer of the API has been an outage error.
struct Trouble {
    since: Timestamp,
    /// Declared an outage ([`OUTAGE_LIMIT`] passed): lost placements no longer hold the run.
    declared: bool,
    /// The contacts whose placements failed since then.
    placements: HashSet<String>,
    /// A request that does not depend on a number (a poll, a read of the list) failed since
    /// then.
    independent: bool,
}

impl Trouble {
    /// Whether a failed placement for `contact` is a refusal of its number rather than an
    /// outage: since the API last answered, nothing failed but the placements of a few contacts
    /// (at most [`REFUSED_TOGETHER`]). In an outage, requests that do not depend on the number
    /// fail too (polls, reads of the list: the runner sends one to find out, see
    /// [`Runner::probe`]), or the placements of many contacts.
    fn refuses(&self, contact: &str) -> bool {
        !self.independent
            && self.placements.len() <= REFUSED_TOGETHER
            && self.placements.contains(contact)
    }

    /// Whether what failed says the API is down, not that a few numbers are refused.
    fn is_outage(&self) -> bool {
        self.independent || self.placements.len() > REFUSED_TOGETHER
    }
}

/// How many numbers refused together still count as refusals of those numbers (see
/// [`Trouble::refuses`]): the few rows left at a campaign's end may all be numbers the carrier
/// never connects.
const REFUSED_TOGETHER: usize = 3;

/// A POST in flight.
struct Posting {
    key: String,
    sent: lost::Sent,
    /// When its attempt was committed.
    created_at: Timestamp,
    /// The contact's calls, this one included if it is placed.
    calls: u32,
    /// Where it stands among the account's calls, should its answer be lost.
    stand: resolve::Stand,
    /// What it holds in the account's shared record (see [`crate::store::account`]).
    subject: Option<String>,
}

pub struct Runner {
    campaign: Arc<Campaign>,
    store: Store,
    client: Client,
    clock: Clock,
    options: Options,
    progress: Progress,
    pacer: Pacer,
    guards: Guards,
    backoff: BackoffPolicy,
    tx: mpsc::UnboundedSender<Event>,
    rx: mpsc::UnboundedReceiver<Event>,
    /// POSTs in flight, by attempt.
    placing: HashMap<i64, Posting>,
    following: HashMap<i64, Following>,
    polls_due: BinaryHeap<Reverse<(Timestamp, i64)>>,
    polling: HashSet<i64>,
    /// Lost answers, and the reads of the list of calls that settle them.
    resolve: resolve::Resolve,
    hold_until: Option<Timestamp>,
    /// When the pacer next allows a placement, as it said when it last refused one.
    pace_until: Option<Timestamp>,
    failures: u32,
    /// Whether the user was told that a cap stopped placements while calls were in flight.
    cap_noted: bool,
    /// Placements refused with a 5xx per contact in this run (see [`MAX_PLACEMENT_FAILURES`]).
    refusals: HashMap<String, u32>,
    stopping: Option<Ending>,
    summary: Summary,
    /// A POST was spawned in this turn of the driver loop.
    posted: bool,
    /// Since when the state file's group of steps has been open, if it is (see
    /// [`Runner::open_group`]).
    group_since: Option<tokio::time::Instant>,
    /// Calls placed, or possibly placed, for the campaign before this run (`limits.max_calls`).
    placed_before: u64,
    /// Webhook mode (see [`push`]): `None` polls every call on the usual schedule.
    push: Option<push::Inbox>,
    /// The account's shared record (see [`crate::store::account`]); `None` with an API of
    /// this process's own.
    account: Option<Account>,
    /// Calls given up as unknown that this run asks about, by attempt (see [`late`]).
    late: late::Lates,
    /// Set when the run was asked to stop: when the grace for calls in flight runs out.
    grace_until: Option<tokio::time::Instant>,
    /// `None` while the API answers.
    trouble: Option<Trouble>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl Runner {
    pub fn new(
        campaign: Arc<Campaign>,
        store: Store,
        client: Client,
        clock: Clock,
        options: Options,
        progress: Progress,
    ) -> Runner {
        let (tx, rx) = mpsc::unbounded_channel();
        let guards = Guards::new(&campaign);
        let pacer = Pacer::new(
            campaign.limits.calls_per_minute,
            campaign.limits.burst,
            clock.clone(),
        );
        Runner {
            campaign,
            store,
            client,
            clock,
            options,
            progress,
            pacer,
            guards,
            backoff: BackoffPolicy::default(),
            tx,
            rx,
            placing: HashMap::new(),
            following: HashMap::new(),
            polls_due: BinaryHeap::new(),
            polling: HashSet::new(),
            resolve: resolve::Resolve::default(),
            hold_until: None,
            pace_until: None,
            failures: 0,
            cap_noted: false,
            refusals: HashMap::new(),
            stopping: None,
            posted: false,
            group_since: None,
            placed_before: 0,
            summary: Summary {
                ending: Ending::Finished,
                placed: 0,
                finished: 0,
                polls: 0,
                left_in_flight: 0,
                left_unsettled: 0,
                grace_ran_out: false,
            },
            push: None,
            account: None,
            late: late::Lates::default(),
            grace_until: None,
            trouble: None,
        }
    }

    /// The state file, for the caller to export results after the run.
    pub fn into_store(self) -> Store {
        self.store
    }

    /// Runs until every contact is settled, a cap is reached, the API refuses the run, or `stop`
    /// says so: [`Stop::Gracefully`] places no new call and follows calls in flight to their
    /// end; [`Stop::AtOnce`] returns `None` at the next turn of the loop. However the run ends,
    /// the open group of steps is committed first (each step is whole, so the state file is
    /// consistent after any of them).
    pub async fn run(&mut self, stop: watch::Receiver<Stop>) -> Result<Option<Summary>, RunError> {
        let ran = self.drive(stop).await;
        // Whatever ended the run, the steps taken so far are kept (each one whole).
        let committed = self.commit_group();
        let summary = ran?;
        committed?;
        if self.grace_until.is_some() {
            self.store.clear_meta(STOPPING)?;
        }
        Ok(summary)
    }

    async fn drive(
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
            if asked == Stop::Gracefully && self.grace_until.is_none() {
                self.begin_stop()?;
            }
            if self
                .grace_until
                .is_some_and(|until| tokio::time::Instant::now() >= until)
            {
                // Whatever else stopped placements, the run ends because it was told to.
                self.summary.ending = Ending::Interrupted;
                self.summary.grace_ran_out = true;
                self.leave_the_rest();
                break;
            }
            self.start_read(now);
            self.start_late_checks(now);
            let mut wake: Option<Timestamp> = None;
            if self.stopping.is_none() && self.unsettled_at_start_done() {
                wake = earliest(wake, self.place_due(now)?);
            }
            self.start_polls(now);
            wake = earliest(wake, self.polls_due.peek().map(|Reverse((at, _))| *at));
            // While a read is out, its answer (an event) is what resolution waits for;
            // `listed` schedules the next one.
            wake = earliest(wake, self.resolve.wake());
            wake = earliest(wake, self.late.wake());
            self.progress.update(self.in_flight());
            if self.waited_on(now) == 0 {
                if let Some(ending) = self.stopping.clone() {
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
                let overdue = self.following.values().map(|f| f.deadlines.give_up).min();
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
                let next = match (due, self.hold_until.filter(|&h| h > now)) {
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
            if std::mem::take(&mut self.posted) || sleep.is_some_and(|at| at <= now) {
                tokio::task::yield_now().await;
            }
            tokio::select! {
                event = self.rx.recv() => {
                    if let Some(event) = event {
                        self.handle_together(event)?;
                    }
                }
                () = sleep_until(&self.clock, sleep) => {}
                inbound = push::next(self.push.as_mut()) => self.inbound(inbound)?,
                () = linger(self.group_since), if self.group_since.is_some() => self.commit_group()?,
                () = until_instant(self.grace_until), if self.grace_until.is_some() => {}
                changed = stop.changed(), if !stop_gone => {
                    if changed.is_err() {
                        // The sender is gone: treat as a stop request.
                        stop_gone = true;
                        if self.stopping.is_none() {
                            self.stopping = Some(Ending::Interrupted);
                        }
                    }
                }
            }
        }
        Ok(Some(self.summary.clone()))
    }

    fn in_flight(&self) -> usize {
        self.placing.len() + self.following.len()
    }

    /// What the run still waits for before it may end: calls in flight (but, with
    /// `--until-idle`, those past `limits.max_call_minutes` whose status this run has seen),
    /// lost placements being settled (unless the API is down), and late checks.
    fn waited_on(&self, now: Timestamp) -> usize {
        let overdue = if self.options.until_idle {
            self.following
                .values()
                .filter(|f| f.polled && now >= f.deadlines.overdue)
                .count()
        } else {
            0
        };
        // Nothing will settle them while the API is down or refuses the run's key.
        let hopeless = self.trouble.as_ref().is_some_and(|t| t.declared)
            || matches!(self.stopping, Some(Ending::Refused(_)));
        let unsettled = if hopeless {
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

    /// The first stop signal: no new calls, and a deadline (real time) for those in flight,
    /// written to the state file for `status`.
    fn begin_stop(&mut self) -> Result<(), RunError> {
        let grace = self.options.stop_grace;
        self.grace_until = Some(tokio::time::Instant::now() + grace);
        if self.stopping.is_none() {
            self.stopping = Some(Ending::Interrupted);
        }
        let since = Timestamp::now();
        let second = |t: Timestamp| t.round(jiff::Unit::Second).unwrap_or(t);
        self.store.set_meta(
            STOPPING,
            &format!("{} {}", second(since), second(later(since, grace))),
        )?;
        self.commit_group()?;
        self.progress.note(&format!(
            "stopping: no new calls; following {} call(s) already placed to their end, for {} at \
             most (--stop-grace; Ctrl-C again to quit at once)",
            self.in_flight(),
            crate::campaign::duration::format(grace)
        ));
        Ok(())
    }

    /// The API answered (anything but an outage error).
    fn api_answered(&mut self) {
        self.trouble = None;
    }

    /// The API answered `err` to a request (to place `contact`'s call, if `Some`); an outage
    /// that has lasted [`OUTAGE_LIMIT`] stops placements.
    fn api_failed(&mut self, err: &ApiError, contact: Option<&str>, now: Timestamp) {
        if err.class().is_outage() {
            self.trouble(err, contact, now);
        } else {
            self.api_answered();
        }
    }

    /// Counts `err` towards an outage (see [`OUTAGE_LIMIT`]).
    fn trouble(&mut self, err: &ApiError, contact: Option<&str>, now: Timestamp) {
        let trouble = self.trouble.get_or_insert_with(|| Trouble {
            since: now,
            declared: false,
            placements: HashSet::new(),
            independent: false,
        });
        // A 5xx to a placement may be about its number; a rate limit or the account's minute
        // cap is about the account, like a failed poll or read.
        match contact {
            Some(key) if err.class() == ErrorClass::Backoff => {
                if !trouble.placements.contains(key) {
                    trouble.placements.insert(key.to_owned());
                }
            }
            _ => trouble.independent = true,
        }
        let lasted = now.duration_since(trouble.since);
        if trouble.declared
            || !trouble.is_outage()
            || lasted < SignedDuration::try_from(OUTAGE_LIMIT).unwrap_or(SignedDuration::MAX)
        {
            if !trouble.is_outage() {
                self.probe(now);
            }
            return;
        }
        trouble.declared = true;
        let lasted = Duration::try_from(lasted).unwrap_or(OUTAGE_LIMIT);
        let why = format!(
            "the API has answered nothing but errors for {} (the last: {err})",
            crate::campaign::duration::format(Duration::from_secs(lasted.as_secs()))
        );
        self.progress.note(&format!(
            "{why}; no new calls; following {} call(s) in flight, lost placements are left to the \
             next run",
            self.in_flight()
        ));
        if self.stopping.is_none() {
            self.stopping = Some(Ending::Unreachable(why));
        }
    }

    /// Attempts left open by an earlier run: `placing` ones become ambiguous and are resolved
    /// before anything new is placed; `placed` ones are followed again.
    fn recover(&mut self) -> Result<(), RunError> {
        let now = self.clock.now();
        self.placed_before = self.store.calls_placed()?;
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
            self.stopping = Some(Ending::Breaker(format!(
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
    /// anchored to a call known to exist, see [`lost`]), and calls given up as unknown asked
    /// about (one may have ended, or still ring, before its contact, released by
    /// `--retry-unknown`, is called again).
    fn unsettled_at_start_done(&self) -> bool {
        self.resolve.ready() && (self.late.at_start() == 0 || self.summary.placed > 0)
    }

    fn cap_reached(&mut self, now: Timestamp) -> Result<Option<(Cap, String)>, RunError> {
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
            && self.placed_before + self.summary.placed >= cap.get()
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
    /// A round is what the pacer allows at once (see [`pace::ROUND`]): its attempts are
    /// committed `placing` in one transaction with one disk flush, and only then are its POSTs
    /// sent. The flush is what each placement must wait for (a power cut after a POST must not
    /// take the attempt), and it costs more than all the rest of a call; a round shares it.
    fn place_due(&mut self, now: Timestamp) -> Result<Option<Timestamp>, RunError> {
        if let Some(hold) = self.hold_until {
            if hold > now {
                return Ok(Some(hold));
            }
            self.hold_until = None;
        }
        // The driver comes here after every event (mostly poll answers); until the pacer allows
        // the next placement there is nothing to do, and no reason to query the state file.
        if let Some(pace) = self.pace_until {
            if pace > now {
                return Ok(Some(pace));
            }
            self.pace_until = None;
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
            .min(self.pacer.round())
            .min(self.reach_room(now)?);
        if room == 0 {
            // The chain of reads is as long as it may grow: the read asked now lets placing go on.
            return Ok(None);
        }
        let due = self.store.due_count(now, room)?.max(1);
        let size = match self.pacer.take_round(room.min(due)) {
            Ok(size) => size as usize,
            Err(wait) => {
                let at = later(now, wait);
                self.pace_until = Some(at);
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
                    self.group_since = None;
                    self.store.abandon_group();
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
        self.posted = true;
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
        if !self.cap_noted && self.in_flight() > 0 {
            self.cap_noted = true;
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
    ) -> Result<Vec<(i64, render::CallRequest, String)>, RunError> {
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
    fn claim(
        &mut self,
        due: &Due,
        now: Timestamp,
    ) -> Result<Option<(i64, render::CallRequest, String)>, RunError> {
        let contact = Contact {
            line: due.line,
            key: due.key.clone(),
            phone: due.phone.clone(),
            values: due.cells.clone(),
            timezone: due.timezone.clone(),
            tz_source: None,
            // Checked before the claim (see `deadline`), not needed to render.
            cutoff: None,
        };
        let mut request = match render::request(&self.campaign, &contact) {
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
        self.placing.insert(
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

    /// Shares the account's record with the other campaigns run on it (see
    /// [`crate::store::account`]).
    pub fn with_account(mut self, account: Account) -> Self {
        self.account = Some(account);
        self
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

    fn start_polls(&mut self, now: Timestamp) {
        while let Some(Reverse((at, attempt))) = self.polls_due.peek().copied() {
            if at > now {
                break;
            }
            self.polls_due.pop();
            let Some(following) = self.following.get(&attempt) else {
                continue;
            };
            if !self.polling.insert(attempt) {
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

    #[allow(clippy::too_many_arguments)]
    fn follow(
        &mut self,
        attempt: i64,
        key: String,
        call_id: String,
        placed_at: Timestamp,
        polls: u32,
        calls: u32,
        now: Timestamp,
    ) {
        let deadlines = follow::Deadlines::new(placed_at, self.max_call());
        // A call past its give-up instant (a run resumed late) is looked at at once.
        let next = if deadlines.give_up <= now {
            now
        } else {
            deadlines.clamp(self.next_poll(placed_at, now, polls), now)
        };
        self.following.insert(
            attempt,
            Following {
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
        self.polls_due.push(Reverse((next, attempt)));
    }

    /// Handles `first` and the answers already waiting behind it (up to [`EVENT_BATCH`]), in
    /// the open group of steps (see [`Runner::open_group`]).
    fn handle_together(&mut self, first: Event) -> Result<(), RunError> {
        self.open_group()?;
        self.handle(first)?;
        for _ in 0..EVENT_BATCH {
            let Ok(event) = self.rx.try_recv() else { break };
            self.handle(event)?;
        }
        // No round will come to commit the group; and what stopped the run (a tripped breaker
        // above all) must not be lost to a kill, or the next run would place calls again.
        if self.stopping.is_some() {
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
    fn open_group(&mut self) -> Result<(), RunError> {
        if self.group_since.is_none() {
            self.store.begin_group()?;
            self.group_since = Some(tokio::time::Instant::now());
        }
        Ok(())
    }

    /// Commits the open group of steps, if any.
    fn commit_group(&mut self) -> Result<(), RunError> {
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

    fn placed(
        &mut self,
        attempt: i64,
        result: Result<Placed, ApiError>,
        now: Timestamp,
    ) -> Result<(), RunError> {
        let Some(posting) = self.placing.remove(&attempt) else {
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
        self.failures = 0;
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
        if let Some(following) = self.following.get_mut(&attempt) {
            following.status = Some(status);
        }
        self.adopt_pushed(attempt)
    }

    fn place_failed(
        &mut self,
        attempt: i64,
        posting: Posting,
        err: &ApiError,
        now: Timestamp,
    ) -> Result<(), RunError> {
        let key = posting.key.clone();
        let result = match err.class() {
            ErrorClass::RetryAfter(wait) => {
                self.hold(now, wait);
                PlaceResult::Transient { retry_after: wait }
            }
            ErrorClass::Backoff => {
                // The POSTs of a round fail together: one failure deepens the backoff, not
                // one for each of them.
                if self.hold_until.is_none_or(|hold| hold <= now) {
                    self.failures += 1;
                }
                let wait = self.backoff.delay_random(self.failures, err.retry_after());
                self.hold(now, wait);
                // A refusal of this number, not an outage (which would otherwise give up every
                // contact it meets); `placed` counted this answer as trouble first. Any 5xx
                // counts: a number answered nothing but errors while the API answers other
                // requests must not keep the run going for ever.
                let refused = self.trouble.as_ref().is_some_and(|t| t.refuses(&key));
                let refusals = if refused {
                    let n = self.refusals.entry(key.clone()).or_default();
                    *n += 1;
                    *n
                } else {
                    0
                };
                if refusals >= MAX_PLACEMENT_FAILURES {
                    PlaceResult::RowRefused
                } else {
                    PlaceResult::Transient { retry_after: wait }
                }
            }
            ErrorClass::PauseRun => {
                // Said once for the POSTs of a round that meet the cap together.
                let paused = self
                    .hold_until
                    .is_some_and(|hold| hold >= later(now, MINUTE_CAP_PAUSE / 2));
                self.hold(now, MINUTE_CAP_PAUSE);
                if !paused {
                    self.progress.note(&format!(
                        "the account's call minutes are used up ({err}); pausing placements for {} min",
                        MINUTE_CAP_PAUSE.as_secs() / 60
                    ));
                }
                PlaceResult::Transient {
                    retry_after: MINUTE_CAP_PAUSE,
                }
            }
            ErrorClass::StopRun | ErrorClass::NotFound => {
                if self.stopping.is_none() {
                    self.stopping = Some(Ending::Refused(err.to_string()));
                }
                PlaceResult::RunRefused
            }
            ErrorClass::RowFatal => PlaceResult::RowRefused,
            ErrorClass::Ambiguous => PlaceResult::Lost,
        };
        let placement = state::after_place(&result, now);
        let note = match result {
            PlaceResult::RowRefused if err.class() == ErrorClass::Backoff => format!(
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
        if result != PlaceResult::Lost {
            self.owned("", posting.subject.as_deref(), None)?;
        }
        if result == PlaceResult::Lost {
            self.lost_answer(attempt, posting, now);
        } else if placement.attempt == AttemptState::NotPlaced
            && placement.contact == ContactState::Pending
        {
            // Did not cost an attempt; the placement counter of this run gives it back.
            self.summary.placed = self.summary.placed.saturating_sub(1);
        } else if placement.contact == ContactState::Invalid {
            self.summary.placed = self.summary.placed.saturating_sub(1);
        }
        Ok(())
    }

    fn hold(&mut self, now: Timestamp, wait: Duration) {
        let until = later(now, wait);
        self.hold_until = Some(self.hold_until.map_or(until, |h| h.max(until)));
    }

    fn polled(
        &mut self,
        attempt: i64,
        result: Result<CallRecord, ApiError>,
        now: Timestamp,
    ) -> Result<(), RunError> {
        self.polling.remove(&attempt);
        self.summary.polls += 1;
        if let Some((late, first)) = self.late.answered(attempt) {
            return self.late_checked((&late, first), result, now);
        }
        match &result {
            Ok(_) => self.api_answered(),
            Err(err) => self.api_failed(err, None, now),
        }
        let webhooks = self.push.is_some();
        let Some(following) = self.following.get_mut(&attempt) else {
            return Ok(());
        };
        following.polled = true;
        match result {
            Ok(record) => {
                if let Some(outcome) = record.outcome() {
                    let following = self.following.remove(&attempt).expect("present");
                    let retry = &self.campaign.retry;
                    let after =
                        state::after_result(outcome, following.calls, retry, record.ended_at, now);
                    let raw = serde_json::to_string(&record.raw).expect("JSON serializes");
                    let finish = Finish {
                        attempt,
                        key: &following.key,
                        outcome,
                        record: &raw,
                        ended_at: record.ended_at,
                        after,
                        polls: Some(following.polls + 1),
                    };
                    if !self.store.record_finished(&finish, now)? {
                        // Finished meanwhile by the path that recorded its result.
                        return Ok(());
                    }
                    self.summary.finished += 1;
                    self.progress
                        .finished(outcome, matches!(after, AfterCall::RetryAt(_)));
                    self.call_ended(outcome, &record, now)?;
                } else {
                    following.polls += 1;
                    following.read_at = now;
                    following.failed = 0;
                    let next = push::schedule(webhooks, following.placed_at, now, following.polls);
                    let status = record.status.as_str();
                    if following.status.as_deref() != Some(status) {
                        self.store.record_poll(
                            attempt,
                            Some(status),
                            None,
                            following.polls,
                            now,
                        )?;
                        following.status = Some(status.to_owned());
                    }
                    if now >= following.deadlines.give_up {
                        return self.give_up(attempt, Ok(status), now);
                    }
                    let next = following.deadlines.clamp(next, now);
                    self.polls_due.push(Reverse((next, attempt)));
                }
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
                        if self.stopping.is_none() {
                            self.stopping = Some(Ending::Refused(err.to_string()));
                        }
                        follow::POLL_LONG_CALL
                    }
                    _ => self
                        .backoff
                        .delay_random(following.polls.min(6), err.retry_after())
                        .max(follow::POLL_EVERY),
                };
                let next = following.deadlines.clamp(later(now, wait), now);
                let read_at = following.read_at;
                let give_up = now >= following.deadlines.give_up
                    && now >= later(read_at, follow::GIVE_UP_GRACE)
                    && following.failed >= UNREADABLE_POLLS;
                let error = err.to_string();
                self.store
                    .record_poll(attempt, None, Some(&error), following.polls, now)?;
                if give_up {
                    return self.give_up(attempt, Err((&error, read_at)), now);
                }
                self.polls_due.push(Reverse((next, attempt)));
            }
        }
        Ok(())
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
        let Some(following) = self.following.get(&attempt) else {
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
        let Some(following) = self.following.get(&attempt) else {
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
        let Some(following) = self.following.remove(&attempt) else {
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
    fn number_held_until(&self, now: Timestamp) -> Timestamp {
        later(now, self.max_call())
    }

    /// `limits.max_call_minutes`.
    fn max_call(&self) -> Duration {
        Duration::from_secs(u64::from(self.campaign.limits.max_call_minutes.get()) * 60)
    }

    /// The guards' hook for every call whose result was just recorded: counts its minutes and
    /// feeds the circuit breaker; a trip is recorded in the state file (later runs stay stopped
    /// until `--reset-breaker`) and stops placements.
    pub(super) fn call_ended(
        &mut self,
        outcome: state::Outcome,
        record: &CallRecord,
        now: Timestamp,
    ) -> Result<(), RunError> {
        let Some(why) = self.guards.ended(outcome, record) else {
            return Ok(());
        };
        let at = now.round(jiff::Unit::Second).unwrap_or(now);
        self.store
            .set_meta(BREAKER_TRIPPED, &format!("at {at}: {why}"))?;
        if self.stopping.is_none() {
            self.progress.note(&format!(
                "circuit breaker: {why}; no new calls, following {} call(s) in flight to their end",
                self.in_flight()
            ));
            self.stopping = Some(Ending::Breaker(why));
        }
        Ok(())
    }
}

/// What a contact becoming unknown means for the rows that share its number.
fn held_note(held_until: Timestamp) -> String {
    format!(
        "no row with its number is called before {} (limits.max_call_minutes: its call may be going on until then)",
        held_until.round(jiff::Unit::Second).unwrap_or(held_until)
    )
}

fn later(at: Timestamp, by: Duration) -> Timestamp {
    at.checked_add(SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX))
        .unwrap_or(Timestamp::MAX)
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
