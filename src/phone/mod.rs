//! Phone numbers: whatever a spreadsheet holds → E.164, or a precise reason why not.
//!
//! Parsing and validity come from libphonenumber's metadata, through `rlibphonenumber`, a port of
//! Google's library checked against its C++ original. Nothing is guessed: a number that is not
//! valid as written (with `default_region` for national formats) is refused, and when it *would*
//! be valid with a `+` in front, the reason says so instead of silently adding one.
//!
//! The parser is a shared static without a lock: every worker thread of a scan checks numbers
//! at once.

use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumber, PhoneNumberFormat, PhoneNumberType};

/// A country or region, by its ISO 3166-1 code (`US`, `GB`): `default_region`, and the country a
/// number belongs to.
pub use rlibphonenumber::Region;

/// Why a cell cannot be called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("no phone number")]
    Empty,
    #[error(
        "spreadsheet damage: the number was turned into scientific notation; format the column as text and export again"
    )]
    Scientific(String),
    #[error("looks like an international number that lost its leading '+' (did you mean {0}?)")]
    LostPlus(String),
    #[error("no country code, and the campaign has no input.default_region")]
    NoCountryCode,
    #[error("has an extension ({0}), which the API cannot dial")]
    Extension(String),
    #[error("not a valid phone number")]
    Invalid,
    /// The API's guardrails refuse it; calling would only fail.
    #[error("the API does not call {0}")]
    Blocked(&'static str),
}

/// Destination countries the API calls (../shared/bys-api.md, guardrails).
pub const SUPPORTED_COUNTRIES: [Region; 6] = [
    Region::US,
    Region::CA,
    Region::GB,
    Region::AU,
    Region::NZ,
    Region::IL,
];

impl PhoneError {
    /// A short, stable label used to group rows in reports.
    pub fn label(&self) -> &'static str {
        match self {
            PhoneError::Empty => "missing phone number",
            PhoneError::Scientific(_) => {
                "phone number damaged by a spreadsheet (scientific notation)"
            }
            PhoneError::LostPlus(_) => "international number without its leading '+'",
            PhoneError::NoCountryCode => "phone number without country code",
            PhoneError::Extension(_) => "phone number with an extension",
            PhoneError::Invalid => "invalid phone number",
            PhoneError::Blocked(_) => "destination the API blocks",
        }
    }
}

/// Normalizes `raw` to E.164 (`+14155550123`).
pub fn normalize(raw: &str, default_region: Option<Region>) -> Result<String, PhoneError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(PhoneError::Empty);
    }
    if is_scientific(text) {
        return Err(PhoneError::Scientific(text.to_owned()));
    }
    let international = text.starts_with('+');
    if international && calling_code(&text[1..]).is_some_and(|code| !is_supported(code)) {
        return Err(PhoneError::Blocked(OUTSIDE));
    }
    let parsed = match (international, default_region) {
        (true, _) => parse(text, None),
        (false, Some(region)) => parse(text, Some(region)),
        (false, None) => None,
    };
    if let Some((number, region)) = parsed {
        check_destination(&number, region)?;
        return e164(&number);
    }
    if !international {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let plus = format!("+{digits}");
        // Only the countries the API calls are tried: a row it could not call either way is
        // better told "invalid" than sent looking for a country its digits might spell. Nor is
        // the default region's own code: reading the number in that region has tried it.
        let own = default_region.and_then(|r| PHONE_NUMBER_UTIL.get_country_code_for_region(r));
        if digits.len() >= 8
            && calling_code(&digits).is_some_and(|code| is_supported(code) && Some(code) != own)
            && parse(&plus, None).is_some_and(|(_, region)| SUPPORTED_COUNTRIES.contains(&region))
        {
            return Err(PhoneError::LostPlus(plus));
        }
        if default_region.is_none() {
            return Err(PhoneError::NoCountryCode);
        }
    }
    Err(PhoneError::Invalid)
}

/// What a number of another country is refused for.
const OUTSIDE: &str = "numbers outside US, CA, GB, AU, NZ and IL";

/// Whether `code` is the country calling code of one of [`SUPPORTED_COUNTRIES`].
pub fn is_supported(code: i32) -> bool {
    SUPPORTED_COUNTRIES
        .iter()
        .any(|&region| PHONE_NUMBER_UTIL.get_country_code_for_region(region) == Some(code))
}

/// The country calling code that `digits` (what follows a `+`) starts with, if some country
/// uses it: the first one to three digits, separators aside, that name one.
///
/// Read from the table of codes, before any pattern: the parser compiles a country's patterns
/// the first time it meets one of its numbers and keeps them, about half a megabyte a country,
/// so a file with numbers of every country would otherwise hold some 120 MiB of them. Numbers
/// of countries the API does not call are refused without them.
fn calling_code(digits: &str) -> Option<i32> {
    let mut code = 0;
    let lead = digits
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'-' | b'.' | b'(' | b')' | b'/'))
        .take(3);
    for byte in lead {
        if !byte.is_ascii_digit() {
            return None;
        }
        code = code * 10 + i32::from(byte - b'0');
        if PHONE_NUMBER_UTIL
            .get_region_for_country_code(code)
            .is_some()
        {
            return Some(code);
        }
    }
    None
}

/// The number `text` spells and the region it belongs to, if it is a valid one.
fn parse(text: &str, default_region: Option<Region>) -> Option<(PhoneNumber, Region)> {
    let number = PHONE_NUMBER_UTIL.parse(text, default_region).ok()?;
    let region = valid_region(&number)?;
    Some((number, region))
}

/// The region a valid number belongs to; `None` for an invalid one. (What `is_valid` does,
/// keeping the region it finds: finding it is most of the work.)
fn valid_region(number: &PhoneNumber) -> Option<Region> {
    number
        .get_region_code()
        .filter(|&region| number.is_valid_for_region(region))
}

/// What the API's guardrails look at in a number written in international form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destination {
    /// The country calling code (`1`, `44`).
    pub country_code: i32,
    pub valid: bool,
    /// The region the number belongs to (`+1 416…` is CA), when it is valid.
    pub region: Option<Region>,
    pub premium_rate: bool,
}

/// The [`Destination`] of `text`, or `None` when it does not parse as a number with a `+`.
pub fn destination(text: &str) -> Option<Destination> {
    let number = PHONE_NUMBER_UTIL.parse(text, None).ok()?;
    let region = valid_region(&number);
    Some(Destination {
        country_code: number.country_code,
        valid: region.is_some(),
        region,
        premium_rate: number.get_type() == PhoneNumberType::PremiumRate,
    })
}

/// The guardrails the API applies before placing a call, checked early so that `validate` can
/// report such rows instead of the run failing on them one by one.
fn check_destination(number: &PhoneNumber, region: Region) -> Result<(), PhoneError> {
    match number.get_type() {
        PhoneNumberType::PremiumRate => return Err(PhoneError::Blocked("premium-rate numbers")),
        PhoneNumberType::SharedCost => return Err(PhoneError::Blocked("shared-cost numbers")),
        _ => {}
    }
    if SUPPORTED_COUNTRIES.contains(&region) {
        Ok(())
    } else {
        Err(PhoneError::Blocked(OUTSIDE))
    }
}

fn e164(number: &PhoneNumber) -> Result<String, PhoneError> {
    match number.extension.as_deref() {
        Some(ext) if !ext.is_empty() => Err(PhoneError::Extension(ext.to_owned())),
        _ => Ok(number.format_as(PhoneNumberFormat::E164).into_owned()),
    }
}

/// A number already written in international form, normalized; `None` if it is not a valid one.
pub fn strict_e164(text: &str) -> Option<String> {
    let text = text.trim();
    if !text.starts_with('+') {
        return None;
    }
    e164(&parse(text, None)?.0).ok()
}

/// `1.41555E+10`, `4.15555e9`: what Excel shows when a phone column is formatted as a number.
fn is_scientific(text: &str) -> bool {
    let Some((mantissa, exponent)) = text.split_once(['e', 'E']) else {
        return false;
    };
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    !mantissa.is_empty()
        && mantissa
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        && !exponent.is_empty()
        && exponent.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: Option<Region> = Some(Region::US);

    #[test]
    fn national_formats_use_the_default_region() {
        for raw in [
            "(415) 555-0123",
            "415.555.0123",
            "415-555-0123",
            "4155550123",
            "1 415 555 0123",
            " +1 (415) 555-0123 ",
        ] {
            assert_eq!(normalize(raw, US).as_deref(), Ok("+14155550123"), "{raw:?}");
        }
    }

    #[test]
    fn international_numbers_ignore_the_default_region() {
        assert_eq!(
            normalize("+44 20 7946 0958", US).as_deref(),
            Ok("+442079460958")
        );
        assert_eq!(
            normalize("+61 2 5550 1234", None).as_deref(),
            Ok("+61255501234")
        );
    }

    #[test]
    fn every_country_the_api_calls_in_its_own_spellings() {
        let gb = Some(Region::GB);
        let au = Some(Region::AU);
        for (raw, region, e164) in [
            ("0113 496 0123", gb, "+441134960123"),
            ("(020) 7946 0123", gb, "+442079460123"),
            ("+44 (0)20 7946 0123", gb, "+442079460123"),
            ("0491 570 156", au, "+61491570156"),
            ("(02) 5550 1234", au, "+61255501234"),
            ("+61 491 570 156", None, "+61491570156"),
            ("+64 21 555 0123", None, "+64215550123"),
            ("+64 9 555 0123", None, "+6495550123"),
            ("+972 50 555 0123", None, "+972505550123"),
            ("+972 2 555 0123", None, "+97225550123"),
            ("+1 (604) 555-0123", US, "+16045550123"),
        ] {
            assert_eq!(normalize(raw, region).as_deref(), Ok(e164), "{raw:?}");
        }
        // A national spelling is read in the campaign's region, not guessed from its shape.
        assert_eq!(normalize("0113 496 0123", US), Err(PhoneError::Invalid));
    }

    #[test]
    fn spreadsheet_damage_is_named() {
        assert_eq!(
            normalize("1.41555E+10", US),
            Err(PhoneError::Scientific("1.41555E+10".into()))
        );
        assert_eq!(
            normalize("4.155550123e9", US),
            Err(PhoneError::Scientific("4.155550123e9".into()))
        );
        assert_eq!(
            normalize("442079460958", US),
            Err(PhoneError::LostPlus("+442079460958".into()))
        );
    }

    #[test]
    fn a_lost_plus_is_suggested_only_for_a_country_the_api_calls() {
        assert_eq!(
            normalize("61 491 570 156", US),
            Err(PhoneError::LostPlus("+61491570156".into()))
        );
        // A mistyped US area code is not taken for Gabon (+241).
        assert_eq!(normalize("(241) 555-0100", US), Err(PhoneError::Invalid));
        // Nor for a region that shares a supported code but is not called: Jersey (+44), Jamaica
        // (+1).
        assert_eq!(normalize("447797712345", US), Err(PhoneError::Invalid));
        assert_eq!(
            normalize("18765550115", Some(Region::GB)),
            Err(PhoneError::Invalid)
        );
    }

    #[test]
    fn nothing_is_guessed() {
        assert_eq!(normalize("", US), Err(PhoneError::Empty));
        assert_eq!(normalize("555-0123", US), Err(PhoneError::Invalid));
        assert_eq!(normalize("020 7946 0958", US), Err(PhoneError::Invalid));
        assert_eq!(
            normalize("(415) 555-0123", None),
            Err(PhoneError::NoCountryCode)
        );
        assert_eq!(normalize("call me", US), Err(PhoneError::Invalid));
        assert_eq!(
            normalize("415 555 0123 ext. 12", US),
            Err(PhoneError::Extension("12".into()))
        );
    }

    #[test]
    fn destinations_the_api_blocks_are_refused() {
        assert_eq!(
            normalize("+1 900 555 0100", US),
            Err(PhoneError::Blocked("premium-rate numbers"))
        );
        assert_eq!(
            normalize("+33 1 23 45 67 89", US),
            Err(PhoneError::Blocked(OUTSIDE))
        );
        assert_eq!(
            normalize("+1 416 555 0100", US).as_deref(),
            Ok("+14165550100")
        );
        // Told by its country code alone, valid or not, as the API tells it.
        for raw in ["+33 1 23", "+881 6 1234 5678", "+7 (495) 555-01-00"] {
            assert_eq!(
                normalize(raw, US),
                Err(PhoneError::Blocked(OUTSIDE)),
                "{raw:?}"
            );
        }
        // No country uses +999: that is no number at all.
        assert_eq!(normalize("+999 555 0100", US), Err(PhoneError::Invalid));
    }

    #[test]
    fn strict_form_requires_a_plus() {
        assert_eq!(
            strict_e164("+1 415 555 0100").as_deref(),
            Some("+14155550100")
        );
        assert_eq!(strict_e164("14155550100"), None);
        assert_eq!(strict_e164("+1 555"), None);
    }
}
