//! The registry of every meter of a process.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use redisgate_core::limits::Limits;
use uuid::Uuid;

use super::{Meter, Owner, Usage};

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
    use crate::quota::Allowance;

    fn limits(json: &str) -> Limits {
        serde_json::from_str(json).unwrap()
    }

    fn admit(instance: &Arc<Meter>) -> Allowance {
        Allowance::admit(instance, None).unwrap()
    }

    #[test]
    fn new_limits_keep_the_day_s_usage() {
        let meters = Meters::default();
        let before = meters.instance("a", None, limits(r#"{"max_daily_requests": 100}"#));
        admit(&before).charge(7).unwrap();
        let after = meters.instance("a", None, limits(r#"{"max_daily_requests": 7}"#));
        assert!(!Arc::ptr_eq(&before, &after));
        assert!(admit(&after).charge(1).is_err());
        assert!(Arc::ptr_eq(&after, &meters.instance("a", None, limits(r#"{"max_daily_requests": 7}"#))));
    }

    #[test]
    fn meters_of_deleted_instances_are_forgotten_once_flushed() {
        let meters = Meters::default();
        let owner = Owner { instance: Uuid::new_v4(), organization: Uuid::new_v4() };
        let gone = meters.instance("gone", Some(owner), Limits::default());
        admit(&gone).charge(2).unwrap();
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
        admit(&meters.instance("db", Some(old), Limits::default())).charge(4).unwrap();
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
}
