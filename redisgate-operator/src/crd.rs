//! The `RedisHttpInstance` custom resource: what a user (or the Kubernetes provisioner) asks for, and the
//! status the operator reports back.
//!
//! The schema carries the validation that can be checked before anything runs: quantity patterns, memory
//! bounds, and CEL transition rules that refuse shrinking storage or switching persistence on or off
//! (`volumeClaimTemplates` are immutable, so those changes could never be reconciled). `crdgen` writes
//! [`crd_yaml`] to `deploy/crds/redishttpinstance.yaml`, and a test fails when the two drift apart.

mod backup;
mod limits;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, CustomResourceExt as _, KubeSchema};
use serde::{Deserialize, Serialize};

pub use backup::{BackupPhase, BackupSchedule, RedisHttpBackup, RedisHttpBackupSpec, RedisHttpBackupStatus};
pub use limits::LimitsSpec;

/// API group of the resource.
pub const GROUP: &str = "redisgate.io";
/// Default Redis version when the spec names none.
pub const DEFAULT_REDIS_VERSION: &str = "7.2";

/// Desired state of one Redis instance: a standalone server, a master with replicas under Sentinels, or a
/// Redis Cluster of shards.
#[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[kube(
    group = "redisgate.io",
    version = "v1alpha1",
    kind = "RedisHttpInstance",
    namespaced,
    status = "RedisHttpInstanceStatus",
    shortname = "rhi",
    category = "redisgate",
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Memory","type":"string","jsonPath":".spec.memory"}"#,
    printcolumn = r#"{"name":"Endpoint","type":"string","jsonPath":".status.endpoint.host","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    doc = "A Redis instance (standalone, replicated under Sentinels, or a Redis Cluster) reconciled by redisgate-operator",
    validation = Rule::new("self.metadata.name.matches('^[a-z]([-a-z0-9]{0,40}[a-z0-9])?$')")
        .message("name must start with a letter, end with a letter or digit and have at most 42 characters"),
    validation = Rule::new("(has(self.spec.topology) ? self.spec.topology.mode : 'standalone') == (has(oldSelf.spec.topology) ? oldSelf.spec.topology.mode : 'standalone')")
        .message("the topology's mode cannot change; create a new instance")
)]
#[serde(rename_all = "camelCase")]
pub struct RedisHttpInstanceSpec {
    /// Memory limit (and request) of the Redis container, e.g. `256Mi`. Redis's `maxmemory` is derived from
    /// it, leaving headroom for the process itself.
    #[schemars(regex(pattern = r"^[1-9][0-9]{0,5}(Mi|Gi)$"))]
    #[x_kube(validation = Rule::new("quantity(self).compareTo(quantity('32Mi')) >= 0 && quantity(self).compareTo(quantity('128Gi')) <= 0").message("memory must be between 32Mi and 128Gi"))]
    pub memory: String,
    /// CPU request of the Redis container, e.g. `100m` (no limit: throttling hurts Redis latency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([1-9][0-9]{0,5}m|[0-9]{1,3}(\.[0-9]{1,3})?)$"))]
    pub cpu: Option<String>,
    /// Redis version; the image defaults to `redis:<version>`.
    #[serde(default = "default_version")]
    #[schemars(regex(pattern = r"^[0-9]{1,3}(\.[0-9]{1,3}){0,2}$"))]
    pub redis_version: String,
    /// A complete image reference that overrides `redisVersion` (it must contain `redis-server`, `redis-cli`
    /// and `sh`, as the official images do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Whether the data survives a restart of the pod.
    #[serde(default)]
    pub persistence: Persistence,
    /// What Redis does when `maxmemory` is reached.
    #[serde(default)]
    pub eviction_policy: EvictionPolicy,
    /// The Secret holding the password under key `password`; created with a random password if missing.
    /// Defaults to `<name>-auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub secret_name: Option<String>,
    /// One server (the default), a master with replicas that three Sentinels fail over, or a Redis Cluster
    /// of shards.
    #[serde(default, skip_serializing_if = "TopologySpec::is_standalone")]
    pub topology: TopologySpec,
    /// TLS only, with client certificates: a server certificate from the namespace's operator-managed CA, the
    /// plain port closed, and only holders of a certificate from the same CA (the gateway's) let in.
    #[serde(default, skip_serializing_if = "TlsSpec::is_disabled")]
    pub tls: TlsSpec,
    /// What a gateway that reads its instances from Kubernetes enforces for this one: commands per second
    /// and per day, requests at once, and sizes. None set: no limit.
    #[serde(default, skip_serializing_if = "LimitsSpec::is_empty")]
    pub limits: LimitsSpec,
    /// Backups on a schedule: a `RedisHttpBackup` every `everyHours`, the newest `keepLast` kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupSchedule>,
}

/// How an instance is laid out.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(has(self.minReplicasToWrite) ? self.minReplicasToWrite : 0) <= (has(self.replicas) ? self.replicas : 1)").message("minReplicasToWrite must not exceed replicas"))]
#[x_kube(validation = Rule::new("(has(self.shards) ? self.shards : 3) >= (has(oldSelf.shards) ? oldSelf.shards : 3)").message("a cluster's shards can only grow"))]
#[x_kube(validation = Rule::new("(has(self.replicasPerShard) ? self.replicasPerShard : 0) >= (has(oldSelf.replicasPerShard) ? oldSelf.replicasPerShard : 0)").message("a cluster's replicasPerShard can only grow"))]
pub struct TopologySpec {
    /// `standalone`, `replicated` or `cluster`.
    #[serde(default)]
    pub mode: TopologyMode,
    /// Replicas besides the master, 1 to 5 (replicated only).
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 5))]
    pub replicas: u8,
    /// Replicas that must be connected for the master to accept a write (`min-replicas-to-write`).
    #[serde(default)]
    #[schemars(range(max = 5))]
    pub min_replicas_to_write: u8,
    /// Whether two data pods (and two Sentinels) of the instance may share a node: `preferred` spreads them
    /// when the scheduler can, `required` refuses to schedule a pod rather than share.
    #[serde(default)]
    pub anti_affinity: AntiAffinity,
    /// Masters sharing the 16,384 hash slots, 3 to 16 (cluster only). It may grow: the operator adds the
    /// shards and moves slots to them while the cluster serves; it never shrinks.
    #[serde(default = "three")]
    #[schemars(range(min = 3, max = 16))]
    pub shards: u8,
    /// Replicas of each master, 0 to 2 (cluster only); the cluster promotes one when its master is lost. It
    /// may grow, never shrink.
    #[serde(default)]
    #[schemars(range(max = 2))]
    pub replicas_per_shard: u8,
}

fn one() -> u8 {
    1
}

fn three() -> u8 {
    3
}

impl Default for TopologySpec {
    fn default() -> Self {
        Self {
            mode: TopologyMode::Standalone,
            replicas: 1,
            min_replicas_to_write: 0,
            anti_affinity: AntiAffinity::default(),
            shards: three(),
            replicas_per_shard: 0,
        }
    }
}

impl TopologySpec {
    /// Whether this is one server.
    #[must_use]
    pub fn is_standalone(&self) -> bool {
        self.mode == TopologyMode::Standalone
    }

    /// Whether Sentinels watch it.
    #[must_use]
    pub fn is_replicated(&self) -> bool {
        self.mode == TopologyMode::Replicated
    }

    /// Whether it is a Redis Cluster.
    #[must_use]
    pub fn is_cluster(&self) -> bool {
        self.mode == TopologyMode::Cluster
    }

    /// The data pods: one, the master and its replicas, or every shard's master and replicas.
    #[must_use]
    pub fn data_pods(&self) -> i32 {
        i32::try_from(self.topology().data_nodes()).unwrap_or(i32::MAX)
    }

    /// The control plane's form of it.
    #[must_use]
    pub fn topology(&self) -> redisgate_core::provisioning::Topology {
        match self.mode {
            TopologyMode::Standalone => redisgate_core::provisioning::Topology::Standalone,
            TopologyMode::Replicated => redisgate_core::provisioning::Topology::Replicated {
                replicas: self.replicas,
                min_replicas_to_write: self.min_replicas_to_write,
            },
            TopologyMode::Cluster => redisgate_core::provisioning::Topology::Cluster {
                shards: self.shards,
                replicas_per_shard: self.replicas_per_shard,
            },
        }
    }
}

impl From<redisgate_core::provisioning::Topology> for TopologySpec {
    fn from(topology: redisgate_core::provisioning::Topology) -> Self {
        match topology {
            redisgate_core::provisioning::Topology::Standalone => Self::default(),
            redisgate_core::provisioning::Topology::Cluster { shards, replicas_per_shard } => {
                Self { mode: TopologyMode::Cluster, shards, replicas_per_shard, ..Self::default() }
            }
            redisgate_core::provisioning::Topology::Replicated { replicas, min_replicas_to_write } => {
                Self { mode: TopologyMode::Replicated, replicas, min_replicas_to_write, ..Self::default() }
            }
        }
    }
}

/// One server, replicated, or a cluster.
#[derive(schemars::JsonSchema, Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TopologyMode {
    /// One Redis pod.
    #[default]
    Standalone,
    /// A master and replicas, and three Sentinels.
    Replicated,
    /// A Redis Cluster: `shards` masters, each with `replicasPerShard` replicas, formed by a bootstrap Job.
    Cluster,
}

/// How strictly an instance's pods are kept on different nodes.
#[derive(schemars::JsonSchema, Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AntiAffinity {
    /// Spread when possible (`preferredDuringSchedulingIgnoredDuringExecution`).
    #[default]
    Preferred,
    /// Never share a node (`requiredDuringSchedulingIgnoredDuringExecution`): a pod stays pending instead.
    Required,
}

fn default_version() -> String {
    DEFAULT_REDIS_VERSION.to_owned()
}

/// Storage of an instance.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.enabled == oldSelf.enabled").message("persistence cannot be switched on or off; create a new instance"))]
#[x_kube(validation = Rule::new("quantity(self.size).compareTo(quantity(oldSelf.size)) >= 0").message("storage cannot shrink"))]
#[x_kube(validation = Rule::new("has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)").message("storageClassName is immutable"))]
pub struct Persistence {
    /// Append-only file and snapshots on a PersistentVolumeClaim; without it the data lives in an `emptyDir`.
    #[serde(default)]
    pub enabled: bool,
    /// Size of the volume, e.g. `1Gi` (it may grow, never shrink).
    #[serde(default = "default_size")]
    #[schemars(regex(pattern = r"^[1-9][0-9]{0,5}(Mi|Gi|Ti)$"))]
    pub size: String,
    /// StorageClass of the volume (the cluster's default when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

impl Default for Persistence {
    fn default() -> Self {
        Self { enabled: false, size: default_size(), storage_class_name: None }
    }
}

fn default_size() -> String {
    "1Gi".to_owned()
}

/// TLS of an instance.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.enabled == oldSelf.enabled").message("TLS cannot be switched on or off; create a new instance"))]
pub struct TlsSpec {
    /// Whether the instance speaks TLS only (to clients, between replicas, Sentinels and cluster nodes).
    #[serde(default)]
    pub enabled: bool,
}

impl TlsSpec {
    /// Whether TLS is off (the default).
    #[must_use]
    pub fn is_disabled(&self) -> bool {
        !self.enabled
    }
}

/// Redis's `maxmemory-policy`.
#[derive(schemars::JsonSchema, Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EvictionPolicy {
    /// Refuse writes when full (the safe default for data that must not vanish).
    #[default]
    #[serde(rename = "noeviction")]
    NoEviction,
    /// Evict any key, least recently used first.
    #[serde(rename = "allkeys-lru")]
    AllkeysLru,
    /// Evict any key, least frequently used first.
    #[serde(rename = "allkeys-lfu")]
    AllkeysLfu,
    /// Evict any key at random.
    #[serde(rename = "allkeys-random")]
    AllkeysRandom,
    /// Evict keys with a TTL, least recently used first.
    #[serde(rename = "volatile-lru")]
    VolatileLru,
    /// Evict keys with a TTL, least frequently used first.
    #[serde(rename = "volatile-lfu")]
    VolatileLfu,
    /// Evict keys with a TTL at random.
    #[serde(rename = "volatile-random")]
    VolatileRandom,
    /// Evict keys with the nearest expiry first.
    #[serde(rename = "volatile-ttl")]
    VolatileTtl,
}

impl EvictionPolicy {
    /// The value Redis understands.
    #[must_use]
    pub fn as_redis(self) -> &'static str {
        match self {
            Self::NoEviction => "noeviction",
            Self::AllkeysLru => "allkeys-lru",
            Self::AllkeysLfu => "allkeys-lfu",
            Self::AllkeysRandom => "allkeys-random",
            Self::VolatileLru => "volatile-lru",
            Self::VolatileLfu => "volatile-lfu",
            Self::VolatileRandom => "volatile-random",
            Self::VolatileTtl => "volatile-ttl",
        }
    }
}

/// Observed state, written by the operator only.
#[derive(schemars::JsonSchema, Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RedisHttpInstanceStatus {
    /// A one-word summary for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// `Ready`, `Progressing` and `Degraded`, each with the generation it describes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Where clients inside the cluster connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<StatusEndpoint>,
    /// Where the password is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRef>,
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// A replicated instance's master as its Sentinels name it (`host:port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    /// The SHA-256 digests of the instance's REST tokens (the tokens are in `<name>-tokens`): what a gateway
    /// that reads its instances from Kubernetes checks a presented token against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_digests: Option<TokenDigests>,
    /// A TLS instance's server certificate, and whether every server presents it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateStatus>,
}

/// A TLS instance's server certificate (in `<name>-tls`) and whether its servers present it: they read it at
/// start, and the operator makes the running ones read a renewed one (no restart).
#[derive(schemars::JsonSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStatus {
    /// The SHA-256 digest of the certificate (of its DER, in hex).
    pub sha256: String,
    /// When it expires (RFC 3339).
    pub not_after: String,
    /// Whether every server presented it in a fresh TLS handshake.
    pub loaded: bool,
    /// While not loaded: what is still to happen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The SHA-256 digests of an instance's two REST tokens, in hex. A digest does not reveal its token (each is
/// 256 random bits), so it may sit in the status, which more people may read than Secrets.
#[derive(schemars::JsonSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct TokenDigests {
    /// The full token's.
    pub full: String,
    /// The read-only token's.
    pub readonly: String,
}

/// The summary phase.
#[derive(schemars::JsonSchema, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Objects are being created or rolled out.
    Progressing,
    /// The server runs the current spec and answers.
    Ready,
    /// Something needs attention (see the `Degraded` condition).
    Degraded,
}

/// The client Service of an instance.
#[derive(schemars::JsonSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct StatusEndpoint {
    /// `<service>.<namespace>.svc.<cluster domain>`.
    pub host: String,
    /// The Redis port.
    pub port: i32,
}

/// A key in a Secret of the instance's namespace.
#[derive(schemars::JsonSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct SecretRef {
    /// The Secret's name.
    pub name: String,
    /// The key holding the password.
    pub key: String,
}

impl RedisHttpInstance {
    /// The URL a gateway reaches this instance at, logging in as the gateway's user with `password`, dialing
    /// `dial` (the status endpoint's `host:port`, or where it maps to): a standalone instance's server, a
    /// replicated instance's Sentinels (which name the master), or any node of a cluster (which sends the
    /// gateway on to the others).
    #[must_use]
    pub fn gateway_url(&self, password: &str, dial: &str) -> String {
        use redisgate_core::provisioning::acl::GATEWAY_USER;
        match self.spec.topology.mode {
            TopologyMode::Standalone if self.spec.tls.enabled => format!("rediss://{GATEWAY_USER}:{password}@{dial}"),
            TopologyMode::Standalone => format!("redis://{GATEWAY_USER}:{password}@{dial}"),
            TopologyMode::Cluster if self.spec.tls.enabled => {
                format!("rediss+cluster://{GATEWAY_USER}:{password}@{dial}")
            }
            TopologyMode::Cluster => format!("redis+cluster://{GATEWAY_USER}:{password}@{dial}"),
            TopologyMode::Replicated => format!(
                "{scheme}://{GATEWAY_USER}:{password}@{dial}/{name}?sentinel_username={GATEWAY_USER}&\
                 sentinel_password={password}",
                scheme = if self.spec.tls.enabled { "rediss+sentinel" } else { "redis+sentinel" },
                name = self.metadata.name.as_deref().unwrap_or_default()
            ),
        }
    }

    /// The Ready condition, if reported for the current generation.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        let Some(status) = &self.status else { return false };
        status.observed_generation == self.metadata.generation
            && status.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True")
    }
}

/// The CRD as YAML, exactly as checked in under `deploy/crds/`.
///
/// # Panics
/// Never in practice: the derived CRD always serialises.
#[must_use]
pub fn crd_yaml() -> String {
    let yaml = serde_yaml::to_string(&RedisHttpInstance::crd()).unwrap_or_default();
    format!("# Generated by `cargo run -p redisgate-operator --bin crdgen`; do not edit.\n{yaml}")
}

/// The `RedisHttpBackup` CRD as YAML, exactly as checked in under `deploy/crds/`.
#[must_use]
pub fn backup_crd_yaml() -> String {
    let yaml = serde_yaml::to_string(&RedisHttpBackup::crd()).unwrap_or_default();
    format!("# Generated by `cargo run -p redisgate-operator --bin crdgen`; do not edit.\n{yaml}")
}
