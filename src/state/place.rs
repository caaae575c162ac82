//! What the answer to a POST makes of an attempt and its contact: a call id, a refusal, an
//! error to wait out, or an answer lost (never "not placed" on a guess).

use std::time::Duration;

use jiff::Timestamp;

use super::{AttemptState, ContactState, add};
use crate::api::ErrorClass;

/// How the API answered a POST, as far as the contact is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceResult {
    /// A call id came back.
    Placed,
    /// Refused before any call existed, for a reason that passes (rate limit, a 5xx): try again
    /// after the delay. Costs no attempt.
    Transient { retry_after: Duration },
    /// Refused for good for this row (invalid number, blocked destination).
    RowRefused,
    /// Refused for every row (bad key, caller ID not owned): the run must stop.
    RunRefused,
    /// The answer was lost.
    Lost,
}

/// The states an attempt and its contact move to after a POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub attempt: AttemptState,
    pub contact: ContactState,
    /// For a contact back to `Pending`: not before this instant. For an `Unknown` one: until
    /// this instant its call may still be going on, and its number is not called.
    pub due: Option<Timestamp>,
}

pub fn after_place(result: &PlaceResult, now: Timestamp) -> Placement {
    let (attempt, contact, due) = match result {
        PlaceResult::Placed => (AttemptState::Placed, ContactState::Active, None),
        PlaceResult::Transient { retry_after } => (
            AttemptState::NotPlaced,
            ContactState::Pending,
            Some(add(now, *retry_after)),
        ),
        PlaceResult::RowRefused => (AttemptState::NotPlaced, ContactState::Invalid, None),
        PlaceResult::RunRefused => (AttemptState::NotPlaced, ContactState::Pending, None),
        PlaceResult::Lost => (AttemptState::Ambiguous, ContactState::Active, None),
    };
    Placement {
        attempt,
        contact,
        due,
    }
}

/// How long placements pause when the account's minutes are used up (`over_minute_cap`).
pub const MINUTE_CAP_PAUSE: Duration = Duration::from_secs(15 * 60);

/// How many 5xx answers (`placement_failed`, `store_error`, …) one contact's placements may
/// get in one run before it is given up. The API says no call was created, so retrying is
/// safe; but a number the carrier always refuses would otherwise be retried forever and the
/// run would never finish. Ten is far beyond what a passing outage (or a 30 % error rate:
/// 0.3^10 ≈ 6·10⁻⁶) produces. Only refusals while little else fails count (the runner tells
/// them from an outage): in an outage requests that depend on no number fail too, and the run
/// stops with every contact kept.
pub const MAX_PLACEMENT_FAILURES: u32 = 10;

/// How the API answered a POST that failed with an error of `class`: `backoff` is how long
/// placements wait after a 5xx, and `refusals` how many 5xx this contact's number has met in
/// this run that were refusals of it (not an outage).
pub fn after_place_error(class: ErrorClass, backoff: Duration, refusals: u32) -> PlaceResult {
    match class {
        ErrorClass::RetryAfter(wait) => PlaceResult::Transient { retry_after: wait },
        ErrorClass::Backoff if refusals >= MAX_PLACEMENT_FAILURES => PlaceResult::RowRefused,
        ErrorClass::Backoff => PlaceResult::Transient {
            retry_after: backoff,
        },
        ErrorClass::PauseRun => PlaceResult::Transient {
            retry_after: MINUTE_CAP_PAUSE,
        },
        ErrorClass::StopRun | ErrorClass::NotFound => PlaceResult::RunRefused,
        ErrorClass::RowFatal => PlaceResult::RowRefused,
        ErrorClass::Ambiguous => PlaceResult::Lost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn after_place_table() {
        let now = t("2026-12-07T17:00:00Z");
        use {AttemptState as A, ContactState as C};
        let table = [
            (PlaceResult::Placed, A::Placed, C::Active, None),
            (
                PlaceResult::Transient {
                    retry_after: Duration::from_secs(30),
                },
                A::NotPlaced,
                C::Pending,
                Some(t("2026-12-07T17:00:30Z")),
            ),
            (PlaceResult::RowRefused, A::NotPlaced, C::Invalid, None),
            (PlaceResult::RunRefused, A::NotPlaced, C::Pending, None),
            (PlaceResult::Lost, A::Ambiguous, C::Active, None),
        ];
        for (result, attempt, contact, due) in table {
            assert_eq!(
                after_place(&result, now),
                Placement {
                    attempt,
                    contact,
                    due
                },
                "{result:?}"
            );
        }
    }

    #[test]
    fn a_lost_answer_is_never_taken_as_not_placed() {
        let placement = after_place(&PlaceResult::Lost, t("2026-12-07T17:00:00Z"));
        assert!(placement.attempt.is_open());
        assert_ne!(placement.contact, ContactState::Pending);
    }

    #[test]
    fn after_place_error_table() {
        use ErrorClass as E;
        let secs = Duration::from_secs;
        let transient = |s| PlaceResult::Transient {
            retry_after: secs(s),
        };
        // (class, backoff, refusals of this number so far) → result.
        let table = [
            (E::RetryAfter(secs(7)), secs(2), 0, transient(7)),
            (E::RetryAfter(secs(7)), secs(2), 10, transient(7)),
            (E::Backoff, secs(2), 0, transient(2)),
            (E::Backoff, secs(2), 9, transient(2)),
            (E::Backoff, secs(2), 10, PlaceResult::RowRefused),
            (E::Backoff, secs(2), 11, PlaceResult::RowRefused),
            (E::PauseRun, secs(2), 0, transient(900)),
            (E::PauseRun, secs(2), 10, transient(900)),
            (E::StopRun, secs(2), 0, PlaceResult::RunRefused),
            (E::NotFound, secs(2), 0, PlaceResult::RunRefused),
            (E::RowFatal, secs(2), 0, PlaceResult::RowRefused),
            (E::RowFatal, secs(2), 10, PlaceResult::RowRefused),
            (E::Ambiguous, secs(2), 0, PlaceResult::Lost),
            (E::Ambiguous, secs(2), 10, PlaceResult::Lost),
        ];
        for (class, backoff, refusals, expected) in table {
            assert_eq!(
                after_place_error(class, backoff, refusals),
                expected,
                "{class:?} after {refusals} refusals"
            );
        }
    }
}
