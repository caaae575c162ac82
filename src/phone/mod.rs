//! Phone numbers: whatever a spreadsheet holds → E.164, or a precise reason why not.
//!
//! Parsing and validity come from libphonenumber's metadata (the `phonenumber` crate). Nothing is
//! guessed: a number that is not valid as written (with `default_region` for national formats)
//! is refused, and when it *would* be valid with a `+` in front, the reason says so instead of
//! silently adding one. The usual spellings of North American numbers take a cheap path that
//! checks them against the same metadata ([`nanp`]).

mod nanp;

use std::sync::{Mutex, PoisonError};

use phonenumber::country::Id;
use phonenumber::{Mode, PhoneNumber};

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
pub const SUPPORTED_COUNTRIES: [Id; 6] = [Id::US, Id::CA, Id::GB, Id::AU, Id::NZ, Id::IL];

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

/// Held while the full parser runs (see [`normalize`]).
static FULL_PARSER: Mutex<()> = Mutex::new(());

/// Normalizes `raw` to E.164 (`+14155550123`).
pub fn normalize(raw: &str, default_region: Option<Id>) -> Result<String, PhoneError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(PhoneError::Empty);
    }
    if let Some(e164) = nanp::callable(text, default_region) {
        return Ok(e164);
    }
    // The crate takes its cache's lock once per pattern it looks up, dozens of times a number:
    // threads parsing at once hand that lock back and forth, and two were slower than one.
    // Taken here once per number, the full parser runs on one thread at a time.
    let _one_at_a_time = FULL_PARSER.lock().unwrap_or_else(PoisonError::into_inner);
    if is_scientific(text) {
        return Err(PhoneError::Scientific(text.to_owned()));
    }
    let international = text.starts_with('+');
    let parsed = match (international, default_region) {
        (true, _) => phonenumber::parse(None, text).ok(),
        (false, Some(region)) => phonenumber::parse(Some(region), text).ok(),
        (false, None) => None,
    };
    if let Some(number) = parsed.filter(phonenumber::is_valid) {
        check_destination(&number)?;
        return e164(&number);
    }
    if !international {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let plus = format!("+{digits}");
        if digits.len() >= 8 && strict_e164(&plus).is_some() {
            return Err(PhoneError::LostPlus(plus));
        }
        if default_region.is_none() {
            return Err(PhoneError::NoCountryCode);
        }
    }
    Err(PhoneError::Invalid)
}

/// The guardrails the API applies before placing a call, checked early so that `validate` can
/// report such rows instead of the run failing on them one by one.
fn check_destination(number: &PhoneNumber) -> Result<(), PhoneError> {
    use phonenumber::Type;
    use phonenumber::metadata::DATABASE;
    match number.number_type(&DATABASE) {
        Type::PremiumRate => return Err(PhoneError::Blocked("premium-rate numbers")),
        Type::SharedCost => return Err(PhoneError::Blocked("shared-cost numbers")),
        _ => {}
    }
    match number.country().id() {
        Some(id) if SUPPORTED_COUNTRIES.contains(&id) => Ok(()),
        _ => Err(PhoneError::Blocked(
            "numbers outside US, CA, GB, AU, NZ and IL",
        )),
    }
}

fn e164(number: &PhoneNumber) -> Result<String, PhoneError> {
    if let Some(ext) = number.extension() {
        return Err(PhoneError::Extension(ext.to_string()));
    }
    Ok(number.format().mode(Mode::E164).to_string())
}

/// A number already written in international form, normalized; `None` if it is not a valid one.
pub fn strict_e164(text: &str) -> Option<String> {
    let text = text.trim();
    if !text.starts_with('+') {
        return None;
    }
    let number = phonenumber::parse(None, text)
        .ok()
        .filter(phonenumber::is_valid)?;
    e164(&number).ok()
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

    const US: Option<Id> = Some(Id::US);

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
            Err(PhoneError::Blocked(
                "numbers outside US, CA, GB, AU, NZ and IL"
            ))
        );
        assert_eq!(
            normalize("+1 416 555 0100", US).as_deref(),
            Ok("+14165550100")
        );
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
