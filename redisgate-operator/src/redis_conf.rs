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

pub mod cluster;

use sha2::{Digest as _, Sha256};

use redisgate_core::provisioning::acl::{Credentials, GATEWAY_USER};

use crate::config::{REDIS_PORT, SENTINEL_PORT};
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

/// The ConfigMap key of a replicated instance's Sentinel configuration (its part without secrets).
pub const SENTINEL_CONF: &str = "sentinel.conf";
/// The ConfigMap key of the script that starts a replicated instance's data node.
pub const START_DATA: &str = "start-data.sh";
/// The ConfigMap key of the script that starts a Sentinel.
pub const START_SENTINEL: &str = "start-sentinel.sh";

/// The shell function both scripts use: `ask` prints `host port` of the master the first Sentinel of
/// `$SENTINELS` (`host:port …`) that answers names, as the admin user, or nothing; over TLS (`cli` holds
/// `redis-cli`'s options, [`cli_tls`]) for a TLS instance.
fn ask(cli: &str) -> String {
    let options = if cli.is_empty() { String::new() } else { format!(" {cli}") };
    ASK.replace("redis-cli ", &format!("redis-cli{options} "))
}

const ASK: &str = r#"ask() {
  for sentinel in $SENTINELS; do
    set -- $(REDISCLI_AUTH="$ADMIN_PASSWORD" timeout 2 redis-cli --no-auth-warning --user redisgate-admin \
      -h "${sentinel%:*}" -p "${sentinel##*:}" --raw sentinel get-master-addr-by-name "$MASTER_NAME" 2>/dev/null)
    if [ $# -eq 2 ]; then
      case "$2" in ''|*[!0-9]*) ;; *) echo "$1 $2"; return ;; esac
    fi
  done
}
"#;

/// The script a replicated instance's data pod runs (`sh start-data.sh <redis.conf>`), with the env the
/// StatefulSet gives it: `ADMIN_PASSWORD`, `MASTER_NAME`, `SELF_HOST` and `REDIS_PORT` (this pod's DNS name
/// and port), `FIRST_HOST` and `FIRST_PORT` (the first pod's), and `SENTINELS`.
///
/// It asks the Sentinels which node is the master. While they name this very node (it died and they have
/// not failed over yet) it waits, up to 15 s: a master back within `down-after-milliseconds` would reload
/// older data and its replicas would copy it. It then starts as a replica of the master they name, or, when
/// none answers (a new instance), of the first pod, which starts as the master.
#[must_use]
pub fn start_data_script(tls: bool) -> String {
    let (cli, listen) = script_tls(tls, "REDIS_PORT");
    let ask = ask(&cli);
    format!(
        r#"# Written by redisgate-operator: starts a data node of a replicated instance.
set -u
{ask}master=$(ask)
waited=0
while [ "$master" = "$SELF_HOST $REDIS_PORT" ] && [ $waited -lt 75 ]; do
  sleep 0.2
  waited=$((waited + 1))
  master=$(ask)
done
if [ -z "$master" ] && [ "$SELF_HOST $REDIS_PORT" != "$FIRST_HOST $FIRST_PORT" ]; then
  master="$FIRST_HOST $FIRST_PORT"
fi
conf=$1
set -- "$conf" {listen} --masterauth "$ADMIN_PASSWORD" --replica-announce-ip "$SELF_HOST"
if [ -n "$master" ] && [ "$master" != "$SELF_HOST $REDIS_PORT" ]; then
  set -- "$@" --replicaof $master
fi
exec redis-server "$@"
"#
    )
}

/// The script a Sentinel pod runs (`sh start-sentinel.sh <sentinel.conf>`), with the data pods' env plus
/// `SENTINEL_PORT` and `SENTINEL_DIR` (a writable directory: Sentinel rewrites its file). Its file is made
/// anew at every start: the ConfigMap's part (users, by digest), then the master the other Sentinels name
/// (or the first pod, for a new instance) with the admin password from the Secret.
#[must_use]
pub fn start_sentinel_script(master: &str, tls: bool) -> String {
    let watch = redisgate_core::provisioning::topology::sentinel_master_conf(master, "$master", "$ADMIN_PASSWORD");
    let (cli, listen) = script_tls(tls, "SENTINEL_PORT");
    let ask = ask(&cli);
    format!(
        r#"# Written by redisgate-operator: starts a Sentinel of a replicated instance.
set -u
{ask}master=$(ask)
if [ -z "$master" ]; then
  master="$FIRST_HOST $FIRST_PORT"
fi
conf="$SENTINEL_DIR/sentinel.conf"
cp "$1" "$conf"
cat >> "$conf" <<EOF
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $SELF_HOST
sentinel announce-port $SENTINEL_PORT
{watch}EOF
exec redis-server "$conf" --sentinel {listen}
"#
    )
}

/// A script's `redis-cli` TLS options and `redis-server` listening options (on the port in `$port_var`):
/// TLS only for a TLS instance.
fn script_tls(tls: bool, port_var: &str) -> (String, String) {
    if tls {
        (cli_tls(), format!("--port 0 --tls-port \"${port_var}\""))
    } else {
        (String::new(), format!("--port \"${port_var}\""))
    }
}

/// `redis-cli`'s options to reach a TLS instance's servers: the CA and, as the client certificate, the pod's
/// own (from the mounted Secret).
#[must_use]
pub fn cli_tls() -> String {
    format!("--tls --cacert {TLS_DIR}/ca.crt --cert {TLS_DIR}/tls.crt --key {TLS_DIR}/tls.key")
}

/// The part of a Sentinel's configuration the ConfigMap holds: its port (TLS only for a TLS instance, its
/// connections to the data nodes and the other Sentinels too) and directory, and the users by the digests of
/// their passwords.
#[must_use]
pub fn sentinel_conf(credentials: &Credentials, tls: bool) -> String {
    let listen = if tls { tls_conf_on(SENTINEL_PORT) } else { format!("port {SENTINEL_PORT}\n") };
    redisgate_core::provisioning::topology::sentinel_base_conf(&listen, DATA_DIR, credentials)
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

/// Where a TLS instance's certificate Secret is mounted.
pub const TLS_DIR: &str = "/etc/redis-tls";

/// The redis.conf lines of a TLS instance: the plain port closed, TLS on the Redis port with the mounted
/// certificate, and clients (and replicas) must present a certificate from the same CA.
#[must_use]
pub fn tls_conf() -> String {
    tls_conf_on(REDIS_PORT)
}

/// [`tls_conf`] listening on `port`.
#[must_use]
pub fn tls_conf_on(port: u16) -> String {
    format!(
        "# TLS only: clients present a certificate from the instance's CA.\n\
         port 0\n\
         tls-port {port}\n\
         tls-cert-file {TLS_DIR}/tls.crt\n\
         tls-key-file {TLS_DIR}/tls.key\n\
         tls-ca-cert-file {TLS_DIR}/ca.crt\n\
         tls-auth-clients yes\n\
         tls-replication yes\n"
    )
}

/// The probe of a TLS instance: [`probe_command`] over TLS with the instance's own certificate.
#[must_use]
pub fn tls_probe_command(port: u16) -> Vec<String> {
    let tls = cli_tls();
    vec![
        "sh".to_owned(),
        "-c".to_owned(),
        format!("redis-cli {tls} --user {GATEWAY_USER} -p {port} ping | grep -q PONG"),
    ]
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
