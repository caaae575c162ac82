//! When a campaign may be finished: an estimate from what the state file knows (contacts due
//! now and when the others fall due), the limits (placements per minute, calls in flight), the
//! mean time a call takes, and the retry policy.
//!
//! Two bounds: `earliest`, if every call from now on settles its contact (one call each), and
//! `latest`, if every one goes unanswered and is retried until its attempts run out. Calling
//! windows count only as far as each contact's next due time says; the windows after that are
//! not modelled, and a `limits.max_calls` cap may stop the campaign first (`capped`). Daily caps
//! (`limits.max_calls_per_day`, `max_minutes_per_day`) push the calls today has no room for to
//! the following days (`daily_capped`).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::api::Outcome;
use crate::campaign::{Limits, RetryPolicy};

/// Assumed time a call takes, from placement to result, before any has ended.
pub const DEFAULT_CALL: Duration = Duration::from_secs(3 * 60);

/// What the estimate is made from.
#[derive(Debug, Clone)]
pub struct EtaInput<'a> {
    pub now: Timestamp,
    /// Contacts that may be called now.
    pub due_now: u64,
    /// Contacts due later: `(first due, last due, how many)` per group.
    pub later: Vec<(Timestamp, Timestamp, u64)>,
    /// Calls in flight now.
    pub in_flight: u64,
    /// Calls placed so far by the contacts still to call (they count against their attempts).
    pub calls_made: u64,
    /// Mean seconds a call takes from placement to result (`None`: [`DEFAULT_CALL`]).
    pub mean_call_secs: Option<u64>,
    pub limits: &'a Limits,
    pub retry: &'a RetryPolicy,
    /// Calls placed for the whole campaign so far, for `limits.max_calls`.
    pub calls_placed: u64,
    /// With a daily cap: what today spent, and the zone whose days the caps count.
    pub daily: Option<DailyInput>,
}

/// What today spent against `limits.max_calls_per_day` / `max_minutes_per_day`.
#[derive(Debug, Clone)]
pub struct DailyInput {
    pub zone: jiff::tz::TimeZone,
    pub calls: u64,
    /// Seconds of today's finished calls.
    pub secs: u64,
}

/// How far the daily caps push the estimate: the calls a day allows (of the mean length), and
/// the days after today each bound needs (0: today suffices).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DailyCapped {
    pub calls_per_day: u64,
    pub more_days_min: u64,
    pub more_days_max: u64,
}

/// The estimate (see the module header).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Eta {
    /// Calls still to place if every one settles its contact, and if every one is retried until
    /// its attempts run out.
    pub calls_min: u64,
    pub calls_max: u64,
    pub earliest: Timestamp,
    pub latest: Timestamp,
    /// Whether `limits.max_calls` would stop the campaign before `calls_max` calls.
    pub capped: bool,
    /// The placements per minute the estimate assumes (the pacing, or fewer when calls in
    /// flight are the bottleneck).
    pub calls_per_minute: f64,
    /// Set when a daily cap leaves calls for later days; `earliest` and `latest` then fall on
    /// those days (windows aside: a day's calls are assumed to start at its midnight).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_capped: Option<DailyCapped>,
}

fn after(at: Timestamp, secs: f64) -> Timestamp {
    let d = SignedDuration::try_from(Duration::from_secs_f64(secs.max(0.0)))
        .unwrap_or(SignedDuration::MAX);
    at.checked_add(d).unwrap_or(Timestamp::MAX)
}

/// The estimate; `None` when nothing is left to call or in flight.
pub fn estimate(input: &EtaInput<'_>) -> Option<Eta> {
    let later: u64 = input.later.iter().map(|&(_, _, n)| n).sum();
    let pending = input.due_now + later;
    if pending == 0 && input.in_flight == 0 {
        return None;
    }
    let call_secs = input
        .mean_call_secs
        .map_or(DEFAULT_CALL.as_secs_f64(), |s| s.max(1) as f64);
    // Placements per second: the pacing, or the calls in flight allowed divided by how long each
    // one takes, whichever is lower.
    let paced = f64::from(input.limits.calls_per_minute.get()) / 60.0;
    let concurrent = f64::from(input.limits.max_concurrent.get()) / call_secs;
    let rate = paced.min(concurrent);

    // First round: contacts placed in order of their due time, at `rate`.
    let mut groups = input.later.clone();
    groups.sort();
    let mut t = input.now;
    t = after(t, input.due_now as f64 / rate);
    for (first, last, n) in groups {
        t = after(t.max(first), n as f64 / rate).max(last);
    }
    let first_round = t;
    let earliest = after(first_round, call_secs);

    // Worst case: the retry rule that takes longest adds its calls and delays to every contact.
    let (attempts, delay) = Outcome::ALL
        .iter()
        .filter_map(|o| input.retry.for_outcome(*o))
        .map(|r| (u64::from(r.attempts.get()), r.after))
        .max_by_key(|&(attempts, delay)| (attempts.saturating_sub(1)) * delay.as_secs())
        .unwrap_or((1, Duration::ZERO));
    let calls_max = (pending * attempts)
        .saturating_sub(input.calls_made)
        .max(pending);
    let rounds = attempts.saturating_sub(1) as f64;
    let by_delay = after(
        first_round,
        rounds * (delay.as_secs_f64() + call_secs) + call_secs,
    );
    let by_rate = after(input.now, calls_max as f64 / rate + call_secs);
    let latest = by_delay.max(by_rate);
    let capped = input
        .limits
        .max_calls
        .is_some_and(|cap| input.calls_placed + calls_max > cap.get());
    let mut eta = Eta {
        calls_min: pending,
        calls_max,
        earliest,
        latest,
        capped,
        calls_per_minute: (rate * 60.0 * 10.0).round() / 10.0,
        daily_capped: None,
    };
    if let Some(daily) = &input.daily {
        spread_over_days(&mut eta, input, daily, rate, call_secs);
    }
    Some(eta)
}

/// Pushes `eta`'s bounds to the days the daily caps force: today takes what is left of its
/// caps, each later day the calls a day allows, at `rate` from the day's start.
fn spread_over_days(
    eta: &mut Eta,
    input: &EtaInput<'_>,
    daily: &DailyInput,
    rate: f64,
    call_secs: f64,
) {
    let limits = input.limits;
    let by_minutes = |minutes: u64, spent_secs: u64| {
        ((minutes * 60).saturating_sub(spent_secs) as f64 / call_secs) as u64
    };
    let per_day = [
        limits.max_calls_per_day.map(|c| c.get()),
        limits.max_minutes_per_day.map(|m| by_minutes(m.get(), 0)),
    ]
    .into_iter()
    .flatten()
    .min();
    let left_today = [
        limits
            .max_calls_per_day
            .map(|c| c.get().saturating_sub(daily.calls)),
        limits
            .max_minutes_per_day
            .map(|m| by_minutes(m.get(), daily.secs)),
    ]
    .into_iter()
    .flatten()
    .min();
    let (Some(per_day), Some(left_today)) = (per_day, left_today) else {
        return;
    };
    // A cap below one call of the mean length still lets a call through each day.
    let per_day = per_day.max(1);
    let bound = |calls: u64, at: Timestamp| -> (u64, Timestamp) {
        let Some(extra) = calls.checked_sub(left_today).filter(|&e| e > 0) else {
            return (0, at);
        };
        let days = extra.div_ceil(per_day);
        let last_day_calls = extra - (days - 1) * per_day;
        let mut start = crate::runner::guard::Day::of(input.now, &daily.zone).end;
        for _ in 1..days {
            start = crate::runner::guard::Day::of(start, &daily.zone).end;
        }
        (
            days,
            at.max(after(start, last_day_calls as f64 / rate + call_secs)),
        )
    };
    let (more_days_min, earliest) = bound(eta.calls_min, eta.earliest);
    let (more_days_max, latest) = bound(eta.calls_max, eta.latest);
    if more_days_max > 0 {
        eta.earliest = earliest;
        eta.latest = latest.max(earliest);
        eta.daily_capped = Some(DailyCapped {
            calls_per_day: per_day,
            more_days_min,
            more_days_max,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::num::{NonZeroU32, NonZeroU64};

    use super::*;
    use crate::campaign::Retry;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn limits(per_minute: u32, concurrent: u32, max_calls: Option<u64>) -> Limits {
        Limits {
            calls_per_minute: NonZeroU32::new(per_minute).unwrap(),
            burst: NonZeroU32::new(5).unwrap(),
            max_concurrent: NonZeroU32::new(concurrent).unwrap(),
            max_calls: max_calls.and_then(NonZeroU64::new),
            max_minutes: None,
            max_calls_per_day: None,
            max_minutes_per_day: None,
            max_call_minutes: NonZeroU32::new(10).unwrap(),
            breaker_window: NonZeroU32::new(20).unwrap(),
            breaker_percent: NonZeroU32::new(50).unwrap(),
            lost_answer_wait: crate::campaign::defaults::LOST_ANSWER_WAIT,
        }
    }

    fn retry(no_answer: (u32, u64)) -> RetryPolicy {
        let rule = |attempts, mins: u64| Retry {
            attempts: NonZeroU32::new(attempts).unwrap(),
            after: Duration::from_secs(mins * 60),
        };
        RetryPolicy {
            no_answer: rule(no_answer.0, no_answer.1),
            voicemail: rule(1, 0),
            failed: rule(1, 0),
            declined: rule(1, 0),
        }
    }

    /// An input with nothing pending, at 09:00Z on a Monday; each test sets what it needs.
    fn input<'a>(l: &'a Limits, r: &'a RetryPolicy) -> EtaInput<'a> {
        EtaInput {
            now: t("2026-12-07T09:00:00Z"),
            due_now: 0,
            later: vec![],
            in_flight: 0,
            calls_made: 0,
            mean_call_secs: None,
            limits: l,
            retry: r,
            calls_placed: 0,
            daily: None,
        }
    }

    #[test]
    fn nothing_left_has_no_estimate() {
        let (l, r) = (limits(20, 10, None), retry((1, 0)));
        assert_eq!(estimate(&input(&l, &r)), None);
    }

    #[test]
    fn pacing_calls_in_flight_and_retries_bound_the_finish() {
        // 120 contacts due now, 20/min but 10 at once of 60 s calls: 10/min is the bottleneck,
        // so the first round takes 12 min and the last call ends a minute later. Three no-answer
        // attempts an hour apart add two rounds of (60 min + 1 min).
        let (l, r) = (limits(20, 10, Some(300)), retry((3, 60)));
        let input = EtaInput {
            due_now: 120,
            mean_call_secs: Some(60),
            ..input(&l, &r)
        };
        let eta = estimate(&input).unwrap();
        assert_eq!(eta.calls_per_minute, 10.0);
        assert_eq!((eta.calls_min, eta.calls_max), (120, 360));
        assert_eq!(eta.earliest, t("2026-12-07T09:13:00Z"));
        // 360 calls at 10/min take 36 min, less than the retry delays: 09:12 + 2 × 61 min + 1.
        assert_eq!(eta.latest, t("2026-12-07T11:15:00Z"));
        assert!(eta.capped, "300 calls allowed, up to 360 needed");
    }

    #[test]
    fn contacts_due_later_start_when_due() {
        let (l, r) = (limits(60, 100, None), retry((1, 0)));
        let input = EtaInput {
            later: vec![(t("2026-12-07T13:00:00Z"), t("2026-12-07T13:30:00Z"), 60)],
            mean_call_secs: Some(120),
            ..input(&l, &r)
        };
        let eta = estimate(&input).unwrap();
        // 60 calls at 50/min (100 at once of 2 min) from 13:00 take 72 s, but the last one is
        // due only at 13:30; it ends two minutes later.
        assert_eq!(eta.earliest, t("2026-12-07T13:32:00Z"));
        assert_eq!(eta.latest, eta.earliest, "no retries");
        assert!(!eta.capped);
    }

    #[test]
    fn a_daily_cap_spreads_the_calls_over_the_days_it_forces() {
        // 5 contacts due now, 2 calls a day, 1 already placed today: one today, two tomorrow,
        // two the day after; each day's calls go out from its midnight (New York) at 60/min.
        let mut l = limits(60, 100, None);
        l.max_calls_per_day = NonZeroU64::new(2);
        let r = retry((1, 0));
        let zone = jiff::tz::TimeZone::get("America/New_York").unwrap();
        let input = EtaInput {
            now: t("2026-12-07T14:00:00Z"),
            due_now: 5,
            mean_call_secs: Some(60),
            daily: Some(DailyInput {
                zone,
                calls: 1,
                secs: 60,
            }),
            ..input(&l, &r)
        };
        let eta = estimate(&input).unwrap();
        assert_eq!(
            eta.daily_capped,
            Some(DailyCapped {
                calls_per_day: 2,
                more_days_min: 2,
                more_days_max: 2,
            })
        );
        // Midnight of 9 December in New York is 05:00Z; two calls at 1/s, then the last one's
        // minute.
        assert_eq!(eta.earliest, t("2026-12-09T05:01:02Z"));
        assert_eq!(eta.latest, eta.earliest, "no retries");
        // Without the cap, it would all be over in minutes today.
        let free = estimate(&EtaInput {
            daily: None,
            ..input
        })
        .unwrap();
        assert_eq!(free.earliest, t("2026-12-07T14:01:05Z"));
        assert_eq!(free.daily_capped, None);
    }
}
