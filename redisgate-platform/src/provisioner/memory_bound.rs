//! The memory a local `redis-server` may take, beyond its `maxmemory`: Lua strings (`string.rep`), LCS
//! tables and client buffers are not counted by `maxmemory`, so a 16 MiB instance could take gigabytes of the
//! shared host. Each server gets an address-space limit (`RLIMIT_AS`, set with `prlimit` on its process,
//! soft limit only): past it an allocation fails and Redis stops, and the supervisor restarts it from its
//! AOF; the host and the other instances are untouched. (A cgroup would be finer; this works in any
//! container, without privileges.)

use rustix::process::{getrlimit, prlimit, Pid, Resource, Rlimit};

/// What a server's address space may reach: twice its `maxmemory`, plus 512 MiB for the server itself
/// (Redis 8 with RedisJSON maps 130 MiB at start), its Lua heap and its buffers.
#[must_use]
pub fn address_space_limit(max_memory: i64) -> u64 {
    u64::try_from(max_memory).unwrap_or(0).saturating_mul(2).saturating_add(512 << 20)
}

/// Sets the address-space limit of process `pid` for `max_memory`, within the hard limit this process has.
///
/// # Errors
/// When the process is gone or the limit cannot be set.
pub fn limit(pid: u32, max_memory: i64) -> Result<(), String> {
    let pid = i32::try_from(pid).ok().and_then(Pid::from_raw).ok_or_else(|| format!("no process {pid}"))?;
    let hard = getrlimit(Resource::As).maximum;
    let soft = hard.map_or(address_space_limit(max_memory), |hard| hard.min(address_space_limit(max_memory)));
    prlimit(Some(pid), Resource::As, Rlimit { current: Some(soft), maximum: hard })
        .map(|_| ())
        .map_err(|e| format!("cannot limit the memory of redis-server {pid:?}: {e}"))
}

/// The `maxmemory` a redis.conf sets (0 when it sets none).
#[must_use]
pub fn conf_max_memory(conf: &str) -> i64 {
    conf.lines().find_map(|line| line.strip_prefix("maxmemory ")?.trim().parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_follows_maxmemory() {
        assert_eq!(address_space_limit(16 << 20), (32 + 512) << 20);
        assert_eq!(conf_max_memory("bind 127.0.0.1\nmaxmemory 16777216\nmaxmemory-policy noeviction\n"), 16 << 20);
        assert_eq!(conf_max_memory("bind 127.0.0.1\n"), 0);
    }
}
