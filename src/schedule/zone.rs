//! A contact's time zone and where it came from: the row's `timezone_column` when it has a value,
//! else the zone its number lies in when the number tells ([`super::numbers`]), else the
//! campaign's `schedule.timezone`. Recorded per contact as `timezone` and `tz_source`.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use crate::campaign::Campaign;

/// Where a contact's zone came from: the `tz_source` column of the state and the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TzSource {
    /// The row's `timezone_column`.
    Column,
    /// Inferred from the phone number (a one-zone country or area code).
    Number,
    /// `schedule.timezone`: nothing better was known.
    Default,
}

impl TzSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TzSource::Column => "column",
            TzSource::Number => "number",
            TzSource::Default => "default",
        }
    }
}

/// A contact's zone: an IANA name the tz database knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactZone {
    pub name: String,
    pub source: TzSource,
}

/// The zone of a contact whose row gave `column` (already checked to be a known zone) and whose
/// number is `e164`. `None` only when nothing tells and the campaign has no `schedule`.
pub fn resolve(campaign: &Campaign, column: Option<&str>, e164: &str) -> Option<ContactZone> {
    let zone = |name: &str, source| {
        Some(ContactZone {
            name: name.to_owned(),
            source,
        })
    };
    if let Some(name) = column {
        return zone(name, TzSource::Column);
    }
    if let Some(name) = super::numbers::zone_of(e164) {
        return zone(name, TzSource::Number);
    }
    let schedule = campaign.schedule.as_ref()?;
    zone(&schedule.timezone_name, TzSource::Default)
}

/// Whether a contact with this zone is skipped: `schedule.require_known_timezone` is on and its
/// zone would be the default.
pub fn required_but_unknown(campaign: &Campaign, zone: Option<&ContactZone>) -> bool {
    let required = campaign
        .schedule
        .as_ref()
        .is_some_and(|s| s.require_known_timezone);
    required && zone.is_none_or(|z| z.source == TzSource::Default)
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
    use crate::testing;

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
    fn column_then_number_then_default() {
        let dir = tempfile::tempdir().unwrap();
        let csv = "name,phone,tz\nAna,(415) 555-0101,\n";
        let campaign = testing::campaign(
            dir.path(),
            "  timezone_column: tz\n",
            "schedule:\n  timezone: America/New_York\n",
            csv,
        );
        let got = |column, phone| resolve(&campaign, column, phone).map(|z| (z.name, z.source));
        assert_eq!(
            got(Some("Europe/Paris"), "+14155550101"),
            Some(("Europe/Paris".into(), TzSource::Column))
        );
        assert_eq!(
            got(None, "+14155550101"),
            Some(("America/Los_Angeles".into(), TzSource::Number))
        );
        assert_eq!(
            got(None, "+18505550101"),
            Some(("America/New_York".into(), TzSource::Default))
        );
        assert!(!required_but_unknown(
            &campaign,
            resolve(&campaign, None, "+18505550101").as_ref()
        ));
    }

    #[test]
    fn without_a_schedule_an_unknown_zone_stays_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let campaign = testing::campaign(dir.path(), "", "", "name,phone\nAna,(415) 555-0101\n");
        assert_eq!(resolve(&campaign, None, "+18505550101"), None);
        assert_eq!(
            resolve(&campaign, None, "+14155550101").map(|z| z.source),
            Some(TzSource::Number)
        );
        assert!(!required_but_unknown(&campaign, None));
    }

    #[test]
    fn require_known_timezone_skips_only_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let campaign = testing::campaign(
            dir.path(),
            "",
            "schedule:\n  timezone: America/New_York\n  require_known_timezone: true\n",
            "name,phone\nAna,(415) 555-0101\n",
        );
        let unknown = resolve(&campaign, None, "+18505550101");
        assert!(required_but_unknown(&campaign, unknown.as_ref()));
        let known = resolve(&campaign, None, "+14155550101");
        assert!(!required_but_unknown(&campaign, known.as_ref()));
    }
}
