//! Spending guards: what stops a run from placing more calls before a person looks.
//!
//! - [`MinuteBudget`]: `limits.max_minutes`. Before each placement, every call in flight (the
//!   new one included) is reserved `limits.max_call_minutes`; a placement that could take the
//!   minutes used plus reserved past the cap is not made. Minutes used are the `durationSec` of
//!   finished calls; a call whose fate is unknown is charged a full reservation, since it may
//!   have rung.
//! - [`Breaker`]: a circuit breaker over the most recent calls. A call that ends `failed`, or
//!   `completed` without a single requested field, is a bad call; when bad calls reach
//!   `limits.breaker_percent` (default 50) of the last `limits.breaker_window` calls (default
//!   20), placing stops. Calls this run has not made yet count as good, so the first ten calls
//!   of a run failing trip it as surely as ten of the last twenty.
//!   The window rolls across runs (a cron run of three calls sees the calls of the runs before
//!   it). Once tripped, the breaker stays open in the state file: later runs place nothing until
//!   one is given `--reset-breaker` (after a person looked), which also starts the count afresh.
//! - [`Daily`]: `limits.max_calls_per_day` and `limits.max_minutes_per_day`, the same checks
//!   over one calendar day of `schedule.timezone` (UTC without a schedule), so that a campaign
//!   run every day by cron spends at most so much a day and goes on the next.
//! - [`SuppressionWatch`]: the suppression files, re-read when their size or modification time
//!   changes, so a number added during a long run is honoured before its next placement.
//!
//! Everything here is pure or owns its own small state; the runner asks before placing and
//! reports each ended call.

use std::collections::VecDeque;
use std::num::NonZeroU64;
use std::path::PathBuf;
use std::time::SystemTime;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use crate::api::CallRecord;
use crate::api::Outcome;
use crate::campaign::{Campaign, Limits, defaults};
use crate::contacts::Suppression;
use crate::phone::Region;

/// The guards of one run, as the runner holds them.
#[derive(Debug)]
pub struct Guards {
    budget: Option<MinuteBudget>,
    daily: Option<Daily>,
    /// `limits.max_call_minutes` in seconds: what a call whose fate is unknown is charged.
    reserve_secs: u64,
    /// Seconds used so far: finished calls' durations, and a full reservation per call whose
    /// fate is unknown.
    used_secs: u64,
    breaker: Breaker,
    suppression: SuppressionWatch,
    fields: usize,
}

impl Guards {
    pub fn new(campaign: &Campaign) -> Guards {
        Guards {
            budget: MinuteBudget::of(&campaign.limits),
            daily: Daily::of(campaign),
            reserve_secs: u64::from(campaign.limits.max_call_minutes.get()) * 60,
            used_secs: 0,
            breaker: Breaker::new(
                campaign.limits.breaker_window.get() as usize,
                campaign.limits.breaker_percent.get() as usize,
            ),
            suppression: SuppressionWatch::new(
                campaign.suppress.clone(),
                campaign.input.default_region,
            ),
            fields: campaign.fields.len(),
        }
    }

    /// What the state file says was used before this run: seconds of finished calls, and
    /// calls whose fate is unknown.
    pub fn start(&mut self, call_secs: u64, unknown_calls: u64) {
        self.used_secs = self.charge(call_secs, unknown_calls);
    }

    /// Seconds charged for `call_secs` of finished calls and `unknown_calls` calls whose fate
    /// is unknown.
    pub fn charge(&self, call_secs: u64, unknown_calls: u64) -> u64 {
        call_secs.saturating_add(unknown_calls.saturating_mul(self.reserve_secs))
    }

    /// A call of this run whose fate became unknown: it may have run, so the minute budgets
    /// keep the reservation it had while in flight.
    pub fn unknown_call(&mut self) {
        self.used_secs = self.used_secs.saturating_add(self.reserve_secs);
    }

    /// Why no call may be placed now, with `in_flight` calls under way; `None` when one may.
    pub fn refuses(&self, in_flight: u64) -> Option<String> {
        self.budget?.refuses(self.used_secs, in_flight)
    }

    /// The day that contains `now`, when the daily caps have not counted it yet: the runner
    /// then reads what that day already spent from the state file and hands it to
    /// [`Guards::begin_day`].
    pub fn day_to_count(&self, now: Timestamp) -> Option<Day> {
        let daily = self.daily.as_ref()?;
        let counted = daily.today.as_ref().is_some_and(|t| t.day.contains(now));
        (!counted).then(|| Day::of(now, &daily.zone))
    }

    /// Starts counting `day`: `calls` placed and `secs` charged (see [`Guards::charge`]) before
    /// this point, `placed` placements by this run so far.
    pub fn begin_day(&mut self, day: Day, calls: u64, secs: u64, placed: u64) {
        if let Some(daily) = &mut self.daily {
            daily.today = Some(Today {
                day,
                calls,
                secs,
                placed_mark: placed,
                used_mark: self.used_secs,
            });
        }
    }

    /// Why the daily caps refuse one more call now, with `placed` placements by this run and
    /// `in_flight` calls under way; `None` when they allow it (or the day is not counted yet).
    pub fn refuses_today(&self, placed: u64, in_flight: u64) -> Option<String> {
        let daily = self.daily.as_ref()?;
        let today = daily.today.as_ref()?;
        let calls = today.calls + placed.saturating_sub(today.placed_mark);
        let secs = today.secs + self.used_secs.saturating_sub(today.used_mark);
        daily.refuses(&today.day, calls, secs, in_flight, self.reserve_secs)
    }

    /// Whether `e164` is on a suppression list now.
    pub fn suppressed(&mut self, e164: &str) -> bool {
        self.suppression.contains(e164)
    }

    /// Fills the breaker's window with the calls that ended before this run (oldest first, as
    /// the state file has them). Never trips: a trip is recorded when it happens.
    pub fn seed(&mut self, recent: &[(Outcome, Option<String>)]) {
        for (outcome, record) in recent {
            let record: Option<Value> =
                record.as_deref().and_then(|r| serde_json::from_str(r).ok());
            let extracted = record
                .as_ref()
                .and_then(|r| r.get("extracted"))
                .and_then(Value::as_object);
            let _ = self
                .breaker
                .record(bad_call(*outcome, extracted, self.fields));
        }
    }

    /// Takes note of a call that ended; returns why the breaker tripped, when it did.
    pub fn ended(&mut self, outcome: Outcome, record: &CallRecord) -> Option<String> {
        self.used_secs = self
            .used_secs
            .saturating_add(record.duration_sec.unwrap_or(0));
        let bad = bad_call(outcome, record.extracted.as_ref(), self.fields);
        self.breaker.record(bad)
    }
}

/// `limits.max_minutes`, in seconds, with the reservation per call in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteBudget {
    pub cap_secs: u64,
    pub reserve_secs: u64,
}

impl MinuteBudget {
    /// The campaign's budget; `None` without `limits.max_minutes`.
    pub fn of(limits: &Limits) -> Option<MinuteBudget> {
        limits.max_minutes.map(|cap| MinuteBudget {
            cap_secs: cap.get().saturating_mul(60),
            reserve_secs: u64::from(limits.max_call_minutes.get()) * 60,
        })
    }

    /// Why one more call may not be placed, with `used_secs` already spent and `in_flight`
    /// calls under way (the new one not counted); `None` when it may.
    pub fn refuses(&self, used_secs: u64, in_flight: u64) -> Option<String> {
        let reserved = self.reserve_secs.saturating_mul(in_flight + 1);
        if used_secs.saturating_add(reserved) <= self.cap_secs {
            return None;
        }
        Some(format!(
            "limits.max_minutes {} reached: {} min used, {} min reserved for {} call(s) in flight \
             and the next one ({} min each, limits.max_call_minutes)",
            self.cap_secs / 60,
            minutes(used_secs),
            reserved / 60,
            in_flight,
            self.reserve_secs / 60
        ))
    }
}

/// `limits.max_calls_per_day` and `limits.max_minutes_per_day`. A day's calls are the
/// placements made that day (or possibly made); its minutes are those of the calls placed that
/// day, as [`MinuteBudget`] counts them (a reservation for each call in flight, the next one
/// included, and for each whose fate is unknown). A call of the day before that ends after
/// midnight is charged to the new day too: the cap can only bind early.
#[derive(Debug, Clone)]
pub struct Daily {
    calls: Option<u64>,
    cap_secs: Option<u64>,
    zone: TimeZone,
    today: Option<Today>,
}

/// One calendar day, `[start, end)`, in the zone it was read in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub start: Timestamp,
    pub end: Timestamp,
    /// `2026-12-03 (Europe/London)`, for messages.
    pub name: String,
}

#[derive(Debug, Clone)]
struct Today {
    day: Day,
    /// Spent before the runner started counting the day.
    calls: u64,
    secs: u64,
    /// This run's placements and seconds charged when it started counting.
    placed_mark: u64,
    used_mark: u64,
}

impl Day {
    /// The calendar day of `zone` that `now` falls in.
    pub fn of(now: Timestamp, zone: &TimeZone) -> Day {
        let here = now.to_zoned_datetime(zone.clone());
        let start = here.start_of_day().map_or(now, |s| s.timestamp());
        let end = here
            .tomorrow()
            .and_then(|t| t.start_of_day())
            .map_or(Timestamp::MAX, |e| e.timestamp());
        let name = format!("{} ({})", here.date(), zone.iana_name().unwrap_or("UTC"));
        Day { start, end, name }
    }

    pub fn contains(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

impl Daily {
    /// The campaign's daily caps; `None` without either.
    pub fn of(campaign: &Campaign) -> Option<Daily> {
        let limits = &campaign.limits;
        if limits.max_calls_per_day.is_none() && limits.max_minutes_per_day.is_none() {
            return None;
        }
        Some(Daily {
            calls: limits.max_calls_per_day.map(NonZeroU64::get),
            cap_secs: limits
                .max_minutes_per_day
                .map(|m| m.get().saturating_mul(60)),
            zone: campaign
                .schedule
                .as_ref()
                .map_or(TimeZone::UTC, |s| s.timezone.clone()),
            today: None,
        })
    }

    /// Why one more call may not be placed on `day`, with `calls` placed and `secs` charged
    /// that day and `in_flight` calls under way (reserved `reserve_secs` each, the new one
    /// too); `None` when it may.
    pub fn refuses(
        &self,
        day: &Day,
        calls: u64,
        secs: u64,
        in_flight: u64,
        reserve_secs: u64,
    ) -> Option<String> {
        if let Some(cap) = self.calls
            && calls >= cap
        {
            return Some(format!(
                "limits.max_calls_per_day {cap} reached for {}: {calls} call(s) placed that day",
                day.name
            ));
        }
        let cap = self.cap_secs?;
        let reserved = reserve_secs.saturating_mul(in_flight + 1);
        if secs.saturating_add(reserved) <= cap {
            return None;
        }
        Some(format!(
            "limits.max_minutes_per_day {} reached for {}: {} min used that day, {} min reserved \
             for {} call(s) in flight and the next one (limits.max_call_minutes)",
            cap / 60,
            day.name,
            minutes(secs),
            reserved / 60,
            in_flight,
        ))
    }
}

/// Seconds as minutes, to one decimal.
fn minutes(secs: u64) -> String {
    let tenths = (secs * 10 + 30) / 60;
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// Why an ended call counts against the breaker; `None` for a good call (or one that says
/// nothing about the campaign: no answer, voicemail, declined).
pub fn bad_call(
    outcome: Outcome,
    extracted: Option<&Map<String, Value>>,
    fields: usize,
) -> Option<&'static str> {
    match outcome {
        Outcome::Failed => Some("failed"),
        Outcome::Completed if fields > 0 => {
            let obtained = extracted.is_some_and(|m| m.values().any(|v| !v.is_null()));
            (!obtained).then_some("completed without any field")
        }
        _ => None,
    }
}

/// The circuit breaker (see the module header).
#[derive(Debug, Clone)]
pub struct Breaker {
    /// The last calls, newest last: the reason each was bad, or `None`.
    recent: VecDeque<Option<&'static str>>,
    window: usize,
    /// Bad calls in `recent` that trip it.
    trip_at: usize,
}

impl Default for Breaker {
    fn default() -> Breaker {
        Breaker::new(
            defaults::BREAKER_WINDOW as usize,
            defaults::BREAKER_PERCENT as usize,
        )
    }
}

impl Breaker {
    /// Trips when at least `percent` % of the last `window` calls are bad (at least one).
    pub fn new(window: usize, percent: usize) -> Breaker {
        let window = window.max(1);
        Breaker {
            recent: VecDeque::with_capacity(window),
            window,
            trip_at: (window * percent).div_ceil(100).max(1),
        }
    }

    /// Records an ended call; returns what tripped the breaker when this call trips it.
    pub fn record(&mut self, bad: Option<&'static str>) -> Option<String> {
        if self.recent.len() == self.window {
            self.recent.pop_front();
        }
        self.recent.push_back(bad);
        let bad_calls = self.recent.iter().filter(|b| b.is_some()).count();
        if bad.is_none() || bad_calls < self.trip_at {
            return None;
        }
        let failed = self.recent.iter().filter(|b| **b == Some("failed")).count();
        let empty = bad_calls - failed;
        Some(format!(
            "{bad_calls} of the last {} calls went wrong ({failed} failed, {empty} completed \
             without any requested field); the limit is {} of {}",
            self.recent.len(),
            self.trip_at,
            self.window
        ))
    }
}

/// The suppression files, re-read when one of them changes.
#[derive(Debug)]
pub struct SuppressionWatch {
    files: Vec<PathBuf>,
    region: Option<Region>,
    /// Size and modification time of each file when last read (`None`: unreadable).
    seen: Vec<Option<(u64, SystemTime)>>,
    numbers: Suppression,
}

impl SuppressionWatch {
    /// Reads the files now. A file that cannot be read suppresses nothing until it can (the
    /// import before the run has already refused a missing one).
    pub fn new(files: Vec<PathBuf>, region: Option<Region>) -> SuppressionWatch {
        let mut watch = SuppressionWatch {
            seen: Vec::new(),
            numbers: Suppression::default(),
            files,
            region,
        };
        watch.reload();
        watch
    }

    fn stamps(&self) -> Vec<Option<(u64, SystemTime)>> {
        self.files
            .iter()
            .map(|f| {
                let meta = std::fs::metadata(f).ok()?;
                Some((meta.len(), meta.modified().ok()?))
            })
            .collect()
    }

    fn reload(&mut self) {
        self.seen = self.stamps();
        if let Ok(numbers) = Suppression::load(&self.files, self.region) {
            self.numbers = numbers;
        }
    }

    /// Whether `e164` is on a list, as the files are now (re-read only if one changed: a few
    /// `stat` calls per placement).
    pub fn contains(&mut self, e164: &str) -> bool {
        if self.files.is_empty() {
            return false;
        }
        if self.stamps() != self.seen {
            self.reload();
        }
        self.numbers.contains(e164)
    }
}

#[cfg(test)]
mod tests {
    use std::num::{NonZeroU32, NonZeroU64};

    use serde_json::json;

    use super::*;

    fn limits(max_minutes: Option<u64>, per_call: u32) -> Limits {
        Limits {
            calls_per_minute: NonZeroU32::new(20).unwrap(),
            burst: NonZeroU32::new(5).unwrap(),
            max_concurrent: NonZeroU32::new(10).unwrap(),
            max_calls: None,
            max_minutes: max_minutes.and_then(NonZeroU64::new),
            max_calls_per_day: None,
            max_minutes_per_day: None,
            max_call_minutes: NonZeroU32::new(per_call).unwrap(),
            breaker_window: NonZeroU32::new(20).unwrap(),
            breaker_percent: NonZeroU32::new(50).unwrap(),
            lost_answer_wait: defaults::LOST_ANSWER_WAIT,
        }
    }

    #[test]
    fn a_call_turned_unknown_keeps_its_reservation() {
        let mut guards = Guards {
            budget: MinuteBudget::of(&limits(Some(30), 10)),
            daily: None,
            reserve_secs: 600,
            used_secs: 0,
            breaker: Breaker::default(),
            suppression: SuppressionWatch::new(Vec::new(), None),
            fields: 1,
        };
        // Two calls in flight and the next fit in 30 minutes.
        assert_eq!(guards.refuses(2), None);
        // One of them became unknown (no longer in flight): its 10 minutes stay spent.
        guards.unknown_call();
        assert_eq!(guards.refuses(1), None);
        guards.unknown_call();
        assert!(guards.refuses(1).is_some());
    }

    #[test]
    fn the_budget_reserves_every_call_in_flight_and_the_next() {
        assert_eq!(MinuteBudget::of(&limits(None, 10)), None);
        let budget = MinuteBudget::of(&limits(Some(30), 10)).unwrap();
        // 30 min: three calls of 10 reserved fit, a fourth would not.
        assert_eq!(budget.refuses(0, 0), None);
        assert_eq!(budget.refuses(0, 2), None);
        assert!(budget.refuses(0, 3).is_some());
        // 25 min used: nothing more fits, not even one call.
        let why = budget.refuses(25 * 60, 0).unwrap();
        assert_eq!(
            why,
            "limits.max_minutes 30 reached: 25.0 min used, 10 min reserved for 0 call(s) in \
             flight and the next one (10 min each, limits.max_call_minutes)"
        );
        // Exactly at the cap is allowed.
        assert_eq!(budget.refuses(20 * 60, 0), None);
        assert!(budget.refuses(20 * 60 + 1, 0).is_some());
    }

    fn london() -> TimeZone {
        jiff::tz::db().get("Europe/London").unwrap()
    }

    fn daily(calls: Option<u64>, minutes: Option<u64>) -> Guards {
        let zone = london();
        Guards {
            budget: None,
            daily: Some(Daily {
                calls,
                cap_secs: minutes.map(|m| m * 60),
                zone,
                today: None,
            }),
            reserve_secs: 600,
            used_secs: 0,
            breaker: Breaker::default(),
            suppression: SuppressionWatch::new(Vec::new(), None),
            fields: 1,
        }
    }

    #[test]
    fn a_day_is_the_calendar_day_of_the_schedules_zone() {
        let z = london();
        // Summer: London is UTC+1, so 23:30 UTC is already the next day.
        let day = Day::of("2026-07-03T23:30:00Z".parse().unwrap(), &z);
        assert_eq!(day.start, "2026-07-03T23:00:00Z".parse().unwrap());
        assert_eq!(day.end, "2026-07-04T23:00:00Z".parse().unwrap());
        assert_eq!(day.name, "2026-07-04 (Europe/London)");
        // The day the clocks go back lasts 25 hours.
        let day = Day::of("2026-10-25T12:00:00Z".parse().unwrap(), &z);
        assert_eq!(day.end.duration_since(day.start).as_hours(), 25);
        assert!(day.contains(day.start) && !day.contains(day.end));
    }

    #[test]
    fn the_daily_call_cap_counts_the_day_and_this_runs_placements() {
        let mut guards = daily(Some(3), None);
        let now: Timestamp = "2026-12-03T10:00:00Z".parse().unwrap();
        let day = guards
            .day_to_count(now)
            .expect("the first check counts the day");
        // Two placed earlier today by other runs; this run had placed 5 before (yesterday).
        guards.begin_day(day, 2, 0, 5);
        assert_eq!(guards.day_to_count(now), None, "counted once a day");
        assert_eq!(guards.refuses_today(5, 0), None);
        let why = guards.refuses_today(6, 0).unwrap();
        assert_eq!(
            why,
            "limits.max_calls_per_day 3 reached for 2026-12-03 (Europe/London): 3 call(s) placed \
             that day"
        );
        // Midnight passes: a new day to count.
        let tomorrow = "2026-12-04T00:00:00Z".parse().unwrap();
        let day = guards.day_to_count(tomorrow).unwrap();
        assert_eq!(day.name, "2026-12-04 (Europe/London)");
        guards.begin_day(day, 0, 0, 6);
        assert_eq!(guards.refuses_today(6, 0), None);
    }

    #[test]
    fn the_daily_minute_cap_reserves_every_call_in_flight_and_the_next() {
        let mut guards = daily(None, Some(30));
        let now = "2026-12-03T10:00:00Z".parse().unwrap();
        let day = guards.day_to_count(now).unwrap();
        // 5 minutes used earlier today, one call of unknown fate (10 reserved).
        let secs = guards.charge(300, 1);
        guards.begin_day(day, 2, secs, 0);
        // 15 used + 10 for the next call fits; with one in flight it does not.
        assert_eq!(guards.refuses_today(0, 0), None);
        let why = guards.refuses_today(0, 1).unwrap();
        assert!(
            why.starts_with("limits.max_minutes_per_day 30 reached for 2026-12-03 (Europe/London): 15.0 min used that day, 20 min reserved for 1 call(s) in flight"),
            "{why}"
        );
        // A call of this run that became unknown keeps its reservation for the day.
        guards.unknown_call();
        assert!(guards.refuses_today(0, 0).is_some());
    }

    #[test]
    fn bad_calls_are_failures_and_completions_without_any_field() {
        let some = json!({"a": null, "b": true});
        let none = json!({"a": null, "b": null});
        let (some, none) = (some.as_object(), none.as_object());
        assert_eq!(bad_call(Outcome::Failed, None, 2), Some("failed"));
        assert_eq!(bad_call(Outcome::Completed, some, 2), None);
        assert_eq!(
            bad_call(Outcome::Completed, none, 2),
            Some("completed without any field")
        );
        assert_eq!(
            bad_call(Outcome::Completed, None, 2),
            Some("completed without any field")
        );
        // A campaign that asks for no field: a completed call is a good one.
        assert_eq!(bad_call(Outcome::Completed, None, 0), None);
        for outcome in [Outcome::NoAnswer, Outcome::Voicemail, Outcome::Declined] {
            assert_eq!(bad_call(outcome, none, 2), None, "{outcome}");
        }
    }

    #[test]
    fn the_breaker_trips_at_half_of_the_last_twenty() {
        let mut breaker = Breaker::default();
        // Nine failures among good calls: not yet.
        for i in 0..18 {
            let bad = (i % 2 == 0).then_some("failed");
            assert_eq!(breaker.record(bad), None, "call {i}");
        }
        assert_eq!(breaker.record(None), None);
        // The tenth bad one of the last twenty trips it, and says what it saw.
        let why = breaker.record(Some("completed without any field")).unwrap();
        assert_eq!(
            why,
            "10 of the last 20 calls went wrong (9 failed, 1 completed without any requested \
             field); the limit is 10 of 20"
        );
    }

    #[test]
    fn old_failures_roll_out_of_the_window() {
        let mut breaker = Breaker::default();
        for _ in 0..9 {
            assert_eq!(breaker.record(Some("failed")), None);
        }
        for _ in 0..11 {
            assert_eq!(breaker.record(None), None);
        }
        // Each new failure pushes an old one out: still nine bad of the last twenty (without
        // the window, this would be the tenth and eleventh).
        assert_eq!(breaker.record(Some("failed")), None);
        assert_eq!(breaker.record(Some("failed")), None);
    }

    #[test]
    fn ten_failures_in_a_row_trip_it_from_the_start_and_good_calls_never_do() {
        let mut breaker = Breaker::default();
        for i in 0..9 {
            assert_eq!(breaker.record(Some("failed")), None, "call {i}");
        }
        assert!(breaker.record(Some("failed")).is_some());
        let mut breaker = Breaker::new(4, 50);
        assert!((0..100).all(|_| breaker.record(None).is_none()));
    }

    /// The guards of a campaign asking for one field, with `limits` (YAML lines) if any.
    fn one_field_guards(limits: &str) -> Guards {
        let dir = tempfile::tempdir().unwrap();
        let campaign = crate::campaign::testing::campaign(
            dir.path(),
            "",
            &format!("fields:\n  - {{ name: confirmed, type: boolean }}\n{limits}"),
            "name,phone\nAna,(415) 555-0101\n",
        );
        Guards::new(&campaign)
    }

    #[test]
    fn the_window_rolls_across_runs() {
        let mut guards = one_field_guards("");
        let empty = Some(r#"{"extracted":{"confirmed":null}}"#.to_owned());
        let full = Some(r#"{"extracted":{"confirmed":true}}"#.to_owned());
        // Nine bad calls in earlier runs: 5 failed, 4 completed without the field; and good ones.
        let mut recent = vec![(Outcome::Failed, None); 5];
        recent.extend(vec![(Outcome::Completed, empty); 4]);
        recent.extend(vec![(Outcome::Completed, full); 3]);
        guards.seed(&recent);
        let record = CallRecord::from_json(json!({"id": "c", "status": "failed"})).unwrap();
        let why = guards.ended(Outcome::Failed, &record).unwrap();
        assert!(
            why.starts_with("10 of the last 13 calls went wrong (6 failed, 4 completed"),
            "{why}"
        );
    }

    #[test]
    fn the_campaign_sets_the_breakers_window_and_share() {
        let limits = "limits:\n  breaker_window: 40\n  breaker_percent: 25\n";
        let mut guards = one_field_guards(limits);
        let failed = CallRecord::from_json(json!({"id": "c", "status": "failed"})).unwrap();
        // 25 % of 40: the tenth failure trips it, however many good calls came between.
        for i in 0..9 {
            assert_eq!(guards.ended(Outcome::Failed, &failed), None, "call {i}");
        }
        let why = guards.ended(Outcome::Failed, &failed).unwrap();
        assert!(why.starts_with("10 of the last 10 calls"), "{why}");
        // Seeded from the state file with the campaign's window, not the default 20.
        let mut guards = one_field_guards(limits);
        let mut recent = vec![(Outcome::Failed, None); 9];
        recent.extend(vec![(Outcome::NoAnswer, None); 30]);
        guards.seed(&recent);
        assert!(guards.ended(Outcome::Failed, &failed).is_some());
    }

    #[test]
    fn a_number_added_to_a_list_is_seen_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("dnc.txt");
        std::fs::write(&file, "+14155550150\n").unwrap();
        let mut watch = SuppressionWatch::new(vec![file.clone()], None);
        assert!(watch.contains("+14155550150"));
        assert!(!watch.contains("+14155550151"));
        // Longer: the size changes even when the modification time's resolution hides it.
        std::fs::write(&file, "+14155550150\n+14155550151\n").unwrap();
        assert!(watch.contains("+14155550151"));
        let mut none = SuppressionWatch::new(Vec::new(), None);
        assert!(!none.contains("+14155550150"));
    }
}
