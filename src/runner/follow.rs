//! When to poll a call, and how to settle a POST whose answer was lost. Pure functions.
//!
//! Polling knows calls take minutes: the first poll waits until a call could plausibly have
//! ended (an unanswered call rings for half a minute), then polls every 15 s, which keeps the
//! delay from a call's end to its result under ~8 s on average while costing a fraction of the
//! SDK's 3-second loop. Calls still running after 10 minutes are polled once a minute.
//!
//! Every call is followed for a bounded time (see [`Deadlines`]): one that has not ended
//! [`GIVE_UP_GRACE`] past `limits.max_call_minutes` is given up as unknown, so that a stuck call
//! (a lost hang-up, a carrier fault) or a status that cannot be read never keeps a run going.

use std::collections::HashSet;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::api::CallRecord;
use crate::state::Evidence;

/// First poll after placement.
pub const FIRST_POLL: Duration = Duration::from_secs(30);
/// Between polls of a running call.
pub const POLL_EVERY: Duration = Duration::from_secs(15);
/// Between polls of a call that has run for longer than [`LONG_CALL`].
pub const POLL_LONG_CALL: Duration = Duration::from_secs(60);
pub const LONG_CALL: Duration = Duration::from_secs(600);

/// How long past `limits.max_call_minutes` a call that has not ended is still followed before
/// it is given up as unknown: room for a call slightly longer than planned, and for its last
/// poll, before a stuck status is believed.
pub const GIVE_UP_GRACE: Duration = Duration::from_secs(5 * 60);

/// How long a followed call may take, counted from when it was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// `limits.max_call_minutes` after placement: a call still running is overdue, and a run
    /// with `--until-idle` leaves it to the next run rather than wait for it.
    pub overdue: Timestamp,
    /// [`GIVE_UP_GRACE`] later: a call not seen to end by then is given up as unknown at its
    /// next poll (which falls at this instant at the latest), if that poll finds it running;
    /// if the poll fails, once its status has been unreadable for [`GIVE_UP_GRACE`] too (a
    /// run that resumes long after a call was placed must not give it up on one failed poll).
    pub give_up: Timestamp,
}

impl Deadlines {
    pub fn new(placed_at: Timestamp, max_call: Duration) -> Deadlines {
        let overdue = later(placed_at, max_call);
        Deadlines {
            overdue,
            give_up: later(overdue, GIVE_UP_GRACE),
        }
    }

    /// `next`, but never after the give-up instant while that is still to come (`now`): the
    /// call is looked at then.
    pub fn clamp(&self, next: Timestamp, now: Timestamp) -> Timestamp {
        if self.give_up > now {
            next.min(self.give_up)
        } else {
            next
        }
    }
}

/// Why a call past its give-up instant is unknown: its last `status`, or the `error` its last
/// poll met and since when no poll was answered; the text the contact keeps (status, explain,
/// results).
pub fn given_up_reason(
    seen: Result<&str, (&str, Timestamp)>,
    placed_at: Timestamp,
    now: Timestamp,
    max_call: Duration,
) -> String {
    let since = |at: Timestamp| {
        let secs = now.duration_since(at).as_secs().max(0) as u64;
        crate::campaign::duration::format(Duration::from_secs(secs))
    };
    let what = match seen {
        Ok(status) => format!("still {status} {} after it was placed", since(placed_at)),
        Err((error, read_at)) => format!(
            "its status could not be read for {} ({error}), {} after it was placed",
            since(read_at),
            since(placed_at)
        ),
    };
    format!(
        "{what} (limits.max_call_minutes {} + {} grace); not called again unless a run is given \
         --retry-unknown; a later result is still recorded",
        crate::campaign::duration::format(max_call),
        crate::campaign::duration::format(GIVE_UP_GRACE)
    )
}

/// Polls fall on whole ticks of the clock: calls placed a fraction of a second apart are polled
/// together, their answers arrive together, and the runner handles them in one turn instead of
/// one each. Rounding to the nearest tick moves a poll by half a tick at most
/// and adds no delay on average.
pub const POLL_TICK: Duration = Duration::from_secs(1);

/// When to poll next, having just placed (`polls == 0`) or polled a call placed at `placed_at`.
pub fn next_poll(placed_at: Timestamp, now: Timestamp, polls: u32) -> Timestamp {
    if polls == 0 {
        return on_tick(later(placed_at, FIRST_POLL)).max(now);
    }
    let running = now.duration_since(placed_at);
    let every = if running > SignedDuration::try_from(LONG_CALL).unwrap_or(SignedDuration::MAX) {
        POLL_LONG_CALL
    } else {
        POLL_EVERY
    };
    on_tick(later(now, every))
}

/// The tick of [`POLL_TICK`] nearest to `at`.
fn on_tick(at: Timestamp) -> Timestamp {
    let tick = POLL_TICK.as_millis() as i64;
    let ms = at.as_millisecond();
    let rounded = (ms + tick / 2).div_euclid(tick) * tick;
    Timestamp::from_millisecond(rounded).unwrap_or(at)
}

/// How long to leave an ambiguous attempt before looking for its call: long enough that a POST
/// still in flight at the server has been answered or dropped (the client's request timeout).
pub const SETTLE: Duration = Duration::from_secs(35);

/// After a restart, how long (in real time) POSTs of the stopped process are given to reach
/// their end at the server before resolution reads the list of calls. A process killed while
/// its POST was in flight leaves it to the server, which may handle it a little later; the
/// settle time since the attempt's creation covers that at the API's own pace, but in a
/// rehearsal at 1000× it is 35 ms of real time, less than a loaded machine may take to
/// schedule the server. A call created after its attempt was judged "not placed" would be
/// placed twice.
pub const RESTART_SETTLE_REAL: Duration = Duration::from_secs(1);

/// [`RESTART_SETTLE_REAL`] on a clock that runs `scale` real seconds per simulated one
/// (`None`: a manual clock, which has no real time, waits nothing).
pub fn restart_settle(scale: Option<f64>) -> Duration {
    match scale {
        Some(scale) if scale > 0.0 => RESTART_SETTLE_REAL.div_f64(scale),
        _ => Duration::ZERO,
    }
}

/// Clocks of the runner and the API may disagree by this much when matching creation times.
pub const CLOCK_SKEW: Duration = Duration::from_secs(120);

/// What an ambiguous attempt looked like, for matching against the API's list.
#[derive(Debug, Clone)]
pub struct Lost<'a> {
    pub to: &'a str,
    pub objective: &'a str,
    pub created_at: Timestamp,
}

/// Looks for the call a lost POST may have created in the account's recent calls (most recent
/// first, at most `limit`). A match has the same `to` and `objective`, was created no earlier
/// than the attempt (less the clock skew), and is not a call this campaign already knows.
/// Among matches, the earliest is taken: attempts are resolved oldest first.
pub fn find<'r>(
    lost: &Lost<'_>,
    recent: &'r [CallRecord],
    limit: usize,
    known: &HashSet<String>,
) -> (Evidence, Option<&'r CallRecord>) {
    let since =
        lost.created_at - SignedDuration::try_from(CLOCK_SKEW).unwrap_or(SignedDuration::ZERO);
    let found = recent
        .iter()
        .filter(|c| {
            c.to.as_deref() == Some(lost.to) && c.objective.as_deref() == Some(lost.objective)
        })
        .filter(|c| !known.contains(&c.id))
        .filter(|c| c.created_at.is_none_or(|t| t >= since))
        .min_by_key(|c| c.created_at);
    if let Some(call) = found {
        return (Evidence::Found, Some(call));
    }
    // The list holds every call of the account, or its oldest entry predates the attempt.
    let complete = recent.len() < limit;
    let reaches_back = recent
        .iter()
        .filter_map(|c| c.created_at)
        .min()
        .is_some_and(|oldest| oldest < since);
    if complete || reaches_back {
        (Evidence::Absent, None)
    } else {
        (Evidence::Inconclusive, None)
    }
}

fn later(at: Timestamp, by: Duration) -> Timestamp {
    at.checked_add(SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX))
        .unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn call(id: &str, to: &str, objective: &str, created: &str) -> CallRecord {
        CallRecord::from_json(serde_json::json!({
            "id": id, "status": "completed", "to": to, "objective": objective, "createdAt": created,
        }))
        .unwrap()
    }

    #[test]
    fn polling_schedule() {
        let placed = t("2026-12-07T17:00:00Z");
        assert_eq!(next_poll(placed, placed, 0), t("2026-12-07T17:00:30Z"));
        assert_eq!(
            next_poll(placed, t("2026-12-07T17:00:30Z"), 1),
            t("2026-12-07T17:00:45Z")
        );
        assert_eq!(
            next_poll(placed, t("2026-12-07T17:11:00Z"), 30),
            t("2026-12-07T17:12:00Z")
        );
        // Recovered after a long stop: the first poll is not in the past.
        assert_eq!(
            next_poll(placed, t("2026-12-07T18:00:00Z"), 0),
            t("2026-12-07T18:00:00Z")
        );
    }

    #[test]
    fn a_call_is_overdue_after_max_call_minutes_and_given_up_after_the_grace() {
        let placed = t("2026-12-07T17:00:00Z");
        let d = Deadlines::new(placed, Duration::from_secs(600));
        assert_eq!(d.overdue, t("2026-12-07T17:10:00Z"));
        assert_eq!(d.give_up, t("2026-12-07T17:15:00Z"));
        // A poll that would fall after the give-up instant falls on it.
        let now = t("2026-12-07T17:13:00Z");
        assert_eq!(d.clamp(t("2026-12-07T17:15:40Z"), now), d.give_up);
        assert_eq!(
            d.clamp(t("2026-12-07T17:14:00Z"), now),
            t("2026-12-07T17:14:00Z")
        );
        // Past it (a poll that failed), the next poll is not pulled back into the past.
        let late = t("2026-12-07T17:20:00Z");
        assert_eq!(
            d.clamp(t("2026-12-07T17:20:30Z"), late),
            t("2026-12-07T17:20:30Z")
        );
    }

    #[test]
    fn a_given_up_call_says_what_was_seen_and_how_long_it_ran() {
        let placed = t("2026-12-07T17:00:00Z");
        let now = t("2026-12-07T17:15:20Z");
        let ten = Duration::from_secs(600);
        assert_eq!(
            given_up_reason(Ok("in_progress"), placed, now, ten),
            "still in_progress 15m20s after it was placed (limits.max_call_minutes 10m + 5m \
             grace); not called again unless a run is given --retry-unknown; a later result is \
             still recorded"
        );
        let read_at = t("2026-12-07T17:10:00Z");
        assert!(
            given_up_reason(Err(("503 store_error", read_at)), placed, now, ten).starts_with(
                "its status could not be read for 5m20s (503 store_error), 15m20s after it was \
                 placed (limits"
            )
        );
    }

    #[test]
    fn polls_fall_on_the_nearest_whole_second() {
        let placed = t("2026-12-07T17:00:00.4Z");
        assert_eq!(next_poll(placed, placed, 0), t("2026-12-07T17:00:30Z"));
        let placed = t("2026-12-07T17:00:00.6Z");
        assert_eq!(next_poll(placed, placed, 0), t("2026-12-07T17:00:31Z"));
        // Answers that come back at different instants are polled again together.
        assert_eq!(
            next_poll(placed, t("2026-12-07T17:00:31.2Z"), 1),
            t("2026-12-07T17:00:46Z")
        );
        assert_eq!(
            next_poll(placed, t("2026-12-07T17:00:30.9Z"), 1),
            t("2026-12-07T17:00:46Z")
        );
        // Before 1970 too.
        let old = t("1969-12-31T23:59:58.7Z");
        assert_eq!(next_poll(old, old, 0), t("1970-01-01T00:00:29Z"));
    }

    #[test]
    fn after_a_restart_settling_takes_a_real_second() {
        assert_eq!(restart_settle(None), Duration::ZERO);
        assert_eq!(restart_settle(Some(1.0)), Duration::from_secs(1));
        // 1000x: one real second is 1000 simulated ones.
        assert_eq!(restart_settle(Some(0.001)), Duration::from_secs(1000));
    }

    #[test]
    fn a_lost_call_is_found_by_number_objective_and_time() {
        let lost = Lost {
            to: "+14155550101",
            objective: "Confirm",
            created_at: t("2026-12-07T17:00:00Z"),
        };
        let recent = vec![
            call("c3", "+14155550101", "Confirm", "2026-12-07T17:00:01Z"),
            call(
                "c2",
                "+14155550101",
                "Other objective",
                "2026-12-07T17:00:01Z",
            ),
            call("c1", "+14155550101", "Confirm", "2026-12-07T16:00:00Z"),
        ];
        let known = HashSet::new();
        let (evidence, found) = find(&lost, &recent, 100, &known);
        assert_eq!(evidence, Evidence::Found);
        assert_eq!(found.map(|c| c.id.as_str()), Some("c3"));
        // Already adopted by another attempt: not this one's call; the list reaches back, so absent.
        let known: HashSet<String> = ["c3".to_owned()].into();
        assert_eq!(find(&lost, &recent, 100, &known).0, Evidence::Absent);
    }

    #[test]
    fn absence_needs_a_list_that_reaches_back() {
        let lost = Lost {
            to: "+14155550101",
            objective: "Confirm",
            created_at: t("2026-12-07T17:00:00Z"),
        };
        let others: Vec<CallRecord> = (0..3)
            .map(|i| {
                call(
                    &format!("x{i}"),
                    "+12125550100",
                    "Other",
                    "2026-12-07T17:05:00Z",
                )
            })
            .collect();
        // A full page of newer calls: the lost one could be older than the page.
        assert_eq!(
            find(&lost, &others, 3, &HashSet::new()).0,
            Evidence::Inconclusive
        );
        // Fewer calls than the limit: that is every call there is.
        assert_eq!(
            find(&lost, &others, 100, &HashSet::new()).0,
            Evidence::Absent
        );
        // A full page whose oldest call predates the attempt.
        let mut reaching = others;
        reaching.push(call("old", "+12125550100", "Other", "2026-12-07T10:00:00Z"));
        assert_eq!(
            find(&lost, &reaching, 4, &HashSet::new()).0,
            Evidence::Absent
        );
    }
}
