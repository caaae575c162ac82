//! Stopping: why placements stopped, if they did, and how long the calls in flight are still
//! followed. Placements stop for a stop signal (with a grace of `--stop-grace` for the calls in
//! flight), a tripped circuit breaker, a run the API refuses, and an outage: when every answer
//! has been an outage error ([`crate::api::ErrorClass::is_outage`]) for [`OUTAGE_LIMIT`]. The
//! first reason to stop is the one the run ends with.

use std::collections::HashSet;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::{Ending, RunError, Runner, later};
use crate::api::{ApiError, CallRecord, ErrorClass};
use crate::store::{BREAKER_TRIPPED, STOPPING};

/// How long the API may answer nothing but outage errors (5xx, 429, timeouts, the minute cap)
/// before the run stops placing and leaves what it cannot settle to a later run: long enough
/// for a passing incident and one retry after the minute cap's pause, short enough that a cron
/// run does not sit through an outage.
pub const OUTAGE_LIMIT: Duration = Duration::from_secs(15 * 60);

/// And at least this much real time: on a rehearsal's fast clock [`OUTAGE_LIMIT`] passes in a
/// second, between two reads of the list (see [`super::resolve::READ_EVERY_REAL`]), and one
/// failed request would make an outage.
pub const OUTAGE_LIMIT_REAL: Duration = Duration::from_secs(5);

/// How long a graceful stop follows the calls in flight by default (`--stop-grace`).
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(60);

/// How many numbers refused together still count as refusals of those numbers (see
/// [`Trouble::refuses`]): the few rows left at a campaign's end may all be numbers the carrier
/// never connects.
const REFUSED_TOGETHER: usize = 3;

/// Why placements stopped, and the outage being watched.
#[derive(Debug, Default)]
pub(super) struct Stopping {
    /// Why placements stopped (the run ends so once nothing is in flight); `None`: placing.
    ending: Option<Ending>,
    /// Set when the run was asked to stop: when the grace for calls in flight runs out.
    pub(super) grace_until: Option<tokio::time::Instant>,
    /// `None` while the API answers.
    trouble: Option<Trouble>,
}

impl Stopping {
    /// Stops placements for `ending`, unless they stopped already (the first reason stands);
    /// whether this was the first.
    pub(super) fn stop(&mut self, ending: Ending) -> bool {
        let first = self.ending.is_none();
        if first {
            self.ending = Some(ending);
        }
        first
    }

    /// Why placements stopped, if they did.
    pub(super) fn ending(&self) -> Option<&Ending> {
        self.ending.as_ref()
    }

    pub(super) fn is_stopping(&self) -> bool {
        self.ending.is_some()
    }

    /// Nothing will settle lost placements: the API is down, or refuses the run's key.
    pub(super) fn hopeless(&self) -> bool {
        self.trouble.as_ref().is_some_and(|t| t.declared)
            || matches!(self.ending, Some(Ending::Refused(_)))
    }

    /// Whether a failed placement for `contact` is a refusal of its number (see
    /// [`Trouble::refuses`]).
    pub(super) fn refuses(&self, contact: &str) -> bool {
        self.trouble.as_ref().is_some_and(|t| t.refuses(contact))
    }

    /// Whether the grace for calls in flight has run out at `now`.
    pub(super) fn grace_over(&self, now: tokio::time::Instant) -> bool {
        self.grace_until.is_some_and(|until| now >= until)
    }
}

/// Since when every answer of the API has been an outage error.
#[derive(Debug)]
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

impl Runner {
    /// The first stop signal: no new calls, and a deadline (real time) for those in flight,
    /// written to the state file for `status`.
    pub(super) fn begin_stop(&mut self) -> Result<(), RunError> {
        let grace = self.options.stop_grace;
        self.stop.grace_until = Some(tokio::time::Instant::now() + grace);
        self.stop.stop(Ending::Interrupted);
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
    pub(super) fn api_answered(&mut self) {
        self.stop.trouble = None;
    }

    /// The API answered `err` to a request (to place `contact`'s call, if `Some`); an outage
    /// that has lasted [`OUTAGE_LIMIT`] stops placements.
    pub(super) fn api_failed(&mut self, err: &ApiError, contact: Option<&str>, now: Timestamp) {
        if err.class().is_outage() {
            self.trouble(err, contact, now);
        } else {
            self.api_answered();
        }
    }

    /// Counts `err` towards an outage (see [`OUTAGE_LIMIT`]).
    pub(super) fn trouble(&mut self, err: &ApiError, contact: Option<&str>, now: Timestamp) {
        let limit = self.clock.at_least_real(OUTAGE_LIMIT, OUTAGE_LIMIT_REAL);
        let trouble = self.stop.trouble.get_or_insert_with(|| Trouble {
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
        // A refusal of one of a few numbers says nothing of the API: it never declares an
        // outage itself, however long ago a poll failed, but has the API asked (a read of the
        // list) so that the answer does, one way or the other.
        let of_few_numbers = contact.is_some()
            && err.class() == ErrorClass::Backoff
            && trouble.placements.len() <= REFUSED_TOGETHER;
        let lasted = now.duration_since(trouble.since);
        if trouble.declared
            || !trouble.is_outage()
            || of_few_numbers
            || lasted < SignedDuration::try_from(limit).unwrap_or(SignedDuration::MAX)
        {
            if !trouble.is_outage() || of_few_numbers {
                self.probe(now);
            }
            return;
        }
        trouble.declared = true;
        let lasted = Duration::try_from(lasted).unwrap_or(limit);
        let why = format!(
            "the API has answered nothing but errors for {} (the last: {err})",
            crate::campaign::duration::format(Duration::from_secs(lasted.as_secs()))
        );
        self.progress.note(&format!(
            "{why}; no new calls; following {} call(s) in flight, lost placements are left to the \
             next run",
            self.in_flight()
        ));
        self.stop.stop(Ending::Unreachable(why));
    }

    /// The guards' hook for every call whose result was just recorded: counts its minutes and
    /// feeds the circuit breaker; a trip is recorded in the state file (later runs stay stopped
    /// until `--reset-breaker`) and stops placements.
    pub(super) fn call_ended(
        &mut self,
        outcome: crate::api::Outcome,
        record: &CallRecord,
        now: Timestamp,
    ) -> Result<(), RunError> {
        let Some(why) = self.guards.ended(outcome, record) else {
            return Ok(());
        };
        let at = now.round(jiff::Unit::Second).unwrap_or(now);
        self.store
            .set_meta(BREAKER_TRIPPED, &format!("at {at}: {why}"))?;
        if !self.stop.is_stopping() {
            self.progress.note(&format!(
                "circuit breaker: {why}; no new calls, following {} call(s) in flight to their end",
                self.in_flight()
            ));
            self.stop.stop(Ending::Breaker(why));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::Rig;
    use super::*;
    use crate::api::Operation;
    use crate::sandbox::SandboxConfig;
    use crate::sandbox::faults::Faults;

    #[tokio::test]
    async fn a_stop_signal_stops_placements_and_says_until_when_calls_are_followed() {
        let mut rig = Rig::new(&["+14155550190"], "", SandboxConfig::default()).await;
        rig.start().await;
        rig.runner.begin_stop().unwrap();
        assert_eq!(rig.runner.stop.ending(), Some(&Ending::Interrupted));
        assert!(rig.runner.stop.grace_until.is_some());
        assert!(!rig.runner.stop.grace_over(tokio::time::Instant::now()));
        let written = rig.runner.store.meta(STOPPING).unwrap().expect("written");
        assert_eq!(written.split(' ').count(), 2, "{written}");
        // A later reason does not replace the first.
        assert!(!rig.runner.stop.stop(Ending::Breaker("x".into())));
        assert_eq!(rig.runner.stop.ending(), Some(&Ending::Interrupted));
    }

    #[tokio::test]
    async fn a_refused_key_stops_the_run() {
        let config = SandboxConfig {
            api_key: Some("bys_ak_someone_else".into()),
            ..SandboxConfig::default()
        };
        let mut rig = Rig::new(&["+14155550190"], "", config).await;
        rig.runner.recover().unwrap();
        rig.read().await;
        assert!(matches!(rig.runner.stop.ending(), Some(Ending::Refused(_))));
        assert!(rig.runner.stop.hopeless());
    }

    #[tokio::test]
    async fn an_api_answering_only_errors_stops_placements_after_the_outage_limit() {
        let config = SandboxConfig {
            faults: Faults {
                error_rate: 1.0,
                ..Faults::default()
            },
            ..SandboxConfig::default()
        };
        let mut rig = Rig::new(&["+14155550190"], "", config).await;
        rig.runner.recover().unwrap();
        rig.read().await;
        assert!(!rig.runner.stop.is_stopping(), "a passing error");
        assert!(!rig.runner.stop.hopeless());
        rig.advance(OUTAGE_LIMIT.as_secs());
        rig.read().await;
        assert!(
            matches!(rig.runner.stop.ending(), Some(Ending::Unreachable(why)) if why.contains("15m")),
            "{:?}",
            rig.runner.stop.ending()
        );
        assert!(rig.runner.stop.hopeless());
        // The API answers again: the outage is over (placements stay stopped).
        rig.runner.api_answered();
        assert!(!rig.runner.stop.hopeless());
    }

    #[tokio::test]
    async fn one_number_refused_long_after_a_failed_poll_is_no_outage_but_asks_the_api() {
        let mut rig = Rig::new(&["+14155550190"], "", SandboxConfig::default()).await;
        rig.runner.recover().unwrap();
        let error = |op| ApiError::Http {
            op,
            status: 503,
            token: Some("placement_failed".into()),
            message: None,
            retry_after: None,
        };
        let start = rig.now();
        rig.runner.trouble(&error(Operation::GetCall), None, start);
        // Only one number's placements fail from then on, for longer than the outage limit.
        let mut now = start;
        for _ in 0..20 {
            now = later(now, Duration::from_secs(60));
            rig.runner
                .trouble(&error(Operation::PlaceCall), Some("refused"), now);
        }
        assert!(
            !rig.runner.stop.is_stopping(),
            "{:?}",
            rig.runner.stop.ending()
        );
        assert!(
            rig.runner.resolve.wake().is_some(),
            "the API is asked with a read of the list"
        );
        // That read failing as well is the outage.
        rig.runner.trouble(&error(Operation::ListCalls), None, now);
        assert!(
            matches!(rig.runner.stop.ending(), Some(Ending::Unreachable(_))),
            "{:?}",
            rig.runner.stop.ending()
        );
    }

    #[tokio::test]
    async fn the_account_minute_cap_answered_to_one_number_is_about_the_account() {
        let mut rig = Rig::new(&["+14155550190"], "", SandboxConfig::default()).await;
        rig.runner.recover().unwrap();
        let capped = ApiError::Http {
            op: Operation::PlaceCall,
            status: 429,
            token: Some("over_minute_cap".into()),
            message: None,
            retry_after: None,
        };
        let start = rig.now();
        rig.runner.trouble(&capped, Some("one"), start);
        assert!(!rig.runner.stop.is_stopping(), "a passing error");
        let now = later(start, OUTAGE_LIMIT);
        rig.runner.trouble(&capped, Some("one"), now);
        assert!(
            matches!(rig.runner.stop.ending(), Some(Ending::Unreachable(_))),
            "{:?}",
            rig.runner.stop.ending()
        );
    }

    #[test]
    fn a_fast_clock_needs_real_seconds_of_errors_for_an_outage() {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        let table = [
            (None, minutes(15)),
            (Some(1.0), minutes(15)),
            (Some(0.1), minutes(15)),
            (Some(0.001), Duration::from_secs(5_000)),
        ];
        for (scale, limit) in table {
            let outage = crate::clock::at_least_real(scale, OUTAGE_LIMIT, OUTAGE_LIMIT_REAL);
            assert_eq!(outage, limit, "{scale:?}");
        }
    }
}
