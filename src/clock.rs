//! The simulated clock shared by the sandbox (and, later, the campaign runner).
//!
//! A [`Clock`] answers "what time is it?" in *simulated* time and sleeps until a simulated
//! instant. Three flavours exist:
//! - [`Clock::system`]: simulated time is wall-clock time;
//! - [`Clock::scaled`]: simulated time starts at a given instant and runs `1/scale` times
//!   faster than real time (scale `0.01` turns a 156 s call into 1.56 real seconds);
//! - [`ManualClock`]: time stands still until a test calls [`ManualClock::advance`], and
//!   sleepers wake as soon as the time they wait for is reached.
//!
//! Invariant: for a given clock, [`Clock::now`] never goes backwards (the scaled clock counts
//! from a monotonic instant; the manual clock refuses to move back). The system clock follows
//! the wall clock and is only as monotonic as it is.
//!
//! Clones are cheap and share the same time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

/// A cheap-to-clone source of simulated time.
#[derive(Debug, Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
enum Inner {
    System,
    Scaled {
        start: Timestamp,
        // tokio's Instant, so tests running with paused tokio time also pause this clock.
        origin: tokio::time::Instant,
        scale: f64,
        /// Simulated nanoseconds skipped over by [`Clock::skip_to`].
        skipped: AtomicU64,
    },
    Manual {
        now: watch::Sender<Timestamp>,
    },
}

impl Clock {
    /// Simulated time is the wall clock.
    pub fn system() -> Clock {
        Clock {
            inner: Arc::new(Inner::System),
        }
    }

    /// Simulated time starts at `start` now and runs `1/scale` times faster than real time.
    ///
    /// `scale` must be finite and positive; anything else is treated as `1.0` (the callers
    /// validate user input before it gets here, so this only guards against bugs).
    pub fn scaled(start: Timestamp, scale: f64) -> Clock {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        Clock {
            inner: Arc::new(Inner::Scaled {
                start,
                origin: tokio::time::Instant::now(),
                scale,
                skipped: AtomicU64::new(0),
            }),
        }
    }

    /// The current simulated time.
    pub fn now(&self) -> Timestamp {
        match &*self.inner {
            Inner::System => Timestamp::now(),
            Inner::Scaled {
                start,
                origin,
                scale,
                skipped,
            } => {
                let sim = origin.elapsed().div_f64(*scale)
                    + Duration::from_nanos(skipped.load(Ordering::Acquire));
                start.saturating_add(sim).unwrap_or(*start)
            }
            Inner::Manual { now } => *now.borrow(),
        }
    }

    /// Jumps a scaled clock forward to `to`, as if the time in between had passed at once;
    /// `false` (and nothing changes) for other clocks, or when `to` is not in the future.
    ///
    /// For a rehearsal with nothing in flight: waiting for a window to open or a retry to fall
    /// due has no events to play out, and skipping it keeps a campaign of days to a minute.
    /// Sleepers already waiting keep their real-time deadline and wake late in simulated time.
    pub fn skip_to(&self, to: Timestamp) -> bool {
        let Inner::Scaled { skipped, .. } = &*self.inner else {
            return false;
        };
        let gap = to.duration_since(self.now());
        if gap <= SignedDuration::ZERO {
            return false;
        }
        let nanos = u64::try_from(gap.as_nanos()).unwrap_or(u64::MAX);
        skipped.fetch_add(nanos, Ordering::AcqRel);
        true
    }

    /// The real seconds one simulated second takes: `Some(1.0)` for the system clock, the
    /// factor for a scaled one, `None` for a manual clock (it has no real-time rate).
    pub fn scale(&self) -> Option<f64> {
        match &*self.inner {
            Inner::System => Some(1.0),
            Inner::Scaled { scale, .. } => Some(*scale),
            Inner::Manual { .. } => None,
        }
    }

    /// How much real time a simulated duration takes on this clock. A manual clock has no
    /// real-time rate; it answers the simulated duration unchanged.
    pub fn to_real(&self, simulated: Duration) -> Duration {
        match &*self.inner {
            Inner::Scaled { scale, .. } => simulated.mul_f64(*scale),
            Inner::System | Inner::Manual { .. } => simulated,
        }
    }

    /// `simulated`, or longer on a fast clock: at least `real` of real time (see
    /// [`at_least_real`]).
    pub fn at_least_real(&self, simulated: Duration, real: Duration) -> Duration {
        at_least_real(self.scale(), simulated, real)
    }

    /// Sleeps until the simulated time is at least `deadline`. Returns at once if it already is.
    pub async fn sleep_until(&self, deadline: Timestamp) {
        match &*self.inner {
            Inner::Manual { now } => {
                let mut rx = now.subscribe();
                loop {
                    if *rx.borrow_and_update() >= deadline {
                        return;
                    }
                    if rx.changed().await.is_err() {
                        // The sender lives as long as this clock, so this cannot happen; if it
                        // ever did, time could never reach the deadline.
                        std::future::pending::<()>().await;
                    }
                }
            }
            Inner::System | Inner::Scaled { .. } => loop {
                let remaining = deadline.duration_since(self.now());
                if remaining <= SignedDuration::ZERO {
                    return;
                }
                // Loop rather than trust one sleep: the conversion rounds, and the wall clock
                // may be adjusted while we sleep.
                let real = self.to_real(remaining.unsigned_abs());
                tokio::time::sleep(real.max(Duration::from_micros(100))).await;
            },
        }
    }

    /// Sleeps for a simulated duration.
    pub async fn sleep(&self, simulated: Duration) {
        let deadline = self
            .now()
            .saturating_add(simulated)
            .unwrap_or(Timestamp::MAX);
        self.sleep_until(deadline).await;
    }
}

/// A clock whose time moves only when told to; hand [`ManualClock::clock`] to the code under
/// test and call [`ManualClock::advance`] from the test.
#[derive(Debug, Clone)]
pub struct ManualClock {
    clock: Clock,
}

impl ManualClock {
    /// A manual clock standing at `start`.
    pub fn new(start: Timestamp) -> ManualClock {
        let (tx, _rx) = watch::channel(start);
        ManualClock {
            clock: Clock {
                inner: Arc::new(Inner::Manual { now: tx }),
            },
        }
    }

    /// The clock to give to the code under test; it shares this manual clock's time.
    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    /// The current simulated time.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Moves time forward by `by` and wakes every sleeper whose deadline has passed.
    pub fn advance(&self, by: Duration) {
        if let Inner::Manual { now } = &*self.clock.inner {
            now.send_modify(|t| *t = t.saturating_add(by).unwrap_or(Timestamp::MAX));
        }
    }

    /// Moves time to `to`; does nothing if `to` is in the past (time never goes backwards).
    pub fn set(&self, to: Timestamp) {
        if let Inner::Manual { now } = &*self.clock.inner {
            now.send_if_modified(|t| {
                if to > *t {
                    *t = to;
                    true
                } else {
                    false
                }
            });
        }
    }
}

/// `simulated`, and on a clock of this scale (real seconds per simulated second; `None`: a
/// manual clock, which has no real-time rate) at least `real` of real time: for what must not
/// become a stream of requests, or a verdict on one answer, when a rehearsal runs many times
/// faster than real time.
pub fn at_least_real(scale: Option<f64>, simulated: Duration, real: Duration) -> Duration {
    match scale {
        Some(scale) if scale > 0.0 => simulated.max(real.div_f64(scale)),
        _ => simulated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Timestamp {
        "2026-01-05T09:00:00Z".parse().unwrap()
    }

    #[tokio::test]
    async fn manual_clock_moves_only_when_advanced_and_wakes_sleepers() {
        let manual = ManualClock::new(t0());
        let clock = manual.clock();
        assert_eq!(clock.now(), t0());

        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep(Duration::from_secs(60)).await }
        });
        tokio::task::yield_now().await;
        manual.advance(Duration::from_secs(59));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished(), "woke one second early");
        manual.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("sleeper did not wake")
            .unwrap();
        assert_eq!(clock.now(), t0() + Duration::from_secs(60));
    }

    #[tokio::test]
    async fn manual_clock_never_goes_backwards() {
        let manual = ManualClock::new(t0());
        manual.set(t0() - Duration::from_secs(10));
        assert_eq!(manual.now(), t0());
        manual.set(t0() + Duration::from_secs(10));
        assert_eq!(manual.now(), t0() + Duration::from_secs(10));
    }

    #[tokio::test]
    async fn sleeping_until_the_past_returns_at_once() {
        let manual = ManualClock::new(t0());
        // Bounded: a sleep that waited would fail the test rather than hang it.
        let at_once = Duration::from_secs(5);
        tokio::time::timeout(at_once, manual.clock().sleep_until(t0()))
            .await
            .expect("a manual clock slept until the present");
        tokio::time::timeout(at_once, Clock::system().sleep_until(Timestamp::UNIX_EPOCH))
            .await
            .expect("the system clock slept until 1970");
    }

    #[tokio::test(start_paused = true)]
    async fn scaled_clock_runs_faster_than_real_time() {
        let clock = Clock::scaled(t0(), 0.01);
        tokio::time::advance(Duration::from_millis(1560)).await;
        let elapsed = clock.now().duration_since(t0());
        assert_eq!(elapsed.as_secs(), 156, "{elapsed:?}");
        assert_eq!(
            clock.to_real(Duration::from_secs(156)),
            Duration::from_millis(1560)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn scaled_clock_sleeps_for_the_scaled_real_time() {
        let clock = Clock::scaled(t0(), 0.5);
        let real_start = tokio::time::Instant::now();
        clock.sleep(Duration::from_secs(10)).await;
        let real = real_start.elapsed();
        assert!(real >= Duration::from_secs(5), "{real:?}");
        assert!(real < Duration::from_millis(5100), "{real:?}");
        assert!(clock.now() >= t0() + Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_scaled_clock_skips_forward_only() {
        let clock = Clock::scaled(t0(), 0.01);
        let later = t0() + Duration::from_secs(3600);
        assert!(clock.skip_to(later));
        assert_eq!(clock.now(), later);
        // Time then runs on from there, and a skip into the past changes nothing.
        tokio::time::advance(Duration::from_millis(1560)).await;
        assert_eq!(clock.now(), later + Duration::from_secs(156));
        assert!(!clock.skip_to(t0()));
        assert_eq!(clock.now(), later + Duration::from_secs(156));
        // Clones share the skip; other clocks never skip.
        assert!(clock.clone().skip_to(later + Duration::from_secs(7200)));
        assert_eq!(clock.now(), later + Duration::from_secs(7200));
        assert!(!ManualClock::new(t0()).clock().skip_to(later));
        assert!(!Clock::system().skip_to(Timestamp::MAX));
    }

    #[test]
    fn invalid_scales_fall_back_to_real_time() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let clock = Clock::scaled(t0(), bad);
            assert_eq!(
                clock.to_real(Duration::from_secs(3)),
                Duration::from_secs(3)
            );
        }
    }
}
