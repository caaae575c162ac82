//! The lifecycles of a contact and of an attempt, as enums with pure transitions.
//!
//! Everything the runner decides — place again, wait, give up, ask the user — is decided here,
//! from (state, event, policy, now), with no I/O. The runner performs the I/O and records the
//! result; the store keeps these enums as TEXT. The transition table is tested exhaustively.
//!
//! The store applies a transition to many rows at once in SQL: a [`Step`] names the states it
//! starts from (the store's fence) and the state it leads to, and the predicates here
//! (`is_open`, `holds_number`, …) are the store's lists of states. The SQL never names a state
//! of its own.
//!
//! The rule this module exists for: an attempt is committed as [`AttemptState::Placing`] before
//! its POST is sent, and a POST whose answer is lost makes the attempt [`AttemptState::Ambiguous`],
//! never "not placed". Only evidence (the call found in the API's list, or the list reaching
//! back past the attempt without it) turns an ambiguous attempt into placed or not placed.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;

use crate::api::Outcome;
use crate::campaign::RetryPolicy;

mod place;
mod steps;

pub use place::{
    MAX_PLACEMENT_FAILURES, MINUTE_CAP_PAUSE, PlaceResult, Placement, after_place,
    after_place_error,
};
pub use steps::{
    CLAIM, FINISH, GIVE_UP, GIVEN_UP_CONTACT, HOLD_LATE, INTERRUPTED, INVALIDATE, PLACEMENT_FROM,
    RESULT_FROM, RETRY_UNKNOWN, RULE_SPENT, SUPPRESS, Step, result_moves,
};

/// Where a contact is in its campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactState {
    /// To be called when due.
    Pending,
    /// An attempt is being placed, followed or resolved.
    Active,
    /// Nothing more will be done: completed, attempts used up, or refused by the API.
    Done,
    /// A call may or may not have been placed and the API could not tell; never re-placed
    /// unless the user asks (`--retry-unknown`).
    Unknown,
    /// The row cannot be called (bad number, bad zone, template error…).
    Invalid,
    /// Same number as an earlier row, in a campaign without a key column.
    Duplicate,
    /// On a suppression list.
    Suppressed,
    /// Its deadline passed (`input.deadline_column` less `schedule.stop_before`) before it was
    /// settled: never called again (see [`after_deadline`]).
    Expired,
    /// Its row left the CSV before it was called or settled: never called again, unless the row
    /// comes back (see [`after_removal`]).
    Removed,
}

impl ContactState {
    pub const ALL: [ContactState; 9] = [
        ContactState::Pending,
        ContactState::Active,
        ContactState::Done,
        ContactState::Unknown,
        ContactState::Invalid,
        ContactState::Duplicate,
        ContactState::Suppressed,
        ContactState::Expired,
        ContactState::Removed,
    ];

    /// Whether it has been called, or a call for it may be going on: its history wins over the
    /// CSV at import (see [`after_import`]), which keeps its state, number and reason.
    pub fn is_called(self) -> bool {
        matches!(
            self,
            ContactState::Active | ContactState::Done | ContactState::Unknown
        )
    }

    /// Whether a call for it is going on (`active`), or may be (`unknown`, until the instant
    /// its call could have ended): no other contact with its number is called meanwhile.
    pub fn holds_number(self) -> bool {
        matches!(self, ContactState::Active | ContactState::Unknown)
    }

    /// Whether a run leaves it uncalled for a reason the user is told before the first call: a
    /// row it cannot call (invalid, duplicate, suppressed), or one whose call may have gone out
    /// (`unknown`).
    pub fn is_not_called(self) -> bool {
        matches!(
            self,
            ContactState::Invalid
                | ContactState::Duplicate
                | ContactState::Suppressed
                | ContactState::Unknown
        )
    }

    /// Whether the API's refusal of its POST can have left it here (without an outcome): the
    /// row was refused for good (`invalid`), or its attempts were used up on refusals (`done`).
    pub fn may_be_refused(self) -> bool {
        matches!(self, ContactState::Invalid | ContactState::Done)
    }
}

/// Where one attempt (one POST, and the call it may have made) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptState {
    /// Committed before the POST was sent. Found in this state after a crash, it is ambiguous.
    Placing,
    /// The API answered with a call id; the call is being followed.
    Placed,
    /// The POST's answer was lost: a call may exist.
    Ambiguous,
    /// The call reached a terminal status.
    Finished,
    /// The API refused the POST, or resolution proved no call exists. Costs no attempt.
    NotPlaced,
    /// Ambiguous and unresolvable. Counts as a placed call (it may have rung someone).
    Unknown,
}

/// Why a pending contact is not due yet (the `wait` column; none: due as soon as the limits
/// allow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Wait {
    /// Its last call ended with a retryable outcome; the retry's `after` delay runs.
    Retry,
    /// Outside the contact's calling windows.
    Window,
    /// Before `schedule.not_before` (or after `not_after`).
    Campaign,
    /// The API refused the placement for a reason that passes (rate limit, 5xx).
    Backoff,
}

macro_rules! text_enum {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
        }
        impl FromStr for $ty {
            type Err = UnknownState;
            fn from_str(s: &str) -> Result<Self, UnknownState> {
                match s { $($text => Ok($ty::$variant),)+ _ => Err(UnknownState(s.to_owned())) }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(Outcome {
    Completed => "completed",
    NoAnswer => "no_answer",
    Voicemail => "voicemail",
    Declined => "declined",
    Failed => "failed",
});

text_enum!(ContactState {
    Pending => "pending",
    Active => "active",
    Done => "done",
    Unknown => "unknown",
    Invalid => "invalid",
    Duplicate => "duplicate",
    Suppressed => "suppressed",
    Expired => "expired",
    Removed => "removed",
});

text_enum!(AttemptState {
    Placing => "placing",
    Placed => "placed",
    Ambiguous => "ambiguous",
    Finished => "finished",
    NotPlaced => "not_placed",
    Unknown => "unknown",
});

text_enum!(Wait {
    Retry => "retry",
    Window => "window",
    Campaign => "campaign",
    Backoff => "backoff",
});

/// A state string in the state file that this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown state {0:?} in the state file (written by a newer bys-campaign?)")]
pub struct UnknownState(pub String);

impl AttemptState {
    pub const ALL: [AttemptState; 6] = [
        AttemptState::Placing,
        AttemptState::Placed,
        AttemptState::Ambiguous,
        AttemptState::Finished,
        AttemptState::NotPlaced,
        AttemptState::Unknown,
    ];

    /// Whether this attempt counts against the contact's `attempts`: a call was, or may have
    /// been, placed.
    pub fn counts_as_call(self) -> bool {
        matches!(
            self,
            AttemptState::Placed | AttemptState::Finished | AttemptState::Unknown
        )
    }

    /// Whether the runner must still do something for it (follow, resolve) before it is settled.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            AttemptState::Placing | AttemptState::Placed | AttemptState::Ambiguous
        )
    }

    /// Whether its POST's answer is not known yet (being sent, or lost): how the POST ended, or
    /// the evidence about it, is recorded from here (see [`PLACEMENT_FROM`]).
    pub fn awaits_answer(self) -> bool {
        matches!(self, AttemptState::Placing | AttemptState::Ambiguous)
    }

    /// Whether a call was, may have been, or is about to be placed by it: every state but
    /// `not_placed`. A contact with such an attempt newer than a call given up has been
    /// "called since" (see [`result_moves`]).
    pub fn may_have_called(self) -> bool {
        self != AttemptState::NotPlaced
    }
}

/// What to do with a contact after a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterCall {
    /// Final: completed, or the outcome's attempts are used up.
    Done,
    /// Call again, not before this instant.
    RetryAt(Timestamp),
}

impl AfterCall {
    /// The contact's state: `done`, or `pending` again until the retry is due.
    pub fn contact(self) -> ContactState {
        match self {
            AfterCall::Done => ContactState::Done,
            AfterCall::RetryAt(_) => ContactState::Pending,
        }
    }
}

/// The contact's fate once a call has ended with `outcome`, `calls` being the calls placed for it
/// so far (this one included).
pub fn after_call(
    outcome: Outcome,
    calls: u32,
    policy: &RetryPolicy,
    ended_at: Timestamp,
) -> AfterCall {
    match policy.for_outcome(outcome) {
        Some(rule) if calls < rule.attempts.get() => AfterCall::RetryAt(add(ended_at, rule.after)),
        _ => AfterCall::Done,
    }
}

/// The contact's fate once a call's result came, `ended_at` when the API said it ended (`None`:
/// `now`), `calls` being the calls placed for the contact so far (this one included). One rule
/// for every way a result comes: a poll, a webhook event, a late check of a call given up. The
/// store moves the contact only as [`result_moves`] allows.
pub fn after_result(
    outcome: Outcome,
    calls: u32,
    policy: &RetryPolicy,
    ended_at: Option<Timestamp>,
    now: Timestamp,
) -> AfterCall {
    after_call(outcome, calls, policy, ended_at.unwrap_or(now))
}

/// What the list of recent calls says about an ambiguous attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// A call matching the attempt, not claimed by any other attempt, is in the list.
    Found,
    /// No match, and the list reaches back to before the attempt was made: no call exists.
    Absent,
    /// No match, but the list does not reach back far enough to be sure.
    Inconclusive,
}

/// The states an ambiguous attempt and its contact move to given the evidence.
pub fn after_resolve(evidence: &Evidence) -> (AttemptState, ContactState) {
    match evidence {
        Evidence::Found => (AttemptState::Placed, ContactState::Active),
        Evidence::Absent => (AttemptState::NotPlaced, ContactState::Pending),
        Evidence::Inconclusive => (AttemptState::Unknown, ContactState::Unknown),
    }
}

/// The call of an attempt given up as `unknown` before its call was known (a lost answer) has
/// been found. It is followed like any placed call, its contact active again, unless the
/// contact has been called again since (`--retry-unknown`): then the newer call keeps the
/// contact, and the found call is only asked about for its result (`None`).
pub fn after_found(called_since: bool) -> Option<(AttemptState, ContactState)> {
    (!called_since).then_some((AttemptState::Placed, ContactState::Active))
}

/// What the contacts CSV says about a row at import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Callable,
    Invalid,
    Suppressed,
}

/// A contact's state after an import, given its state before (if it was known). Once a contact
/// has been called, its history wins: editing or re-importing the CSV never calls it again. A
/// row that comes back after it was `removed` is judged afresh. An `expired` row stays expired
/// unless its cutoff `moved` (an edited deadline, another `schedule.stop_before`): then it is
/// judged afresh, and [`after_deadline`] expires it again before any placement if it must.
pub fn after_import(before: Option<ContactState>, row: RowKind, moved: bool) -> ContactState {
    use ContactState as C;
    match (before, row) {
        (Some(state), _) if state.is_called() => state,
        (Some(C::Expired), RowKind::Callable) if !moved => C::Expired,
        (_, RowKind::Callable) => C::Pending,
        (_, RowKind::Invalid) => C::Invalid,
        (_, RowKind::Suppressed) => C::Suppressed,
    }
}

/// A contact's state once its row is no longer in the CSV: one waiting to be called is
/// `removed`, never called from the old data; every other keeps its state (a call in flight is
/// still followed, an `unknown` one still needs a look, a settled one keeps its result). The
/// store keeps the contact, flagged absent, for the campaign's history.
pub fn after_removal(state: ContactState) -> ContactState {
    match state {
        ContactState::Pending => ContactState::Removed,
        other => other,
    }
}

/// A contact's state once `now` is judged against its cutoff (its deadline less
/// `schedule.stop_before`), with its next call due at `due` (`None`: now): a pending contact
/// whose next call could not come before the cutoff is `expired`; any other keeps its state.
/// No call is placed at or after the cutoff.
pub fn after_deadline(
    state: ContactState,
    cutoff: Timestamp,
    due: Option<Timestamp>,
    now: Timestamp,
) -> ContactState {
    let next = due.map_or(now, |due| due.max(now));
    match state {
        ContactState::Pending if next >= cutoff => ContactState::Expired,
        other => other,
    }
}

/// Whether a call may be placed at `now` for a contact whose cutoff is `cutoff`.
pub fn before_cutoff(cutoff: Option<Timestamp>, now: Timestamp) -> bool {
    cutoff.is_none_or(|cutoff| now < cutoff)
}

fn add(at: Timestamp, delay: Duration) -> Timestamp {
    let delay = jiff::SignedDuration::try_from(delay).unwrap_or(jiff::SignedDuration::MAX);
    at.checked_add(delay).unwrap_or(Timestamp::MAX)
}

/// Whether a contact waiting for a retry has used up what its last outcome's retry rule allows
/// now: `calls` placed, the last one ending `outcome`. The rule applied when the call ended; a
/// campaign file edited since (fewer attempts) must not let a retry already scheduled go out.
pub fn rule_spent(outcome: Option<Outcome>, calls: u32, policy: &RetryPolicy) -> bool {
    outcome.is_some_and(|outcome| {
        calls
            >= policy
                .for_outcome(outcome)
                .map_or(1, |rule| rule.attempts.get())
    })
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::campaign::Retry;

    fn policy() -> RetryPolicy {
        let rule = |attempts, mins: u64| Retry {
            attempts: NonZeroU32::new(attempts).unwrap(),
            after: Duration::from_secs(mins * 60),
        };
        RetryPolicy {
            no_answer: rule(3, 120),
            voicemail: rule(2, 240),
            failed: rule(3, 15),
            declined: rule(1, 0),
        }
    }

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn states_round_trip_through_text() {
        for o in Outcome::ALL {
            assert_eq!(o.as_str().parse::<Outcome>(), Ok(o));
        }
        for c in ContactState::ALL {
            assert_eq!(c.as_str().parse::<ContactState>(), Ok(c));
        }
        assert_eq!(ContactState::Expired.as_str(), "expired");
        assert_eq!(ContactState::Removed.as_str(), "removed");
        use AttemptState as A;
        for a in [
            A::Placing,
            A::Placed,
            A::Ambiguous,
            A::Finished,
            A::NotPlaced,
            A::Unknown,
        ] {
            assert_eq!(a.as_str().parse::<AttemptState>(), Ok(a));
        }
        for w in [Wait::Retry, Wait::Window, Wait::Campaign, Wait::Backoff] {
            assert_eq!(w.as_str().parse::<Wait>(), Ok(w));
        }
        assert_eq!(
            "ringing".parse::<AttemptState>(),
            Err(UnknownState("ringing".into()))
        );
    }

    #[test]
    fn after_call_table() {
        let end = t("2026-12-07T17:00:00Z");
        let p = policy();
        // (outcome, calls so far, expected)
        let table = [
            (Outcome::Completed, 1, AfterCall::Done),
            (
                Outcome::NoAnswer,
                1,
                AfterCall::RetryAt(t("2026-12-07T19:00:00Z")),
            ),
            (
                Outcome::NoAnswer,
                2,
                AfterCall::RetryAt(t("2026-12-07T19:00:00Z")),
            ),
            (Outcome::NoAnswer, 3, AfterCall::Done),
            (
                Outcome::Voicemail,
                1,
                AfterCall::RetryAt(t("2026-12-07T21:00:00Z")),
            ),
            (Outcome::Voicemail, 2, AfterCall::Done),
            (
                Outcome::Failed,
                1,
                AfterCall::RetryAt(t("2026-12-07T17:15:00Z")),
            ),
            (Outcome::Failed, 3, AfterCall::Done),
            (Outcome::Declined, 1, AfterCall::Done),
            // More calls than the rule allows (the policy was tightened between runs): done.
            (Outcome::NoAnswer, 7, AfterCall::Done),
        ];
        for (outcome, calls, expected) in table {
            assert_eq!(
                after_call(outcome, calls, &p, end),
                expected,
                "{outcome} after {calls}"
            );
        }
    }

    #[test]
    fn after_resolve_table() {
        assert_eq!(
            after_resolve(&Evidence::Found),
            (AttemptState::Placed, ContactState::Active)
        );
        assert_eq!(
            after_resolve(&Evidence::Absent),
            (AttemptState::NotPlaced, ContactState::Pending)
        );
        assert_eq!(
            after_resolve(&Evidence::Inconclusive),
            (AttemptState::Unknown, ContactState::Unknown)
        );
    }

    #[test]
    fn a_found_call_is_followed_unless_its_contact_was_called_since() {
        assert_eq!(
            after_found(false),
            Some((AttemptState::Placed, ContactState::Active))
        );
        assert_eq!(after_found(true), None);
    }

    #[test]
    fn after_import_table() {
        use {ContactState as C, RowKind as R};
        // The state before, and after for each row: callable, invalid, suppressed, each with
        // the cutoff unmoved, then moved. The rule written out, not computed.
        #[rustfmt::skip]
        let table = [
            (None, [C::Pending, C::Pending, C::Invalid, C::Invalid, C::Suppressed, C::Suppressed]),
            (Some(C::Pending), [C::Pending, C::Pending, C::Invalid, C::Invalid, C::Suppressed, C::Suppressed]),
            // Called: history wins, whatever the row says.
            (Some(C::Active), [C::Active; 6]),
            (Some(C::Done), [C::Done; 6]),
            (Some(C::Unknown), [C::Unknown; 6]),
            (Some(C::Invalid), [C::Pending, C::Pending, C::Invalid, C::Invalid, C::Suppressed, C::Suppressed]),
            (Some(C::Duplicate), [C::Pending, C::Pending, C::Invalid, C::Invalid, C::Suppressed, C::Suppressed]),
            (Some(C::Suppressed), [C::Pending, C::Pending, C::Invalid, C::Invalid, C::Suppressed, C::Suppressed]),
            // Expired stays expired unless its cutoff moved.
            (Some(C::Expired), [C::Expired, C::Pending, C::Invalid, C::Invalid, C::Suppressed, C::Suppressed]),
            (Some(C::Removed), [C::Pending, C::Pending, C::Invalid, C::Invalid, C::Suppressed, C::Suppressed]),
        ];
        assert_eq!(table.len(), ContactState::ALL.len() + 1);
        for (before, after) in table {
            let cases = [R::Callable, R::Invalid, R::Suppressed]
                .into_iter()
                .flat_map(|row| [(row, false), (row, true)]);
            for ((row, moved), expected) in cases.zip(after) {
                assert_eq!(
                    after_import(before, row, moved),
                    expected,
                    "{before:?} + {row:?}, moved {moved}"
                );
            }
        }
    }

    #[test]
    fn which_contacts_and_attempts_each_predicate_holds_for() {
        use {AttemptState as A, ContactState as C};
        let contacts =
            |pred: fn(C) -> bool| -> Vec<C> { C::ALL.into_iter().filter(|&s| pred(s)).collect() };
        let attempts =
            |pred: fn(A) -> bool| -> Vec<A> { A::ALL.into_iter().filter(|&s| pred(s)).collect() };
        assert_eq!(contacts(C::is_called), [C::Active, C::Done, C::Unknown]);
        assert_eq!(contacts(C::holds_number), [C::Active, C::Unknown]);
        assert_eq!(
            contacts(C::is_not_called),
            [C::Unknown, C::Invalid, C::Duplicate, C::Suppressed]
        );
        assert_eq!(contacts(C::may_be_refused), [C::Done, C::Invalid]);
        assert_eq!(attempts(A::is_open), [A::Placing, A::Placed, A::Ambiguous]);
        assert_eq!(attempts(A::awaits_answer), [A::Placing, A::Ambiguous]);
        assert_eq!(
            attempts(A::may_have_called),
            [A::Placing, A::Placed, A::Ambiguous, A::Finished, A::Unknown]
        );
    }

    #[test]
    fn a_result_without_an_end_time_ends_now() {
        let p = policy();
        let now = t("2026-12-07T17:00:00Z");
        // (outcome, calls, ended at, expected)
        let table = [
            (
                Outcome::NoAnswer,
                1,
                None,
                AfterCall::RetryAt(t("2026-12-07T19:00:00Z")),
            ),
            (
                Outcome::NoAnswer,
                1,
                Some(t("2026-12-07T16:50:00Z")),
                AfterCall::RetryAt(t("2026-12-07T18:50:00Z")),
            ),
            (Outcome::Completed, 1, None, AfterCall::Done),
            (Outcome::Voicemail, 2, None, AfterCall::Done),
        ];
        for (outcome, calls, ended, expected) in table {
            assert_eq!(
                after_result(outcome, calls, &p, ended, now),
                expected,
                "{outcome}"
            );
        }
        assert_eq!(AfterCall::Done.contact(), ContactState::Done);
        assert_eq!(AfterCall::RetryAt(now).contact(), ContactState::Pending);
    }

    #[test]
    fn only_a_contact_waiting_to_be_called_is_removed_with_its_row() {
        use ContactState as C;
        for state in ContactState::ALL {
            let expected = if state == C::Pending {
                C::Removed
            } else {
                state
            };
            assert_eq!(after_removal(state), expected, "{state}");
        }
    }

    #[test]
    fn after_deadline_table() {
        use ContactState as C;
        let cutoff = t("2026-12-03T21:00:00Z");
        let before = t("2026-12-03T20:00:00Z");
        let at = cutoff;
        // (state, due, now, expected)
        let table = [
            (C::Pending, None, before, C::Pending),
            (C::Pending, None, at, C::Expired),
            (
                C::Pending,
                Some(t("2026-12-03T20:30:00Z")),
                before,
                C::Pending,
            ),
            // A retry or a window that opens only at or after the cutoff: expired at once.
            (C::Pending, Some(cutoff), before, C::Expired),
            (
                C::Pending,
                Some(t("2026-12-04T09:00:00Z")),
                before,
                C::Expired,
            ),
            // A due time in the past is now.
            (
                C::Pending,
                Some(t("2026-12-03T10:00:00Z")),
                before,
                C::Pending,
            ),
        ];
        for (state, due, now, expected) in table {
            assert_eq!(
                after_deadline(state, cutoff, due, now),
                expected,
                "{state} due {due:?} at {now}"
            );
        }
        for state in ContactState::ALL.into_iter().filter(|s| *s != C::Pending) {
            assert_eq!(after_deadline(state, cutoff, None, at), state, "{state}");
        }
        assert!(before_cutoff(Some(cutoff), before));
        assert!(!before_cutoff(Some(cutoff), at));
        assert!(before_cutoff(None, at));
    }

    #[test]
    fn which_attempts_count_as_calls() {
        use AttemptState as A;
        let counted: Vec<A> = [
            A::Placing,
            A::Placed,
            A::Ambiguous,
            A::Finished,
            A::NotPlaced,
            A::Unknown,
        ]
        .into_iter()
        .filter(|a| a.counts_as_call())
        .collect();
        assert_eq!(counted, vec![A::Placed, A::Finished, A::Unknown]);
    }

    #[test]
    fn rule_spent_table() {
        // policy(): no_answer 3 attempts, voicemail 2, failed 3, declined 1.
        use Outcome as O;
        let table = [
            (None, 0, false),
            (None, 5, false),
            (Some(O::NoAnswer), 1, false),
            (Some(O::NoAnswer), 2, false),
            (Some(O::NoAnswer), 3, true),
            (Some(O::Voicemail), 1, false),
            (Some(O::Voicemail), 2, true),
            (Some(O::Declined), 1, true),
            (Some(O::Failed), 2, false),
            (Some(O::Completed), 1, true),
        ];
        for (outcome, calls, spent) in table {
            assert_eq!(
                rule_spent(outcome, calls, &policy()),
                spent,
                "{outcome:?} {calls}"
            );
        }
    }
}
