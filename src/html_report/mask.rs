//! Phone numbers hidden but for their last four digits, in any text the report shows by default
//! (keys of campaigns keyed by number, reasons, errors, answers).
//!
//! A phone number is found as a run of digits and the separators people write in numbers
//! (`+`, spaces, `-`, `.`, `(`, `)`, `/`) holding 7 to 15 digits; every digit of it but the last
//! four becomes `•`, separators stay. Dates written `2026-12-07` (or `07/12/2026`) are left
//! alone. The rule errs towards hiding: a long reference number is masked too.

use std::borrow::Cow;

const HIDDEN: char = '•';
const SEPARATORS: &[char] = &['+', ' ', '-', '.', '(', ')', '/'];

/// `text` with every phone number in it masked (see the module header).
pub fn phones(text: &str) -> Cow<'_, str> {
    if text.chars().filter(char::is_ascii_digit).count() < 7 {
        return Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !(c.is_ascii_digit() || c == '+' || c == '(') {
            out.push(c);
            i += 1;
            continue;
        }
        // The run: digits and separators, ending at its last digit.
        let mut end = i;
        let mut last_digit = None;
        while end < chars.len() && (chars[end].is_ascii_digit() || SEPARATORS.contains(&chars[end]))
        {
            if chars[end].is_ascii_digit() {
                last_digit = Some(end);
            }
            end += 1;
        }
        let Some(last) = last_digit else {
            out.push(c);
            i += 1;
            continue;
        };
        let run = &chars[i..=last];
        let digits = run.iter().filter(|c| c.is_ascii_digit()).count();
        if (7..=15).contains(&digits) && !is_date(run) {
            let mut keep = 4;
            let mut masked: Vec<char> = run.to_vec();
            for c in masked.iter_mut().rev() {
                if c.is_ascii_digit() {
                    if keep > 0 {
                        keep -= 1;
                    } else {
                        *c = HIDDEN;
                    }
                }
            }
            out.extend(masked);
        } else {
            out.extend(run);
        }
        i = last + 1;
    }
    Cow::Owned(out)
}

/// `2026-12-07`, `2026/12/07`, `07.12.2026`, `12/07/2026`: groups of 4-2-2 or 2-2-4 digits.
fn is_date(run: &[char]) -> bool {
    let groups: Vec<usize> = run
        .split(|c| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(<[char]>::len)
        .collect();
    matches!(groups.as_slice(), [4, 2, 2] | [2, 2, 4])
}

#[cfg(test)]
mod tests {
    use super::phones;

    #[test]
    fn numbers_keep_their_last_four_digits_and_their_punctuation() {
        for (text, masked) in [
            ("+14155550101", "+•••••••0101"),
            ("(415) 555-0101", "(•••) •••-0101"),
            (
                "\"555-0121\": not a valid phone number",
                "\"•••-0121\": not a valid phone number",
            ),
            (
                "+16175550144 is on a suppression list",
                "+•••••••0144 is on a suppression list",
            ),
            (
                "call +44 20 7946 0123 or 020 7946 0124",
                "call +•• •• •••• 0123 or ••• •••• 0124",
            ),
            ("1.31255E+10", "1.31255E+10"),
        ] {
            assert_eq!(phones(text), masked, "{text}");
        }
    }

    #[test]
    fn short_numbers_dates_and_ordinary_text_stay() {
        for text in [
            "key \"A-1005\" is also on line 6",
            "ended at 2026-12-07T16:26:03Z after 178 s",
            "on 07/12/2026",
            "invalid_number: not a valid number",
            "10:30",
            "",
        ] {
            assert_eq!(phones(text), text);
        }
    }
}
