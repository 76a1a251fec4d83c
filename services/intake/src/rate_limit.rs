//! Per-API-key rate limit: `governor`'s keyed GCRA limiter, which behaves as a token bucket per
//! key (a burst of `rate_limit_burst` requests, then one more every `1 / rate_limit_per_second`
//! seconds) without a hand-written refill.
//!
//! Memory is bounded twice over. The keys are API key ids, and a request reaches the limiter only
//! after [`crate::keys::authenticate`] found its key in the database, so there are never more
//! keys than rows in `api_keys`; unauthenticated traffic adds none. And every
//! [`RETAIN_EVERY_CHECKS`] checks the limiter forgets the keys whose state has returned to a full
//! burst (`retain_recent`: forgetting them changes no answer), so the table holds only the keys
//! active in the last `burst / per_second` seconds.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::Quota;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use uuid::Uuid;

/// Checks between two sweeps of idle keys. A sweep locks the table for one pass over it; with a
/// few thousand keys that is microseconds, so this is about keeping it off every request.
pub const RETAIN_EVERY_CHECKS: u64 = 4_096;

/// Highest accepted `rate_limit_per_second`: governor counts the interval between two requests
/// in whole nanoseconds, and a higher rate would make it zero.
const PER_SECOND_MAX: u32 = 1_000_000_000;

/// The keyed limiter on clock `C` (std's monotonic clock outside tests).
type Keyed<C> = governor::RateLimiter<
    Uuid,
    DefaultKeyedStateStore<Uuid>,
    C,
    NoOpMiddleware<<C as Clock>::Instant>,
>;

/// Rate limits keyed by API key id.
pub struct RateLimiter<C: Clock = DefaultClock> {
    limiter: Keyed<C>,
    checks: AtomicU64,
}

impl<C: Clock> std::fmt::Debug for RateLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("keys", &self.limiter.len())
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// `per_second` requests per second on average, at most `burst` at once (both at least 1).
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self::with_clock(per_second, burst, DefaultClock::default())
    }
}

impl<C: Clock> RateLimiter<C> {
    fn with_clock(per_second: u32, burst: u32, clock: C) -> Self {
        let per_second = NonZeroU32::new(per_second.clamp(1, PER_SECOND_MAX)).expect("at least 1");
        let burst = NonZeroU32::new(burst.max(1)).expect("at least 1");
        let quota = Quota::per_second(per_second).allow_burst(burst);
        Self {
            limiter: governor::RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts a request of `key`; `Err` holds how long until it would be allowed.
    pub fn check(&self, key: Uuid) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % RETAIN_EVERY_CHECKS
            == RETAIN_EVERY_CHECKS - 1
        {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }

    /// Keys currently held (those used within the last full refill, plus any not yet swept).
    pub fn keys(&self) -> usize {
        self.limiter.len()
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn fake(per_second: u32, burst: u32) -> (RateLimiter<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (
            RateLimiter::with_clock(per_second, burst, clock.clone()),
            clock,
        )
    }

    #[test]
    fn a_burst_is_allowed_then_refused_until_refilled() {
        let (limiter, clock) = fake(2, 3);
        let key = Uuid::nil();
        for _ in 0..3 {
            assert!(limiter.check(key).is_ok());
        }
        let wait = limiter.check(key).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500), "one request per 1/2 s");
        clock.advance(Duration::from_millis(499));
        assert!(limiter.check(key).is_err(), "not yet refilled");
        clock.advance(Duration::from_millis(1));
        assert!(limiter.check(key).is_ok());
        assert!(limiter.check(key).is_err(), "only one came back");
        assert!(limiter.check(Uuid::max()).is_ok(), "limits are per key");
    }

    #[test]
    fn a_refused_request_does_not_use_up_the_next_one() {
        let (limiter, clock) = fake(1, 1);
        let key = Uuid::nil();
        assert!(limiter.check(key).is_ok());
        for _ in 0..10 {
            assert_eq!(limiter.check(key), Err(Duration::from_secs(1)));
        }
        clock.advance(Duration::from_secs(1));
        assert!(limiter.check(key).is_ok(), "refusals are not counted");
    }

    #[test]
    fn zero_settings_mean_one() {
        let (limiter, clock) = fake(0, 0);
        assert!(limiter.check(Uuid::nil()).is_ok());
        assert_eq!(limiter.check(Uuid::nil()), Err(Duration::from_secs(1)));
        clock.advance(Duration::from_secs(1));
        assert!(limiter.check(Uuid::nil()).is_ok());
    }

    #[test]
    fn idle_keys_are_forgotten_and_active_ones_kept() {
        let (limiter, clock) = fake(10, 10);
        let active = Uuid::max();
        // Fills the table with keys that each made one request, then lets them refill fully
        // (10 requests at 10/s: 1 s) while `active` spends its burst just before the sweep.
        for n in 0..RETAIN_EVERY_CHECKS - 20 {
            assert!(limiter.check(Uuid::from_u128(u128::from(n) + 1)).is_ok());
        }
        clock.advance(Duration::from_secs(2));
        for _ in 0..10 {
            assert!(limiter.check(active).is_ok());
        }
        assert_eq!(limiter.keys() as u64, RETAIN_EVERY_CHECKS - 20 + 1);
        // The remaining checks reach the sweep.
        for _ in 0..9 {
            assert!(limiter.check(active).is_err());
        }
        assert!(
            limiter.check(active).is_err(),
            "the sweep keeps the state of a limited key"
        );
        assert_eq!(
            limiter.keys(),
            1,
            "only the key still short of a full burst is kept"
        );
    }
}
