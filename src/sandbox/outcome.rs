//! What happens to a call: the deterministic outcome draw, the simulated timing, and the magic
//! numbers that force an outcome regardless of the seed.
//!
//! Invariant: the [`Plan`] of a call depends only on (seed, destination number, how many calls
//! to that number were placed before it, the outcome distribution). It is derived from a SHA-256
//! of those inputs feeding a fixed-algorithm generator (xoshiro256++), so the same seed gives
//! the same outcomes on every machine and every run.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The five terminal statuses, which are also the possible outcomes of a call: the same type
/// the runner and the client use.
pub use crate::api::Outcome;

/// Relative weights of the outcomes; the draw picks one in proportion to its weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Distribution {
    pub completed: u32,
    pub no_answer: u32,
    pub voicemail: u32,
    pub declined: u32,
    pub failed: u32,
}

impl Default for Distribution {
    fn default() -> Self {
        Distribution {
            completed: 70,
            no_answer: 12,
            voicemail: 10,
            declined: 5,
            failed: 3,
        }
    }
}

impl Distribution {
    fn weights(&self) -> [u32; 5] {
        [
            self.completed,
            self.no_answer,
            self.voicemail,
            self.declined,
            self.failed,
        ]
    }

    /// The sum of the weights; a usable distribution has a positive total.
    pub fn total(&self) -> u64 {
        self.weights().iter().map(|&w| u64::from(w)).sum()
    }

    /// Parses `completed=70,no_answer=12,…`; outcomes not named get weight 0.
    pub fn parse(text: &str) -> Result<Distribution, String> {
        let mut d = Distribution {
            completed: 0,
            no_answer: 0,
            voicemail: 0,
            declined: 0,
            failed: 0,
        };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not outcome=weight"))?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("the weight in `{part}` is not a whole number"))?;
            let slot = match name.trim() {
                "completed" => &mut d.completed,
                "no_answer" => &mut d.no_answer,
                "voicemail" => &mut d.voicemail,
                "declined" => &mut d.declined,
                "failed" => &mut d.failed,
                other => {
                    return Err(format!(
                        "unknown outcome `{other}` (use completed, no_answer, voicemail, declined, failed)"
                    ));
                }
            };
            *slot = weight;
        }
        if d.total() == 0 {
            return Err("the outcome weights add up to 0".into());
        }
        Ok(d)
    }

    fn pick(&self, roll: u64) -> Outcome {
        let mut roll = roll % self.total().max(1);
        for (outcome, weight) in Outcome::ALL.into_iter().zip(self.weights()) {
            if roll < u64::from(weight) {
                return outcome;
            }
            roll -= u64::from(weight);
        }
        Outcome::Completed
    }
}

/// What a magic number forces. See [`magic`] for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Magic {
    /// Always this outcome.
    Always(Outcome),
    /// Answered, then stays `in_progress` forever: never a terminal status or event.
    NeverFinishes,
    /// Every `POST` answers 503 `placement_failed`; no call is created.
    PlacementFailed,
    /// Every `POST` answers 400 `destination_blocked`; no call is created.
    DestinationBlocked,
    /// The first call to the number is `no_answer`, every later one `completed`.
    NoAnswerThenCompleted,
    /// The first `POST` for the number answers 503 `placement_failed`; later ones are placed
    /// and complete.
    PlacementFailedThenCompleted,
}

/// The magic-number table: the last ten numbers of each fictional range force an outcome:
/// US and Canadian `+1 NPA 555-0190 … 555-0199` (any area code), and the UK's drama numbers
/// `+44 20 7946 0190 … 0199` (London; the drama mobiles, 07700 900xxx, are not valid numbers to
/// libphonenumber, so no campaign could use them). The rest of those ranges gets the seeded
/// distribution.
///
/// | last digit | effect |
/// |---|---|
/// | 0 | completed |
/// | 1 | no_answer |
/// | 2 | voicemail |
/// | 3 | declined |
/// | 4 | failed |
/// | 5 | answered, never finishes |
/// | 6 | 503 placement_failed at POST, always |
/// | 7 | 400 destination_blocked at POST, always |
/// | 8 | no_answer on the first call, completed afterwards |
/// | 9 | 503 placement_failed on the first POST, then placed and completed |
pub fn magic(to: &str) -> Option<Magic> {
    let digit = magic_digit(to)?;
    Some(match digit {
        '0' => Magic::Always(Outcome::Completed),
        '1' => Magic::Always(Outcome::NoAnswer),
        '2' => Magic::Always(Outcome::Voicemail),
        '3' => Magic::Always(Outcome::Declined),
        '4' => Magic::Always(Outcome::Failed),
        '5' => Magic::NeverFinishes,
        '6' => Magic::PlacementFailed,
        '7' => Magic::DestinationBlocked,
        '8' => Magic::NoAnswerThenCompleted,
        _ => Magic::PlacementFailedThenCompleted,
    })
}

/// The last digit of a magic number (see [`magic`]), `None` for any other number.
fn magic_digit(to: &str) -> Option<char> {
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let last = |rest: &str| {
        let mut chars = rest.chars();
        match (chars.next(), chars.next()) {
            (Some(d), None) if d.is_ascii_digit() => Some(d),
            _ => None,
        }
    };
    if let Some(digits) = to.strip_prefix("+1") {
        if digits.len() != 10 || !digits_only(digits) {
            return None;
        }
        return last(digits[3..].strip_prefix("555019")?);
    }
    last(to.strip_prefix("+4420794601")?.strip_prefix('9')?)
}

/// How a placed call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// Reaches this terminal status.
    Terminal(Outcome),
    /// Stays `in_progress` forever (magic number 0195).
    Never,
}

/// The simulated timeline of one placed call, in whole simulated seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub end: End,
    /// Seconds spent `queued` before ringing.
    pub queued_secs: u32,
    /// Seconds spent `ringing` before answer or the unanswered end.
    pub ring_secs: u32,
    /// Seconds `in_progress` when answered (`None` when nobody picked up). For a call that
    /// never finishes this is meaningless and `None`.
    pub talk_secs: Option<u32>,
    /// Whether a magic number forced this plan.
    pub forced: bool,
    /// Seed for the call's generated content (summary, transcript, extracted values).
    #[serde(skip)]
    pub content_seed: u64,
}

impl Plan {
    /// Whether the call is answered (goes through `in_progress`).
    pub fn answered(&self) -> bool {
        match self.end {
            End::Terminal(outcome) => outcome.answered(),
            End::Never => true,
        }
    }
}

/// `plan` with `--stuck-minutes`: a call that would never end (0195) ends `completed` after
/// `minutes` simulated minutes in progress; any other plan is unchanged.
pub fn unstick(plan: Plan, minutes: Option<u32>) -> Plan {
    match (plan.end, minutes) {
        (End::Never, Some(minutes)) => Plan {
            end: End::Terminal(Outcome::Completed),
            talk_secs: Some(minutes.saturating_mul(60)),
            ..plan
        },
        _ => plan,
    }
}

/// The generator for one (seed, number, nth call) triple.
pub(crate) fn rng_for(seed: u64, to: &str, nth: u64) -> Xoshiro256PlusPlus {
    let mut hash = Sha256::new();
    hash.update(b"bys-sandbox/outcome/v1\0");
    hash.update(seed.to_le_bytes());
    hash.update(to.as_bytes());
    hash.update(b"\0");
    hash.update(nth.to_le_bytes());
    let digest = hash.finalize();
    let mut seed_bytes = [0u8; 32];
    seed_bytes.copy_from_slice(&digest[..32]);
    Xoshiro256PlusPlus::from_seed(seed_bytes)
}

/// Draws the plan of the `nth` call (0-based) placed to `to`.
pub fn draw(seed: u64, to: &str, nth: u64, distribution: &Distribution) -> Plan {
    let mut rng = rng_for(seed, to, nth);
    let roll: u64 = rng.random();
    let (end, forced) = match magic(to) {
        Some(Magic::Always(outcome)) => (End::Terminal(outcome), true),
        Some(Magic::NeverFinishes) => (End::Never, true),
        Some(Magic::NoAnswerThenCompleted) if nth == 0 => (End::Terminal(Outcome::NoAnswer), true),
        Some(
            Magic::NoAnswerThenCompleted
            | Magic::PlacementFailedThenCompleted
            // The two rejecting magics never reach a draw; complete if they somehow do.
            | Magic::PlacementFailed
            | Magic::DestinationBlocked,
        ) => (End::Terminal(Outcome::Completed), true),
        None => (End::Terminal(distribution.pick(roll)), false),
    };
    // Realistic simulated timing: a few seconds queued; ringing until answer, rejection or the
    // carrier's ~30-45 s timeout; conversations from under a minute to a few minutes.
    let queued_secs = rng.random_range(1..=3);
    let (ring_secs, talk_secs) = match end {
        End::Terminal(Outcome::Completed) => {
            (rng.random_range(4..=20), Some(rng.random_range(40..=240)))
        }
        End::Terminal(Outcome::NoAnswer) => (rng.random_range(30..=45), None),
        End::Terminal(Outcome::Voicemail) => {
            (rng.random_range(15..=30), Some(rng.random_range(15..=35)))
        }
        End::Terminal(Outcome::Declined) => (rng.random_range(3..=12), None),
        End::Terminal(Outcome::Failed) => (rng.random_range(1..=5), None),
        End::Never => (rng.random_range(4..=20), None),
    };
    Plan {
        end,
        queued_secs,
        ring_secs,
        talk_secs,
        forced,
        content_seed: rng.random(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuck_minutes_ends_only_the_call_that_never_ends() {
        let d = Distribution::default();
        let stuck = draw(3, "+14155550195", 0, &d);
        assert_eq!(stuck.end, End::Never);
        assert_eq!(unstick(stuck, None), stuck);
        let late = unstick(stuck, Some(30));
        assert_eq!(late.end, End::Terminal(Outcome::Completed));
        assert_eq!(late.talk_secs, Some(1800));
        assert_eq!(
            (late.queued_secs, late.ring_secs),
            (stuck.queued_secs, stuck.ring_secs)
        );
        let plain = draw(3, "+14155550123", 0, &d);
        assert_eq!(unstick(plain, Some(30)), plain);
    }

    #[test]
    fn magic_table() {
        let cases = [
            ("+14155550190", Some(Magic::Always(Outcome::Completed))),
            ("+12125550191", Some(Magic::Always(Outcome::NoAnswer))),
            ("+14155550192", Some(Magic::Always(Outcome::Voicemail))),
            ("+14155550193", Some(Magic::Always(Outcome::Declined))),
            ("+14155550194", Some(Magic::Always(Outcome::Failed))),
            ("+14155550195", Some(Magic::NeverFinishes)),
            ("+14155550196", Some(Magic::PlacementFailed)),
            ("+14155550197", Some(Magic::DestinationBlocked)),
            ("+14155550198", Some(Magic::NoAnswerThenCompleted)),
            ("+14155550199", Some(Magic::PlacementFailedThenCompleted)),
            ("+14155550123", None),
            ("+14155550189", None),
            ("+441555550190", None),
            ("+1415555019", None),
            ("+442079460190", Some(Magic::Always(Outcome::Completed))),
            ("+442079460191", Some(Magic::Always(Outcome::NoAnswer))),
            ("+442079460195", Some(Magic::NeverFinishes)),
            ("+442079460197", Some(Magic::DestinationBlocked)),
            ("+442079460189", None),
            ("+44207946019", None),
            ("+4420794601901", None),
            ("+447700900190", None),
        ];
        for (to, expected) in cases {
            assert_eq!(magic(to), expected, "{to}");
        }
    }

    #[test]
    fn the_draw_is_deterministic_and_depends_on_each_input() {
        let d = Distribution::default();
        let a = draw(7, "+14155550123", 0, &d);
        assert_eq!(a, draw(7, "+14155550123", 0, &d));
        assert_eq!(a.content_seed, draw(7, "+14155550123", 0, &d).content_seed);
        assert_ne!(a.content_seed, draw(8, "+14155550123", 0, &d).content_seed);
        assert_ne!(a.content_seed, draw(7, "+14155550124", 0, &d).content_seed);
        assert_ne!(a.content_seed, draw(7, "+14155550123", 1, &d).content_seed);
    }

    #[test]
    fn the_draw_follows_the_distribution() {
        let d = Distribution::default();
        let mut counts = std::collections::HashMap::new();
        for i in 0..10_000u64 {
            let plan = draw(1, &format!("+1415555{:04}", i % 10_000), i / 10_000, &d);
            if let End::Terminal(o) = plan.end {
                *counts.entry(o).or_insert(0u32) += 1;
            }
        }
        // 70 % ± 3 points, and every outcome appears.
        let completed = counts[&Outcome::Completed];
        assert!((6_700..=7_300).contains(&completed), "{counts:?}");
        assert_eq!(counts.len(), 5, "{counts:?}");
    }

    #[test]
    fn a_one_outcome_distribution_always_gives_it() {
        let d = Distribution::parse("voicemail=1").unwrap();
        for i in 0..50 {
            assert_eq!(
                draw(3, "+14155550100", i, &d).end,
                End::Terminal(Outcome::Voicemail)
            );
        }
    }

    #[test]
    fn distribution_parsing() {
        assert_eq!(
            Distribution::parse("completed=70, no_answer=12,voicemail=10,declined=5,failed=3"),
            Ok(Distribution::default())
        );
        assert!(Distribution::parse("completed=0").is_err());
        assert!(Distribution::parse("answered=3").is_err());
        assert!(Distribution::parse("completed").is_err());
        assert!(Distribution::parse("completed=-1").is_err());
    }

    #[test]
    fn timing_is_consistent_with_the_outcome() {
        let d = Distribution::default();
        for i in 0..2_000 {
            let plan = draw(9, "+14155550150", i, &d);
            assert!((1..=3).contains(&plan.queued_secs));
            assert_eq!(
                plan.talk_secs.is_some(),
                plan.answered() && plan.end != End::Never
            );
        }
    }

    #[test]
    fn retry_magics_change_after_the_first_call() {
        let d = Distribution::default();
        assert_eq!(
            draw(1, "+14155550198", 0, &d).end,
            End::Terminal(Outcome::NoAnswer)
        );
        assert_eq!(
            draw(1, "+14155550198", 1, &d).end,
            End::Terminal(Outcome::Completed)
        );
        assert_eq!(
            draw(1, "+14155550199", 0, &d).end,
            End::Terminal(Outcome::Completed)
        );
    }
}
