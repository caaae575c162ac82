//! When to poll a call, and when to give it up. Pure functions.
//!
//! Polling knows calls take minutes: the first poll waits until a call could plausibly have
//! ended (an unanswered call rings for half a minute), then polls every 15 s, which keeps the
//! delay from a call's end to its result under ~8 s on average while costing a fraction of the
//! SDK's 3-second loop. Calls still running after 10 minutes are polled once a minute.
//!
//! Every call is followed for a bounded time (see [`Deadlines`]): one that has not ended
//! [`GIVE_UP_GRACE`] past `limits.max_call_minutes` is given up as unknown, so that a stuck call
//! (a lost hang-up, a carrier fault) or a status that cannot be read never keeps a run going.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

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
}
