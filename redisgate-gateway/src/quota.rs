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
//! count is shared between gateway replicas through PostgreSQL by `redisgate_platform::usage`; rates and
//! concurrent requests are enforced by each process on its own (see docs/configuration.md, "Limits").

use std::collections::{HashMap, HashSet};
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
    /// Starts a new day's count when `today` is a new day. (A command counted by another thread between the
    /// exchange and the reset is lost from the day's local count, not from usage: a few commands at midnight.)
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

    /// Records `day`'s total over every gateway, as PostgreSQL answered it (ignored once `day` is over, so a
    /// flush that straddles midnight cannot carry yesterday's total into today).
    pub fn set_total(&self, day: u32, total: u64) {
        self.roll(today());
        if self.day.load(Ordering::Relaxed) != day {
            return;
        }
        let here = self.counted.load(Ordering::Relaxed);
        self.elsewhere.store(total.saturating_sub(here), Ordering::Relaxed);
    }

    fn has_unflushed(&self) -> bool {
        self.unflushed.load(Ordering::Relaxed) > 0
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
    limits: Limits,
    rate: Option<DefaultDirectRateLimiter>,
    in_progress: Arc<AtomicU32>,
    usage: Option<Arc<Usage>>,
}

impl Meter {
    fn new(limits: Limits, in_progress: Arc<AtomicU32>, usage: Option<Arc<Usage>>) -> Self {
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
    /// Refusals are counted in the metrics under `instance`.
    fn enter(&self, instance: &Arc<str>) -> Result<Option<Slot>, ApiError> {
        let Some(max) = self.limits.max_concurrent_connections else {
            return Ok(None);
        };
        let before = self.in_progress.fetch_add(1, Ordering::Relaxed);
        let slot = Slot(Arc::clone(&self.in_progress));
        if before >= max.get() {
            drop(slot);
            return Err(refuse(instance, "concurrent", ApiError::TooManyConnections));
        }
        Ok(Some(slot))
    }

    /// Takes `commands` from the daily quota's remainder and the rate; refuses the whole request if either
    /// is exhausted (nothing is counted as used here: see [`Allowance::charge`]).
    fn spend(&self, commands: u32, instance: &Arc<str>) -> Result<(), ApiError> {
        if let (Some(max), Some(usage)) = (self.limits.max_daily_requests, &self.usage) {
            let used = usage.today(today());
            if used + u64::from(commands) > max.get() {
                return Err(refuse(instance, "daily", ApiError::DailyLimit { limit: max.get(), usage: used }));
            }
        }
        if let (Some(rate), Some(n)) = (&self.rate, NonZeroU32::new(commands)) {
            match rate.check_n(n) {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(refuse(instance, "rate", ApiError::RateLimited { retry: true })),
                // More commands than one second's worth: waiting will not help.
                Err(_) => return Err(refuse(instance, "rate", ApiError::RateLimited { retry: false })),
            }
        }
        Ok(())
    }

    fn record(&self, commands: u32) {
        if let Some(usage) = &self.usage {
            usage.add(u64::from(commands));
        }
    }
}

fn refuse(instance: &Arc<str>, limit: &'static str, error: ApiError) -> ApiError {
    METRICS.limited(instance, limit);
    error
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

/// What a request may do: its token's access, and the limits of its instance and key combined.
#[derive(Debug)]
pub struct Allowance {
    /// Full or read-only.
    pub access: Access,
    /// The stricter of the instance's and the key's limits.
    pub limits: Limits,
    label: Arc<str>,
    instance: Arc<Meter>,
    key: Option<Arc<Meter>>,
    /// Held while the request (or its SSE stream) is in progress.
    slots: Vec<Slot>,
}

impl Allowance {
    /// Admits a request made with `access` on the instance `label` (its meter `instance`), through `key` if
    /// it came with a limited key.
    ///
    /// # Errors
    /// Too many requests in progress (429).
    pub fn admit(
        access: Access,
        label: &Arc<str>,
        instance: &Arc<Meter>,
        key: Option<&Arc<Meter>>,
    ) -> Result<Self, ApiError> {
        let limits = key.map_or(instance.limits, |k| instance.limits.strictest(&k.limits));
        let mut slots = Vec::new();
        if let Some(key) = key {
            slots.extend(key.enter(label)?);
        }
        slots.extend(instance.enter(label)?);
        let (label, instance, key) = (Arc::clone(label), Arc::clone(instance), key.cloned());
        Ok(Self { access, limits, label, instance, key, slots })
    }

    /// Checks a command against the REST policy, the token's access and the size limits.
    ///
    /// # Errors
    /// The policy's refusal, or a key or argument over its size limit.
    pub fn check(&self, command: &Command) -> Result<(), redisgate_core::Error> {
        command.check(self.access)?;
        self.limits.check_command(command)
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
            key.spend(commands, &self.label)?;
        }
        self.instance.spend(commands, &self.label)?;
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
    /// Usage of instances whose name was taken by a new instance, kept until it is flushed.
    retired: Mutex<Vec<(Owner, Arc<Usage>)>>,
}

impl Meters {
    /// The meter of instance `name` with `limits`: the existing one, or a new one that keeps the old one's
    /// usage and requests in progress when the limits changed.
    pub fn instance(&self, name: &str, owner: Option<Owner>, limits: Limits) -> Arc<Meter> {
        let mut instances = self.instances.lock().unwrap_or_else(PoisonError::into_inner);
        let meter = match instances.get(name) {
            Some((o, meter)) if *o == owner && meter.limits == limits => return Arc::clone(meter),
            Some((o, old)) if *o == owner => Meter::new(limits, Arc::clone(&old.in_progress), old.usage.clone()),
            previous => {
                if let Some((Some(owner), Some(usage))) = previous.map(|(o, m)| (*o, m.usage.clone())) {
                    if usage.has_unflushed() {
                        self.retired.lock().unwrap_or_else(PoisonError::into_inner).push((owner, usage));
                    }
                }
                Meter::new(limits, Arc::default(), Some(Arc::default()))
            }
        };
        let meter = Arc::new(meter);
        instances.insert(name.to_owned(), (owner, Arc::clone(&meter)));
        meter
    }

    /// The meter of API key `id` with `limits` (keys have no daily quota). One meter per key, whatever
    /// instances the key opens.
    pub fn key(&self, id: Uuid, limits: Limits) -> Arc<Meter> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(meter) = keys.get(&id).filter(|m| m.limits == limits) {
            return Arc::clone(meter);
        }
        let in_progress = keys.get(&id).map(|old| Arc::clone(&old.in_progress)).unwrap_or_default();
        let meter = Arc::new(Meter::new(limits, in_progress, None));
        keys.insert(id, Arc::clone(&meter));
        meter
    }

    /// Forgets the meters of instances and keys that are gone: not `live` in the database, held by no
    /// worker's directory any more, and (instances) with nothing left to flush.
    pub fn retain(&self, live_instances: &HashSet<&str>, live_keys: &HashSet<Uuid>) {
        self.instances.lock().unwrap_or_else(PoisonError::into_inner).retain(|name, (_, meter)| {
            live_instances.contains(name.as_str())
                || Arc::strong_count(meter) > 1
                || meter.usage.as_ref().is_some_and(|u| u.has_unflushed())
        });
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|id, meter| live_keys.contains(id) || Arc::strong_count(meter) > 1);
        self.retired.lock().unwrap_or_else(PoisonError::into_inner).retain(|(_, usage)| usage.has_unflushed());
    }

    /// The usage counters of every instance that has an owner (platform mode), replaced ones included.
    #[must_use]
    pub fn usage(&self) -> Vec<(Owner, Arc<Usage>)> {
        let instances = self.instances.lock().unwrap_or_else(PoisonError::into_inner);
        let mut usage: Vec<_> = instances
            .values()
            .filter_map(|(owner, meter)| Some(((*owner)?, Arc::clone(meter.usage.as_ref()?))))
            .collect();
        usage.extend(self.retired.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned());
        usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(json: &str) -> Limits {
        serde_json::from_str(json).unwrap()
    }

    fn admit(instance: &Arc<Meter>, key: Option<&Arc<Meter>>) -> Result<Allowance, ApiError> {
        Allowance::admit(Access::Full, &Arc::from("a"), instance, key)
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
        assert_eq!(allowance.check(&long), Err(redisgate_core::Error::RecordTooLarge));
    }

    #[test]
    fn new_limits_keep_the_day_s_usage() {
        let meters = Meters::default();
        let before = meters.instance("a", None, limits(r#"{"max_daily_requests": 100}"#));
        admit(&before, None).unwrap().charge(7).unwrap();
        let after = meters.instance("a", None, limits(r#"{"max_daily_requests": 7}"#));
        assert!(!Arc::ptr_eq(&before, &after));
        assert!(admit(&after, None).unwrap().charge(1).is_err());
        assert!(Arc::ptr_eq(&after, &meters.instance("a", None, limits(r#"{"max_daily_requests": 7}"#))));
    }

    #[test]
    fn meters_of_deleted_instances_are_forgotten_once_flushed() {
        let meters = Meters::default();
        let owner = Owner { instance: Uuid::new_v4(), organization: Uuid::new_v4() };
        let gone = meters.instance("gone", Some(owner), Limits::default());
        admit(&gone, None).unwrap().charge(2).unwrap();
        drop(gone);
        meters.retain(&["kept"].into_iter().collect(), &HashSet::new());
        assert_eq!(meters.usage().len(), 1, "unflushed counts keep the meter");
        assert_eq!(meters.usage()[0].1.take_unflushed(), 2);
        meters.retain(&["kept"].into_iter().collect(), &HashSet::new());
        assert!(meters.usage().is_empty());
    }

    #[test]
    fn a_meter_still_held_by_a_directory_is_kept() {
        let meters = Meters::default();
        let held = meters.instance("held", None, Limits::default());
        meters.retain(&HashSet::new(), &HashSet::new());
        assert!(Arc::ptr_eq(&held, &meters.instance("held", None, Limits::default())));
    }

    #[test]
    fn a_reused_name_keeps_the_old_instance_s_counts_until_flushed() {
        let meters = Meters::default();
        let old = Owner { instance: Uuid::new_v4(), organization: Uuid::new_v4() };
        let new = Owner { instance: Uuid::new_v4(), organization: old.organization };
        admit(&meters.instance("db", Some(old), Limits::default()), None).unwrap().charge(4).unwrap();
        meters.instance("db", Some(new), Limits::default());
        let usage = meters.usage();
        let flushed: Vec<_> = usage.iter().map(|(o, u)| (o.instance, u.take_unflushed())).collect();
        assert!(flushed.contains(&(old.instance, 4)) && flushed.contains(&(new.instance, 0)), "{flushed:?}");
        meters.retain(&["db"].into_iter().collect(), &HashSet::new());
        assert_eq!(meters.usage().len(), 1);
    }

    #[test]
    fn one_key_has_one_rate_whatever_instances_it_opens() {
        let meters = Meters::default();
        let id = Uuid::new_v4();
        let first = meters.key(id, limits(r#"{"max_requests_per_second": 2}"#));
        let second = meters.key(id, limits(r#"{"max_requests_per_second": 2}"#));
        assert!(Arc::ptr_eq(&first, &second));
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

    #[test]
    fn the_total_from_other_gateways_counts_toward_the_quota() {
        let usage = Usage::default();
        usage.add(3);
        usage.set_total(today(), 10);
        assert_eq!(usage.today(today()), 10);
        usage.set_total(today() - 1, 1000);
        assert_eq!(usage.today(today()), 10, "yesterday's total does not count today");
        assert_eq!(usage.take_unflushed(), 3);
        assert_eq!(usage.take_unflushed(), 0);
    }
}
