//! The report's sections as data: each built from the state file's aggregates by a pure
//! function (the charts' data is tested here, without SQL or a browser), then handed to the
//! template as plain strings and numbers.
//!
//! Widths are percentages of the section's largest or total count, formatted for a `style`
//! attribute; labels are final text. Nothing here escapes HTML: the template does, for every
//! value (see `template`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::store::FunnelCounts;

/// The results a call can have, in the order every chart and legend lists them: the five
/// outcomes, then `unknown` (it may have gone out) and `placed` (still in flight).
pub const RESULTS: [&str; 7] = [
    "completed",
    "voicemail",
    "no_answer",
    "declined",
    "failed",
    "unknown",
    "placed",
];

/// A result as people read it.
pub fn result_label(result: &str) -> &str {
    match result {
        "no_answer" => "no answer",
        "placed" => "in flight",
        "unknown" => "unknown (may have gone out)",
        other => other,
    }
}

/// `n` and the word for one or many: `1 call`, `3 calls`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `part` of `whole` as a percentage, for a width (`0%` of nothing).
pub fn width(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0%".into();
    }
    format!("{:.2}%", part as f64 * 100.0 / whole as f64)
}

/// `part` of `whole` as people read it: `83 %`, `0.4 %`, `—` of nothing.
pub fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "—".into();
    }
    let pct = part as f64 * 100.0 / whole as f64;
    if pct > 0.0 && pct < 1.0 {
        format!("{pct:.1} %")
    } else {
        format!("{pct:.0} %")
    }
}

/// A piece of a stacked bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub label: String,
    /// The CSS class of its colour: `r-completed`, `yes`…
    pub class: String,
    pub count: u64,
    pub width: String,
    /// E.g. `completed: 27 (51 %)`.
    pub title: String,
}

/// A stacked bar of `(label, class, count)`, leaving out empty parts.
pub fn segments(parts: &[(&str, &str, u64)]) -> Vec<Segment> {
    let total: u64 = parts.iter().map(|p| p.2).sum();
    parts
        .iter()
        .filter(|p| p.2 > 0)
        .map(|&(label, class, count)| Segment {
            label: label.to_owned(),
            class: class.to_owned(),
            count,
            width: width(count, total),
            title: format!("{label}: {count} ({})", share(count, total)),
        })
        .collect()
}

/// The legend of the results that occur in `present`.
pub fn legend(present: impl Fn(&str) -> bool) -> Vec<Segment> {
    RESULTS
        .iter()
        .filter(|r| present(r))
        .map(|r| Segment {
            label: result_label(r).to_owned(),
            class: format!("r-{r}"),
            count: 0,
            width: String::new(),
            title: String::new(),
        })
        .collect()
}

// ---- The funnel -------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    pub steps: Vec<FunnelStep>,
    /// Rows left out on the way, with their reasons.
    pub left_out: Vec<LeftOut>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStep {
    pub label: String,
    pub count: u64,
    /// Of the rows.
    pub share: String,
    pub width: String,
    /// Of the step before.
    pub kept: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeftOut {
    pub label: String,
    pub count: u64,
    pub reasons: Vec<Reason>,
    /// Rows whose reasons are not listed.
    pub more: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub text: String,
    pub count: u64,
}

/// How many reasons each group of rows left out lists.
const REASONS_SHOWN: usize = 5;

/// The funnel, from the counts and the reasons `(state, reason, rows)` (see
/// [`crate::store::Snapshot::reasons`]). Reasons that differ only by the row's own values
/// (`"555-0121": not a valid phone number`) are counted as one.
pub fn funnel(c: &FunnelCounts, reasons: &[(String, String, u64)]) -> Funnel {
    let callable = c
        .rows
        .saturating_sub(c.invalid + c.duplicate + c.suppressed);
    let path = [
        ("rows in the CSV", c.rows),
        ("callable", callable),
        ("called", c.called),
        ("reached (the call completed)", c.reached),
        ("every field obtained", c.complete),
    ];
    let mut steps = Vec::new();
    let mut before = c.rows;
    for (label, count) in path {
        steps.push(FunnelStep {
            label: label.to_owned(),
            count,
            share: share(count, c.rows),
            width: width(count, c.rows),
            kept: share(count, before),
        });
        before = count;
    }
    let mut kinds: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
    for (state, reason, n) in reasons {
        *kinds
            .entry(state.as_str())
            .or_default()
            .entry(reason_kind(reason))
            .or_default() += n;
    }
    let groups = [
        ("invalid", "invalid (refused by the CSV check)", c.invalid),
        ("duplicate", "duplicate", c.duplicate),
        (
            "suppressed",
            "suppressed (on a do-not-call list)",
            c.suppressed,
        ),
        ("refused", "refused by the API", c.refused),
        ("unknown", "unknown (a call may have gone out)", c.unknown),
    ];
    let left_out = groups
        .into_iter()
        .filter(|g| g.2 > 0)
        .map(|(state, label, count)| {
            let mut reasons: Vec<Reason> = kinds
                .remove(state)
                .unwrap_or_default()
                .into_iter()
                .map(|(text, count)| Reason { text, count })
                .collect();
            reasons.sort_by(|a, b| b.count.cmp(&a.count).then(a.text.cmp(&b.text)));
            let listed: u64 = reasons.iter().take(REASONS_SHOWN).map(|r| r.count).sum();
            reasons.truncate(REASONS_SHOWN);
            LeftOut {
                label: label.to_owned(),
                count,
                reasons,
                more: count.saturating_sub(listed),
            }
        })
        .collect();
    let mut notes = Vec::new();
    if c.open > 0 {
        notes.push(format!(
            "{} still to be called (pending, or being called now).",
            c.open
        ));
    }
    if c.removed > 0 {
        notes.push(format!(
            "{} no longer in the CSV (not counted above); {} of them were called.",
            c.removed, c.removed_called
        ));
    }
    Funnel {
        steps,
        left_out,
        notes,
    }
}

/// A reason without the row's own values: quoted text and numbers become `…`.
pub fn reason_kind(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut chars = reason.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                for inner in chars.by_ref() {
                    if inner == '"' {
                        break;
                    }
                }
                out.push_str("\"…\"");
            }
            c if c.is_ascii_digit()
                || (c == '+' && chars.peek().is_some_and(char::is_ascii_digit)) =>
            {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                out.push('…');
            }
            c => out.push(c),
        }
    }
    out
}

// ---- Retries ----------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptRow {
    pub nth: u64,
    pub calls: u64,
    /// Calls that completed.
    pub reached: u64,
    pub share: String,
    pub segments: Vec<Segment>,
    /// Width of the whole bar, relative to the first call's.
    pub width: String,
}

/// One row per attempt number, from `(attempt number, result, calls)`.
pub fn retries(rows: &[(u64, String, u64)]) -> Vec<AttemptRow> {
    let mut by_nth: BTreeMap<u64, BTreeMap<&str, u64>> = BTreeMap::new();
    for (nth, result, n) in rows {
        *by_nth
            .entry(*nth)
            .or_default()
            .entry(result.as_str())
            .or_default() += n;
    }
    let most = by_nth
        .values()
        .map(|m| m.values().sum::<u64>())
        .max()
        .unwrap_or(0);
    by_nth
        .into_iter()
        .map(|(nth, results)| {
            let calls: u64 = results.values().sum();
            let reached = results.get("completed").copied().unwrap_or(0);
            let parts: Vec<(&str, String, u64)> = ordered(&results)
                .map(|(r, n)| (result_label(r), format!("r-{r}"), n))
                .collect();
            let parts: Vec<(&str, &str, u64)> =
                parts.iter().map(|(l, c, n)| (*l, c.as_str(), *n)).collect();
            AttemptRow {
                nth,
                calls,
                reached,
                share: share(reached, calls),
                segments: segments(&parts),
                width: width(calls, most),
            }
        })
        .collect()
}

/// `counts` in the order of [`RESULTS`], then any other result (a newer version's).
fn ordered<'a>(counts: &'a BTreeMap<&'a str, u64>) -> impl Iterator<Item = (&'a str, u64)> {
    let known = RESULTS
        .iter()
        .filter_map(|r| counts.get(r).map(|&n| (*r, n)));
    let other = counts
        .iter()
        .filter(|(r, _)| !RESULTS.contains(r))
        .map(|(r, n)| (*r, *n));
    known.chain(other)
}

/// Seconds as `m:ss` (`h:mm:ss` from an hour).
pub fn clock(secs: u64) -> String {
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_share_the_bar_and_leave_out_empty_parts() {
        let s = segments(&[
            ("yes", "yes", 3),
            ("no", "no", 0),
            ("not obtained", "missing", 1),
        ]);
        let seen: Vec<(&str, &str, &str)> = s
            .iter()
            .map(|s| (s.label.as_str(), s.width.as_str(), s.title.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("yes", "75.00%", "yes: 3 (75 %)"),
                ("not obtained", "25.00%", "not obtained: 1 (25 %)")
            ]
        );
        assert!(segments(&[("a", "a", 0)]).is_empty());
        assert_eq!(share(1, 300), "0.3 %");
        assert_eq!(share(1, 0), "—");
    }

    #[test]
    fn the_funnel_narrows_from_rows_to_complete_answers_and_groups_reasons() {
        let counts = FunnelCounts {
            rows: 47,
            invalid: 5,
            duplicate: 0,
            suppressed: 2,
            refused: 1,
            called: 39,
            reached: 36,
            complete: 33,
            open: 1,
            unknown: 0,
            removed: 2,
            removed_called: 1,
        };
        let reasons = [
            ("invalid", "\"555-0121\": not a valid phone number", 1),
            ("invalid", "\"call after 5\": not a valid phone number", 1),
            ("invalid", "key \"A-1005\" is also on line 6", 1),
            ("invalid", "\"1.31255E+10\": spreadsheet damage", 2),
            ("suppressed", "+16175550144 is on a suppression list", 1),
            ("suppressed", "+13125550145 is on a suppression list", 1),
            ("refused", "invalid_number: not a valid number", 1),
        ]
        .map(|(s, r, n)| (s.to_owned(), r.to_owned(), n));
        let f = funnel(&counts, &reasons);
        let steps: Vec<(&str, u64, &str, &str)> = f
            .steps
            .iter()
            .map(|s| (s.label.as_str(), s.count, s.share.as_str(), s.kept.as_str()))
            .collect();
        assert_eq!(
            steps,
            [
                ("rows in the CSV", 47, "100 %", "100 %"),
                ("callable", 40, "85 %", "85 %"),
                ("called", 39, "83 %", "98 %"),
                ("reached (the call completed)", 36, "77 %", "92 %"),
                ("every field obtained", 33, "70 %", "92 %"),
            ]
        );
        let invalid = &f.left_out[0];
        assert_eq!((invalid.count, invalid.more), (5, 0));
        let reasons: Vec<(&str, u64)> = invalid
            .reasons
            .iter()
            .map(|r| (r.text.as_str(), r.count))
            .collect();
        assert_eq!(
            reasons,
            [
                ("\"…\": not a valid phone number", 2),
                ("\"…\": spreadsheet damage", 2),
                ("key \"…\" is also on line …", 1)
            ]
        );
        assert_eq!(f.left_out[1].reasons[0].text, "… is on a suppression list");
        assert_eq!(f.left_out[2].label, "refused by the API");
        assert_eq!(f.left_out.len(), 3, "no empty group");
        assert_eq!(f.notes.len(), 2);
    }

    #[test]
    fn retries_show_each_attempt_number_with_what_it_reached() {
        let rows = [
            (1, "completed", 27),
            (1, "no_answer", 6),
            (1, "voicemail", 4),
            (2, "completed", 7),
            (2, "no_answer", 2),
            (3, "completed", 2),
        ]
        .map(|(n, r, c)| (n, r.to_owned(), c));
        let r = retries(&rows);
        let seen: Vec<(u64, u64, u64, &str, &str)> = r
            .iter()
            .map(|a| {
                (
                    a.nth,
                    a.calls,
                    a.reached,
                    a.share.as_str(),
                    a.width.as_str(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (1, 37, 27, "73 %", "100.00%"),
                (2, 9, 7, "78 %", "24.32%"),
                (3, 2, 2, "100 %", "5.41%"),
            ]
        );
        let order: Vec<&str> = r[0].segments.iter().map(|s| s.class.as_str()).collect();
        assert_eq!(order, ["r-completed", "r-voicemail", "r-no_answer"]);
    }
}
