//! The campaign runner: places every due call under the limits, follows each to its end, and
//! records every step, so that it can be killed at any instant and resumed without calling
//! anyone twice.
//!
//! One driver task owns the state file and makes every decision (through [`crate::state`]);
//! HTTP requests run in spawned tasks and report back over a channel. The driver never shares
//! the database. Its steps go into a group (one transaction) that stays open across turns of
//! the loop until the next round of placements commits it, or [`drive::GROUP_LINGER`] has passed.
//! Order of things:
//! 1. an attempt is committed `placing` and flushed to disk (with the others of its round and
//!    the answers handled since the last commit), and only then is its POST sent;
//! 2. the answer is recorded (`placed` with its call id, `not_placed`, or `ambiguous`);
//! 3. statuses and the final record are recorded as polls answer them.
//!
//! Recorded steps are committed with the next round, [`drive::GROUP_LINGER`] after the group opened,
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
//! - when every answer has been an outage error ([`crate::api::ErrorClass::is_outage`]) for
//!   [`OUTAGE_LIMIT`], placements stop and lost placements are left to the next run
//!   ([`Ending::Unreachable`]);
//! - a graceful stop follows the calls in flight for `--stop-grace` at most, then leaves them
//!   to the next run.
//!
//! The runner is in parts, each a file with a struct of its own state, and this module only
//! wires them: [`drive`] turns the loop, recovers what an earlier run left open and commits
//! the group of steps; [`place`] places due contacts and records the POSTs' answers;
//! [`following`] follows placed calls to their end, by polls and webhook events ([`push`])
//! through one path; [`resolve`] settles lost answers and finds calls given up without one;
//! [`late`] asks about calls given up as unknown; [`stop`] holds why placements stopped (a stop
//! signal, the breaker, a refused run, an outage). The pure decisions are in [`crate::state`]
//! and in [`follow`], [`lost`], [`guard`], [`pace`], [`deadline`] and [`windows`].

pub mod canary;
pub mod deadline;
mod drive;
pub mod eta;
pub mod follow;
mod following;
pub mod guard;
mod late;
pub mod lost;
pub mod pace;
mod place;
pub mod push;
mod resolve;
mod stop;
#[cfg(test)]
mod testing;
mod windows;

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::{mpsc, watch};

use crate::api::{ApiError, CallRecord, Client, Placed};
use crate::campaign::Campaign;
use crate::clock::Clock;
use crate::progress::Progress;
use crate::store::account::Account;
use crate::store::{STOPPING, Store, StoreError};
use guard::Guards;

pub use drive::IDLE_WAIT;
pub use following::{NOT_FOUND_LIMIT, UNREADABLE_POLLS};
pub use late::{LATE_CHECKS, LATE_WINDOW};
pub use place::{MAX_PLACEMENT_FAILURES, MINUTE_CAP_PAUSE};
pub use stop::{DEFAULT_STOP_GRACE, OUTAGE_LIMIT};

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

pub struct Runner {
    campaign: Arc<Campaign>,
    store: Store,
    client: Client,
    clock: Clock,
    options: Options,
    progress: Progress,
    guards: Guards,
    tx: mpsc::UnboundedSender<Event>,
    rx: mpsc::UnboundedReceiver<Event>,
    summary: Summary,
    /// The account's shared record (see [`crate::store::account`]); `None` with an API of
    /// this process's own.
    account: Option<Account>,
    /// Since when the state file's group of steps has been open, if it is (see
    /// [`Runner::open_group`]).
    group_since: Option<tokio::time::Instant>,
    /// The parts, each with its own state.
    place: place::Placing,
    following: following::Follow,
    /// Lost answers, and the reads of the list of calls that settle them.
    resolve: resolve::Resolve,
    /// Calls given up as unknown that this run asks about, by attempt (see [`late`]).
    late: late::Lates,
    stop: stop::Stopping,
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
        Runner {
            guards: Guards::new(&campaign),
            place: place::Placing::new(&campaign, clock.clone()),
            campaign,
            store,
            client,
            clock,
            options,
            progress,
            tx,
            rx,
            summary: Summary {
                ending: Ending::Finished,
                placed: 0,
                finished: 0,
                polls: 0,
                left_in_flight: 0,
                left_unsettled: 0,
                grace_ran_out: false,
            },
            account: None,
            group_since: None,
            following: following::Follow::default(),
            resolve: resolve::Resolve::default(),
            late: late::Lates::default(),
            stop: stop::Stopping::default(),
        }
    }

    /// Shares the account's record with the other campaigns run on it (see
    /// [`crate::store::account`]).
    pub fn with_account(mut self, account: Account) -> Self {
        self.account = Some(account);
        self
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
        if self.stop.grace_until.is_some() {
            self.store.clear_meta(STOPPING)?;
        }
        Ok(summary)
    }
}

fn later(at: Timestamp, by: Duration) -> Timestamp {
    at.checked_add(SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX))
        .unwrap_or(Timestamp::MAX)
}
