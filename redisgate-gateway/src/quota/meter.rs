//! Enforcing one instance's (or key's) limits: its [`Meter`], and the [`Allowance`] of one request.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use redisgate_core::limits::Limits;

use super::usage::{today, Usage};
use crate::ApiError;

/// One instance's or one key's limits, and the state that enforces them.
pub struct Meter {
    pub(super) limits: Limits,
    rate: Option<DefaultDirectRateLimiter>,
    pub(super) in_progress: Arc<AtomicU32>,
    pub(super) usage: Option<Arc<Usage>>,
}

impl Meter {
    pub(super) fn new(limits: Limits, in_progress: Arc<AtomicU32>, usage: Option<Arc<Usage>>) -> Self {
        let rate = limits.max_requests_per_second.map(|rps| RateLimiter::direct(Quota::per_second(rps)));
        Self { limits, rate, in_progress, usage }
    }

    /// A meter with no limits that counts nothing (instances outside any registry).
    #[must_use]
    pub fn unlimited() -> Self {
        Self::new(Limits::default(), Arc::default(), None)
    }

    /// The limits it enforces.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Takes a place among the requests in progress, if the limit allows; the slot frees it when dropped.
    fn enter(&self) -> Result<Option<Slot>, ApiError> {
        let Some(max) = self.limits.max_concurrent_connections else {
            return Ok(None);
        };
        let before = self.in_progress.fetch_add(1, Ordering::Relaxed);
        let slot = Slot(Arc::clone(&self.in_progress));
        if before >= max.get() {
            drop(slot);
            return Err(ApiError::TooManyConnections);
        }
        Ok(Some(slot))
    }

    /// Takes `commands` from the daily quota's remainder and the rate; refuses the whole request if either
    /// is exhausted (nothing is counted as used here: see [`Allowance::charge`]).
    fn spend(&self, commands: u32) -> Result<(), ApiError> {
        if let (Some(max), Some(usage)) = (self.limits.max_daily_requests, &self.usage) {
            let used = usage.today(today());
            if used + u64::from(commands) > max.get() {
                return Err(ApiError::DailyLimit { limit: max.get(), usage: used });
            }
        }
        if let (Some(rate), Some(n)) = (&self.rate, NonZeroU32::new(commands)) {
            match rate.check_n(n) {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(ApiError::RateLimited { retry: true }),
                // More commands than one second's worth: waiting will not help.
                Err(_) => return Err(ApiError::RateLimited { retry: false }),
            }
        }
        Ok(())
    }

    /// Takes up to `commands` from the rate, as many as it has room for: in chunks, halved whenever one does
    /// not fit.
    fn consume(&self, commands: u32) {
        let Some(rate) = &self.rate else { return };
        let (mut left, mut chunk) =
            (commands, commands.min(self.limits.max_requests_per_second.map_or(0, NonZeroU32::get)));
        while let (Some(n), true) = (NonZeroU32::new(chunk), left > 0) {
            if matches!(rate.check_n(n), Ok(Ok(()))) {
                left -= chunk;
                chunk = chunk.min(left);
            } else {
                chunk /= 2;
            }
        }
    }

    fn record(&self, commands: u32) {
        if let Some(usage) = &self.usage {
            usage.add(u64::from(commands));
        }
    }
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meter").field("limits", &self.limits).finish_non_exhaustive()
    }
}

/// A place among an instance's (or key's) requests in progress, freed when dropped.
#[derive(Debug)]
pub struct Slot(Arc<AtomicU32>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a request may spend: the limits of its instance and key combined, and the places it holds among the
/// requests in progress.
#[derive(Debug)]
pub struct Allowance {
    /// The stricter of the instance's and the key's limits.
    pub limits: Limits,
    instance: Arc<Meter>,
    key: Option<Arc<Meter>>,
    /// Held while the request (or its SSE stream) is in progress.
    slots: Vec<Slot>,
}

impl Allowance {
    /// Admits a request on the instance metered by `instance`, through `key` if it came with a limited key.
    ///
    /// # Errors
    /// Too many requests in progress (429).
    pub fn admit(instance: &Arc<Meter>, key: Option<&Arc<Meter>>) -> Result<Self, ApiError> {
        let limits = key.map_or(instance.limits, |k| instance.limits.strictest(&k.limits));
        let mut slots = Vec::new();
        if let Some(key) = key {
            slots.extend(key.enter()?);
        }
        slots.extend(instance.enter()?);
        Ok(Self { limits, instance: Arc::clone(instance), key: key.cloned(), slots })
    }

    /// Spends `commands` commands from the key's and the instance's rates and the daily quota, then counts
    /// them as the instance's usage. The key goes first, so a key held at its own rate does not drain its
    /// instance's rate for everyone else.
    ///
    /// # Errors
    /// A daily quota or a rate is exhausted (429).
    pub fn charge(&self, commands: usize) -> Result<(), ApiError> {
        let commands = u32::try_from(commands).unwrap_or(u32::MAX);
        if let Some(key) = &self.key {
            key.spend(commands)?;
        }
        self.instance.spend(commands)?;
        self.instance.record(commands);
        Ok(())
    }

    /// Charges `commands` more after the request ran, without refusing it: what a script costs beyond its
    /// one command, at one command per millisecond it kept the instance busy (so a loop of 100,000 INCRs is
    /// not one command). They count in full as the day's usage and against the daily quota, and against
    /// the rates as far as each has room (at most one second's worth: a rate cannot owe more).
    pub fn charge_after(&self, commands: usize) {
        let commands = u32::try_from(commands).unwrap_or(u32::MAX);
        if commands == 0 {
            return;
        }
        if let Some(key) = &self.key {
            key.consume(commands);
        }
        self.instance.consume(commands);
        self.instance.record(commands);
    }

    /// The slots held for requests in progress (kept alive by a streaming response's body).
    #[must_use]
    pub fn into_slots(self) -> Vec<Slot> {
        self.slots
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::Meters;
    use redisgate_core::protocol::Command;
    use uuid::Uuid;

    fn limits(json: &str) -> Limits {
        serde_json::from_str(json).unwrap()
    }

    fn admit(instance: &Arc<Meter>, key: Option<&Arc<Meter>>) -> Result<Allowance, ApiError> {
        Allowance::admit(instance, key)
    }

    #[test]
    fn concurrent_requests_are_bounded_and_slots_free_their_place() {
        let meters = Meters::default();
        let meter = meters.instance("a", None, limits(r#"{"max_concurrent_connections": 2}"#));
        let first = admit(&meter, None).unwrap();
        let second = admit(&meter, None).unwrap();
        assert!(matches!(admit(&meter, None), Err(ApiError::TooManyConnections)));
        drop(first);
        let third = admit(&meter, None).unwrap();
        drop((second, third));
        assert_eq!(meter.in_progress.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_daily_quota_counts_commands_and_refuses_the_request_that_would_exceed_it() {
        let meters = Meters::default();
        let meter = meters.instance("a", None, limits(r#"{"max_daily_requests": 10}"#));
        let allowance = admit(&meter, None).unwrap();
        allowance.charge(6).unwrap();
        let refused = allowance.charge(5).unwrap_err();
        assert_eq!(refused.to_string(), "ERR max daily request limit exceeded. Limit: 10, Usage: 6");
        allowance.charge(4).unwrap();
        assert!(allowance.charge(1).is_err());
    }

    #[test]
    fn the_rate_allows_a_burst_of_one_second_then_refuses() {
        let meters = Meters::default();
        let meter = meters.instance("a", None, limits(r#"{"max_requests_per_second": 5}"#));
        let allowance = admit(&meter, None).unwrap();
        allowance.charge(5).unwrap();
        assert!(matches!(allowance.charge(1), Err(ApiError::RateLimited { retry: true })));
        // More than one second's worth at once can never pass.
        assert!(matches!(allowance.charge(6), Err(ApiError::RateLimited { retry: false })));
    }

    #[test]
    fn a_key_adds_its_own_limits_to_the_instance_s() {
        let meters = Meters::default();
        let instance = meters.instance("a", None, limits(r#"{"max_record_size": 100}"#));
        let key = meters.key(Uuid::new_v4(), limits(r#"{"max_record_size": 10}"#));
        let allowance = admit(&instance, Some(&key)).unwrap();
        let long = Command::new(b"set".to_vec(), vec![b"k".to_vec(), vec![b'x'; 11]]).unwrap();
        assert_eq!(allowance.limits.check_command(&long), Err(redisgate_core::Error::RecordTooLarge));
    }

    #[test]
    fn a_script_pays_for_its_time_after_it_ran() {
        let meters = Meters::default();
        let meter =
            meters.instance("a", None, limits(r#"{"max_requests_per_second": 100, "max_daily_requests": 1000}"#));
        let allowance = admit(&meter, None).unwrap();
        allowance.charge(1).unwrap();
        // 250 ms of script: the day counts all of it, the rate as much as it has (its 99 left).
        allowance.charge_after(250);
        assert_eq!(meter.usage.as_ref().unwrap().today(today()), 251);
        assert!(matches!(allowance.charge(1), Err(ApiError::RateLimited { retry: true })));
        let refused = allowance.charge(750).unwrap_err();
        assert!(matches!(refused, ApiError::RateLimited { .. } | ApiError::DailyLimit { .. }), "{refused:?}");
    }

    #[test]
    fn a_key_at_its_rate_does_not_drain_its_instance() {
        let meters = Meters::default();
        let instance = meters.instance("a", None, limits(r#"{"max_requests_per_second": 3}"#));
        let key = meters.key(Uuid::new_v4(), limits(r#"{"max_requests_per_second": 1}"#));
        let keyed = admit(&instance, Some(&key)).unwrap();
        keyed.charge(1).unwrap();
        for _ in 0..5 {
            assert!(keyed.charge(1).is_err());
        }
        let direct = admit(&instance, None).unwrap();
        direct.charge(2).unwrap();
    }
}
