//! The redis.conf, command line and probe a Redis pod runs: pure text, so the exact same strings are
//! started in a real `redis-server` by the tests.
//!
//! No password is in the config (a ConfigMap is readable by anyone who may read the namespace's
//! configuration, and spotahome's operator was criticised for exactly that): it defines the instance's
//! Redis users ([`redisgate_core::provisioning::acl`]: `default` disabled, the gateway's user without the
//! administrative commands, an admin user) by the SHA-256 digests of their passwords. The gateway user's
//! password reaches the container only as `REDISCLI_AUTH` from a `secretKeyRef`, which `redis-cli` in the
//! probes reads, so it is in no file and no command line. `redisgate_core`'s `redis_conf` binds loopback,
//! which suits a local process but not a pod, hence this variant.

use sha2::{Digest as _, Sha256};

use redisgate_core::provisioning::acl::{Credentials, GATEWAY_USER};

use crate::config::REDIS_PORT;
use crate::crd::EvictionPolicy;

/// Where the ConfigMap is mounted.
pub const CONF_DIR: &str = "/etc/redis";
/// Where the data lives (a PVC or an emptyDir).
pub const DATA_DIR: &str = "/data";
/// Env variable `redis-cli` reads the password from.
pub const ENV_CLI_AUTH: &str = "REDISCLI_AUTH";

/// redis.conf for a pod: no password, no bind restriction (the NetworkPolicy restricts clients).
#[must_use]
pub fn redis_conf(max_memory: i64, policy: EvictionPolicy, persistent: bool, dir: &str) -> String {
    let durability = if persistent {
        "appendonly yes\nappendfsync everysec\nsave 3600 1 300 100 60 10000\n"
    } else {
        "appendonly no\nsave \"\"\n"
    };
    format!(
        "# Written by redisgate-operator. No password here: it arrives on the command line from a Secret.\n\
         port {REDIS_PORT}\n\
         protected-mode yes\n\
         maxmemory {max_memory}\n\
         maxmemory-policy {policy}\n\
         dir {dir}\n\
         {durability}\
         daemonize no\n\
         logfile \"\"\n",
        policy = policy.as_redis(),
    )
}

/// `conf` with the users of `credentials` (digests only): what the ConfigMap holds.
#[must_use]
pub fn with_users(conf: &str, credentials: &Credentials) -> String {
    format!("{conf}{}", credentials.conf())
}

/// The container's command.
#[must_use]
pub fn command() -> Vec<String> {
    vec!["redis-server".to_owned()]
}

/// The container's arguments: the mounted redis.conf, nothing secret.
#[must_use]
pub fn args() -> Vec<String> {
    vec![format!("{CONF_DIR}/redis.conf")]
}

/// The readiness and liveness probe: a PING as the gateway's user (`redis-cli` exits 0 even on `NOAUTH`,
/// hence the `grep`).
#[must_use]
pub fn probe_command(port: u16) -> Vec<String> {
    vec!["sh".to_owned(), "-c".to_owned(), format!("redis-cli --user {GATEWAY_USER} -p {port} ping | grep -q PONG")]
}

/// Checksum of everything a running pod depends on; a change rolls the pod.
#[must_use]
pub fn checksum(conf: &str, password: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(conf.as_bytes());
    hasher.update([0]);
    hasher.update(password.as_bytes());
    hasher.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_has_memory_policy_and_no_password() {
        let conf = redis_conf(1_000_000, EvictionPolicy::AllkeysLru, false, DATA_DIR);
        for line in ["maxmemory 1000000", "maxmemory-policy allkeys-lru", "appendonly no", "port 6379"] {
            assert!(conf.lines().any(|l| l == line), "{line}");
        }
        assert!(!conf.contains("requirepass"));
        assert!(redis_conf(1, EvictionPolicy::NoEviction, true, DATA_DIR).contains("appendonly yes"));
    }

    #[test]
    fn checksum_changes_with_either_input() {
        let base = checksum("a", "b");
        assert_eq!(base.len(), 32);
        assert_ne!(base, checksum("a", "c"));
        assert_ne!(base, checksum("x", "b"));
        assert_eq!(base, checksum("a", "b"));
    }
}
