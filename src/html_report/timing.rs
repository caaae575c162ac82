//! The "When people answer" section: calls and completed calls by the recipient's local weekday
//! and hour (the heatmap that tells which calling windows to keep), and placements and results
//! over time in round buckets of the report's zone.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::page::{RESULTS, Segment, legend, share};
use super::{Calls, charts, minute};

pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Calls and completed calls by the recipient's local weekday (Monday first) and hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heatmap {
    cells: [[(u64, u64); 24]; 7],
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeatView {
    pub days: Vec<&'static str>,
    /// The hours from the first to the last one with a call.
    pub rows: Vec<HeatRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeatRow {
    pub hour: String,
    pub cells: Vec<HeatCell>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeatCell {
    pub calls: u64,
    pub reached: u64,
    /// The share reached (`75 %`), empty without calls.
    pub text: String,
    /// `h0` (under 20 % reached) to `h4` (80 % or more); `none` without calls.
    pub class: &'static str,
    pub title: String,
}

impl Heatmap {
    /// Adds `calls` placed at `at` in `zone`, `reached` of which completed.
    pub fn add(&mut self, at: Timestamp, zone: &TimeZone, calls: u64, reached: u64) {
        let local = at.to_zoned_datetime(zone.clone());
        let day = local.weekday().to_monday_zero_offset() as usize;
        let hour = local.hour() as usize;
        let cell = &mut self.cells[day % 7][hour % 24];
        cell.0 += calls;
        cell.1 += reached;
    }

    /// `(calls, reached)` on `day` (0 is Monday) at `hour`.
    pub fn cell(&self, day: usize, hour: usize) -> (u64, u64) {
        self.cells[day][hour]
    }

    pub fn view(&self) -> Option<HeatView> {
        let busy = |hour: usize| self.cells.iter().any(|day| day[hour].0 > 0);
        let first = (0..24).find(|&h| busy(h))?;
        let last = (0..24).rev().find(|&h| busy(h))?;
        let rows = (first..=last)
            .map(|hour| HeatRow {
                hour: format!("{hour:02}:00"),
                cells: (0..7)
                    .map(|day| {
                        let (calls, reached) = self.cells[day][hour];
                        heat_cell(WEEKDAYS[day], hour, calls, reached)
                    })
                    .collect(),
            })
            .collect();
        Some(HeatView {
            days: WEEKDAYS.to_vec(),
            rows,
        })
    }
}

fn heat_cell(day: &str, hour: usize, calls: u64, reached: u64) -> HeatCell {
    if calls == 0 {
        return HeatCell {
            calls,
            reached,
            text: String::new(),
            class: "none",
            title: format!("{day} {hour:02}:00–{:02}:00: no calls", hour + 1),
        };
    }
    let pct = reached as f64 * 100.0 / calls as f64;
    let class = match pct {
        p if p >= 80.0 => "h4",
        p if p >= 60.0 => "h3",
        p if p >= 40.0 => "h2",
        p if p >= 20.0 => "h1",
        _ => "h0",
    };
    HeatCell {
        calls,
        reached,
        text: share(reached, calls),
        class,
        title: format!(
            "{day} {hour:02}:00–{:02}:00: {reached} of {calls} calls reached someone",
            hour + 1
        ),
    }
}

/// Calls by when they were placed and their result, in buckets of a round width chosen so that
/// the span holds at most [`OverTime::MAX_BUCKETS`].
#[derive(Debug, Clone, PartialEq)]
pub struct OverTime {
    /// The first bucket's start.
    pub start: Timestamp,
    pub width: SignedDuration,
    /// Calls per bucket, per result (in the order of [`RESULTS`]).
    pub counts: Vec<[u64; 7]>,
}

impl OverTime {
    pub const MAX_BUCKETS: i64 = 48;

    /// Empty buckets covering `first` to `last`, aligned on the hour (or the day) in `zone`.
    pub fn new(first: Timestamp, last: Timestamp, zone: &TimeZone) -> OverTime {
        const WIDTHS_MIN: [i64; 12] = [
            15,
            30,
            60,
            120,
            180,
            360,
            720,
            1440,
            2880,
            7 * 1440,
            14 * 1440,
            28 * 1440,
        ];
        let span = last.duration_since(first).as_secs().max(0) / 60;
        let minutes = WIDTHS_MIN
            .into_iter()
            .find(|w| span / w < Self::MAX_BUCKETS)
            .unwrap_or(28 * 1440);
        let local = first.to_zoned_datetime(zone.clone());
        let unit = if minutes >= 1440 {
            jiff::Unit::Day
        } else {
            jiff::Unit::Hour
        };
        let start = local
            .start_of_day()
            .ok()
            .filter(|_| unit == jiff::Unit::Day)
            .or_else(|| {
                local
                    .with()
                    .minute(0)
                    .second(0)
                    .subsec_nanosecond(0)
                    .build()
                    .ok()
            })
            .map_or(first, |z| z.timestamp());
        let width = SignedDuration::from_mins(minutes);
        let buckets = last.duration_since(start).as_secs() / width.as_secs() + 1;
        OverTime {
            start,
            width,
            counts: vec![[0; 7]; buckets.clamp(1, Self::MAX_BUCKETS + 2) as usize],
        }
    }

    /// Adds `n` calls placed at `at` with `result`.
    pub fn add(&mut self, at: Timestamp, result: &str, n: u64) {
        let Some(r) = RESULTS.iter().position(|x| *x == result) else {
            return;
        };
        let offset = at.duration_since(self.start).as_secs().max(0);
        let i = (offset / self.width.as_secs().max(1)) as usize;
        let last = self.counts.len() - 1;
        if let Some(bucket) = self.counts.get_mut(i.min(last)) {
            bucket[r] += n;
        }
    }

    /// When bucket `i` starts.
    pub fn bucket_start(&self, i: usize) -> Timestamp {
        self.start
            .checked_add(self.width * i as i32)
            .unwrap_or(self.start)
    }

    /// The width as people read it: `15 min`, `1 h`, `1 day`.
    pub fn width_label(&self) -> String {
        let minutes = self.width.as_secs() / 60;
        match minutes {
            m if m % 1440 == 0 && m / 1440 == 1 => "1 day".into(),
            m if m % 1440 == 0 => format!("{} days", m / 1440),
            m if m % 60 == 0 => format!("{} h", m / 60),
            m => format!("{m} min"),
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct TimingView {
    heat: Option<HeatView>,
    over_time: Option<String>,
    bucket: String,
    first: String,
    last: String,
    legend: Vec<Segment>,
}

pub(super) fn timing_view(calls: &mut Calls, zone: &TimeZone) -> TimingView {
    calls.fold_quarters();
    let mut view = TimingView {
        heat: calls.heat.view(),
        over_time: None,
        bucket: String::new(),
        first: String::new(),
        last: String::new(),
        legend: Vec::new(),
    };
    let (Some(first), Some(last)) = (calls.first, calls.last) else {
        return view;
    };
    let (first, last) = (crate::store::instant(first), crate::store::instant(last));
    let mut over = OverTime::new(first, last, zone);
    let mut seen = [0u64; 7];
    for (&quarter, counts) in &calls.over_time {
        for (r, &n) in counts.iter().enumerate() {
            if n > 0 {
                over.add(crate::store::instant(quarter), RESULTS[r], n);
                seen[r] += n;
            }
        }
    }
    let day_buckets = over.width.as_secs() >= 86_400;
    let label = |i: usize| {
        let start = over.bucket_start(i).to_zoned_datetime(zone.clone());
        if day_buckets {
            start.strftime("%a %m-%d").to_string()
        } else {
            start.strftime("%a %H:%M").to_string()
        }
    };
    view.over_time = charts::over_time(&over, &label)
        .inspect_err(|e| tracing::warn!(%e, "no chart of calls over time"))
        .ok();
    view.bucket = over.width_label();
    view.first = minute(first, zone);
    view.last = minute(last, zone);
    view.legend = legend(|r| {
        RESULTS
            .iter()
            .position(|x| *x == r)
            .is_some_and(|i| seen[i] > 0)
    });
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_heatmap_counts_in_each_recipients_local_time() {
        let mut heat = Heatmap::default();
        let ny = TimeZone::get("America/New_York").unwrap();
        let la = TimeZone::get("America/Los_Angeles").unwrap();
        let kolkata = TimeZone::get("Asia/Kolkata").unwrap();
        // Monday 2026-12-07 17:00Z: 12:00 in New York, 09:00 in Los Angeles.
        heat.add(t("2026-12-07T17:00:00Z"), &ny, 4, 3);
        heat.add(t("2026-12-07T17:00:00Z"), &la, 2, 0);
        heat.add(t("2026-12-07T17:45:00Z"), &la, 1, 1);
        // 04:30Z is 10:00 in Kolkata (+05:30); a Sunday in UTC is Sunday there too.
        heat.add(t("2026-12-13T04:30:00Z"), &kolkata, 1, 1);
        assert_eq!(heat.cell(0, 12), (4, 3));
        assert_eq!(heat.cell(0, 9), (3, 1));
        assert_eq!(heat.cell(6, 10), (1, 1));
        let view = heat.view().unwrap();
        assert_eq!(view.rows.first().unwrap().hour, "09:00");
        assert_eq!(view.rows.last().unwrap().hour, "12:00");
        let nine = &view.rows[0].cells[0];
        assert_eq!((nine.text.as_str(), nine.class), ("33 %", "h1"));
        assert_eq!(view.rows[3].cells[0].class, "h3");
        assert_eq!(view.rows[1].cells[0].class, "none");
        assert_eq!(Heatmap::default().view(), None);
    }
    #[test]
    fn calls_over_time_fall_in_round_buckets() {
        let zone = TimeZone::get("America/Los_Angeles").unwrap();
        let mut over = OverTime::new(t("2026-12-07T17:05:00Z"), t("2026-12-07T22:40:00Z"), &zone);
        assert_eq!(over.width_label(), "15 min");
        assert_eq!(over.start, t("2026-12-07T17:00:00Z"), "on the local hour");
        over.add(t("2026-12-07T17:05:00Z"), "completed", 2);
        over.add(t("2026-12-07T17:20:00Z"), "no_answer", 1);
        over.add(t("2026-12-07T22:40:00Z"), "completed", 1);
        over.add(t("2026-12-07T22:40:00Z"), "bogus", 1);
        assert_eq!(over.counts[0], [2, 0, 0, 0, 0, 0, 0]);
        assert_eq!(over.counts[1], [0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(over.counts.last().unwrap()[0], 1);
        assert_eq!(over.counts.len(), 23);

        let days = OverTime::new(t("2026-12-07T17:05:00Z"), t("2027-01-04T17:00:00Z"), &zone);
        assert_eq!(days.width_label(), "1 day");
        assert_eq!(days.start, t("2026-12-07T08:00:00Z"), "local midnight");
        assert!(days.counts.len() as i64 <= OverTime::MAX_BUCKETS);
        let long = OverTime::new(t("2026-01-01T00:00:00Z"), t("2026-12-31T00:00:00Z"), &zone);
        assert!(
            long.counts.len() as i64 <= OverTime::MAX_BUCKETS,
            "{}",
            long.counts.len()
        );
    }
}
