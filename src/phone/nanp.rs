//! The cheap path for the usual spellings of North American numbers, tried before the full
//! parser.
//!
//! Why: the `phonenumber` crate looks up each of its patterns in one shared, locked LRU cache
//! keyed by the pattern's text, hashing that text (up to a few KB for the US) on every lookup.
//! Parsing, validating and typing one number does it a few dozen times: 90 % of `validate` on a
//! million rows went there. Here the same patterns, read from the same metadata, are compiled
//! once, and a number written in one of the shapes below is checked with them directly.
//!
//! Invariant: [`callable`] answers only where the full path would accept the number, and then
//! with the same E.164 text; everything else (other shapes, other countries, any number the full
//! path would refuse) gets `None` and goes through the full path, which words the refusal. The
//! checks mirror `phonenumber::validator` (`source_for`, `number_type`, `Descriptor::is_match`);
//! the tests compare both paths on every area code.

use std::sync::LazyLock;

use phonenumber::country::Id;
use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use regex::{Regex, RegexBuilder};

/// `+1NXXNXXXXXX`, for a number of the shapes below, when it is valid and a destination the API
/// calls; `None` when the full parser must decide.
///
/// Shapes: an optional `+1` or `1` (`1` only with a North American `default_region`), then the
/// area code, bare or in parentheses, the exchange and the line, 3, 3 and 4 digits, each part
/// followed by at most one space, `-` or `.`: `+14155550123`, `(415) 555-0123`,
/// `415.555.0123`, `1 415 555 0123`, `+1 (415) 555-0123`.
pub fn callable(text: &str, default_region: Option<Id>) -> Option<String> {
    let national = national_number(text.as_bytes(), default_region)?;
    let national = std::str::from_utf8(&national).ok()?;
    let tables = &*TABLES;
    let region = tables.regions.iter().find(|r| match &r.leading_digits {
        Some(leading) => leading.is_match(national),
        None => r.kind(national) != Kind::Unknown,
    })?;
    (region.supported && region.kind(national) == Kind::Callable).then(|| format!("+1{national}"))
}

/// The 10 digits of a number of one of the shapes, or `None`.
fn national_number(text: &[u8], default_region: Option<Id>) -> Option<[u8; 10]> {
    let rest = match text {
        [b'+', b'1', rest @ ..] => rest,
        // Without `+`, the number is read in `default_region`, whose national prefix is `1`.
        _ if !matches!(default_region, Some(Id::US | Id::CA)) => return None,
        [b'1', rest @ ..] => rest,
        _ => text,
    };
    let mut digits = [0u8; 10];
    let mut filled = 0;
    let mut rest = separator(rest);
    for (i, len) in [3, 3, 4].into_iter().enumerate() {
        let paren = i == 0 && rest.first() == Some(&b'(');
        let start = usize::from(paren);
        let part = rest.get(start..start + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        digits[filled..filled + len].copy_from_slice(part);
        filled += len;
        rest = &rest[start + len..];
        if paren {
            rest = rest.strip_prefix(b")")?;
        }
        rest = separator(rest);
    }
    // The national number of a valid North American number starts with 2 to 9: a leading 0 or
    // 1 would be read as a prefix, which the full parser decides.
    (rest.is_empty() && digits[0] >= b'2').then_some(digits)
}

fn separator(text: &[u8]) -> &[u8] {
    match text {
        [b' ' | b'-' | b'.', rest @ ..] => rest,
        _ => text,
    }
}

/// What `phonenumber::validator::number_type` says, as far as placing a call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unknown,
    /// Premium-rate or shared-cost: the API refuses them.
    Blocked,
    Callable,
}

/// A descriptor's pattern, compiled once: a number matches when its length is possible and the
/// pattern matches at its start (as `Descriptor::is_match`).
#[derive(Debug)]
struct Pattern {
    lengths: Vec<u16>,
    regex: Regex,
}

impl Pattern {
    fn new(descriptor: &Descriptor) -> Pattern {
        Pattern {
            lengths: descriptor.possible_length().to_vec(),
            regex: anchored(descriptor.national_number().as_str()),
        }
    }

    fn is_match(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
            && self.regex.is_match(national)
    }
}

/// The metadata's pattern, matched at the start of the text only, as the crate compiles it
/// (`ignore_whitespace`). The newline ends a `#` comment, should a pattern hold one.
fn anchored(source: &str) -> Regex {
    RegexBuilder::new(&format!("^(?:{source}\n)"))
        .ignore_whitespace(true)
        .build()
        .expect("phonenumber's metadata patterns compile")
}

/// One region of country code 1.
#[derive(Debug)]
struct Region {
    leading_digits: Option<Regex>,
    general: Pattern,
    premium_rate: Option<Pattern>,
    toll_free: Option<Pattern>,
    shared_cost: Option<Pattern>,
    /// Voip, personal, pager, UAN, voicemail, fixed line, mobile: callable kinds, checked in
    /// this order by the crate.
    others: Vec<Pattern>,
    /// Whether the API calls the region (US and CA).
    supported: bool,
}

impl Region {
    fn new(meta: &Metadata) -> Region {
        let d = meta.descriptors();
        let pattern = |d: Option<&Descriptor>| d.map(Pattern::new);
        Region {
            leading_digits: meta.leading_digits().map(|r| anchored(r.as_str())),
            general: Pattern::new(d.general()),
            premium_rate: pattern(d.premium_rate()),
            toll_free: pattern(d.toll_free()),
            shared_cost: pattern(d.shared_cost()),
            others: [
                d.voip(),
                d.personal_number(),
                d.pager(),
                d.uan(),
                d.voicemail(),
                d.fixed_line(),
                d.mobile(),
            ]
            .into_iter()
            .flatten()
            .map(Pattern::new)
            .collect(),
            supported: meta
                .id()
                .parse::<Id>()
                .is_ok_and(|id| super::SUPPORTED_COUNTRIES.contains(&id)),
        }
    }

    /// `number_type`'s order: premium rate, toll free, shared cost, then the rest.
    fn kind(&self, national: &str) -> Kind {
        let matches = |p: &Option<Pattern>| p.as_ref().is_some_and(|p| p.is_match(national));
        if !self.general.is_match(national) {
            Kind::Unknown
        } else if matches(&self.premium_rate) {
            Kind::Blocked
        } else if matches(&self.toll_free) {
            Kind::Callable
        } else if matches(&self.shared_cost) {
            Kind::Blocked
        } else if self.others.iter().any(|p| p.is_match(national)) {
            Kind::Callable
        } else {
            Kind::Unknown
        }
    }
}

struct Tables {
    /// The regions of country code 1, in the order the crate tries them (the US first).
    regions: Vec<Region>,
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| Tables {
    regions: DATABASE
        .by_code(&1)
        .unwrap_or_default()
        .into_iter()
        .map(Region::new)
        .collect(),
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::normalize;

    /// Every area code, in each shape, with a few exchanges and lines, including the
    /// fictional 555-01xx: the cheap path answers as the full parser does, or not at all.
    #[test]
    fn agrees_with_the_full_parser_on_every_area_code() {
        let mut answered = 0;
        let mut valid = 0;
        for area in 200..1000 {
            for (exchange, line) in [(555, "0123"), (234, "5678"), (911, "0000")] {
                for (i, text) in [
                    format!("+1{area}{exchange}{line}"),
                    format!("({area}) {exchange}-{line}"),
                    format!("{area}.{exchange}.{line}"),
                    format!("1 {area} {exchange} {line}"),
                    format!("+1 ({area}) {exchange}-{line}"),
                ]
                .into_iter()
                .enumerate()
                {
                    // A different shape per area code keeps the test quick in debug builds.
                    if (area + i) % 5 != 0 && !(exchange == 555 && i == 0) {
                        continue;
                    }
                    let full = normalize(&text, Some(Id::US));
                    valid += usize::from(full.is_ok());
                    if let Some(cheap) = callable(&text, Some(Id::US)) {
                        assert_eq!(full.as_deref(), Ok(cheap.as_str()), "{text}");
                        answered += 1;
                    }
                }
            }
        }
        assert!(valid > 1000, "only {valid} valid numbers tried");
        assert_eq!(answered, valid, "every valid number takes the cheap path");
    }

    #[test]
    fn other_shapes_and_refusals_are_left_to_the_full_parser() {
        let us = Some(Id::US);
        for text in [
            "+1 900 555 0100",        // premium rate
            "+1 340 555 0100",        // US Virgin Islands: not a destination the API calls
            "555-0123",               // no area code
            "415 555 0123 ext. 12",   // extension
            "+44 20 7946 0958",       // another country
            "(415 555-0123",          // unbalanced
            "415  555 0123",          // two separators
            "+1 0415 555 0123",       // too long
            "１４１５５５５０１２３", // full-width digits
        ] {
            assert_eq!(callable(text, us), None, "{text}");
        }
        // Without `+`, only a North American default region reads a national number.
        assert_eq!(callable("(415) 555-0123", None), None);
        assert_eq!(callable("(415) 555-0123", Some(Id::GB)), None);
        assert_eq!(
            callable("(416) 555-0123", Some(Id::CA)).as_deref(),
            Some("+14165550123")
        );
    }
}
