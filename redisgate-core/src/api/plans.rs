//! An organization's plan, and its audit log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::limits::Limits;

/// What an organization's plan allows, and what the organization uses of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plan {
    /// The plan's name.
    pub name: String,
    /// Most instances.
    pub max_instances: i64,
    /// Most memory of all instances together, in bytes.
    pub max_memory: i64,
    /// Ceilings of each instance's limits (an instance gets the stricter of its own and these).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub limits: Limits,
    /// Instances the organization has.
    pub instances: i64,
    /// Their memory in all, in bytes.
    pub memory: i64,
}

/// One entry of an organization's audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Position in the log (newer entries have larger ids).
    pub id: i64,
    /// The user who acted, if a user did.
    pub actor_user_id: Option<Uuid>,
    /// The API key that acted, if a key did.
    pub actor_api_key_id: Option<Uuid>,
    /// What happened, e.g. `instance.create`.
    pub action: String,
    /// The kind of thing it happened to.
    pub target_type: String,
    /// Which one.
    pub target_id: Option<Uuid>,
    /// Facts about it (never secrets).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
    /// When.
    pub created_at: DateTime<Utc>,
}
