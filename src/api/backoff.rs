//! How long to wait before trying again: exponential backoff with full jitter.
//!
//! Attempt `n` (0 for the first retry) waits a uniformly random time in
//! `[0, min(cap, base · factor^n)]` ("full jitter"): many rows failing together spread their
//! retries over the whole window instead of returning in lockstep, which is what a rate-limited
//! or recovering service needs. A server-given `Retry-After` is a floor: the server knows
//! better than our guess, and coming back earlier only earns another 429.
//!
//! The policy is pure: the random fraction is an argument, so tests are exact;
//! [`BackoffPolicy::delay_random`] draws it from the thread's generator.

use std::time::Duration;

/// Exponential backoff with full jitter, honouring `Retry-After` as a floor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffPolicy {
    /// The ceiling of the first retry's window.
    pub base: Duration,
    /// How much the window grows per attempt.
    pub factor: f64,
    /// The largest window.
    pub cap: Duration,
}

impl Default for BackoffPolicy {
    /// 1 s, doubling, up to 60 s: a temporary 503 usually clears within seconds, and a minute
    /// between tries is slow enough to be harmless during an outage.
    fn default() -> Self {
        BackoffPolicy {
            base: Duration::from_secs(1),
            factor: 2.0,
            cap: Duration::from_secs(60),
        }
    }
}

impl BackoffPolicy {
    /// The window's ceiling for `attempt` (0-based): `min(cap, base · factor^attempt)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        // Exponents beyond this are past any cap; clamping keeps powf finite.
        let exponent = attempt.min(64) as i32;
        let secs = self.base.as_secs_f64() * self.factor.powi(exponent);
        if secs.is_finite() && secs < self.cap.as_secs_f64() {
            Duration::from_secs_f64(secs)
        } else {
            self.cap
        }
    }

    /// The delay before retry `attempt` (0-based), given a random `fraction` in `[0, 1)` and
    /// the server's `Retry-After` if any. Fractions outside `[0, 1]` are clamped.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, fraction: f64) -> Duration {
        let fraction = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        let jittered = self.ceiling(attempt).mul_f64(fraction);
        jittered.max(retry_after.unwrap_or(Duration::ZERO))
    }

    /// [`BackoffPolicy::delay`] with a fraction from the thread-local generator.
    pub fn delay_random(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        self.delay(attempt, retry_after, rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn the_window_doubles_up_to_the_cap() {
        let p = BackoffPolicy::default();
        let ceilings: Vec<f64> = (0..9).map(|n| p.ceiling(n).as_secs_f64()).collect();
        assert_eq!(ceilings, [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]);
        assert_eq!(p.ceiling(u32::MAX), p.cap);
        let huge = BackoffPolicy { factor: 1e300, ..p };
        assert_eq!(huge.ceiling(3), p.cap);
    }

    #[test]
    fn full_jitter_spans_the_window() {
        let p = BackoffPolicy::default();
        // (attempt, Retry-After, fraction, expected delay)
        let rows: &[(u32, Option<f64>, f64, f64)] = &[
            (0, None, 0.0, 0.0),
            (0, None, 0.5, 0.5),
            (0, None, 0.999, 0.999),
            (3, None, 0.25, 2.0),
            (3, None, 1.0, 8.0),
            (10, None, 0.5, 30.0),
            (10, None, 2.0, 60.0),
            (10, None, -1.0, 0.0),
            (10, None, f64::NAN, 0.0),
            // Retry-After is a floor, whatever the draw...
            (0, Some(50.0), 0.0, 50.0),
            (0, Some(50.0), 0.99, 50.0),
            // ...and beyond the cap too: the server knows when it will take us back.
            (10, Some(120.0), 0.9, 120.0),
            // A draw above the floor stands.
            (10, Some(5.0), 0.5, 30.0),
        ];
        for &(attempt, retry_after, fraction, expected) in rows {
            let got = p.delay(attempt, retry_after.map(secs), fraction);
            assert!(
                (got.as_secs_f64() - expected).abs() < 1e-9,
                "attempt {attempt}, retry-after {retry_after:?}, fraction {fraction}: {got:?}"
            );
        }
    }

    #[test]
    fn random_delays_stay_within_the_window_and_above_the_floor() {
        let p = BackoffPolicy::default();
        for attempt in 0..10 {
            let d = p.delay_random(attempt, None);
            assert!(d <= p.ceiling(attempt), "{attempt}: {d:?}");
            let d = p.delay_random(attempt, Some(secs(3.0)));
            assert!(d >= secs(3.0) && d <= p.ceiling(attempt).max(secs(3.0)));
        }
    }
}
