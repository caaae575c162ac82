//! Time zones and instants as people write them: a date and time read in a zone, a zone name
//! misspelt or one that ignores summer time. Pure; what a contact's zone is lives in
//! [`crate::schedule::zone`].

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;

/// Reads a date and time from the command line or the campaign file: RFC 3339
/// (`2026-12-07T09:00:00-05:00`, `2026-12-07T14:00:00Z`) or a civil `2026-12-07 09:00`, which is
/// read in `zone`.
pub fn parse_instant(text: &str, zone: &TimeZone) -> Option<Timestamp> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    let civil = text.parse::<DateTime>().ok().or_else(|| {
        text.parse::<Date>()
            .ok()
            .map(|d| d.to_datetime(Time::midnight()))
    })?;
    civil
        .to_zoned_datetime(zone.clone())
        .ok()
        .map(|z| z.timestamp())
}

/// For a zone name that keeps one offset all year although the places that use it change their
/// clocks in summer (`GMT`: the UK moves to British Summer Time from March to October), the
/// zone to write instead; `None` for every other name. Such a zone is valid, so it is accepted
/// with a warning: calling windows read in it would be an hour off half the year.
pub fn without_summer_time(name: &str) -> Option<&'static str> {
    match name {
        "GMT" | "Etc/GMT" | "GMT0" | "GMT+0" | "GMT-0" | "Etc/GMT0" | "Etc/GMT+0" | "Etc/GMT-0"
        | "Greenwich" | "Etc/Greenwich" => Some("Europe/London"),
        "EST" => Some("America/New_York"),
        "MST" => Some("America/Denver (or America/Phoenix, which keeps MST all year)"),
        _ => None,
    }
}

/// The warning for a zone [`without_summer_time`] knows, where it is given (`schedule.timezone
/// GMT`, `3 rows (lines 2, 5, 9) give the time zone GMT`).
pub fn summer_time_warning(given: &str, name: &str) -> Option<String> {
    let instead = without_summer_time(name)?;
    let clocks = if instead == "Europe/London" {
        "UK clocks move to British Summer Time (an hour ahead) from March to October"
    } else {
        "the places that use it move their clocks an hour ahead in summer"
    };
    Some(format!(
        "{given} {name}, which keeps the same time all year, but {clocks}: calling windows \
         would be an hour off then; write {instead} instead"
    ))
}

/// The zone name closest to a misspelt one (`America/Los_Angles` → `America/Los_Angeles`), when
/// one is close: at most a quarter of its letters differ. Remembered per name: a CSV tends to
/// repeat the same wrong name on many rows, and each look-up compares with every zone.
pub fn suggest(name: &str) -> Option<String> {
    static SEEN: LazyLock<Mutex<HashMap<String, Option<String>>>> = LazyLock::new(Default::default);
    if let Some(known) = SEEN.lock().ok().and_then(|seen| seen.get(name).cloned()) {
        return known;
    }
    let found = closest(name);
    if let Ok(mut seen) = SEEN.lock()
        && seen.len() < 1000
    {
        seen.insert(name.to_owned(), found.clone());
    }
    found
}

fn closest(name: &str) -> Option<String> {
    let wanted = name.to_ascii_lowercase();
    jiff::tz::db()
        .available()
        .map(|zone| {
            let zone = zone.as_str().to_owned();
            (distance(&wanted, &zone.to_ascii_lowercase()), zone)
        })
        .filter(|(d, _)| *d <= (wanted.chars().count() / 4).max(1))
        .min()
        .map(|(_, zone)| zone)
}

/// Levenshtein distance, by characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_misspelt_zone_gets_the_closest_name() {
        assert_eq!(
            suggest("America/Los_Angles").as_deref(),
            Some("America/Los_Angeles")
        );
        assert_eq!(suggest("europe/london").as_deref(), Some("Europe/London"));
        assert_eq!(suggest("Mars/Olympus_Mons"), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn instants_are_read_as_rfc3339_or_in_the_zone_given() {
        let ny = TimeZone::get("America/New_York").unwrap();
        assert_eq!(
            parse_instant("2026-12-07T09:00:00Z", &ny),
            Some(t("2026-12-07T09:00:00Z"))
        );
        assert_eq!(
            parse_instant("2026-12-07 09:00", &ny),
            Some(t("2026-12-07T14:00:00Z"))
        );
        assert_eq!(
            parse_instant("2026-07-07T09:00", &ny),
            Some(t("2026-07-07T13:00:00Z"))
        );
        assert_eq!(
            parse_instant("2026-12-07", &ny),
            Some(t("2026-12-07T05:00:00Z"))
        );
        assert_eq!(parse_instant("tomorrow", &ny), None);
    }
}
