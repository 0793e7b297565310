//! Throttling the account routes, one throttle of each kind per process, shared by every worker.
//!
//! - [`LoginThrottle`]: guessing one account's password costs an argon2 verification per attempt, and after
//!   [`BURST`] attempts in a row only one attempt per [`REFILL`] is let through for that email, whoever makes
//!   it.
//! - [`AccountThrottle`]: register and login from one address ([`PER_ADDRESS`]) and in all ([`GLOBAL`]), and
//!   the argon2 work they may run at once: one hash (19 MiB, tens of milliseconds) per core; beyond, a 503
//!   with `Retry-After: 1`, so a flood of logins cannot grow memory or starve the runtime.

use std::hash::BuildHasher as _;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use std::net::IpAddr;
use std::sync::Arc;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
    /// [`ApiError::Throttled`] with the seconds until the next attempt is allowed.
    pub fn attempt(&self, email: &str) -> Result<(), ApiError> {
        if self.attempts.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&self.hasher.hash_one(email)).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            ApiError::Throttled("login attempts for this account", wait.as_secs() + 1)
        })
    }
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle").field("emails", &self.limiter.len()).finish()
    }
}

/// Register and login attempts from one address: a burst of this many, then one per second.
pub const PER_ADDRESS: NonZeroU32 = NonZeroU32::new(30).expect("non-zero");
/// Register and login attempts per second in all, whoever makes them.
pub const GLOBAL: NonZeroU32 = NonZeroU32::new(200).expect("non-zero");

/// The account routes' limits per address and in all, and the permits for argon2 work.
pub struct AccountThrottle {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    global: DefaultDirectRateLimiter,
    hashing: Arc<Semaphore>,
    clock: DefaultClock,
    attempts: AtomicU32,
}

impl Default for AccountThrottle {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self {
            per_address: DefaultKeyedRateLimiter::keyed(Quota::per_second(NonZeroU32::MIN).allow_burst(PER_ADDRESS)),
            global: DefaultDirectRateLimiter::direct(Quota::per_second(GLOBAL)),
            hashing: Arc::new(Semaphore::new(cores)),
            clock: DefaultClock::default(),
            attempts: AtomicU32::new(0),
        }
    }
}

impl AccountThrottle {
    /// Counts an attempt from `address` (unknown when the server was not given one, as in router tests); an
    /// IPv6 address counts by its /64 network.
    ///
    /// # Errors
    /// [`ApiError::Throttled`] with the seconds to wait.
    pub fn attempt(&self, address: Option<IpAddr>) -> Result<(), ApiError> {
        if self.attempts.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.per_address.retain_recent();
        }
        if let Some(address) = address {
            self.per_address.check_key(&redisgate_gateway::connections::client_network(address)).map_err(
                |not_until| {
                    let wait = not_until.wait_time_from(self.clock.now());
                    ApiError::Throttled("account requests from this address", wait.as_secs() + 1)
                },
            )?;
        }
        self.global.check().map_err(|_| ApiError::Throttled("account requests", 1))
    }

    /// A permit to run one argon2 hash or verification now.
    ///
    /// # Errors
    /// [`ApiError::Busy`] when every core is hashing already.
    pub fn hashing(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        Arc::clone(&self.hashing).try_acquire_owned().map_err(|_| ApiError::Busy("every core is hashing passwords"))
    }
}

impl std::fmt::Debug for AccountThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountThrottle").field("hashing", &self.hashing.available_permits()).finish_non_exhaustive()
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
        assert!(matches!(refused, ApiError::Throttled(_, secs) if (1..=31).contains(&secs)), "{refused:?}");
        throttle.attempt("b@example.com").unwrap();
    }
}
