//! Slots and who owns them: a key's slot, and the masters' slot ranges as `CLUSTER SLOTS` reports them.
//!
//! The gateway reads the ranges only to walk the masters for SCAN and to put a pipeline's reads for one
//! master into one pipeline ([`Owners`]). redis-rs still routes every request by its own slot map and
//! follows redirections, so a map read here that has gone stale costs a redirection, never a wrong answer.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::RedisResult;
use redisgate_core::provisioning::cluster::{self, SLOTS};

/// The slot of `key`: CRC16 (XMODEM) of its hash tag (what is between its first `{` and the next `}`, when
/// not empty), else of the whole key, modulo 16,384, as Redis computes it. (redis-rs's `Slot::for_key`
/// computes the same, but keeps the number private, and the owner map is indexed by it.)
pub(super) fn of(key: &[u8]) -> u16 {
    let tagged = key.iter().position(|&b| b == b'{').and_then(|open| {
        let rest = &key[open + 1..];
        let close = rest.iter().position(|&b| b == b'}')?;
        (close > 0).then(|| &rest[..close])
    });
    crc16::State::<crc16::XMODEM>::calculate(tagged.unwrap_or(key)) % SLOTS
}

/// Each master's slot ranges, the masters in the order of their lowest slot (`CLUSTER SLOTS` of any node).
pub(super) async fn masters(connection: &mut ClusterConnection) -> RedisResult<Vec<Vec<(u16, u16)>>> {
    let any = RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random);
    let reply = connection.route_command(redis::cmd("CLUSTER").arg("SLOTS").clone(), any).await?;
    let mut by_master = BTreeMap::<(String, u16), Vec<(u16, u16)>>::new();
    for range in cluster::parse_slot_ranges(reply)? {
        by_master.entry((range.host, range.port)).or_default().push((range.start, range.end));
    }
    let mut masters: Vec<Vec<(u16, u16)>> = by_master.into_values().collect();
    for ranges in &mut masters {
        ranges.sort_unstable();
    }
    masters.sort_unstable_by_key(|ranges| ranges.first().map_or(SLOTS, |(start, _)| *start));
    Ok(masters)
}

/// The master (its place in [`masters`]) of every slot, as last read; forgotten when a request finds it
/// stale, and read again by the next one.
#[derive(Default)]
pub(super) struct Owners(RwLock<Option<Arc<Vec<u16>>>>);

impl Owners {
    /// The map, read first if need be; `None` when the cluster cannot say.
    pub(super) async fn get(&self, connection: &mut ClusterConnection) -> Option<Arc<Vec<u16>>> {
        if let Some(map) = self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone() {
            return Some(map);
        }
        let masters = masters(connection).await.ok()?;
        let mut map = vec![u16::MAX; usize::from(SLOTS)];
        for (owner, ranges) in masters.iter().enumerate() {
            for &(start, end) in ranges {
                map[usize::from(start)..=usize::from(end)].fill(owner as u16);
            }
        }
        let map = Arc::new(map);
        *self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::clone(&map));
        Some(map)
    }

    /// Forgets the map: a request found a slot elsewhere.
    pub(super) fn forget(&self) {
        *self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::of;

    #[test]
    fn slots_are_redis_slots_and_follow_hash_tags() {
        // The values of Redis's CLUSTER KEYSLOT.
        assert_eq!(of(b"a"), 15495);
        assert_eq!(of(b"b"), 3300);
        assert_eq!(of(b"123456789"), 12739);
        assert_eq!(of(b"{user1}:a"), of(b"user1"));
        assert_eq!(of(b"x{}y"), of(b"x{}y"), "an empty tag hashes the whole key");
        assert_ne!(of(b"x{}y"), of(b""));
    }
}
