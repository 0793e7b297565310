//! Redis instances: their records, creation and changes, secrets, status and usage.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::limits::Limits;
use crate::provisioning::{InstanceStatus, Node, Topology};

/// An instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Instance {
    /// Identifier.
    pub id: Uuid,
    /// Owning organization.
    pub organization_id: Uuid,
    /// Globally unique name (host name label).
    pub name: String,
    /// Unique within the organization.
    pub slug: String,
    /// `maxmemory` in bytes.
    pub max_memory: i64,
    /// Requested Redis version.
    pub redis_version: String,
    /// Where it is in its lifecycle.
    pub status: InstanceStatus,
    /// Why, when failed.
    pub status_message: Option<String>,
    /// The REST URL for `@upstash/redis` and curl.
    pub rest_url: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Limits the gateway enforces; absent fields are unlimited (docs/configuration.md, "Limits"). Servers
    /// from before limits send none: read as `{}`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub limits: Limits,
    /// One server, or a master with replicas (servers from before topologies send none: standalone).
    #[serde(default)]
    pub topology: Topology,
    /// Each process and what it does now (only when one instance is asked for, and it runs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<Node>,
}

/// An instance to create.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewInstance {
    /// Globally unique DNS label, 3–40 characters.
    pub name: String,
    /// Unique in the organization; defaults to the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// Must equal the organization in the path, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<Uuid>,
    /// `maxmemory` in bytes.
    pub max_memory: i64,
    /// e.g. `7.2`.
    pub redis_version: String,
    /// Limits the gateway enforces (absent: none, and nothing is sent, so servers without limits accept it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub limits: Option<Limits>,
    /// `{"mode": "standalone"}` (the default) or `{"mode": "replicated", "replicas": 1..=5}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology: Option<Topology>,
}

impl NewInstance {
    /// An instance named `name` with `max_memory` bytes and `redis_version`, without limits.
    pub fn new(name: impl Into<String>, max_memory: i64, redis_version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            slug: None,
            organization_id: None,
            max_memory,
            redis_version: redis_version.into(),
            limits: None,
            topology: None,
        }
    }

    /// The same instance with `limits`.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// The same instance laid out as `topology`.
    #[must_use]
    pub fn with_topology(mut self, topology: Topology) -> Self {
        self.topology = Some(topology);
        self
    }
}

/// Changes to an instance.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InstancePatch {
    /// New `maxmemory` in bytes (a running server is resized by its provisioner first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory: Option<i64>,
    /// New limits, replacing the old ones entirely (`{}` removes them); gateways apply them within a second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub limits: Option<Limits>,
    /// A replicated instance's new replica count (replicas are added or removed while it serves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u8>,
    /// A cluster's new shard count, more than now: shards are added and slots moved to them while it serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u8>,
}

/// Secrets of an instance, shown once (at creation and rotation).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Secrets {
    /// REST URL (`UPSTASH_REDIS_REST_URL`).
    pub rest_url: String,
    /// The same instance by path prefix, for setups without wildcard DNS.
    pub rest_url_path: String,
    /// Standard token (`UPSTASH_REDIS_REST_TOKEN`).
    pub token: String,
    /// Read-only token.
    pub readonly_token: String,
}

/// A created instance and its secrets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedInstance {
    /// The instance (status `pending`).
    pub instance: Instance,
    /// Its tokens: store them now.
    pub credentials: Secrets,
}

/// An instance's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Status {
    /// Where it is in its lifecycle.
    pub status: InstanceStatus,
    /// Why, when failed.
    pub message: Option<String>,
    /// `host:port` of the server, when running.
    pub endpoint: Option<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Where to reach an instance, and which tokens exist (the tokens themselves are only shown at creation
/// and rotation).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstanceCredentials {
    /// REST URL.
    pub rest_url: String,
    /// REST URL by path prefix.
    pub rest_url_path: String,
    /// Active tokens: access and creation time.
    pub tokens: Vec<TokenInfo>,
}

/// One active token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    /// `full` or `readonly`.
    pub access: super::Access,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// Commands an instance ran per UTC day, oldest first, ending today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Usage {
    /// The instance.
    pub instance_id: Uuid,
    /// Every day of the range, days without commands included (as 0).
    pub days: Vec<DayUsage>,
    /// Commands over the whole range.
    pub total: u64,
}

/// One UTC day of [`Usage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayUsage {
    /// The day, `YYYY-MM-DD` (UTC).
    pub day: NaiveDate,
    /// Commands run that day (a pipeline of ten counts ten).
    pub commands: u64,
}
