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

/// Placements the rate allows within this span of each other are placed as one round: their
/// attempts are committed together with one disk flush, then their POSTs go out together.
pub const ROUND: Duration = Duration::from_secs(1);

/// `calls_per_minute` placements per minute, `burst` at once, in rounds of up to [`ROUND`].
pub struct Pacer {
    limiter: RateLimiter<NotKeyed, InMemoryState, SimClock, NoOpMiddleware<Nanos>>,
    clock: SimClock,
    /// Placements per round: what the rate allows in [`ROUND`], at least 1, and one short of
    /// `burst` (when it is 2 or more). A round as large as the burst would wait for a full
    /// bucket, which stops filling: a round taken a moment late would lose that moment's rate.
    round: NonZeroU32,
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
        let per_round = u64::from(calls_per_minute.get()) * ROUND.as_millis() as u64 / 60_000;
        let short_of_burst = NonZeroU32::new(burst.get() - 1).unwrap_or(NonZeroU32::MIN);
        let round = NonZeroU32::new(u32::try_from(per_round).unwrap_or(u32::MAX))
            .unwrap_or(NonZeroU32::MIN)
            .min(short_of_burst);
        Pacer {
            limiter: RateLimiter::direct_with_clock(quota, clock.clone()),
            clock,
            round,
        }
    }

    /// The most placements a round may have.
    pub fn round(&self) -> usize {
        self.round.get() as usize
    }

    /// Takes the placements of one round, at most `room`, if the rate allows them all now;
    /// otherwise how long (simulated) until it does. `room` 0 takes nothing.
    pub fn take_round(&self, room: usize) -> Result<u32, Duration> {
        let room = u32::try_from(room).unwrap_or(u32::MAX);
        let Some(n) = NonZeroU32::new(room.min(self.round.get())) else {
            return Ok(0);
        };
        match self.limiter.check_n(n) {
            Ok(Ok(())) => Ok(n.get()),
            Ok(Err(not_until)) => Err(not_until.wait_time_from(self.clock.now())),
            // `n` is at most the burst: never.
            Err(_) => Err(Duration::from_secs(1)),
        }
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
            assert_eq!(pacer.take_round(1), Ok(1));
        }
        let wait = pacer.take_round(1).unwrap_err();
        assert!(
            wait <= Duration::from_secs(3) && wait > Duration::ZERO,
            "{wait:?}"
        );
        clock.advance(Duration::from_secs(3));
        assert_eq!(pacer.take_round(1), Ok(1));
        assert!(pacer.take_round(1).is_err());
        assert_eq!(pacer.take_round(0), Ok(0));
    }

    fn pacer(per_minute: u32, burst: u32, clock: &ManualClock) -> Pacer {
        Pacer::new(
            NonZeroU32::new(per_minute).unwrap(),
            NonZeroU32::new(burst).unwrap(),
            clock.clock(),
        )
    }

    #[test]
    fn a_round_is_what_the_rate_allows_in_a_second() {
        let clock = ManualClock::new("2026-12-07T17:00:00Z".parse().unwrap());
        // 600/min: 10 placements a second, but one short of the burst of 10: 9.
        let fast = pacer(600, 10, &clock);
        assert_eq!(fast.round(), 9);
        assert_eq!(fast.take_round(100), Ok(9));
        // One is left in the bucket; eight more come back in 0.8 s.
        let wait = fast.take_round(100).unwrap_err();
        assert_eq!(wait, Duration::from_millis(800));
        clock.advance(Duration::from_millis(700));
        // Eight are there, not nine: the round waits for the ninth.
        assert_eq!(fast.take_round(100), Err(Duration::from_millis(100)));
        // Less room than a round (the concurrency cap): what fits.
        assert_eq!(fast.take_round(3), Ok(3));
        // The burst bounds a round; below 120/min, one at a time.
        assert_eq!(pacer(600, 3, &clock).round(), 2);
        assert_eq!(pacer(600, 1, &clock).round(), 1);
        assert_eq!(pacer(120, 10, &clock).round(), 2);
        assert_eq!(pacer(119, 10, &clock).round(), 1);
        assert_eq!(pacer(60, 10, &clock).take_round(100), Ok(1));
    }
}
