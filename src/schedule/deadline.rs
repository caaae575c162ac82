//! A row's deadline and its cutoff: `input.deadline_column` holds when the row stops making
//! sense to call (an appointment's time), in the row's own zone; `schedule.stop_before` says
//! how long before it calls stop. No call, first or retry, is placed at or after the cutoff
//! (see [`crate::state::after_deadline`]). Pure.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::campaign::StopBefore;

/// The instant in a deadline cell, read in `zone` when it has no offset of its own:
/// `2026-12-04 09:00`, `2026-12-04T09:00:00`, `2026-12-04` (the start of that day), or RFC 3339
/// (`2026-12-04T09:00:00Z`, `…+01:00`).
pub fn parse(text: &str, zone: &TimeZone) -> Option<Timestamp> {
    crate::zones::parse_instant(text.trim(), zone)
}

/// When calls stop for a row whose deadline is `deadline`, in `zone`.
pub fn cutoff(deadline: Timestamp, stop: StopBefore, zone: &TimeZone) -> Timestamp {
    match stop {
        StopBefore::Ahead(ahead) => {
            let ahead = jiff::SignedDuration::try_from(ahead).unwrap_or(jiff::SignedDuration::MAX);
            deadline.checked_sub(ahead).unwrap_or(Timestamp::MIN)
        }
        StopBefore::DayBefore => deadline
            .to_zoned_datetime(zone.clone())
            .start_of_day()
            .map_or(deadline, |start| start.timestamp()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn london() -> TimeZone {
        jiff::tz::db().get("Europe/London").unwrap()
    }

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn deadlines_read_in_the_rows_zone() {
        let z = london();
        // Summer: London is UTC+1.
        assert_eq!(
            parse("2026-07-04 09:00", &z),
            Some(t("2026-07-04T08:00:00Z"))
        );
        assert_eq!(
            parse("2026-07-04T09:00:30", &z),
            Some(t("2026-07-04T08:00:30Z"))
        );
        assert_eq!(parse(" 2026-12-04 ", &z), Some(t("2026-12-04T00:00:00Z")));
        assert_eq!(
            parse("2026-12-04T09:00:00-05:00", &z),
            Some(t("2026-12-04T14:00:00Z"))
        );
        for bad in ["", "tomorrow", "04/12/2026", "2026-13-01", "9:00"] {
            assert_eq!(parse(bad, &z), None, "{bad:?}");
        }
    }

    #[test]
    fn cutoffs() {
        let z = london();
        let appointment = t("2026-12-04T09:00:00Z");
        assert_eq!(
            cutoff(
                appointment,
                StopBefore::Ahead(Duration::from_secs(12 * 3600)),
                &z
            ),
            t("2026-12-03T21:00:00Z")
        );
        assert_eq!(
            cutoff(appointment, StopBefore::Ahead(Duration::ZERO), &z),
            appointment
        );
        assert_eq!(
            cutoff(appointment, StopBefore::DayBefore, &z),
            t("2026-12-04T00:00:00Z")
        );
        // The day in the row's zone: 00:30 on the 4th in London is still the 4th.
        let summer = t("2026-07-03T23:30:00Z");
        assert_eq!(
            cutoff(summer, StopBefore::DayBefore, &z),
            t("2026-07-03T23:00:00Z")
        );
        assert_eq!(StopBefore::DayBefore.describe(), "day_before");
        assert_eq!(
            StopBefore::Ahead(Duration::from_secs(43200)).describe(),
            "12h"
        );
    }
}
