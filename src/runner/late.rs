//! Late results: calls given up as unknown (see [`super::follow::Deadlines`]) are asked about
//! again, for their result may still come. Those given up in the last [`LATE_WINDOW`]
//! are asked at the start of every run, before anything is placed (one may still ring, and
//! its contact, released by `--retry-unknown`, must not be called meanwhile); those given up
//! during a run, and those still going on, are asked again every [`LATE_EVERY`] while the run
//! goes on. A late result is recorded at once and moves its contact on; a webhook may bring it
//! first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use super::{Event, RunError, Runner, later};
use crate::api::{ApiError, CallRecord};
use crate::state;
use crate::store::{Finish, LateCall};
use crate::text::escape_control;

/// Calls given up as unknown this long ago or less are asked for once more at the start of a
/// run (and a webhook may still bring their result at any time).
pub const LATE_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// At most this many of them, the most recently given up first, per run.
pub const LATE_CHECKS: u32 = 100;

/// How many of those requests are out at once.
const LATE_CONCURRENCY: usize = 4;

/// Between two questions about the same given-up call while a run goes on (simulated time).
pub const LATE_EVERY: Duration = Duration::from_secs(5 * 60);

/// And at least this much real time, so a rehearsal's fast clock does not make them a stream.
pub const LATE_EVERY_REAL: Duration = Duration::from_secs(2);

/// The given-up calls a run asks about.
#[derive(Debug, Default)]
pub(super) struct Lates {
    calls: HashMap<i64, Late>,
    /// Bounds the questions out at once.
    permits: Option<Arc<tokio::sync::Semaphore>>,
}

#[derive(Debug)]
struct Late {
    call: LateCall,
    /// When to ask next.
    next: Timestamp,
    /// A question is out.
    asking: bool,
    /// Asked at the start of the run, not answered yet: placing waits for it.
    at_start: bool,
    /// Answers this run had about it.
    answers: u32,
}

impl Lates {
    /// A call given up by an earlier run: asked about before anything is placed.
    pub(super) fn ask_at_start(&mut self, call: LateCall, now: Timestamp) {
        self.calls.insert(
            call.attempt,
            Late {
                call,
                next: now,
                asking: false,
                at_start: true,
                answers: 0,
            },
        );
    }

    /// A call given up during this run, or still going on: asked about (again) at `next`.
    pub(super) fn ask_later(&mut self, call: LateCall, next: Timestamp) {
        let answers = self.calls.get(&call.attempt).map_or(0, |l| l.answers);
        self.calls.insert(
            call.attempt,
            Late {
                call,
                next,
                asking: false,
                at_start: false,
                answers,
            },
        );
    }

    /// How many questions of the start of the run are still unanswered.
    pub(super) fn at_start(&self) -> usize {
        self.calls.values().filter(|l| l.at_start).count()
    }

    /// When the next question is due, if one is waiting.
    pub(super) fn wake(&self) -> Option<Timestamp> {
        self.calls
            .values()
            .filter(|l| !l.asking)
            .map(|l| l.next)
            .min()
    }

    /// The answer to the question about `attempt` came: the call it was about, if any, and
    /// whether it is the first answer about it in this run.
    pub(super) fn answered(&mut self, attempt: i64) -> Option<(LateCall, bool)> {
        let late = self.calls.get_mut(&attempt).filter(|l| l.asking)?;
        late.asking = false;
        late.at_start = false;
        late.answers += 1;
        Some((late.call.clone(), late.answers == 1))
    }

    /// Its result was recorded (or a webhook brought it): nothing more to ask.
    pub(super) fn done(&mut self, attempt: i64) {
        self.calls.remove(&attempt);
    }
}

impl Runner {
    /// Between questions about a given-up call, in simulated time.
    pub(super) fn late_every(&self) -> Duration {
        self.clock.at_least_real(LATE_EVERY, LATE_EVERY_REAL)
    }

    /// Asks about the given-up calls whose time has come, a few at a time; the answers come
    /// back as polls.
    pub(super) fn start_late_checks(&mut self, now: Timestamp) {
        let permits = self
            .late
            .permits
            .get_or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(LATE_CONCURRENCY)))
            .clone();
        for (&attempt, late) in &mut self.late.calls {
            if late.asking || late.next > now {
                continue;
            }
            late.asking = true;
            let client = self.client.clone();
            let tx = self.tx.clone();
            let call_id = late.call.call_id.clone();
            let permits = permits.clone();
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                let result = client.get_call(&call_id).await;
                let _ = tx.send(Event::Polled {
                    attempt,
                    result: Box::new(result),
                });
            });
        }
    }

    /// The answer about a call given up as unknown: its result is recorded if it has one, else
    /// it is asked about again later.
    pub(super) fn late_checked(
        &mut self,
        (late, first): (&LateCall, bool),
        result: Result<CallRecord, ApiError>,
        now: Timestamp,
    ) -> Result<(), RunError> {
        self.store.count_late_poll(late.attempt)?;
        let next = later(now, self.late_every());
        let record = match result {
            Ok(record) => {
                self.api_answered();
                record
            }
            Err(err) => {
                self.api_failed(&err, None, now);
                self.late.ask_later(late.clone(), next);
                return Ok(());
            }
        };
        let Some(outcome) = record.outcome() else {
            // Still going on: its number stays held (and a contact released by
            // --retry-unknown is not called while it rings).
            let until = self.number_held_until(now);
            // Said once a run: it is asked about again every few minutes.
            if self.store.hold_late(late.attempt, &late.key, until, now)? && first {
                self.progress.note(&format!(
                    "contact {}: the call given up as unknown is still {}; not called again \
                     before {}",
                    escape_control(&late.key),
                    escape_control(record.status.as_str()),
                    until.round(jiff::Unit::Second).unwrap_or(until)
                ));
            }
            self.late.ask_later(late.clone(), next);
            return Ok(());
        };
        let raw = serde_json::to_string(&record.raw).expect("JSON serializes");
        let finish = self.late_finish(late, &record, &raw, now);
        let finished = self.store.record_finished(&finish, now)?;
        self.late.done(late.attempt);
        if finished {
            self.late_result(&late.key, outcome);
        }
        Ok(())
    }

    /// The result of a call given up as unknown, `raw` its final record, as the store commits
    /// it: its contact moves as [`state::after_result`] decides (its calls count this one
    /// already).
    pub(super) fn late_finish<'a>(
        &self,
        late: &'a LateCall,
        record: &CallRecord,
        raw: &'a str,
        now: Timestamp,
    ) -> Finish<'a> {
        let outcome = record.outcome().expect("a terminal record");
        let retry = &self.campaign.retry;
        Finish {
            attempt: late.attempt,
            key: &late.key,
            outcome,
            record: raw,
            ended_at: record.ended_at,
            after: state::after_result(outcome, late.calls, retry, record.ended_at, now),
            polls: None,
        }
    }

    /// A result recorded for a call given up as unknown.
    pub(super) fn late_result(&mut self, key: &str, outcome: crate::api::Outcome) {
        self.summary.finished += 1;
        self.progress.note(&format!(
            "contact {}: the call given up as unknown ended after all ({outcome}); its result is \
             recorded",
            escape_control(key)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::Rig;
    use super::*;
    use crate::api::Outcome;
    use crate::sandbox::SandboxConfig;
    use crate::sandbox::faults::Faults;
    use crate::state::ContactState;

    #[tokio::test]
    async fn a_call_given_up_as_unknown_that_ends_later_has_its_result_recorded() {
        // 555-0195 stays in progress for 20 simulated minutes, then completes.
        let config = SandboxConfig {
            faults: Faults {
                stuck_minutes: Some(20),
                ..Faults::default()
            },
            ..SandboxConfig::default()
        };
        let mut rig = Rig::new(&["+14155550195"], "  max_call_minutes: 1\n", config).await;
        rig.start().await;
        rig.place().await;
        while rig.runner.following.len() > 0 {
            rig.advance(60);
            rig.poll().await;
        }
        assert_eq!(rig.states(), [ContactState::Unknown]);
        // Asked again every few minutes while it still rings: its number stays held.
        let next = rig.runner.late.wake().expect("asked about later");
        assert_eq!(next, later(rig.now(), LATE_EVERY));
        rig.runner.start_late_checks(rig.now());
        assert_eq!(rig.runner.late.wake(), Some(next), "not due yet");
        rig.clock.set(next);
        rig.runner.start_late_checks(rig.now());
        rig.until(|r| r.late.wake().is_some()).await;
        assert_eq!(rig.states(), [ContactState::Unknown]);
        // Once it has ended, the next question brings its result.
        rig.advance(30 * 60);
        rig.runner.start_late_checks(rig.now());
        rig.until(|r| r.summary.finished == 1).await;
        assert_eq!(rig.runner.late.wake(), None, "nothing more to ask");
        let row = &rig.rows()[0];
        assert_eq!(
            (row.state, row.outcome),
            (ContactState::Done, Some(Outcome::Completed))
        );
        assert_eq!(rig.runner.summary.finished, 1);
    }
}
