//! Making untrusted text safe to print on a terminal.
//!
//! CSV cells and API bodies can carry control characters (an ANSI escape in a contact's name
//! could rewrite the screen); everything from outside goes through [`escape_control`] before
//! it reaches stdout or stderr.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escape_control("Zoë Ng"), Cow::Borrowed("Zoë Ng")));
    }

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(escape_control("a\u{1b}[2Jb\nc"), "a\\u{1b}[2Jb\\nc");
    }
}
