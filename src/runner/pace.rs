//! Placement pacing with governor, on the runner's clock.
//!
//! governor measures time through its own `Clock` trait; this adapter feeds it the runner's
//! [`crate::clock::Clock`], so that in a rehearsal (`run --sandbox`) the rate limit plays out in
//! simulated time like everything else.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::clock::Clock;

/// Nanoseconds of the runner's (possibly simulated) clock since the Unix epoch.
#[derive(Debug, Clone)]
pub struct SimClock(pub Clock);

impl GovernorClock for SimClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(u64::try_from(self.0.now().as_nanosecond()).unwrap_or(0))
    }
}

/// `calls_per_minute` placements per minute, `burst` at once.
pub struct Pacer {
    limiter: RateLimiter<NotKeyed, InMemoryState, SimClock, NoOpMiddleware<Nanos>>,
    clock: SimClock,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer").finish_non_exhaustive()
    }
}

impl Pacer {
    pub fn new(calls_per_minute: NonZeroU32, burst: NonZeroU32, clock: Clock) -> Pacer {
        let clock = SimClock(clock);
        let quota = Quota::per_minute(calls_per_minute).allow_burst(burst);
        Pacer {
            limiter: RateLimiter::direct_with_clock(quota, clock.clone()),
            clock,
        }
    }

    /// Takes one placement if allowed now; otherwise how long (simulated) until one is.
    pub fn take(&self) -> Result<(), Duration> {
        self.limiter
            .check()
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn burst_then_the_rate() {
        let clock = ManualClock::new("2026-12-07T17:00:00Z".parse().unwrap());
        let pacer = Pacer::new(
            NonZeroU32::new(20).unwrap(),
            NonZeroU32::new(5).unwrap(),
            clock.clock(),
        );
        for _ in 0..5 {
            assert_eq!(pacer.take(), Ok(()));
        }
        let wait = pacer.take().unwrap_err();
        assert!(
            wait <= Duration::from_secs(3) && wait > Duration::ZERO,
            "{wait:?}"
        );
        clock.advance(Duration::from_secs(3));
        assert_eq!(pacer.take(), Ok(()));
        assert!(pacer.take().is_err());
    }
}
