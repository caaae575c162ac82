//! Fault injection: the rate limiter, the minute cap, random errors, added latency, dropped
//! connections, placements that take effect late and failing webhook deliveries.
//!
//! Rate-limit windows and the minute cap count *simulated* time, like everything else in the
//! sandbox, so a runner sharing the sandbox's clock sees consistent `Retry-After` values.
//! Latency is real time: it stands for the network, not for the call.
//!
//! The random faults draw from one generator seeded from `--seed`, so a given seed and request
//! order inject the same faults.

use std::collections::VecDeque;
use std::time::Duration;

use jiff::Timestamp;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// The fault settings, validated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Faults {
    /// At most this many `POST /v1/agent/calls` per simulated minute, per API key.
    pub rate_limit: Option<u32>,
    /// After this many simulated minutes of conversation, placements answer `over_minute_cap`.
    pub minute_cap: Option<u32>,
    /// Probability that an API request answers 503 before doing anything.
    pub error_rate: f64,
    /// Real time added before every API answer.
    pub latency: Duration,
    /// Probability that a placed call's answer is never written (the connection is closed).
    pub drop_after_create: f64,
    /// A POST held on its way (a slow gateway, a queue): its connection is closed at once, with
    /// no answer, and the API handles it this much simulated time later, as if it had just
    /// arrived (`None`: never).
    pub late_create: Option<Duration>,
    /// Probability that a POST is held so (with [`Faults::late_create`]).
    pub late_create_rate: f64,
    /// Probability that a webhook delivery attempt is lost before it is sent.
    pub webhook_fail_rate: f64,
    /// Probability that a completed call obtains none of the requested fields (every extracted
    /// value `null`), as when the objective or the fields are badly written.
    pub empty_rate: f64,
    /// Calls to 555-0195 stay `in_progress` this many simulated minutes, then complete (a
    /// hang-up the carrier reports late); `None`: they never end.
    pub stuck_minutes: Option<u32>,
}

/// Parses a `--rate-limit` value: `N/min` or a bare `N` (per minute).
pub fn parse_rate_limit(text: &str) -> Result<u32, String> {
    let number = text
        .trim()
        .strip_suffix("/min")
        .or_else(|| text.trim().strip_suffix("/m"))
        .unwrap_or(text.trim());
    match number.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("`{text}` is not a rate such as 60/min")),
    }
}

/// Checks that a probability lies in 0..=1.
pub fn check_probability(name: &str, p: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{name} must be between 0 and 1, not {p}"))
    }
}

/// A sliding one-minute window of placements for one API key.
#[derive(Debug, Default)]
pub struct Window {
    recent: VecDeque<Timestamp>,
}

impl Window {
    /// Admits a request at `now` under `limit` per minute, or answers how many whole seconds to
    /// wait before one would be admitted.
    pub fn admit(&mut self, now: Timestamp, limit: u32) -> Result<(), u64> {
        let minute = Duration::from_secs(60);
        while self
            .recent
            .front()
            .is_some_and(|&t| now.duration_since(t).as_secs_f64() >= 60.0)
        {
            self.recent.pop_front();
        }
        if self.recent.len() < limit as usize {
            self.recent.push_back(now);
            return Ok(());
        }
        let oldest = self.recent.front().copied().unwrap_or(now);
        let free_at = oldest + minute;
        let wait = free_at.duration_since(now).as_secs_f64().ceil().max(1.0);
        Err(wait as u64)
    }
}

/// The seeded coin flips behind the random faults.
#[derive(Debug)]
pub struct Dice {
    rng: Xoshiro256PlusPlus,
}

impl Dice {
    pub fn new(seed: u64) -> Dice {
        // Offset the seed so fault flips are independent of the outcome draws.
        Dice {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x6661_756c_7473),
        }
    }

    /// True with probability `p`.
    pub fn flip(&mut self, p: f64) -> bool {
        p > 0.0 && (p >= 1.0 || self.rng.random_bool(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Timestamp {
        "2026-01-05T09:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_window_admits_n_per_minute_and_says_when_to_retry() {
        let mut w = Window::default();
        assert_eq!(w.admit(t0(), 2), Ok(()));
        assert_eq!(w.admit(t0() + Duration::from_secs(10), 2), Ok(()));
        assert_eq!(w.admit(t0() + Duration::from_secs(20), 2), Err(40));
        assert_eq!(w.admit(t0() + Duration::from_millis(59_500), 2), Err(1));
        assert_eq!(w.admit(t0() + Duration::from_secs(60), 2), Ok(()));
        assert_eq!(w.admit(t0() + Duration::from_secs(61), 2), Err(9));
    }

    #[test]
    fn rate_limits_parse() {
        assert_eq!(parse_rate_limit("60/min"), Ok(60));
        assert_eq!(parse_rate_limit("5"), Ok(5));
        assert!(parse_rate_limit("0/min").is_err());
        assert!(parse_rate_limit("fast").is_err());
    }

    #[test]
    fn dice_are_seeded_and_respect_the_extremes() {
        let flips = |seed| {
            let mut d = Dice::new(seed);
            (0..64).map(|_| d.flip(0.5)).collect::<Vec<_>>()
        };
        assert_eq!(flips(1), flips(1));
        assert_ne!(flips(1), flips(2));
        let mut d = Dice::new(1);
        assert!((0..100).all(|_| !d.flip(0.0)));
        assert!((0..100).all(|_| d.flip(1.0)));
        assert!(check_probability("p", 1.5).is_err());
    }
}
