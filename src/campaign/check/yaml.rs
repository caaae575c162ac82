//! A YAML error from serde as a problem a person can act on: where, what was found, what was
//! expected, in words.

use crate::campaign::Problem;
use crate::campaign::locate::Pos;
use crate::text::did_you_mean;

/// Turns serde_yaml's message into one that names the key and says how to fix it, in the
/// file's own words (never a Rust type's name).
pub(super) fn from_serde(err: &serde_yaml::Error, source: &str) -> Problem {
    let pos = err.location().map(|l| Pos {
        line: l.line(),
        column: l.column(),
    });
    if source.trim().is_empty() {
        return Problem::new(pos, "the campaign file is empty")
            .hint("start from one in campaigns/, e.g. campaigns/appointment-confirmations.yaml");
    }
    let line = pos.and_then(|p| source.lines().nth(p.line.saturating_sub(1)));
    if line.is_some_and(|l| l.trim_end().starts_with('\t') || l.contains("\t")) {
        return Problem::new(
            pos,
            "a tab in the indentation: YAML indents with spaces only",
        )
        .hint("replace the tab on this line with spaces");
    }
    let full = err.to_string();
    // serde_yaml appends " at line L column C"; the position is reported separately.
    let text = match full.rfind(" at line ") {
        Some(i) => &full[..i],
        None => &full[..],
    };
    // …and prefixes the path of the value: "input: unknown field …".
    let (section, detail) = match text.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => (Some(path), rest),
        _ => (None, text),
    };
    let within = section.map(|s| format!(" in `{s}`")).unwrap_or_default();
    let quoted: Vec<&str> = detail.split('`').skip(1).step_by(2).collect();
    if detail.starts_with("unknown field") {
        let key = quoted.first().copied().unwrap_or_default();
        let problem = Problem::new(pos, format!("unknown key `{key}`{within}"));
        return match did_you_mean(key, quoted.iter().skip(1).copied()) {
            Some(near) => problem.hint(format!("did you mean `{near}`?")),
            None => problem.hint(format!(
                "the keys allowed here are: {}",
                quoted[1..].join(", ")
            )),
        };
    }
    if detail.starts_with("missing field") {
        let key = quoted.first().copied().unwrap_or_default();
        return Problem::new(pos, format!("missing required key `{key}`{within}")).hint(REFERENCE);
    }
    if detail.starts_with("duplicate field") {
        let key = quoted.first().copied().unwrap_or_default();
        return Problem::new(pos, format!("the key `{key}` is given twice{within}"))
            .hint("keep one of them");
    }
    let what = section.map_or("the campaign file".to_owned(), |s| format!("`{s}`"));
    if let Some((found, expected)) = detail
        .strip_prefix("invalid type: ")
        .or_else(|| detail.strip_prefix("invalid value: "))
        .and_then(|rest| rest.split_once(", expected "))
    {
        let problem = Problem::new(
            pos,
            format!(
                "{what} must be {}, not {}",
                expected_words(expected),
                found_words(found)
            ),
        );
        return match expected {
            "a string" => {
                problem.hint("put the value in quotes, e.g. \"+14155550100\" or \"09:00\"")
            }
            _ => problem.hint(REFERENCE),
        };
    }
    match section {
        Some(path) => Problem::new(pos, format!("`{path}`: {detail}")),
        None => Problem::new(pos, detail.to_owned()),
    }
}

/// Where every key of the campaign file is described.
const REFERENCE: &str = "see the campaign file reference (docs/campaign.md)";

/// What serde says a value is, as the campaign file's author would say it.
fn found_words(found: &str) -> String {
    let (kind, value) = match found.split_once(' ') {
        Some((kind, value)) => (kind, value.trim_matches('`')),
        None => (found, ""),
    };
    match kind {
        "sequence" => "a list".to_owned(),
        "map" => "a mapping".to_owned(),
        "unit" | "null" => "empty".to_owned(),
        "integer" | "floating" => format!("the number {}", value.trim_start_matches("point `")),
        "string" => format!("the text {value}"),
        "boolean" => format!("`{value}`"),
        _ => found.to_owned(),
    }
}

/// What serde expected, as the campaign file's author would say it (the raw structs say it
/// themselves; this covers the plain types).
fn expected_words(expected: &str) -> &str {
    match expected {
        "a sequence" => "a list",
        "a string" => "text",
        "a boolean" => "true or false",
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number",
        "f32" | "f64" => "a number",
        e if e.starts_with("struct ") || e.starts_with("enum ") => "a mapping",
        e => e,
    }
}
