//! How an instance is laid out: one server, a master with replicas under three Sentinels, or a Redis Cluster
//! of shards; and what each of its nodes is doing now.
//!
//! `{"mode": "standalone"}` is the default. `{"mode": "replicated", "replicas": 2, "min_replicas_to_write": 1}`
//! runs a master and `replicas` replicas (1 to [`MAX_REPLICAS`]) that Redis Sentinel fails over; with
//! `min_replicas_to_write` > 0 the master refuses writes unless that many replicas are connected and less than
//! [`MIN_REPLICAS_MAX_LAG`] seconds behind (a write is then on two machines before the next one is accepted,
//! at the cost of refusing writes while too few replicas are up).
//! `{"mode": "cluster", "shards": 3, "replicas_per_shard": 1}` runs a Redis Cluster: `shards` masters
//! ([`MIN_SHARDS`] to [`MAX_SHARDS`]) sharing the 16,384 hash slots, each with `replicas_per_shard` replicas (0
//! to [`MAX_REPLICAS_PER_SHARD`]) that the cluster promotes when their master is lost.

use serde::{Deserialize, Serialize};

/// The most replicas an instance may have.
pub const MAX_REPLICAS: u8 = 5;
/// The fewest shards of a cluster (Redis Cluster needs a majority of masters to agree on a failover).
pub const MIN_SHARDS: u8 = 3;
/// The most shards of a cluster.
pub const MAX_SHARDS: u8 = 16;
/// The most replicas each shard of a cluster may have.
pub const MAX_REPLICAS_PER_SHARD: u8 = 2;
/// How many Sentinels watch a replicated instance (a majority of them, [`SENTINEL_QUORUM`], must agree that
/// the master is down).
pub const SENTINELS: usize = 3;
/// Sentinels that must agree before a failover starts.
pub const SENTINEL_QUORUM: usize = 2;
/// How long a master may be silent before Sentinels call it down, in milliseconds.
pub const DOWN_AFTER_MS: u64 = 1000;
/// `min-replicas-max-lag`: how far behind (seconds) a replica may be and still count for
/// `min_replicas_to_write`.
pub const MIN_REPLICAS_MAX_LAG: u64 = 10;

/// An instance's layout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "store", derive(diesel::AsExpression, diesel::FromSqlRow))]
#[cfg_attr(feature = "store", diesel(sql_type = diesel::sql_types::Jsonb))]
#[serde(tag = "mode", rename_all = "lowercase", deny_unknown_fields)]
pub enum Topology {
    /// One `redis-server`.
    #[default]
    Standalone,
    /// A master, `replicas` replicas and three Sentinels that promote a replica when the master is lost.
    Replicated {
        /// Replicas besides the master, 1 to 5.
        replicas: u8,
        /// Replicas that must be connected for the master to accept a write (`min-replicas-to-write`),
        /// 0 to `replicas`; 0 (the default) keeps writing with no replica.
        #[serde(default)]
        min_replicas_to_write: u8,
    },
    /// A Redis Cluster: `shards` masters sharing the hash slots, each with `replicas_per_shard` replicas.
    Cluster {
        /// Masters, 3 to 16.
        shards: u8,
        /// Replicas of each master, 0 to 2 (0, the default: a lost master loses its slots until it is back).
        #[serde(default)]
        replicas_per_shard: u8,
    },
}

impl Topology {
    /// Replicas besides the master (0 for a standalone instance).
    #[must_use]
    pub fn replicas(self) -> u8 {
        match self {
            Self::Standalone | Self::Cluster { .. } => 0,
            Self::Replicated { replicas, .. } => replicas,
        }
    }

    /// Redis servers holding the data: the masters and their replicas (what a plan's memory counts, each
    /// server having the instance's `max_memory`).
    #[must_use]
    pub fn data_nodes(self) -> i64 {
        match self {
            Self::Cluster { shards, replicas_per_shard } => i64::from(shards) * (1 + i64::from(replicas_per_shard)),
            _ => 1 + i64::from(self.replicas()),
        }
    }

    /// Whether it is a Redis Cluster.
    #[must_use]
    pub fn is_cluster(self) -> bool {
        matches!(self, Self::Cluster { .. })
    }

    /// Whether Sentinels watch it.
    #[must_use]
    pub fn is_replicated(self) -> bool {
        matches!(self, Self::Replicated { .. })
    }

    /// `min-replicas-to-write` (0 for a standalone instance).
    #[must_use]
    pub fn min_replicas_to_write(self) -> u8 {
        match self {
            Self::Standalone | Self::Cluster { .. } => 0,
            Self::Replicated { min_replicas_to_write, .. } => min_replicas_to_write,
        }
    }

    /// The same layout with `replicas` replicas (`min_replicas_to_write` kept, lowered to fit).
    ///
    /// # Errors
    /// A standalone instance has no replicas to change.
    pub fn with_replicas(self, replicas: u8) -> Result<Self, String> {
        match self {
            Self::Standalone => Err("a standalone instance has no replicas; create a replicated one".to_owned()),
            Self::Cluster { .. } => Err("a cluster's replicas are set per shard when it is created".to_owned()),
            Self::Replicated { min_replicas_to_write, .. } => {
                Ok(Self::Replicated { replicas, min_replicas_to_write: min_replicas_to_write.min(replicas) })
            }
        }
    }

    /// The same cluster with `shards` shards.
    ///
    /// # Errors
    /// Not a cluster, or fewer shards than now (removing shards is not offered).
    pub fn with_shards(self, shards: u8) -> Result<Self, String> {
        match self {
            Self::Cluster { shards: now, .. } if shards < now => {
                Err(format!("a cluster's shards can only grow (it has {now}); removing shards is not offered yet"))
            }
            Self::Cluster { replicas_per_shard, .. } => Ok(Self::Cluster { shards, replicas_per_shard }),
            _ => Err("only a cluster has shards; create a cluster instance".to_owned()),
        }
    }

    /// Why this is not a layout RedisGate runs, or `None`.
    #[must_use]
    pub fn problem(self) -> Option<String> {
        match self {
            Self::Standalone => None,
            Self::Replicated { replicas, .. } if !(1..=MAX_REPLICAS).contains(&replicas) => {
                Some(format!("replicas must be between 1 and {MAX_REPLICAS}"))
            }
            Self::Replicated { replicas, min_replicas_to_write } if min_replicas_to_write > replicas => {
                Some("min_replicas_to_write must not exceed replicas".to_owned())
            }
            Self::Replicated { .. } => None,
            Self::Cluster { shards, .. } if !(MIN_SHARDS..=MAX_SHARDS).contains(&shards) => {
                Some(format!("shards must be between {MIN_SHARDS} and {MAX_SHARDS}"))
            }
            Self::Cluster { replicas_per_shard, .. } if replicas_per_shard > MAX_REPLICAS_PER_SHARD => {
                Some(format!("replicas_per_shard must be between 0 and {MAX_REPLICAS_PER_SHARD}"))
            }
            Self::Cluster { .. } => None,
        }
    }

    /// The redis.conf lines a data node of this layout adds to the instance's own
    /// ([`super::redis_conf`]): replicas log in to the master as [`super::acl::ADMIN_USER`] (its password,
    /// `masterauth`, is the provisioner's to add: a file of its own, or the command line), first syncs start
    /// at once, and `min-replicas-to-write`.
    #[must_use]
    pub fn node_conf(self) -> String {
        format!(
            "# Replication: replicas log in to the master as the admin user.\n\
             masteruser {admin}\n\
             repl-diskless-sync-delay 0\n\
             min-replicas-to-write {min}\n\
             min-replicas-max-lag {MIN_REPLICAS_MAX_LAG}\n",
            admin = super::acl::ADMIN_USER,
            min = self.min_replicas_to_write(),
        )
    }
}

/// What the gateway's user may do on a Sentinel: find the master, nothing else (no `SENTINEL SET`, `RESET`
/// or `FAILOVER`).
pub const SENTINEL_GATEWAY_RULES: &str = "-@all +auth +hello +ping +client|setname \
     +sentinel|masters +sentinel|master +sentinel|get-master-addr-by-name +sentinel|replicas +sentinel|slaves \
     +sentinel|sentinels +role";

/// The part of a Sentinel's configuration that holds no secret (a Kubernetes ConfigMap may carry it): how it
/// listens, its directory, and its users by the digests of their passwords (the admin user, and the gateway's
/// user, which may only ask where the master is). [`sentinel_master_conf`] must follow it.
#[must_use]
pub fn sentinel_base_conf(listen: &str, dir: &str, credentials: &super::Credentials) -> String {
    use super::acl::{ADMIN_USER, GATEWAY_USER};
    format!(
        "# Written by RedisGate; Sentinel rewrites it as the instance changes.\n\
         {listen}\
         daemonize no\n\
         logfile \"\"\n\
         dir {dir}\n\
         user default off resetkeys resetchannels nocommands\n\
         user {GATEWAY_USER} on #{gateway} {SENTINEL_GATEWAY_RULES}\n\
         user {ADMIN_USER} on #{admin_digest} ~* &* +@all\n",
        gateway = super::acl::sha256_hex(&credentials.gateway),
        admin_digest = super::acl::sha256_hex(&credentials.admin),
    )
}

/// The lines that make a Sentinel watch `master` at `master_address` (`host port`): the quorum and timings,
/// and the admin user's password (`admin_password`), with which it logs in to the data nodes and the other
/// Sentinels.
#[must_use]
pub fn sentinel_master_conf(master: &str, master_address: &str, admin_password: &str) -> String {
    use super::acl::ADMIN_USER;
    format!(
        "sentinel monitor {master} {master_address} {SENTINEL_QUORUM}\n\
         sentinel auth-user {master} {ADMIN_USER}\n\
         sentinel auth-pass {master} {admin_password}\n\
         sentinel down-after-milliseconds {master} {DOWN_AFTER_MS}\n\
         sentinel failover-timeout {master} 10000\n\
         sentinel parallel-syncs {master} 1\n\
         sentinel sentinel-user {ADMIN_USER}\n\
         sentinel sentinel-pass {admin_password}\n"
    )
}

/// What a node of an instance does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Takes the writes.
    Master,
    /// Copies the master.
    Replica,
    /// Watches the others and fails over.
    Sentinel,
}

/// One process of an instance as its provisioner sees it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Node {
    /// `host:port` (no credentials).
    pub address: String,
    /// What it does.
    pub role: Role,
    /// It answered, and a replica's link to its master is up.
    pub healthy: bool,
    /// A replica's replication lag: bytes of the master's stream it has not yet applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_bytes: Option<u64>,
    /// A cluster's node: its shard, numbered from 0 in the order of the shards' lowest slots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<u8>,
    /// A cluster's master: the hash slots it owns, as ranges (`"0-5460"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slots: Vec<String>,
}

/// A master that moved: the provisioner reports it, the platform writes it to the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failover {
    /// The instance.
    pub instance: uuid::Uuid,
    /// The master before (`host:port`).
    pub old_master: String,
    /// The master now.
    pub new_master: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_form_and_its_bounds() {
        let parsed: Topology = serde_json::from_str(r#"{"mode":"replicated","replicas":2}"#).unwrap();
        assert_eq!(parsed, Topology::Replicated { replicas: 2, min_replicas_to_write: 0 });
        assert_eq!(serde_json::to_string(&Topology::Standalone).unwrap(), r#"{"mode":"standalone"}"#);
        assert!(serde_json::from_str::<Topology>(r#"{"mode":"replicated","replicas":2,"x":1}"#).is_err());
        assert!(serde_json::from_str::<Topology>(r#"{"mode":"cluster"}"#).is_err(), "shards are required");
        let cluster: Topology = serde_json::from_str(r#"{"mode":"cluster","shards":3}"#).unwrap();
        assert_eq!(cluster, Topology::Cluster { shards: 3, replicas_per_shard: 0 });
        assert_eq!(Topology::Cluster { shards: 4, replicas_per_shard: 2 }.data_nodes(), 12);
        assert_eq!(
            Topology::Cluster { shards: 2, replicas_per_shard: 0 }.problem().unwrap(),
            "shards must be between 3 and 16"
        );
        assert!(Topology::Cluster { shards: 17, replicas_per_shard: 0 }.problem().is_some());
        assert!(Topology::Cluster { shards: 16, replicas_per_shard: 3 }.problem().is_some());
        assert!(Topology::Cluster { shards: 16, replicas_per_shard: 2 }.problem().is_none());
        assert_eq!(
            Topology::Replicated { replicas: 0, min_replicas_to_write: 0 }.problem().unwrap(),
            "replicas must be between 1 and 5"
        );
        assert!(Topology::Replicated { replicas: 6, min_replicas_to_write: 0 }.problem().is_some());
        assert!(Topology::Replicated { replicas: 1, min_replicas_to_write: 2 }.problem().is_some());
        assert!(Topology::Replicated { replicas: 5, min_replicas_to_write: 5 }.problem().is_none());
    }

    #[test]
    fn a_cluster_grows_by_shards_only() {
        let three = Topology::Cluster { shards: 3, replicas_per_shard: 1 };
        assert_eq!(three.with_shards(4).unwrap(), Topology::Cluster { shards: 4, replicas_per_shard: 1 });
        assert!(three.with_shards(2).unwrap_err().contains("only grow"));
        assert!(Topology::Standalone.with_shards(4).is_err());
    }

    #[test]
    fn changing_replicas_keeps_min_replicas_within_bounds() {
        let three = Topology::Replicated { replicas: 3, min_replicas_to_write: 2 };
        assert_eq!(three.with_replicas(1).unwrap(), Topology::Replicated { replicas: 1, min_replicas_to_write: 1 });
        assert!(Topology::Standalone.with_replicas(2).is_err());
        let conf = three.node_conf();
        assert!(conf.lines().any(|l| l == "min-replicas-to-write 2"));
        assert!(conf.lines().any(|l| l == "masteruser redisgate-admin"));
    }
}
