//! How the rows of a contacts CSV divide up: to call, invalid, duplicates, suppressed. One
//! count, one wording, in every command: `validate` and `plan` count the CSV as they read it,
//! `run`, `status` and `export` count the state file's last import, and for the same file they
//! agree (a test runs all four on a messy CSV and compares).
//!
//! A row "to call" is one the campaign places calls for: whatever has become of it since
//! (completed, unknown, refused by the API, expired) it stays in that count; its progress is
//! told apart by [`progress`]. Invalid rows, duplicates and suppressed rows are never called.

use std::collections::BTreeMap;

use crate::api::Outcome;

use crate::state::ContactState;

/// The rows of one CSV, each counted once.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Census {
    pub rows: u64,
    pub to_call: u64,
    pub invalid: u64,
    pub duplicates: u64,
    pub suppressed: u64,
}

/// Where a contact stands, in one word: `pending`, `in flight`, an outcome (`completed`,
/// `no_answer`, …), `refused` (by the API), `unknown`, `expired`, `removed`; or, for a row that
/// is never called, `invalid`, `duplicate` or `suppressed`.
pub fn progress(state: ContactState, outcome: Option<Outcome>, attempted: bool) -> &'static str {
    match state {
        ContactState::Pending => "pending",
        ContactState::Active => "in_flight",
        ContactState::Done => outcome.map_or("refused", Outcome::as_str),
        ContactState::Invalid if attempted => "refused",
        ContactState::Invalid => "invalid",
        ContactState::Unknown => "unknown",
        ContactState::Duplicate => "duplicate",
        ContactState::Suppressed => "suppressed",
        ContactState::Expired => "expired",
        ContactState::Removed => "removed",
    }
}

/// The order progress words are listed in.
pub const PROGRESS: [&str; 14] = [
    "pending",
    "in_flight",
    "completed",
    "no_answer",
    "voicemail",
    "declined",
    "failed",
    "refused",
    "unknown",
    "expired",
    "removed",
    "invalid",
    "duplicate",
    "suppressed",
];

impl Census {
    /// Counts `n` rows of one [`progress`] word.
    pub fn add(&mut self, progress: &str, n: u64) {
        self.rows += n;
        match progress {
            "invalid" => self.invalid += n,
            "duplicate" => self.duplicates += n,
            "suppressed" => self.suppressed += n,
            _ => self.to_call += n,
        }
    }

    /// `47 rows: 40 to call, 5 invalid, 1 duplicate, 1 suppressed` (the counts that are not
    /// zero, "to call" always).
    pub fn line(&self) -> String {
        let mut parts = vec![format!("{} to call", self.to_call)];
        for (n, one, many) in [
            (self.invalid, "invalid", "invalid"),
            (self.duplicates, "duplicate", "duplicates"),
            (self.suppressed, "suppressed", "suppressed"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        }
        format!(
            "{} {}: {}",
            self.rows,
            if self.rows == 1 { "row" } else { "rows" },
            parts.join(", ")
        )
    }
}

/// `completed 30, no_answer 5, pending 5`: counts by progress word, in [`PROGRESS`] order.
pub fn breakdown(counts: &BTreeMap<&'static str, u64>) -> String {
    PROGRESS
        .iter()
        .filter_map(|p| counts.get(p).map(|n| format!("{p} {n}")))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_a_word_and_the_never_called_ones_are_not_to_call() {
        use ContactState as C;
        let table = [
            (C::Pending, None, false, "pending", true),
            (C::Active, None, true, "in_flight", true),
            (C::Done, Some(Outcome::Completed), true, "completed", true),
            (C::Done, Some(Outcome::NoAnswer), true, "no_answer", true),
            (C::Done, None, true, "refused", true),
            (C::Invalid, None, true, "refused", true),
            (C::Invalid, None, false, "invalid", false),
            (C::Unknown, None, true, "unknown", true),
            (C::Duplicate, None, false, "duplicate", false),
            (
                C::Suppressed,
                Some(Outcome::NoAnswer),
                true,
                "suppressed",
                false,
            ),
        ];
        for (state, outcome, attempted, word, to_call) in table {
            assert_eq!(progress(state, outcome, attempted), word, "{state}");
            assert!(PROGRESS.contains(&word));
            let mut census = Census::default();
            census.add(word, 1);
            assert_eq!(census.to_call == 1, to_call, "{state}");
        }
    }

    #[test]
    fn the_line_names_what_is_there() {
        let census = Census {
            rows: 47,
            to_call: 40,
            invalid: 5,
            duplicates: 1,
            suppressed: 1,
        };
        assert_eq!(
            census.line(),
            "47 rows: 40 to call, 5 invalid, 1 duplicate, 1 suppressed"
        );
        let census = Census {
            rows: 1,
            to_call: 1,
            ..Census::default()
        };
        assert_eq!(census.line(), "1 row: 1 to call");
    }
}
