//! The management API's wire types: one definition of every body it takes and answers, shared by the
//! server (`redisgate-platform`), the client (`redisgate-client`), the CLI and the OpenAPI document.
//!
//! Behind the feature `api` (serde and chrono only: the client compiles neither diesel nor argon2); the
//! feature `openapi` adds their utoipa schemas. Request bodies refuse unknown fields, so a typo is a 422
//! rather than a silently ignored setting; answers accept unknown fields, so an older client reads a newer
//! server.

mod accounts;
mod backups;
mod instances;
mod keys;
mod plans;
mod roles;

use serde::{Deserialize, Serialize};

pub use crate::protocol::Access;
pub use crate::provisioning::{Node, Role as NodeRole, Topology};
pub use accounts::{
    CreatedInvitation, Invitation, InvitationCode, Login, Me, Member, NewInvitation, NewOrganization, Organization,
    OrganizationPatch, PasswordChange, RoleChange, Session, User,
};
pub use backups::{Backup, BackupPolicy, RestoreRequest, Restored};
pub use instances::{
    CreatedInstance, DayUsage, Instance, InstanceCredentials, InstancePatch, NewInstance, Secrets, Status, TokenInfo,
    Usage,
};
pub use keys::{ApiKey, CreatedApiKey, NewApiKey};
pub use plans::{AuditEntry, Plan};
pub use roles::{Need, Role, Scope};

/// A page of a list (`?limit=&offset=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The `offset` of the next page, or null on the last one.
    pub next_offset: Option<i64>,
}

impl<T> Page<T> {
    /// The page of `items` asked for with `limit` and `offset`: a full page says where the next one starts.
    #[must_use]
    pub fn new(items: Vec<T>, limit: i64, offset: i64) -> Self {
        let next_offset = (items.len() as i64 == limit).then_some(offset + limit);
        Self { items, next_offset }
    }
}
