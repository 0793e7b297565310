//! The Redis users of an instance RedisGate provisions, so that a tenant is contained inside Redis as well
//! as at the REST policy: a script (`EVAL`, `FCALL`) runs with the permissions of the connection that called
//! it, and the gateway's connection may not do what a managed Redis does not sell.
//!
//! | user | who uses it | what it may do |
//! |---|---|---|
//! | `default` | nobody | disabled: a connection that does not log in can do nothing |
//! | [`GATEWAY_USER`] | the data plane (every token, full and read-only) | [`GATEWAY_RULES`] |
//! | [`ADMIN_USER`] | the provisioner (resize, shutdown) and operators | everything; no token maps to it |
//!
//! The read-only token stays a gateway policy (it shares the gateway's user); what no token may do is
//! enforced twice. The server files hold only SHA-256 digests of the passwords (`#<hex>`), so the redis.conf
//! (a ConfigMap on Kubernetes) reveals no credential; the passwords themselves are 256-bit random values.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::auth::token::redis_password;

/// The Redis user the data plane logs in as.
pub const GATEWAY_USER: &str = "redisgate";
/// The Redis user of the control plane's own connections.
pub const ADMIN_USER: &str = "redisgate-admin";

/// The gateway user's ACL rules: every key and channel, every command but the `@admin` and `@dangerous`
/// ones (CONFIG, ACL SETUSER, MIGRATE, SAVE, DEBUG, MODULE, REPLICAOF, SHUTDOWN, SWAPDB, CLIENT KILL…), with
/// the few dangerous ones the REST API offers given back: FLUSHALL/FLUSHDB, INFO, KEYS, SORT/SORT_RO,
/// RESTORE (its payloads are checked: `sanitize-dump-payload yes`) and MONITOR (the `/monitor` endpoint);
/// SELECT and MOVE are taken away too (only database 0 is served, and a script may call SELECT).
/// Commands a new Redis version adds fall under the same categories, so a new administrative command is
/// refused without anyone listing it.
pub const GATEWAY_RULES: &str =
    "~* &* +@all -@admin -@dangerous +flushall +flushdb +info +keys +sort +sort_ro +restore +monitor -select -move";

/// How long a script or function may keep an instance RedisGate provisions busy, in milliseconds, before the
/// gateway stops it (`busy-reply-threshold`).
pub const SCRIPT_TIME_LIMIT_MS: u64 = 1000;

/// The largest reply Redis builds for one connection of an instance RedisGate provisions (64 MiB): past it,
/// Redis closes the connection rather than hold the reply (`client-output-buffer-limit normal`), and the
/// gateway answers 502 for the requests in flight on it.
pub const MAX_REPLY_BYTES: u64 = 64 * 1024 * 1024;

/// The passwords of an instance's two users.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// [`GATEWAY_USER`]'s password.
    pub gateway: String,
    /// [`ADMIN_USER`]'s password.
    pub admin: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials { <redacted> }")
    }
}

impl Credentials {
    /// Two new random passwords.
    #[must_use]
    pub fn generate() -> Self {
        Self { gateway: redis_password(), admin: redis_password() }
    }

    /// The redis.conf lines that define the users (digests only) and close the server's other doors.
    #[must_use]
    pub fn conf(&self) -> String {
        format!(
            "# Users: the gateway's, the control plane's; no anonymous access.\n\
             user default off resetkeys resetchannels nocommands\n\
             user {GATEWAY_USER} on #{gateway} {GATEWAY_RULES}\n\
             user {ADMIN_USER} on #{admin} ~* &* +@all\n\
             # RESTORE payloads come from tenants: check them fully before loading.\n\
             sanitize-dump-payload yes\n\
             enable-debug-command no\n\
             enable-module-command no\n\
             enable-protected-configs no\n\
             # A reply larger than this (MGET of many large values, say) closes the connection that asked for it\n\
             # instead of being built: neither Redis nor the gateway holds it.\n\
             client-output-buffer-limit normal {MAX_REPLY_BYTES} 0 0\n\
             # A script or function running longer than this makes Redis answer BUSY to everyone else; the\n\
             # gateway then stops it with SCRIPT KILL (or FUNCTION KILL).\n\
             busy-reply-threshold {SCRIPT_TIME_LIMIT_MS}\n",
            gateway = sha256_hex(&self.gateway),
            admin = sha256_hex(&self.admin),
        )
    }

    /// `redis://redisgate:<password>@<address>`: the data plane's connection.
    #[must_use]
    pub fn gateway_url(&self, address: &str) -> String {
        self.gateway_url_over("redis", address)
    }

    /// As [`Credentials::gateway_url`] with another scheme (`rediss` for TLS).
    #[must_use]
    pub fn gateway_url_over(&self, scheme: &str, address: &str) -> String {
        format!("{scheme}://{GATEWAY_USER}:{}@{address}", self.gateway)
    }

    /// `redis://redisgate-admin:<password>@<address>`: the control plane's connection.
    #[must_use]
    pub fn admin_url(&self, address: &str) -> String {
        self.admin_url_over("redis", address)
    }

    /// As [`Credentials::admin_url`] with another scheme (`rediss` for TLS).
    #[must_use]
    pub fn admin_url_over(&self, scheme: &str, address: &str) -> String {
        format!("{scheme}://{ADMIN_USER}:{}@{address}", self.admin)
    }
}

pub(crate) fn sha256_hex(password: &str) -> String {
    Sha256::digest(password.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_conf_holds_digests_not_passwords() {
        let credentials = Credentials::generate();
        let conf = credentials.conf();
        assert!(!conf.contains(&credentials.gateway) && !conf.contains(&credentials.admin));
        assert!(conf.contains(&format!("user redisgate on #{} ~* &* +@all -@admin", sha256_hex(&credentials.gateway))));
        assert!(conf.lines().any(|l| l.starts_with("user default off")));
        assert_ne!(credentials, Credentials::generate());
        assert!(!format!("{credentials:?}").contains(&credentials.admin));
    }

    #[test]
    fn urls_name_the_user() {
        let credentials = Credentials { gateway: "g".into(), admin: "a".into() };
        assert_eq!(credentials.gateway_url("127.0.0.1:1"), "redis://redisgate:g@127.0.0.1:1");
        assert_eq!(credentials.admin_url("h:2"), "redis://redisgate-admin:a@h:2");
    }
}
