//! The `schedule` section: the campaign's zone, its calling windows and the dates that bound it.

use std::time::Duration;

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;

use super::Checker;
use crate::campaign::raw::{RawSchedule, RawWindow};
use crate::campaign::{Schedule, StopBefore, Window, defaults, duration};
use crate::text::did_you_mean;

impl Checker<'_> {
    pub(super) fn schedule(&mut self, raw: RawSchedule) -> Option<Schedule> {
        let mut ok = true;
        let (timezone, timezone_name) = match raw.timezone.as_deref() {
            Some(name) => match self.zone("schedule.timezone", name) {
                Some(tz) => (tz, name.to_owned()),
                None => return None,
            },
            None => {
                self.report("schedule", "`schedule` needs a `timezone`")
                    .hint = Some(
                    "the IANA zone for contacts whose own zone is unknown, e.g. timezone: America/New_York"
                        .into(),
                );
                return None;
            }
        };
        let windows = match raw.windows {
            None => vec![default_window()],
            Some(windows) if windows.is_empty() => {
                self.report("schedule.windows", "`schedule.windows` is empty: no call could ever be placed")
                    .hint = Some("add a window such as { days: [mon, tue, wed, thu, fri], from: \"09:00\", to: \"18:00\" }".into());
                return None;
            }
            Some(windows) => {
                let mut out = Vec::new();
                for (i, w) in windows.into_iter().enumerate() {
                    match self.window(i, &w) {
                        Some(w) => out.push(w),
                        None => ok = false,
                    }
                }
                out
            }
        };
        let last_call_before_end = match raw.last_call_before_end.as_deref() {
            None => Some(defaults::LAST_CALL_BEFORE_END),
            Some(text) => self.duration("schedule.last_call_before_end", text),
        };
        let stop_before = match raw.stop_before.as_deref().map(str::trim) {
            None => Some(StopBefore::Ahead(Duration::ZERO)),
            Some("day_before") => Some(StopBefore::DayBefore),
            Some(text) => match duration::parse(text) {
                Some(d) => Some(StopBefore::Ahead(d)),
                None => {
                    self.report(
                        "schedule.stop_before",
                        format!("{text:?} is neither a duration nor `day_before`"),
                    )
                    .hint = Some(
                        "write how long before each row's deadline calls stop, e.g. 12h or 1d, \
                         or day_before for no call on the deadline's day"
                            .into(),
                    );
                    None
                }
            },
        };
        let not_before = raw
            .not_before
            .as_deref()
            .map(|t| self.instant("schedule.not_before", t, &timezone));
        let not_after = raw
            .not_after
            .as_deref()
            .map(|t| self.instant("schedule.not_after", t, &timezone));
        if let (Some(Some(b)), Some(Some(a))) = (not_before, not_after)
            && b >= a
        {
            self.report(
                "schedule.not_after",
                "`not_after` must be later than `not_before`",
            );
            ok = false;
        }
        let (Some(last_call_before_end), Some(not_before), Some(not_after), Some(stop_before)) = (
            last_call_before_end,
            not_before.map_or(Some(None), |t| t.map(Some)),
            not_after.map_or(Some(None), |t| t.map(Some)),
            stop_before,
        ) else {
            return None;
        };
        ok.then_some(Schedule {
            timezone,
            timezone_name,
            windows,
            last_call_before_end,
            not_before,
            not_after,
            stop_before,
            require_known_timezone: raw.require_known_timezone.unwrap_or(false),
        })
    }

    pub(super) fn zone(&mut self, path: &str, name: &str) -> Option<TimeZone> {
        match jiff::tz::db().get(name) {
            Ok(tz) => Some(tz),
            Err(_) => {
                let names: Vec<String> =
                    jiff::tz::db().available().map(|n| n.to_string()).collect();
                let near = did_you_mean(name, names.iter().map(String::as_str)).map(str::to_owned);
                self.report(path, format!("{name:?} is not an IANA time zone"))
                    .hint = Some(match near {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => "use a zone name such as America/New_York or Europe/London".into(),
                });
                None
            }
        }
    }

    pub(super) fn window(&mut self, i: usize, raw: &RawWindow) -> Option<Window> {
        let at = format!("schedule.windows[{i}]");
        let mut days = Vec::new();
        let mut ok = true;
        for (j, day) in raw.days.iter().enumerate() {
            match parse_day(day) {
                Some(d) if !days.contains(&d) => days.push(d),
                Some(_) => {}
                None => {
                    self.report(&format!("{at}.days[{j}]"), format!("{day:?} is not a day"))
                        .hint = Some("days are mon, tue, wed, thu, fri, sat, sun".into());
                    ok = false;
                }
            }
        }
        if raw.days.is_empty() {
            self.report(&format!("{at}.days"), "a window needs at least one day");
            ok = false;
        }
        let from = self.time(&format!("{at}.from"), &raw.from);
        // `to: "24:00"` is the end of the day (kept as the last instant of it), so a night
        // window can be split in two that join: 20:00–24:00 and 00:00–02:00.
        let to = if raw.to == "24:00" {
            Some(Time::MAX)
        } else {
            self.time(&format!("{at}.to"), &raw.to)
        };
        let (Some(from), Some(to)) = (from, to) else {
            return None;
        };
        if from >= to {
            self.report(&format!("{at}.to"), format!("window ends ({}) before it starts ({})", raw.to, raw.from))
                .hint = Some("`from` must be earlier than `to`; windows cannot cross midnight: split them in two, e.g. 20:00–24:00 and 00:00–02:00".into());
            return None;
        }
        ok.then_some(Window { days, from, to })
    }
}

pub(super) fn default_window() -> Window {
    let (from, to) = defaults::WINDOW;
    Window {
        days: vec![
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
        ],
        from: from.parse().expect("default window is valid"),
        to: to.parse().expect("default window is valid"),
    }
}

pub(super) fn parse_day(text: &str) -> Option<Weekday> {
    let lower = text.trim().to_ascii_lowercase();
    let day = match lower.get(..3)? {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    };
    // Accept the three-letter form and the full English name, nothing in between.
    let full = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    (lower.len() == 3 || full.contains(&lower.as_str())).then_some(day)
}

/// Windows in which no call can ever start: not longer than `last_call_before_end`.
pub(super) fn short_windows(schedule: &Schedule) -> Vec<String> {
    let margin = jiff::SignedDuration::try_from(schedule.last_call_before_end)
        .unwrap_or(jiff::SignedDuration::MAX);
    schedule
        .windows
        .iter()
        .enumerate()
        .filter(|(_, w)| w.from.duration_until(w.to) <= margin)
        .map(|(i, w)| {
            format!(
                "schedule.windows[{i}] ({}–{}) is not longer than last_call_before_end ({}): no call \
                 starts in it, unless it touches another window",
                w.from.strftime("%H:%M"),
                w.to.strftime("%H:%M"),
                duration::format(schedule.last_call_before_end),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_shorter_than_the_last_call_margin_is_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        let campaign = crate::campaign::testing::campaign(
            dir.path(),
            "",
            "schedule:\n  timezone: UTC\n  windows:\n    - { days: [mon], from: \"09:00\", to: \"09:10\" }\n    - { days: [tue], from: \"09:00\", to: \"12:00\" }\n",
            "name,phone\nAna,(415) 555-0101\n",
        );
        assert_eq!(
            campaign.warnings,
            [
                "schedule.windows[0] (09:00–09:10) is not longer than last_call_before_end (10m): no call starts in it, unless it touches another window"
            ]
        );
    }

    #[test]
    fn days() {
        assert_eq!(parse_day("mon"), Some(Weekday::Monday));
        assert_eq!(parse_day("Sunday"), Some(Weekday::Sunday));
        assert_eq!(parse_day("mond"), None);
        assert_eq!(parse_day("xyz"), None);
    }
}
