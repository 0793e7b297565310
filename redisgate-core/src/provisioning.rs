//! Provisioning logic independent of where Redis runs: the validated instance spec, names, the redis.conf a
//! provisioner writes, the users inside Redis ([`acl`]), the instance's lifecycle ([`status`]) and the
//! [`Provisioner`] seam itself, implemented by the platform's local provisioner and the operator's Kubernetes
//! provisioner.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use uuid::Uuid;

use crate::{Error, Result};

pub mod acl;
pub mod cluster;
pub mod info;
pub mod status;
pub mod topology;

pub use acl::Credentials;
pub use status::{InstanceStatus, ProvisionError};
pub use topology::{Failover, Node, Role, Topology};

/// Smallest `maxmemory` accepted (1 MiB).
pub const MIN_MEMORY: i64 = 1024 * 1024;
/// Largest `maxmemory` accepted (64 GiB).
pub const MAX_MEMORY: i64 = 64 * 1024 * 1024 * 1024;
/// Names that would collide with the gateway's own host names.
const RESERVED_NAMES: [&str; 6] = ["api", "www", "db", "admin", "gateway", "localhost"];

/// A validated request for an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSpec {
    /// Globally unique DNS label.
    pub name: String,
    /// Unique within the organization (defaults to the name).
    pub slug: String,
    /// `maxmemory` in bytes.
    pub max_memory: i64,
    /// Requested Redis version (`major[.minor[.patch]]`).
    pub redis_version: String,
    /// One server, or a master with replicas and Sentinels.
    pub topology: Topology,
}

/// Why `max_memory` (bytes) is not an instance's size, or `None` when it is.
#[must_use]
pub fn max_memory_problem(max_memory: i64) -> Option<String> {
    (!(MIN_MEMORY..=MAX_MEMORY).contains(&max_memory))
        .then(|| format!("must be between {MIN_MEMORY} and {MAX_MEMORY} bytes"))
}

impl InstanceSpec {
    /// Validates every field, reporting all problems at once.
    ///
    /// # Errors
    /// [`Error::Validation`] with one message per bad field.
    pub fn new(
        name: &str,
        slug: Option<&str>,
        max_memory: i64,
        redis_version: &str,
        topology: Topology,
    ) -> Result<Self> {
        let mut errors = BTreeMap::new();
        if let Some(problem) = dns_label_problem(name, 3, 40) {
            errors.insert("name".to_owned(), problem);
        } else if RESERVED_NAMES.contains(&name) {
            errors.insert("name".to_owned(), "is reserved".to_owned());
        }
        let slug = slug.unwrap_or(name);
        if let Some(problem) = dns_label_problem(slug, 1, 63) {
            errors.insert("slug".to_owned(), problem);
        }
        if let Some(problem) = max_memory_problem(max_memory) {
            errors.insert("max_memory".to_owned(), problem);
        }
        let version_ok = !redis_version.is_empty()
            && redis_version.len() <= 16
            && redis_version.split('.').count() <= 3
            && redis_version.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !version_ok {
            errors.insert("redis_version".to_owned(), "must look like 7, 7.2 or 7.2.4".to_owned());
        }
        if let Some(problem) = topology.problem() {
            errors.insert("topology".to_owned(), problem);
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        Ok(Self {
            name: name.to_owned(),
            slug: slug.to_owned(),
            max_memory,
            redis_version: redis_version.to_owned(),
            topology,
        })
    }
}

/// Why `value` is not a DNS label of `min..=max` characters (`a-z`, `0-9`, `-`, not at either end).
#[must_use]
pub fn dns_label_problem(value: &str, min: usize, max: usize) -> Option<String> {
    if value.len() < min || value.len() > max {
        return Some(format!("must be {min} to {max} characters"));
    }
    if !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Some("may contain only a-z, 0-9 and '-'".to_owned());
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Some("must not start or end with '-'".to_owned());
    }
    None
}

/// How a local instance listens: a plain port, or TLS only (no plain port, client certificates required).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// `port <port>`.
    Plain(u16),
    /// `port 0`, `tls-port <port>`, `tls-auth-clients yes`, with these PEM files.
    Tls {
        /// The TLS port.
        port: u16,
        /// The server's certificate.
        cert: String,
        /// Its private key.
        key: String,
        /// The CA that signed it and the clients' certificates.
        ca: String,
    },
}

impl Listen {
    /// `redis` or `rediss`.
    #[must_use]
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::Plain(_) => "redis",
            Self::Tls { .. } => "rediss",
        }
    }

    /// The redis.conf lines.
    #[must_use]
    pub fn conf(&self) -> String {
        match self {
            Self::Plain(port) => format!("port {port}\n"),
            Self::Tls { port, cert, key, ca } => format!(
                "port 0\ntls-port {port}\ntls-cert-file {cert}\ntls-key-file {key}\ntls-ca-cert-file {ca}\n\
                 tls-auth-clients yes\n"
            ),
        }
    }
}

/// The redis.conf of a local instance: loopback only, how it listens, its users ([`Credentials::conf`]:
/// digests, no password), its memory limit and durability.
#[must_use]
pub fn redis_conf(listen: &Listen, credentials: &Credentials, max_memory: i64, dir: &str) -> String {
    format!(
        "# Written by RedisGate.\n\
         bind 127.0.0.1\n\
         {listen}\
         protected-mode yes\n\
         {users}\
         maxmemory {max_memory}\n\
         maxmemory-policy noeviction\n\
         dir {dir}\n\
         appendonly yes\n\
         appendfsync everysec\n\
         save 3600 1 300 100 60 10000\n\
         daemonize no\n\
         logfile \"\"\n",
        listen = listen.conf(),
        users = credentials.conf(),
    )
}

// ---- The provisioner seam -------------------------------------------------------------------------------

/// A boxed future, so the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a running instance listens.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port`, safe to show and store.
    pub address: String,
    /// `redis://redisgate:<password>@host:port`, for the gateway only.
    pub url: String,
    /// What the gateway trusts the instance by and presents to it, when the instance has its own (an
    /// operator-managed CA's); `None`: the gateway's configured TLS, if any.
    pub tls: Option<ClientTls>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("address", &self.address)
            .field("url", &"<redacted>")
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// The TLS material of the gateway's connection to an instance, in PEM: the CA that signed the server's
/// certificate, and the client certificate (with its key) the server asks for.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientTls {
    /// The CA's certificate.
    pub ca: Vec<u8>,
    /// The client certificate.
    pub cert: Vec<u8>,
    /// Its private key.
    pub key: Vec<u8>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTls(<redacted>)")
    }
}

/// Where a backup reads an instance's data from: the admin connection to one of its servers (a replica when
/// it has one), and the TLS material that server asks for.
#[derive(Clone, PartialEq, Eq)]
pub struct SnapshotSource {
    /// `redis[s]://redisgate-admin:<password>@host:port`.
    pub url: String,
    /// The CA and client certificate of a TLS server.
    pub tls: Option<ClientTls>,
}

impl std::fmt::Debug for SnapshotSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotSource").field("url", &"<redacted>").field("tls", &self.tls.is_some()).finish()
    }
}

/// Which instance a provisioner acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The instance.
    pub id: Uuid,
    /// Its organization (Kubernetes: one namespace per organization).
    pub organization_id: Uuid,
}

/// What a provisioner answers.
pub type Provisioned<T> = std::result::Result<T, ProvisionError>;

/// Creates and removes Redis servers.
///
/// Errors say whether retrying can help ([`ProvisionError`]); their messages go into the instance's status
/// (no secrets in them).
pub trait Provisioner: Send + Sync + 'static {
    /// Starts a new server for the instance; on failure nothing is left behind.
    fn create(&self, target: Target, spec: InstanceSpec) -> BoxFuture<'_, Provisioned<Endpoint>>;
    /// Makes sure the server of an existing instance runs again (after a platform restart); [`ProvisionError::Gone`]
    /// when nothing of it is left.
    fn adopt(&self, target: Target, spec: InstanceSpec) -> BoxFuture<'_, Provisioned<Endpoint>>;
    /// Gives a running instance `spec.max_memory`, durably: it still holds after the server restarts.
    fn resize(&self, target: Target, spec: InstanceSpec) -> BoxFuture<'_, Provisioned<()>>;
    /// Stops the server and removes its data.
    fn delete(&self, target: Target) -> BoxFuture<'_, Provisioned<()>>;
    /// The endpoint of a running instance (synchronous: the gateway's directory asks on its hot reload).
    fn endpoint(&self, id: Uuid) -> Option<Endpoint>;
    /// Stops every server without deleting data (platform shutdown).
    fn shutdown(&self) -> BoxFuture<'_, ()>;
    /// What each process of a running instance does now: role, health, replication lag.
    fn nodes(&self, target: Target) -> BoxFuture<'_, Provisioned<Vec<Node>>>;
    /// The next time the master of one of its instances moves (the platform audits each). A provisioner
    /// whose instances never fail over never answers.
    fn next_failover(&self) -> BoxFuture<'_, Failover> {
        Box::pin(std::future::pending())
    }
    /// Which server of a running instance a backup reads from (a replica when there is one: the snapshot's
    /// fork then costs the master nothing). [`ProvisionError::Refused`] where backups are not possible.
    fn snapshot_source(&self, target: Target) -> BoxFuture<'_, Provisioned<SnapshotSource>> {
        let _ = target;
        Box::pin(async { Err(ProvisionError::Refused("this provisioner cannot back up instances".to_owned())) })
    }
    /// Replaces all the data of a running instance with the RDB file at `rdb`, whole or not at all: a file
    /// that does not load is [`ProvisionError::Refused`] and the instance keeps its data. Answers the number
    /// of keys the file holds.
    fn restore(&self, target: Target, spec: InstanceSpec, rdb: PathBuf) -> BoxFuture<'_, Provisioned<u64>> {
        let _ = (target, spec, rdb);
        Box::pin(async { Err(ProvisionError::Refused("this provisioner cannot restore instances".to_owned())) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_specs_and_every_problem_at_once() {
        let spec = InstanceSpec::new("my-redis", None, 100 * 1024 * 1024, "7.2", Topology::Standalone).unwrap();
        assert_eq!(spec.slug, "my-redis");
        let Err(Error::Validation(errors)) = InstanceSpec::new(
            "A_b",
            Some("-x"),
            10,
            "seven",
            Topology::Replicated { replicas: 9, min_replicas_to_write: 0 },
        ) else {
            panic!("expected a validation error")
        };
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["max_memory", "name", "redis_version", "slug", "topology"]);
        assert!(InstanceSpec::new(&"a".repeat(41), None, MIN_MEMORY, "7", Topology::Standalone).is_err());
        assert!(InstanceSpec::new("api", None, MIN_MEMORY, "7", Topology::Standalone).is_err());
    }

    #[test]
    fn redis_conf_binds_loopback_and_limits_memory() {
        let credentials = Credentials::generate();
        let conf = redis_conf(&Listen::Plain(7001), &credentials, 1048576, "/data/x");
        for line in ["bind 127.0.0.1", "port 7001", "maxmemory 1048576", "dir /data/x", "appendonly yes"] {
            assert!(conf.lines().any(|l| l == line), "{line}");
        }
        let tls = Listen::Tls { port: 7002, cert: "/c.pem".into(), key: "/k.pem".into(), ca: "/ca.pem".into() };
        let conf = redis_conf(&tls, &credentials, 1048576, "/data/x");
        for line in
            ["port 0", "tls-port 7002", "tls-cert-file /c.pem", "tls-ca-cert-file /ca.pem", "tls-auth-clients yes"]
        {
            assert!(conf.lines().any(|l| l == line), "{line}");
        }
        assert!(conf.contains("user default off") && !conf.contains(&credentials.gateway));
    }
}
