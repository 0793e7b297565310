//! Throttling the account routes, one throttle of each kind per process, shared by every worker.
//!
//! - [`LoginThrottle`]: guessing one account's password costs an argon2 verification per attempt, and after
//!   [`BURST`] attempts in a row only one attempt per [`REFILL`] is let through for that email, whoever makes
//!   it.
//! - [`AccountThrottle`]: register and login from one address ([`PER_ADDRESS`]; an IPv6 address by its /64)
//!   and in all ([`GLOBAL`]), and the argon2 work they may run at once: one hash (19 MiB, tens of
//!   milliseconds) per core; beyond, a 503 with `Retry-After: 1`, so a flood of logins cannot grow memory or
//!   starve the runtime. Networks that logged in successfully in the last [`TRUST_FOR`] draw on a global
//!   budget of their own, so a flood from many fresh addresses cannot lock the platform's users out.

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

use crate::Error;

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
    /// [`Error::Throttled`] with the seconds until the next attempt is allowed.
    pub fn attempt(&self, email: &str) -> Result<(), Error> {
        if self.attempts.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&self.hasher.hash_one(email)).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            Error::Throttled("login attempts for this account", wait.as_secs() + 1)
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

/// How long a network that logged in successfully keeps drawing on the known networks' budget.
pub const TRUST_FOR: Duration = Duration::from_secs(24 * 3600);
/// Most networks remembered as known (beyond, new ones are not remembered until old ones lapse).
const MAX_TRUSTED: usize = 100_000;

/// The account routes' limits per address and in all, and the permits for argon2 work.
pub struct AccountThrottle {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    global: DefaultDirectRateLimiter,
    /// The global budget of networks that logged in successfully lately (`trusted`).
    global_known: DefaultDirectRateLimiter,
    /// Networks (see `client_network`) and when they last logged in successfully.
    trusted: std::sync::Mutex<std::collections::HashMap<IpAddr, std::time::Instant>>,
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
            global_known: DefaultDirectRateLimiter::direct(Quota::per_second(GLOBAL)),
            trusted: std::sync::Mutex::default(),
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
    /// [`Error::Throttled`] with the seconds to wait.
    pub fn attempt(&self, address: Option<IpAddr>) -> Result<(), Error> {
        if self.attempts.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.per_address.retain_recent();
        }
        let network = address.map(redisgate_gateway::connections::client_network);
        if let Some(network) = network {
            self.per_address.check_key(&network).map_err(|not_until| {
                let wait = not_until.wait_time_from(self.clock.now());
                Error::Throttled("account requests from this address", wait.as_secs() + 1)
            })?;
        }
        let known = network
            .is_some_and(|network| self.trusted_networks().get(&network).is_some_and(|at| at.elapsed() < TRUST_FOR));
        let global = if known { &self.global_known } else { &self.global };
        global.check().map_err(|_| Error::Throttled("account requests", 1))
    }

    /// Remembers that `address`'s network logged in successfully: its attempts draw on the known networks'
    /// budget for [`TRUST_FOR`].
    pub fn logged_in(&self, address: Option<IpAddr>) {
        let Some(network) = address.map(redisgate_gateway::connections::client_network) else { return };
        let mut trusted = self.trusted_networks();
        if trusted.len() >= MAX_TRUSTED {
            trusted.retain(|_, at| at.elapsed() < TRUST_FOR);
        }
        if trusted.len() < MAX_TRUSTED || trusted.contains_key(&network) {
            trusted.insert(network, std::time::Instant::now());
        }
    }

    fn trusted_networks(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<IpAddr, std::time::Instant>> {
        self.trusted.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A permit to run one argon2 hash or verification now.
    ///
    /// # Errors
    /// [`ApiError::Busy`] when every core is hashing already.
    pub fn hashing(&self) -> Result<OwnedSemaphorePermit, Error> {
        Arc::clone(&self.hashing)
            .try_acquire_owned()
            .map_err(|_| ApiError::Busy("every core is hashing passwords").into())
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
    fn a_flood_from_fresh_addresses_does_not_lock_out_known_networks() {
        let throttle = AccountThrottle::default();
        let known: IpAddr = "2001:db8::1".parse().unwrap();
        throttle.logged_in(Some(known));
        // Seven fresh addresses take the whole global budget (a burst of 30 each, 200 in all).
        let mut refused = 0;
        for i in 0..7_u8 {
            for _ in 0..PER_ADDRESS.get() {
                if throttle.attempt(Some(IpAddr::from([10, 0, 0, i]))).is_err() {
                    refused += 1;
                }
            }
        }
        assert_eq!(refused, 7 * PER_ADDRESS.get() - GLOBAL.get());
        assert!(throttle.attempt(Some(IpAddr::from([10, 0, 1, 1]))).is_err(), "a fresh address waits");
        // Another address of the known /64 still gets in.
        throttle.attempt(Some("2001:db8::beef".parse().unwrap())).unwrap();
    }

    #[test]
    fn an_email_gets_a_burst_of_attempts_then_waits_others_do_not() {
        let throttle = LoginThrottle::default();
        for _ in 0..BURST.get() {
            throttle.attempt("a@example.com").unwrap();
        }
        let refused = throttle.attempt("a@example.com").unwrap_err();
        assert!(matches!(refused, Error::Throttled(_, secs) if (1..=31).contains(&secs)), "{refused:?}");
        throttle.attempt("b@example.com").unwrap();
    }
}
