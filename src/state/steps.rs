//! The transitions the store applies to many rows at once, in SQL: each a [`Step`] from the
//! states it starts from (the store's fence) to the state it leads to, decided here and written
//! out in the tests, so the store's SQL never names a state of its own.

use super::{AttemptState, ContactState};
#[cfg(doc)]
use super::{after_place, after_resolve, after_result};

/// A change of state the store applies with one `UPDATE`, fenced on the states it starts from:
/// from any of `from` to `to`. Which rows it applies to (one contact, every due one) is the
/// store's; the states are decided here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step<S: 'static> {
    pub from: &'static [S],
    pub to: S,
}

impl<S: Copy + PartialEq> Step<S> {
    /// The state after the step: `to` from one of `from`; any other state is left as it is.
    pub fn apply(self, state: S) -> S {
        if self.from.contains(&state) {
            self.to
        } else {
            state
        }
    }
}

/// A due contact is claimed for a call: its attempt is committed [`AttemptState::Placing`] with
/// it, before the POST is sent.
pub const CLAIM: Step<ContactState> = Step {
    from: &[ContactState::Pending],
    to: ContactState::Active,
};

/// A contact whose number was added to a suppression list during the run: never placed.
pub const SUPPRESS: Step<ContactState> = Step {
    from: &[ContactState::Pending],
    to: ContactState::Suppressed,
};

/// A contact waiting for a retry that its outcome's retry rule no longer allows (the rule was
/// tightened since its last call; see [`super::rule_spent`]): never called again.
pub const RULE_SPENT: Step<ContactState> = Step {
    from: &[ContactState::Pending],
    to: ContactState::Done,
};

/// A contact whose row no longer renders (the CSV changed shape since the import): never placed
/// half-made.
pub const INVALIDATE: Step<ContactState> = Step {
    from: &[ContactState::Pending],
    to: ContactState::Invalid,
};

/// `--retry-unknown`: an unknown contact is pending again, once its call could no longer be
/// going on (the store keeps the others unknown: made pending, they would free their number).
pub const RETRY_UNKNOWN: Step<ContactState> = Step {
    from: &[ContactState::Unknown],
    to: ContactState::Pending,
};

/// An attempt found `placing` when a run starts: the process stopped between committing it and
/// learning how its POST ended, so a call may exist.
pub const INTERRUPTED: Step<AttemptState> = Step {
    from: &[AttemptState::Placing],
    to: AttemptState::Ambiguous,
};

/// A followed call whose fate the runner gives up learning (the API no longer knows it, or it
/// has not ended long past `limits.max_call_minutes`). It may have rung someone: it still counts
/// as a call, and its contact becomes [`GIVEN_UP_CONTACT`].
pub const GIVE_UP: Step<AttemptState> = Step {
    from: &[AttemptState::Placed],
    to: AttemptState::Unknown,
};

/// The state of the contact of a call given up ([`GIVE_UP`]).
pub const GIVEN_UP_CONTACT: ContactState = ContactState::Unknown;

/// The attempts whose placement is recorded ([`after_place`], [`after_resolve`]): those whose
/// POST's answer is not known yet. One settled meanwhile (by a webhook event, an earlier answer)
/// is not moved again, and its call is not counted twice.
pub const PLACEMENT_FROM: &[AttemptState] = &[AttemptState::Placing, AttemptState::Ambiguous];

/// A call's result finishes its attempt: a followed one, or one given up as unknown whose
/// result came late (nothing received is dropped).
pub const FINISH: Step<AttemptState> = Step {
    from: &[AttemptState::Placed, AttemptState::Unknown],
    to: AttemptState::Finished,
};

/// The states of a contact a call's result moves on (to what [`after_result`] decides): its call
/// in flight (`active`), given up (`unknown`), or released by `--retry-unknown` (`pending`).
pub const RESULT_FROM: &[ContactState] = &[
    ContactState::Active,
    ContactState::Unknown,
    ContactState::Pending,
];

/// Whether a call's result moves its contact, now in `state`: only from [`RESULT_FROM`], and
/// only if no call was placed for it since (`called_since`: it has an attempt newer than this
/// call's that [`AttemptState::may_have_called`]). A contact released by `--retry-unknown` and
/// called again keeps the newer call's state.
pub fn result_moves(state: ContactState, called_since: bool) -> bool {
    !called_since && RESULT_FROM.contains(&state)
}

/// A call given up as unknown is still going on: its contact, still unknown or made pending by
/// `--retry-unknown`, is unknown again and holds its number, unless a call was placed for it
/// since (as for [`result_moves`]).
pub const HOLD_LATE: Step<ContactState> = Step {
    from: &[ContactState::Unknown, ContactState::Pending],
    to: ContactState::Unknown,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_moves_only_the_states_it_starts_from() {
        use {AttemptState as A, ContactState as C};
        // (step, its states after it, in the order of `ContactState::ALL`: pending, active,
        // done, unknown, invalid, duplicate, suppressed, expired, removed)
        #[rustfmt::skip]
        let contact_steps = [
            ("claim", CLAIM, [C::Active, C::Active, C::Done, C::Unknown, C::Invalid, C::Duplicate, C::Suppressed, C::Expired, C::Removed]),
            ("suppress", SUPPRESS, [C::Suppressed, C::Active, C::Done, C::Unknown, C::Invalid, C::Duplicate, C::Suppressed, C::Expired, C::Removed]),
            ("rule spent", RULE_SPENT, [C::Done, C::Active, C::Done, C::Unknown, C::Invalid, C::Duplicate, C::Suppressed, C::Expired, C::Removed]),
            ("invalidate", INVALIDATE, [C::Invalid, C::Active, C::Done, C::Unknown, C::Invalid, C::Duplicate, C::Suppressed, C::Expired, C::Removed]),
            ("retry unknown", RETRY_UNKNOWN, [C::Pending, C::Active, C::Done, C::Pending, C::Invalid, C::Duplicate, C::Suppressed, C::Expired, C::Removed]),
            ("hold late", HOLD_LATE, [C::Unknown, C::Active, C::Done, C::Unknown, C::Invalid, C::Duplicate, C::Suppressed, C::Expired, C::Removed]),
        ];
        for (name, step, after) in contact_steps {
            assert_eq!(C::ALL.map(|s| step.apply(s)), after, "{name}");
        }
        // In the order of `AttemptState::ALL`: placing, placed, ambiguous, finished,
        // not_placed, unknown.
        #[rustfmt::skip]
        let attempt_steps = [
            ("interrupted", INTERRUPTED, [A::Ambiguous, A::Placed, A::Ambiguous, A::Finished, A::NotPlaced, A::Unknown]),
            ("give up", GIVE_UP, [A::Placing, A::Unknown, A::Ambiguous, A::Finished, A::NotPlaced, A::Unknown]),
            ("finish", FINISH, [A::Placing, A::Finished, A::Ambiguous, A::Finished, A::NotPlaced, A::Finished]),
        ];
        for (name, step, after) in attempt_steps {
            assert_eq!(A::ALL.map(|s| step.apply(s)), after, "{name}");
        }
        assert_eq!(GIVEN_UP_CONTACT, C::Unknown);
        assert_eq!(PLACEMENT_FROM, [A::Placing, A::Ambiguous]);
    }

    #[test]
    fn a_result_moves_its_contact_only_from_a_call_not_superseded() {
        use ContactState as C;
        // (contact now, called since, moves)
        let table = [
            (C::Active, false, true),
            (C::Unknown, false, true),
            (C::Pending, false, true),
            (C::Active, true, false),
            (C::Unknown, true, false),
            (C::Pending, true, false),
            (C::Done, false, false),
            (C::Invalid, false, false),
            (C::Duplicate, false, false),
            (C::Suppressed, false, false),
            (C::Expired, false, false),
            (C::Removed, false, false),
        ];
        for (state, called_since, moves) in table {
            assert_eq!(
                result_moves(state, called_since),
                moves,
                "{state}, called since {called_since}"
            );
        }
    }
}
