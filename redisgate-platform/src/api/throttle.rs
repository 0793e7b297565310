//! Login throttling: guessing one account's password costs an argon2 verification per attempt, and after
//! [`BURST`] attempts in a row only one attempt per [`REFILL`] is let through for that email, whoever makes
//! it. One throttle per process, shared by every worker (like the instance meters).

use std::hash::BuildHasher as _;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use redisgate_gateway::ApiError;

/// Attempts allowed in a row for one email.
pub const BURST: NonZeroU32 = NonZeroU32::new(10).expect("non-zero");
/// Time to earn one more attempt.
pub const REFILL: Duration = Duration::from_secs(30);
/// Every this many attempts, emails whose attempts have all been earned back are forgotten.
const PRUNE_EVERY: u32 = 1024;

/// Attempts per email, keyed by a keyed hash of the email (fixed-size keys, whatever the emails' length).
pub struct LoginThrottle {
    limiter: DefaultKeyedRateLimiter<u64>,
    clock: DefaultClock,
    hasher: std::collections::hash_map::RandomState,
    attempts: AtomicU32,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        let quota = Quota::with_period(REFILL).unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN)).allow_burst(BURST);
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            clock: DefaultClock::default(),
            hasher: std::collections::hash_map::RandomState::new(),
            attempts: AtomicU32::new(0),
        }
    }
}

impl LoginThrottle {
    /// Counts an attempt to log in as `email` (normalised).
    ///
    /// # Errors
    /// [`ApiError::TooManyAttempts`] with the seconds until the next attempt is allowed.
    pub fn attempt(&self, email: &str) -> Result<(), ApiError> {
        if self.attempts.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&self.hasher.hash_one(email)).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            ApiError::TooManyAttempts(wait.as_secs() + 1)
        })
    }
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle").field("emails", &self.limiter.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_gets_a_burst_of_attempts_then_waits_others_do_not() {
        let throttle = LoginThrottle::default();
        for _ in 0..BURST.get() {
            throttle.attempt("a@example.com").unwrap();
        }
        let refused = throttle.attempt("a@example.com").unwrap_err();
        assert!(matches!(refused, ApiError::TooManyAttempts(secs) if (1..=31).contains(&secs)), "{refused:?}");
        throttle.attempt("b@example.com").unwrap();
    }
}
