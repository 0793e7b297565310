//! Model types, one file per resource, each with its queries.

mod api_key;
mod audit;
pub mod backup;
mod instance;
mod invitation;
mod organization;
mod plan;
mod usage;
mod user;

pub use api_key::{ApiKey, NewApiKey};
pub use audit::{AuditEntry, AuditRecord};
pub use backup::{Backup, BackupPolicyRow};
pub use instance::{Instance, InstanceChanges, InstanceToken, NewInstance};
pub use invitation::Invitation;
pub use organization::{Membership, Organization};
pub use plan::{Plan, PlanUse, DEFAULT_PLAN};
pub use usage::DailyUsage;
pub use user::User;
