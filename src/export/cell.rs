//! How one cell of the results CSV is written, by what it holds: untrusted text neutralised (or,
//! for a spreadsheet, kept as text where it would turn into a damaged number), times in UTC or
//! local, typed fields, transcripts.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::ExportOptions;
use crate::campaign::FieldKind;

/// How one cell is written, by what it holds.
pub(super) struct Cells<'a> {
    pub(super) options: ExportOptions,
    pub(super) zone: &'a TimeZone,
}

impl Cells<'_> {
    /// Text from the CSV or the API: neutralised; for a spreadsheet, kept as text if it would
    /// turn into a damaged number.
    pub(super) fn text(&self, s: &str) -> String {
        match self.options {
            ExportOptions { raw: true, .. } => s.to_owned(),
            ExportOptions { excel: true, .. } if damaged_as_number(s) => as_text(s),
            _ => neutralise(s),
        }
    }

    /// A phone number: for a spreadsheet, always kept as text.
    pub(super) fn phone(&self, s: &str) -> String {
        match self.options {
            ExportOptions {
                raw: false,
                excel: true,
                ..
            } if phone_like(s) => as_text(s),
            _ => self.text(s),
        }
    }

    /// An instant: RFC 3339 in UTC to the second; for a spreadsheet, the local date and time in
    /// the campaign's zone, which spreadsheets read as a date-time.
    pub(super) fn time(&self, at: Option<Timestamp>) -> String {
        let Some(at) = at else {
            return String::new();
        };
        let at = at.round(jiff::Unit::Second).unwrap_or(at);
        if self.options.excel {
            at.to_zoned_datetime(self.zone.clone())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        } else {
            at.to_string()
        }
    }
}

/// `="…"`: a formula whose value is the text itself, which a spreadsheet keeps as text. Only
/// for [`phone_like`] cells, which hold no quote.
fn as_text(s: &str) -> String {
    format!("=\"{s}\"")
}

/// Digits, spaces and `+ - ( ) .` only, with at least seven digits.
fn phone_like(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    digits >= 7
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'))
}

/// Whether a spreadsheet would read `s` as a number and lose something: a leading zero
/// (`02079460107` → 2079460107, `007` → 7), digits past what it shows (`442079460109` →
/// 4.42E+11), or the `+` of a phone number (`+14155550123` → 14155550123).
fn damaged_as_number(s: &str) -> bool {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        return (s.len() >= 2 && s.starts_with('0')) || s.len() >= 12;
    }
    s.starts_with('+') && phone_like(s)
}

/// A plain decimal number (`3`, `-15.00`, `+2.5`), which a spreadsheet reads as its value,
/// never as a formula; a `+` followed by seven digits or more is a phone number, not one.
fn is_number(s: &str) -> bool {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let number = !unsigned.is_empty()
        && unsigned != "."
        && digits(whole)
        && digits(fraction)
        && (!whole.is_empty() || !fraction.is_empty());
    number && !(s.starts_with('+') && whole.len() >= 7)
}

/// A typed field's cell: booleans `true`/`false` and numbers as JSON writes them (ours, never
/// neutralised); text, and values of an unexpected type, as untrusted text; empty for null.
pub(super) fn field_cell(
    kind: FieldKind,
    value: Option<&Value>,
    text: &dyn Fn(&str) -> String,
) -> String {
    match (kind, value) {
        (_, None | Some(Value::Null)) => String::new(),
        (FieldKind::Boolean, Some(Value::Bool(b))) => b.to_string(),
        (FieldKind::Number, Some(Value::Number(n))) => n.to_string(),
        (_, Some(Value::String(s))) => text(s),
        (_, Some(other)) => text(&other.to_string()),
    }
}

/// A transcript as text: a string as is; an array of turns as `Speaker: text` lines (the speaker
/// from `speaker` or `role`, capitalised; the words from `text`, `content` or `message`).
pub fn transcript_text(transcript: &Value) -> String {
    match transcript {
        Value::String(s) => s.clone(),
        Value::Array(turns) => turns
            .iter()
            .map(|turn| match turn {
                Value::String(s) => s.clone(),
                Value::Object(turn) => {
                    let pick = |names: &[&str]| {
                        names
                            .iter()
                            .find_map(|n| turn.get(*n).and_then(Value::as_str))
                            .unwrap_or_default()
                    };
                    let speaker = capitalise(pick(&["speaker", "role", "name"]));
                    let words = pick(&["text", "content", "message"]);
                    if speaker.is_empty() {
                        words.to_owned()
                    } else {
                        format!("{speaker}: {words}")
                    }
                }
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Prefixes `'` to text a spreadsheet would run as a formula; a plain number is left alone.
pub fn neutralise(cell: &str) -> String {
    if !is_number(cell) && cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralise_only_touches_formula_starts() {
        for (cell, expected) in [
            ("=1+1", "'=1+1"),
            ("+14155550101", "'+14155550101"),
            ("+44 20 7946 0101", "'+44 20 7946 0101"),
            ("-3", "-3"),
            ("-15.00", "-15.00"),
            ("+2.5", "+2.5"),
            (".5", ".5"),
            ("-", "'-"),
            ("-.", "'-."),
            ("-call back", "'-call back"),
            ("-15.00x", "'-15.00x"),
            ("+1-1", "'+1-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("a=b", "a=b"),
            (" =1", " =1"),
            ("", ""),
            ("Zoë", "Zoë"),
        ] {
            assert_eq!(neutralise(cell), expected, "{cell:?}");
        }
    }
}
