//! Text helpers: making untrusted text safe to print on a terminal or to paste into a shell, and
//! numbers easy to read.
//!
//! CSV cells and API bodies can carry control characters (an ANSI escape in a contact's name
//! could rewrite the screen); everything from outside goes through [`escape_control`] before
//! it reaches stdout or stderr. A command we suggest (in a hint, or on the report page) quotes
//! each word with [`shell_word`].

use std::borrow::Cow;

/// Replaces control characters (other than none) with visible escapes such as `\u{1b}`.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `bytes` read as Windows-1252 (what Excel's "CSV (Comma delimited)" writes on Windows), to
/// show a cell that is not UTF-8 as its author sees it; `None` when some byte is undefined there.
pub fn windows_1252(bytes: &[u8]) -> Option<String> {
    // 0x80..=0x9F; the rest of the upper half is Latin-1. Zeros are the five undefined bytes.
    const HIGH: [char; 32] = [
        '€', '\0', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\0', 'Ž', '\0', '\0',
        '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\0', 'ž', 'Ÿ',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => Some(HIGH[usize::from(b - 0x80)]).filter(|&c| c != '\0'),
            _ => Some(char::from(b)),
        })
        .collect()
}

/// `10,000`: a whole number with thousands separators.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `text` as one word of a shell command a hint suggests: quoted when it has to be.
pub fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+:=,@".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_is_read_as_excel_wrote_it() {
        assert_eq!(
            windows_1252(b"Zo\xeb \xd3'Brien \x80\x96").as_deref(),
            Some("Zoë Ó'Brien €–")
        );
        assert_eq!(windows_1252(b"\x81"), None);
    }

    #[test]
    fn numbers_read_with_separators() {
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(1_065_536), "1,065,536");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escape_control("Zoë Ng"), Cow::Borrowed("Zoë Ng")));
    }

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(escape_control("a\u{1b}[2Jb\nc"), "a\\u{1b}[2Jb\\nc");
    }
}

/// The candidate closest to `word`, when one is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    candidates
        .into_iter()
        .filter(|&c| c != word)
        .map(|c| {
            (
                strsim::damerau_levenshtein(&word_lower, &c.to_lowercase()),
                c,
            )
        })
        // Allow about one edit per three characters, and at least two: "nmae" → "name".
        .filter(|&(distance, c)| distance <= (c.chars().count() / 3).max(2))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod suggestion_tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["name", "input", "call", "fields", "schedule"];
        assert_eq!(did_you_mean("nmae", keys), Some("name"));
        assert_eq!(did_you_mean("shedule", keys), Some("schedule"));
        assert_eq!(did_you_mean("Fields", keys), Some("fields"));
        assert_eq!(did_you_mean("webhook", keys), None);
        assert_eq!(did_you_mean("name", keys), None);
    }
}
