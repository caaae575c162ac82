//! Calling windows: given an instant, a contact's zone and the campaign's [`Schedule`], may a
//! call start now, and if not, when next? Pure functions; the runner asks before each placement.
//!
//! A window `{ days, from, to }` is a span of local wall-clock time on each listed day, computed
//! in the contact's own zone (its [`zone`]) with the tz database, so a 09:00 window opens at
//! 09:00 local on both sides of a daylight-saving change. Invariants of what [`gate`] answers:
//! - a call may start only while the local clock reads inside a window, and no later than
//!   `last_call_before_end` before the window closes;
//! - windows that touch or overlap (e.g. `09:00–12:00` and `12:00–18:00`, or one ending at 23:59
//!   and the next day's starting at 00:00) are one span: the margin applies only at its real end;
//! - the daylight-saving edges are resolved conservatively, so no call starts at a local time
//!   outside the window: a bound that falls in the hour skipped in spring is the instant the
//!   clocks jump; an opening that falls in the hour repeated in autumn is its second occurrence,
//!   a closing its first (a window lying wholly inside the repeated hour is skipped that day);
//! - `not_before` and `not_after` bound the whole campaign: nothing starts before the first or at
//!   or after the second, whatever the windows say.

pub mod deadline;
pub mod numbers;
pub mod zone;

use std::time::Duration;

use jiff::civil::{DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use crate::campaign::Schedule;

/// Why a pending contact is not called yet: the `contacts.wait` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Its calling window is closed.
    Window,
    /// The campaign has not started (`schedule.not_before`), or is over for it
    /// (`schedule.not_after` comes before its next window).
    Campaign,
}

impl Wait {
    pub fn as_str(self) -> &'static str {
        match self {
            Wait::Window => "window",
            Wait::Campaign => "campaign",
        }
    }
}

/// Whether a call to a contact may start at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// A call may start now, and until `until` (exclusive).
    Open { until: Timestamp },
    /// Closed now; calls may start from `at`, which is later than now.
    Closed { at: Timestamp, wait: Wait },
    /// No call may start before `schedule.not_after`: the contact's next window opens after it.
    /// (After `not_after` itself, see [`campaign_over`].)
    Never,
}

/// How far ahead [`gate`] looks for the next window: two weeks covers a weekly window that the
/// daylight-saving rule above skips once.
const HORIZON_DAYS: i64 = 15;

/// Whether `schedule.not_after` has passed at `now`: no call may start any more.
pub fn campaign_over(schedule: &Schedule, now: Timestamp) -> bool {
    schedule.not_after.is_some_and(|end| now >= end)
}

/// Whether a call to a contact in `zone` may start at `now`, and if not, when it may.
pub fn gate(schedule: &Schedule, zone: &TimeZone, now: Timestamp) -> Gate {
    if campaign_over(schedule, now) {
        return Gate::Never;
    }
    let early = schedule.not_before.filter(|start| now < *start);
    let from = early.unwrap_or(now);
    let found = spans(schedule, zone, from).find_map(|(open, callable_until)| {
        (callable_until > from).then_some((open.max(from), callable_until))
    });
    let Some((at, until)) = found else {
        // No window opens within the horizon (a window shorter than `last_call_before_end`
        // never does): look again then, rather than never.
        return match schedule.not_after {
            Some(_) => Gate::Never,
            None => Gate::Closed {
                at: from
                    .checked_add(SignedDuration::from_hours(24 * HORIZON_DAYS))
                    .unwrap_or(Timestamp::MAX),
                wait: Wait::Window,
            },
        };
    };
    if schedule.not_after.is_some_and(|end| at >= end) {
        return Gate::Never;
    }
    match early {
        Some(_) => Gate::Closed {
            at,
            wait: Wait::Campaign,
        },
        None if at <= now => Gate::Open {
            until: schedule.not_after.map_or(until, |end| until.min(end)),
        },
        None => Gate::Closed {
            at,
            wait: Wait::Window,
        },
    }
}

/// The callable spans `[open, open_until)` around and after `from`, in order: windows merged
/// where they touch, each shortened by `last_call_before_end`, empty ones dropped.
fn spans(
    schedule: &Schedule,
    zone: &TimeZone,
    from: Timestamp,
) -> impl Iterator<Item = (Timestamp, Timestamp)> {
    let today = zone.to_datetime(from).date();
    let mut raw: Vec<(Timestamp, Timestamp)> = Vec::new();
    for offset in -1..HORIZON_DAYS {
        let Ok(date) = today.checked_add(jiff::Span::new().days(offset)) else {
            continue;
        };
        for window in &schedule.windows {
            if !window.days.contains(&date.weekday()) {
                continue;
            }
            let open = opening(zone, date.to_datetime(window.from));
            // `to: "24:00"` (Time::MAX) ends at the next midnight, so it joins a window that
            // starts at 00:00 the next day.
            let end = match (window.to == Time::MAX, date.tomorrow()) {
                (true, Ok(next)) => next.to_datetime(Time::midnight()),
                _ => date.to_datetime(window.to),
            };
            let close = closing(zone, end);
            if open < close {
                raw.push((open, close));
            }
        }
    }
    raw.sort();
    let mut merged: Vec<(Timestamp, Timestamp)> = Vec::new();
    for (open, close) in raw {
        match merged.last_mut() {
            Some(last) if open <= last.1 => last.1 = last.1.max(close),
            _ => merged.push((open, close)),
        }
    }
    let margin = signed(schedule.last_call_before_end);
    merged.into_iter().filter_map(move |(open, close)| {
        let until = close.checked_sub(margin).ok()?;
        (until > open).then_some((open, until))
    })
}

/// The first instant at which the local clock reads `at` or later, and keeps reading so.
fn opening(zone: &TimeZone, at: DateTime) -> Timestamp {
    match zone.to_ambiguous_timestamp(at).offset() {
        AmbiguousOffset::Unambiguous { offset } | AmbiguousOffset::Fold { after: offset, .. } => {
            instant(at, offset)
        }
        AmbiguousOffset::Gap { after, .. } => jump(zone, at, after),
    }
}

/// The first instant at which the local clock reads `at` (or later).
fn closing(zone: &TimeZone, at: DateTime) -> Timestamp {
    match zone.to_ambiguous_timestamp(at).offset() {
        AmbiguousOffset::Unambiguous { offset } | AmbiguousOffset::Fold { before: offset, .. } => {
            instant(at, offset)
        }
        AmbiguousOffset::Gap { after, .. } => jump(zone, at, after),
    }
}

fn instant(at: DateTime, offset: jiff::tz::Offset) -> Timestamp {
    offset.to_timestamp(at).unwrap_or(if offset.seconds() < 0 {
        Timestamp::MAX
    } else {
        Timestamp::MIN
    })
}

/// The instant the clocks jump over `at` (a local time in a spring-forward gap): the first
/// transition after the instant `at` would be with the offset in force after the gap, which lies
/// before the jump by up to the gap's length (never at it, so "after" cannot miss it).
fn jump(zone: &TimeZone, at: DateTime, after: jiff::tz::Offset) -> Timestamp {
    let early = instant(at, after);
    zone.following(early)
        .next()
        .map_or(early, |transition| transition.timestamp())
}

fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

#[cfg(test)]
mod tests {
    use jiff::civil::Weekday;

    use super::*;
    use crate::campaign::Window;

    const WEEKDAYS: [Weekday; 5] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
    ];
    const EVERY_DAY: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    fn tz(name: &str) -> TimeZone {
        jiff::tz::db().get(name).unwrap()
    }

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn window(days: &[Weekday], from: &str, to: &str) -> Window {
        Window {
            days: days.to_vec(),
            from: from.parse::<Time>().unwrap(),
            to: if to == "24:00" {
                Time::MAX
            } else {
                to.parse::<Time>().unwrap()
            },
        }
    }

    fn schedule(windows: Vec<Window>, margin_min: u64) -> Schedule {
        Schedule {
            timezone: tz("America/New_York"),
            timezone_name: "America/New_York".into(),
            windows,
            last_call_before_end: Duration::from_secs(margin_min * 60),
            not_before: None,
            not_after: None,
            stop_before: crate::campaign::StopBefore::DayBefore,
            require_known_timezone: false,
        }
    }

    fn office() -> Schedule {
        schedule(vec![window(&WEEKDAYS, "09:00", "18:00")], 10)
    }

    fn open(until: &str) -> Gate {
        Gate::Open { until: t(until) }
    }

    fn closed(at: &str) -> Gate {
        Gate::Closed {
            at: t(at),
            wait: Wait::Window,
        }
    }

    #[test]
    fn open_inside_the_window_until_the_last_call_margin() {
        let s = office();
        let ny = tz("America/New_York");
        // Monday 2026-12-07, EST (UTC-5): the window is 14:00Z–23:00Z, last start 22:50Z.
        assert_eq!(
            gate(&s, &ny, t("2026-12-07T14:00:00Z")),
            open("2026-12-07T22:50:00Z")
        );
        assert_eq!(
            gate(&s, &ny, t("2026-12-07T22:49:59Z")),
            open("2026-12-07T22:50:00Z")
        );
        assert_eq!(
            gate(&s, &ny, t("2026-12-07T22:50:00Z")),
            closed("2026-12-08T14:00:00Z")
        );
        assert_eq!(
            gate(&s, &ny, t("2026-12-07T13:59:59Z")),
            closed("2026-12-07T14:00:00Z")
        );
    }

    #[test]
    fn closed_at_night_and_over_the_weekend() {
        let s = office();
        let ny = tz("America/New_York");
        // Friday 2026-12-11 at 20:00 local → Monday 09:00 local.
        assert_eq!(
            gate(&s, &ny, t("2026-12-12T01:00:00Z")),
            closed("2026-12-14T14:00:00Z")
        );
        // Saturday noon → Monday.
        assert_eq!(
            gate(&s, &ny, t("2026-12-12T17:00:00Z")),
            closed("2026-12-14T14:00:00Z")
        );
    }

    #[test]
    fn the_same_instant_is_open_in_one_zone_and_closed_in_another() {
        let s = office();
        // Monday 2026-12-07 15:00Z: 10:00 in New York, 07:00 in Los Angeles, 15:00 in London,
        // 02:00 Tuesday in Sydney (AEDT, UTC+11), 17:00 in Jerusalem.
        let now = t("2026-12-07T15:00:00Z");
        assert_eq!(
            gate(&s, &tz("America/New_York"), now),
            open("2026-12-07T22:50:00Z")
        );
        assert_eq!(
            gate(&s, &tz("America/Los_Angeles"), now),
            closed("2026-12-07T17:00:00Z")
        );
        assert_eq!(
            gate(&s, &tz("Europe/London"), now),
            open("2026-12-07T17:50:00Z")
        );
        assert_eq!(
            gate(&s, &tz("Australia/Sydney"), now),
            closed("2026-12-07T22:00:00Z")
        );
        assert_eq!(
            gate(&s, &tz("Asia/Jerusalem"), now),
            open("2026-12-07T15:50:00Z")
        );
        // Phoenix keeps UTC-7 all year; Kolkata is UTC+5:30.
        assert_eq!(
            gate(&s, &tz("America/Phoenix"), now),
            closed("2026-12-07T16:00:00Z")
        );
        assert_eq!(
            gate(&s, &tz("Asia/Kolkata"), now),
            closed("2026-12-08T03:30:00Z")
        );
    }

    #[test]
    fn windows_follow_the_local_clock_across_spring_forward() {
        // US clocks jump from 02:00 EST to 03:00 EDT on Sunday 2027-03-14.
        let s = schedule(vec![window(&EVERY_DAY, "09:00", "17:00")], 0);
        let ny = tz("America/New_York");
        // Saturday: 09:00 EST = 14:00Z. Sunday and Monday: 09:00 EDT = 13:00Z.
        assert_eq!(
            gate(&s, &ny, t("2027-03-13T12:00:00Z")),
            closed("2027-03-13T14:00:00Z")
        );
        assert_eq!(
            gate(&s, &ny, t("2027-03-13T22:00:00Z")),
            closed("2027-03-14T13:00:00Z")
        );
        assert_eq!(
            gate(&s, &ny, t("2027-03-14T13:00:00Z")),
            open("2027-03-14T21:00:00Z")
        );
        assert_eq!(
            gate(&s, &ny, t("2027-03-14T21:30:00Z")),
            closed("2027-03-15T13:00:00Z")
        );
    }

    #[test]
    fn windows_follow_the_local_clock_across_fall_back() {
        // US clocks go back from 02:00 EDT to 01:00 EST on Sunday 2026-11-01.
        let s = schedule(vec![window(&EVERY_DAY, "09:00", "17:00")], 0);
        let ny = tz("America/New_York");
        assert_eq!(
            gate(&s, &ny, t("2026-10-31T20:59:00Z")),
            open("2026-10-31T21:00:00Z")
        );
        assert_eq!(
            gate(&s, &ny, t("2026-10-31T21:00:00Z")),
            closed("2026-11-01T14:00:00Z")
        );
        assert_eq!(
            gate(&s, &ny, t("2026-11-01T14:00:00Z")),
            open("2026-11-01T22:00:00Z")
        );
        // In Europe the change is a week earlier, on 2026-10-25, at 01:00Z.
        let london = tz("Europe/London");
        assert_eq!(
            gate(&s, &london, t("2026-10-24T09:00:00Z")),
            open("2026-10-24T16:00:00Z")
        );
        assert_eq!(
            gate(&s, &london, t("2026-10-24T17:00:00Z")),
            closed("2026-10-25T09:00:00Z")
        );
    }

    #[test]
    fn a_bound_in_the_skipped_hour_is_the_instant_the_clocks_jump() {
        // A night window 01:30–02:30 on the spring-forward Sunday: local 02:00–03:00 never
        // happens, so the window closes when the clocks jump (07:00Z); a window 02:15–04:00
        // opens then. Neither starts a call at a local time outside it.
        let ny = tz("America/New_York");
        let s = schedule(vec![window(&EVERY_DAY, "01:30", "02:30")], 0);
        assert_eq!(
            gate(&s, &ny, t("2027-03-14T06:30:00Z")),
            open("2027-03-14T07:00:00Z")
        );
        assert_eq!(
            gate(&s, &ny, t("2027-03-14T07:00:00Z")),
            closed("2027-03-15T05:30:00Z")
        );
        let s = schedule(vec![window(&EVERY_DAY, "02:15", "04:00")], 0);
        assert_eq!(
            gate(&s, &ny, t("2027-03-14T06:30:00Z")),
            closed("2027-03-14T07:00:00Z")
        );
        assert_eq!(
            gate(&s, &ny, t("2027-03-14T07:00:00Z")),
            open("2027-03-14T08:00:00Z")
        );
    }

    #[test]
    fn a_window_opening_at_midnight_on_a_day_that_skips_midnight() {
        // Chile moves from UTC−4 to UTC−3 at 00:00 on Sunday 2026-09-06: that day has no
        // 00:00–00:59. A 00:00–02:00 window opens when the clocks jump, at 01:00 local (04:00Z),
        // and closes at 02:00 local (05:00Z); the day before it ran 04:00Z–06:00Z.
        let santiago = tz("America/Santiago");
        let s = schedule(vec![window(&EVERY_DAY, "00:00", "02:00")], 0);
        assert_eq!(
            gate(&s, &santiago, t("2026-09-05T04:30:00Z")),
            open("2026-09-05T06:00:00Z")
        );
        assert_eq!(
            gate(&s, &santiago, t("2026-09-05T12:00:00Z")),
            closed("2026-09-06T04:00:00Z")
        );
        assert_eq!(
            gate(&s, &santiago, t("2026-09-06T04:00:00Z")),
            open("2026-09-06T05:00:00Z")
        );
    }

    #[test]
    fn a_window_ending_at_midnight_on_a_day_that_repeats_its_last_hour() {
        // Chile moves from UTC−3 back to UTC−4 at 00:00 on Sunday 2026-04-05: Saturday's
        // 23:00–23:59 happens twice. A 22:00–24:00 window runs three hours that night, from
        // 22:00 (−3, 01:00Z) to midnight (−4, 04:00Z); a 23:30–24:00 window opens at the second
        // 23:30 (03:30Z), since after the first the clock reads 23:00 again.
        let santiago = tz("America/Santiago");
        let s = schedule(vec![window(&[Weekday::Saturday], "22:00", "24:00")], 0);
        assert_eq!(
            gate(&s, &santiago, t("2026-04-05T00:30:00Z")),
            closed("2026-04-05T01:00:00Z")
        );
        assert_eq!(
            gate(&s, &santiago, t("2026-04-05T03:30:00Z")),
            open("2026-04-05T04:00:00Z")
        );
        let s = schedule(vec![window(&[Weekday::Saturday], "23:30", "24:00")], 0);
        assert_eq!(
            gate(&s, &santiago, t("2026-04-05T02:40:00Z")),
            closed("2026-04-05T03:30:00Z")
        );
        assert_eq!(
            gate(&s, &santiago, t("2026-04-05T03:30:00Z")),
            open("2026-04-05T04:00:00Z")
        );
    }

    #[test]
    fn bounds_in_the_repeated_hour_keep_calls_inside_the_window() {
        let ny = tz("America/New_York");
        // 00:30–01:30 on the fall-back Sunday closes at the first 01:30 (EDT, 05:30Z): the
        // second pass through 01:00–01:30 is not reopened.
        let s = schedule(vec![window(&EVERY_DAY, "00:30", "01:30")], 0);
        assert_eq!(
            gate(&s, &ny, t("2026-11-01T04:30:00Z")),
            open("2026-11-01T05:30:00Z")
        );
        assert_eq!(
            gate(&s, &ny, t("2026-11-01T05:30:00Z")),
            closed("2026-11-02T05:30:00Z")
        );
        // 01:30–03:00 opens at the second 01:30 (EST, 06:30Z): at the first one the clock would
        // read 01:00 again half an hour later.
        let s = schedule(vec![window(&EVERY_DAY, "01:30", "03:00")], 0);
        assert_eq!(
            gate(&s, &ny, t("2026-11-01T05:30:00Z")),
            closed("2026-11-01T06:30:00Z")
        );
        assert_eq!(
            gate(&s, &ny, t("2026-11-01T06:30:00Z")),
            open("2026-11-01T08:00:00Z")
        );
    }

    #[test]
    fn touching_windows_are_one_span_and_the_margin_applies_at_its_end() {
        let ny = tz("America/New_York");
        let s = schedule(
            vec![
                window(&WEEKDAYS, "09:00", "12:00"),
                window(&WEEKDAYS, "12:00", "18:00"),
                window(&WEEKDAYS, "17:00", "19:00"),
            ],
            10,
        );
        // Monday 11:55 local: the span runs to 19:00, last start 18:50 (23:50Z).
        assert_eq!(
            gate(&s, &ny, t("2026-12-07T16:55:00Z")),
            open("2026-12-07T23:50:00Z")
        );
        // Separate windows with a gap each keep their own margin.
        let s = schedule(
            vec![
                window(&WEEKDAYS, "09:00", "12:00"),
                window(&WEEKDAYS, "13:00", "17:00"),
            ],
            10,
        );
        assert_eq!(
            gate(&s, &ny, t("2026-12-07T16:49:00Z")),
            open("2026-12-07T16:50:00Z")
        );
        assert_eq!(
            gate(&s, &ny, t("2026-12-07T16:50:00Z")),
            closed("2026-12-07T18:00:00Z")
        );
    }

    #[test]
    fn windows_on_either_side_of_midnight_join() {
        // Split as the campaign check asks: 20:00–24:00 and 00:00–02:00 make one night span,
        // and the margin applies at 02:00 only.
        let s = schedule(
            vec![
                window(&EVERY_DAY, "20:00", "24:00"),
                window(&EVERY_DAY, "00:00", "02:00"),
            ],
            10,
        );
        let utc = tz("UTC");
        assert_eq!(
            gate(&s, &utc, t("2026-12-07T23:59:30Z")),
            open("2026-12-08T01:50:00Z")
        );
        assert_eq!(
            gate(&s, &utc, t("2026-12-08T01:50:00Z")),
            closed("2026-12-08T20:00:00Z")
        );
        // A window ending at 23:59 leaves a minute's hole before midnight.
        let s = schedule(
            vec![
                window(&EVERY_DAY, "20:00", "23:59"),
                window(&EVERY_DAY, "00:00", "02:00"),
            ],
            0,
        );
        assert_eq!(
            gate(&s, &utc, t("2026-12-07T23:59:30Z")),
            closed("2026-12-08T00:00:00Z")
        );
    }

    #[test]
    fn a_window_shorter_than_the_margin_never_opens() {
        let s = schedule(
            vec![
                window(&[Weekday::Monday], "09:00", "09:05"),
                window(&[Weekday::Tuesday], "09:00", "18:00"),
            ],
            10,
        );
        let utc = tz("UTC");
        assert_eq!(
            gate(&s, &utc, t("2026-12-07T08:00:00Z")),
            closed("2026-12-08T09:00:00Z")
        );
    }

    #[test]
    fn not_before_holds_the_campaign_back_and_not_after_ends_it() {
        let ny = tz("America/New_York");
        let mut s = office();
        s.not_before = Some(t("2026-12-09T15:30:00Z")); // Wednesday 10:30 local
        s.not_after = Some(t("2026-12-10T20:00:00Z")); // Thursday 15:00 local
        let campaign = |at: &str| Gate::Closed {
            at: t(at),
            wait: Wait::Campaign,
        };
        // Monday, window open: held back until Wednesday 10:30, inside the window.
        assert_eq!(
            gate(&s, &ny, t("2026-12-07T15:00:00Z")),
            campaign("2026-12-09T15:30:00Z")
        );
        // Tuesday night: still the campaign that waits, until it starts.
        assert_eq!(
            gate(&s, &ny, t("2026-12-09T03:00:00Z")),
            campaign("2026-12-09T15:30:00Z")
        );
        assert_eq!(
            gate(&s, &ny, t("2026-12-09T15:30:00Z")),
            open("2026-12-09T22:50:00Z")
        );
        // Thursday: the window would run to 17:50, the campaign stops at 15:00.
        assert_eq!(
            gate(&s, &ny, t("2026-12-10T15:00:00Z")),
            open("2026-12-10T20:00:00Z")
        );
        assert!(!campaign_over(&s, t("2026-12-10T19:59:59Z")));
        assert!(campaign_over(&s, t("2026-12-10T20:00:00Z")));
        assert_eq!(gate(&s, &ny, t("2026-12-10T20:00:00Z")), Gate::Never);
        // Wednesday night: the next window (Thursday 09:00 = 14:00Z) is before the end.
        assert_eq!(
            gate(&s, &ny, t("2026-12-10T02:00:00Z")),
            closed("2026-12-10T14:00:00Z")
        );
        // In Sydney the next window after Thursday 15:00 New York time opens after the end.
        let sydney = tz("Australia/Sydney");
        assert_eq!(gate(&s, &sydney, t("2026-12-10T12:00:00Z")), Gate::Never);
    }

    #[test]
    fn a_not_before_at_night_waits_for_the_window_after_it() {
        let ny = tz("America/New_York");
        let mut s = office();
        s.not_before = Some(t("2026-12-09T01:00:00Z")); // Tuesday 20:00 local
        assert_eq!(
            gate(&s, &ny, t("2026-12-07T15:00:00Z")),
            Gate::Closed {
                at: t("2026-12-09T14:00:00Z"),
                wait: Wait::Campaign
            }
        );
    }
}
