//! Enforcing the limits of instances and API keys on the data plane, and counting usage.
//!
//! A [`Meter`] holds one instance's (or one key's) limits with the state they need: a GCRA rate limiter
//! (`governor`), the number of requests in progress and, for instances, the day's command count
//! ([`Usage`]). Meters live in [`Meters`], one registry per process shared by every worker, so a limit holds
//! for the whole process whatever worker a request lands on. Directories rebuild their snapshots often; they
//! ask the registry for meters instead of creating them, so counts survive a rebuild, and a meter whose
//! limits changed keeps its usage and its requests in progress.
//!
//! The hot path costs a few atomic operations: nothing is locked, nothing waits on the database. The day's
//! count is shared between gateway replicas through PostgreSQL by [`crate::platform::usage`]; rates and
//! concurrent requests are enforced by each process on its own (see docs/configuration.md, "Limits").

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use redisgate_core::limits::Limits;
use redisgate_core::protocol::{Access, Command};
use uuid::Uuid;

use crate::metrics::METRICS;
use crate::ApiError;

/// The instance and organization a usage count is recorded for (platform mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// The instance.
    pub instance: Uuid,
    /// Its organization.
    pub organization: Uuid,
}

/// Commands an instance ran today.
#[derive(Debug, Default)]
pub struct Usage {
    /// The UTC day (days since 1970-01-01) the counts belong to.
    day: AtomicU32,
    /// Commands this process counted today.
    counted: AtomicU64,
    /// Commands other gateways counted today (from the last flush).
    elsewhere: AtomicU64,
    /// Commands counted but not yet added to PostgreSQL.
    unflushed: AtomicU64,
}

impl Usage {
    /// Starts a new day's count when `today` is a new day.
    fn roll(&self, today: u32) {
        let day = self.day.load(Ordering::Relaxed);
        if day != today && self.day.compare_exchange(day, today, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            self.counted.store(0, Ordering::Relaxed);
            self.elsewhere.store(0, Ordering::Relaxed);
        }
    }

    /// Today's commands, as far as this process knows.
    fn today(&self, today: u32) -> u64 {
        self.roll(today);
        self.counted.load(Ordering::Relaxed) + self.elsewhere.load(Ordering::Relaxed)
    }

    fn add(&self, commands: u64) {
        self.counted.fetch_add(commands, Ordering::Relaxed);
        self.unflushed.fetch_add(commands, Ordering::Relaxed);
    }

    /// Takes the commands not yet written to PostgreSQL.
    pub fn take_unflushed(&self) -> u64 {
        self.unflushed.swap(0, Ordering::Relaxed)
    }

    /// Gives back commands whose write failed (they go with the next flush).
    pub fn restore_unflushed(&self, commands: u64) {
        self.unflushed.fetch_add(commands, Ordering::Relaxed);
    }

    /// Records the day's total over every gateway, as PostgreSQL answered it.
    pub fn set_total(&self, total: u64) {
        self.roll(today());
        let here = self.counted.load(Ordering::Relaxed);
        self.elsewhere.store(total.saturating_sub(here), Ordering::Relaxed);
    }
}

/// The current UTC day, as days since 1970-01-01.
#[must_use]
pub fn today() -> u32 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    u32::try_from(secs / 86_400).unwrap_or(u32::MAX)
}

/// One instance's or one key's limits, and the state that enforces them.
pub struct Meter {
    label: Arc<str>,
    limits: Limits,
    rate: Option<DefaultDirectRateLimiter>,
    in_progress: Arc<AtomicU32>,
    usage: Option<Arc<Usage>>,
}

impl Meter {
    fn new(label: Arc<str>, limits: Limits, in_progress: Arc<AtomicU32>, usage: Option<Arc<Usage>>) -> Self {
        let rate = limits.max_requests_per_second.map(|rps| RateLimiter::direct(Quota::per_second(rps)));
        Self { label, limits, rate, in_progress, usage }
    }

    /// A meter with no limits and a usage count of its own (instances outside any registry).
    #[must_use]
    pub fn unlimited(label: Arc<str>) -> Self {
        Self::new(label, Limits::default(), Arc::default(), Some(Arc::default()))
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
            return Err(self.refuse("concurrent", ApiError::TooManyConnections));
        }
        Ok(Some(slot))
    }

    /// Charges `commands` against the daily quota and the rate; refuses the whole request if either is
    /// exhausted.
    fn charge(&self, commands: u32) -> Result<(), ApiError> {
        if let (Some(max), Some(usage)) = (self.limits.max_daily_requests, &self.usage) {
            let used = usage.today(today());
            if used + u64::from(commands) > max.get() {
                return Err(self.refuse("daily", ApiError::DailyLimit { limit: max.get(), usage: used }));
            }
        }
        if let (Some(rate), Some(n)) = (&self.rate, NonZeroU32::new(commands)) {
            if !matches!(rate.check_n(n), Ok(Ok(()))) {
                return Err(self.refuse("rate", ApiError::RateLimited));
            }
        }
        Ok(())
    }

    fn record(&self, commands: u32) {
        if let Some(usage) = &self.usage {
            usage.add(u64::from(commands));
        }
    }

    fn refuse(&self, limit: &'static str, error: ApiError) -> ApiError {
        METRICS.limited(&self.label, limit);
        error
    }
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meter").field("label", &self.label).field("limits", &self.limits).finish_non_exhaustive()
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

/// What a request may do: its token's access, and the limits of its instance and key combined.
#[derive(Debug)]
pub struct Allowance {
    /// Full or read-only.
    pub access: Access,
    /// The stricter of the instance's and the key's limits.
    pub limits: Limits,
    instance: Arc<Meter>,
    key: Option<Arc<Meter>>,
    /// Held while the request (or its SSE stream) is in progress.
    slots: Vec<Slot>,
}

impl Allowance {
    /// Admits a request made with `access` on `instance`, through `key` if it came with a limited key.
    ///
    /// # Errors
    /// Too many requests in progress (429).
    pub fn admit(access: Access, instance: &Arc<Meter>, key: Option<&Arc<Meter>>) -> Result<Self, ApiError> {
        let limits = key.map_or(instance.limits, |k| instance.limits.strictest(&k.limits));
        let mut slots = Vec::new();
        slots.extend(instance.enter()?);
        if let Some(key) = key {
            slots.extend(key.enter()?);
        }
        Ok(Self { access, limits, instance: Arc::clone(instance), key: key.cloned(), slots })
    }

    /// Checks a command against the REST policy, the token's access and the size limits.
    ///
    /// # Errors
    /// The policy's refusal, or a key or argument over its size limit.
    pub fn check(&self, command: &Command) -> Result<(), redisgate_core::Error> {
        command.check(self.access)?;
        self.limits.check_command(command)
    }

    /// Charges `commands` commands to the daily quotas and rates, then counts them as used.
    ///
    /// # Errors
    /// A daily quota or a rate is exhausted (429).
    pub fn charge(&self, commands: usize) -> Result<(), ApiError> {
        let commands = u32::try_from(commands).unwrap_or(u32::MAX);
        self.instance.charge(commands)?;
        if let Some(key) = &self.key {
            key.charge(commands)?;
        }
        self.instance.record(commands);
        Ok(())
    }

    /// The slots held for requests in progress (kept alive by a streaming response's body).
    #[must_use]
    pub fn into_slots(self) -> Vec<Slot> {
        self.slots
    }
}

/// An instance's meter and whose usage it counts.
type Registered = (Option<Owner>, Arc<Meter>);

/// Every meter of a process: instances by name, API keys by id.
#[derive(Debug, Default)]
pub struct Meters {
    instances: Mutex<HashMap<String, Registered>>,
    keys: Mutex<HashMap<Uuid, Arc<Meter>>>,
}

impl Meters {
    /// The meter of instance `name` with `limits`: the existing one, or a new one that keeps the old one's
    /// usage and requests in progress when the limits changed.
    pub fn instance(&self, name: &str, owner: Option<Owner>, limits: Limits) -> Arc<Meter> {
        let mut instances = self.instances.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, meter)) = instances.get(name).filter(|(o, m)| *o == owner && m.limits == limits) {
            return Arc::clone(meter);
        }
        let meter = match instances.get(name).filter(|(o, _)| *o == owner) {
            Some((_, old)) => {
                Meter::new(Arc::clone(&old.label), limits, Arc::clone(&old.in_progress), old.usage.clone())
            }
            None => Meter::new(Arc::from(name), limits, Arc::default(), Some(Arc::default())),
        };
        let meter = Arc::new(meter);
        instances.insert(name.to_owned(), (owner, Arc::clone(&meter)));
        meter
    }

    /// The meter of API key `id` with `limits` (keys have no daily quota), labelled with its instance.
    pub fn key(&self, id: Uuid, label: Arc<str>, limits: Limits) -> Arc<Meter> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(meter) = keys.get(&id).filter(|m| m.limits == limits && m.label == label) {
            return Arc::clone(meter);
        }
        let in_progress = keys.get(&id).map(|old| Arc::clone(&old.in_progress)).unwrap_or_default();
        let meter = Arc::new(Meter::new(label, limits, in_progress, None));
        keys.insert(id, Arc::clone(&meter));
        meter
    }

    /// Forgets the meters of instances and keys that are gone (kept while an instance still has counts to
    /// flush).
    pub fn retain(&self, instances: &std::collections::HashSet<&str>, keys: &std::collections::HashSet<Uuid>) {
        self.instances.lock().unwrap_or_else(PoisonError::into_inner).retain(|name, (_, meter)| {
            instances.contains(name.as_str())
                || meter.usage.as_ref().is_some_and(|u| u.unflushed.load(Ordering::Relaxed) > 0)
        });
        self.keys.lock().unwrap_or_else(PoisonError::into_inner).retain(|id, _| keys.contains(id));
    }

    /// The usage counters of every instance that has an owner (platform mode).
    #[must_use]
    pub fn usage(&self) -> Vec<(Owner, Arc<Usage>)> {
        let instances = self.instances.lock().unwrap_or_else(PoisonError::into_inner);
        instances.values().filter_map(|(owner, meter)| Some(((*owner)?, Arc::clone(meter.usage.as_ref()?)))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(json: &str) -> Limits {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn concurrent_requests_are_bounded_and_slots_free_their_place() {
        let meters = Meters::default();
        let meter = meters.instance("a", None, limits(r#"{"max_concurrent_connections": 2}"#));
        let first = Allowance::admit(Access::Full, &meter, None).unwrap();
        let second = Allowance::admit(Access::Full, &meter, None).unwrap();
        assert!(matches!(Allowance::admit(Access::Full, &meter, None), Err(ApiError::TooManyConnections)));
        drop(first);
        let third = Allowance::admit(Access::Full, &meter, None).unwrap();
        drop((second, third));
        assert_eq!(meter.in_progress.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_daily_quota_counts_commands_and_refuses_the_request_that_would_exceed_it() {
        let meters = Meters::default();
        let meter = meters.instance("a", None, limits(r#"{"max_daily_requests": 10}"#));
        let allowance = Allowance::admit(Access::Full, &meter, None).unwrap();
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
        let allowance = Allowance::admit(Access::Full, &meter, None).unwrap();
        allowance.charge(5).unwrap();
        assert!(matches!(allowance.charge(1), Err(ApiError::RateLimited)));
        // More than one second's worth at once can never pass.
        assert!(matches!(allowance.charge(6), Err(ApiError::RateLimited)));
    }

    #[test]
    fn a_key_adds_its_own_limits_to_the_instance_s() {
        let meters = Meters::default();
        let instance = meters.instance("a", None, limits(r#"{"max_record_size": 100}"#));
        let key = meters.key(Uuid::new_v4(), Arc::from("a"), limits(r#"{"max_record_size": 10}"#));
        let allowance = Allowance::admit(Access::Full, &instance, Some(&key)).unwrap();
        let long = Command::new(b"set".to_vec(), vec![b"k".to_vec(), vec![b'x'; 11]]).unwrap();
        assert_eq!(allowance.check(&long), Err(redisgate_core::Error::RecordTooLarge));
    }

    #[test]
    fn new_limits_keep_the_day_s_usage() {
        let meters = Meters::default();
        let before = meters.instance("a", None, limits(r#"{"max_daily_requests": 100}"#));
        Allowance::admit(Access::Full, &before, None).unwrap().charge(7).unwrap();
        let after = meters.instance("a", None, limits(r#"{"max_daily_requests": 7}"#));
        assert!(!Arc::ptr_eq(&before, &after));
        assert!(Allowance::admit(Access::Full, &after, None).unwrap().charge(1).is_err());
        assert!(Arc::ptr_eq(&after, &meters.instance("a", None, limits(r#"{"max_daily_requests": 7}"#))));
    }

    #[test]
    fn meters_of_deleted_instances_are_forgotten_once_flushed() {
        let meters = Meters::default();
        let owner = Owner { instance: Uuid::new_v4(), organization: Uuid::new_v4() };
        let gone = meters.instance("gone", Some(owner), Limits::default());
        Allowance::admit(Access::Full, &gone, None).unwrap().charge(2).unwrap();
        meters.retain(&["kept"].into_iter().collect(), &std::collections::HashSet::new());
        assert_eq!(meters.usage().len(), 1, "unflushed counts keep the meter");
        assert_eq!(meters.usage()[0].1.take_unflushed(), 2);
        meters.retain(&["kept"].into_iter().collect(), &std::collections::HashSet::new());
        assert!(meters.usage().is_empty());
    }

    #[test]
    fn the_total_from_other_gateways_counts_toward_the_quota() {
        let usage = Usage::default();
        usage.add(3);
        usage.set_total(10);
        assert_eq!(usage.today(today()), 10);
        assert_eq!(usage.take_unflushed(), 3);
        assert_eq!(usage.take_unflushed(), 0);
    }
}
