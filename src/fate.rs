//! What becomes of a contact next, and why, in words: the `Next:` line of `explain`, the
//! `reason` and `next_call_at` columns of the results, and the wait reasons of `status`. One
//! place, so that they never disagree. Pure: it reads a contact's standing, never the store.

use jiff::Timestamp;

use crate::api::Outcome;
use crate::campaign::{Campaign, RetryPolicy};
use crate::state::{ContactState, Wait};
use crate::text::escape_control;

/// A contact as far as its fate is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Standing<'a> {
    /// `false`: no longer in the CSV.
    pub present: bool,
    pub state: ContactState,
    /// Why it is invalid, suppressed, unknown, refused, or why the campaign ended before it.
    pub reason: Option<&'a str>,
    /// The outcome of its last call.
    pub outcome: Option<Outcome>,
    /// Calls placed, or possibly placed.
    pub calls: u32,
    pub due_at: Option<Timestamp>,
    pub wait: Option<Wait>,
    /// Whether a POST was ever made for it (an invalid contact with one was refused by the API).
    pub attempted: bool,
}

/// When it is called next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextCall {
    /// As soon as a run may place it (limits and calling windows allowing).
    Now,
    At(Timestamp),
    /// A call is being placed or followed.
    InProgress,
    Never,
}

/// When a contact is called next and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fate {
    pub next: NextCall,
    pub why: String,
}

/// What the campaign's settings say about every contact's fate.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub retry: &'a RetryPolicy,
    /// Whether the campaign has calling windows.
    pub windows: bool,
}

impl<'a> Rules<'a> {
    /// What the campaign's settings say.
    pub fn of(campaign: &'a Campaign) -> Rules<'a> {
        Rules {
            retry: &campaign.retry,
            windows: campaign.schedule.is_some(),
        }
    }
}

/// The fate of a contact standing as `s` at `now`.
pub fn fate(rules: Rules<'_>, s: &Standing<'_>, now: Timestamp) -> Fate {
    let never = |why: String| Fate {
        next: NextCall::Never,
        why,
    };
    if !s.present && s.state != ContactState::Active {
        return never("never again: the row is no longer in the CSV".into());
    }
    let reason = s.reason.map(escape_control).unwrap_or_default();
    match s.state {
        ContactState::Pending => match s.due_at.filter(|&d| d > now) {
            Some(due) => Fate {
                next: NextCall::At(due),
                why: format!(
                    "next call due at {} ({})",
                    second(due),
                    reason_text(s.wait.map_or("scheduled", Wait::as_str))
                ),
            },
            None if !reason.is_empty() => Fate {
                next: NextCall::Now,
                why: format!("due now, but {reason}"),
            },
            None if rules.windows => Fate {
                next: NextCall::Now,
                why: "due now: the next run places it as soon as the limits allow, inside its \
                      calling window (a closed window holds it back to the next opening)"
                    .into(),
            },
            None => Fate {
                next: NextCall::Now,
                why: "due now: the next run places it as soon as the limits allow".into(),
            },
        },
        ContactState::Active => Fate {
            next: NextCall::InProgress,
            why: "a call is being placed or followed now; `run` records its result".into(),
        },
        ContactState::Done => never(match s.outcome {
            Some(Outcome::Completed) => "never again: the call was completed".into(),
            Some(outcome) => {
                let allowed = rules
                    .retry
                    .for_outcome(outcome)
                    .map_or(1, |r| r.attempts.get());
                if s.calls >= allowed {
                    format!(
                        "never again: attempts used up ({} call(s) placed; retry.{outcome} allows \
                         {allowed})",
                        s.calls
                    )
                } else {
                    // Settled under an earlier retry policy of the campaign file.
                    format!(
                        "never again: settled as {outcome} after {} call(s) (retry.{outcome} now \
                         allows {allowed}; a settled contact is never reopened)",
                        s.calls
                    )
                }
            }
            None => format!("never again: the API refused it ({reason})"),
        }),
        ContactState::Unknown => never(match s.due_at.filter(|&d| d > now) {
            Some(held) => format!(
                "never, unless a run is given --retry-unknown after {} (until then its call may \
                 still be going on, and no row with its number is called): a call may have gone \
                 out ({reason})",
                second(held)
            ),
            None => format!(
                "never, unless a run is given --retry-unknown: a call may have gone out ({reason})"
            ),
        }),
        ContactState::Invalid if s.attempted => {
            never(format!("never: the API refused the number ({reason})"))
        }
        ContactState::Invalid => never(format!("never: the row is invalid ({reason})")),
        ContactState::Duplicate => never(format!("never: a duplicate ({reason})")),
        ContactState::Suppressed => never(format!("never: suppressed ({reason})")),
        ContactState::Expired if reason.is_empty() => never("never: its deadline passed".into()),
        ContactState::Expired => never(format!("never: {reason}")),
        ContactState::Removed => never("never again: the row is no longer in the CSV".into()),
    }
}

/// What a wait reason of `status` means, in a few words.
pub fn reason_text(reason: &str) -> &'static str {
    match reason {
        "due" => "due now, as fast as the limits allow",
        "in_flight" => "being called now",
        "retry" => "waiting for the retry delay after an unsuccessful call",
        "window" => "outside their calling windows",
        "campaign" => "before the campaign's schedule.not_before",
        "backoff" => "backing off after the API refused a placement for now",
        "scheduled" => "due later",
        "unknown" => "a call may have gone out: never called again without --retry-unknown",
        "suppressed" => "on a suppression list: never called",
        "invalid" => "invalid: never called",
        "duplicate" => "a duplicate of another row: never called",
        _ => "waiting",
    }
}

fn second(at: Timestamp) -> Timestamp {
    at.round(jiff::Unit::Second).unwrap_or(at)
}
