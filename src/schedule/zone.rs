//! A contact's time zone and where it came from: the row's `timezone_column` when it has a value,
//! else the zone its number lies in when the number tells ([`super::numbers`]), else the
//! campaign's `schedule.timezone`. Recorded per contact as `timezone` and `tz_source`.

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::testing;

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
